//! What `fastpath-ctl routes` and `neighbours` show: the FIB and the neighbour table as the
//! workers read them, the origin of each route, and the counters.

use super::{Routing, Writer};
use crate::stats::StatsSnapshot;
use fib::{Fib, NextHop, NextHopKind, Prefix};
use ipc::fastpath::{NeighbourInfo, NeighbourList, RouteInfo, RouteLookup, RouteQuery, Routes};
use mirror::Neighbours;
use std::collections::BTreeMap;
use std::net::IpAddr;

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

/// Whether `p` lies inside `outer`.
fn inside(p: &Prefix, outer: &Prefix) -> bool {
    let key = |a: IpAddr| match a {
        IpAddr::V4(a) => u128::from(u32::from(a)) << 96,
        IpAddr::V6(a) => u128::from(a),
    };
    // Both families' keys start at the top bit, so the prefix is the key's top `length` bits.
    p.addr().is_ipv4() == outer.addr().is_ipv4()
        && p.length() >= outer.length()
        && (key(p.addr()) ^ key(outer.addr()))
            .checked_shr(128 - u32::from(outer.length()))
            .unwrap_or(0)
            == 0
}

/// `addrs` looked up as a worker would, through a reader of our own (unregistered when done).
fn lookups(fib: &Fib, addrs: &[IpAddr]) -> Vec<RouteLookup> {
    let reader = fib.reader();
    addrs
        .iter()
        .map(|&addr| {
            let nh = reader.lookup(addr).and_then(|id| reader.next_hop(id));
            RouteLookup {
                addr,
                port: nh.map(|nh| nh.port),
                via: nh.and_then(|nh| match nh.kind {
                    NextHopKind::Gateway(g) => Some(g),
                    _ => None,
                }),
            }
        })
        .collect()
}

fn fib_routes(
    fib: &Fib,
    totals: &StatsSnapshot,
    query: &RouteQuery,
    origin: impl Fn(&Prefix) -> bool,
) -> Result<Routes, String> {
    let within = match query.within {
        Some((addr, len)) => Some(Prefix::new(addr, len).map_err(|e| e.to_string())?),
        None => None,
    };
    let mut selected = fib
        .routes()
        .filter(|(p, _)| within.as_ref().is_none_or(|w| inside(p, w)));
    let routes = selected
        .by_ref()
        .take(query.limit.unwrap_or(usize::MAX))
        .filter_map(|(p, nh)| route_info(p, nh, if origin(&p) { "kernel" } else { "static" }))
        .collect::<Vec<_>>();
    let (ipv4, ipv6) = fib.len();
    // Counting the rest walks the FIB once more, without building anything; without a prefix
    // every route is selected, and the writer's counts say how many.
    let selected = match within {
        Some(_) => routes.len() + selected.count(),
        None => ipv4 + ipv6,
    };
    let lookups = if query.lookup.is_empty() {
        Vec::new()
    } else {
        lookups(fib, &query.lookup)
    };
    Ok(Routes {
        enabled: true,
        kernel_routes: false,
        routes,
        selected,
        lookups,
        ipv4,
        ipv6,
        next_hops: fib.next_hop_count(),
        no_route: totals.port.no_route,
        neighbour_unresolved: totals.port.neighbour_unresolved,
        mirror: BTreeMap::new(),
    })
}

/// The FIB (None: routing is off, each port sends to its one next hop).
pub fn route_list(
    routing: Option<&Routing>,
    totals: &StatsSnapshot,
    query: &RouteQuery,
) -> Result<Routes, String> {
    let Some(routing) = routing else {
        return Ok(Routes {
            no_route: totals.port.no_route,
            ..Routes::default()
        });
    };
    match &routing.writer {
        Writer::Static { fib, .. } => {
            let fib = fib.lock().unwrap_or_else(|p| p.into_inner());
            fib_routes(&fib, totals, query, |_| false)
        }
        Writer::Kernel(subscriber) => {
            let c = subscriber.counters().snapshot();
            let mirror = subscriber.lock();
            let mut routes =
                fib_routes(mirror.fib(), totals, query, |p| mirror.is_kernel_route(p))?;
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
                ("follow_errors".into(), c.follow_errors),
            ]);
            Ok(routes)
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

#[cfg(test)]
mod tests {
    use super::*;
    use fib::FibConfig;

    fn prefix(s: &str) -> Prefix {
        let (a, l) = s.split_once('/').unwrap();
        Prefix::new(a.parse().unwrap(), l.parse().unwrap()).unwrap()
    }

    fn query(limit: Option<usize>, within: Option<&str>, lookup: &[&str]) -> RouteQuery {
        RouteQuery {
            limit,
            within: within.map(|w| (prefix(w).addr(), prefix(w).length())),
            lookup: lookup.iter().map(|a| a.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn a_large_fib_is_shown_by_limit_and_prefix_and_looked_up_by_address() {
        let mut fib = Fib::new(FibConfig::default());
        for i in 0..1000u32 {
            let p = Prefix::new(IpAddr::from((0x0B00_0000 + (i << 8)).to_be_bytes()), 24).unwrap();
            fib.add(p, NextHop::gateway(0, "10.0.0.1".parse().unwrap()))
                .unwrap();
        }
        fib.add(prefix("11.0.0.0/8"), NextHop::connected(1))
            .unwrap();
        fib.add(prefix("2001:db8::/32"), NextHop::connected(1))
            .unwrap();
        let totals = StatsSnapshot::default();
        let all = fib_routes(&fib, &totals, &query(None, None, &[]), |_| false).unwrap();
        assert_eq!(
            (all.routes.len(), all.selected, all.ipv4, all.ipv6),
            (1002, 1002, 1001, 1)
        );
        let some = fib_routes(&fib, &totals, &query(Some(5), None, &[]), |_| false).unwrap();
        assert_eq!((some.routes.len(), some.selected), (5, 1002));
        // 11.0.0.0/22 holds four of the /24s (not the /8 around it, nor the IPv6 prefix).
        let within = query(None, Some("11.0.0.0/22"), &[]);
        let inside = fib_routes(&fib, &totals, &within, |_| true).unwrap();
        let mut shown: Vec<&str> = inside.routes.iter().map(|r| r.prefix.as_str()).collect();
        shown.sort();
        assert_eq!(
            shown,
            ["11.0.0.0/24", "11.0.1.0/24", "11.0.2.0/24", "11.0.3.0/24"]
        );
        assert_eq!(inside.routes[0].origin, "kernel");
        let v6 = fib_routes(&fib, &totals, &query(None, Some("2001::/16"), &[]), |_| {
            false
        });
        assert_eq!(v6.unwrap().selected, 1);
        // The longest match wins; outside every prefix, no route.
        let asked = query(
            Some(0),
            None,
            &["11.0.3.9", "11.200.0.1", "2001:db8::1", "12.0.0.1"],
        );
        let found = fib_routes(&fib, &totals, &asked, |_| false).unwrap();
        let answers: Vec<(Option<u16>, Option<IpAddr>)> =
            found.lookups.iter().map(|l| (l.port, l.via)).collect();
        let gw = Some("10.0.0.1".parse().unwrap());
        assert_eq!(
            answers,
            [
                (Some(0), gw),
                (Some(1), None),
                (Some(1), None),
                (None, None)
            ]
        );
        assert!(found.routes.is_empty());
        // A prefix longer than its family's addresses is refused.
        let bad = RouteQuery {
            within: Some(("11.0.0.0".parse().unwrap(), 33)),
            ..RouteQuery::default()
        };
        assert!(fib_routes(&fib, &totals, &bad, |_| false).is_err());
    }
}
