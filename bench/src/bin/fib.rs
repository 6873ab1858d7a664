//! FIB lookup rate on one core, build time and memory: `fib::Fib` with 1,000,000 IPv4 routes
//! (uniform random lengths /16 to /32, and a BGP-like mix) and 100,000 IPv6 routes, single
//! lookups and bursts of 32, plus the cost of one route change with the table loaded. IPv4
//! runs once more with the tables on 4 KiB pages, to show what the transparent huge pages
//! bring, and on DPDK's `rte_fib` (DIR-24-8, 4-byte entries; `rte_fib_lookup_bulk` of one
//! address, and of bursts of 32), whose memory under `--no-huge` is on 4 KiB pages; and our
//! bursts once more as plain next-hop ids (`lookup_v4_burst_ids`, as the workers look up); every
//! probe's answer is checked against `rte_fib`'s. IPv6 likewise against DPDK's `rte_fib6` (a
//! trie of a 24-bit then 8-bit levels, 4-byte entries): build time, single and bulk lookups,
//! and every probe's answer compared. The few random prefixes that end at
//! 255.255.255.255 are left out: `rte_fib` 22.11 gets them wrong (see `ipv4`). `rte_lpm` is not measured: its add scans
//! every rule of the same length, so 1 M routes do not load in a bench's time. The cases run
//! interleaved, `ROUNDS` times, and the median is shown.
//!
//! Run: `cargo run --release -p bench --bin fib [-- SECONDS_PER_CASE [ipv4|ipv6]]` (default
//! 1 s, both families).
//!
//! The BGP-like mixes are made up to follow the rough shape of public table statistics (IPv4:
//! /24 more than half, then /22, /23, /21, /20, few shorter than /16 or longer than /24; IPv6:
//! /48 about half, /32 and /40-/44 most of the rest, longer ones clustered inside /32
//! allocations under 2000::/3). They are not a real table. Addresses: half under a random
//! route (random host bits), half uniform; 1,000,000 of them, so the tables do not sit in cache.

#![forbid(unsafe_code)]

use bench::rng::Rng;
use dpdk::{Eal, RteFib, RteFib6};
use fib::{Fib, FibConfig, FibReader, NextHop, NextHopKind, NhId, Prefix};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

const BURST: usize = 32;
const PROBES: usize = 1_000_000;
const ROUNDS: usize = 3;

/// Picks from `(weight, value)` pairs.
fn weighted(rng: &mut Rng, table: &[(u32, u8)]) -> u8 {
    let total: u32 = table.iter().map(|w| w.0).sum();
    let mut r = (rng.next_u64() % u64::from(total)) as u32;
    for &(w, v) in table {
        if r < w {
            return v;
        }
        r -= w;
    }
    table[table.len() - 1].1
}

/// IPv4 prefix lengths, per mille, BGP-like.
const BGP4: &[(u32, u8)] = &[
    (2, 8),
    (3, 12),
    (10, 14),
    (12, 15),
    (25, 16),
    (15, 17),
    (30, 18),
    (35, 19),
    (45, 20),
    (55, 21),
    (110, 22),
    (100, 23),
    (540, 24),
    (5, 25),
    (4, 26),
    (3, 27),
    (3, 28),
    (2, 29),
    (1, 30),
    (1, 31),
    (3, 32),
];

/// IPv6 prefix lengths, per mille, BGP-like (/32 handled as the allocations themselves).
const BGP6: &[(u32, u8)] = &[
    (20, 29),
    (150, 32),
    (40, 36),
    (60, 40),
    (30, 42),
    (90, 44),
    (20, 46),
    (500, 48),
    (30, 56),
    (60, 64),
];

fn v4_routes(rng: &mut Rng, n: usize, bgp: bool) -> Vec<(Prefix, u32)> {
    (0..n)
        .map(|_| {
            let len = if bgp {
                weighted(rng, BGP4)
            } else {
                16 + (rng.next_u64() % 17) as u8
            };
            let a = IpAddr::V4(Ipv4Addr::from(rng.next_u64() as u32));
            (Prefix::new(a, len).unwrap(), (rng.next_u64() % 64) as u32)
        })
        .collect()
}

fn v6_routes(rng: &mut Rng, n: usize) -> Vec<(Prefix, u32)> {
    // Allocations: /32s under 2000::/3; every longer prefix lies inside one of them.
    let allocs: Vec<u128> = (0..n / 5)
        .map(|_| (0x2000_0000 | (rng.next_u64() as u128 & 0x1fff_ffff)) << 96)
        .collect();
    (0..n)
        .map(|_| {
            let len = weighted(rng, BGP6);
            let base = allocs[(rng.next_u64() % allocs.len() as u64) as usize];
            let host = u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64());
            let a = base | (host >> 32);
            let p = Prefix::new(IpAddr::V6(Ipv6Addr::from(a)), len).unwrap();
            (p, (rng.next_u64() % 64) as u32)
        })
        .collect()
}

fn next_hop(i: u32) -> NextHop {
    NextHop::gateway(
        (i % 4) as u16,
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, i as u8)),
    )
}

/// Half the probes under a random route, half uniform.
fn probes(rng: &mut Rng, routes: &[(Prefix, u32)], bits: u32) -> Vec<u128> {
    (0..PROBES)
        .map(|i| {
            let r = u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64());
            let r = r >> (128 - bits);
            if i % 2 == 1 {
                return r;
            }
            let (p, _) = routes[(rng.next_u64() % routes.len() as u64) as usize];
            let (base, len) = match p.addr() {
                IpAddr::V4(a) => (u128::from(u32::from(a)), u32::from(p.length())),
                IpAddr::V6(a) => (u128::from(a), u32::from(p.length())),
            };
            let host = if len == bits {
                0
            } else {
                r & (u128::MAX >> (128 - (bits - len)))
            };
            base | host
        })
        .collect()
}

fn load(fib: &mut Fib, routes: &[(Prefix, u32)]) -> Duration {
    let start = Instant::now();
    for &(p, nh) in routes {
        fib.add(p, next_hop(nh)).expect("room for the routes");
    }
    start.elapsed()
}

/// Lookups per second of `pass` (one pass over `probes` addresses) run for about `secs`.
fn rate(secs: f64, probes: usize, mut pass: impl FnMut() -> u64) -> f64 {
    let (start, mut done, mut sum) = (Instant::now(), 0u64, 0u64);
    while start.elapsed().as_secs_f64() < secs {
        sum = sum.wrapping_add(pass());
        done += probes as u64;
    }
    black_box(sum);
    done as f64 / start.elapsed().as_secs_f64()
}

fn id_sum(ids: &[Option<NhId>]) -> u64 {
    ids.iter()
        .map(|id| id.map_or(0, |i| u64::from(i.0) + 1))
        .sum()
}

/// Our lookups over `probes`, one address at a time or in bursts (quiescent after each
/// burst, as a worker is), for `secs`.
fn ours<A: Copy>(
    reader: &FibReader,
    probes: &[A],
    secs: f64,
    burst: bool,
    one: impl Fn(A) -> Option<NhId>,
    many: impl Fn(&[A], &mut [Option<NhId>]),
) -> f64 {
    let mut out = [None; BURST];
    rate(secs, probes.len(), || {
        if !burst {
            return probes
                .iter()
                .map(|&a| one(black_box(a)).map_or(0, |i| u64::from(i.0)))
                .sum();
        }
        let mut s = 0;
        for chunk in probes.chunks(BURST) {
            many(black_box(chunk), &mut out);
            s += id_sum(&out[..chunk.len()]);
            reader.quiescent();
        }
        s
    })
}

/// Our IPv4 bursts as plain next-hop ids (`lookup_v4_burst_ids`, what a worker uses), quiescent
/// after each burst.
fn ours_ids(reader: &FibReader, probes: &[u32], secs: f64) -> f64 {
    let mut out = [0u32; BURST];
    rate(secs, probes.len(), || {
        let mut s = 0u64;
        for chunk in probes.chunks(BURST) {
            reader.lookup_v4_burst_ids(black_box(chunk), &mut out);
            s = s.wrapping_add(out[..chunk.len()].iter().map(|&i| u64::from(i)).sum());
            reader.quiescent();
        }
        s
    })
}

/// One measurement: a lookup rate.
type Case<'a> = Box<dyn FnMut() -> f64 + 'a>;

/// Our single and burst lookups over `probes` as two cases.
fn cases<'a, A: Copy>(
    r: &'a FibReader,
    probes: &'a [A],
    secs: f64,
    one: impl Fn(A) -> Option<NhId> + Copy + 'a,
    many: impl Fn(&[A], &mut [Option<NhId>]) + Copy + 'a,
) -> [Case<'a>; 2] {
    [false, true]
        .map(|burst| -> Case<'a> { Box::new(move || ours(r, probes, secs, burst, one, many)) })
}

/// DPDK's lookups (`lookup_bulk`: `rte_fib_lookup_bulk` or `rte_fib6_lookup_bulk`) over
/// `probes`, one address per call or a burst per call, for `secs`.
fn theirs<A>(probes: &[A], secs: f64, burst: bool, lookup_bulk: impl Fn(&[A], &mut [u64])) -> f64 {
    let mut out = [0u64; BURST];
    let per_call = if burst { BURST } else { 1 };
    rate(secs, probes.len(), || {
        let mut s = 0u64;
        for chunk in probes.chunks(per_call) {
            lookup_bulk(black_box(chunk), &mut out);
            s = s.wrapping_add(out[..chunk.len()].iter().sum::<u64>());
        }
        s
    })
}

/// Runs every case `ROUNDS` times in turn; the median rate of each.
fn interleaved(cases: &mut [Case<'_>]) -> Vec<f64> {
    let mut samples = vec![Vec::new(); cases.len()];
    for _ in 0..ROUNDS {
        for (i, run) in cases.iter_mut().enumerate() {
            samples[i].push(run());
        }
    }
    samples
        .into_iter()
        .map(|mut v| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        })
        .collect()
}

/// Mean time of one add and one delete of a fresh prefix of length `len` in a loaded table.
fn change_cost(fib: &mut Fib, rng: &mut Rng, len: u8) -> (Duration, Duration) {
    let n = 200;
    let prefixes: Vec<Prefix> = (0..n)
        .map(|_| Prefix::new(IpAddr::V4(Ipv4Addr::from(rng.next_u64() as u32)), len).unwrap())
        .filter(|p| fib.get(p).is_none())
        .collect();
    let start = Instant::now();
    for p in &prefixes {
        fib.add(*p, next_hop(99)).unwrap();
    }
    let add = start.elapsed() / prefixes.len() as u32;
    let start = Instant::now();
    for p in &prefixes {
        fib.delete(*p).unwrap();
    }
    (add, start.elapsed() / prefixes.len() as u32)
}

fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

fn header() {
    println!(
        "{:<42} {:>8} {:>8} {:>7} {:>9} {:>10} {:>10}",
        "case", "routes", "build s", "groups", "table MiB", "single M/s", "burst M/s"
    );
}

/// One line of the table: routes, build time, groups, memory, lookup rates (M/s).
fn report(name: &str, fib: &Fib, build: Duration, groups: u32, single: f64, burst: f64) {
    let (v4, v6) = fib.len();
    println!(
        "{name:<42} {:>8} {:>8.2} {groups:>7} {:>9} {:>10.1} {:>10.1}",
        v4 + v6,
        build.as_secs_f64(),
        fib.memory().table_bytes >> 20,
        single / 1e6,
        burst / 1e6
    );
}

/// The route value (`v4_routes`) a next hop was made from.
fn route_value(nh: NextHop) -> u32 {
    match nh.kind {
        NextHopKind::Gateway(IpAddr::V4(a)) => u32::from(a.octets()[3]),
        _ => u32::MAX,
    }
}

/// No route, as `rte_fib` answers it (within its 31-bit next hops).
const NO_ROUTE: u64 = 1 << 30;

/// How many probes DPDK answers (`hops`) otherwise than we do (`ours`: the route value).
fn disagreements(ours: impl Iterator<Item = Option<u32>>, hops: &[u64]) -> usize {
    ours.zip(hops)
        .filter(|&(o, &h)| o != (h != NO_ROUTE).then_some(h as u32))
        .count()
}

/// Our answer for one probe, as a route value.
fn our_value(reader: &FibReader, id: Option<NhId>) -> Option<u32> {
    id.and_then(|id| reader.next_hop(id)).map(route_value)
}

/// `rte_fib` with `routes`, and how many of `probes` it answers otherwise than `fib`.
fn rte_fib(
    eal: &Eal,
    fib: &Fib,
    routes: &[(Prefix, u32)],
    probes: &[u32],
) -> (RteFib, Duration, usize) {
    // The tree behind it needs nodes for routes and for their branch points.
    let max_routes = (2 * routes.len()) as u32;
    let tbl8s = 2 * fib.memory().v4_groups + 256;
    let mut table = RteFib::create(eal, "fib_bench", max_routes, tbl8s, NO_ROUTE)
        .expect("rte_fib_create (raise -m?)");
    let start = Instant::now();
    for &(p, nh) in routes {
        let IpAddr::V4(a) = p.addr() else { continue };
        table
            .add(u32::from(a), p.length(), u64::from(nh))
            .expect("rte_fib_add");
    }
    let build = start.elapsed();
    let reader = fib.reader();
    let mut hops = vec![0u64; probes.len()];
    table.lookup_bulk(probes, &mut hops);
    let ours = probes
        .iter()
        .map(|&a| our_value(&reader, reader.lookup_v4(a)));
    (table, build, disagreements(ours, &hops))
}

/// `rte_fib6` with `routes`, and how many of `probes` it answers otherwise than `fib`.
fn rte_fib6(
    eal: &Eal,
    fib: &Fib,
    routes: &[(Prefix, u32)],
    probes: &[u128],
) -> Result<(RteFib6, Duration, usize), dpdk::Error> {
    // Its first level covers 24 bits to our 16, so it should need fewer groups than we do.
    let max_routes = (2 * routes.len()) as u32;
    let tbl8s = 2 * fib.memory().v6_groups + 1024;
    let mut table = RteFib6::create(eal, "fib6_bench", max_routes, tbl8s, NO_ROUTE)?;
    let start = Instant::now();
    for &(p, nh) in routes {
        let IpAddr::V6(a) = p.addr() else { continue };
        table.add(&a.octets(), p.length(), u64::from(nh))?;
    }
    let build = start.elapsed();
    let reader = fib.reader();
    let bytes: Vec<[u8; 16]> = probes.iter().map(|a| a.to_be_bytes()).collect();
    let mut hops = vec![0u64; probes.len()];
    table.lookup_bulk(&bytes, &mut hops);
    let ours = probes
        .iter()
        .map(|&a| our_value(&reader, reader.lookup_v6(a)));
    Ok((table, build, disagreements(ours, &hops)))
}

/// DPDK's line of the table, and how many probes it answered otherwise than we did.
fn report_dpdk(
    name: &str,
    routes: usize,
    build: Duration,
    rates: &[f64],
    differ: usize,
    probes: usize,
) {
    println!(
        "{:<42} {:>8} {:>8.2} {:>7} {:>9} {:>10.1} {:>10.1}",
        name,
        routes,
        build.as_secs_f64(),
        "",
        "",
        rates[0] / 1e6,
        rates[1] / 1e6,
    );
    println!("  probes {name} answers otherwise than ours: {differ} of {probes}");
}

fn ipv4(name: &str, bgp: bool, rng: &mut Rng, eal: Option<&Eal>, secs: f64) {
    let mut routes = v4_routes(rng, 1_000_000, bgp);
    // rte_fib 22.11 rewrites most of its table when given a prefix that ends at
    // 255.255.255.255 (255.255.192.0/18 did); those few are left out of every table.
    let top = IpAddr::V4(Ipv4Addr::BROADCAST);
    routes.retain(|(p, _)| Prefix::new(top, p.length()).ok() != Some(*p));
    let probes: Vec<u32> = probes(rng, &routes, 32)
        .into_iter()
        .map(|a| a as u32)
        .collect();
    let mut tables = Vec::new();
    for huge_pages in [true, false] {
        let mut fib = Fib::new(FibConfig {
            huge_pages,
            ..FibConfig::default()
        });
        let build = load(&mut fib, &routes);
        tables.push((fib, build));
    }
    let dpdk = eal.map(|eal| rte_fib(eal, &tables[0].0, &routes, &probes));
    let readers: Vec<FibReader> = tables.iter().map(|(f, _)| f.reader()).collect();
    let probes = &probes;
    let mut runs: Vec<Case> = Vec::new();
    for r in &readers {
        runs.extend(cases(
            r,
            probes,
            secs,
            |a| r.lookup_v4(a),
            |a, o| r.lookup_v4_burst(a, o),
        ));
    }
    if let Some((table, _, _)) = &dpdk {
        for burst in [false, true] {
            runs.push(Box::new(move || {
                theirs(probes, secs, burst, |a, o| table.lookup_bulk(a, o))
            }));
        }
    }
    let ids_case = runs.len();
    let huge = &readers[0];
    runs.push(Box::new(move || ours_ids(huge, probes, secs)));
    let m = interleaved(&mut runs);
    for (i, (fib, build)) in tables.iter().enumerate() {
        let pages = if i == 0 { "huge pages" } else { "4 KiB pages" };
        let groups = fib.memory().v4_groups;
        report(
            &format!("{name}, ours, {pages}"),
            fib,
            *build,
            groups,
            m[2 * i],
            m[2 * i + 1],
        );
    }
    if let Some((_, build, differ)) = &dpdk {
        let routes = tables[0].0.len().0;
        let name = format!("{name}, rte_fib, 4 KiB pages");
        report_dpdk(&name, routes, *build, &m[4..6], *differ, probes.len());
    }
    println!(
        "  ours, huge pages, bursts as plain next-hop ids: {:.1} M/s",
        m[ids_case] / 1e6
    );
    drop(runs);
    if bgp {
        drop(readers);
        let fib = &mut tables[0].0;
        for len in [16u8, 24, 32] {
            let (add, del) = change_cost(fib, rng, len);
            println!("  one /{len} with 1 M loaded: add {add:?}, delete {del:?}");
        }
    }
}

fn ipv6(rng: &mut Rng, eal: Option<&Eal>, secs: f64) {
    let routes = v6_routes(rng, 100_000);
    let mut fib = Fib::new(FibConfig::default());
    let build = load(&mut fib, &routes);
    let probes = probes(rng, &routes, 128);
    let dpdk = eal.and_then(|eal| {
        rte_fib6(eal, &fib, &routes, &probes)
            .inspect_err(|e| println!("rte_fib6 left out: {e}"))
            .ok()
    });
    // DPDK takes addresses as bytes in network order: converted once, outside the timing.
    let bytes: Vec<[u8; 16]> = probes.iter().map(|a| a.to_be_bytes()).collect();
    let reader = fib.reader();
    let (r, probes) = (&reader, &probes);
    let mut runs: Vec<Case> = cases(
        r,
        probes,
        secs,
        |a| r.lookup_v6(a),
        |a, o| r.lookup_v6_burst(a, o),
    )
    .into_iter()
    .collect();
    if let Some((table, _, _)) = &dpdk {
        let bytes = &bytes;
        for burst in [false, true] {
            runs.push(Box::new(move || {
                theirs(bytes, secs, burst, |a, o| table.lookup_bulk(a, o))
            }));
        }
    }
    let m = interleaved(&mut runs);
    let groups = fib.memory().v6_groups;
    let name = "ipv6 BGP-like";
    report(
        &format!("{name}, ours, huge pages"),
        &fib,
        build,
        groups,
        m[0],
        m[1],
    );
    if let Some((_, build, differ)) = &dpdk {
        let name = format!("{name}, rte_fib6, 4 KiB pages");
        report_dpdk(&name, fib.len().1, *build, &m[2..4], *differ, probes.len());
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let secs: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1.0);
    // `ipv4` or `ipv6`: that family only.
    let only = args.get(2).map(String::as_str);
    let eal_args = [
        "fib",
        "--no-huge",
        "-m",
        "2048",
        "--file-prefix",
        "fibbench",
        "--no-pci",
        "--log-level",
        "error",
    ];
    let eal = Eal::init(&eal_args)
        .inspect_err(|e| println!("rte_fib left out: EAL init failed ({e})"))
        .ok();
    let mut rng = Rng::new(19);
    header();
    if only != Some("ipv6") {
        for (name, bgp) in [("ipv4 uniform /16-/32", false), ("ipv4 BGP-like", true)] {
            ipv4(name, bgp, &mut rng, eal.as_ref(), secs);
        }
    }
    if only != Some("ipv4") {
        ipv6(&mut rng, eal.as_ref(), secs);
    }
    println!("process RSS at the end: {} MiB", rss_mib());
}
