use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The toolkit's deterministic generator, with the draws these tests make.
pub(super) struct Rng(toolkit::xorshift::Rng);
impl Rng {
    pub(super) fn new(seed: u64) -> Rng {
        Rng(toolkit::xorshift::Rng::new(seed))
    }
    pub(super) fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub(super) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
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

pub(super) fn policy(priority: u32, src: &str, dst: &str, action: Action) -> Policy {
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
pub(super) fn hit(spd: &Spd, key: &FlowKey) -> Option<PolicyId> {
    let one = spd.lookup(key);
    let mut burst = [None];
    spd.lookup_burst(std::slice::from_ref(key), &mut burst);
    assert_eq!(burst[0].map(|h| (h.id, h.policy)), one, "{key:?}");
    assert_eq!(spd.lookup_hit(key), burst[0], "{key:?}");
    one.map(|(id, _)| id)
}

/// Burst lookups of `keys` (several passes' worth), each answer the reference's; and the
/// same through [`Spd::ask`] and [`Spd::lookup_asked`], the second half of the keys not
/// asked for (looked up without probes).
pub(super) fn burst_agrees(spd: &Spd, naive: &Naive, keys: &[FlowKey]) {
    let mut out = vec![None; keys.len()];
    spd.lookup_burst(keys, &mut out);
    for (key, got) in keys.iter().zip(&out) {
        let got = got.map(|h| {
            assert_eq!(spd.get(h.id), Some(h.policy));
            h.id
        });
        assert_eq!(got, naive.lookup(key), "{key:?}");
    }
    let asked: Vec<Asked> = keys[..keys.len() / 2].iter().map(|k| spd.ask(k)).collect();
    let mut again = vec![None; keys.len()];
    spd.lookup_asked(keys, &asked, &mut again);
    assert_eq!(again, out);
}

/// The reference: the policies in insertion order, scanned in full.
#[derive(Default)]
pub(super) struct Naive {
    pub(super) policies: Vec<(PolicyId, Policy)>,
}
impl Naive {
    pub(super) fn lookup(&self, key: &FlowKey) -> Option<PolicyId> {
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
