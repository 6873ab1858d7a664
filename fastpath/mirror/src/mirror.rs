//! The mirror's state, without I/O: rtnetlink messages in, FIB routes and neighbours out.
//!
//! It holds the kernel's routes of the mirrored table that lead through one of the fast path's
//! TAPs (directly or by a nexthop object), and installs the best of each prefix in the FIB. A prefix the FIB held before the kernel taught one (a static
//! route of the configuration) is put back when the kernel's routes to it are gone.

use crate::counters::Counters;
use crate::held::{Held, Map};
use crate::neighbours::Neighbours;
use crate::nexthop::KernelNextHop;
use crate::translate::{self, Hop, KernelRoute, Skipped};
use fib::{Fib, NextHop, Prefix};
use netlink_packet_route::RouteNetlinkMessage;
use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;
use toolkit::MacAddr;

/// The main table, where `ip route` writes unless told otherwise.
pub const MAIN_TABLE: u32 = 254;

#[derive(Clone, Debug)]
pub struct MirrorConfig {
    /// Each exception TAP's kernel name and the fast path port it stands for.
    pub taps: Vec<(String, u16)>,
    /// The kernel table mirrored.
    pub table: u32,
}

/// What the kernel says: the rtnetlink messages the crate models, and nexthop objects.
#[derive(Clone, Debug)]
pub enum Event {
    Rt(RouteNetlinkMessage),
    NewNextHop(KernelNextHop),
    DelNextHop(KernelNextHop),
}

pub struct Mirror {
    taps: Map<String, u16>,
    table: u32,
    /// The ifindex of each TAP that exists and is up, to its port.
    ports: Map<u32, u16>,
    held: Held,
    /// What the mirror has put in the FIB, per prefix.
    installed: Map<Prefix, NextHop>,
    /// What the FIB held for a prefix before the kernel's route replaced it.
    shadowed: Map<Prefix, NextHop>,
    fib: Fib,
    neighbours: Neighbours,
    counters: Arc<Counters>,
    resync_wanted: bool,
}

impl Mirror {
    pub fn new(
        config: &MirrorConfig,
        fib: Fib,
        neighbours: Neighbours,
        counters: Arc<Counters>,
    ) -> Mirror {
        Mirror {
            taps: config.taps.iter().cloned().collect(),
            table: config.table,
            ports: Map::default(),
            held: Held::default(),
            installed: Map::default(),
            shadowed: Map::default(),
            fib,
            neighbours,
            counters,
            resync_wanted: false,
        }
    }

    pub fn fib(&self) -> &Fib {
        &self.fib
    }

    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    pub fn neighbours(&self) -> &Neighbours {
        &self.neighbours
    }

    /// Whether the FIB's entry for `prefix` is the kernel's (else static, or none).
    pub fn is_kernel_route(&self, prefix: &Prefix) -> bool {
        self.installed.contains_key(prefix)
    }

    pub fn into_parts(self) -> (Fib, Neighbours) {
        (self.fib, self.neighbours)
    }

    /// A TAP came up since the last call: its routes and neighbours should be read afresh.
    pub fn take_resync_wanted(&mut self) -> bool {
        std::mem::take(&mut self.resync_wanted)
    }

    /// One event as the kernel multicasts it.
    pub fn apply(&mut self, event: &Event) {
        let msg = match event {
            Event::Rt(msg) => msg,
            Event::NewNextHop(nh) => {
                let affected = self.held.set_object(nh.clone());
                return self.install_all(affected);
            }
            Event::DelNextHop(nh) => {
                let affected = self.held.remove_object(nh.id);
                return self.install_all(affected);
            }
        };
        match msg {
            RouteNetlinkMessage::NewLink(l) => self.link(translate::link(l)),
            RouteNetlinkMessage::DelLink(l) => {
                let gone = translate::link(l);
                self.link(translate::KernelLink { up: false, ..gone })
            }
            RouteNetlinkMessage::NewRoute(r) => {
                if let Some(route) = self.accept(r) {
                    self.held.hold(route);
                    self.install(route.prefix);
                }
            }
            RouteNetlinkMessage::DelRoute(r) => {
                if let Some(route) = self.accept(r) {
                    self.held.drop_where(route.prefix, |r| *r == route);
                    self.install(route.prefix);
                }
            }
            RouteNetlinkMessage::NewNeighbour(n) => {
                self.neighbour(n, false);
            }
            RouteNetlinkMessage::DelNeighbour(n) => {
                self.neighbour(n, true);
            }
            _ => {}
        }
    }

    /// Publishes or withdraws one neighbour of a TAP; returns it if it is now published.
    fn neighbour(
        &mut self,
        msg: &netlink_packet_route::neighbour::NeighbourMessage,
        deleted: bool,
    ) -> Option<(u16, IpAddr)> {
        let n = translate::neighbour(msg)?;
        let port = *self.ports.get(&n.ifindex)?;
        match n.mac.filter(|_| !deleted) {
            Some(mac) => {
                self.set_neighbour(port, n.addr, mac);
                Some((port, n.addr))
            }
            None => {
                self.remove_neighbour(port, n.addr);
                None
            }
        }
    }

    /// A route of the mirrored table via one of the TAPs or a nexthop object (which may lead
    /// through one now or later), counting the others.
    fn accept(&self, msg: &netlink_packet_route::route::RouteMessage) -> Option<KernelRoute> {
        let c = &self.counters;
        match translate::route(msg, self.table, |i| self.ports.contains_key(&i)) {
            Ok(r) if matches!(r.hop, Hop::Direct { oif, .. } if !self.ports.contains_key(&oif)) => {
                Counters::bump(&c.skipped_foreign_interface);
                None
            }
            Ok(r) => Some(r),
            Err(why) => {
                Counters::bump(match why {
                    Skipped::NotUnicast => &c.skipped_not_unicast,
                    Skipped::OtherTable => &c.skipped_other_table,
                    Skipped::NoInterface => &c.skipped_foreign_interface,
                    Skipped::Cloned | Skipped::Unusable => &c.skipped_other,
                });
                None
            }
        }
    }

    fn install_all(&mut self, prefixes: Vec<Prefix>) {
        for prefix in prefixes {
            self.install(prefix);
        }
    }

    /// Brings the FIB's entry for `prefix` to the best route held, if it is not there already.
    fn install(&mut self, prefix: Prefix) {
        let now = self.held.best(&prefix, &self.ports);
        let before = self.installed.get(&prefix).copied();
        if now == before {
            return;
        }
        let c = &self.counters;
        match now {
            Some(nh) => {
                if before.is_none() {
                    if let Some(old) = self.fib.get(&prefix) {
                        self.shadowed.insert(prefix, old);
                    }
                }
                match self.fib.add(prefix, nh) {
                    Ok(()) => {
                        Counters::bump(&c.routes_set);
                        self.installed.insert(prefix, nh);
                    }
                    Err(e) => {
                        Counters::bump(&c.fib_errors);
                        tracing::warn!("kernel route {prefix} not mirrored: {e}");
                    }
                }
            }
            None => {
                self.installed.remove(&prefix);
                let done = match self.shadowed.remove(&prefix) {
                    Some(old) => self.fib.add(prefix, old),
                    None => self.fib.delete(prefix).map(|_| ()),
                };
                match done {
                    Ok(()) => Counters::bump(&c.routes_removed),
                    Err(_) => Counters::bump(&c.fib_errors),
                }
            }
        }
    }

    fn set_neighbour(&mut self, port: u16, addr: IpAddr, mac: MacAddr) {
        match self.neighbours.set(port, addr, mac) {
            Ok(true) => Counters::bump(&self.counters.neighbours_set),
            Ok(false) => {}
            Err(_) => Counters::bump(&self.counters.neighbours_full),
        }
    }

    fn remove_neighbour(&mut self, port: u16, addr: IpAddr) {
        if self.neighbours.remove(port, addr) {
            Counters::bump(&self.counters.neighbours_removed);
        }
    }

    /// A link appeared, changed or went away. A TAP that goes down or away takes its routes and
    /// neighbours with it (the kernel flushes IPv4 routes of a down link without telling).
    fn link(&mut self, link: translate::KernelLink) {
        let port = link
            .name
            .as_ref()
            .and_then(|n| self.taps.get(n))
            .copied()
            .filter(|_| link.up);
        let old = self.ports.get(&link.index).copied();
        if old == port {
            return;
        }
        if let Some(old) = old {
            self.forget_interface(link.index, old);
        }
        if let Some(port) = port {
            self.ports.insert(link.index, port);
            self.resync_wanted = true;
        }
    }

    fn forget_interface(&mut self, index: u32, port: u16) {
        self.ports.remove(&index);
        let affected = self.held.drop_interface(index);
        self.install_all(affected);
        let stale: Vec<IpAddr> = (self.neighbours.iter())
            .filter(|&(p, _, _)| p == port)
            .map(|(_, a, _)| a)
            .collect();
        for addr in stale {
            self.remove_neighbour(port, addr);
        }
    }

    /// Rebuilds the kernel-learned state from a full dump (links, then routes and neighbours),
    /// at start and after an overrun lost events. Routes and neighbours the dump no longer
    /// holds are removed; static routes are left alone.
    pub fn resync(&mut self, dump: &[Event]) {
        let mut resync = self.begin_resync();
        let is_link = |e: &&Event| matches!(e, Event::Rt(RouteNetlinkMessage::NewLink(_)));
        // Links first, whatever the order: routes are accepted by their interface.
        for event in dump.iter().filter(is_link) {
            self.resync_event(&mut resync, event);
        }
        for event in dump.iter().filter(|e| !is_link(e)) {
            self.resync_event(&mut resync, event);
        }
        self.end_resync(resync);
    }

    /// Starts reading a full dump, one event at a time (`resync_event`), without holding it
    /// all: a million routes are a few hundred bytes each as messages. The events must come
    /// as the kernel's dumps give them: links before the routes through them.
    pub fn begin_resync(&mut self) -> Resync {
        self.ports.clear();
        Resync {
            old_neighbours: self.neighbours.iter().map(|(p, a, _)| (p, a)).collect(),
            seen_neighbours: HashSet::new(),
            old_routes: std::mem::take(&mut self.held),
        }
    }

    /// One event of the dump that `resync` was started for.
    pub fn resync_event(&mut self, resync: &mut Resync, event: &Event) {
        let msg = match event {
            Event::Rt(msg) => msg,
            Event::NewNextHop(nh) => {
                self.held.set_object(nh.clone());
                return;
            }
            Event::DelNextHop(_) => return,
        };
        match msg {
            RouteNetlinkMessage::NewLink(l) => {
                let l = translate::link(l);
                let port = l
                    .name
                    .as_ref()
                    .and_then(|n| self.taps.get(n))
                    .filter(|_| l.up);
                if let Some(&port) = port {
                    self.ports.insert(l.index, port);
                }
            }
            RouteNetlinkMessage::NewRoute(r) => {
                if let Some(route) = self.accept(r) {
                    self.held.hold(route);
                }
            }
            RouteNetlinkMessage::NewNeighbour(n) => {
                if let Some((port, addr)) = self.neighbour(n, false) {
                    resync.seen_neighbours.insert((port, addr));
                }
            }
            _ => {}
        }
    }

    /// The dump is complete: what it no longer holds goes, the FIB takes what it does.
    pub fn end_resync(&mut self, resync: Resync) {
        let mut pending = self.finish_resync(resync);
        self.install_pending(&mut pending, usize::MAX);
        Counters::bump(&self.counters.resyncs);
    }

    /// `end_resync` in steps: the neighbours the dump no longer holds go now; the prefixes
    /// whose FIB entry may change are returned, for `install_pending` to bring a few at a
    /// time (between steps the FIB holds each prefix's old or new entry, as the workers see it);
    /// the caller counts the resync once they are all in.
    pub fn finish_resync(&mut self, resync: Resync) -> Vec<Prefix> {
        for (port, addr) in resync.old_neighbours.difference(&resync.seen_neighbours) {
            self.remove_neighbour(*port, *addr);
        }
        self.resync_wanted = false;
        // A prefix both installed and held comes twice: its second install finds it done.
        (self.installed.keys())
            .chain(self.held.prefixes())
            .copied()
            .collect()
    }

    /// Installs up to `n` of the prefixes `finish_resync` returned, taking them off `pending`.
    pub fn install_pending(&mut self, pending: &mut Vec<Prefix>, n: usize) {
        let rest = pending.len().saturating_sub(n);
        for prefix in pending.drain(rest..) {
            self.install(prefix);
        }
    }
}

/// A full dump being read: the neighbours held before it, and those it has named so far.
pub struct Resync {
    old_neighbours: HashSet<(u16, IpAddr)>,
    seen_neighbours: HashSet<(u16, IpAddr)>,
    /// The kernel routes held before it, replaced by the dump's.
    old_routes: Held,
}

impl Resync {
    /// Frees the routes held before the dump (a million of them take tens of milliseconds),
    /// for a caller that shares the mirror to do without holding it.
    pub fn free_old_routes(&mut self) {
        self.old_routes = Held::default();
    }
}
