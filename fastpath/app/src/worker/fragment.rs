//! Fragmentation of packets larger than where they go: ESP packets that came out of
//! encryption larger than the unprotected port's MTU (the MTU path's decision, see
//! [`crate::mtu`]), and packets for the node larger than its TAP's MTU.

use super::{Worker, BURST};
use crate::ether;
use dpdk::mbuf::{Mbuf, MbufBurst};

/// Room for the fragments of a burst's oversized packets, flushed as it fills.
const FRAGMENT_BURST: usize = 64;
/// Fragments one packet can take (a 9216-byte packet over a 576-byte MTU).
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

    /// Sends frames through TAP port `tap`. One larger than the TAP's MTU (a reassembled IKE
    /// message, say), which the TAP would refuse, goes in IP fragments that fit it.
    pub(super) fn send_to_kernel<const N: usize>(&mut self, tap: usize, burst: &mut MbufBurst<N>) {
        let mtu = self.ports[tap].mtu;
        let fits = |m: &Mbuf| m.pkt_len() as usize <= ether::HEADER_LEN + mtu;
        if burst.as_slice().iter().all(fits) {
            self.transmit(tap, burst);
            return;
        }
        let mut out = MbufBurst::<FRAGMENT_BURST>::default();
        for m in burst.take_all() {
            if out.spare() < FRAGMENTS_PER_PACKET {
                self.transmit(tap, &mut out);
            }
            if fits(&m) {
                let _ = out.push(m);
            } else {
                self.mtu.fragment_frame(m, mtu, &mut out);
            }
        }
        self.transmit(tap, &mut out);
    }
}
