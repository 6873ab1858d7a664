//! Framing and sending: the Ethernet header toward a port's next hop, and the TX burst.

use super::Worker;
use crate::ether;
use dpdk::mbuf::{Mbuf, MbufBurst};
use std::sync::atomic::Ordering;

impl Worker {
    /// Writes the Ethernet header for port `to` on each packet and sends them; with routes,
    /// each packet goes where the FIB says instead.
    pub(super) fn frame_and_send<const N: usize>(&mut self, to: usize, burst: &mut MbufBurst<N>) {
        if self.router.is_some() {
            return self.route_and_send(to, burst);
        }
        let resolved = self.ports[to].next_hop_mac.load(Ordering::Relaxed);
        let dst = if resolved != 0 {
            toolkit::mac::MacAddr::from_u64(resolved).octets()
        } else {
            self.ports[to].peer_mac
        };
        let bytes = frame(burst, dst, self.ports[to].mac);
        self.transmit_counted(to, burst, bytes);
    }

    /// Sends a burst on port `to`; what the queue does not take is freed and counted.
    pub(super) fn transmit<const N: usize>(&mut self, to: usize, burst: &mut MbufBurst<N>) {
        let bytes: u64 = burst.as_slice().iter().map(|m| m.pkt_len() as u64).sum();
        self.transmit_counted(to, burst, bytes);
    }

    /// `transmit` of a burst whose `bytes` the caller counted in a pass it made anyway
    /// (`frame`): no pass over the mbufs only for the byte counter.
    pub(super) fn transmit_counted<const N: usize>(
        &mut self,
        to: usize,
        burst: &mut MbufBurst<N>,
        bytes: u64,
    ) {
        let n = self.ports[to].tx.tx_burst(burst);
        self.counters.tx_packets += n as u64;
        self.counters.tx_bytes += bytes;
        if !burst.is_empty() {
            // (rare: the queue was full) what it did not take is not sent
            let unsent: u64 = burst.as_slice().iter().map(|m| m.pkt_len() as u64).sum();
            self.counters.tx_bytes -= unsent;
            self.counters.tx_full += burst.len() as u64;
            burst.clear();
        }
    }
}

/// Prepends an Ethernet header to each IP packet of `burst`; returns the bytes of the framed
/// burst, for the TX counter.
pub(super) fn frame<const N: usize>(burst: &mut MbufBurst<N>, dst: [u8; 6], src: [u8; 6]) -> u64 {
    let mut bytes = 0u64;
    for m in burst.as_mut_slice() {
        bytes += frame_one(m, dst, src);
    }
    bytes
}

/// Prepends an Ethernet header to one IP packet; returns the bytes of the frame.
#[inline(always)]
pub(super) fn frame_one(m: &mut Mbuf, dst: [u8; 6], src: [u8; 6]) -> u64 {
    let version = m.data().first().map_or(4, |b| b >> 4);
    if let Some(h) = m.prepend(ether::HEADER_LEN as u16) {
        ether::write_header(h, dst, src, version);
    }
    u64::from(m.pkt_len())
}
