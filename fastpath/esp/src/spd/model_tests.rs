//! The SPD against the linear reference at random and at scale.

use super::tests::{burst_agrees, hit, policy, Naive, Rng};
use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

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
        assert_eq!(got.map(|h| h.id), Some(*id), "{key:?}");
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
