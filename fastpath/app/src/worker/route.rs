//! Sending by destination: when the configuration has routes (static or the kernel's), each
//! packet's destination is looked up in the FIB, a burst at a time, and its next hop's MAC
//! in the neighbour table; packets leave grouped by (port, MAC). Without routes a port sends
//! everything to its one next hop (`transmit::frame_and_send`), as before. A packet without a
//! route gets its sender an ICMP error ([`super::unreachable`]); one whose neighbour is
//! unresolved waits ([`super::holding`]).

use super::holding::{Holding, Waiting};
use super::transmit::frame;
use super::unreachable::Unreachable;
use super::{PortJob, Worker, BURST};
use arrayvec::ArrayVec;
use crossbeam_queue::ArrayQueue;
use dpdk::mbuf::{Mbuf, MbufBurst};
use fib::{FibReader, NextHopKind, NhId};
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

/// (port index, destination MAC) groups of one burst before transmission.
const GROUPS: usize = 8;

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
        let mut dst = [None::<IpAddr>; BURST];
        let mut found = [None::<NhId>; BURST];
        // IPv4 in one batch lookup (the table reads overlap); IPv6 one by one.
        let mut v4 = [0u32; BURST];
        let mut v4_at = [0u8; BURST];
        let mut n4 = 0;
        for (i, m) in burst.as_slice().iter().enumerate().take(n) {
            dst[i] = destination(m);
            match dst[i] {
                Some(IpAddr::V4(a)) => {
                    v4[n4] = a.into();
                    v4_at[n4] = i as u8;
                    n4 += 1;
                }
                Some(IpAddr::V6(a)) => found[i] = router.fib.lookup_v6(a.into()),
                None => {}
            }
        }
        let mut found4 = [None::<NhId>; BURST];
        router.fib.lookup_v4_burst(&v4[..n4], &mut found4[..n4]);
        for (&at, id) in v4_at[..n4].iter().zip(found4) {
            found[at as usize] = id;
        }
        let default = match self.ports[to].default_route {
            true => {
                let (port, any) = (self.ports[to].port, IpAddr::from([0u8; 4]));
                Hop::Gateway(to, port, any, router.mac(&self.ports, to, port, any))
            }
            false => Hop::Nowhere,
        };
        let mut groups: ArrayVec<(usize, [u8; 6], MbufBurst<BURST>), GROUPS> = ArrayVec::new();
        let mut unresolved = None;
        let mut last: Option<(NhId, Hop)> = None;
        for (i, m) in burst.take_all().enumerate() {
            let Some(d) = dst.get(i).copied().flatten() else {
                self.counters.no_route += 1;
                continue;
            };
            let hop = match (found.get(i).copied().flatten(), last) {
                (None, _) => default,
                (Some(id), Some((c, hop))) if c == id => hop,
                (Some(id), _) => {
                    let hop = router.hop(&self.ports, id);
                    last = Some((id, hop));
                    hop
                }
            };
            let (at, mac) = match hop {
                Hop::Gateway(at, port, g, mac) => (at, mac.ok_or((port, g))),
                Hop::Connected(at, port) => {
                    (at, router.mac(&self.ports, at, port, d).ok_or((port, d)))
                }
                Hop::Nowhere => {
                    self.no_route(&mut router, &m);
                    continue;
                }
            };
            let mac = match mac {
                Ok(mac) => mac,
                Err(want) => {
                    self.counters.neighbour_unresolved += 1;
                    unresolved = Some(want);
                    let (port, addr) = want;
                    self.hold(&mut router, Waiting { at, port, addr }, m);
                    continue;
                }
            };
            let slot = match groups.iter().position(|g| g.0 == at && g.1 == mac) {
                Some(s) => s,
                None => {
                    if groups.is_full() {
                        for (at, mac, mut g) in groups.drain(..) {
                            send_group(self, at, mac, &mut g);
                        }
                    }
                    groups.push((at, mac, MbufBurst::default()));
                    groups.len() - 1
                }
            };
            let _ = groups[slot].2.push(m);
        }
        if let Some(want) = unresolved {
            // One request per burst; a full queue loses it, the next burst asks again.
            let _ = router.resolve.push(want);
        }
        router.fib.quiescent();
        let errors = (!router.unreachable.pending.is_empty())
            .then(|| std::mem::take(&mut router.unreachable.pending));
        self.router = Some(router);
        for (at, mac, mut g) in groups {
            send_group(self, at, mac, &mut g);
        }
        if let Some(mut errors) = errors {
            self.send_unreachable(to, &mut errors);
        }
    }
}

fn send_group(w: &mut Worker, at: usize, mac: [u8; 6], g: &mut MbufBurst<BURST>) {
    frame(g, mac, w.ports[at].mac);
    w.transmit(at, g);
}
