//! The sync side of HA seqnum snapshots: drains every worker's snapshot ring, keeps the newest
//! record per SA (`esp::snapshot::Coalescer`), and hands batches to the slow path's sync
//! subscribers on the control socket, which carry them to the standby node (whose control
//! socket applies them with `sa_sync`). A thread that sleeps between passes rather than a
//! busy-polling lcore: on these 2-core machines a spinning sync lcore would cost a whole core.

use esp::replay::WindowSnapshot;
use esp::sa::{Direction, SaId};
use esp::snapshot::{Coalescer, SeqSnapshot, SnapshotRing};
use serde_json::{json, Value};
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

/// A snapshot as JSON (the sync message's record).
pub fn to_json(s: &SeqSnapshot) -> Value {
    json!({
        "sa": s.sa.0, "spi": s.spi,
        "dir": match s.direction { Direction::Inbound => "in", Direction::Outbound => "out" },
        "oseq": s.oseq, "top": s.window.top, "bits": s.window.bits, "gen": s.generation, "at_ns": s.at_ns,
    })
}

/// A snapshot from JSON; `None` if a field is missing or out of range.
pub fn from_json(v: &Value) -> Option<SeqSnapshot> {
    let bits: Vec<u64> = v
        .get("bits")?
        .as_array()?
        .iter()
        .map(Value::as_u64)
        .collect::<Option<_>>()?;
    Some(SeqSnapshot {
        sa: SaId(u32::try_from(v.get("sa")?.as_u64()?).ok()?),
        spi: u32::try_from(v.get("spi")?.as_u64()?).ok()?,
        direction: match v.get("dir")?.as_str()? {
            "in" => Direction::Inbound,
            "out" => Direction::Outbound,
            _ => return None,
        },
        oseq: v.get("oseq")?.as_u64()?,
        window: WindowSnapshot {
            top: v.get("top")?.as_u64()?,
            bits: bits.try_into().ok()?,
        },
        generation: u16::try_from(v.get("gen")?.as_u64()?).ok()?,
        at_ns: v.get("at_ns")?.as_u64()?,
    })
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
            let mut msg =
                json!({"v": 1, "sync": batch.iter().map(to_json).collect::<Vec<_>>()}).to_string();
            msg.push('\n');
            subs.retain_mut(|s| {
                s.pending.extend_from_slice(msg.as_bytes());
                s.flush().is_ok()
            });
            counters
                .sent
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            counters.batches.fetch_add(1, Ordering::Relaxed);
        }
        drop(subs);
        std::thread::sleep(period);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_round_trip_through_json() {
        let s = SeqSnapshot {
            sa: SaId(7),
            spi: 0xdead_beef,
            direction: Direction::Inbound,
            oseq: 1 << 40,
            window: WindowSnapshot {
                top: 99,
                bits: [1, 2, 3, u64::MAX],
            },
            generation: 5,
            at_ns: 123,
        };
        assert_eq!(from_json(&to_json(&s)), Some(s));
        let mut bad = to_json(&s);
        bad["bits"] = json!([1, 2]);
        assert_eq!(from_json(&bad), None);
        bad = to_json(&s);
        bad["gen"] = json!(70000);
        assert_eq!(from_json(&bad), None);
    }
}
