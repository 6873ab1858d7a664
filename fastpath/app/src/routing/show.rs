//! What `fastpath-ctl routes` and `neighbours` show: the FIB and the neighbour table as the
//! workers read them, the origin of each route, and the counters.

use super::{Routing, Writer};
use crate::stats::StatsSnapshot;
use fib::{Fib, NextHop, NextHopKind, Prefix};
use ipc::fastpath::{NeighbourInfo, NeighbourList, RouteInfo, Routes};
use mirror::Neighbours;
use std::collections::BTreeMap;

fn route_info(prefix: Prefix, nh: NextHop, origin: &str) -> Option<RouteInfo> {
    let via = match nh.kind {
        NextHopKind::Gateway(g) => Some(g),
        NextHopKind::Connected => None,
        // The mirror installs only gateways and connected routes.
        NextHopKind::Blackhole | NextHopKind::Local => return None,
    };
    Some(RouteInfo {
        prefix: format!("{}/{}", prefix.addr(), prefix.length()),
        port: nh.port,
        via,
        origin: origin.into(),
    })
}

fn fib_routes(fib: &Fib, totals: &StatsSnapshot, origin: impl Fn(&Prefix) -> bool) -> Routes {
    let (ipv4, ipv6) = fib.len();
    Routes {
        enabled: true,
        kernel_routes: false,
        routes: fib
            .routes()
            .filter_map(|(p, nh)| route_info(p, nh, if origin(&p) { "kernel" } else { "static" }))
            .collect(),
        ipv4,
        ipv6,
        next_hops: fib.next_hop_count(),
        no_route: totals.port.no_route,
        neighbour_unresolved: totals.port.neighbour_unresolved,
        mirror: BTreeMap::new(),
    }
}

/// The FIB (None: routing is off, each port sends to its one next hop).
pub fn route_list(routing: Option<&Routing>, totals: &StatsSnapshot) -> Routes {
    let Some(routing) = routing else {
        return Routes {
            no_route: totals.port.no_route,
            ..Routes::default()
        };
    };
    match &routing.writer {
        Writer::Static { fib, .. } => {
            let fib = fib.lock().unwrap_or_else(|p| p.into_inner());
            fib_routes(&fib, totals, |_| false)
        }
        Writer::Kernel(subscriber) => {
            let c = subscriber.counters().snapshot();
            let mirror = subscriber.lock();
            let mut routes = fib_routes(mirror.fib(), totals, |p| mirror.is_kernel_route(p));
            routes.kernel_routes = true;
            routes.mirror = BTreeMap::from([
                ("routes_set".into(), c.routes_set),
                ("routes_removed".into(), c.routes_removed),
                (
                    "skipped_foreign_interface".into(),
                    c.skipped_foreign_interface,
                ),
                ("skipped_not_unicast".into(), c.skipped_not_unicast),
                ("skipped_other_table".into(), c.skipped_other_table),
                ("skipped_other".into(), c.skipped_other),
                ("fib_errors".into(), c.fib_errors),
                ("neighbours_set".into(), c.neighbours_set),
                ("neighbours_removed".into(), c.neighbours_removed),
                ("neighbours_full".into(), c.neighbours_full),
                ("resyncs".into(), c.resyncs),
                ("overruns".into(), c.overruns),
                ("malformed".into(), c.malformed),
            ]);
            routes
        }
    }
}

fn neighbour_infos(n: &Neighbours) -> Vec<NeighbourInfo> {
    let mut all: Vec<NeighbourInfo> = n
        .iter()
        .map(|(port, addr, mac)| NeighbourInfo {
            port,
            addr,
            mac,
            state: "reachable".into(),
        })
        .collect();
    all.sort_by_key(|n| (n.port, n.addr));
    all
}

/// The neighbour table the workers read.
pub fn neighbour_list(routing: Option<&Routing>, totals: &StatsSnapshot) -> NeighbourList {
    let unresolved = totals.port.neighbour_unresolved;
    match routing.map(|r| &r.writer) {
        None => NeighbourList {
            source: "none (routing off: each port's next-hop, see ports)".into(),
            ..NeighbourList::default()
        },
        Some(Writer::Static { neighbours, .. }) => NeighbourList {
            neighbours: neighbour_infos(&neighbours.lock().unwrap_or_else(|p| p.into_inner())),
            source: "resolver".into(),
            neighbour_unresolved: unresolved,
        },
        Some(Writer::Kernel(subscriber)) => NeighbourList {
            neighbours: neighbour_infos(subscriber.lock().neighbours()),
            source: "kernel mirror".into(),
            neighbour_unresolved: unresolved,
        },
    }
}
