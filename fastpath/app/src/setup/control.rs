//! The control side: the HA sync drain (a thread, or an lcore of its own) and the control
//! socket for the slow path and `fastpath-ctl`.

use super::workers::Running;
use super::SetupError;
use crate::config::Config;
use crate::control::{server, sync};
use dpdk::eal::Eal;
use esp::snapshot::SnapshotRing;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The shortest pause between two passes of the sync drain.
const MIN_SYNC_DRAIN: Duration = Duration::from_micros(100);

/// Where the HA sync drain runs.
pub enum SyncDrain {
    /// No snapshots are taken.
    Off,
    /// A thread of the main lcore.
    Thread,
    /// An EAL lcore of its own, waited for with the workers.
    Lcore(u32),
}

/// The HA sync side shared with the control socket.
#[derive(Default)]
pub struct SyncChannel {
    pub subscribers: sync::SyncSubscribers,
    pub counters: Arc<sync::SyncCounters>,
    /// The seqnum knobs the workers started with.
    pub settings: ipc::fastpath::SyncSettings,
    /// Whether the workers take snapshots (`--ha-sync`).
    pub snapshots: bool,
}

/// Starts draining the workers' snapshot rings every `period`; returns the thread, if the
/// drain runs on one.
pub fn start_sync(
    eal: &Eal,
    drain: SyncDrain,
    rings: Vec<SnapshotRing>,
    channel: &SyncChannel,
    period: Duration,
    stop: &Arc<AtomicBool>,
) -> Result<Option<JoinHandle<()>>, SetupError> {
    let (subs, counters, stop) = (
        Arc::clone(&channel.subscribers),
        Arc::clone(&channel.counters),
        Arc::clone(stop),
    );
    let period = period.max(MIN_SYNC_DRAIN);
    let run = move || sync::run(rings, subs, counters, period, stop);
    match drain {
        SyncDrain::Off => Ok(None),
        SyncDrain::Lcore(lcore) => {
            eal.launch(lcore, move || {
                run();
                0
            })?;
            Ok(None)
        }
        SyncDrain::Thread => std::thread::Builder::new()
            .name("sync".into())
            .spawn(run)
            .map(Some)
            .map_err(SetupError::SyncThread),
    }
}

/// Opens the control socket at `path`; returns its threads.
pub fn start_control(
    path: &Path,
    cfg: &Config,
    running: &Running,
    channel: SyncChannel,
    routing: Option<Arc<crate::routing::Routing>>,
    stop: &Arc<AtomicBool>,
) -> Result<Vec<JoinHandle<()>>, SetupError> {
    let port_facts = cfg
        .ports
        .iter()
        .map(|p| ipc::fastpath::PortInfo {
            port: p.port,
            role: p.role,
            exception: p.exception,
            next_hop: p.next_hop,
            link_up: None,
            speed_mbps: None,
        })
        .collect();
    let control = server::Control {
        inboxes: running.inboxes.clone(),
        events: running.events.clone(),
        stats: running.stats.clone(),
        ports: port_facts,
        stop: Arc::clone(stop),
        sync_subscribers: channel.subscribers,
        sync_counters: channel.counters,
        locals: Mutex::new(cfg.locals.clone()),
        sync_settings: Mutex::new(channel.settings),
        snapshots: channel.snapshots,
        routing,
    };
    server::spawn(path, control).map_err(|source| SetupError::Control {
        path: path.to_path_buf(),
        source,
    })
}
