//! Sending by destination: when the configuration has routes (static or the kernel's), each
//! packet's destination is looked up in the FIB, a burst at a time, and its next hop's MAC
//! in the neighbour table; packets leave grouped by (port, MAC). Without routes a port sends
//! everything to its one next hop (`transmit::frame_and_send`), as before. A packet without a
//! route gets its sender an ICMP error ([`super::unreachable`]); one whose neighbour is
//! unresolved waits ([`super::holding`]).

use super::holding::{Holding, Waiting};
use super::transmit::{frame, frame_one};
use super::unreachable::Unreachable;
use super::{PortJob, Worker, BURST};
use arrayvec::ArrayVec;
use crossbeam_queue::ArrayQueue;
use dpdk::mbuf::{Mbuf, MbufBurst};
use fib::{FibReader, NextHopKind, NhId, NO_ROUTE};
use mirror::NeighbourReader;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Destinations a worker asks the resolver to solicit, at most one per burst (the resolver
/// paces the solicitations itself); a full queue drops the request, a later burst asks again.
pub type ResolveRequests = Arc<ArrayQueue<(u16, IpAddr)>>;

/// What a worker reads to route: the FIB, the neighbours, and where to ask for resolution;
/// and what it keeps for the exceptions: packets held for their neighbour, the no-route
/// errors, and the poll loop's clock they are timed by. (Boxed: the router moves out of the
/// worker and back for each burst, a few words, not the 3.5 kB of those two.)
pub struct Router {
    pub fib: FibReader,
    pub neighbours: NeighbourReader,
    pub resolve: ResolveRequests,
    pub holding: Box<Holding<Mbuf>>,
    pub unreachable: Box<Unreachable>,
    pub now_ns: u64,
}

/// A packet's destination address (the IP header starts the data).
fn destination(m: &Mbuf) -> Option<IpAddr> {
    let d = m.data();
    match d.first()? >> 4 {
        4 => {
            let a: [u8; 4] = d.get(16..20)?.try_into().ok()?;
            Some(IpAddr::from(a))
        }
        6 => {
            let a: [u8; 16] = d.get(24..40)?.try_into().ok()?;
            Some(IpAddr::from(a))
        }
        _ => None,
    }
}

/// Where packets of one next hop go: the port's index and, for a gateway, its MAC (`None`
/// while unresolved); a connected next hop's MAC depends on each destination.
#[derive(Clone, Copy)]
enum Hop {
    Gateway(usize, u16, IpAddr, Option<[u8; 6]>),
    Connected(usize, u16),
    Nowhere,
}

/// The MAC of `addr` on port `port` (the index `at` in `ports`); an unspecified address is
/// the port's own next hop (`peer-mac` / `next-hop`, the default route it stands for).
pub(super) fn neighbour_mac(
    neighbours: &NeighbourReader,
    ports: &[super::PortIo],
    at: usize,
    port: u16,
    addr: IpAddr,
) -> Option<[u8; 6]> {
    if addr.is_unspecified() {
        let resolved = ports[at].next_hop_mac.load(Ordering::Relaxed);
        return Some(if resolved != 0 {
            toolkit::mac::MacAddr::from_u64(resolved).octets()
        } else {
            ports[at].peer_mac
        });
    }
    neighbours.mac(port, addr).map(|m| m.octets())
}

impl Router {
    pub fn new(fib: FibReader, neighbours: NeighbourReader, resolve: ResolveRequests) -> Router {
        Router {
            fib,
            neighbours,
            resolve,
            holding: Box::default(),
            unreachable: Box::default(),
            now_ns: 0,
        }
    }

    fn mac(&self, ports: &[super::PortIo], at: usize, port: u16, addr: IpAddr) -> Option<[u8; 6]> {
        neighbour_mac(&self.neighbours, ports, at, port, addr)
    }

    /// The next-hop id of each packet of `burst` into `found` (`NO_ROUTE`: none); returns
    /// the set of packets with an IP destination (bit i for packet i). IPv4 in one batch
    /// lookup (the table reads overlap), IPv6 one by one.
    fn look_up(&self, burst: &[Mbuf], found: &mut [u32]) -> u64 {
        let mut v4 = [0u32; BURST];
        let mut v4_at = [0u8; BURST];
        let mut n4 = 0;
        let mut routable = 0u64;
        for (i, (m, f)) in burst.iter().zip(found.iter_mut()).enumerate().take(BURST) {
            match destination(m) {
                Some(IpAddr::V4(a)) => {
                    v4[n4] = a.into();
                    v4_at[n4] = i as u8;
                    n4 += 1;
                }
                Some(IpAddr::V6(a)) => *f = self.fib.lookup_v6(a.into()).map_or(NO_ROUTE, |i| i.0),
                None => continue,
            }
            routable |= 1 << i;
        }
        if n4 == found.len() {
            // All IPv4 (the usual burst): straight into place.
            self.fib.lookup_v4_burst_ids(&v4[..n4], found);
        } else {
            let mut found4 = [NO_ROUTE; BURST];
            self.fib.lookup_v4_burst_ids(&v4[..n4], &mut found4[..n4]);
            for (&at, id) in v4_at[..n4].iter().zip(found4) {
                found[at as usize] = id;
            }
        }
        routable
    }

    /// The hop of a destination without a route: port `to`'s own next hop, if it has one.
    fn default_hop(&self, ports: &[super::PortIo], to: usize) -> Hop {
        if !ports[to].default_route {
            return Hop::Nowhere;
        }
        let (port, any) = (ports[to].port, IpAddr::from([0u8; 4]));
        Hop::Gateway(to, port, any, self.mac(ports, to, port, any))
    }

    fn hop(&self, ports: &[super::PortIo], id: NhId) -> Hop {
        let Some(nh) = self.fib.next_hop(id) else {
            return Hop::Nowhere;
        };
        let at = ports
            .iter()
            .position(|p| p.port == nh.port && !matches!(p.job, PortJob::Exception { .. }));
        match (at, nh.kind) {
            (Some(at), NextHopKind::Gateway(g)) => {
                Hop::Gateway(at, nh.port, g, self.mac(ports, at, nh.port, g))
            }
            (Some(at), NextHopKind::Connected) => Hop::Connected(at, nh.port),
            _ => Hop::Nowhere,
        }
    }
}

/// A packet's group in `route_and_send` when it is not sent.
const DROP: u8 = u8::MAX;

/// One next hop's packets in a burst: where they leave, to whom, and the bytes framed so far.
struct Group {
    at: usize,
    mac: [u8; 6],
    bytes: u64,
}

/// The groups of one burst, in the order their first packet came.
#[derive(Default)]
struct Groups(ArrayVec<Group, BURST>);

impl Groups {
    /// The index of the group of (at, mac), added if new (a burst has at most BURST packets,
    /// so it never runs out).
    #[inline]
    fn of(&mut self, at: usize, mac: [u8; 6]) -> u8 {
        match self.0.iter().position(|g| g.at == at && g.mac == mac) {
            Some(s) => s as u8,
            None => {
                self.0.push(Group { at, mac, bytes: 0 });
                (self.0.len() - 1) as u8
            }
        }
    }
}

impl Worker {
    /// Looks up each packet's destination, frames it for its next hop and sends it; packets
    /// without a route are dropped and counted (their senders told), those whose neighbour is
    /// unresolved held.
    /// A destination without a route leaves by port `to` when that port has a next hop of
    /// its own (`peer-mac` / `next-hop`: the default route of the packets its role sends).
    pub(super) fn route_and_send<const N: usize>(&mut self, to: usize, burst: &mut MbufBurst<N>) {
        // Out of `self` for the burst (a few words moved, nothing allocated).
        let Some(mut router) = self.router.take() else {
            return;
        };
        let n = burst.len().min(BURST);
        let mut found = [NO_ROUTE; BURST];
        let routable = router.look_up(&burst.as_slice()[..n], &mut found[..n]);
        // Each packet's group: next hops are resolved once per distinct id a burst, not once
        // per packet (a burst mostly goes to one or two next hops).
        let mut group = [DROP; BURST];
        let mut groups = Groups::default();
        let mut default = None;
        let mut unresolved = None;
        let mut last: Option<(u32, Hop)> = None;
        let mut waiting = [None::<Waiting>; BURST];
        let mut held = false;
        // The next-hop id and group of the last packet that went to a gateway: a packet of the
        // same id joins that group without its hop, MAC and group looked at again (a burst
        // mostly goes to one next hop).
        let mut same_as_before: Option<(u32, u8)> = None;
        // The destination and source MACs of the last gateway's group: a packet is framed as
        // soon as its group is known, in this pass, instead of in a pass of its own before
        // sending (each packet's mbuf and first line read again).
        let mut last_frame = ([0u8; 6], [0u8; 6]);
        for (i, m) in burst.as_mut_slice().iter_mut().enumerate().take(n) {
            if routable & (1 << i) == 0 {
                self.counters.no_route += 1;
                continue;
            }
            if let Some((id, g)) = same_as_before {
                if id == found[i] {
                    group[i] = g;
                    groups.0[usize::from(g)].bytes += frame_one(m, last_frame.0, last_frame.1);
                    continue;
                }
            }
            let hop = match (found[i], last) {
                (NO_ROUTE, _) => {
                    *default.get_or_insert_with(|| router.default_hop(&self.ports, to))
                }
                (id, Some((c, hop))) if c == id => hop,
                (id, _) => {
                    let hop = router.hop(&self.ports, NhId(id));
                    last = Some((id, hop));
                    hop
                }
            };
            let (at, mac) = match hop {
                Hop::Gateway(at, port, g, mac) => (at, mac.ok_or((port, g))),
                Hop::Connected(at, port) => match destination(m) {
                    Some(d) => (at, router.mac(&self.ports, at, port, d).ok_or((port, d))),
                    None => continue,
                },
                Hop::Nowhere => {
                    self.no_route(&mut router, m);
                    continue;
                }
            };
            match mac {
                Ok(mac) => {
                    let g = groups.of(at, mac);
                    group[i] = g;
                    last_frame = (mac, self.ports[at].mac);
                    groups.0[usize::from(g)].bytes += frame_one(m, mac, self.ports[at].mac);
                    same_as_before =
                        matches!(hop, Hop::Gateway(..)).then_some((found[i], group[i]));
                }
                Err(want) => {
                    self.counters.neighbour_unresolved += 1;
                    unresolved = Some(want);
                    let (port, addr) = want;
                    waiting[i] = Some(Waiting { at, port, addr });
                    held = true;
                }
            }
        }
        // (beyond BURST, never with the callers' bursts: no route looked up)
        self.counters.no_route += (burst.len() - n) as u64;
        if let Some(want) = unresolved {
            // One request per burst; a full queue loses it, the next burst asks again.
            let _ = router.resolve.push(want);
        }
        if held {
            self.hold_waiting(&mut router, burst, &waiting, &mut group);
        }
        router.fib.quiescent();
        let errors = (!router.unreachable.pending.is_empty())
            .then(|| std::mem::take(&mut router.unreachable.pending));
        self.router = Some(router);
        send_groups(self, burst, &groups, &group);
        if let Some(mut errors) = errors {
            self.send_unreachable(to, &mut errors);
        }
    }
}

impl Worker {
    /// Moves the packets of `burst` that wait for a neighbour into the holding queue, the
    /// others (and their groups) closed up behind them (rare: only while a neighbour
    /// resolves, so the common burst never moves).
    fn hold_waiting<const N: usize>(
        &mut self,
        router: &mut Router,
        burst: &mut MbufBurst<N>,
        waiting: &[Option<Waiting>; BURST],
        group: &mut [u8; BURST],
    ) {
        let mut kept = 0;
        for (i, m) in burst.take_all().enumerate() {
            match waiting.get(i).copied().flatten() {
                Some(w) => self.hold(router, w, m),
                None => {
                    if kept < BURST {
                        group[kept] = group.get(i).copied().unwrap_or(DROP);
                    }
                    kept += 1;
                    let _ = burst.push(m);
                }
            }
        }
    }
}

/// Sends each packet of `burst` in its group (framed for it when its group was found); the
/// others are freed. One group (the usual case) leaves as the burst itself: no packet moves.
fn send_groups<const N: usize>(
    w: &mut Worker,
    burst: &mut MbufBurst<N>,
    groups: &Groups,
    group: &[u8; BURST],
) {
    if groups.0.len() <= 1 {
        if burst.len() > BURST || group[..burst.len()].contains(&DROP) {
            let mut i = 0;
            burst.retain(|_| {
                i += 1;
                group.get(i - 1).is_some_and(|&g| g != DROP)
            });
        }
        if let Some(g) = groups.0.first() {
            w.transmit_counted(g.at, burst, g.bytes);
        }
        return;
    }
    let mut left: ArrayVec<Option<Mbuf>, BURST> = burst.take_all().take(BURST).map(Some).collect();
    for (g, to) in groups.0.iter().enumerate() {
        let mut out = MbufBurst::<BURST>::default();
        take_group(&mut left, group, g, |m| {
            let _ = out.push(m);
        });
        w.transmit_counted(to.at, &mut out, to.bytes);
    }
}

/// Takes the packets of group `g` out of `left`, in the burst's order.
fn take_group<T>(left: &mut [Option<T>], group: &[u8], g: usize, mut out: impl FnMut(T)) {
    for (m, _) in left.iter_mut().zip(group).filter(|(_, &k)| k as usize == g) {
        if let Some(m) = m.take() {
            out(m);
        }
    }
}

pub(super) fn send_group<const N: usize>(
    w: &mut Worker,
    at: usize,
    mac: [u8; 6],
    g: &mut MbufBurst<N>,
) {
    let bytes = frame(g, mac, w.ports[at].mac);
    w.transmit_counted(at, g, bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One burst to three next hops interleaved (two on port index 0 with their own MACs,
    /// one on port index 1), and packets without a hop: each next hop gets one group with its
    /// port and MAC, holding exactly its packets in the order they came.
    #[test]
    fn a_burst_to_three_next_hops_splits_into_one_group_each_in_order() {
        let hops = [
            (0, [2, 0, 0, 0, 0, 1]),
            (0, [2, 0, 0, 0, 0, 2]),
            (1, [2, 0, 0, 0, 1, 1]),
        ];
        // Packet i goes to hops[plan[i]]; 3: no route (dropped). Irregular on purpose.
        let plan: Vec<usize> = (0..BURST).map(|i| (i * 7 + i / 5) % 4).collect();
        let mut groups = Groups::default();
        let mut group = [DROP; BURST];
        for (i, &h) in plan.iter().enumerate() {
            if let Some(&(at, mac)) = hops.get(h) {
                group[i] = groups.of(at, mac);
            }
        }
        assert_eq!(groups.0.len(), 3);
        let mut left: Vec<Option<usize>> = (0..BURST).map(Some).collect();
        let mut seen = Vec::new();
        for (g, Group { at, mac, .. }) in groups.0.iter().enumerate() {
            let h = hops.iter().position(|&x| x == (*at, *mac)).unwrap();
            let mut out = Vec::new();
            take_group(&mut left, &group, g, |i| out.push(i));
            let want: Vec<usize> = (0..BURST).filter(|&i| plan[i] == h).collect();
            assert!(!want.is_empty());
            assert_eq!(out, want, "next hop {h} (port index {at}, {mac:?})");
            seen.push(h);
        }
        // Groups come in the order their first packet did; what had no hop is left behind.
        let mut firsts: Vec<usize> = (0..3).collect();
        firsts.sort_by_key(|&h| plan.iter().position(|&p| p == h));
        assert_eq!(seen, firsts);
        let rest: Vec<usize> = left.iter().flatten().copied().collect();
        assert_eq!(
            rest,
            (0..BURST).filter(|&i| plan[i] == 3).collect::<Vec<_>>()
        );
    }
}
