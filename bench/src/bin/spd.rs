//! SPD lookup rate on one core: the tuple space search of `esp::spd` with 1, 1,000 and 100,000
//! policies, next to a linear scan of 1,000 (the ordered list of RFC 4301, first match wins).
//!
//! Run: `cargo run --release -p bench --bin spd [-- SECONDS_PER_CASE]` (default 1).
//!
//! The policy mix is what a gateway carries: IPv4 host-to-host /32 (half with a protocol and a
//! port), IPv4 /24 to /24, IPv6 /128 and /64 pairs, and a DISCARD catch-all per family. One
//! flow in ten misses every specific policy and falls to the catch-all.

#![forbid(unsafe_code)]

use bench::rng::Rng;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use esp::spd::{
    Action, FlowKey, IpNet, Ipv4Net, Ipv6Net, Policy, PortRange, SaBundle, Selector, Spd,
};

fn v4net(addr: u32, len: u8) -> IpNet {
    IpNet::V4(Ipv4Net::new(Ipv4Addr::from(addr), len).unwrap_or_default())
}

fn v6net(addr: u128, len: u8) -> IpNet {
    IpNet::V6(Ipv6Net::new(Ipv6Addr::from(addr), len).unwrap_or_default())
}

/// `n` policies (the first two the catch-alls once n > 1) and one flow per policy that hits it,
/// plus misses.
fn workload(n: u32) -> (Vec<Policy>, Vec<FlowKey>) {
    let mut policies = Vec::new();
    let mut flows = Vec::new();
    let flow = |src: IpAddr, dst: IpAddr, proto, sport, dport| FlowKey {
        src,
        dst,
        proto,
        sport,
        dport,
    };
    if n == 1 {
        policies.push(Policy {
            priority: 10,
            selector: Selector::between(v4net(0x0a00_0000, 24), v4net(0x0a00_0100, 24)),
            action: Action::Protect(SaBundle::single(1)),
        });
        for i in 0..256u32 {
            let src = Ipv4Addr::from(0x0a00_0000 | i).into();
            let dst = Ipv4Addr::from(0x0a00_0100 | (255 - i)).into();
            flows.push(flow(src, dst, 6, 40000, 443));
        }
        return (policies, flows);
    }
    for (src, dst) in [(v4net(0, 0), v4net(0, 0)), (v6net(0, 0), v6net(0, 0))] {
        policies.push(Policy {
            priority: u32::MAX,
            selector: Selector::between(src, dst),
            action: Action::Discard,
        });
    }
    let base6 = 0x2001_0db8u128 << 96;
    for i in 0..n - 2 {
        let action = Action::Protect(SaBundle::single(i));
        let mut selector;
        match i % 8 {
            0..=3 => {
                let (s, d) = (0x0a00_0000 | i, 0xac10_0000 | i);
                selector = Selector::between(v4net(s, 32), v4net(d, 32));
                let mut f = flow(s.into_ip4(), d.into_ip4(), 17, 5000, 5001);
                if i % 2 == 1 {
                    selector.proto = Some(6);
                    selector.dport = PortRange::single(443);
                    f.proto = 6;
                    f.dport = 443;
                }
                flows.push(f);
            }
            4 | 5 => {
                let (s, d) = (0x4000_0000 | (i << 8), 0x8000_0000 | (i << 8));
                selector = Selector::between(v4net(s, 24), v4net(d, 24));
                flows.push(flow((s | 7).into_ip4(), (d | 9).into_ip4(), 1, 8, 0));
            }
            6 => {
                let (s, d) = (base6 | u128::from(i), base6 | (1 << 90) | u128::from(i));
                selector = Selector::between(v6net(s, 128), v6net(d, 128));
                flows.push(flow(
                    Ipv6Addr::from(s).into(),
                    Ipv6Addr::from(d).into(),
                    6,
                    1,
                    2,
                ));
            }
            _ => {
                let (s, d) = (
                    base6 | (u128::from(i) << 64),
                    base6 | (1 << 90) | (u128::from(i) << 64),
                );
                selector = Selector::between(v6net(s, 64), v6net(d, 64));
                flows.push(flow(
                    Ipv6Addr::from(s | 5).into(),
                    Ipv6Addr::from(d | 6).into(),
                    17,
                    1,
                    2,
                ));
            }
        }
        policies.push(Policy {
            priority: 10 + i % 3,
            selector,
            action,
        });
        if i % 9 == 0 {
            // A miss: right addresses, wrong port, or an unknown IPv6 destination.
            if let Some(&last) = flows.last() {
                let mut miss = last;
                miss.dport = 444;
                miss.proto = 6;
                if let IpAddr::V6(a) = miss.dst {
                    miss.dst = Ipv6Addr::from(u128::from(a) ^ (1 << 100)).into();
                }
                flows.push(miss);
            }
        }
    }
    (policies, flows)
}

trait IntoIp4 {
    fn into_ip4(self) -> IpAddr;
}
impl IntoIp4 for u32 {
    fn into_ip4(self) -> IpAddr {
        Ipv4Addr::from(self).into()
    }
}

/// Up to 65,536 of the flows, shuffled, so that the lookups do not walk memory in order.
fn sample(flows: &[FlowKey], rng: &mut Rng) -> Vec<FlowKey> {
    let mut out: Vec<FlowKey> = (0..flows.len().clamp(1, 65_536))
        .map(|_| flows[(rng.next_u64() % flows.len() as u64) as usize])
        .collect();
    for i in (1..out.len()).rev() {
        out.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
    out
}

/// The reference: policies in SPD order, first match wins.
struct Linear(Vec<Policy>);
impl Linear {
    fn new(policies: &[Policy]) -> Linear {
        let mut v = policies.to_vec();
        // Stable: equal priorities keep insertion order.
        v.sort_by_key(|p| p.priority);
        Linear(v)
    }
    fn lookup(&self, key: &FlowKey) -> Option<&Policy> {
        self.0.iter().find(|p| p.selector.matches(key))
    }
}

/// Runs `lookup` over the flows for about `budget`; returns lookups per second.
fn measure(flows: &[FlowKey], budget: Duration, mut lookup: impl FnMut(&FlowKey) -> u32) -> f64 {
    let mut done = 0u64;
    let mut sum = 0u32;
    let start = Instant::now();
    while start.elapsed() < budget {
        for f in flows {
            sum = sum.wrapping_add(lookup(black_box(f)));
        }
        done += flows.len() as u64;
    }
    black_box(sum);
    done as f64 / start.elapsed().as_secs_f64()
}

fn tag(p: Option<&Policy>) -> u32 {
    match p.map(|p| p.action) {
        Some(Action::Protect(b)) => b.first(),
        Some(Action::Bypass) => 1,
        Some(Action::Discard) => 2,
        None => 3,
    }
}

fn main() {
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let budget = Duration::from_secs_f64(secs.max(0.01));
    let mut rng = Rng(0x5eed_5eed_5eed_5eed);
    println!(
        "{:>9}  {:<18}  {:>12}  {:>10}",
        "policies", "lookup", "lookups/s", "ns/lookup"
    );
    for n in [1u32, 1_000, 100_000] {
        let (policies, flows) = workload(n);
        let mut spd = Spd::new();
        for p in &policies {
            spd.insert(*p);
        }
        let flows = sample(&flows, &mut rng);
        let linear = Linear::new(&policies);
        // Both must agree before either is timed.
        for f in flows.iter().take(2_000) {
            assert_eq!(spd.lookup(f).map(|(_, p)| p), linear.lookup(f), "{f:?}");
        }
        let rate = measure(&flows, budget, |f| tag(spd.lookup(f).map(|(_, p)| p)));
        println!(
            "{:>9}  {:<18}  {:>12.0}  {:>10.1}",
            n,
            "tuple space",
            rate,
            1e9 / rate
        );
        if n == 1_000 {
            let rate = measure(&flows, budget, |f| tag(linear.lookup(f)));
            println!(
                "{:>9}  {:<18}  {:>12.0}  {:>10.1}",
                n,
                "linear scan",
                rate,
                1e9 / rate
            );
        }
    }
}
