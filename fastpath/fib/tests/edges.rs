//! Edge cases of the FIB: the default route, host routes, the /24-/25 boundary of DIR-24-8,
//! deletes of covering prefixes, next-hop counts, and lookups while routes change.

use fib::{Fib, FibConfig, FibError, NextHop, NextHopKind, Prefix};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn p(s: &str) -> Prefix {
    let (a, l) = s.split_once('/').unwrap();
    Prefix::new(a.parse().unwrap(), l.parse().unwrap()).unwrap()
}

fn gw(port: u16, a: &str) -> NextHop {
    NextHop::gateway(port, a.parse().unwrap())
}

fn small() -> Fib {
    Fib::new(FibConfig {
        v4_groups: 64,
        v6_groups: 256,
        next_hops: 16,
        ..FibConfig::default()
    })
}

fn route(fib: &Fib, a: &str) -> Option<NextHop> {
    let r = fib.reader();
    r.lookup(a.parse::<IpAddr>().unwrap())
        .and_then(|id| r.next_hop(id))
}

#[test]
fn default_and_host_routes_of_both_families() {
    let mut fib = small();
    assert_eq!(route(&fib, "1.2.3.4"), None);
    fib.add(p("0.0.0.0/0"), gw(0, "192.0.2.1")).unwrap();
    fib.add(p("1.2.3.4/32"), NextHop::connected(1)).unwrap();
    fib.add(p("::/0"), gw(0, "fe80::1")).unwrap();
    fib.add(p("2001:db8::1/128"), NextHop::connected(2))
        .unwrap();
    assert_eq!(route(&fib, "255.255.255.255"), Some(gw(0, "192.0.2.1")));
    assert_eq!(route(&fib, "1.2.3.4"), Some(NextHop::connected(1)));
    assert_eq!(route(&fib, "1.2.3.5"), Some(gw(0, "192.0.2.1")));
    assert_eq!(route(&fib, "2001:db8::1"), Some(NextHop::connected(2)));
    assert_eq!(route(&fib, "2001:db8::2"), Some(gw(0, "fe80::1")));
    // The families do not see each other's routes.
    fib.delete(p("0.0.0.0/0")).unwrap();
    assert_eq!(route(&fib, "9.9.9.9"), None);
    assert_eq!(route(&fib, "::9"), Some(gw(0, "fe80::1")));
    fib.delete(p("::/0")).unwrap();
    assert_eq!(route(&fib, "::9"), None);
    assert_eq!(route(&fib, "2001:db8::1"), Some(NextHop::connected(2)));
}

#[test]
fn the_24_25_boundary_and_group_folding() {
    let mut fib = small();
    fib.add(p("10.0.0.0/24"), gw(1, "192.0.2.24")).unwrap();
    fib.add(p("10.0.0.128/25"), gw(1, "192.0.2.25")).unwrap();
    assert_eq!(route(&fib, "10.0.0.127"), Some(gw(1, "192.0.2.24")));
    assert_eq!(route(&fib, "10.0.0.128"), Some(gw(1, "192.0.2.25")));
    assert_eq!(fib.memory().v4_groups, 1);
    // Two /25 halves with one next hop make a uniform group that must not fold into a /24:
    // deleting one half later must still work.
    fib.add(p("10.0.0.0/25"), gw(1, "192.0.2.25")).unwrap();
    fib.delete(p("10.0.0.0/24")).unwrap();
    assert_eq!(fib.memory().v4_groups, 1);
    fib.delete(p("10.0.0.0/25")).unwrap();
    assert_eq!(route(&fib, "10.0.0.1"), None);
    assert_eq!(route(&fib, "10.0.0.200"), Some(gw(1, "192.0.2.25")));
    fib.delete(p("10.0.0.128/25")).unwrap();
    assert_eq!(fib.memory().v4_groups, 0);
    // A /24 under a group rewrites only what no longer prefix owns.
    fib.add(p("10.0.1.7/32"), NextHop::connected(3)).unwrap();
    fib.add(p("10.0.1.0/24"), gw(2, "192.0.2.2")).unwrap();
    assert_eq!(route(&fib, "10.0.1.7"), Some(NextHop::connected(3)));
    assert_eq!(route(&fib, "10.0.1.8"), Some(gw(2, "192.0.2.2")));
}

#[test]
fn deleting_a_covering_prefix_falls_back_further_up() {
    let mut fib = small();
    fib.add(p("10.0.0.0/8"), gw(0, "192.0.2.8")).unwrap();
    fib.add(p("10.1.0.0/16"), gw(0, "192.0.2.16")).unwrap();
    fib.add(p("10.1.2.0/24"), gw(0, "192.0.2.24")).unwrap();
    fib.add(p("10.1.2.3/32"), gw(0, "192.0.2.32")).unwrap();
    fib.delete(p("10.1.0.0/16")).unwrap();
    assert_eq!(route(&fib, "10.1.9.9"), Some(gw(0, "192.0.2.8")));
    assert_eq!(route(&fib, "10.1.2.9"), Some(gw(0, "192.0.2.24")));
    fib.delete(p("10.1.2.0/24")).unwrap();
    assert_eq!(route(&fib, "10.1.2.9"), Some(gw(0, "192.0.2.8")));
    assert_eq!(route(&fib, "10.1.2.3"), Some(gw(0, "192.0.2.32")));
    assert_eq!(fib.delete(p("10.1.2.0/24")), Err(FibError::NotFound));
    fib.add(p("2001:db8::/32"), gw(0, "fe80::32")).unwrap();
    fib.add(p("2001:db8:1::/48"), gw(0, "fe80::48")).unwrap();
    fib.add(p("2001:db8:1:2::/64"), gw(0, "fe80::64")).unwrap();
    fib.delete(p("2001:db8:1::/48")).unwrap();
    assert_eq!(route(&fib, "2001:db8:1:3::1"), Some(gw(0, "fe80::32")));
    assert_eq!(route(&fib, "2001:db8:1:2::1"), Some(gw(0, "fe80::64")));
}

#[test]
fn next_hops_are_shared_counted_and_released() {
    let mut fib = small();
    let (a, b) = (
        gw(1, "192.0.2.1"),
        NextHop {
            port: 1,
            kind: NextHopKind::Blackhole,
        },
    );
    fib.add(p("10.0.0.0/8"), a).unwrap();
    fib.add(p("11.0.0.0/8"), a).unwrap();
    fib.add(p("12.0.0.0/8"), b).unwrap();
    assert_eq!(
        (
            fib.next_hop_refs(&a),
            fib.next_hop_refs(&b),
            fib.next_hop_count()
        ),
        (2, 1, 2)
    );
    // Moving a route moves its reference.
    fib.add(p("11.0.0.0/8"), b).unwrap();
    assert_eq!((fib.next_hop_refs(&a), fib.next_hop_refs(&b)), (1, 2));
    assert_eq!(fib.get(&p("11.0.0.0/8")), Some(b));
    fib.delete(p("10.0.0.0/8")).unwrap();
    assert_eq!((fib.next_hop_refs(&a), fib.next_hop_count()), (0, 1));
    // A full next-hop table refuses a new one and keeps the route out.
    let mut fib = Fib::new(FibConfig {
        v4_groups: 4,
        v6_groups: 4,
        next_hops: 1,
        ..FibConfig::default()
    });
    fib.add(p("10.0.0.0/8"), a).unwrap();
    let _stalled = fib.reader();
    assert_eq!(
        fib.add(p("11.0.0.0/8"), b),
        Err(FibError::NextHopsExhausted)
    );
    assert_eq!(fib.get(&p("11.0.0.0/8")), None);
    assert_eq!(fib.len(), (1, 0));
}

#[test]
fn retired_groups_wait_for_the_readers() {
    let mut fib = Fib::new(FibConfig {
        v4_groups: 1,
        v6_groups: 1,
        next_hops: 4,
        ..FibConfig::default()
    });
    let reader = fib.reader();
    fib.add(p("10.0.0.1/32"), NextHop::connected(0)).unwrap();
    fib.delete(p("10.0.0.1/32")).unwrap();
    // The only group is retired; the reader has not been quiescent since.
    assert_eq!(
        fib.add(p("10.0.0.2/32"), NextHop::connected(0)),
        Err(FibError::GroupsExhausted)
    );
    reader.quiescent();
    fib.add(p("10.0.0.2/32"), NextHop::connected(0)).unwrap();
    assert_eq!(
        reader
            .lookup("10.0.0.2".parse().unwrap())
            .map(|id| reader.next_hop(id)),
        Some(Some(NextHop::connected(0)))
    );
}

#[test]
fn lookups_go_on_while_routes_change() {
    let mut fib = Fib::new(FibConfig::default());
    let (old, new) = (gw(0, "192.0.2.1"), gw(0, "192.0.2.2"));
    fib.add(p("10.0.0.0/8"), old).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    // Readers that have done a burst: the changes start once both race them (on a loaded
    // machine a thread may start late), waited for with a bound.
    let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (r, stop, running) = (fib.reader(), stop.clone(), running.clone());
            std::thread::spawn(move || {
                let mut seen = 0u64;
                let addrs: Vec<u32> = (0..64u32)
                    .map(|i| 0x0a00_0000 | i.wrapping_mul(0x9e37_79b9) >> 8)
                    .collect();
                let mut out = [None; 64];
                while !stop.load(Ordering::Relaxed) {
                    r.lookup_v4_burst(&addrs, &mut out);
                    for id in out {
                        // Every lookup finds the /8, the /16 or a host route: never nothing.
                        let nh = r.next_hop(id.expect("a route")).unwrap();
                        assert!(
                            nh == old || nh == new || nh == NextHop::connected(1),
                            "{nh:?}"
                        );
                        seen += 1;
                    }
                    r.quiescent();
                    if seen == 64 {
                        running.fetch_add(1, Ordering::Relaxed);
                    }
                }
                seen
            })
        })
        .collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while running.load(Ordering::Relaxed) < 2 && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
    for i in 0..2000u32 {
        fib.add(
            p("10.1.0.0/16"),
            if i.is_multiple_of(2) { new } else { old },
        )
        .unwrap();
        let host = Prefix::new(IpAddr::from((0x0a00_0000 | (i % 64)).to_be_bytes()), 32).unwrap();
        fib.add(host, NextHop::connected(1)).unwrap();
        fib.delete(host).unwrap();
        fib.delete(p("10.1.0.0/16")).unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
}
