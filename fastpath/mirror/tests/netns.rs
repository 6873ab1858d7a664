//! The mirror against a real kernel: in a network namespace of its own (made by the test,
//! gone with its last thread), a link standing for the fast path's exception TAP, routes and
//! neighbours changed with `ip`, and the FIB and neighbour table read as a worker reads them.
//! Needs root (CAP_NET_ADMIN) and iproute2.

use fib::{Fib, FibConfig, FibReader, NextHop, Prefix};
use mirror::{MirrorConfig, NeighbourReader, Neighbours, Subscriber, MAIN_TABLE};
use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};
use toolkit::MacAddr;

/// The TAP's fast path port.
const PORT: u16 = 3;
/// How long a change may take to reach the FIB before the test fails.
const BOUND: Duration = Duration::from_secs(2);

fn ip(args: &str) {
    let out = Command::new("ip")
        .args(args.split_whitespace())
        .output()
        .expect("run ip");
    assert!(
        out.status.success(),
        "ip {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn addr(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn lookup(fib: &FibReader, a: &str) -> Option<NextHop> {
    let found = fib.lookup(addr(a)).and_then(|id| fib.next_hop(id));
    fib.quiescent();
    found
}

/// Spins until `done` holds; how long that took, or None past `BOUND`.
fn wait_for(mut done: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > BOUND {
            return None;
        }
        std::hint::spin_loop();
    }
    Some(start.elapsed())
}

/// Runs `body` on a thread moved into a new network namespace with a link `tap0` standing for
/// the TAP of port `PORT` (10.9.0.1/24 and 2001:db8:9::1/64) and a TAP `tapx` the fast path
/// does not own.
fn in_fresh_netns(body: impl FnOnce() + Send + 'static) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root for a network namespace");
        return false;
    }
    std::thread::spawn(move || {
        // SAFETY: unshare(CLONE_NEWNET) moves only this thread (and what it spawns) into a
        // new network namespace; it touches no memory of ours.
        let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "unshare: {}", std::io::Error::last_os_error());
        ip("link set lo up");
        // tap0 is one end of a veth pair: a TAP without a reader has no carrier, and the
        // kernel refuses nexthop objects on a link without one. No link-local addresses, so
        // that the routes the kernel adds are only those the test gives.
        ip("link add tap0 type veth peer name tap0-peer");
        ip("tuntap add dev tapx mode tap");
        for link in ["tap0", "tap0-peer", "tapx"] {
            ip(&format!("link set {link} addrgenmode none"));
            ip(&format!("link set {link} up"));
        }
        ip("addr add 10.9.0.1/24 dev tap0");
        ip("addr add 10.8.0.1/24 dev tapx");
        ip("-6 addr add 2001:db8:9::1/64 dev tap0 nodad");
        body();
    })
    .join()
    .expect("the namespace's thread");
    true
}

fn config() -> MirrorConfig {
    MirrorConfig {
        taps: vec![("tap0".into(), PORT)],
        table: MAIN_TABLE,
    }
}

fn fib() -> Fib {
    Fib::new(FibConfig {
        v4_groups: 4096,
        v6_groups: 4096,
        next_hops: 1024,
        huge_pages: false,
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
fn the_fib_follows_ip_route_and_ip_neigh() {
    in_fresh_netns(|| {
        // Present before the mirror starts: learned from the first dump.
        ip("route add 10.50.0.0/16 via 10.9.0.254");
        let fib = fib();
        let neighbours = Neighbours::new(1024);
        let (fr, nr): (FibReader, NeighbourReader) = (fib.reader(), neighbours.reader());
        let sub = Subscriber::start(&config(), fib, neighbours).expect("start the mirror");
        assert_eq!(lookup(&fr, "10.9.0.7"), Some(NextHop::connected(PORT)));
        assert_eq!(
            lookup(&fr, "10.50.1.1"),
            Some(NextHop::gateway(PORT, addr("10.9.0.254")))
        );
        assert_eq!(lookup(&fr, "10.8.0.7"), None, "tapx is not ours");

        // Route adds, one at a time: from `ip` returning (the kernel holds the route) to a
        // worker's lookup finding it.
        let mut add = Vec::new();
        let mut del = Vec::new();
        for i in 0..20 {
            ip(&format!("route add 10.100.{i}.0/24 via 10.9.0.254"));
            let t = wait_for(|| lookup(&fr, &format!("10.100.{i}.1")).is_some());
            add.push(t.unwrap_or_else(|| panic!("10.100.{i}.0/24 never reached the FIB")));
        }
        for i in 0..20 {
            ip(&format!("route del 10.100.{i}.0/24"));
            let t = wait_for(|| lookup(&fr, &format!("10.100.{i}.1")).is_none());
            del.push(t.unwrap_or_else(|| panic!("10.100.{i}.0/24 never left the FIB")));
        }
        println!(
            "figure: ip route add -> FIB median {:?} max {:?}; del median {:?} max {:?}",
            median(add.clone()),
            add.iter().max().unwrap(),
            median(del.clone()),
            del.iter().max().unwrap()
        );

        ip("-6 route add 2001:db8:77::/48 via 2001:db8:9::fe dev tap0");
        let gw6 = NextHop::gateway(PORT, addr("2001:db8:9::fe"));
        assert!(wait_for(|| lookup(&fr, "2001:db8:77::1") == Some(gw6)).is_some());
        ip("route add 10.51.0.0/16 via 10.8.0.254");
        ip("route add 10.52.0.0/16 via 10.9.0.253");
        assert!(wait_for(|| lookup(&fr, "10.52.0.1").is_some()).is_some());
        assert_eq!(lookup(&fr, "10.51.0.1"), None, "a route via tapx stays out");

        let mac = MacAddr([2, 0, 0, 0, 0, 0xfe]);
        ip("neigh add 10.9.0.254 lladdr 02:00:00:00:00:fe dev tap0 nud permanent");
        ip("neigh add 2001:db8:9::fe lladdr 02:00:00:00:00:fe dev tap0 nud reachable");
        assert!(wait_for(|| nr.mac(PORT, addr("10.9.0.254")) == Some(mac)).is_some());
        assert!(wait_for(|| nr.mac(PORT, addr("2001:db8:9::fe")) == Some(mac)).is_some());
        ip("neigh del 10.9.0.254 dev tap0");
        assert!(wait_for(|| nr.mac(PORT, addr("10.9.0.254")).is_none()).is_some());

        // Routes naming a nexthop object, as FRR installs them, follow the object.
        ip("nexthop add id 1 via 10.9.0.254 dev tap0");
        ip("route add 10.60.0.0/16 nhid 1");
        let via = |gw: &str| Some(NextHop::gateway(PORT, addr(gw)));
        assert!(wait_for(|| lookup(&fr, "10.60.0.1") == via("10.9.0.254")).is_some());
        ip("nexthop replace id 1 via 10.9.0.253 dev tap0");
        assert!(wait_for(|| lookup(&fr, "10.60.0.1") == via("10.9.0.253")).is_some());
        ip("nexthop del id 1");
        assert!(wait_for(|| lookup(&fr, "10.60.0.1").is_none()).is_some());

        // The TAP going down takes its routes, as in the kernel.
        ip("link set tap0 down");
        assert!(wait_for(|| lookup(&fr, "10.50.1.1").is_none()).is_some());
        assert!(wait_for(|| nr.mac(PORT, addr("2001:db8:9::fe")).is_none()).is_some());

        let c = sub.counters().snapshot();
        assert!(c.skipped_foreign_interface >= 2, "{c:?}");
        assert!(c.skipped_other_table == 0 && c.resyncs >= 1, "{c:?}");
        let (fib, _) = sub.stop().expect("stop the mirror");
        assert!(fib
            .get(&Prefix::new(addr("10.50.0.0"), 16).unwrap())
            .is_none());
    });
}

/// Runs `ip -batch` over one line per route of the burst.
fn batch(verb: &str, routes: usize) {
    let lines: String = (0..routes)
        .map(|i| {
            format!(
                "route {verb} 10.{}.{}.0/24 via 10.9.0.254\n",
                100 + i / 256,
                i % 256
            )
        })
        .collect();
    let path = std::env::temp_dir().join(format!("mirror-batch-{}", std::process::id()));
    std::fs::write(&path, lines).unwrap();
    ip(&format!("-batch {}", path.display()));
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_burst_past_the_socket_buffer_still_converges() {
    const ROUTES: usize = 3000;
    in_fresh_netns(|| {
        let fib = fib();
        let fr = fib.reader();
        // The smallest buffer the kernel allows: a burst overruns it, and the mirror reads a
        // dump to recover what it lost.
        let sub = Subscriber::start_with_buffer(&config(), fib, Neighbours::new(64), 1)
            .expect("start the mirror");
        let held = |i: usize| lookup(&fr, &format!("10.{}.{}.1", 100 + i / 256, i % 256)).is_some();
        let start = Instant::now();
        batch("add", ROUTES);
        assert!(
            wait_for(|| (0..ROUTES).all(held)).is_some(),
            "the adds never fully reached the FIB"
        );
        let added = start.elapsed();
        // Then all deleted: events queued before an overrun must not bring any back.
        batch("del", ROUTES);
        assert!(
            wait_for(|| !(0..ROUTES).any(held)).is_some(),
            "the deletes never fully reached the FIB"
        );
        let c = sub.counters().snapshot();
        println!(
            "figure: {ROUTES} routes added through a minimal socket buffer in {added:?}, all \
             deleted in {:?}; {} overruns, {} resyncs",
            start.elapsed() - added,
            c.overruns,
            c.resyncs
        );
        let (fib, _) = sub.stop().unwrap();
        // Only tap0's connected routes are left.
        let mut left: Vec<_> = fib.routes().map(|(p, nh)| (p.to_string(), nh)).collect();
        left.sort_by(|a, b| a.0.cmp(&b.0));
        let connected = NextHop::connected(PORT);
        assert_eq!(
            left,
            [
                ("10.9.0.0/24".into(), connected),
                ("2001:db8:9::/64".into(), connected)
            ]
        );
    });
}
