//! The mirror fed with messages as the kernel sends them: each one built with the crate,
//! serialised into a datagram and parsed back, then applied; the FIB and the neighbour table
//! are then read as a worker reads them.

use crate::netlink::{parse_datagram, Parsed};
use crate::nexthop::{self, KernelNextHop, RTM_DELNEXTHOP, RTM_NEWNEXTHOP};
use crate::{Counters, Event, Mirror, MirrorConfig, Neighbours, MAIN_TABLE};
use fib::{Fib, FibConfig, NextHop, Prefix};
use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteNextHop, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use std::net::IpAddr;
use std::sync::Arc;
use toolkit::MacAddr;

const TAP0: u32 = 7;
const TAP1: u32 = 8;
const ETH0: u32 = 2;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn prefix(s: &str) -> Prefix {
    let (a, l) = s.split_once('/').unwrap();
    Prefix::new(ip(a), l.parse().unwrap()).unwrap()
}

fn link(index: u32, name: &str, up: bool) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.header.index = index;
    if up {
        m.header.flags = LinkFlags::Up;
    }
    m.attributes.push(LinkAttribute::IfName(name.into()));
    RouteNetlinkMessage::NewLink(m)
}

fn route_address(a: IpAddr) -> RouteAddress {
    match a {
        IpAddr::V4(a) => RouteAddress::Inet(a),
        IpAddr::V6(a) => RouteAddress::Inet6(a),
    }
}

/// A route as `ip route add PREFIX [via GW] dev OIF metric PRIORITY` makes it.
fn route(p: &str, oif: u32, gw: Option<&str>, priority: u32) -> RouteMessage {
    let p = prefix(p);
    let mut m = RouteMessage::default();
    m.header.address_family = if p.addr().is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    m.header.destination_prefix_length = p.length();
    m.header.table = MAIN_TABLE as u8;
    m.header.kind = RouteType::Unicast;
    if p.length() > 0 {
        m.attributes
            .push(RouteAttribute::Destination(route_address(p.addr())));
    }
    m.attributes.push(RouteAttribute::Table(MAIN_TABLE));
    m.attributes.push(RouteAttribute::Priority(priority));
    m.attributes.push(RouteAttribute::Oif(oif));
    if let Some(gw) = gw {
        m.attributes
            .push(RouteAttribute::Gateway(route_address(ip(gw))));
    }
    m
}

fn neighbour(
    ifindex: u32,
    addr: &str,
    mac: Option<[u8; 6]>,
    state: NeighbourState,
) -> NeighbourMessage {
    let mut m = NeighbourMessage::default();
    let a = ip(addr);
    m.header.family = if a.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    m.header.ifindex = ifindex;
    m.header.state = state;
    m.attributes.push(NeighbourAttribute::Destination(match a {
        IpAddr::V4(a) => NeighbourAddress::Inet(a),
        IpAddr::V6(a) => NeighbourAddress::Inet6(a),
    }));
    if let Some(mac) = mac {
        m.attributes
            .push(NeighbourAttribute::LinkLayerAddress(mac.to_vec()));
    }
    m
}

/// A nexthop object message, which the crate does not model: header, then payload.
fn object(kind: u16, nh: &KernelNextHop) -> Vec<u8> {
    let payload = nexthop::wire::payload(nh);
    let mut header = NetlinkHeader::default();
    header.length = (16 + payload.len()) as u32;
    header.message_type = kind;
    let mut bytes = vec![0; 16];
    netlink_packet_core::Emitable::emit(&header, &mut bytes);
    bytes.extend(payload);
    bytes
}

fn rt(msgs: &[RouteNetlinkMessage]) -> Vec<Event> {
    msgs.iter().cloned().map(Event::Rt).collect()
}

/// The events as one datagram on the wire, and back.
fn wire(events: &[Event]) -> Vec<Event> {
    let mut datagram = Vec::new();
    for e in events {
        let bytes = match e {
            Event::Rt(m) => {
                let mut nl =
                    NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(m.clone()));
                nl.finalize();
                let mut bytes = vec![0; nl.buffer_len()];
                nl.serialize(&mut bytes);
                bytes
            }
            Event::NewNextHop(nh) => object(RTM_NEWNEXTHOP, nh),
            Event::DelNextHop(nh) => object(RTM_DELNEXTHOP, nh),
        };
        datagram.extend(bytes);
        datagram.resize(datagram.len().next_multiple_of(4), 0);
    }
    let mut out = Vec::new();
    let malformed = parse_datagram(&datagram, |_, m| {
        if let Parsed::Event(e) = m {
            out.push(e);
        }
    });
    assert_eq!(malformed, 0);
    assert_eq!(out.len(), events.len());
    out
}

struct Rig {
    mirror: Mirror,
    counters: Arc<Counters>,
}

impl Rig {
    /// tap0 is port 0, tap1 port 1; eth0 is the kernel's own interface.
    fn new(fib: Fib) -> Rig {
        let config = MirrorConfig {
            taps: vec![("tap0".into(), 0), ("tap1".into(), 1)],
            table: MAIN_TABLE,
        };
        let counters = Arc::new(Counters::default());
        let mut mirror = Mirror::new(&config, fib, Neighbours::new(256), counters.clone());
        mirror.resync(&wire(&rt(&[
            link(ETH0, "eth0", true),
            link(TAP0, "tap0", true),
            link(TAP1, "tap1", true),
        ])));
        Rig { mirror, counters }
    }

    fn events(&mut self, msgs: &[RouteNetlinkMessage]) {
        self.send(&rt(msgs));
    }

    fn send(&mut self, events: &[Event]) {
        for e in wire(events) {
            self.mirror.apply(&e);
        }
    }

    /// The next hop a worker finds for `addr`.
    fn lookup(&self, addr: &str) -> Option<NextHop> {
        let r = self.mirror.fib().reader();
        r.lookup(ip(addr)).and_then(|id| r.next_hop(id))
    }
}

fn small_fib() -> Fib {
    Fib::new(FibConfig {
        v4_groups: 64,
        v6_groups: 64,
        next_hops: 64,
        huge_pages: false,
    })
}

#[test]
fn routes_via_taps_are_mirrored_and_deleted() {
    let mut rig = Rig::new(small_fib());
    use RouteNetlinkMessage::{DelRoute, NewRoute};
    rig.events(&[
        NewRoute(route("10.1.0.0/24", TAP0, None, 0)),
        NewRoute(route("10.77.0.0/16", TAP0, Some("10.1.0.254"), 0)),
        NewRoute(route("0.0.0.0/0", TAP1, Some("192.0.2.1"), 0)),
        NewRoute(route("2001:db8:5::/48", TAP1, Some("fe80::1"), 1024)),
    ]);
    assert_eq!(rig.lookup("10.1.0.9"), Some(NextHop::connected(0)));
    assert_eq!(
        rig.lookup("10.77.3.4"),
        Some(NextHop::gateway(0, ip("10.1.0.254")))
    );
    assert_eq!(
        rig.lookup("8.8.8.8"),
        Some(NextHop::gateway(1, ip("192.0.2.1")))
    );
    assert_eq!(
        rig.lookup("2001:db8:5::9"),
        Some(NextHop::gateway(1, ip("fe80::1")))
    );
    assert_eq!(rig.lookup("2001:db8:6::9"), None);

    rig.events(&[DelRoute(route("10.77.0.0/16", TAP0, Some("10.1.0.254"), 0))]);
    // The covering default route takes over.
    assert_eq!(
        rig.lookup("10.77.3.4"),
        Some(NextHop::gateway(1, ip("192.0.2.1")))
    );
    assert_eq!(rig.mirror.fib().len(), (2, 1));
    let c = rig.counters.snapshot();
    assert_eq!((c.routes_set, c.routes_removed), (4, 1));
}

#[test]
fn other_interfaces_kinds_and_tables_are_skipped_and_counted() {
    let mut rig = Rig::new(small_fib());
    let mut local = route("10.1.0.1/32", TAP0, None, 0);
    local.header.kind = RouteType::Local;
    let mut other_table = route("10.2.0.0/16", TAP0, None, 0);
    other_table
        .attributes
        .retain(|a| !matches!(a, RouteAttribute::Table(_)));
    other_table.attributes.push(RouteAttribute::Table(1000));
    other_table.header.table = 252;
    let mut cloned = route("2001:db8::5/128", TAP0, None, 0);
    cloned.header.flags = RouteFlags::Cloned;
    let mut multicast = route("224.0.0.0/4", TAP0, None, 0);
    multicast.header.kind = RouteType::Multicast;
    use RouteNetlinkMessage::NewRoute;
    rig.events(&[
        NewRoute(route("172.16.0.0/12", ETH0, Some("10.0.0.1"), 0)),
        NewRoute(local),
        NewRoute(other_table),
        NewRoute(cloned),
        NewRoute(multicast),
    ]);
    assert!(rig.mirror.fib().is_empty());
    let c = rig.counters.snapshot();
    assert_eq!(c.skipped_foreign_interface, 1);
    assert_eq!(c.skipped_not_unicast, 2);
    assert_eq!(c.skipped_other_table, 1);
    assert_eq!(c.skipped_other, 1);
    assert_eq!(c.routes_set, 0);
}

#[test]
fn the_lowest_metric_wins_and_the_next_takes_over_on_delete() {
    let mut rig = Rig::new(small_fib());
    let (p, near, far) = (
        "10.9.0.0/16",
        NextHop::gateway(0, ip("10.1.0.254")),
        NextHop::gateway(1, ip("192.0.2.1")),
    );
    use RouteNetlinkMessage::{DelRoute, NewRoute};
    rig.events(&[
        NewRoute(route(p, TAP1, Some("192.0.2.1"), 200)),
        NewRoute(route(p, TAP0, Some("10.1.0.254"), 100)),
    ]);
    assert_eq!(rig.lookup("10.9.1.1"), Some(near));
    // A replace at the same metric moves the route; deleting it brings the next one back;
    // deleting a route the mirror never held changes nothing.
    let steps = [
        (
            NewRoute(route(p, TAP0, Some("10.1.0.253"), 100)),
            NextHop::gateway(0, ip("10.1.0.253")),
        ),
        (DelRoute(route(p, TAP0, Some("10.1.0.253"), 100)), far),
        (DelRoute(route(p, TAP0, Some("10.1.0.9"), 300)), far),
    ];
    for (event, expected) in steps {
        rig.events(&[event]);
        assert_eq!(rig.lookup("10.9.1.1"), Some(expected));
    }
}

#[test]
fn a_multipath_route_takes_its_first_hop_through_a_tap() {
    let mut rig = Rig::new(small_fib());
    let mut m = route("10.50.0.0/16", 0, None, 0);
    m.attributes
        .retain(|a| !matches!(a, RouteAttribute::Oif(_)));
    let hop = |oif: u32, gw: &str| {
        let mut h = RouteNextHop::default();
        h.interface_index = oif;
        h.attributes
            .push(RouteAttribute::Gateway(route_address(ip(gw))));
        h
    };
    m.attributes.push(RouteAttribute::MultiPath(vec![
        hop(ETH0, "10.0.0.1"),
        hop(TAP1, "192.0.2.7"),
    ]));
    rig.events(&[RouteNetlinkMessage::NewRoute(m)]);
    assert_eq!(
        rig.lookup("10.50.0.1"),
        Some(NextHop::gateway(1, ip("192.0.2.7")))
    );
}

#[test]
fn a_static_route_comes_back_when_the_kernel_drops_its_own() {
    let mut fib = small_fib();
    let statik = NextHop::gateway(1, ip("192.0.2.99"));
    fib.add(prefix("10.60.0.0/16"), statik).unwrap();
    let mut rig = Rig::new(fib);
    use RouteNetlinkMessage::{DelRoute, NewRoute};
    rig.events(&[NewRoute(route("10.60.0.0/16", TAP0, None, 0))]);
    assert_eq!(rig.lookup("10.60.0.1"), Some(NextHop::connected(0)));
    rig.events(&[DelRoute(route("10.60.0.0/16", TAP0, None, 0))]);
    assert_eq!(rig.lookup("10.60.0.1"), Some(statik));
    // A resync leaves it alone too.
    rig.mirror.resync(&wire(&rt(&[link(TAP0, "tap0", true)])));
    assert_eq!(rig.lookup("10.60.0.1"), Some(statik));
}

#[test]
fn neighbours_follow_their_state() {
    let mut rig = Rig::new(small_fib());
    let reader = rig.mirror.neighbours().reader();
    let mac = [2, 0, 0, 0, 0, 0x22];
    use RouteNetlinkMessage::{DelNeighbour, NewNeighbour};
    rig.events(&[
        NewNeighbour(neighbour(
            TAP0,
            "10.1.0.254",
            Some(mac),
            NeighbourState::Reachable,
        )),
        NewNeighbour(neighbour(TAP1, "fe80::1", Some(mac), NeighbourState::Stale)),
        NewNeighbour(neighbour(
            TAP1,
            "192.0.2.1",
            None,
            NeighbourState::Incomplete,
        )),
        NewNeighbour(neighbour(
            ETH0,
            "10.0.0.1",
            Some(mac),
            NeighbourState::Permanent,
        )),
    ]);
    assert_eq!(reader.mac(0, ip("10.1.0.254")), Some(MacAddr(mac)));
    assert_eq!(reader.mac(1, ip("fe80::1")), Some(MacAddr(mac)));
    assert_eq!(reader.mac(1, ip("192.0.2.1")), None);
    assert_eq!(rig.mirror.neighbours().len(), 2);
    // Failed withdraws it (the MAC stays in the message); so does a delete.
    rig.events(&[
        NewNeighbour(neighbour(
            TAP0,
            "10.1.0.254",
            Some(mac),
            NeighbourState::Failed,
        )),
        DelNeighbour(neighbour(TAP1, "fe80::1", Some(mac), NeighbourState::Stale)),
    ]);
    assert_eq!(reader.mac(0, ip("10.1.0.254")), None);
    assert_eq!(reader.mac(1, ip("fe80::1")), None);
    let c = rig.counters.snapshot();
    assert_eq!((c.neighbours_set, c.neighbours_removed), (2, 2));
}

#[test]
fn a_noarp_entry_with_a_unicast_mac_is_used_and_a_zero_or_multicast_mac_never() {
    let mut rig = Rig::new(small_fib());
    let reader = rig.mirror.neighbours().reader();
    let mac = [2, 0, 0, 0, 0, 0x33];
    use RouteNetlinkMessage::NewNeighbour;
    rig.events(&[
        // `ip neigh add ... lladdr MAC nud noarp`: the kernel forwards on it, so do we
        // (the mirror used to leave NOARP out).
        NewNeighbour(neighbour(
            TAP0,
            "10.1.0.7",
            Some(mac),
            NeighbourState::Noarp,
        )),
        // What a NOARP device reports for everyone, and a multicast mapping.
        NewNeighbour(neighbour(
            TAP0,
            "10.1.0.8",
            Some([0; 6]),
            NeighbourState::Noarp,
        )),
        NewNeighbour(neighbour(
            TAP1,
            "192.0.2.9",
            Some([1, 0, 0x5e, 0, 0, 9]),
            NeighbourState::Permanent,
        )),
    ]);
    assert_eq!(reader.mac(0, ip("10.1.0.7")), Some(MacAddr(mac)));
    assert_eq!(reader.mac(0, ip("10.1.0.8")), None);
    assert_eq!(reader.mac(1, ip("192.0.2.9")), None);
    assert_eq!(rig.mirror.neighbours().len(), 1);
}

#[test]
fn a_tap_going_down_takes_its_routes_and_neighbours() {
    let mut rig = Rig::new(small_fib());
    use RouteNetlinkMessage::{NewNeighbour, NewRoute};
    rig.events(&[
        NewRoute(route("10.1.0.0/24", TAP0, None, 0)),
        NewRoute(route("10.2.0.0/24", TAP1, None, 0)),
        NewNeighbour(neighbour(
            TAP0,
            "10.1.0.5",
            Some([2, 0, 0, 0, 0, 5]),
            NeighbourState::Reachable,
        )),
    ]);
    rig.events(&[link(TAP0, "tap0", false)]);
    assert_eq!(rig.lookup("10.1.0.5"), None);
    assert_eq!(rig.lookup("10.2.0.5"), Some(NextHop::connected(1)));
    assert_eq!(rig.mirror.neighbours().get(0, ip("10.1.0.5")), None);
    // Back up: the mirror asks for a dump rather than guess what the kernel rebuilt.
    assert!(!rig.mirror.take_resync_wanted());
    rig.events(&[link(TAP0, "tap0", true)]);
    assert!(rig.mirror.take_resync_wanted());
}

#[test]
fn a_resync_after_an_overrun_converges_on_the_dump() {
    let mut rig = Rig::new(small_fib());
    use RouteNetlinkMessage::{NewNeighbour, NewRoute};
    rig.events(&[
        NewRoute(route("10.1.0.0/24", TAP0, None, 0)),
        NewRoute(route("10.3.0.0/16", TAP0, Some("10.1.0.254"), 0)),
        NewNeighbour(neighbour(
            TAP0,
            "10.1.0.254",
            Some([2, 0, 0, 0, 0, 1]),
            NeighbourState::Reachable,
        )),
        NewNeighbour(neighbour(
            TAP0,
            "10.1.0.7",
            Some([2, 0, 0, 0, 0, 7]),
            NeighbourState::Reachable,
        )),
    ]);
    // Events were lost: 10.3/16 moved, 10.4/16 appeared, 10.1.0.7 went away.
    rig.mirror.resync(&wire(&rt(&[
        link(ETH0, "eth0", true),
        link(TAP0, "tap0", true),
        link(TAP1, "tap1", true),
        NewRoute(route("10.1.0.0/24", TAP0, None, 0)),
        NewRoute(route("10.3.0.0/16", TAP1, Some("192.0.2.1"), 0)),
        NewRoute(route("10.4.0.0/16", TAP0, Some("10.1.0.254"), 0)),
        NewNeighbour(neighbour(
            TAP0,
            "10.1.0.254",
            Some([2, 0, 0, 0, 0, 2]),
            NeighbourState::Stale,
        )),
    ])));
    let mut routes: Vec<_> = rig
        .mirror
        .fib()
        .routes()
        .map(|(p, nh)| (p.to_string(), nh))
        .collect();
    routes.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        routes,
        vec![
            ("10.1.0.0/24".to_string(), NextHop::connected(0)),
            (
                "10.3.0.0/16".to_string(),
                NextHop::gateway(1, ip("192.0.2.1"))
            ),
            (
                "10.4.0.0/16".to_string(),
                NextHop::gateway(0, ip("10.1.0.254"))
            ),
        ]
    );
    let n = rig.mirror.neighbours();
    assert_eq!(
        n.get(0, ip("10.1.0.254")),
        Some(MacAddr([2, 0, 0, 0, 0, 2]))
    );
    assert_eq!(n.get(0, ip("10.1.0.7")), None);
    assert_eq!(rig.counters.snapshot().resyncs, 2);
}

#[test]
fn a_truncated_datagram_is_counted_not_trusted() {
    let mut nl = NetlinkMessage::new(
        NetlinkHeader::default(),
        NetlinkPayload::from(RouteNetlinkMessage::NewRoute(route(
            "10.1.0.0/24",
            TAP0,
            None,
            0,
        ))),
    );
    nl.finalize();
    let mut bytes = vec![0; nl.buffer_len()];
    nl.serialize(&mut bytes);
    let mut seen = 0;
    assert_eq!(
        parse_datagram(&bytes[..bytes.len() - 4], |_, _| seen += 1),
        1
    );
    // A length that lies inside the datagram but cuts an attribute short.
    let cut = bytes.len() as u32 - 4;
    bytes[..4].copy_from_slice(&cut.to_ne_bytes());
    let malformed = parse_datagram(&bytes, |_, _| seen += 1);
    assert_eq!(seen + malformed, 1);
}

/// A route as FRR installs it: naming a nexthop object.
fn route_via_object(p: &str, id: u32) -> RouteNetlinkMessage {
    let mut m = route(p, 0, None, 20);
    m.attributes
        .retain(|a| !matches!(a, RouteAttribute::Oif(_)));
    m.attributes.push(RouteAttribute::NhId(id));
    RouteNetlinkMessage::NewRoute(m)
}

fn single(id: u32, oif: u32, gw: &str) -> KernelNextHop {
    KernelNextHop::single(id, oif, ip(gw))
}

#[test]
fn routes_naming_nexthop_objects_follow_the_object() {
    let mut rig = Rig::new(small_fib());
    rig.send(&[
        Event::NewNextHop(single(1, TAP0, "10.1.0.254")),
        Event::Rt(route_via_object("10.70.0.0/16", 1)),
        Event::Rt(route_via_object("10.71.0.0/16", 1)),
    ]);
    let first = NextHop::gateway(0, ip("10.1.0.254"));
    assert_eq!(rig.lookup("10.70.0.1"), Some(first));
    assert_eq!(rig.lookup("10.71.0.1"), Some(first));
    // `ip nexthop replace id 1 ...`: every route naming it moves at once.
    rig.send(&[Event::NewNextHop(single(1, TAP1, "192.0.2.1"))]);
    let moved = NextHop::gateway(1, ip("192.0.2.1"));
    assert_eq!(rig.lookup("10.70.0.1"), Some(moved));
    assert_eq!(rig.lookup("10.71.0.1"), Some(moved));
    // Out of an interface that is not a TAP: out of the FIB.
    rig.send(&[Event::NewNextHop(single(1, ETH0, "10.0.0.1"))]);
    assert_eq!(rig.lookup("10.70.0.1"), None);
    rig.send(&[Event::NewNextHop(single(1, TAP0, "10.1.0.254"))]);
    assert_eq!(rig.lookup("10.70.0.1"), Some(first));
    // Deleting the object takes its routes, as the kernel does.
    rig.send(&[Event::DelNextHop(single(1, TAP0, "10.1.0.254"))]);
    assert_eq!(rig.lookup("10.70.0.1"), None);
    assert!(rig.mirror.fib().is_empty());
    rig.send(&[Event::NewNextHop(single(1, TAP0, "10.1.0.254"))]);
    assert_eq!(
        rig.lookup("10.70.0.1"),
        None,
        "the routes went with the object"
    );
}

#[test]
fn a_group_object_leads_through_its_first_member_on_a_tap() {
    let mut rig = Rig::new(small_fib());
    let group = KernelNextHop::group(9, &[5, 6]);
    rig.send(&[
        Event::NewNextHop(single(5, ETH0, "10.0.0.1")),
        Event::NewNextHop(single(6, TAP1, "192.0.2.6")),
        Event::NewNextHop(group),
        Event::Rt(route_via_object("10.80.0.0/16", 9)),
    ]);
    assert_eq!(
        rig.lookup("10.80.0.1"),
        Some(NextHop::gateway(1, ip("192.0.2.6")))
    );
    // A member changing reaches the routes that name its group.
    rig.send(&[Event::NewNextHop(single(6, TAP0, "10.1.0.6"))]);
    assert_eq!(
        rig.lookup("10.80.0.1"),
        Some(NextHop::gateway(0, ip("10.1.0.6")))
    );
    // The TAP going down takes the route; the objects stay for when it comes back.
    rig.events(&[link(TAP0, "tap0", false)]);
    assert_eq!(rig.lookup("10.80.0.1"), None);
}

#[test]
fn a_resync_installed_in_steps_shows_each_prefix_old_or_new_and_ends_as_the_dump() {
    let mut rig = Rig::new(small_fib());
    let p = |i: u32| format!("10.{}.{}.0/24", 100 + i / 256, i % 256);
    let old: Vec<_> = (0..200)
        .map(|i| RouteNetlinkMessage::NewRoute(route(&p(i), TAP0, Some("10.1.0.1"), 0)))
        .collect();
    rig.events(&old);
    // The dump: the first hundred moved to tap1, the others gone, a hundred new ones.
    let mut dump = rt(&[
        link(ETH0, "eth0", true),
        link(TAP0, "tap0", true),
        link(TAP1, "tap1", true),
    ]);
    dump.extend((0..100).chain(200..300).map(|i| {
        Event::Rt(RouteNetlinkMessage::NewRoute(route(
            &p(i),
            TAP1,
            Some("192.0.2.9"),
            0,
        )))
    }));
    let resyncs = rig.counters.snapshot().resyncs;
    let mut resync = rig.mirror.begin_resync();
    for e in wire(&dump) {
        rig.mirror.resync_event(&mut resync, &e);
    }
    let mut pending = rig.mirror.finish_resync(resync);
    let distinct: std::collections::HashSet<_> = pending.iter().collect();
    assert_eq!(distinct.len(), 300);
    let (was, now) = (
        NextHop::gateway(0, ip("10.1.0.1")),
        NextHop::gateway(1, ip("192.0.2.9")),
    );
    let mut steps = 0;
    while !pending.is_empty() {
        rig.mirror.install_pending(&mut pending, 16);
        steps += 1;
        for i in 0..300 {
            let host = format!("10.{}.{}.5", 100 + i / 256, i % 256);
            let seen = rig.lookup(&host);
            let (before, after) = match i {
                0..100 => (Some(was), Some(now)),
                100..200 => (Some(was), None),
                _ => (None, Some(now)),
            };
            assert!(seen == before || seen == after, "{host}: {seen:?}");
        }
    }
    // The 200 installed and the 200 of the dump, half of them the same prefixes.
    assert_eq!(steps, 400usize.div_ceil(16));
    let mut routes: Vec<_> = rig.mirror.fib().routes().collect();
    routes.sort_by_key(|(p, _)| p.to_string());
    let mut want: Vec<_> = (0..100)
        .chain(200..300)
        .map(|i| (prefix(&p(i)), now))
        .collect();
    want.sort_by_key(|(p, _)| p.to_string());
    assert_eq!(routes, want);
    // The caller counts it, once every prefix is in (the mirror's thread does).
    assert_eq!(rig.counters.snapshot().resyncs, resyncs);
}
