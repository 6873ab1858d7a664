use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The toolkit's deterministic generator, with the draws these tests make.
struct Rng(toolkit::xorshift::Rng);
impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(toolkit::xorshift::Rng::new(seed))
    }
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

#[test]
fn net_contains_agrees_with_ipnet() {
    let mut rng = Rng::new(99);
    for _ in 0..20_000 {
        let r = rng.next();
        let v6 = r & 1 == 1;
        let near = r & 2 == 2; // an address in or next to the net, not just anywhere
        let (net, addr): (IpNet, IpAddr) = if v6 {
            let a = (rng.next() as u128) << 64 | rng.next() as u128;
            let len = (rng.next() % 129) as u8;
            let b = if near {
                a ^ (1u128 << (rng.next() % 128))
            } else {
                (rng.next() as u128) << 64
            };
            (
                Ipv6Net::new(Ipv6Addr::from(a), len).unwrap().into(),
                IpAddr::V6(Ipv6Addr::from(b)),
            )
        } else {
            let a = rng.next() as u32;
            let len = (rng.next() % 33) as u8;
            let b = if near {
                a ^ (1u32 << (rng.next() % 32))
            } else {
                rng.next() as u32
            };
            (
                Ipv4Net::new(Ipv4Addr::from(a), len).unwrap().into(),
                IpAddr::V4(Ipv4Addr::from(b)),
            )
        };
        assert_eq!(
            net_contains(&net, &addr),
            net.contains(&addr),
            "{net} {addr}"
        );
        let other: IpAddr = if v6 {
            Ipv4Addr::LOCALHOST.into()
        } else {
            Ipv6Addr::LOCALHOST.into()
        };
        assert!(!net_contains(&net, &other));
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn policy(priority: u32, src: &str, dst: &str, action: Action) -> Policy {
    Policy {
        priority,
        selector: Selector::between(net(src), net(dst)),
        action,
    }
}

fn flow(src: &str, dst: &str, proto: u8, sport: u16, dport: u16) -> FlowKey {
    FlowKey {
        src: ip(src),
        dst: ip(dst),
        proto,
        sport,
        dport,
    }
}

/// The lookup's answer, checked against a burst lookup of the same key.
fn hit(spd: &Spd, key: &FlowKey) -> Option<PolicyId> {
    let one = spd.lookup(key);
    let mut burst = [None];
    spd.lookup_burst(std::slice::from_ref(key), &mut burst);
    assert_eq!(burst[0], one, "{key:?}");
    one.map(|(id, _)| id)
}

/// Burst lookups of `keys` (several passes' worth), each answer the reference's.
fn burst_agrees(spd: &Spd, naive: &Naive, keys: &[FlowKey]) {
    let mut out = vec![None; keys.len()];
    spd.lookup_burst(keys, &mut out);
    for (key, got) in keys.iter().zip(&out) {
        let got = got.map(|(id, p)| {
            assert_eq!(spd.get(id), Some(p));
            id
        });
        assert_eq!(got, naive.lookup(key), "{key:?}");
    }
}

/// The reference: the policies in insertion order, scanned in full.
#[derive(Default)]
struct Naive {
    policies: Vec<(PolicyId, Policy)>,
}
impl Naive {
    fn lookup(&self, key: &FlowKey) -> Option<PolicyId> {
        let mut best: Option<(u32, PolicyId)> = None;
        for (id, p) in &self.policies {
            // Strictly lower only: the first inserted wins ties.
            let better = match best {
                None => true,
                Some((prio, _)) => p.priority < prio,
            };
            if p.selector.matches(key) && better {
                best = Some((p.priority, *id));
            }
        }
        best.map(|(_, id)| id)
    }
}

#[test]
fn port_range_and_bundle() {
    assert!(PortRange::ANY.contains(0) && PortRange::ANY.contains(65535));
    let r = PortRange::new(1000, 2000);
    assert!(!r.contains(999) && r.contains(1000) && r.contains(2000) && !r.contains(2001));
    assert!(!PortRange::new(5, 4).contains(4) && !PortRange::new(5, 4).contains(5));
    assert_eq!(PortRange::default(), PortRange::ANY);

    assert!(SaBundle::new(&[]).is_none());
    assert!(SaBundle::new(&[1, 2, 3, 4, 5]).is_none());
    let b = SaBundle::new(&[7, 8, 9]).unwrap();
    assert_eq!(b.as_slice(), &[7, 8, 9]);
    assert_eq!(b.first(), 7);
    assert_eq!(SaBundle::new(&[3]).unwrap(), SaBundle::single(3));
    assert_eq!(SaBundle::new(&[1, 2, 3, 4]).unwrap().as_slice().len(), 4);
}

#[test]
fn empty() {
    let spd = Spd::new();
    assert!(spd.is_empty());
    assert_eq!(spd.len(), 0);
    assert!(spd.lookup(&flow("10.0.0.1", "10.0.0.2", 6, 1, 2)).is_none());
    assert!(spd.get(PolicyId(1)).is_none());
    assert_eq!(spd.iter().count(), 0);
}

#[test]
fn priority_then_insertion_order() {
    let mut spd = Spd::new();
    let a = spd.insert(policy(100, "10.0.0.0/8", "0.0.0.0/0", Action::Bypass));
    let b = spd.insert(policy(50, "10.1.0.0/16", "0.0.0.0/0", Action::Discard));
    let c = spd.insert(policy(50, "10.1.2.0/24", "0.0.0.0/0", Action::Bypass));
    let d = spd.insert(policy(50, "10.1.0.0/16", "0.0.0.0/0", Action::Bypass));
    let k = flow("10.1.2.3", "192.0.2.1", 17, 500, 500);
    // b and c and d tie on priority: b was inserted first, even though c is more specific.
    assert_eq!(hit(&spd, &k), Some(b));
    assert_eq!(spd.remove(b).unwrap().action, Action::Discard);
    assert_eq!(hit(&spd, &k), Some(c));
    spd.remove(c);
    assert_eq!(hit(&spd, &k), Some(d));
    spd.remove(d);
    assert_eq!(hit(&spd, &k), Some(a));
    // A lower priority inserted later wins over all.
    let e = spd.insert(policy(0, "0.0.0.0/0", "0.0.0.0/0", Action::Discard));
    assert_eq!(hit(&spd, &k), Some(e));
    assert_eq!(hit(&spd, &flow("11.0.0.1", "1.1.1.1", 1, 0, 0)), Some(e));
    spd.remove(e);
    assert_eq!(hit(&spd, &flow("11.0.0.1", "1.1.1.1", 1, 0, 0)), None);
    // The most specific selector does not win by itself: order does (RFC 4301 SPD is ordered).
    let f = spd.insert(policy(10, "10.1.2.3/32", "192.0.2.1/32", Action::Bypass));
    let g = spd.insert(policy(5, "10.0.0.0/8", "192.0.2.0/24", Action::Discard));
    assert_eq!(hit(&spd, &k), Some(g));
    spd.remove(g);
    assert_eq!(hit(&spd, &k), Some(f));
    // Equal priority, same selector: first inserted.
    let h = spd.insert(policy(10, "10.1.2.3/32", "192.0.2.1/32", Action::Discard));
    assert_eq!(hit(&spd, &k), Some(f));
    spd.remove(f);
    assert_eq!(hit(&spd, &k), Some(h));
}

#[test]
fn remove_and_ids() {
    let mut spd = Spd::new();
    let p = policy(
        1,
        "10.0.0.0/24",
        "10.0.1.0/24",
        Action::Protect(SaBundle::single(9)),
    );
    let a = spd.insert(p);
    let b = spd.insert(p);
    assert_ne!(a, b);
    assert_eq!(spd.len(), 2);
    assert_eq!(spd.get(a), Some(&p));
    assert_eq!(spd.remove(a), Some(p));
    assert_eq!(spd.remove(a), None);
    assert_eq!(spd.get(a), None);
    assert_eq!(spd.remove(PolicyId(12345)), None);
    assert_eq!(spd.len(), 1);
    let k = flow("10.0.0.7", "10.0.1.9", 6, 1, 2);
    assert_eq!(hit(&spd, &k), Some(b));
    let c = spd.insert(p);
    assert!(c != a && c != b, "ids are not reused");
    assert_eq!(hit(&spd, &k), Some(b));
    assert_eq!(spd.iter().map(|(id, _)| id).collect::<Vec<_>>(), vec![b, c]);
    spd.remove(b);
    spd.remove(c);
    assert!(spd.is_empty());
    assert_eq!(hit(&spd, &k), None);
    // Ids wrap around without handing out one still in use.
    spd.last_id = u32::MAX - 1;
    let d = spd.insert(p);
    let e = spd.insert(p);
    assert_eq!(d, PolicyId(u32::MAX));
    assert_eq!(e, PolicyId(1));
    spd.last_id = 0;
    assert_eq!(spd.insert(p), PolicyId(2));
}

#[test]
fn next_layer_selectors() {
    let mut spd = Spd::new();
    let mut ssh = policy(1, "10.0.0.0/8", "10.0.0.0/8", Action::Bypass);
    ssh.selector.proto = Some(6);
    ssh.selector.dport = PortRange::single(22);
    let ssh = spd.insert(ssh);
    let mut high = policy(2, "10.0.0.0/8", "10.0.0.0/8", Action::Discard);
    high.selector.proto = Some(17);
    high.selector.sport = PortRange::new(1024, 65535);
    high.selector.dport = PortRange::new(5000, 5010);
    let high = spd.insert(high);
    let mut icmp = policy(3, "10.0.0.0/8", "10.0.0.0/8", Action::Bypass);
    icmp.selector.proto = Some(1);
    icmp.selector.sport = PortRange::single(8); // echo request, any code
    let icmp = spd.insert(icmp);
    let any = spd.insert(policy(4, "10.0.0.0/8", "10.0.0.0/8", Action::Discard));

    assert_eq!(
        hit(&spd, &flow("10.0.0.1", "10.0.0.2", 6, 40000, 22)),
        Some(ssh)
    );
    assert_eq!(
        hit(&spd, &flow("10.0.0.1", "10.0.0.2", 6, 40000, 23)),
        Some(any)
    );
    assert_eq!(
        hit(&spd, &flow("10.0.0.1", "10.0.0.2", 17, 40000, 22)),
        Some(any)
    );
    assert_eq!(
        hit(&spd, &flow("10.0.0.1", "10.0.0.2", 17, 1024, 5000)),
        Some(high)
    );
    assert_eq!(
        hit(&spd, &flow("10.0.0.1", "10.0.0.2", 17, 65535, 5010)),
        Some(high)
    );
    assert_eq!(
        hit(&spd, &flow("10.0.0.1", "10.0.0.2", 17, 1023, 5000)),
        Some(any)
    );
    assert_eq!(
        hit(&spd, &flow("10.0.0.1", "10.0.0.2", 17, 2000, 5011)),
        Some(any)
    );
    assert_eq!(
        hit(&spd, &flow("10.0.0.1", "10.0.0.2", 1, 8, 0)),
        Some(icmp)
    );
    assert_eq!(hit(&spd, &flow("10.0.0.1", "10.0.0.2", 1, 0, 0)), Some(any));
    assert_eq!(
        hit(&spd, &flow("10.0.0.1", "10.0.0.2", 50, 0, 0)),
        Some(any)
    );
    assert_eq!(hit(&spd, &flow("11.0.0.1", "10.0.0.2", 6, 40000, 22)), None);
}

#[test]
fn families_never_mix() {
    let mut spd = Spd::new();
    let v4 = spd.insert(policy(1, "0.0.0.0/0", "0.0.0.0/0", Action::Bypass));
    let v6 = spd.insert(policy(2, "::/0", "::/0", Action::Discard));
    let host6 = spd.insert(policy(
        0,
        "2001:db8::1/128",
        "2001:db8:1::/48",
        Action::Bypass,
    ));
    let mapped = spd.insert(policy(0, "::ffff:10.0.0.1/128", "::/0", Action::Bypass));
    assert_eq!(hit(&spd, &flow("10.0.0.1", "10.0.0.2", 6, 1, 2)), Some(v4));
    assert_eq!(
        hit(&spd, &flow("2001:db8::2", "2001:db8::3", 6, 1, 2)),
        Some(v6)
    );
    assert_eq!(
        hit(&spd, &flow("2001:db8::1", "2001:db8:1:2::3", 6, 1, 2)),
        Some(host6)
    );
    assert_eq!(
        hit(&spd, &flow("2001:db8::1", "2001:db8:2::3", 6, 1, 2)),
        Some(v6)
    );
    assert_eq!(
        hit(&spd, &flow("::ffff:10.0.0.1", "::1", 6, 1, 2)),
        Some(mapped)
    );
    // An IPv4 address never meets the IPv6 policies, even IPv4-mapped ones, and IPv4's
    // numeric value in the low bits does not match an IPv6 prefix of zeros.
    assert_eq!(hit(&spd, &flow("10.0.0.1", "0.0.0.1", 6, 1, 2)), Some(v4));
    spd.remove(v4);
    assert_eq!(hit(&spd, &flow("10.0.0.1", "0.0.0.1", 6, 1, 2)), None);
    spd.remove(v6);
    assert_eq!(hit(&spd, &flow("::", "::", 6, 1, 2)), None);
    // A mixed key only meets mixed selectors.
    assert_eq!(hit(&spd, &flow("10.0.0.1", "::1", 6, 1, 2)), None);
    let mixed = spd.insert(policy(9, "10.0.0.0/8", "::/0", Action::Discard));
    assert_eq!(hit(&spd, &flow("10.0.0.1", "::1", 6, 1, 2)), Some(mixed));
    assert_eq!(hit(&spd, &flow("10.0.0.1", "10.0.0.1", 6, 1, 2)), None);
}

#[test]
fn host_bits_in_prefixes_are_ignored() {
    let mut spd = Spd::new();
    let id = spd.insert(policy(1, "10.0.0.77/24", "2001:db8::55/64", Action::Bypass));
    assert_eq!(
        hit(&spd, &flow("10.0.0.1", "2001:db8::1", 0, 0, 0)),
        Some(id)
    );
    let id6 = spd.insert(policy(
        1,
        "2001:db8::55/64",
        "2001:db8::55/64",
        Action::Bypass,
    ));
    assert_eq!(
        hit(&spd, &flow("2001:db8::1", "2001:db8::ffff", 0, 0, 0)),
        Some(id6)
    );
    // The stored policy is the one given, host bits and all.
    assert_eq!(spd.get(id).unwrap().selector.src, net("10.0.0.77/24"));
}

/// Random policies from a small address space, so that they overlap a lot, with inserts
/// and removals interleaved; every lookup compared with the linear reference.
#[test]
fn model_random() {
    let mut rng = Rng::new(0x5eed_1234_abcd_0001);
    let v4_lens = [0u8, 8, 16, 22, 24, 28, 31, 32];
    let v6_lens = [0u8, 16, 32, 48, 64, 100, 120, 127, 128];
    let protos = [None, Some(6), Some(17), Some(1), Some(50)];
    let prios = [0u32, 1, 2, 5, 10, 100, u32::MAX];
    fn v4(rng: &mut Rng) -> IpAddr {
        // 10.0.0.0/22 and a few outside addresses.
        let a = 0x0a00_0000 | (rng.below(1024) as u32);
        IpAddr::V4(Ipv4Addr::from(if rng.below(16) == 0 {
            a ^ 0x8000_0000
        } else {
            a
        }))
    }
    fn v6(rng: &mut Rng) -> IpAddr {
        let a = (0x2001_0db8u128 << 96) | u128::from(rng.below(1024));
        let a = if rng.below(4) == 0 {
            a | (u128::from(rng.below(4)) << 64)
        } else {
            a
        };
        IpAddr::V6(Ipv6Addr::from(if rng.below(16) == 0 {
            a ^ (1 << 120)
        } else {
            a
        }))
    }
    fn any_addr(rng: &mut Rng, v6_: bool) -> IpAddr {
        if v6_ {
            v6(rng)
        } else {
            v4(rng)
        }
    }
    fn ports(rng: &mut Rng) -> PortRange {
        match rng.below(5) {
            0 | 1 => PortRange::ANY,
            2 => PortRange::single(rng.below(8) as u16),
            3 => {
                let lo = rng.below(8) as u16;
                PortRange::new(lo, lo + rng.below(4) as u16)
            }
            _ => PortRange::new(rng.below(8) as u16, rng.below(8) as u16),
        }
    }
    for round in 0..40 {
        let mut spd = Spd::new();
        let mut naive = Naive::default();
        let steps = 400 + round * 20;
        for step in 0..steps {
            let op = rng.below(10);
            if op < 6 || naive.policies.is_empty() {
                let mixed = rng.below(50) == 0;
                let is_v6 = rng.below(3) == 0;
                let (src_v6, dst_v6) = (is_v6, if mixed { !is_v6 } else { is_v6 });
                let lens = |v6_: bool, rng: &mut Rng| {
                    if v6_ {
                        rng.pick(&v6_lens)
                    } else {
                        rng.pick(&v4_lens)
                    }
                };
                let src = IpNet::new(any_addr(&mut rng, src_v6), lens(src_v6, &mut rng)).unwrap();
                let dst = IpNet::new(any_addr(&mut rng, dst_v6), lens(dst_v6, &mut rng)).unwrap();
                let p = Policy {
                    priority: rng.pick(&prios),
                    selector: Selector {
                        src,
                        dst,
                        proto: rng.pick(&protos),
                        sport: ports(&mut rng),
                        dport: ports(&mut rng),
                    },
                    action: Action::Protect(SaBundle::single(step as u32)),
                };
                let id = spd.insert(p);
                naive.policies.push((id, p));
            } else if op < 8 {
                let at = rng.below(naive.policies.len() as u64) as usize;
                let (id, p) = naive.policies.remove(at);
                assert_eq!(spd.remove(id), Some(p));
                assert_eq!(spd.remove(id), None);
            }
            let mut keys = Vec::new();
            for _ in 0..4 {
                // Half the flows are drawn inside a random policy's prefixes.
                let key = if rng.below(2) == 0 && !naive.policies.is_empty() {
                    let (_, p) = naive.policies[rng.below(naive.policies.len() as u64) as usize];
                    let inside = |n: IpNet, rng: &mut Rng| match n {
                        IpNet::V4(n) => {
                            let host = !u32::from(n.netmask()) & rng.next() as u32;
                            IpAddr::V4(Ipv4Addr::from(u32::from(n.network()) | host))
                        }
                        IpNet::V6(n) => {
                            let r = (u128::from(rng.next()) << 64) | u128::from(rng.next());
                            let host = !u128::from(n.netmask()) & (r % 4096);
                            IpAddr::V6(Ipv6Addr::from(u128::from(n.network()) | host))
                        }
                    };
                    FlowKey {
                        src: inside(p.selector.src, &mut rng),
                        dst: inside(p.selector.dst, &mut rng),
                        proto: p.selector.proto.unwrap_or(rng.pick(&[6, 17, 1, 50])),
                        sport: rng.below(10) as u16,
                        dport: rng.below(10) as u16,
                    }
                } else {
                    let is_v6 = rng.below(3) == 0;
                    let mixed = rng.below(30) == 0;
                    FlowKey {
                        src: any_addr(&mut rng, is_v6),
                        dst: any_addr(&mut rng, is_v6 ^ mixed),
                        proto: rng.pick(&[6, 17, 1, 50, 0]),
                        sport: rng.below(10) as u16,
                        dport: rng.below(10) as u16,
                    }
                };
                assert_eq!(
                    hit(&spd, &key),
                    naive.lookup(&key),
                    "round {round} step {step} {key:?}"
                );
                keys.push(key);
            }
            burst_agrees(&spd, &naive, &keys);
            assert_eq!(spd.len(), naive.policies.len());
        }
        // get and iter agree with the reference, in insertion order.
        for (id, p) in &naive.policies {
            assert_eq!(spd.get(*id), Some(p));
        }
        let listed: Vec<(PolicyId, Policy)> = spd.iter().map(|(id, p)| (id, *p)).collect();
        assert_eq!(listed, naive.policies);
    }
}

/// 100,000 policies of the usual kinds, 100,000 lookups; the answers are known by
/// construction, and a sample is checked against the linear reference too.
#[test]
fn scale_100k() {
    let mut spd = Spd::new();
    let mut naive = Naive::default();
    let mut expect = Vec::new();
    let add = |spd: &mut Spd, naive: &mut Naive, p: Policy| {
        let id = spd.insert(p);
        naive.policies.push((id, p));
        id
    };
    // Lowest priority catch-alls, one per family.
    let catch4 = add(
        &mut spd,
        &mut naive,
        policy(u32::MAX, "0.0.0.0/0", "0.0.0.0/0", Action::Discard),
    );
    let catch6 = add(
        &mut spd,
        &mut naive,
        policy(u32::MAX, "::/0", "::/0", Action::Discard),
    );
    for i in 0..100_000u32 {
        let bundle = Action::Protect(SaBundle::single(i));
        let (p, key) = match i % 4 {
            // IPv4 host to host, some with ports.
            0 | 1 => {
                let s = Ipv4Addr::from(0x0a00_0000 | i);
                let d = Ipv4Addr::from(0xac10_0000 | i);
                let mut p = Policy {
                    priority: 10,
                    selector: Selector::between(
                        IpNet::V4(Ipv4Net::new(s, 32).unwrap()),
                        IpNet::V4(Ipv4Net::new(d, 32).unwrap()),
                    ),
                    action: bundle,
                };
                let mut key = FlowKey {
                    src: s.into(),
                    dst: d.into(),
                    proto: 17,
                    sport: 9,
                    dport: 9,
                };
                if i % 4 == 1 {
                    p.selector.proto = Some(6);
                    p.selector.dport = PortRange::single(443);
                    key.proto = 6;
                    key.dport = 443;
                }
                (p, key)
            }
            // IPv4 subnet to subnet.
            2 => {
                let s = Ipv4Addr::from(0x4000_0000 | (i << 8));
                let d = Ipv4Addr::from(0x8000_0000 | (i << 8));
                let p = Policy {
                    priority: 20,
                    selector: Selector::between(
                        IpNet::V4(Ipv4Net::new(s, 24).unwrap()),
                        IpNet::V4(Ipv4Net::new(d, 24).unwrap()),
                    ),
                    action: bundle,
                };
                let key = FlowKey {
                    src: Ipv4Addr::from(u32::from(s) | 7).into(),
                    dst: Ipv4Addr::from(u32::from(d) | 200).into(),
                    proto: 1,
                    sport: 8,
                    dport: 0,
                };
                (p, key)
            }
            // IPv6 host to host and /64 to /64.
            _ => {
                let base = 0x2001_0db8u128 << 96;
                let (len, s, d) = if i % 8 == 3 {
                    (128, base | u128::from(i), base | (1 << 90) | u128::from(i))
                } else {
                    (
                        64,
                        base | (u128::from(i) << 64),
                        base | (1 << 90) | (u128::from(i) << 64),
                    )
                };
                let p = Policy {
                    priority: 10,
                    selector: Selector::between(
                        IpNet::V6(Ipv6Net::new(s.into(), len).unwrap()),
                        IpNet::V6(Ipv6Net::new(d.into(), len).unwrap()),
                    ),
                    action: bundle,
                };
                let key = FlowKey {
                    src: Ipv6Addr::from(s | u128::from(len == 64)).into(),
                    dst: Ipv6Addr::from(d).into(),
                    proto: 6,
                    sport: 1,
                    dport: 2,
                };
                (p, key)
            }
        };
        let id = add(&mut spd, &mut naive, p);
        expect.push((key, id));
    }
    assert_eq!(spd.len(), 100_002);
    for (key, id) in &expect {
        assert_eq!(hit(&spd, key), Some(*id), "{key:?}");
    }
    // The same in bursts: the prefetching passes give the same answers.
    let keys: Vec<FlowKey> = expect.iter().map(|(k, _)| *k).collect();
    let mut out = vec![None; keys.len()];
    spd.lookup_burst(&keys, &mut out);
    for ((key, id), got) in expect.iter().zip(&out) {
        assert_eq!(got.map(|(got, _)| got), Some(*id), "{key:?}");
    }
    // Misses fall to the catch-alls.
    let mut misses = Vec::new();
    for (i, (key, _)) in expect.iter().enumerate() {
        let mut key = *key;
        key.dport = key.dport.wrapping_add(1);
        if i % 4 == 1 {
            assert_eq!(hit(&spd, &key), Some(catch4));
        }
        if let IpAddr::V6(a) = key.dst {
            key.dst = IpAddr::V6(Ipv6Addr::from(u128::from(a) ^ (1 << 100)));
            assert_eq!(hit(&spd, &key), Some(catch6));
        }
        misses.push(key);
    }
    // A sample against the linear scan (slow in debug builds, so only a sample).
    for key in expect
        .iter()
        .map(|(k, _)| k)
        .step_by(997)
        .chain(misses.iter().step_by(991))
    {
        assert_eq!(hit(&spd, key), naive.lookup(key));
    }
    // Removing every other policy: the removed ones' flows fall through.
    for (n, (key, id)) in expect.iter().enumerate() {
        if n % 2 == 0 {
            spd.remove(*id).unwrap();
            let fallback = if key.src.is_ipv4() { catch4 } else { catch6 };
            assert_eq!(hit(&spd, key), Some(fallback));
        }
    }
    for (key, id) in expect.iter().skip(1).step_by(2) {
        assert_eq!(hit(&spd, key), Some(*id));
    }
    assert_eq!(spd.len(), 50_002);
}
