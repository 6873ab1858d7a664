//! SPD lookup rate on one core: the tuple space search of `esp::spd` with 1, 1,000 and 100,000
//! policies, one key at a time (`lookup`) and in bursts of 32 (`lookup_burst`: each burst's
//! probes asked for, then looked up; the worker asks for them while it classifies the packets,
//! which this bench has no work to stand for), next to a linear scan of 1,000 (the ordered
//! list of RFC 4301, first match wins).
//!
//! Run: `cargo run --release -p bench --bin spd [-- SECONDS_PER_CASE]` (default 1).
//!
//! The policy mix is what a gateway carries: IPv4 host-to-host /32 (half with a protocol and a
//! port), IPv4 /24 to /24, IPv6 /128 and /64 pairs, and a DISCARD catch-all per family. One
//! flow in ten misses every specific policy and falls to the catch-all. The `one shape` rows
//! are the 100,000 policies of the side-by-side harness's many-SA cell (`sa_scale_inputs`):
//! `src 198.51.100.0/24 dst 10.0.0.0+i/32`, all of one priority.

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

/// Makes `n` policies and flows that hit them.
type Workload = fn(u32) -> (Vec<Policy>, Vec<FlowKey>);

/// The side-by-side harness's many-SA policies: one per destination host, one shape.
fn one_shape(n: u32) -> (Vec<Policy>, Vec<FlowKey>) {
    (0..n)
        .map(|i| {
            let dst = 0x0a00_0000 + i;
            let policy = Policy {
                priority: 1,
                selector: Selector::between(v4net(0xc633_6400, 24), v4net(dst, 32)),
                action: Action::Protect(SaBundle::single(i + 1)),
            };
            let flow = FlowKey {
                src: 0xc633_6401.into_ip4(),
                dst: dst.into_ip4(),
                proto: 17,
                sport: 1024,
                dport: 1024,
            };
            (policy, flow)
        })
        .unzip()
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

/// As [`measure`], with the flows looked up `BURST` at a time.
fn measure_burst(flows: &[FlowKey], budget: Duration, spd: &Spd) -> f64 {
    const BURST: usize = 32;
    let mut out = [None; BURST];
    let mut done = 0u64;
    let mut sum = 0u32;
    let start = Instant::now();
    while start.elapsed() < budget {
        for chunk in flows.chunks(BURST) {
            spd.lookup_burst(black_box(chunk), &mut out);
            for hit in &out[..chunk.len()] {
                sum = sum.wrapping_add(tag(hit.map(|h| h.policy)));
            }
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
        "{:>9}  {:<10}  {:<18}  {:>12}  {:>10}",
        "policies", "mix", "lookup", "lookups/s", "ns/lookup"
    );
    let cases: [(u32, &str, Workload); 4] = [
        (1, "mix", workload),
        (1_000, "mix", workload),
        (100_000, "mix", workload),
        (100_000, "one shape", one_shape),
    ];
    for (n, mix, make) in cases {
        let (policies, flows) = make(n);
        let mut spd = Spd::new();
        for p in &policies {
            spd.insert(*p);
        }
        let flows = sample(&flows, &mut rng);
        let linear = Linear::new(&policies);
        // Both must agree before either is timed, one at a time and in a burst.
        let check = &flows[..flows.len().min(2_000)];
        let mut burst = vec![None; check.len()];
        spd.lookup_burst(check, &mut burst);
        for (f, b) in check.iter().zip(&burst) {
            assert_eq!(spd.lookup(f).map(|(_, p)| p), linear.lookup(f), "{f:?}");
            assert_eq!(b.map(|h| h.policy), linear.lookup(f), "{f:?}");
        }
        let row = |what: &str, rate: f64| {
            println!(
                "{:>9}  {:<10}  {:<18}  {:>12.0}  {:>10.1}",
                n,
                mix,
                what,
                rate,
                1e9 / rate
            );
        };
        row(
            "tuple space",
            measure(&flows, budget, |f| tag(spd.lookup(f).map(|(_, p)| p))),
        );
        row("tuple space burst", measure_burst(&flows, budget, &spd));
        if n == 1_000 {
            row(
                "linear scan",
                measure(&flows, budget, |f| tag(linear.lookup(f))),
            );
        }
    }
}
