//! The sync side of HA seqnum snapshots: drains every worker's snapshot ring, keeps the newest
//! record per SA (`esp::snapshot::Coalescer`), and hands batches to the slow path's sync
//! subscribers on the control socket, which carry them to the standby node (whose control
//! socket applies them with `sa_sync`). A thread that sleeps between passes rather than a
//! busy-polling lcore: on these 2-core machines a spinning sync lcore would cost a whole core.

use esp::snapshot::{Coalescer, SnapshotRing};
use ipc::fastpath::SyncBatch;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Records per sync message.
pub const BATCH: usize = 256;

/// The send buffer of a sync subscriber's socket.
const SEND_BUFFER: usize = 16 * 1024;

/// A sync subscriber: its socket (non-blocking) and what it has not taken yet.
pub struct SyncSubscriber {
    stream: UnixStream,
    pending: Vec<u8>,
}

impl SyncSubscriber {
    /// Takes over a connection for the sync stream.
    pub fn new(stream: UnixStream) -> std::io::Result<SyncSubscriber> {
        stream.set_nonblocking(true)?;
        // A small socket buffer keeps the backlog in the kernel to a few batches: what the
        // peer has not taken waits, coalesced, on this side instead.
        socket2::SockRef::from(&stream).set_send_buffer_size(SEND_BUFFER)?;
        Ok(SyncSubscriber {
            stream,
            pending: Vec::new(),
        })
    }

    /// Writes what is pending; `Ok(true)` once all of it went out, `Err` if the peer is gone.
    fn flush(&mut self) -> std::io::Result<bool> {
        while !self.pending.is_empty() {
            match self.stream.write(&self.pending) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.pending.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}

/// Where sync batches go.
pub type SyncSubscribers = Arc<Mutex<Vec<SyncSubscriber>>>;

/// Counters of the sync side.
#[derive(Debug, Default)]
pub struct SyncCounters {
    pub drained: AtomicU64,
    pub coalesced: AtomicU64,
    pub sent: AtomicU64,
    pub batches: AtomicU64,
}

/// Drains the rings every `period` until `stop`, sending batches to the subscribers.
pub fn run(
    rings: Vec<SnapshotRing>,
    subscribers: SyncSubscribers,
    counters: Arc<SyncCounters>,
    period: Duration,
    stop: Arc<AtomicBool>,
) {
    let mut coalescer = Coalescer::new();
    while !stop.load(Ordering::Relaxed) {
        for r in &rings {
            coalescer.drain(r, 65536);
        }
        counters.drained.store(coalescer.drained, Ordering::Relaxed);
        counters
            .coalesced
            .store(coalescer.coalesced, Ordering::Relaxed);
        let mut subs = subscribers.lock().unwrap_or_else(|e| e.into_inner());
        // A subscriber that has not taken the last batch gets nothing new: meanwhile the newest
        // state waits in the coalescer, one record per SA, so a slow peer receives fresh records
        // rather than a backlog of stale ones. Without a subscriber it waits there too.
        subs.retain_mut(|s| s.flush().is_ok());
        while !subs.is_empty()
            && coalescer.pending() > 0
            && subs.iter().all(|s| s.pending.is_empty())
        {
            let batch = coalescer.take_batch(BATCH);
            let batch = SyncBatch {
                v: ipc::VERSION,
                sync: batch.iter().filter_map(super::convert::record).collect(),
            };
            let mut msg = serde_json::to_string(&batch).unwrap_or_default();
            msg.push('\n');
            subs.retain_mut(|s| {
                s.pending.extend_from_slice(msg.as_bytes());
                s.flush().is_ok()
            });
            counters
                .sent
                .fetch_add(batch.sync.len() as u64, Ordering::Relaxed);
            counters.batches.fetch_add(1, Ordering::Relaxed);
        }
        drop(subs);
        std::thread::sleep(period);
    }
}
