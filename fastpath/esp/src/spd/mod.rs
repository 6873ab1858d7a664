//! The security policy database (RFC 4301 section 4.4.1): an ordered list of policies, each
//! a selector and an action (PROTECT with an SA bundle, BYPASS or DISCARD); the first policy
//! in order whose selector matches a packet decides. The order here is `priority` (lower
//! first), then insertion.
//!
//! Lookup is a tuple space search: policies are grouped by their shape (address families and
//! prefix lengths of source and destination); each group is a hash table from the masked
//! address pair to the policies with those addresses, ordered (`table`). A lookup probes one
//! table per shape, best group first, and stops as soon as no remaining group can hold a policy
//! ordered before the match already found. Its cost follows the number of shapes, not of
//! policies; with 100,000 policies it is the cache misses of those probes, which a burst
//! lookup overlaps (`Spd::lookup_burst`).

use crate::wire::ip::IpHeader;
use std::net::IpAddr;

pub use db::{Asked, Hit, Spd, SMALL_SPD};
pub use ipnet::{IpNet, Ipv4Net, Ipv6Net};

mod db;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod placement_tests;
mod table;
#[cfg(test)]
mod tests;

/// An inclusive range of ports (or of ICMP types/codes, RFC 4301 section 4.4.1.1).
/// `lo > hi` matches nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PortRange {
    /// First port in the range.
    pub lo: u16,
    /// Last port in the range, included.
    pub hi: u16,
}

impl PortRange {
    /// Every port (RFC 4301 ANY).
    pub const ANY: PortRange = PortRange {
        lo: 0,
        hi: u16::MAX,
    };

    /// `lo..=hi`.
    pub const fn new(lo: u16, hi: u16) -> PortRange {
        PortRange { lo, hi }
    }

    /// Only `port`.
    pub const fn single(port: u16) -> PortRange {
        PortRange { lo: port, hi: port }
    }

    /// Whether `port` is in the range.
    pub const fn contains(&self, port: u16) -> bool {
        self.lo <= port && port <= self.hi
    }
}

impl Default for PortRange {
    fn default() -> Self {
        PortRange::ANY
    }
}

/// The traffic a policy applies to (RFC 4301 section 4.4.1.1): address ranges as prefixes,
/// next-layer protocol (`None`: ANY) and port ranges.
///
/// Source and destination of mixed families match only flows with the same mix, that is none
/// a real packet makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Selector {
    /// Source addresses.
    pub src: IpNet,
    /// Destination addresses.
    pub dst: IpNet,
    /// Next-layer protocol; `None` matches any.
    pub proto: Option<u8>,
    /// Source ports (ICMP: type).
    pub sport: PortRange,
    /// Destination ports (ICMP: code).
    pub dport: PortRange,
}

impl Selector {
    /// Any traffic between `src` and `dst`.
    pub fn between(src: IpNet, dst: IpNet) -> Selector {
        Selector {
            src,
            dst,
            proto: None,
            sport: PortRange::ANY,
            dport: PortRange::ANY,
        }
    }

    /// Whether the flow matches this selector.
    pub fn matches(&self, key: &FlowKey) -> bool {
        net_contains(&self.src, &key.src)
            && net_contains(&self.dst, &key.dst)
            && self.matches_next_layer(key)
    }

    /// The protocol and port part of [`Selector::matches`].
    fn matches_next_layer(&self, key: &FlowKey) -> bool {
        (self.proto.is_none() || self.proto == Some(key.proto))
            && self.sport.contains(key.sport)
            && self.dport.contains(key.dport)
    }
}

/// The most SAs one policy applies to a packet (e.g. AH then ESP, or nested tunnels).
pub const MAX_BUNDLE: usize = 4;

/// The SAs a PROTECT policy applies, in order (the first one is applied first outbound).
/// 1 to [`MAX_BUNDLE`] SA ids, without heap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SaBundle {
    /// Unused slots are 0, so that the derived comparisons only see the used ones.
    sas: [u32; MAX_BUNDLE],
    len: u8,
}

impl SaBundle {
    /// A bundle of the SAs `sas`; `None` if there are none or more than [`MAX_BUNDLE`].
    pub fn new(sas: &[u32]) -> Option<SaBundle> {
        if sas.is_empty() || sas.len() > MAX_BUNDLE {
            return None;
        }
        let mut bundle = SaBundle {
            sas: [0; MAX_BUNDLE],
            len: sas.len() as u8,
        };
        bundle.sas[..sas.len()].copy_from_slice(sas);
        Some(bundle)
    }

    /// A bundle of one SA.
    pub const fn single(sa: u32) -> SaBundle {
        SaBundle {
            sas: [sa, 0, 0, 0],
            len: 1,
        }
    }

    /// The SA ids, in the order they are applied.
    pub fn as_slice(&self) -> &[u32] {
        &self.sas[..usize::from(self.len)]
    }

    /// The first SA applied.
    pub fn first(&self) -> u32 {
        self.sas[0]
    }
}

/// What a policy does with the traffic it matches (RFC 4301 PROTECT, BYPASS, DISCARD).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Apply IPsec with these SAs.
    Protect(SaBundle),
    /// Pass in the clear.
    Bypass,
    /// Drop.
    Discard,
}

/// One SPD entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Policy {
    /// Position in the SPD order: lower wins; between equals, the first inserted wins.
    pub priority: u32,
    /// The traffic the policy applies to.
    pub selector: Selector,
    /// What is done with it.
    pub action: Action,
}

/// The handle of a policy in one [`Spd`]; never reused while the policy is in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyId(pub u32);

/// The selector values of one packet. Ports are 0 for protocols without ports; for ICMP the
/// type and code may go in `sport` and `dport` (RFC 4301 section 4.4.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Next-layer protocol.
    pub proto: u8,
    /// Source port (ICMP: type).
    pub sport: u16,
    /// Destination port (ICMP: code).
    pub dport: u16,
}

impl FlowKey {
    /// The RFC 4301 selector fields of a packet whose IP header is `h`.
    #[inline]
    pub fn of(h: &IpHeader, packet: &[u8]) -> FlowKey {
        let (sport, dport) = h.ports(packet);
        FlowKey {
            src: h.src(packet),
            dst: h.dst(packet),
            proto: h.protocol,
            sport,
            dport,
        }
    }
}

/// A policy's place in the SPD order: priority, then insertion sequence. Unique per policy.
type Rank = u128;
/// Sorts after every policy: the best rank of an empty group, or "no match yet".
const NO_RANK: Rank = Rank::MAX;

fn rank(priority: u32, seq: u64) -> Rank {
    (Rank::from(priority) << 64) | Rank::from(seq)
}

/// The four source/destination family pairs; a flow only meets groups of its own pair.
const FAMILY_PAIRS: usize = 4;

fn family_pair(src_v6: bool, dst_v6: bool) -> usize {
    (usize::from(src_v6) << 1) | usize::from(dst_v6)
}

/// An address as a number (IPv4 in the low 32 bits) and whether it is IPv6.
/// Whether `net` holds `addr`. As `IpNet::contains`, but the address is read by reference
/// and by its own width: copying a just-built `IpAddr` whole stalls store forwarding.
#[inline]
pub(crate) fn net_contains(net: &IpNet, addr: &IpAddr) -> bool {
    match (net, addr) {
        (IpNet::V4(n), IpAddr::V4(a)) => {
            let mask = u32::MAX
                .checked_shl(32 - n.prefix_len() as u32)
                .unwrap_or(0);
            (u32::from(*a) ^ u32::from(n.addr())) & mask == 0
        }
        (IpNet::V6(n), IpAddr::V6(a)) => {
            let mask = u128::MAX
                .checked_shl(128 - n.prefix_len() as u32)
                .unwrap_or(0);
            (u128::from(*a) ^ u128::from(n.addr())) & mask == 0
        }
        _ => false,
    }
}

fn addr_bits(addr: IpAddr) -> (bool, u128) {
    match addr {
        IpAddr::V4(a) => (false, u128::from(u32::from(a))),
        IpAddr::V6(a) => (true, u128::from(a)),
    }
}

fn prefix_mask(v6: bool, len: u8) -> u128 {
    let width: u8 = if v6 { 128 } else { 32 };
    let len = len.min(width);
    if len == 0 {
        return 0;
    }
    let mask = u128::MAX << (width - len);
    if v6 {
        mask
    } else {
        mask & u128::from(u32::MAX)
    }
}
