//! The workers: one per worker lcore, each with its queues, its share of the SAs, the rings
//! to the other workers, and the queues through which the control side reaches it.

use super::ports::WorkerPorts;
use super::{Pools, SetupError};
use crate::config::Config;
use crate::control::command::Inbox;
use crate::latency;
use crate::mtu::MtuPath;
use crate::stats::SharedStats;
use crate::tables::{owner, Tables};
use crate::worker::{Handoff, StopWhen, Worker};
use dpdk::eal::Eal;
use dpdk::ring::{Ring, RingFlags};
use esp::lcore::{EventQueue, Lcore};
use esp::reassembly::{self, Reassembler};
use esp::sa::Direction;
use esp::snapshot::{SnapshotRing, SyncPolicy};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Requests from the control side a worker holds before it serves them.
const INBOX_CAPACITY: usize = 64;
/// SA events a worker holds for the control side.
const EVENT_CAPACITY: usize = 4096;
/// HA seqnum snapshots a worker holds for the sync drain.
const SNAPSHOT_CAPACITY: usize = 65536;
/// Packets a handoff ring holds.
const HANDOFF_RING_SIZE: u32 = 4096;

/// How the workers run.
pub struct WorkerOptions {
    /// Sleep after a run of empty polls (0: busy-poll).
    pub idle_sleep: Duration,
    pub stop_when: StopWhen,
    pub sync: SyncPolicy,
    /// Record per-burst latency.
    pub latency: bool,
}

/// What the main lcore and the control side keep of the running workers.
pub struct Running {
    /// Each worker's counters.
    pub stats: Vec<Arc<SharedStats>>,
    pub inboxes: Vec<Inbox>,
    pub events: Vec<EventQueue>,
    pub snapshots: Vec<SnapshotRing>,
    /// How many workers have returned.
    pub finished: Arc<AtomicUsize>,
    /// The workers' latency histograms, once they have returned.
    pub latency: latency::Sink,
}

/// Builds one worker per lcore of `lcores` and launches it.
pub fn launch(
    eal: &Eal,
    cfg: &Config,
    lcores: &[u32],
    ports: WorkerPorts,
    pools: &Pools,
    options: &WorkerOptions,
    stop: &Arc<AtomicBool>,
) -> Result<Running, SetupError> {
    let n = lcores.len();
    let mut handoffs = handoff_rings(eal, cfg, n)?.map(Vec::into_iter);
    let locals: Arc<[IpAddr]> = cfg.locals.clone().into();
    let now_ns = dpdk::timer::cycles_to_ns(dpdk::timer::tsc(), dpdk::timer::tsc_hz());
    let mut running = Running {
        stats: Vec::new(),
        inboxes: Vec::new(),
        events: Vec::new(),
        snapshots: Vec::new(),
        finished: Arc::new(AtomicUsize::new(0)),
        latency: latency::Sink::default(),
    };
    let mut routers = ports.routers.into_iter();
    for (w, (lcore, q)) in lcores.iter().zip(ports.queues).enumerate() {
        let stats = Arc::new(SharedStats::default());
        let worker = Worker {
            index: w,
            ports: q,
            protected: ports.protected,
            unprotected: ports.unprotected,
            tables: Tables::build(cfg, w, n, now_ns)
                .map_err(|source| SetupError::Tables { worker: w, source })?,
            esp: Lcore::new(options.sync, EVENT_CAPACITY, SNAPSHOT_CAPACITY),
            counters: Default::default(),
            shared: Arc::clone(&stats),
            stop: Arc::clone(stop),
            idle_sleep: options.idle_sleep,
            stop_when: options.stop_when,
            handoff: handoffs.as_mut().and_then(Iterator::next),
            latency: if options.latency {
                Some(latency::Recorder::new(w, &running.latency)?)
            } else {
                None
            },
            locals: Arc::clone(&locals),
            inbox: Arc::new(crossbeam_queue::ArrayQueue::new(INBOX_CAPACITY)),
            mtu: MtuPath::new(
                pools.fragments.clone(),
                pools.big.clone(),
                Reassembler::new(reassembly::Config::default()),
                w,
            ),
            router: routers.next(),
        };
        running.stats.push(stats);
        running.inboxes.push(Arc::clone(&worker.inbox));
        running.events.push(Arc::clone(&worker.esp.events));
        running.snapshots.push(Arc::clone(&worker.esp.snapshots));
        let finished = Arc::clone(&running.finished);
        eal.launch(*lcore, move || {
            let rc = worker.run();
            finished.fetch_add(1, Ordering::Release);
            rc
        })?;
    }
    Ok(running)
}

/// With several workers: one ring per worker and direction (many producers, one consumer)
/// that carries packets to the owner of their SA.
fn handoff_rings(eal: &Eal, cfg: &Config, n: usize) -> Result<Option<Vec<Handoff>>, SetupError> {
    if n < 2 {
        return Ok(None);
    }
    let flags = RingFlags {
        single_producer: false,
        single_consumer: true,
    };
    let mut rings = Vec::new();
    for v in 0..n {
        let out = Ring::create(
            eal,
            &format!("handoff_out_{v}"),
            HANDOFF_RING_SIZE,
            flags,
            -1,
        )?;
        let inb = Ring::create(
            eal,
            &format!("handoff_in_{v}"),
            HANDOFF_RING_SIZE,
            flags,
            -1,
        )?;
        rings.push((out, inb));
    }
    let spi_owner: HashMap<u32, usize> = cfg
        .sas
        .iter()
        .filter(|(_, sa)| sa.direction == Direction::Inbound)
        .map(|(id, sa)| (sa.spi, owner(*id, n)))
        .collect();
    let mut handoffs = Vec::new();
    for w in 0..n {
        let mut to = Vec::new();
        for (v, (out, inb)) in rings.iter().enumerate() {
            to.push(if v == w {
                None
            } else {
                Some((out.producer()?, inb.producer()?))
            });
        }
        let from = (rings[w].0.consumer()?, rings[w].1.consumer()?);
        handoffs.push(Handoff::new(to, from, spi_owner.clone()));
    }
    Ok(Some(handoffs))
}
