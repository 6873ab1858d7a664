//! `fastpath`: the DPDK fast path process.
//!
//! ```text
//! fastpath --config lab.conf [--idle-sleep-us 50] [--duration 10] -- -l 0,1 --no-huge -m 512 \
//!     --file-prefix fp1 --no-pci --vdev net_pcap0,rx_pcap=plain.pcap,infinite_rx=1 --vdev net_null0
//! ```
//! The main lcore sets up ports and tables, launches one worker per worker lcore, prints live
//! counters, and stops the workers on SIGINT/SIGTERM, at `--duration`, or (with
//! `--until-idle-ms`) when the input is drained.

use clap::Parser;
use dpdk::eal::Eal;
use fastpath::config::Config;
use fastpath::control::convert::sync_policy;
use fastpath::report::{self, ReportOptions, RunEnd};

use fastpath::setup::control::{self, SyncChannel, SyncDrain};
use fastpath::setup::workers::{self, WorkerOptions};
use fastpath::setup::{ports, routing, Lcores, Pools, SetupError};
use fastpath::worker::StopWhen;
use ipc::fastpath::SyncSettings;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "fastpath",
    about = "DPDK IPsec fast path",
    trailing_var_arg = true
)]
struct Args {
    /// The configuration file (ports, SAs, SPs).
    #[arg(long)]
    config: PathBuf,
    /// Workers sleep this many microseconds after a run of empty polls (0: busy-poll).
    #[arg(long, default_value_t = 0)]
    idle_sleep_us: u64,
    /// Stop after this many seconds (0: run until SIGINT/SIGTERM).
    #[arg(long, default_value_t = 0.0)]
    duration: f64,
    /// Stop once no packet has arrived for this many milliseconds (pcap files, tests).
    #[arg(long)]
    until_idle_ms: Option<u64>,
    /// Print counters every this many milliseconds (0: only at the end).
    #[arg(long, default_value_t = 1000)]
    stats_ms: u64,
    /// The control socket (a Unix stream socket) for the slow path and `fastpath-ctl`.
    #[arg(long)]
    control: Option<PathBuf>,
    /// Print counters as JSON lines (for the benchmark harness) instead of text.
    #[arg(long)]
    json: bool,
    /// Take HA seqnum snapshots (for a standby node to take over from this one).
    #[arg(long)]
    ha_sync: bool,
    /// HA seqnum sync: packets an SA moves between snapshots (0 disables). Like the two
    /// below, the value until the slow path sends its `ha` block's (`sync_settings`).
    #[arg(long, default_value_t = 2)]
    sync_period_packets: u64,
    /// HA seqnum sync: milliseconds between snapshots of an SA that moved (0 disables).
    #[arg(long, default_value_t = 10_000)]
    sync_period_ms: u64,
    /// HA seqnum sync: microseconds between passes of the sync thread over the workers' rings.
    #[arg(long, default_value_t = 1000)]
    sync_drain_us: u64,
    /// HA seqnum sync: drain on the last EAL lcore (a sync lcore, not a worker) instead of a
    /// thread of the main lcore. Give EAL one lcore more for it.
    #[arg(long, requires = "ha_sync")]
    sync_lcore: bool,
    /// HA: how far outbound sequence numbers jump at an activation that names no shift
    /// (1 to 2^32).
    #[arg(long, default_value_t = 65536)]
    oseq_shift: u64,
    /// Record each worker's per-burst processing latency (TSC, HDR histogram) and print
    /// p50/p99/p99.9/max at the end.
    #[arg(long)]
    latency: bool,
    /// Mbufs in the pool (sized for `-m 512` without hugepages).
    #[arg(long, default_value_t = 16383)]
    mbufs: u32,
    /// EAL arguments (after `--`).
    eal: Vec<String>,
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in log files.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let args = Args::parse();
    if let Err(e) = run(args) {
        eprintln!("fastpath: {e}");
        std::process::exit(2);
    }
}

/// The process: configuration, EAL, ports, workers, control side, live counters, stop.
fn run(args: Args) -> Result<(), SetupError> {
    let started = std::time::Instant::now();
    let cfg = Config::load(&args.config)?;
    let read_ms = started.elapsed().as_millis() as u64;
    tracing::info!(read_ms, routes = cfg.routes.len(), "configuration read");
    let settings = sync_settings(&args).map_err(SetupError::Args)?;
    let eal = Eal::init(&args.eal)?;
    let lcores = Lcores::assign(&eal, args.sync_lcore)?;
    let pools = Pools::create(&eal, args.mbufs)?;
    let mut ports = ports::open(&eal, &cfg, lcores.workers.len(), &pools.packets)?;
    let stop = stop_on_signals()?;
    let resolver = fastpath::neighbour::spawn_resolver(ports.next_hops, Arc::clone(&stop))?;
    let routing = routing::start(&cfg, &ports.opened, lcores.workers.len(), &stop)?;
    let (route_resolver, routing) = match routing {
        Some(started) => {
            ports.workers.routers = started.routers;
            (Some(started.resolver), Some(started.routing))
        }
        None => (None, None),
    };
    let mut running = workers::launch(
        &eal,
        &cfg,
        &lcores.workers,
        ports.workers,
        &pools,
        &worker_options(&args, &settings),
        &stop,
    )?;

    let channel = SyncChannel {
        settings,
        snapshots: args.ha_sync,
        ..SyncChannel::default()
    };
    let sync_thread = control::start_sync(
        &eal,
        sync_drain(&args, &lcores),
        std::mem::take(&mut running.snapshots),
        &channel,
        Duration::from_micros(args.sync_drain_us),
        &stop,
    )?;
    let metrics_thread = match &cfg.metrics {
        Some(spec) => Some(start_metrics(
            spec,
            started,
            &running,
            &ports.opened,
            &channel,
            &stop,
        )?),
        None => None,
    };
    let control_threads = match &args.control {
        Some(path) => {
            control::start_control(path, &cfg, &running, channel, routing.clone(), &stop)?
        }
        None => Vec::new(),
    };
    tracing::info!(
        workers = lcores.workers.len(),
        sas = cfg.sas.len(),
        sps = cfg.sps.len(),
        "fast path running"
    );

    let options = report_options(&args);
    let end = RunEnd {
        stop: &stop,
        finished: &running.finished,
        workers: lcores.workers.len(),
    };
    let start = report::live(&options, &end, &running.stats, &ports.opened);

    stop.store(true, Ordering::Relaxed);
    eal.wait_all();
    for t in resolver
        .into_iter()
        .chain(route_resolver)
        .chain(control_threads)
        .chain(sync_thread)
        .chain(metrics_thread)
    {
        let _ = t.join();
    }
    report::totals(&options, start, &running.stats, &ports.opened);
    if args.latency {
        report::latency(&options, &running.latency);
    }
    Ok(())
}

/// The Prometheus endpoint's thread, on the main lcore's side.
fn start_metrics(
    spec: &fastpath::config::MetricsSpec,
    started: std::time::Instant,
    running: &workers::Running,
    opened: &[ports::OpenPort],
    channel: &SyncChannel,
    stop: &Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<()>, SetupError> {
    let sources = fastpath::metrics::Sources {
        stats: running.stats.clone(),
        inboxes: running.inboxes.clone(),
        ports: opened
            .iter()
            .map(|p| fastpath::metrics::PortSource {
                id: p.id,
                job: p.job,
                port: p.port.clone(),
            })
            .collect(),
        sync: Arc::clone(&channel.counters),
        snapshots: channel.snapshots,
        per_sa: spec.per_sa,
        started,
    };
    let (addr, thread) =
        fastpath::metrics::spawn(spec, sources, stop).map_err(|source| SetupError::Metrics {
            addr: spec.addr,
            source,
        })?;
    tracing::info!(%addr, per_sa = spec.per_sa, "metrics at http://{addr}/metrics");
    Ok(thread)
}

/// The flag that stops everything, raised by SIGINT and SIGTERM.
fn stop_on_signals() -> Result<Arc<AtomicBool>, SetupError> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).map_err(SetupError::Signals)?;
    }
    Ok(stop)
}

/// The seqnum knobs of the command line, checked as a `sync_settings` request would be.
fn sync_settings(args: &Args) -> Result<SyncSettings, String> {
    let settings = SyncSettings {
        period_packets_inbound: args.sync_period_packets,
        period_packets_outbound: args.sync_period_packets,
        period_time_ms: args.sync_period_ms,
        oseq_shift: args.oseq_shift,
    };
    settings
        .check()
        .map_err(|e| format!("--sync-*/--oseq-shift: {e}"))?;
    Ok(settings)
}

fn worker_options(args: &Args, settings: &SyncSettings) -> WorkerOptions {
    // Without a standby to feed, snapshots would only fill the rings.
    let sync = sync_policy(settings, args.ha_sync);
    WorkerOptions {
        idle_sleep: Duration::from_micros(args.idle_sleep_us),
        stop_when: args.until_idle_ms.map_or(StopWhen::Told, |ms| {
            StopWhen::IdleFor(Duration::from_millis(ms))
        }),
        sync,
        latency: args.latency,
    }
}

/// Where the HA snapshot rings are drained, if snapshots are taken.
fn sync_drain(args: &Args, lcores: &Lcores) -> SyncDrain {
    match (args.ha_sync, lcores.sync) {
        (false, _) => SyncDrain::Off,
        (true, Some(lcore)) => SyncDrain::Lcore(lcore),
        (true, None) => SyncDrain::Thread,
    }
}

fn report_options(args: &Args) -> ReportOptions {
    ReportOptions {
        json: args.json,
        interval: (args.stats_ms > 0).then(|| Duration::from_millis(args.stats_ms)),
        duration: (args.duration > 0.0)
            .then(|| Duration::try_from_secs_f64(args.duration).ok())
            .flatten(),
    }
}
