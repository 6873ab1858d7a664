//! rtnetlink messages as the kernel sends them, read into the few facts the mirror uses:
//! which route (prefix, output interface, gateway, metric), which neighbour (interface,
//! address, MAC if usable), which link (index, name, up). Nothing here knows about ports.

use fib::Prefix;
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteType, RouteVia,
};
use netlink_packet_route::AddressFamily;
use std::net::IpAddr;
use toolkit::MacAddr;

/// Where a kernel route leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hop {
    /// Out of an interface, to a gateway or (none) to the destination itself.
    Direct { oif: u32, gateway: Option<IpAddr> },
    /// To a nexthop object, by id (`ip route ... nhid N`, as FRR installs routes).
    Object(u32),
}

/// One kernel route the fast path could hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelRoute {
    pub prefix: Prefix,
    pub hop: Hop,
    /// The kernel's metric: of two routes to one prefix, the lower wins.
    pub priority: u32,
}

/// Why a route is not mirrored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skipped {
    /// Local, broadcast, multicast, blackhole and the other non-unicast kinds.
    NotUnicast,
    /// A table other than the one mirrored.
    OtherTable,
    /// A cached clone (IPv6 PMTU exceptions), not a route.
    Cloned,
    /// Neither IPv4 nor IPv6, or no usable destination.
    Unusable,
    /// No output interface among its next hops.
    NoInterface,
}

fn ip_of(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(a) => Some(IpAddr::V4(*a)),
        RouteAddress::Inet6(a) => Some(IpAddr::V6(*a)),
        _ => None,
    }
}

fn table_of(header: &RouteHeader, attrs: &[RouteAttribute]) -> u32 {
    // Tables past 255 are only in the attribute; the header then says RT_TABLE_COMPAT.
    attrs
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(header.table))
}

/// The gateway among `attrs` (RTA_GATEWAY, or RTA_VIA for an IPv4 route via IPv6).
fn gateway_of(attrs: &[RouteAttribute]) -> Option<IpAddr> {
    attrs.iter().find_map(|a| match a {
        RouteAttribute::Gateway(g) => ip_of(g),
        RouteAttribute::Via(RouteVia::Inet(g)) => Some(IpAddr::V4(*g)),
        RouteAttribute::Via(RouteVia::Inet6(g)) => Some(IpAddr::V6(*g)),
        _ => None,
    })
}

/// The route `msg` describes, if it is a unicast route of `table`. A multipath route yields
/// its first hop that `usable_oif` accepts: the FIB holds one next hop per prefix.
pub fn route(
    msg: &RouteMessage,
    table: u32,
    usable_oif: impl Fn(u32) -> bool,
) -> Result<KernelRoute, Skipped> {
    let h = &msg.header;
    if h.kind != RouteType::Unicast {
        return Err(Skipped::NotUnicast);
    }
    if table_of(h, &msg.attributes) != table {
        return Err(Skipped::OtherTable);
    }
    if h.flags.contains(RouteFlags::Cloned) {
        return Err(Skipped::Cloned);
    }
    let unspecified = match h.address_family {
        AddressFamily::Inet => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        AddressFamily::Inet6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        _ => return Err(Skipped::Unusable),
    };
    // A default route has no RTA_DST.
    let dst = msg
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Destination(d) => Some(ip_of(d)),
            _ => None,
        })
        .unwrap_or(Some(unspecified))
        .filter(|d| d.is_ipv4() == unspecified.is_ipv4())
        .ok_or(Skipped::Unusable)?;
    let prefix = Prefix::new(dst, h.destination_prefix_length).map_err(|_| Skipped::Unusable)?;
    let priority = msg
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Priority(p) => Some(*p),
            _ => None,
        })
        .unwrap_or(0);
    let object = msg.attributes.iter().find_map(|a| match a {
        RouteAttribute::NhId(id) => Some(*id),
        _ => None,
    });
    if let Some(id) = object {
        return Ok(KernelRoute {
            prefix,
            hop: Hop::Object(id),
            priority,
        });
    }
    let single = msg.attributes.iter().find_map(|a| match a {
        RouteAttribute::Oif(i) => Some(*i),
        _ => None,
    });
    let (oif, gateway) = match single {
        Some(oif) => (oif, gateway_of(&msg.attributes)),
        None => msg
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::MultiPath(hops) => hops
                    .iter()
                    .find(|hop| usable_oif(hop.interface_index))
                    .map(|hop| (hop.interface_index, gateway_of(&hop.attributes))),
                _ => None,
            })
            .ok_or(Skipped::NoInterface)?,
    };
    Ok(KernelRoute {
        prefix,
        hop: Hop::Direct { oif, gateway },
        priority,
    })
}

/// One kernel neighbour entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelNeighbour {
    pub ifindex: u32,
    pub addr: IpAddr,
    /// The MAC if the entry can be forwarded to (see `usable_mac`); None for failed,
    /// incomplete and the rest.
    pub mac: Option<MacAddr>,
}

/// The kernel's NUD_VALID: PERMANENT, NOARP, REACHABLE, PROBE, STALE, DELAY. INCOMPLETE and
/// FAILED entries may still carry an old address that must not be used.
const NUD_VALID: u16 = 0x80 | 0x40 | 0x02 | 0x10 | 0x04 | 0x08;

/// The one rule for a kernel neighbour's MAC, for the mirror and the next-hop resolver alike:
/// usable when the state is one the kernel itself forwards on (NUD_VALID, which includes
/// NOARP: a static `ip neigh add ... nud noarp|permanent` or an entry of a NOARP device), and
/// only if the address is a real unicast MAC. A zero or multicast MAC (what a NOARP device
/// reports for everyone, or a multicast destination's mapping) never is: a frame sent there
/// would reach no single host.
fn usable_mac(state: NeighbourState, lladdr: Option<MacAddr>) -> Option<MacAddr> {
    let valid = u16::from(state) & NUD_VALID != 0;
    lladdr.filter(|m| valid && !m.is_zero() && !m.is_multicast())
}

/// The neighbour `msg` describes, if it is an IPv4 or IPv6 one. A deletion message describes
/// the entry that went away: the caller withdraws it whatever its MAC.
pub fn neighbour(msg: &NeighbourMessage) -> Option<KernelNeighbour> {
    let addr = msg.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::Destination(NeighbourAddress::Inet(a)) => Some(IpAddr::V4(*a)),
        NeighbourAttribute::Destination(NeighbourAddress::Inet6(a)) => Some(IpAddr::V6(*a)),
        _ => None,
    })?;
    let lladdr = msg.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::LinkLayerAddress(m) => <[u8; 6]>::try_from(m.as_slice()).ok(),
        _ => None,
    });
    Some(KernelNeighbour {
        ifindex: msg.header.ifindex,
        addr,
        mac: usable_mac(msg.header.state, lladdr.map(MacAddr)),
    })
}

/// One kernel link: enough to map a TAP's name to its index and to see it go down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelLink {
    pub index: u32,
    pub name: Option<String>,
    pub up: bool,
}

pub fn link(msg: &LinkMessage) -> KernelLink {
    KernelLink {
        index: msg.header.index,
        name: msg.attributes.iter().find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.clone()),
            _ => None,
        }),
        up: msg.header.flags.contains(LinkFlags::Up),
    }
}
