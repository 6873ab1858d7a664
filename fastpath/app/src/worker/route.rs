//! Sending by destination: when the configuration has routes (static or the kernel's), each
//! packet's destination is looked up in the FIB, a burst at a time, and its next hop's MAC
//! in the neighbour table; packets leave grouped by (port, MAC). Without routes a port sends
//! everything to its one next hop (`transmit::frame_and_send`), as before. A packet without a
//! route gets its sender an ICMP error ([`super::unreachable`]); one whose neighbour is
//! unresolved waits ([`super::holding`]). What a worker routes with (the FIB, the
//! neighbours, the lookups) is [`super::router`]; here is the worker's side: the burst, the
//! held packets released, the errors sent.

use super::holding::{Released, Waiting};
use super::router::{destination, neighbour_mac, Hop, Router};
use super::transmit::{frame, frame_one};
use super::unreachable::{error_source, source};
use super::{Worker, BURST};
use crate::ether;
use arrayvec::ArrayVec;
use dpdk::mbuf::{Mbuf, MbufBurst};
use esp::icmp::IPV6_MIN_MTU;
use fib::{NhId, NO_ROUTE};

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

impl Worker {
    /// Once per poll loop: sends the held packets whose neighbour became known, drops those
    /// that waited too long. Costs a branch while nothing is held.
    pub(super) fn release_held(&mut self, now_ns: u64) {
        let Some(router) = self.router.as_mut() else {
            return;
        };
        router.now_ns = now_ns;
        if router.holding.is_empty() {
            return;
        }
        let Router {
            holding,
            neighbours,
            ..
        } = router;
        let ports = &self.ports;
        let mut out = Released::new();
        let expired = holding.release(
            now_ns,
            |w| neighbour_mac(neighbours, ports, w.at, w.port, w.addr),
            &mut out,
        );
        self.counters.held_dropped += expired as u64;
        self.counters.held_sent += out.len() as u64;
        let mut group = MbufBurst::<BURST>::default();
        let mut group_to = None;
        for (w, mac, m) in out {
            if group_to != Some((w.at, mac)) {
                self.send_held(group_to, &mut group);
                group_to = Some((w.at, mac));
            }
            let _ = group.push(m);
        }
        self.send_held(group_to, &mut group);
    }

    fn send_held(&mut self, to: Option<(usize, [u8; 6])>, group: &mut MbufBurst<BURST>) {
        if let Some((at, mac)) = to {
            send_group(self, at, mac, group);
        }
    }

    /// A packet whose neighbour is unresolved: held (what it pushes out is dropped).
    pub(super) fn hold(&mut self, router: &mut Router, key: Waiting, m: Mbuf) {
        self.counters.held += 1;
        if router.holding.hold(key, m, router.now_ns).is_some() {
            self.counters.held_dropped += 1;
        }
    }
}

impl Worker {
    /// A packet without a route: counted, and its sender told if the rules and the bucket
    /// allow (never the node itself: its own packets have no one else to tell).
    pub(super) fn no_route(&mut self, router: &mut Router, m: &Mbuf) {
        self.counters.no_route += 1;
        let p = m.data();
        let Some(from) = source(p).filter(|s| !self.locals.contains(s)) else {
            return;
        };
        let Some(src) = error_source(&self.locals, from) else {
            return;
        };
        let mut buf = [0u8; IPV6_MIN_MTU];
        let Some(len) = esp::icmp::unreachable(src, p, &mut buf) else {
            return;
        };
        if !router.unreachable.bucket.take(router.now_ns) {
            self.counters.icmp_unreachable_rate_limited += 1;
            return;
        }
        let Some(mut e) = self.mtu.pool.alloc() else {
            self.mtu.counters.dropped += 1;
            return;
        };
        let Some(out) = e.append(len as u16) else {
            self.mtu.counters.dropped += 1;
            return;
        };
        out.copy_from_slice(&buf[..len]);
        if router.unreachable.pending.push(e).is_ok() {
            self.counters.icmp_unreachable_sent += 1;
        }
    }

    /// Sends the errors of a burst that was going to port `to`: what went to the
    /// unprotected side came from the protected one (or the node) and its errors go back
    /// there by the FIB; what went to the protected side was decrypted, and its errors go
    /// through the outbound policy, to be protected like any reply.
    pub(super) fn send_unreachable(&mut self, to: usize, errors: &mut MbufBurst<BURST>) {
        if to != self.protected {
            let back = self.protected;
            return self.route_and_send(back, errors);
        }
        // The outbound path takes frames as received: give each one an Ethernet header.
        for e in errors.as_mut_slice() {
            let version = e.data().first().map_or(4, |b| b >> 4);
            if let Some(h) = e.prepend(ether::HEADER_LEN as u16) {
                ether::write_header(h, [0; 6], [0; 6], version);
            }
        }
        let now_ns = self.router.as_ref().map_or(0, |r| r.now_ns);
        let from = self.protected;
        self.outbound(from, errors, now_ns);
    }
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
