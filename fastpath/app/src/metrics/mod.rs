//! The Prometheus endpoint (`metrics ADDRESS:PORT` in the configuration file): a thread of
//! the main lcore's process, never a worker, that writes the page at each scrape from what
//! the control socket's `stats` reads (each worker's published counters, summed by
//! Prometheus, not here), the ports' own counters, the HA sync drain's counters, and each
//! SA's counters asked of its worker a slice at a time. The workers do nothing more per
//! packet for it.

mod ports;
mod sas;
mod workers;

use crate::config::MetricsSpec;
use crate::control::command::Inbox;
use crate::control::sync::SyncCounters;
use crate::stats::SharedStats;
use promtext::{Encoder, Kind, MetricsServer};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

pub use ports::PortSource;

/// What the page is written from.
pub struct Sources {
    /// Each worker's published counters, in worker order.
    pub stats: Vec<Arc<SharedStats>>,
    /// Each worker's inbox, for the per-SA counters.
    pub inboxes: Vec<Inbox>,
    pub ports: Vec<PortSource>,
    pub sync: Arc<SyncCounters>,
    /// Whether the workers take HA seqnum snapshots (`--ha-sync`).
    pub snapshots: bool,
    /// Each SA's counters too (`per-sa`).
    pub per_sa: bool,
    pub started: Instant,
}

/// Binds the endpoint and serves it until `stop`; returns the bound address and the thread.
pub fn spawn(
    spec: &MetricsSpec,
    sources: Sources,
    stop: &Arc<AtomicBool>,
) -> io::Result<(SocketAddr, JoinHandle<()>)> {
    let server = MetricsServer::bind(spec.addr)?;
    let addr = server.local_addr()?;
    let page = Box::new(move |out: &mut dyn Write| write_page(&sources, out));
    let thread = server.spawn("metrics", Arc::clone(stop), page)?;
    Ok((addr, thread))
}

/// The whole page, family by family, straight into `out`.
pub fn write_page(s: &Sources, out: &mut dyn Write) -> io::Result<()> {
    let mut e = Encoder::new(out);
    e.process("fastpath", env!("CARGO_PKG_VERSION"), s.started.elapsed())?;
    e.single(
        "fastpath_workers",
        Kind::Gauge,
        "Worker lcores.",
        s.stats.len(),
    )?;
    ports::write(&mut e, &s.ports)?;
    workers::write(&mut e, &s.stats)?;
    write_sync(&mut e, s)?;
    if s.per_sa {
        sas::write(&mut e, &s.inboxes)?;
    }
    e.flush()
}

/// The HA seqnum sync drain (`fastpath-ctl sync-stats`).
fn write_sync<W: Write>(e: &mut Encoder<W>, s: &Sources) -> io::Result<()> {
    e.single(
        "fastpath_sync_snapshots_enabled",
        Kind::Gauge,
        "1 when the workers take HA seqnum snapshots (--ha-sync).",
        s.snapshots,
    )?;
    let c = &s.sync;
    let counters = [
        (
            "fastpath_sync_snapshots_drained_total",
            "Seqnum snapshots taken from the workers' rings.",
            &c.drained,
        ),
        (
            "fastpath_sync_snapshots_coalesced_total",
            "Snapshots replaced by a newer one of the same SA before sending.",
            &c.coalesced,
        ),
        (
            "fastpath_sync_snapshots_sent_total",
            "Snapshots sent to the slow path.",
            &c.sent,
        ),
        (
            "fastpath_sync_batches_total",
            "Snapshot batches sent to the slow path.",
            &c.batches,
        ),
    ];
    for (name, help, v) in counters {
        e.single(name, Kind::Counter, help, v.load(Ordering::Relaxed))?;
    }
    Ok(())
}
