//! What a node needs to know to talk to its peer node: who it is, the shared key, the paths
//! and the timers. The daemon reads it from its `ha` block; the core only checks it.

use std::time::Duration;

use zeroize::Zeroizing;

/// A sync path, as the daemon numbers them (each maps to one local/peer UDP socket pair).
pub type PathId = u8;

/// At most this many paths: every datagram is sent on each of them.
pub const MAX_PATHS: usize = 8;

/// The two nodes of a pair are 1 and 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct NodeId(u8);

impl NodeId {
    pub fn new(id: u8) -> Option<Self> {
        matches!(id, 1 | 2).then_some(NodeId(id))
    }

    pub fn get(self) -> u8 {
        self.0
    }

    pub fn peer(self) -> NodeId {
        NodeId(3 - self.0)
    }

    /// 0 for node 1, 1 for node 2: an index into per-node arrays.
    pub fn index(self) -> usize {
        usize::from(self.0 - 1)
    }
}

#[derive(Clone)]
pub struct SyncConfig {
    pub node: NodeId,
    /// The pre-shared sync key (or a key file's content); every session key comes from it.
    pub key: Zeroizing<Vec<u8>>,
    pub paths: Vec<PathId>,
    /// A hello goes out on every path this often.
    pub hello_interval: Duration,
    /// A path, or the peer, with nothing authenticated heard for this long is down.
    pub dead_interval: Duration,
    /// First retransmission timeout of a chunk, doubled at each timeout up to `rto_max`.
    pub rto_initial: Duration,
    pub rto_max: Duration,
    /// A chunk retransmitted this many times unacknowledged declares the peer down.
    pub max_retransmits: u32,
    /// Chunks sent and not yet acknowledged, at most (also the receive window).
    pub send_window: usize,
    /// Records waiting to be sent, at most: `offer` pushes back beyond it.
    pub queue_limit: usize,
    /// Largest datagram sent (UDP payload), header and tag included.
    pub max_datagram: usize,
    /// Largest record accepted from the peer once reassembled.
    pub max_record: usize,
    /// How long a received chunk may wait for its acknowledgement to ride on other traffic.
    pub ack_delay: Duration,
}

impl std::fmt::Debug for SyncConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncConfig")
            .field("node", &self.node)
            .field("key", &"<redacted>")
            .field("paths", &self.paths)
            .field("hello_interval", &self.hello_interval)
            .field("dead_interval", &self.dead_interval)
            .field("send_window", &self.send_window)
            .field("max_datagram", &self.max_datagram)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("the sync key must have at least 16 bytes")]
    ShortKey,
    #[error("between 1 and {MAX_PATHS} sync paths, each listed once")]
    Paths,
    #[error("the dead interval must be longer than the hello interval, which must not be 0")]
    Intervals,
    #[error("retransmission: 0 < initial timeout <= max timeout, at least one retransmission")]
    Retransmission,
    #[error("send window 1-65536 chunks, queue limit at least 1")]
    Window,
    #[error("max datagram must be 512-65000 bytes")]
    Datagram,
    #[error("max record must be 1 KiB-64 MiB")]
    Record,
}

impl SyncConfig {
    /// The defaults, for a node and its key over `paths`.
    pub fn new(node: NodeId, key: Vec<u8>, paths: Vec<PathId>) -> Self {
        SyncConfig {
            node,
            key: Zeroizing::new(key),
            paths,
            hello_interval: Duration::from_millis(200),
            dead_interval: Duration::from_millis(1000),
            rto_initial: Duration::from_millis(100),
            rto_max: Duration::from_millis(800),
            max_retransmits: 8,
            send_window: 512,
            queue_limit: 4096,
            max_datagram: 1400,
            max_record: 1 << 20,
            ack_delay: Duration::from_millis(2),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.key.len() < 16 {
            return Err(ConfigError::ShortKey);
        }
        let mut seen = [false; 256];
        if self.paths.is_empty() || self.paths.len() > MAX_PATHS {
            return Err(ConfigError::Paths);
        }
        for &p in &self.paths {
            if std::mem::replace(&mut seen[usize::from(p)], true) {
                return Err(ConfigError::Paths);
            }
        }
        if self.hello_interval.is_zero() || self.dead_interval <= self.hello_interval {
            return Err(ConfigError::Intervals);
        }
        if self.rto_initial.is_zero()
            || self.rto_max < self.rto_initial
            || self.max_retransmits == 0
        {
            return Err(ConfigError::Retransmission);
        }
        if !(1..=65536).contains(&self.send_window) || self.queue_limit == 0 {
            return Err(ConfigError::Window);
        }
        if !(512..=65000).contains(&self.max_datagram) {
            return Err(ConfigError::Datagram);
        }
        if !(1024..=64 << 20).contains(&self.max_record) {
            return Err(ConfigError::Record);
        }
        Ok(())
    }
}
