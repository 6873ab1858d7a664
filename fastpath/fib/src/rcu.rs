//! Quiescent-state reclamation: a group or next-hop slot that the writer unlinks may still be
//! read by a worker that loaded its index before; it is reused only once every registered
//! reader has passed a quiescent point (between two bursts) after the unlink. Readers pay one
//! load and one store per burst; only the writer ever waits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct Rcu {
    epoch: AtomicU64,
    /// The epoch each registered reader last saw at a quiescent point.
    readers: Mutex<Vec<Arc<AtomicU64>>>,
}

impl Rcu {
    /// A new reader's slot, quiescent as of now.
    pub fn register(&self) -> Arc<AtomicU64> {
        let slot = Arc::new(AtomicU64::new(self.epoch.load(Ordering::SeqCst)));
        self.lock().push(slot.clone());
        slot
    }

    pub fn unregister(&self, slot: &Arc<AtomicU64>) {
        self.lock().retain(|s| !Arc::ptr_eq(s, slot));
    }

    /// Called by a reader between bursts: it holds no index loaded before this point. Plain
    /// loads and stores on x86: acquiring the epoch orders the reader's next loads after the
    /// writer's unlink, releasing the slot orders its earlier loads before any reuse.
    #[inline(always)]
    pub fn quiescent(&self, slot: &AtomicU64) {
        slot.store(self.epoch.load(Ordering::Acquire), Ordering::Release);
    }

    /// Starts a grace period after an unlink: what was unlinked before is free once every
    /// reader has seen the returned epoch.
    pub fn retire(&self) -> u64 {
        self.epoch.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Every reader has passed a quiescent point at or after `epoch`.
    pub fn passed(&self, epoch: u64) -> bool {
        self.lock()
            .iter()
            .all(|s| s.load(Ordering::Acquire) >= epoch)
    }

    /// Waits (the writer only) until `passed(epoch)`, at most `limit`.
    pub fn wait(&self, epoch: u64, limit: Duration) -> bool {
        let start = Instant::now();
        while !self.passed(epoch) {
            if start.elapsed() > limit {
                return false;
            }
            std::thread::yield_now();
        }
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<AtomicU64>>> {
        // The list stays consistent even if a holder panicked: every operation is one call.
        self.readers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Slots (groups, next-hop ids) freed by the writer, reusable once their grace period is over.
#[derive(Default)]
pub struct Retired {
    waiting: std::collections::VecDeque<(u64, u32)>,
    ready: Vec<u32>,
}

impl Retired {
    pub fn push(&mut self, epoch: u64, slot: u32) {
        self.waiting.push_back((epoch, slot));
    }

    /// A slot whose grace period is over; waits up to `limit` for the oldest one if none is.
    pub fn take(&mut self, rcu: &Rcu, limit: Duration) -> Option<u32> {
        if let Some(s) = self.ready.pop() {
            return Some(s);
        }
        let &(oldest, _) = self.waiting.front()?;
        if !rcu.wait(oldest, limit) {
            return None;
        }
        // Epochs only grow along the queue: take every entry the readers have passed.
        while let Some(&(e, s)) = self.waiting.front() {
            if !rcu.passed(e) {
                break;
            }
            self.waiting.pop_front();
            self.ready.push(s);
        }
        self.ready.pop()
    }

    pub fn len(&self) -> usize {
        self.waiting.len() + self.ready.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_reused_only_after_every_reader_was_quiescent() {
        let rcu = Rcu::default();
        let (a, b) = (rcu.register(), rcu.register());
        let mut retired = Retired::default();
        retired.push(rcu.retire(), 7);
        assert_eq!(retired.take(&rcu, Duration::ZERO), None);
        rcu.quiescent(&a);
        assert_eq!(retired.take(&rcu, Duration::ZERO), None);
        rcu.quiescent(&b);
        assert_eq!(retired.take(&rcu, Duration::ZERO), Some(7));
        // A reader that leaves no longer holds anything back.
        retired.push(rcu.retire(), 8);
        rcu.unregister(&b);
        rcu.quiescent(&a);
        assert_eq!(retired.take(&rcu, Duration::ZERO), Some(8));
        assert_eq!(retired.len(), 0);
    }
}
