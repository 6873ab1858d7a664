//! The FIB against a naive reference (a linear scan of the prefixes for the longest match) on
//! random prefixes and addresses, with adds, replaces and deletes interleaved, both families.

use fib::{Fib, FibConfig, NextHop, Prefix};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use toolkit::xorshift::Rng;

/// The reference: every prefix, scanned for the longest that covers the address.
#[derive(Default)]
struct Naive(HashMap<Prefix, NextHop>);

fn covers(p: &Prefix, a: IpAddr) -> bool {
    match Prefix::new(a, p.length()) {
        Ok(q) => q == *p,
        Err(_) => false,
    }
}

impl Naive {
    fn lookup(&self, a: IpAddr) -> Option<NextHop> {
        self.0
            .iter()
            .filter(|(p, _)| p.addr().is_ipv4() == a.is_ipv4() && covers(p, a))
            .max_by_key(|(p, _)| p.length())
            .map(|(_, nh)| *nh)
    }
}

struct Family {
    v6: bool,
    /// Addresses are drawn near a few bases so that prefixes nest and overlap.
    bases: Vec<u128>,
}

impl Family {
    fn addr(&self, rng: &mut Rng) -> IpAddr {
        let base = self.bases[(rng.next_u64() % self.bases.len() as u64) as usize];
        let noise = u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64());
        // Keep the first bits of a base most of the time, so lookups land under routes.
        let keep = [8u32, 16, 20, 24, 28, 0][(rng.next_u64() % 6) as usize];
        let bits = if self.v6 { 128 } else { 32 };
        let keep = if self.v6 { keep * 4 } else { keep };
        let v = if keep == 0 {
            noise
        } else {
            let m = u128::MAX << (bits - keep) & (u128::MAX >> (128 - bits));
            (base & m) | (noise & !m)
        };
        if self.v6 {
            IpAddr::V6(Ipv6Addr::from(v))
        } else {
            IpAddr::V4(Ipv4Addr::from(v as u32))
        }
    }

    fn prefix(&self, rng: &mut Rng) -> Prefix {
        let max = if self.v6 { 128 } else { 32 };
        // Short prefixes rewrite a large range: one in eight spans all lengths, the rest the
        // longer half where the groups are.
        let r = rng.next_u64();
        let len = if r.is_multiple_of(8) {
            (r >> 3) % (max + 1)
        } else {
            max / 2 + (r >> 3) % (max / 2 + 1)
        };
        let len = len as u8;
        Prefix::new(self.addr(rng), len).unwrap()
    }
}

fn next_hop(rng: &mut Rng, v6: bool) -> NextHop {
    // Few distinct next hops, so that they are shared and counted.
    let n = (rng.next_u64() % 6) as u8;
    match n {
        0 => NextHop::connected(u16::from(n)),
        _ if v6 => NextHop::gateway(
            1,
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, n.into())),
        ),
        _ => NextHop::gateway(2, IpAddr::V4(Ipv4Addr::new(192, 0, 2, n))),
    }
}

fn check(fib: &Fib, naive: &Naive, fam: &Family, rng: &mut Rng, probes: usize, step: usize) {
    let reader = fib.reader();
    let addrs: Vec<IpAddr> = (0..probes).map(|_| fam.addr(rng)).collect();
    for a in &addrs {
        let got = reader.lookup(*a).and_then(|id| reader.next_hop(id));
        assert_eq!(got, naive.lookup(*a), "step {step}: lookup of {a}");
    }
    // The burst lookups agree with the single ones.
    let mut out = vec![None; addrs.len()];
    let keys: Vec<u128> = addrs
        .iter()
        .map(|a| match a {
            IpAddr::V6(a) => u128::from(*a),
            IpAddr::V4(a) => u128::from(u32::from(*a)),
        })
        .collect();
    if fam.v6 {
        reader.lookup_v6_burst(&keys, &mut out);
    } else {
        let keys: Vec<u32> = keys.iter().map(|&k| k as u32).collect();
        reader.lookup_v4_burst(&keys, &mut out);
        // The plain ids of a burst are the same answers.
        let mut ids = vec![0; keys.len()];
        reader.lookup_v4_burst_ids(&keys, &mut ids);
        for (a, id) in addrs.iter().zip(ids) {
            let want = reader.lookup(*a).map_or(fib::NO_ROUTE, |i| i.0);
            assert_eq!(id, want, "step {step}: burst id lookup of {a}");
        }
    }
    for (a, id) in addrs.iter().zip(out) {
        assert_eq!(id, reader.lookup(*a), "step {step}: burst lookup of {a}");
    }
    // Every next hop is counted once per route that uses it.
    let mut counts: HashMap<NextHop, u32> = HashMap::new();
    for nh in naive.0.values() {
        *counts.entry(*nh).or_default() += 1;
    }
    for (nh, n) in &counts {
        assert_eq!(
            fib.next_hop_refs(nh),
            *n,
            "step {step}: references of {nh:?}"
        );
    }
    assert_eq!(fib.next_hop_count(), counts.len());
}

fn run(v6: bool, seed: u64, steps: usize) {
    let mut rng = Rng::new(seed);
    let bases = (0..4)
        .map(|_| u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64()))
        .map(|b| if v6 { b } else { b >> 96 })
        .collect();
    let fam = Family { v6, bases };
    let mut fib = Fib::new(FibConfig {
        v4_groups: 4096,
        v6_groups: 1 << 14,
        next_hops: 64,
        ..FibConfig::default()
    });
    let mut naive = Naive::default();
    for step in 0..steps {
        let existing: Vec<Prefix> = naive.0.keys().copied().collect();
        if !existing.is_empty() && rng.next_u64().is_multiple_of(3) {
            let p = existing[(rng.next_u64() % existing.len() as u64) as usize];
            assert_eq!(
                fib.delete(p),
                Ok(naive.0.remove(&p).unwrap()),
                "step {step}: delete {p}"
            );
        } else {
            let (p, nh) = (fam.prefix(&mut rng), next_hop(&mut rng, v6));
            fib.add(p, nh).unwrap();
            naive.0.insert(p, nh);
        }
        if step % 10 == 0 {
            check(&fib, &naive, &fam, &mut rng, 200, step);
        }
    }
    // Deleting everything empties the tables: groups folded, next hops released.
    check(&fib, &naive, &fam, &mut rng, 200, steps);
    for p in naive.0.keys() {
        fib.delete(*p).unwrap();
    }
    assert!(fib.is_empty());
    let m = fib.memory();
    assert_eq!((m.v4_groups, m.v6_groups, fib.next_hop_count()), (0, 0, 0));
}

#[test]
fn ipv4_matches_the_linear_scan() {
    for seed in 1..=4 {
        run(false, seed, 600);
    }
}

#[test]
fn ipv6_matches_the_linear_scan() {
    for seed in 1..=4 {
        run(true, seed, 600);
    }
}
