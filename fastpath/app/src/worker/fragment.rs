//! Fragmentation of ESP packets that came out of encryption larger than the unprotected
//! port's MTU (the MTU path's decision, see [`crate::mtu`]).

use super::{Worker, BURST};
use dpdk::mbuf::MbufBurst;

/// Room for the fragments of a burst's oversized ESP packets, flushed as it fills.
const FRAGMENT_BURST: usize = 64;
/// Fragments one ESP packet can take (a 9216-byte packet over a 576-byte MTU).
const FRAGMENTS_PER_PACKET: usize = 18;

impl Worker {
    /// Replaces each ESP packet of `enc` larger than the unprotected port's MTU by its
    /// fragments (sent at once); the others stay.
    pub(super) fn fragment_oversized(&mut self, enc: &mut MbufBurst<BURST>) {
        let mtu = self.ports[self.unprotected].mtu;
        if enc.as_slice().iter().all(|m| m.pkt_len() as usize <= mtu) {
            return;
        }
        let mut keep = MbufBurst::<BURST>::default();
        let mut fragments = MbufBurst::<FRAGMENT_BURST>::default();
        for m in enc.take_all() {
            if m.pkt_len() as usize <= mtu {
                let _ = keep.push(m);
                continue;
            }
            if fragments.spare() < FRAGMENTS_PER_PACKET {
                self.frame_and_send(self.unprotected, &mut fragments);
            }
            self.mtu.fragment(m, mtu, &mut fragments);
        }
        self.frame_and_send(self.unprotected, &mut fragments);
        *enc = keep;
    }
}
