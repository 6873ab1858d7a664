//! The process's start, step by step: lcores and mbuf pools (here), [`ports`], [`workers`],
//! and the [`control`] side (HA sync drain, control socket). Each step fails with a
//! [`SetupError`] that names what it could not do.

pub mod announce;
pub mod control;
pub mod ports;
pub mod routing;
pub mod workers;

use crate::config::ConfigError;
use crate::neighbour::ResolverError;
use dpdk::eal::Eal;
use dpdk::mempool::Mempool;
use esp::sad::SadError;
use std::path::PathBuf;

/// Why the fast path could not start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// EAL, a mempool, a ring or an lcore launch.
    #[error(transparent)]
    Dpdk(#[from] dpdk::Error),
    /// A command-line value out of its range.
    #[error("{0}")]
    Args(String),
    #[error("give EAL at least two lcores (-l MAIN,WORKER...): workers run on the others")]
    NoWorkerLcore,
    #[error("--sync-lcore takes the last EAL lcore: give at least two besides the main one")]
    NoLcoreForSync,
    #[error("port {port}: {source}")]
    Port {
        port: u16,
        #[source]
        source: dpdk::Error,
    },
    #[error("no {0} port in the configuration")]
    MissingRole(&'static str),
    #[error("port {0}: no kernel interface has the exception TAP's MAC")]
    NoTapInterface(u16),
    #[error("port {0}: next-hop needs an exception port (the kernel resolves it)")]
    NextHopWithoutException(u16),
    #[error("worker {worker}'s tables: {source}")]
    Tables {
        worker: usize,
        #[source]
        source: SadError,
    },
    #[error("latency histogram: {0}")]
    Latency(#[from] hdrhistogram::CreationError),
    #[error(transparent)]
    Resolver(#[from] ResolverError),
    #[error(transparent)]
    Routing(#[from] crate::routing::RoutingError),
    #[error("signal handlers: {0}")]
    Signals(#[source] std::io::Error),
    #[error("HA sync thread: {0}")]
    SyncThread(#[source] std::io::Error),
    #[error("metrics endpoint {addr}: {source}")]
    Metrics {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("control socket {}: {source}", path.display())]
    Control {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The EAL lcores besides the main one, by job.
pub struct Lcores {
    /// One worker on each.
    pub workers: Vec<u32>,
    /// `--sync-lcore`: the last lcore drains the HA snapshot rings instead of a thread.
    pub sync: Option<u32>,
}

impl Lcores {
    pub fn assign(eal: &Eal, sync_lcore: bool) -> Result<Lcores, SetupError> {
        let mut workers: Vec<u32> = eal.workers().collect();
        let sync = if sync_lcore {
            if workers.len() < 2 {
                return Err(SetupError::NoLcoreForSync);
            }
            workers.pop()
        } else {
            None
        };
        if workers.is_empty() {
            return Err(SetupError::NoWorkerLcore);
        }
        Ok(Lcores { workers, sync })
    }
}

/// The mbuf pools.
pub struct Pools {
    /// What the ports receive into.
    pub packets: Mempool,
    /// Fragments and ICMP errors, apart so that they cannot starve the receive queues.
    pub fragments: Mempool,
    /// Reassembled packets (large buffers), apart for the same reason.
    pub big: Mempool,
}

impl Pools {
    /// `mbufs` in the receive pool (sized for `-m 512` without hugepages by default).
    pub fn create(eal: &Eal, mbufs: u32) -> Result<Pools, SetupError> {
        Ok(Pools {
            packets: Mempool::pktmbuf(eal, "fastpath_pool", mbufs, 256, 2048 + 128, -1)?,
            fragments: Mempool::pktmbuf(eal, "fastpath_frag", 2047, 64, 2048 + 128, -1)?,
            big: Mempool::pktmbuf(eal, "fastpath_big", 255, 16, 9216 + 128, -1)?,
        })
    }
}
