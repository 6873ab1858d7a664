//! What one worker lcore owns besides its SAs: the crypto engine, counters, its event queue to
//! the control plane and its snapshot ring to the sync side.
//!
//! Snapshots are coalesced at the source: a packet only notes that its SA owes a record, and
//! the end of the burst takes one record per noted SA, with its newest state. At
//! `sync-period-packets 2` and one busy SA that is one record per burst instead of one per
//! two packets, and the sync side, which drains every millisecond, gets newer records.

use crate::counters::LcoreCounters;
use crate::crypto::Engine;
use crate::sa::{Sa, SaEvent, SaEventKind, SaId};
use crate::sad::Sad;
use crate::snapshot::{snapshot_ring, SnapshotRing, SyncPolicy};
use crate::verdict::MAX_BURST;
use arrayvec::ArrayVec;
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
    /// SAs that owe a record at the end of this burst (each once: the SA's queued flag).
    snapshot_owed: ArrayVec<SaId, MAX_BURST>,
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
            snapshot_owed: ArrayVec::new(),
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

    /// Per packet: notes that `sa` owes a record if one is due. The record is taken by
    /// [`Lcore::flush_snapshots`] at the end of the burst, so an SA gets at most one per burst.
    #[inline]
    pub fn note_snapshot(&mut self, sa: &mut Sa, now_ns: u64) {
        if sa.snapshot_queued() || !sa.snapshot_due(&self.sync, now_ns) {
            return;
        }
        if self.snapshot_owed.try_push(sa.id).is_ok() {
            sa.set_snapshot_queued(true);
        } else {
            // More SAs than a burst has packets: the caller skipped a flush. Take it now.
            self.push_snapshot(sa, now_ns);
        }
    }

    /// End of a burst: one record per SA noted since the last flush, with its state now.
    pub fn flush_snapshots(&mut self, sad: &mut Sad, now_ns: u64) {
        for i in 0..self.snapshot_owed.len() {
            if let Some(sa) = sad.get_mut(self.snapshot_owed[i]) {
                sa.set_snapshot_queued(false);
                self.push_snapshot(sa, now_ns);
            }
        }
        self.snapshot_owed.clear();
    }

    /// Pushes a record of `sa` now; a full ring leaves the SA's old mark, so it is due again.
    fn push_snapshot(&mut self, sa: &mut Sa, now_ns: u64) {
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
            if let Some(sa) = sad.get_mut(SaId(self.sweep_cursor as u32)) {
                if sa.snapshot_due(&self.sync, now_ns) {
                    self.push_snapshot(sa, now_ns);
                }
            }
        }
    }
}
