//! The security policy database (RFC 4301 section 4.4.1): an ordered list of policies, each
//! a selector and an action (PROTECT with an SA bundle, BYPASS or DISCARD); the first policy
//! in order whose selector matches a packet decides. The order here is `priority` (lower
//! first), then insertion.
//!
//! Lookup is a tuple space search: policies are grouped by their shape (address families and
//! prefix lengths of source and destination); each group is a hash map from the masked address
//! pair to the policies with those addresses, ordered. A lookup probes one hash map per shape,
//! best group first, and stops as soon as no remaining group can hold a policy ordered before
//! the match already found. Its cost follows the number of shapes, not of policies.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use foldhash::HashMap;
pub use ipnet::{IpNet, Ipv4Net, Ipv6Net};

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
fn net_contains(net: &IpNet, addr: &IpAddr) -> bool {
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

/// The group of policies of one shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Shape {
    pair: u8,
    src_len: u8,
    dst_len: u8,
}

#[derive(Clone, Debug)]
struct Entry {
    rank: Rank,
    id: u32,
    policy: Policy,
}

/// The policies of one group with the same masked addresses, by rank.
#[derive(Clone, Debug)]
struct Bucket {
    /// The first entry, inline: most buckets hold a single policy, and a lookup then reads
    /// nothing beyond the hash table slot.
    head: Entry,
    /// The others, by rank.
    more: Vec<Entry>,
}

impl Bucket {
    fn iter(&self) -> impl Iterator<Item = &Entry> {
        std::iter::once(&self.head).chain(self.more.iter())
    }

    fn insert(&mut self, entry: Entry) {
        if entry.rank < self.head.rank {
            let old = std::mem::replace(&mut self.head, entry);
            self.more.insert(0, old);
        } else {
            let at = self.more.partition_point(|e| e.rank < entry.rank);
            self.more.insert(at, entry);
        }
    }

    fn get(&self, rank: Rank) -> Option<&Entry> {
        if self.head.rank == rank {
            return Some(&self.head);
        }
        let at = self.more.binary_search_by(|e| e.rank.cmp(&rank)).ok()?;
        self.more.get(at)
    }
}

#[derive(Clone, Debug)]
struct Group {
    src_mask: u128,
    dst_mask: u128,
    /// Masked (src, dst) to the policies with those prefixes, by rank.
    buckets: HashMap<(u128, u128), Bucket>,
    /// Every rank in the group, to know the best one after a removal.
    ranks: BTreeSet<Rank>,
    /// The lowest rank in `ranks`, or `NO_RANK`.
    best: Rank,
}

/// Where a policy is stored.
#[derive(Clone, Copy, Debug)]
struct Location {
    group: usize,
    key: (u128, u128),
    rank: Rank,
}

/// One direction's security policy database (the caller keeps an outbound and an inbound one).
#[derive(Clone, Debug, Default)]
pub struct Spd {
    groups: Vec<Group>,
    shapes: HashMap<Shape, usize>,
    /// Per family pair, the indices of its groups by best rank, empty groups last.
    order: [Vec<usize>; FAMILY_PAIRS],
    /// Every policy by id: for `get`, `remove` and `iter` in id order.
    index: BTreeMap<u32, Location>,
    /// The last id handed out.
    last_id: u32,
    /// Insertion counter, for the tie rule.
    next_seq: u64,
    /// While the SPD holds at most [`SMALL_SPD`] policies: all of them by rank, compiled for
    /// a linear scan, which beats hashing the address pair when there are only a few
    /// (the common gateway with a handful of policies). Empty otherwise.
    small: Vec<Compiled>,
}

/// Up to this many policies, lookups scan [`Spd::small`] instead of the tuple space.
pub const SMALL_SPD: usize = 8;

/// A policy in the linear list: its addresses as masked numbers.
#[derive(Clone, Copy, Debug)]
struct Compiled {
    rank: Rank,
    id: u32,
    pair: u8,
    src_net: u128,
    src_mask: u128,
    dst_net: u128,
    dst_mask: u128,
    policy: Policy,
}

impl Compiled {
    fn new(rank: Rank, id: u32, policy: Policy) -> Compiled {
        let (src_v6, src) = addr_bits(policy.selector.src.network());
        let (dst_v6, dst) = addr_bits(policy.selector.dst.network());
        let src_mask = prefix_mask(src_v6, policy.selector.src.prefix_len());
        let dst_mask = prefix_mask(dst_v6, policy.selector.dst.prefix_len());
        Compiled {
            rank,
            id,
            pair: family_pair(src_v6, dst_v6) as u8,
            src_net: src & src_mask,
            src_mask,
            dst_net: dst & dst_mask,
            dst_mask,
            policy,
        }
    }
}

impl Spd {
    /// An empty SPD.
    pub fn new() -> Spd {
        Spd::default()
    }

    /// Adds a policy; it comes after every policy of lower or equal priority already there.
    pub fn insert(&mut self, policy: Policy) -> PolicyId {
        let id = self.alloc_id();
        let rank = rank(policy.priority, self.next_seq);
        self.next_seq = self.next_seq.wrapping_add(1);

        let (src_v6, src) = addr_bits(policy.selector.src.network());
        let (dst_v6, dst) = addr_bits(policy.selector.dst.network());
        let pair = family_pair(src_v6, dst_v6);
        let shape = Shape {
            pair: pair as u8,
            src_len: policy.selector.src.prefix_len(),
            dst_len: policy.selector.dst.prefix_len(),
        };
        let gi = match self.shapes.get(&shape) {
            Some(&gi) => gi,
            None => {
                let gi = self.groups.len();
                self.groups.push(Group {
                    src_mask: prefix_mask(src_v6, shape.src_len),
                    dst_mask: prefix_mask(dst_v6, shape.dst_len),
                    buckets: HashMap::default(),
                    ranks: BTreeSet::new(),
                    best: NO_RANK,
                });
                self.shapes.insert(shape, gi);
                self.order[pair].push(gi);
                gi
            }
        };
        let group = &mut self.groups[gi];
        let key = (src & group.src_mask, dst & group.dst_mask);
        let entry = Entry { rank, id, policy };
        match group.buckets.get_mut(&key) {
            Some(bucket) => bucket.insert(entry),
            None => {
                group.buckets.insert(
                    key,
                    Bucket {
                        head: entry,
                        more: Vec::new(),
                    },
                );
            }
        }
        group.ranks.insert(rank);
        if rank < group.best {
            group.best = rank;
            self.reposition(pair, gi);
        }
        self.index.insert(
            id,
            Location {
                group: gi,
                key,
                rank,
            },
        );
        self.rebuild_small();
        PolicyId(id)
    }

    /// Keeps the linear list in step with the tuple space (only while the SPD is small).
    fn rebuild_small(&mut self) {
        self.small.clear();
        if self.index.len() > SMALL_SPD {
            return;
        }
        let mut small: Vec<Compiled> = self
            .index
            .iter()
            .filter_map(|(&id, loc)| {
                self.entry(loc)
                    .map(|e| Compiled::new(loc.rank, id, e.policy))
            })
            .collect();
        small.sort_by_key(|c| c.rank);
        self.small = small;
    }

    /// Removes a policy and gives it back; `None` if there is no such policy.
    pub fn remove(&mut self, id: PolicyId) -> Option<Policy> {
        let loc = self.index.remove(&id.0)?;
        let group = self.groups.get_mut(loc.group)?;
        let bucket = group.buckets.get_mut(&loc.key)?;
        let entry = if bucket.head.rank != loc.rank {
            let at = bucket
                .more
                .binary_search_by(|e| e.rank.cmp(&loc.rank))
                .ok()?;
            bucket.more.remove(at)
        } else if bucket.more.is_empty() {
            group.buckets.remove(&loc.key)?.head
        } else {
            let next = bucket.more.remove(0);
            std::mem::replace(&mut bucket.head, next)
        };
        group.ranks.remove(&loc.rank);
        if group.best == loc.rank {
            group.best = group.ranks.first().copied().unwrap_or(NO_RANK);
            let (src_v6, _) = addr_bits(entry.policy.selector.src.network());
            let (dst_v6, _) = addr_bits(entry.policy.selector.dst.network());
            self.reposition(family_pair(src_v6, dst_v6), loc.group);
        }
        self.rebuild_small();
        Some(entry.policy)
    }

    /// The policy with this id.
    pub fn get(&self, id: PolicyId) -> Option<&Policy> {
        self.index
            .get(&id.0)
            .and_then(|loc| self.entry(loc))
            .map(|e| &e.policy)
    }

    /// The first policy in SPD order whose selector matches the flow. Allocates nothing.
    pub fn lookup(&self, key: &FlowKey) -> Option<(PolicyId, &Policy)> {
        let (src_v6, src) = addr_bits(key.src);
        let (dst_v6, dst) = addr_bits(key.dst);
        if !self.small.is_empty() {
            let pair = family_pair(src_v6, dst_v6) as u8;
            return self
                .small
                .iter()
                .find(|c| {
                    c.pair == pair
                        && src & c.src_mask == c.src_net
                        && dst & c.dst_mask == c.dst_net
                        && c.policy.selector.matches_next_layer(key)
                })
                .map(|c| (PolicyId(c.id), &c.policy));
        }
        let mut found: Option<&Entry> = None;
        let mut found_rank = NO_RANK;
        for &gi in &self.order[family_pair(src_v6, dst_v6)] {
            let Some(group) = self.groups.get(gi) else {
                continue;
            };
            // Groups come by best rank: none from here on can beat the match.
            if group.best >= found_rank {
                break;
            }
            let Some(bucket) = group
                .buckets
                .get(&(src & group.src_mask, dst & group.dst_mask))
            else {
                continue;
            };
            for entry in bucket.iter() {
                if entry.rank >= found_rank {
                    break;
                }
                if entry.policy.selector.matches_next_layer(key) {
                    found = Some(entry);
                    found_rank = entry.rank;
                    break;
                }
            }
        }
        found.map(|e| (PolicyId(e.id), &e.policy))
    }

    /// The number of policies.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether there are no policies.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Every policy, by id (insertion order until ids wrap around).
    pub fn iter(&self) -> impl Iterator<Item = (PolicyId, &Policy)> + '_ {
        self.index
            .iter()
            .filter_map(move |(&id, loc)| self.entry(loc).map(|e| (PolicyId(id), &e.policy)))
    }

    fn entry(&self, loc: &Location) -> Option<&Entry> {
        self.groups
            .get(loc.group)?
            .buckets
            .get(&loc.key)?
            .get(loc.rank)
    }

    /// The next free id: ids count up from 1 and skip those in use after wrapping around.
    fn alloc_id(&mut self) -> u32 {
        loop {
            self.last_id = self.last_id.wrapping_add(1);
            if self.last_id != 0 && !self.index.contains_key(&self.last_id) {
                return self.last_id;
            }
        }
    }

    /// Moves group `gi` to its place in `order[pair]` after its best rank changed.
    fn reposition(&mut self, pair: usize, gi: usize) {
        let groups = &self.groups;
        let order = &mut self.order[pair];
        if let Some(at) = order.iter().position(|&g| g == gi) {
            order.remove(at);
        }
        let best = groups.get(gi).map_or(NO_RANK, |g| g.best);
        let at = order.partition_point(|&g| groups.get(g).map_or(NO_RANK, |g| g.best) <= best);
        order.insert(at, gi);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// xorshift64*: small, deterministic, no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn pick<T: Copy>(&mut self, items: &[T]) -> T {
            items[self.below(items.len() as u64) as usize]
        }
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn net_contains_agrees_with_ipnet() {
        let mut rng = Rng(99);
        for _ in 0..20_000 {
            let r = rng.next();
            let v6 = r & 1 == 1;
            let near = r & 2 == 2; // an address in or next to the net, not just anywhere
            let (net, addr): (IpNet, IpAddr) = if v6 {
                let a = (rng.next() as u128) << 64 | rng.next() as u128;
                let len = (rng.next() % 129) as u8;
                let b = if near {
                    a ^ (1u128 << (rng.next() % 128))
                } else {
                    (rng.next() as u128) << 64
                };
                (
                    Ipv6Net::new(Ipv6Addr::from(a), len).unwrap().into(),
                    IpAddr::V6(Ipv6Addr::from(b)),
                )
            } else {
                let a = rng.next() as u32;
                let len = (rng.next() % 33) as u8;
                let b = if near {
                    a ^ (1u32 << (rng.next() % 32))
                } else {
                    rng.next() as u32
                };
                (
                    Ipv4Net::new(Ipv4Addr::from(a), len).unwrap().into(),
                    IpAddr::V4(Ipv4Addr::from(b)),
                )
            };
            assert_eq!(
                net_contains(&net, &addr),
                net.contains(&addr),
                "{net} {addr}"
            );
            let other: IpAddr = if v6 {
                Ipv4Addr::LOCALHOST.into()
            } else {
                Ipv6Addr::LOCALHOST.into()
            };
            assert!(!net_contains(&net, &other));
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn policy(priority: u32, src: &str, dst: &str, action: Action) -> Policy {
        Policy {
            priority,
            selector: Selector::between(net(src), net(dst)),
            action,
        }
    }

    fn flow(src: &str, dst: &str, proto: u8, sport: u16, dport: u16) -> FlowKey {
        FlowKey {
            src: ip(src),
            dst: ip(dst),
            proto,
            sport,
            dport,
        }
    }

    fn hit(spd: &Spd, key: &FlowKey) -> Option<PolicyId> {
        spd.lookup(key).map(|(id, _)| id)
    }

    /// The reference: the policies in insertion order, scanned in full.
    #[derive(Default)]
    struct Naive {
        policies: Vec<(PolicyId, Policy)>,
    }
    impl Naive {
        fn lookup(&self, key: &FlowKey) -> Option<PolicyId> {
            let mut best: Option<(u32, PolicyId)> = None;
            for (id, p) in &self.policies {
                // Strictly lower only: the first inserted wins ties.
                let better = match best {
                    None => true,
                    Some((prio, _)) => p.priority < prio,
                };
                if p.selector.matches(key) && better {
                    best = Some((p.priority, *id));
                }
            }
            best.map(|(_, id)| id)
        }
    }

    #[test]
    fn port_range_and_bundle() {
        assert!(PortRange::ANY.contains(0) && PortRange::ANY.contains(65535));
        let r = PortRange::new(1000, 2000);
        assert!(!r.contains(999) && r.contains(1000) && r.contains(2000) && !r.contains(2001));
        assert!(!PortRange::new(5, 4).contains(4) && !PortRange::new(5, 4).contains(5));
        assert_eq!(PortRange::default(), PortRange::ANY);

        assert!(SaBundle::new(&[]).is_none());
        assert!(SaBundle::new(&[1, 2, 3, 4, 5]).is_none());
        let b = SaBundle::new(&[7, 8, 9]).unwrap();
        assert_eq!(b.as_slice(), &[7, 8, 9]);
        assert_eq!(b.first(), 7);
        assert_eq!(SaBundle::new(&[3]).unwrap(), SaBundle::single(3));
        assert_eq!(SaBundle::new(&[1, 2, 3, 4]).unwrap().as_slice().len(), 4);
    }

    #[test]
    fn empty() {
        let spd = Spd::new();
        assert!(spd.is_empty());
        assert_eq!(spd.len(), 0);
        assert!(spd.lookup(&flow("10.0.0.1", "10.0.0.2", 6, 1, 2)).is_none());
        assert!(spd.get(PolicyId(1)).is_none());
        assert_eq!(spd.iter().count(), 0);
    }

    #[test]
    fn priority_then_insertion_order() {
        let mut spd = Spd::new();
        let a = spd.insert(policy(100, "10.0.0.0/8", "0.0.0.0/0", Action::Bypass));
        let b = spd.insert(policy(50, "10.1.0.0/16", "0.0.0.0/0", Action::Discard));
        let c = spd.insert(policy(50, "10.1.2.0/24", "0.0.0.0/0", Action::Bypass));
        let d = spd.insert(policy(50, "10.1.0.0/16", "0.0.0.0/0", Action::Bypass));
        let k = flow("10.1.2.3", "192.0.2.1", 17, 500, 500);
        // b and c and d tie on priority: b was inserted first, even though c is more specific.
        assert_eq!(hit(&spd, &k), Some(b));
        assert_eq!(spd.remove(b).unwrap().action, Action::Discard);
        assert_eq!(hit(&spd, &k), Some(c));
        spd.remove(c);
        assert_eq!(hit(&spd, &k), Some(d));
        spd.remove(d);
        assert_eq!(hit(&spd, &k), Some(a));
        // A lower priority inserted later wins over all.
        let e = spd.insert(policy(0, "0.0.0.0/0", "0.0.0.0/0", Action::Discard));
        assert_eq!(hit(&spd, &k), Some(e));
        assert_eq!(hit(&spd, &flow("11.0.0.1", "1.1.1.1", 1, 0, 0)), Some(e));
        spd.remove(e);
        assert_eq!(hit(&spd, &flow("11.0.0.1", "1.1.1.1", 1, 0, 0)), None);
        // The most specific selector does not win by itself: order does (RFC 4301 SPD is ordered).
        let f = spd.insert(policy(10, "10.1.2.3/32", "192.0.2.1/32", Action::Bypass));
        let g = spd.insert(policy(5, "10.0.0.0/8", "192.0.2.0/24", Action::Discard));
        assert_eq!(hit(&spd, &k), Some(g));
        spd.remove(g);
        assert_eq!(hit(&spd, &k), Some(f));
        // Equal priority, same selector: first inserted.
        let h = spd.insert(policy(10, "10.1.2.3/32", "192.0.2.1/32", Action::Discard));
        assert_eq!(hit(&spd, &k), Some(f));
        spd.remove(f);
        assert_eq!(hit(&spd, &k), Some(h));
    }

    #[test]
    fn remove_and_ids() {
        let mut spd = Spd::new();
        let p = policy(
            1,
            "10.0.0.0/24",
            "10.0.1.0/24",
            Action::Protect(SaBundle::single(9)),
        );
        let a = spd.insert(p);
        let b = spd.insert(p);
        assert_ne!(a, b);
        assert_eq!(spd.len(), 2);
        assert_eq!(spd.get(a), Some(&p));
        assert_eq!(spd.remove(a), Some(p));
        assert_eq!(spd.remove(a), None);
        assert_eq!(spd.get(a), None);
        assert_eq!(spd.remove(PolicyId(12345)), None);
        assert_eq!(spd.len(), 1);
        let k = flow("10.0.0.7", "10.0.1.9", 6, 1, 2);
        assert_eq!(hit(&spd, &k), Some(b));
        let c = spd.insert(p);
        assert!(c != a && c != b, "ids are not reused");
        assert_eq!(hit(&spd, &k), Some(b));
        assert_eq!(spd.iter().map(|(id, _)| id).collect::<Vec<_>>(), vec![b, c]);
        spd.remove(b);
        spd.remove(c);
        assert!(spd.is_empty());
        assert_eq!(hit(&spd, &k), None);
        // Ids wrap around without handing out one still in use.
        spd.last_id = u32::MAX - 1;
        let d = spd.insert(p);
        let e = spd.insert(p);
        assert_eq!(d, PolicyId(u32::MAX));
        assert_eq!(e, PolicyId(1));
        spd.last_id = 0;
        assert_eq!(spd.insert(p), PolicyId(2));
    }

    #[test]
    fn next_layer_selectors() {
        let mut spd = Spd::new();
        let mut ssh = policy(1, "10.0.0.0/8", "10.0.0.0/8", Action::Bypass);
        ssh.selector.proto = Some(6);
        ssh.selector.dport = PortRange::single(22);
        let ssh = spd.insert(ssh);
        let mut high = policy(2, "10.0.0.0/8", "10.0.0.0/8", Action::Discard);
        high.selector.proto = Some(17);
        high.selector.sport = PortRange::new(1024, 65535);
        high.selector.dport = PortRange::new(5000, 5010);
        let high = spd.insert(high);
        let mut icmp = policy(3, "10.0.0.0/8", "10.0.0.0/8", Action::Bypass);
        icmp.selector.proto = Some(1);
        icmp.selector.sport = PortRange::single(8); // echo request, any code
        let icmp = spd.insert(icmp);
        let any = spd.insert(policy(4, "10.0.0.0/8", "10.0.0.0/8", Action::Discard));

        assert_eq!(
            hit(&spd, &flow("10.0.0.1", "10.0.0.2", 6, 40000, 22)),
            Some(ssh)
        );
        assert_eq!(
            hit(&spd, &flow("10.0.0.1", "10.0.0.2", 6, 40000, 23)),
            Some(any)
        );
        assert_eq!(
            hit(&spd, &flow("10.0.0.1", "10.0.0.2", 17, 40000, 22)),
            Some(any)
        );
        assert_eq!(
            hit(&spd, &flow("10.0.0.1", "10.0.0.2", 17, 1024, 5000)),
            Some(high)
        );
        assert_eq!(
            hit(&spd, &flow("10.0.0.1", "10.0.0.2", 17, 65535, 5010)),
            Some(high)
        );
        assert_eq!(
            hit(&spd, &flow("10.0.0.1", "10.0.0.2", 17, 1023, 5000)),
            Some(any)
        );
        assert_eq!(
            hit(&spd, &flow("10.0.0.1", "10.0.0.2", 17, 2000, 5011)),
            Some(any)
        );
        assert_eq!(
            hit(&spd, &flow("10.0.0.1", "10.0.0.2", 1, 8, 0)),
            Some(icmp)
        );
        assert_eq!(hit(&spd, &flow("10.0.0.1", "10.0.0.2", 1, 0, 0)), Some(any));
        assert_eq!(
            hit(&spd, &flow("10.0.0.1", "10.0.0.2", 50, 0, 0)),
            Some(any)
        );
        assert_eq!(hit(&spd, &flow("11.0.0.1", "10.0.0.2", 6, 40000, 22)), None);
    }

    #[test]
    fn families_never_mix() {
        let mut spd = Spd::new();
        let v4 = spd.insert(policy(1, "0.0.0.0/0", "0.0.0.0/0", Action::Bypass));
        let v6 = spd.insert(policy(2, "::/0", "::/0", Action::Discard));
        let host6 = spd.insert(policy(
            0,
            "2001:db8::1/128",
            "2001:db8:1::/48",
            Action::Bypass,
        ));
        let mapped = spd.insert(policy(0, "::ffff:10.0.0.1/128", "::/0", Action::Bypass));
        assert_eq!(hit(&spd, &flow("10.0.0.1", "10.0.0.2", 6, 1, 2)), Some(v4));
        assert_eq!(
            hit(&spd, &flow("2001:db8::2", "2001:db8::3", 6, 1, 2)),
            Some(v6)
        );
        assert_eq!(
            hit(&spd, &flow("2001:db8::1", "2001:db8:1:2::3", 6, 1, 2)),
            Some(host6)
        );
        assert_eq!(
            hit(&spd, &flow("2001:db8::1", "2001:db8:2::3", 6, 1, 2)),
            Some(v6)
        );
        assert_eq!(
            hit(&spd, &flow("::ffff:10.0.0.1", "::1", 6, 1, 2)),
            Some(mapped)
        );
        // An IPv4 address never meets the IPv6 policies, even IPv4-mapped ones, and IPv4's
        // numeric value in the low bits does not match an IPv6 prefix of zeros.
        assert_eq!(hit(&spd, &flow("10.0.0.1", "0.0.0.1", 6, 1, 2)), Some(v4));
        spd.remove(v4);
        assert_eq!(hit(&spd, &flow("10.0.0.1", "0.0.0.1", 6, 1, 2)), None);
        spd.remove(v6);
        assert_eq!(hit(&spd, &flow("::", "::", 6, 1, 2)), None);
        // A mixed key only meets mixed selectors.
        assert_eq!(hit(&spd, &flow("10.0.0.1", "::1", 6, 1, 2)), None);
        let mixed = spd.insert(policy(9, "10.0.0.0/8", "::/0", Action::Discard));
        assert_eq!(hit(&spd, &flow("10.0.0.1", "::1", 6, 1, 2)), Some(mixed));
        assert_eq!(hit(&spd, &flow("10.0.0.1", "10.0.0.1", 6, 1, 2)), None);
    }

    #[test]
    fn host_bits_in_prefixes_are_ignored() {
        let mut spd = Spd::new();
        let id = spd.insert(policy(1, "10.0.0.77/24", "2001:db8::55/64", Action::Bypass));
        assert_eq!(
            hit(&spd, &flow("10.0.0.1", "2001:db8::1", 0, 0, 0)),
            Some(id)
        );
        let id6 = spd.insert(policy(
            1,
            "2001:db8::55/64",
            "2001:db8::55/64",
            Action::Bypass,
        ));
        assert_eq!(
            hit(&spd, &flow("2001:db8::1", "2001:db8::ffff", 0, 0, 0)),
            Some(id6)
        );
        // The stored policy is the one given, host bits and all.
        assert_eq!(spd.get(id).unwrap().selector.src, net("10.0.0.77/24"));
    }

    /// Random policies from a small address space, so that they overlap a lot, with inserts
    /// and removals interleaved; every lookup compared with the linear reference.
    #[test]
    fn model_random() {
        let mut rng = Rng(0x5eed_1234_abcd_0001);
        let v4_lens = [0u8, 8, 16, 22, 24, 28, 31, 32];
        let v6_lens = [0u8, 16, 32, 48, 64, 100, 120, 127, 128];
        let protos = [None, Some(6), Some(17), Some(1), Some(50)];
        let prios = [0u32, 1, 2, 5, 10, 100, u32::MAX];
        fn v4(rng: &mut Rng) -> IpAddr {
            // 10.0.0.0/22 and a few outside addresses.
            let a = 0x0a00_0000 | (rng.below(1024) as u32);
            IpAddr::V4(Ipv4Addr::from(if rng.below(16) == 0 {
                a ^ 0x8000_0000
            } else {
                a
            }))
        }
        fn v6(rng: &mut Rng) -> IpAddr {
            let a = (0x2001_0db8u128 << 96) | u128::from(rng.below(1024));
            let a = if rng.below(4) == 0 {
                a | (u128::from(rng.below(4)) << 64)
            } else {
                a
            };
            IpAddr::V6(Ipv6Addr::from(if rng.below(16) == 0 {
                a ^ (1 << 120)
            } else {
                a
            }))
        }
        fn any_addr(rng: &mut Rng, v6_: bool) -> IpAddr {
            if v6_ {
                v6(rng)
            } else {
                v4(rng)
            }
        }
        fn ports(rng: &mut Rng) -> PortRange {
            match rng.below(5) {
                0 | 1 => PortRange::ANY,
                2 => PortRange::single(rng.below(8) as u16),
                3 => {
                    let lo = rng.below(8) as u16;
                    PortRange::new(lo, lo + rng.below(4) as u16)
                }
                _ => PortRange::new(rng.below(8) as u16, rng.below(8) as u16),
            }
        }
        for round in 0..40 {
            let mut spd = Spd::new();
            let mut naive = Naive::default();
            let steps = 400 + round * 20;
            for step in 0..steps {
                let op = rng.below(10);
                if op < 6 || naive.policies.is_empty() {
                    let mixed = rng.below(50) == 0;
                    let is_v6 = rng.below(3) == 0;
                    let (src_v6, dst_v6) = (is_v6, if mixed { !is_v6 } else { is_v6 });
                    let lens = |v6_: bool, rng: &mut Rng| {
                        if v6_ {
                            rng.pick(&v6_lens)
                        } else {
                            rng.pick(&v4_lens)
                        }
                    };
                    let src =
                        IpNet::new(any_addr(&mut rng, src_v6), lens(src_v6, &mut rng)).unwrap();
                    let dst =
                        IpNet::new(any_addr(&mut rng, dst_v6), lens(dst_v6, &mut rng)).unwrap();
                    let p = Policy {
                        priority: rng.pick(&prios),
                        selector: Selector {
                            src,
                            dst,
                            proto: rng.pick(&protos),
                            sport: ports(&mut rng),
                            dport: ports(&mut rng),
                        },
                        action: Action::Protect(SaBundle::single(step as u32)),
                    };
                    let id = spd.insert(p);
                    naive.policies.push((id, p));
                } else if op < 8 {
                    let at = rng.below(naive.policies.len() as u64) as usize;
                    let (id, p) = naive.policies.remove(at);
                    assert_eq!(spd.remove(id), Some(p));
                    assert_eq!(spd.remove(id), None);
                }
                for _ in 0..4 {
                    // Half the flows are drawn inside a random policy's prefixes.
                    let key = if rng.below(2) == 0 && !naive.policies.is_empty() {
                        let (_, p) =
                            naive.policies[rng.below(naive.policies.len() as u64) as usize];
                        let inside = |n: IpNet, rng: &mut Rng| match n {
                            IpNet::V4(n) => {
                                let host = !u32::from(n.netmask()) & rng.next() as u32;
                                IpAddr::V4(Ipv4Addr::from(u32::from(n.network()) | host))
                            }
                            IpNet::V6(n) => {
                                let r = (u128::from(rng.next()) << 64) | u128::from(rng.next());
                                let host = !u128::from(n.netmask()) & (r % 4096);
                                IpAddr::V6(Ipv6Addr::from(u128::from(n.network()) | host))
                            }
                        };
                        FlowKey {
                            src: inside(p.selector.src, &mut rng),
                            dst: inside(p.selector.dst, &mut rng),
                            proto: p.selector.proto.unwrap_or(rng.pick(&[6, 17, 1, 50])),
                            sport: rng.below(10) as u16,
                            dport: rng.below(10) as u16,
                        }
                    } else {
                        let is_v6 = rng.below(3) == 0;
                        let mixed = rng.below(30) == 0;
                        FlowKey {
                            src: any_addr(&mut rng, is_v6),
                            dst: any_addr(&mut rng, is_v6 ^ mixed),
                            proto: rng.pick(&[6, 17, 1, 50, 0]),
                            sport: rng.below(10) as u16,
                            dport: rng.below(10) as u16,
                        }
                    };
                    assert_eq!(
                        hit(&spd, &key),
                        naive.lookup(&key),
                        "round {round} step {step} {key:?}"
                    );
                }
                assert_eq!(spd.len(), naive.policies.len());
            }
            // get and iter agree with the reference, in insertion order.
            for (id, p) in &naive.policies {
                assert_eq!(spd.get(*id), Some(p));
            }
            let listed: Vec<(PolicyId, Policy)> = spd.iter().map(|(id, p)| (id, *p)).collect();
            assert_eq!(listed, naive.policies);
        }
    }

    /// 100,000 policies of the usual kinds, 100,000 lookups; the answers are known by
    /// construction, and a sample is checked against the linear reference too.
    #[test]
    fn scale_100k() {
        let mut spd = Spd::new();
        let mut naive = Naive::default();
        let mut expect = Vec::new();
        let add = |spd: &mut Spd, naive: &mut Naive, p: Policy| {
            let id = spd.insert(p);
            naive.policies.push((id, p));
            id
        };
        // Lowest priority catch-alls, one per family.
        let catch4 = add(
            &mut spd,
            &mut naive,
            policy(u32::MAX, "0.0.0.0/0", "0.0.0.0/0", Action::Discard),
        );
        let catch6 = add(
            &mut spd,
            &mut naive,
            policy(u32::MAX, "::/0", "::/0", Action::Discard),
        );
        for i in 0..100_000u32 {
            let bundle = Action::Protect(SaBundle::single(i));
            let (p, key) = match i % 4 {
                // IPv4 host to host, some with ports.
                0 | 1 => {
                    let s = Ipv4Addr::from(0x0a00_0000 | i);
                    let d = Ipv4Addr::from(0xac10_0000 | i);
                    let mut p = Policy {
                        priority: 10,
                        selector: Selector::between(
                            IpNet::V4(Ipv4Net::new(s, 32).unwrap()),
                            IpNet::V4(Ipv4Net::new(d, 32).unwrap()),
                        ),
                        action: bundle,
                    };
                    let mut key = FlowKey {
                        src: s.into(),
                        dst: d.into(),
                        proto: 17,
                        sport: 9,
                        dport: 9,
                    };
                    if i % 4 == 1 {
                        p.selector.proto = Some(6);
                        p.selector.dport = PortRange::single(443);
                        key.proto = 6;
                        key.dport = 443;
                    }
                    (p, key)
                }
                // IPv4 subnet to subnet.
                2 => {
                    let s = Ipv4Addr::from(0x4000_0000 | (i << 8));
                    let d = Ipv4Addr::from(0x8000_0000 | (i << 8));
                    let p = Policy {
                        priority: 20,
                        selector: Selector::between(
                            IpNet::V4(Ipv4Net::new(s, 24).unwrap()),
                            IpNet::V4(Ipv4Net::new(d, 24).unwrap()),
                        ),
                        action: bundle,
                    };
                    let key = FlowKey {
                        src: Ipv4Addr::from(u32::from(s) | 7).into(),
                        dst: Ipv4Addr::from(u32::from(d) | 200).into(),
                        proto: 1,
                        sport: 8,
                        dport: 0,
                    };
                    (p, key)
                }
                // IPv6 host to host and /64 to /64.
                _ => {
                    let base = 0x2001_0db8u128 << 96;
                    let (len, s, d) = if i % 8 == 3 {
                        (128, base | u128::from(i), base | (1 << 90) | u128::from(i))
                    } else {
                        (
                            64,
                            base | (u128::from(i) << 64),
                            base | (1 << 90) | (u128::from(i) << 64),
                        )
                    };
                    let p = Policy {
                        priority: 10,
                        selector: Selector::between(
                            IpNet::V6(Ipv6Net::new(s.into(), len).unwrap()),
                            IpNet::V6(Ipv6Net::new(d.into(), len).unwrap()),
                        ),
                        action: bundle,
                    };
                    let key = FlowKey {
                        src: Ipv6Addr::from(s | u128::from(len == 64)).into(),
                        dst: Ipv6Addr::from(d).into(),
                        proto: 6,
                        sport: 1,
                        dport: 2,
                    };
                    (p, key)
                }
            };
            let id = add(&mut spd, &mut naive, p);
            expect.push((key, id));
        }
        assert_eq!(spd.len(), 100_002);
        for (key, id) in &expect {
            assert_eq!(hit(&spd, key), Some(*id), "{key:?}");
        }
        // Misses fall to the catch-alls.
        let mut misses = Vec::new();
        for (i, (key, _)) in expect.iter().enumerate() {
            let mut key = *key;
            key.dport = key.dport.wrapping_add(1);
            if i % 4 == 1 {
                assert_eq!(hit(&spd, &key), Some(catch4));
            }
            if let IpAddr::V6(a) = key.dst {
                key.dst = IpAddr::V6(Ipv6Addr::from(u128::from(a) ^ (1 << 100)));
                assert_eq!(hit(&spd, &key), Some(catch6));
            }
            misses.push(key);
        }
        // A sample against the linear scan (slow in debug builds, so only a sample).
        for key in expect
            .iter()
            .map(|(k, _)| k)
            .step_by(997)
            .chain(misses.iter().step_by(991))
        {
            assert_eq!(hit(&spd, key), naive.lookup(key));
        }
        // Removing every other policy: the removed ones' flows fall through.
        for (n, (key, id)) in expect.iter().enumerate() {
            if n % 2 == 0 {
                spd.remove(*id).unwrap();
                let fallback = if key.src.is_ipv4() { catch4 } else { catch6 };
                assert_eq!(hit(&spd, key), Some(fallback));
            }
        }
        for (key, id) in expect.iter().skip(1).step_by(2) {
            assert_eq!(hit(&spd, key), Some(*id));
        }
        assert_eq!(spd.len(), 50_002);
    }
}
