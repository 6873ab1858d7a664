//! What one worker lcore owns besides its SAs: the crypto engine, counters, its event queue to
//! the control plane and its snapshot ring to the sync side.

use crate::counters::LcoreCounters;
use crate::crypto::Engine;
use crate::sa::{Sa, SaEvent, SaEventKind};
use crate::sad::Sad;
use crate::snapshot::{snapshot_ring, SnapshotRing, SyncPolicy};
use crossbeam_queue::ArrayQueue;
use std::sync::Arc;

/// A worker's bounded queue of SA events to the control plane.
pub type EventQueue = Arc<ArrayQueue<SaEvent>>;

/// One worker's context.
pub struct Lcore {
    pub engine: Engine,
    pub counters: LcoreCounters,
    pub events: EventQueue,
    pub snapshots: SnapshotRing,
    pub sync: SyncPolicy,
    /// Events that found the queue full (the control plane fell behind).
    pub events_lost: u64,
    /// Snapshots that found the ring full: the SA keeps its old mark and retries.
    pub snapshots_deferred: u64,
    sweep_cursor: usize,
}

impl Lcore {
    /// A worker context with queues of the given sizes.
    pub fn new(sync: SyncPolicy, event_capacity: usize, snapshot_capacity: usize) -> Lcore {
        Lcore {
            engine: Engine::new(),
            counters: LcoreCounters::default(),
            events: Arc::new(ArrayQueue::new(event_capacity.max(1))),
            snapshots: snapshot_ring(snapshot_capacity),
            sync,
            events_lost: 0,
            snapshots_deferred: 0,
            sweep_cursor: 0,
        }
    }

    /// Queues an event about `sa`.
    pub fn raise(&mut self, sa: &Sa, kind: SaEventKind) {
        let ev = SaEvent {
            sa: sa.id,
            spi: sa.config.spi,
            kind,
        };
        if self.events.push(ev).is_err() {
            self.events_lost += 1;
        }
    }

    /// Pushes a snapshot of `sa` if one is due.
    pub fn maybe_snapshot(&mut self, sa: &mut Sa, now_ns: u64) {
        if !sa.snapshot_due(&self.sync, now_ns) {
            return;
        }
        let snap = sa.snapshot(now_ns);
        if self.snapshots.push(snap).is_ok() {
            sa.mark_synced(&snap);
        } else {
            self.snapshots_deferred += 1;
        }
    }

    /// Visits up to `max` SA slots (continuing where the last call stopped) for time-based
    /// snapshots of SAs that went quiet; call it from the poll loop now and then.
    pub fn sweep_snapshots(&mut self, sad: &mut Sad, now_ns: u64, max: usize) {
        let cap = sad.capacity();
        if cap == 0 {
            return;
        }
        for _ in 0..max.min(cap) {
            self.sweep_cursor = if self.sweep_cursor + 1 >= cap {
                0
            } else {
                self.sweep_cursor + 1
            };
            if let Some(sa) = sad.get_mut(crate::sa::SaId(self.sweep_cursor as u32)) {
                self.maybe_snapshot(sa, now_ns);
            }
        }
    }
}
