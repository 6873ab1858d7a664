//! What a worker routes with: the FIB, the neighbour table, the queue of addresses to
//! resolve, and the state of its exceptions (held packets, no-route errors); the lookup of a
//! burst's next hops and their MACs. Sending is `route`.

use super::holding::Holding;
use super::unreachable::Unreachable;
use super::{PortJob, BURST};
use crossbeam_queue::ArrayQueue;
use dpdk::mbuf::Mbuf;
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
pub(super) fn destination(m: &Mbuf) -> Option<IpAddr> {
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
pub(super) enum Hop {
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

    pub(super) fn mac(
        &self,
        ports: &[super::PortIo],
        at: usize,
        port: u16,
        addr: IpAddr,
    ) -> Option<[u8; 6]> {
        neighbour_mac(&self.neighbours, ports, at, port, addr)
    }

    /// The next-hop id of each packet of `burst` into `found` (`NO_ROUTE`: none); returns
    /// the set of packets with an IP destination (bit i for packet i). IPv4 in one batch
    /// lookup (the table reads overlap), IPv6 one by one.
    pub(super) fn look_up(&self, burst: &[Mbuf], found: &mut [u32]) -> u64 {
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
    pub(super) fn default_hop(&self, ports: &[super::PortIo], to: usize) -> Hop {
        if !ports[to].default_route {
            return Hop::Nowhere;
        }
        let (port, any) = (ports[to].port, IpAddr::from([0u8; 4]));
        Hop::Gateway(to, port, any, self.mac(ports, to, port, any))
    }

    pub(super) fn hop(&self, ports: &[super::PortIo], id: NhId) -> Hop {
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
