//! Handoff between workers: a packet that lands on a worker that does not own its SA goes to
//! the owner through a ring, so that each SA has one writer.

use super::{Worker, BURST};
use crate::ether;
use crate::tables::owner;
use dpdk::mbuf::{Mbuf, MbufBurst};
use dpdk::ring::{RingConsumer, RingProducer};
use esp::inbound::{classify, Classified};
use esp::sa::SaId;
use esp::wire::ip::IpHeader;
use std::collections::HashMap;

/// Rings that carry a packet to the worker that owns its SA, so that each SA has one writer
/// (its sequence numbers and replay window are exact with any number of workers).
pub struct Handoff {
    /// Producers toward each worker (outbound, inbound); `None` for this worker itself.
    pub to: Vec<Option<(RingProducer, RingProducer)>>,
    /// What other workers hand to this one (outbound, inbound).
    pub from: (RingConsumer, RingConsumer),
    /// Inbound SPI -> owning worker (this worker's copy; the control socket updates it).
    pub spi_owner: HashMap<u32, usize>,
    /// Packets waiting for the next enqueue, per worker and direction (allocated once).
    pending: Vec<(MbufBurst<BURST>, MbufBurst<BURST>)>,
}

impl Handoff {
    pub fn new(
        to: Vec<Option<(RingProducer, RingProducer)>>,
        from: (RingConsumer, RingConsumer),
        spi_owner: HashMap<u32, usize>,
    ) -> Handoff {
        let pending = (0..to.len()).map(|_| Default::default()).collect();
        Handoff {
            to,
            from,
            spi_owner,
            pending,
        }
    }

    fn workers(&self) -> usize {
        self.to.len()
    }
}

impl Worker {
    /// The worker that owns `sa`, if it is not this one.
    pub(super) fn foreign_owner(&self, sa: SaId) -> Option<usize> {
        let h = self.handoff.as_ref()?;
        let v = owner(sa, h.workers());
        (v != self.index).then_some(v)
    }

    /// The worker that owns the inbound SA of an ESP frame, if it is not this one.
    pub(super) fn spi_foreign_owner(&self, m: &Mbuf) -> Option<usize> {
        let h = self.handoff.as_ref()?;
        let ip = m.data().get(ether::HEADER_LEN..)?;
        let outer = IpHeader::parse(ip).ok()?;
        let Classified::Esp { esp_at, .. } = classify(ip, &outer) else {
            return None;
        };
        let spi = u32::from_be_bytes(ip.get(esp_at..esp_at + 4)?.try_into().ok()?);
        let v = *h.spi_owner.get(&spi)?;
        (v != self.index).then_some(v)
    }

    /// Queues a frame for worker `v` (sent at the end of the burst).
    pub(super) fn hand_off(&mut self, v: usize, inbound: bool, m: Mbuf) {
        if let Some(h) = self.handoff.as_mut() {
            let (out, inb) = &mut h.pending[v];
            let q = if inbound { inb } else { out };
            if q.push(m).is_err() {
                self.counters.tx_full += 1;
            } else {
                self.counters.handed_off += 1;
            }
        }
    }

    /// Enqueues the frames waiting for other workers; what a full ring refuses is dropped.
    pub(super) fn flush_handoff(&mut self) {
        let Some(h) = self.handoff.as_mut() else {
            return;
        };
        for (v, (out, inb)) in h.pending.iter_mut().enumerate() {
            if let Some((po, pi)) = h.to[v].as_mut() {
                po.enqueue_burst(out);
                pi.enqueue_burst(inb);
            }
            self.counters.tx_full += (out.len() + inb.len()) as u64;
            out.clear();
            inb.clear();
        }
    }

    /// Processes what other workers handed to this one.
    pub(super) fn poll_handoff(&mut self, rx: &mut MbufBurst<BURST>, now_ns: u64) -> usize {
        let Some(h) = self.handoff.as_mut() else {
            return 0;
        };
        let n_out = h.from.0.dequeue_burst(rx);
        if n_out > 0 {
            self.outbound(self.protected, rx, now_ns);
        }
        let Some(h) = self.handoff.as_mut() else {
            return n_out;
        };
        let n_in = h.from.1.dequeue_burst(rx);
        if n_in > 0 {
            self.inbound(self.unprotected, rx, now_ns);
        }
        n_out + n_in
    }
}
