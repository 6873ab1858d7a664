//! `fastpath`: the DPDK fast path process.
//!
//! ```text
//! fastpath --config lab.conf [--idle-sleep-us 50] [--duration 10] -- -l 0,1 --no-huge -m 512 \
//!     --file-prefix fp1 --no-pci --vdev net_pcap0,rx_pcap=plain.pcap,infinite_rx=1 --vdev net_null0
//! ```
//! The main lcore sets up ports and tables, launches one worker per worker lcore, prints live
//! counters, and stops the workers on SIGINT/SIGTERM, at `--duration`, or (with
//! `--until-idle`) when the input is drained.

use clap::Parser;
use dpdk::eal::Eal;
use dpdk::ethdev::{Port, PortConfig as EthConfig};
use dpdk::mempool::Mempool;
use dpdk::ring::{Ring, RingFlags};
use esp::lcore::Lcore;
use esp::sa::Direction;
use esp::snapshot::SyncPolicy;
use fastpath::config::Config;
use fastpath::stats::{SharedStats, StatsSnapshot};
use fastpath::tables::owner;
use fastpath::tables::Tables;
use fastpath::worker::{Handoff, PortIo, PortJob, StopWhen, Worker};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// HA seqnum sync: packets an SA moves between snapshots (0 disables).
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
    /// HA: how far outbound sequence numbers jump when this node takes over.
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
        .init();
    let args = Args::parse();
    if let Err(e) = run(args) {
        eprintln!("fastpath: {e}");
        std::process::exit(2);
    }
}

type Error = Box<dyn std::error::Error>;

fn run(args: Args) -> Result<(), Error> {
    let cfg = Config::load(&args.config)?;
    let eal = Eal::init(&args.eal)?;
    let mut workers: Vec<u32> = eal.workers().collect();
    let sync_lcore = if args.sync_lcore {
        if workers.len() < 2 {
            return Err(
                "--sync-lcore takes the last EAL lcore: give at least two besides the main one"
                    .into(),
            );
        }
        workers.pop()
    } else {
        None
    };
    if workers.is_empty() {
        return Err(
            "give EAL at least two lcores (-l MAIN,WORKER...): workers run on the others".into(),
        );
    }
    let n = workers.len();
    let pool = Mempool::pktmbuf(&eal, "fastpath_pool", args.mbufs, 256, 2048 + 128, -1)?;
    // Fragments and ICMP errors come from their own pool, reassembled packets from one of
    // large buffers, so that neither can starve the receive queues.
    let frag_pool = Mempool::pktmbuf(&eal, "fastpath_frag", 2047, 64, 2048 + 128, -1)?;
    let big_pool = Mempool::pktmbuf(&eal, "fastpath_big", 255, 16, 9216 + 128, -1)?;

    // Ports: the configured ones, each with one RX and one TX queue per worker.
    let mut ports: Vec<(u16, PortJob, Port)> = Vec::new();
    let port_index =
        |id: u16, job: PortJob, ports: &mut Vec<(u16, PortJob, Port)>| -> Result<usize, Error> {
            if let Some(i) = ports.iter().position(|(p, _, _)| *p == id) {
                return Ok(i);
            }
            let port = Port::configure(
                &eal,
                id,
                &EthConfig {
                    n_rxq: n as u16,
                    n_txq: n as u16,
                    rss: n > 1,
                    ..EthConfig::default()
                },
            )
            .map_err(|e| format!("port {id}: {e}"))?;
            ports.push((id, job, port));
            Ok(ports.len() - 1)
        };
    let mut exception_of = Vec::new();
    for pc in &cfg.ports {
        let i = port_index(pc.port, pc.role.into(), &mut ports)?;
        if let Some(tap) = pc.exception {
            let t = port_index(tap, PortJob::Exception { of: i }, &mut ports)?;
            exception_of.push((i, t));
        }
    }
    let index_of = |job: PortJob| ports.iter().position(|(_, j, _)| *j == job);
    let protected = index_of(PortJob::Protected).ok_or("no protected port")?;
    let unprotected = index_of(PortJob::Unprotected).ok_or("no unprotected port")?;

    let mut queues: Vec<Vec<PortIo>> = (0..n).map(|_| Vec::new()).collect();
    let mut next_hops = Vec::new();
    for (i, (id, job, port)) in ports.iter().enumerate() {
        let pc = cfg.ports.iter().find(|p| p.port == *id);
        let peer_mac = pc.map_or([0xff; 6], |p| p.peer_mac);
        let tx_only = pc.is_some_and(|p| p.tx_only);
        let mtu = match pc.and_then(|p| p.mtu) {
            Some(m) => {
                // Vdevs may not take an MTU; ours applies to what we send either way.
                let _ = port.set_mtu(m);
                m as usize
            }
            None => port.mtu().map_or(1500, usize::from),
        };
        // A port with an exception TAP speaks with the TAP's MAC, so that the kernel's ARP/ND
        // answers and the fast path's frames agree.
        let tap = exception_of.iter().find(|(p, _)| *p == i).map(|(_, t)| *t);
        let mac = match tap {
            Some(t) => ports[t].2.mac()?,
            None => port.mac()?,
        };
        let next_hop_mac = Arc::new(std::sync::atomic::AtomicU64::new(0));
        if let (Some(addr), Some(t)) = (pc.and_then(|p| p.next_hop), tap) {
            let tap_mac = ports[t].2.mac()?;
            let ifname = fastpath::neighbour::ifname_by_mac(tap_mac).ok_or_else(|| {
                format!("port {id}: no kernel interface has the exception TAP's MAC")
            })?;
            next_hops.push(fastpath::neighbour::NextHop {
                ifname,
                addr,
                mac: Arc::clone(&next_hop_mac),
            });
        } else if pc.and_then(|p| p.next_hop).is_some() {
            return Err(format!(
                "port {id}: next-hop needs an exception port (the kernel resolves it)"
            )
            .into());
        }
        for (w, q) in queues.iter_mut().enumerate() {
            q.push(PortIo {
                port: *id,
                job: *job,
                rx: port.rx_queue_setup(w as u16, 1024, &pool)?,
                tx: port.tx_queue_setup(w as u16, 1024)?,
                mac,
                own_mac: mac,
                peer_mac,
                exception: tap,
                tx_only,
                mtu,
                next_hop_mac: Arc::clone(&next_hop_mac),
            });
        }
    }
    for (_, _, port) in &ports {
        port.start()?;
        let _ = port.set_promiscuous(true);
    }

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    // Without a standby to feed, snapshots would only fill the rings.
    let sync = SyncPolicy {
        period_packets: if args.ha_sync {
            args.sync_period_packets
        } else {
            0
        },
        period_ns: if args.ha_sync {
            args.sync_period_ms * 1_000_000
        } else {
            0
        },
        oseq_shift: args.oseq_shift,
    };
    let stop_when = args.until_idle_ms.map_or(StopWhen::Told, |ms| {
        StopWhen::IdleFor(Duration::from_millis(ms))
    });
    let resolver = fastpath::neighbour::spawn_resolver(next_hops, Arc::clone(&stop));
    let locals: Arc<[std::net::IpAddr]> = cfg.locals.clone().into();
    let mut handoffs = handoff_rings(&eal, &cfg, n)?;
    let latency_sink: fastpath::latency::Sink = Default::default();
    let finished = Arc::new(AtomicUsize::new(0));
    let (mut inboxes, mut event_queues, mut snapshot_rings) = (Vec::new(), Vec::new(), Vec::new());
    let mut shared = Vec::new();
    let now_ns = dpdk::timer::cycles_to_ns(dpdk::timer::tsc(), dpdk::timer::tsc_hz());
    for (w, (lcore, q)) in workers.iter().zip(queues).enumerate() {
        let stats = Arc::new(SharedStats::default());
        shared.push(Arc::clone(&stats));
        let worker = Worker {
            index: w,
            ports: q,
            protected,
            unprotected,
            tables: Tables::build(&cfg, w, n, now_ns)?,
            esp: Lcore::new(sync, 4096, 65536),
            counters: Default::default(),
            shared: stats,
            stop: Arc::clone(&stop),
            idle_sleep: Duration::from_micros(args.idle_sleep_us),
            stop_when,
            handoff: handoffs.as_mut().map(|h| h.remove(0)),
            latency: if args.latency {
                Some(fastpath::latency::Recorder::new(w, &latency_sink)?)
            } else {
                None
            },
            locals: Arc::clone(&locals),
            inbox: Arc::new(crossbeam_queue::ArrayQueue::new(64)),
            mtu: fastpath::mtu::MtuPath::new(
                frag_pool.clone(),
                big_pool.clone(),
                esp::reassembly::Reassembler::new(esp::reassembly::Config::default()),
                w,
            ),
        };
        inboxes.push(Arc::clone(&worker.inbox));
        event_queues.push(Arc::clone(&worker.esp.events));
        snapshot_rings.push(Arc::clone(&worker.esp.snapshots));
        let finished = Arc::clone(&finished);
        eal.launch(*lcore, move || {
            let rc = worker.run();
            finished.fetch_add(1, Ordering::Release);
            rc
        })?;
    }
    let sync_subscribers: fastpath::control::sync::SyncSubscribers = Arc::default();
    let sync_counters = Arc::new(fastpath::control::sync::SyncCounters::default());
    let sync_thread = if args.ha_sync {
        let (subs, counters, stop) = (
            Arc::clone(&sync_subscribers),
            Arc::clone(&sync_counters),
            Arc::clone(&stop),
        );
        let period = Duration::from_micros(args.sync_drain_us.max(100));
        let drain =
            move || fastpath::control::sync::run(snapshot_rings, subs, counters, period, stop);
        match sync_lcore {
            // The sync lcore: an EAL lcore of its own, waited for with the workers.
            Some(lcore) => {
                eal.launch(lcore, move || {
                    drain();
                    0
                })?;
                None
            }
            None => Some(
                std::thread::Builder::new()
                    .name("sync".into())
                    .spawn(drain)?,
            ),
        }
    } else {
        None
    };
    let control_threads = match &args.control {
        Some(path) => {
            let port_facts = cfg
                .ports
                .iter()
                .map(|p| serde_json::json!({"port": p.port, "role": format!("{:?}", p.role), "exception": p.exception, "next_hop": p.next_hop}))
                .collect();
            let control = fastpath::control::server::Control {
                inboxes,
                events: event_queues,
                stats: shared.clone(),
                ports: port_facts,
                stop: Arc::clone(&stop),
                sync_subscribers,
                sync_counters,
                locals: std::sync::Mutex::new(cfg.locals.clone()),
            };
            fastpath::control::server::spawn(path, control)
                .map_err(|e| format!("control socket {}: {e}", path.display()))?
        }
        None => Vec::new(),
    };
    tracing::info!(
        workers = n,
        sas = cfg.sas.len(),
        sps = cfg.sps.len(),
        "fast path running"
    );

    // The main lcore: live counters until told to stop or the workers finish.
    let start = Instant::now();
    let mut last = (Instant::now(), StatsSnapshot::default());
    let interval = Duration::from_millis(if args.stats_ms == 0 {
        100
    } else {
        args.stats_ms
    });
    loop {
        std::thread::sleep(interval.min(Duration::from_millis(100)));
        let done = stop.load(Ordering::Relaxed)
            || (args.duration > 0.0 && start.elapsed().as_secs_f64() >= args.duration)
            || finished.load(Ordering::Acquire) == n;
        if args.stats_ms > 0 && last.0.elapsed() >= interval {
            let now = sum(&shared);
            print_stats(&args, start, &last, &now, &ports);
            last = (Instant::now(), now);
        }
        if done {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    eal.wait_all();
    if let Some(r) = resolver {
        let _ = r.join();
    }
    for t in control_threads.into_iter().chain(sync_thread) {
        let _ = t.join();
    }
    let total = sum(&shared);
    print_final(&args, start, &total, &ports);
    if args.json {
        // Each worker's share: how RSS (or the kernel's fanout) spread the flows.
        let workers: Vec<serde_json::Value> = shared
            .iter()
            .enumerate()
            .map(|(w, s)| {
                let s = s.read();
                serde_json::json!({"worker": w, "rx_packets": s.port.rx_packets,
                    "handed_off": s.port.handed_off, "encrypted": s.esp.encrypted,
                    "decrypted": s.esp.decrypted, "drops": s.drops()})
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"kind": "workers", "workers": workers})
        );
    }
    if args.latency {
        print_latency(&args, &latency_sink);
    }
    Ok(())
}

/// With several workers: one ring per worker and direction (many producers, one consumer)
/// that carries packets to the owner of their SA.
fn handoff_rings(eal: &Eal, cfg: &Config, n: usize) -> Result<Option<Vec<Handoff>>, Error> {
    if n < 2 {
        return Ok(None);
    }
    let flags = RingFlags {
        single_producer: false,
        single_consumer: true,
    };
    let mut rings = Vec::new();
    for v in 0..n {
        let out = Ring::create(eal, &format!("handoff_out_{v}"), 4096, flags, -1)?;
        let inb = Ring::create(eal, &format!("handoff_in_{v}"), 4096, flags, -1)?;
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

/// `--latency`: one line per worker (JSON with `--json`).
fn print_latency(args: &Args, sink: &fastpath::latency::Sink) {
    let hz = dpdk::timer::tsc_hz();
    let mut hists = sink.lock().map(|v| v.clone()).unwrap_or_default();
    hists.sort_by_key(|(w, _)| *w);
    for (w, h) in &hists {
        let (n, p50, p99, p999, max, mean) = fastpath::latency::summary_ns(h, hz);
        if args.json {
            let line = serde_json::json!({
                "kind": "latency", "worker": w, "bursts": n, "mean_ns": mean.round(),
                "p50_ns": p50, "p99_ns": p99, "p99_9_ns": p999, "max_ns": max,
            });
            println!("{line}");
        } else {
            println!(
                "latency worker {w}: {n} bursts, per burst (rx to tx) p50 {:.2} us p99 {:.2} us p99.9 {:.2} us max {:.2} us (mean {:.2} us)",
                p50 as f64 / 1e3, p99 as f64 / 1e3, p999 as f64 / 1e3, max as f64 / 1e3, mean / 1e3
            );
        }
    }
}

fn sum(shared: &[Arc<SharedStats>]) -> StatsSnapshot {
    let mut t = StatsSnapshot::default();
    for s in shared {
        t.add(&s.read());
    }
    t
}

fn print_stats(
    args: &Args,
    start: Instant,
    last: &(Instant, StatsSnapshot),
    now: &StatsSnapshot,
    ports: &[(u16, PortJob, Port)],
) {
    let dt = last.0.elapsed().as_secs_f64().max(1e-9);
    let rate = |a: u64, b: u64| (a - b) as f64 / dt;
    let (p, l) = (&now.port, &last.1.port);
    if args.json {
        print_json(start, now, ports, "interval");
        return;
    }
    println!(
        "[{:7.1}s] rx {:6.3} Mpps {:6.2} Gbit/s | tx {:6.3} Mpps {:6.2} Gbit/s | encrypted {:6.3} Mpps decrypted {:6.3} Mpps | drops {} | exception {}",
        start.elapsed().as_secs_f64(),
        rate(p.rx_packets, l.rx_packets) / 1e6,
        rate(p.rx_bytes, l.rx_bytes) * 8.0 / 1e9,
        rate(p.tx_packets, l.tx_packets) / 1e6,
        rate(p.tx_bytes, l.tx_bytes) * 8.0 / 1e9,
        rate(now.esp.encrypted, last.1.esp.encrypted) / 1e6,
        rate(now.esp.decrypted, last.1.esp.decrypted) / 1e6,
        now.drops() - last.1.drops(),
        p.exception - l.exception,
    );
}

fn print_json(start: Instant, s: &StatsSnapshot, ports: &[(u16, PortJob, Port)], kind: &str) {
    let drops: serde_json::Map<String, serde_json::Value> = esp::counters::DropReason::ALL
        .iter()
        .map(|r| (r.name().to_string(), s.esp.drops_of(*r).into()))
        .collect();
    let port_stats: Vec<serde_json::Value> = ports
        .iter()
        .filter_map(|(id, _, p)| p.stats().ok().map(|st| serde_json::json!({"port": id, "ipackets": st.ipackets, "opackets": st.opackets, "ibytes": st.ibytes, "obytes": st.obytes, "imissed": st.imissed, "rx_nombuf": st.rx_nombuf})))
        .collect();
    let line = serde_json::json!({
        "kind": kind,
        "t": start.elapsed().as_secs_f64(),
        "rx_packets": s.port.rx_packets, "rx_bytes": s.port.rx_bytes,
        "tx_packets": s.port.tx_packets, "tx_bytes": s.port.tx_bytes, "tx_full": s.port.tx_full,
        "encrypted": s.esp.encrypted, "decrypted": s.esp.decrypted, "dummy": s.esp.dummy,
        "exception": s.port.exception, "exception_dropped": s.port.exception_dropped, "bypassed": s.port.bypassed, "handed_off": s.port.handed_off,
        "to_node": s.port.to_node, "from_node": s.port.from_node,
        "mtu": {"fragmented": s.port.mtu.fragmented, "fragments_out": s.port.mtu.fragments_out, "icmp_too_big": s.port.mtu.icmp_too_big,
                "fragments_in": s.port.mtu.fragments_in, "reassembled": s.port.mtu.reassembled, "dropped": s.port.mtu.dropped},
        "drops": drops, "ports": port_stats,
    });
    println!("{line}");
}

fn print_final(args: &Args, start: Instant, s: &StatsSnapshot, ports: &[(u16, PortJob, Port)]) {
    if args.json {
        print_json(start, s, ports, "final");
        return;
    }
    println!(
        "total: rx {} tx {} encrypted {} decrypted {} dummy {} exception {} (no exception port: {}) bypassed {} tx-full {} to-node {} from-node {}",
        s.port.rx_packets, s.port.tx_packets, s.esp.encrypted, s.esp.decrypted, s.esp.dummy, s.port.exception, s.port.exception_dropped, s.port.bypassed, s.port.tx_full, s.port.to_node, s.port.from_node
    );
    let drops: Vec<String> = esp::counters::DropReason::ALL
        .iter()
        .filter(|r| s.esp.drops_of(**r) > 0)
        .map(|r| format!("{}={}", r.name(), s.esp.drops_of(*r)))
        .collect();
    println!(
        "drops: {}",
        if drops.is_empty() {
            "none".to_string()
        } else {
            drops.join(" ")
        }
    );
}
