//! Sequence-number snapshots for HA sync (DESIGN.md, "Seqnum snapshots").
//!
//! A worker pushes a small record into its own bounded lock-free ring when an SA has moved
//! its direction's `period_packets_*` since its last record or `period_ns` has passed (at
//! most one per SA per burst, taken at the burst's end: `Lcore::note_snapshot`); the sync
//! side drains all rings, keeps the newest record per SA, and hands out batches. No locks,
//! no syscalls and no allocation on the worker.

use crate::ident::{Direction, SaId};
use crate::replay::WindowSnapshot;
use crossbeam_queue::ArrayQueue;
use std::collections::HashMap;
use std::sync::Arc;

/// When snapshots are taken (6WIND's `sync-period-packets`, `sync-period-time`, `oseq-shift`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncPolicy {
    /// Packets an inbound SA must move before a new record (0 disables this trigger).
    pub period_packets_inbound: u64,
    /// The same for an outbound SA (Cisco's `replay-interval inbound N outbound M` splits
    /// them; 6WIND's `sync-period-packets` gives both).
    pub period_packets_outbound: u64,
    /// Time after which an SA that moved at all gets a new record (0 disables this trigger).
    pub period_ns: u64,
    /// How far a standby's outbound sequence numbers jump on takeover.
    pub oseq_shift: u64,
}

impl Default for SyncPolicy {
    fn default() -> Self {
        SyncPolicy {
            period_packets_inbound: 2,
            period_packets_outbound: 2,
            period_ns: 10_000_000_000,
            oseq_shift: 65536,
        }
    }
}

impl SyncPolicy {
    /// The packet trigger of an SA of `direction`.
    pub fn period_packets(&self, direction: Direction) -> u64 {
        match direction {
            Direction::Inbound => self.period_packets_inbound,
            Direction::Outbound => self.period_packets_outbound,
        }
    }
}

/// One SA's sequence state at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqSnapshot {
    pub sa: SaId,
    pub spi: u32,
    pub direction: Direction,
    /// The highest outbound sequence number used.
    pub oseq: u64,
    /// The inbound window's top and its newest bits.
    pub window: WindowSnapshot,
    /// The IV generation the SA sends under.
    pub generation: u16,
    /// When it was taken (the worker's clock, ns).
    pub at_ns: u64,
}

impl SeqSnapshot {
    /// Whether `self` is at least as far along as `other` (they only move forward).
    pub fn supersedes(&self, other: &SeqSnapshot) -> bool {
        (self.oseq, self.window.top, self.at_ns) >= (other.oseq, other.window.top, other.at_ns)
    }
}

/// A worker's bounded snapshot ring (single producer: the worker; single consumer: sync).
pub type SnapshotRing = Arc<ArrayQueue<SeqSnapshot>>;

/// A new ring with room for `capacity` records.
pub fn snapshot_ring(capacity: usize) -> SnapshotRing {
    Arc::new(ArrayQueue::new(capacity.max(1)))
}

/// The sync side: drains worker rings and keeps the newest record per SA.
#[derive(Debug, Default)]
pub struct Coalescer {
    latest: HashMap<SaId, SeqSnapshot>,
    /// Records drained, and records that replaced an older one (what coalescing saved).
    pub drained: u64,
    pub coalesced: u64,
}

impl Coalescer {
    pub fn new() -> Self {
        Coalescer::default()
    }

    /// Moves every record from `ring` in, up to `max` of them (to bound one pass).
    pub fn drain(&mut self, ring: &ArrayQueue<SeqSnapshot>, max: usize) -> usize {
        let mut n = 0;
        while n < max {
            let Some(snap) = ring.pop() else { break };
            n += 1;
            self.offer(snap);
        }
        self.drained += n as u64;
        n
    }

    /// Adds one record; the newest per SA wins.
    pub fn offer(&mut self, snap: SeqSnapshot) {
        match self.latest.get_mut(&snap.sa) {
            Some(old) => {
                self.coalesced += 1;
                if snap.supersedes(old) {
                    *old = snap;
                }
            }
            None => {
                self.latest.insert(snap.sa, snap);
            }
        }
    }

    /// Records waiting.
    pub fn pending(&self) -> usize {
        self.latest.len()
    }

    /// Takes up to `max` records, lowest SA id first (a stable order helps the receiver).
    pub fn take_batch(&mut self, max: usize) -> Vec<SeqSnapshot> {
        let mut ids: Vec<SaId> = self.latest.keys().copied().collect();
        ids.sort_unstable();
        ids.truncate(max);
        ids.iter().filter_map(|id| self.latest.remove(id)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(sa: u32, oseq: u64, at: u64) -> SeqSnapshot {
        SeqSnapshot {
            sa: SaId(sa),
            spi: 0x1000 + sa,
            direction: Direction::Outbound,
            oseq,
            window: WindowSnapshot::default(),
            generation: 0,
            at_ns: at,
        }
    }

    #[test]
    fn newest_record_per_sa_wins_whatever_the_order() {
        let ring = snapshot_ring(8);
        for s in [
            snap(1, 10, 1),
            snap(2, 5, 1),
            snap(1, 30, 3),
            snap(1, 20, 2),
        ] {
            ring.push(s).unwrap();
        }
        let mut c = Coalescer::new();
        assert_eq!(c.drain(&ring, 100), 4);
        assert_eq!(c.pending(), 2);
        assert_eq!(c.coalesced, 2);
        let batch = c.take_batch(10);
        assert_eq!(batch.len(), 2);
        assert_eq!(batch[0].sa, SaId(1));
        assert_eq!(batch[0].oseq, 30);
        assert_eq!(batch[1].oseq, 5);
        assert_eq!(c.pending(), 0);
    }

    #[test]
    fn drain_is_bounded_and_batches_are_capped() {
        let ring = snapshot_ring(4);
        for i in 0..4 {
            ring.push(snap(i, 1, 0)).unwrap();
        }
        assert!(
            ring.push(snap(9, 1, 0)).is_err(),
            "a full ring refuses, it never blocks"
        );
        let mut c = Coalescer::new();
        assert_eq!(c.drain(&ring, 3), 3);
        assert_eq!(c.drain(&ring, 3), 1);
        assert_eq!(c.take_batch(3).len(), 3);
        assert_eq!(c.take_batch(3).len(), 1);
    }
}
