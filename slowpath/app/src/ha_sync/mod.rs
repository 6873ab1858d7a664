//! The HA sync's I/O: one non-blocking UDP socket per `ha path` (bound to this node's side,
//! sending to the peer's), driving the `hasync` core. Every datagram the core gives goes out
//! on its path at once; a record the core's queue refuses (back-pressure) waits in a bounded
//! map, the newest per key, and is offered again at each flush: neither IKE nor the fast
//! path ever waits for the peer node.
//!
//! The IKE runner owns the link: it offers records and flushes before its own datagrams
//! leave, and applies what the peer sends (`ike::runner::ha`).

mod status;
#[cfg(test)]
pub(crate) mod tests;

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use hasync::{PathId, Record, RecordKey, SyncConfig, SyncEvent, SyncNode};

use crate::config::HaConfig;
use crate::sys::udp::bind_udp;
pub use status::{LinkCounters, PathView, SnapshotLags, SyncView};

/// Records waiting for room in the core's queue, at most; beyond it the oldest keys' updates
/// are dropped (counted) and the peer's next bulk sync carries them.
const PENDING_LIMIT: usize = 1 << 18;
/// Datagrams read from one path per `receive`.
const READ_BUDGET: usize = 1024;
/// A path whose socket could not be bound is tried again this often.
const REBIND: Duration = Duration::from_secs(1);
/// How soon a flush is due again while records wait for room.
const PENDING_RETRY: Duration = Duration::from_millis(5);

struct PathSocket {
    name: String,
    local: SocketAddr,
    peer: SocketAddr,
    socket: Option<UdpSocket>,
    rebind_at: Duration,
}

impl PathSocket {
    fn bind(&mut self, now: Duration) {
        if self.socket.is_some() || now < self.rebind_at {
            return;
        }
        match bind_udp(self.local) {
            Ok(s) => self.socket = Some(s),
            Err(e) => {
                tracing::warn!("ha path {} ({}): {e}", self.name, self.local);
                self.rebind_at = now + REBIND;
            }
        }
    }
}

pub struct SyncLink {
    node: SyncNode,
    paths: Vec<PathSocket>,
    /// Refused records by key, with the order they came in (offered again in that order).
    pending: HashMap<RecordKey, (u64, Record)>,
    pending_seq: u64,
    counters: LinkCounters,
    buf: Vec<u8>,
    /// How long the peer may stay silent before it counts as down.
    dead_interval: Duration,
}

impl SyncLink {
    /// The core from the `ha` block, with a boot nonce drawn from the OS's random source, and
    /// a socket per path.
    pub fn open(cfg: &HaConfig, now: Duration) -> Result<SyncLink, String> {
        let node_id = hasync::NodeId::new(cfg.node_id.number()).ok_or("node id 1 or 2")?;
        let ids: Vec<PathId> = (0..cfg.paths.len())
            .map(|i| PathId::try_from(i).map_err(|_| "too many ha paths".to_string()))
            .collect::<Result<_, _>>()?;
        let sync = SyncConfig::new(node_id, cfg.sync_key.as_bytes().to_vec(), ids);
        let dead_interval = sync.dead_interval;
        let mut nonce = [0u8; 16];
        openssl::rand::rand_bytes(&mut nonce).map_err(|e| format!("random boot nonce: {e}"))?;
        let node = SyncNode::new(sync, nonce, now).map_err(|e| e.to_string())?;
        let mut paths: Vec<PathSocket> = cfg
            .paths
            .iter()
            .map(|p| PathSocket {
                name: p.name.clone(),
                local: SocketAddr::new(p.local, p.port),
                peer: SocketAddr::new(p.peer, p.port),
                socket: None,
                rebind_at: now,
            })
            .collect();
        for p in &mut paths {
            p.bind(now);
        }
        Ok(SyncLink {
            node,
            paths,
            pending: HashMap::new(),
            pending_seq: 0,
            counters: LinkCounters::default(),
            buf: vec![0u8; 65536],
            dead_interval,
        })
    }

    pub fn fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.paths
            .iter()
            .filter_map(|p| p.socket.as_ref().map(|s| s.as_raw_fd()))
    }

    /// When `step` is due even if no socket is readable.
    pub fn next_deadline(&self, now: Duration) -> Duration {
        let mut t = self.node.poll_timeout();
        for p in self.paths.iter().filter(|p| p.socket.is_none()) {
            t = t.min(p.rebind_at);
        }
        if !self.pending.is_empty() {
            t = t.min(now + PENDING_RETRY);
        }
        t
    }

    /// Reads every path, fires the core's timers and rebinds paths that lack a socket.
    pub fn receive(&mut self, now: Duration) {
        for i in 0..self.paths.len() {
            self.paths[i].bind(now);
            let Some(sock) = self.paths[i].socket.as_ref() else {
                continue;
            };
            for _ in 0..READ_BUDGET {
                let (n, from) = match sock.recv_from(&mut self.buf) {
                    Ok(x) => x,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => {
                        tracing::debug!("ha path {}: {e}", self.paths[i].name);
                        break;
                    }
                };
                if from.ip() != self.paths[i].peer.ip() {
                    self.counters.foreign_source += 1;
                    continue;
                }
                self.node.handle_datagram(i as PathId, &self.buf[..n], now);
            }
        }
        if self.node.poll_timeout() <= now {
            self.node.handle_timeout(now);
        }
    }

    /// An incremental update; never blocks. Behind a refused one, records wait their turn so
    /// that an older state of a key never overtakes a newer one.
    pub fn offer(&mut self, record: Record) {
        if self.pending.is_empty() && self.node.can_offer() {
            if self.node.offer(record).is_err() {
                self.counters.dropped_pending_full += 1;
            }
            return;
        }
        self.hold(record);
    }

    fn hold(&mut self, record: Record) {
        self.counters.held += 1;
        let key = record.key();
        if !self.pending.contains_key(&key) && self.pending.len() >= PENDING_LIMIT {
            self.counters.dropped_pending_full += 1;
            return;
        }
        self.pending_seq += 1;
        self.pending.insert(key, (self.pending_seq, record));
    }

    /// Offers what waits, then sends every datagram the core has.
    pub fn flush(&mut self) {
        if !self.pending.is_empty() {
            let mut waiting: Vec<(u64, Record)> = self.pending.drain().map(|(_, v)| v).collect();
            waiting.sort_unstable_by_key(|(seq, _)| *seq);
            for (seq, record) in waiting {
                if !self.pending.is_empty() || !self.node.can_offer() {
                    self.pending.insert(record.key(), (seq, record));
                } else if self.node.offer(record).is_err() {
                    self.counters.dropped_pending_full += 1;
                }
            }
        }
        while let Some((path, bytes)) = self.node.poll_transmit() {
            let Some(p) = self.paths.get(usize::from(path)) else {
                continue;
            };
            let Some(sock) = p.socket.as_ref() else {
                self.counters.send_errors += 1;
                continue;
            };
            if let Err(e) = sock.send_to(&bytes, p.peer) {
                self.counters.send_errors += 1;
                tracing::debug!("ha path {} -> {}: {e}", p.name, p.peer);
            }
        }
    }

    pub fn poll_event(&mut self) -> Option<SyncEvent> {
        self.node.poll_event()
    }

    /// The core, for the bulk sync and its state.
    /// How long the peer may stay silent before it counts as down: a node that started
    /// that long ago and has not heard it is alone.
    pub fn dead_interval(&self) -> Duration {
        self.dead_interval
    }

    pub fn node(&self) -> &SyncNode {
        &self.node
    }

    pub fn node_mut(&mut self) -> &mut SyncNode {
        &mut self.node
    }

    pub fn path_name(&self, id: PathId) -> &str {
        self.paths.get(usize::from(id)).map_or("?", |p| &p.name)
    }

    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The core's status with the paths' names and addresses and the link's own counters.
    pub fn view(&self) -> SyncView {
        SyncView::new(
            self.node.status(),
            &self.paths_view(),
            &self.counters,
            self.pending(),
        )
    }

    fn paths_view(&self) -> Vec<PathView> {
        self.paths
            .iter()
            .map(|p| PathView {
                name: p.name.clone(),
                local: p.local.to_string(),
                peer: p.peer.to_string(),
                bound: p.socket.is_some(),
                up: false,
                last_heard_ms: None,
            })
            .collect()
    }
}
