//! The main lcore's report: live counters while the workers run (text, or JSON lines for the
//! benchmark harness), the totals and each worker's share at the end, and `--latency`.

use crate::latency;
use crate::setup::ports::OpenPort;
use crate::stats::{SharedStats, StatsSnapshot};
use esp::counters::DropReason;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest the main lcore sleeps before it looks at the stop conditions again.
const CHECK_EVERY: Duration = Duration::from_millis(100);

/// What the report prints and when the run ends.
pub struct ReportOptions {
    /// JSON lines instead of text.
    pub json: bool,
    /// Between two live lines (None: only at the end).
    pub interval: Option<Duration>,
    /// Stop after this long (None: when told or when the workers finish).
    pub duration: Option<Duration>,
}

/// Why the live report ends.
pub struct RunEnd<'a> {
    pub stop: &'a AtomicBool,
    /// Workers that returned, out of `workers`.
    pub finished: &'a AtomicUsize,
    pub workers: usize,
}

/// Prints live counters until stopped, the duration is over or every worker has returned;
/// returns when the run started.
pub fn live(
    options: &ReportOptions,
    end: &RunEnd<'_>,
    stats: &[Arc<SharedStats>],
    ports: &[OpenPort],
) -> Instant {
    let start = Instant::now();
    let mut last = (Instant::now(), StatsSnapshot::default());
    let interval = options.interval.unwrap_or(CHECK_EVERY);
    loop {
        std::thread::sleep(interval.min(CHECK_EVERY));
        let done = end.stop.load(Ordering::Relaxed)
            || options.duration.is_some_and(|d| start.elapsed() >= d)
            || end.finished.load(Ordering::Acquire) == end.workers;
        if options.interval.is_some() && last.0.elapsed() >= interval {
            let now = sum(stats);
            print_interval(options, start, &last, &now, ports);
            last = (Instant::now(), now);
        }
        if done {
            return start;
        }
    }
}

/// The totals, and with JSON each worker's share.
pub fn totals(
    options: &ReportOptions,
    start: Instant,
    stats: &[Arc<SharedStats>],
    ports: &[OpenPort],
) {
    let total = sum(stats);
    print_final(options, start, &total, ports);
    if options.json {
        // Each worker's share: how RSS (or the kernel's fanout) spread the flows.
        let workers: Vec<serde_json::Value> = stats
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
}

/// `--latency`: one line per worker (JSON with `--json`).
pub fn latency(options: &ReportOptions, sink: &latency::Sink) {
    let hz = dpdk::timer::tsc_hz();
    let mut hists = sink.lock().map(|v| v.clone()).unwrap_or_default();
    hists.sort_by_key(|(w, _)| *w);
    for (w, h) in &hists {
        let (n, p50, p99, p999, max, mean) = latency::summary_ns(h, hz);
        if options.json {
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

fn print_interval(
    options: &ReportOptions,
    start: Instant,
    last: &(Instant, StatsSnapshot),
    now: &StatsSnapshot,
    ports: &[OpenPort],
) {
    if options.json {
        print_json(start, now, ports, "interval");
        return;
    }
    let dt = last.0.elapsed().as_secs_f64().max(1e-9);
    let rate = |a: u64, b: u64| (a - b) as f64 / dt;
    let (p, l) = (&now.port, &last.1.port);
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

fn print_json(start: Instant, s: &StatsSnapshot, ports: &[OpenPort], kind: &str) {
    let drops: serde_json::Map<String, serde_json::Value> = DropReason::ALL
        .iter()
        .map(|r| (r.name().to_string(), s.esp.drops_of(*r).into()))
        .collect();
    let port_stats: Vec<serde_json::Value> = ports
        .iter()
        .filter_map(|p| p.port.stats().ok().map(|st| serde_json::json!({"port": p.id, "ipackets": st.ipackets, "opackets": st.opackets, "ibytes": st.ibytes, "obytes": st.obytes, "imissed": st.imissed, "rx_nombuf": st.rx_nombuf})))
        .collect();
    let line = serde_json::json!({
        "kind": kind,
        "t": start.elapsed().as_secs_f64(),
        "rx_packets": s.port.rx_packets, "rx_bytes": s.port.rx_bytes,
        "tx_packets": s.port.tx_packets, "tx_bytes": s.port.tx_bytes, "tx_full": s.port.tx_full,
        "encrypted": s.esp.encrypted, "decrypted": s.esp.decrypted, "dummy": s.esp.dummy,
        "exception": s.port.exception, "exception_dropped": s.port.exception_dropped, "bypassed": s.port.bypassed, "handed_off": s.port.handed_off,
        "to_node": s.port.to_node, "from_node": s.port.from_node,
        "no_route": s.port.no_route, "neighbour_unresolved": s.port.neighbour_unresolved,
        "routing": s.port.routing_named().into_iter().collect::<std::collections::BTreeMap<_, _>>(),
        "mtu": s.port.mtu.named().into_iter().collect::<std::collections::BTreeMap<_, _>>(),
        "drops": drops, "ports": port_stats,
    });
    println!("{line}");
}

fn print_final(options: &ReportOptions, start: Instant, s: &StatsSnapshot, ports: &[OpenPort]) {
    if options.json {
        print_json(start, s, ports, "final");
        return;
    }
    println!(
        "total: rx {} tx {} encrypted {} decrypted {} dummy {} exception {} (no exception port: {}) bypassed {} tx-full {} to-node {} from-node {} no-route {} neighbour-unresolved {}",
        s.port.rx_packets, s.port.tx_packets, s.esp.encrypted, s.esp.decrypted, s.esp.dummy, s.port.exception, s.port.exception_dropped, s.port.bypassed, s.port.tx_full, s.port.to_node, s.port.from_node, s.port.no_route, s.port.neighbour_unresolved
    );
    let drops: Vec<String> = DropReason::ALL
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
    let routing: Vec<String> = s
        .port
        .routing_named()
        .iter()
        .map(|(k, v)| format!("{} {v}", k.replace('_', "-")))
        .collect();
    println!("routing: {}", routing.join(" "));
    let m = &s.port.mtu;
    println!(
        "mtu: fragmented {} (fragments out {}) icmp-too-big {} fragments in {} reassembled {} dropped {} to-kernel-fragmented {} | reassembly: timed out {} evicted {} refused {}",
        m.fragmented, m.fragments_out, m.icmp_too_big, m.fragments_in, m.reassembled, m.dropped, m.to_kernel_fragmented, m.reassembly_timed_out, m.reassembly_evicted, m.reassembly_refused
    );
}
