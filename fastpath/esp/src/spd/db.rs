//! The SPD of one direction: policies grouped by shape, each group a [`ShapeTable`] from
//! masked address pair to the pair's best policy; the pair's other policies chain from it by
//! rank, in the overflow entries (rare: policies that share addresses and differ in ports).

use super::table::{Entry, Pair, Probe, ShapeTable, Slot, NIL};
use super::{
    addr_bits, family_pair, prefix_mask, rank, Action, FlowKey, Policy, PolicyId, Rank, Selector,
    FAMILY_PAIRS, NO_RANK,
};
use crate::sad::SaPos;
use foldhash::HashMap;
use std::collections::{BTreeMap, BTreeSet};

mod placement;

/// Up to this many policies, lookups scan [`Spd`]'s linear list instead of the tuple space.
pub const SMALL_SPD: usize = 8;

/// How many keys [`Spd::lookup_burst`] works on at once (its arrays are on the stack).
const BURST_PASS: usize = 32;

/// From this many bytes of slots on, a burst lookup prefetches: below, the tables stay in
/// the core's own cache (1 MiB of L2 here), and a prefetch pass costs more than it hides.
/// The tests take the prefetching pass at every size, to check it against the reference.
const PREFETCH_FROM_BYTES: usize = if cfg!(test) { 1 } else { 1 << 20 };

/// A `placed_layout` that no SAD's layout is.
const UNPLACED: u64 = u64::MAX;

/// How many groups of a family pair a burst lookup hashes and prefetches ahead: the best
/// ones, where most lookups end.
const PREFETCH_GROUPS: usize = 2;

/// What [`Spd::ask`] found of a flow: its first probes, their lines asked for (none when the
/// tables are in cache).
#[derive(Clone, Copy, Debug)]
pub struct Asked([Option<Probe>; PREFETCH_GROUPS]);

impl Asked {
    const NOTHING: Asked = Asked([None; PREFETCH_GROUPS]);
}

/// The group of policies of one shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Shape {
    pair: u8,
    src_len: u8,
    dst_len: u8,
}

#[derive(Clone, Debug)]
struct Group {
    src_mask: u128,
    dst_mask: u128,
    /// Masked (src, dst) to the pair's best policy.
    table: ShapeTable,
    /// Every rank in the group, to know the best one after a removal.
    ranks: BTreeSet<Rank>,
    /// The lowest rank in `ranks`, or `NO_RANK`.
    best: Rank,
}

impl Group {
    fn pair_of(&self, selector: &Selector) -> Pair {
        let (_, src) = addr_bits(selector.src.network());
        let (_, dst) = addr_bits(selector.dst.network());
        (src & self.src_mask, dst & self.dst_mask)
    }
}

/// Where a policy is stored: its group and pair (the slot moves as the table changes).
#[derive(Clone, Copy, Debug)]
struct Location {
    group: u32,
    pair: Pair,
}

/// What a lookup found: the policy, and where the SAD it was placed against holds its first
/// SA ([`Spd::install_sa`]; [`SaPos::NONE`] if that SAD has no such SA).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit<'a> {
    pub id: PolicyId,
    pub policy: &'a Policy,
    pub sa_at: SaPos,
}

impl<'a> Hit<'a> {
    fn of(e: &'a Entry) -> Hit<'a> {
        Hit {
            id: PolicyId(e.id),
            policy: &e.policy,
            sa_at: e.sa_at,
        }
    }
}

/// One direction's security policy database (the caller keeps an outbound and an inbound one).
#[derive(Clone, Debug, Default)]
pub struct Spd {
    groups: Vec<Group>,
    shapes: HashMap<Shape, usize>,
    /// Per family pair, the indices of its groups by best rank, empty groups last.
    order: [Vec<usize>; FAMILY_PAIRS],
    /// The policies after the best of their pair, chained; the indices in `free` are unused.
    overflow: Vec<Entry>,
    free: Vec<u32>,
    /// Every policy by id: for `get`, `remove` and `iter` in id order.
    index: BTreeMap<u32, Location>,
    /// The PROTECT policies by their first SA: (SA id, policy id), for `place_sa`.
    by_sa: BTreeSet<(u32, u32)>,
    /// The [`crate::sad::Sad::layout`] the positions are right for (`placement`).
    placed_layout: u64,
    /// The last id handed out.
    pub(super) last_id: u32,
    /// Insertion counter, for the tie rule.
    next_seq: u64,
    /// While the SPD holds at most [`SMALL_SPD`] policies: all of them by rank, compiled for
    /// a linear scan, which beats hashing the address pair when there are only a few
    /// (the common gateway with a handful of policies). Empty otherwise.
    small: Vec<Compiled>,
    /// Whether the tables are too large to stay in cache: burst lookups prefetch.
    large: bool,
}

/// A policy in the linear list: its addresses as masked numbers.
#[derive(Clone, Copy, Debug)]
struct Compiled {
    rank: Rank,
    id: u32,
    sa_at: SaPos,
    pair: u8,
    src_net: u128,
    src_mask: u128,
    dst_net: u128,
    dst_mask: u128,
    policy: Policy,
}

impl Compiled {
    fn new(e: &Entry) -> Compiled {
        let (rank, id, policy) = (e.rank(), e.id, e.policy);
        let (src_v6, src) = addr_bits(policy.selector.src.network());
        let (dst_v6, dst) = addr_bits(policy.selector.dst.network());
        let src_mask = prefix_mask(src_v6, policy.selector.src.prefix_len());
        let dst_mask = prefix_mask(dst_v6, policy.selector.dst.prefix_len());
        Compiled {
            rank,
            id,
            sa_at: e.sa_at,
            pair: family_pair(src_v6, dst_v6) as u8,
            src_net: src & src_mask,
            src_mask,
            dst_net: dst & dst_mask,
            dst_mask,
            policy,
        }
    }
}

/// A flow's family pair and addresses as numbers.
#[inline(always)]
fn flow_bits(key: &FlowKey) -> (usize, u128, u128) {
    let (src_v6, src) = addr_bits(key.src);
    let (dst_v6, dst) = addr_bits(key.dst);
    (family_pair(src_v6, dst_v6), src, dst)
}

/// Stores `entry` in the overflow; its index.
fn alloc_overflow(overflow: &mut Vec<Entry>, free: &mut Vec<u32>, entry: Entry) -> u32 {
    match free.pop() {
        Some(at) => {
            overflow[at as usize] = entry;
            at
        }
        None => {
            overflow.push(entry);
            (overflow.len() - 1) as u32
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
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let rank = rank(policy.priority, seq);
        let (src_v6, _) = addr_bits(policy.selector.src.network());
        let (dst_v6, _) = addr_bits(policy.selector.dst.network());
        let family = family_pair(src_v6, dst_v6);
        let shape = Shape {
            pair: family as u8,
            src_len: policy.selector.src.prefix_len(),
            dst_len: policy.selector.dst.prefix_len(),
        };
        let gi = self.group_for(shape, src_v6, dst_v6);
        let group = &mut self.groups[gi];
        let pair = group.pair_of(&policy.selector);
        let mut entry = Entry {
            id,
            next: NIL,
            seq,
            policy,
            sa_at: SaPos::NONE,
        };
        let (overflow, free) = (&mut self.overflow, &mut self.free);
        match group.table.get_mut(pair) {
            None => group.table.insert(Slot { pair, head: entry }),
            Some(slot) if rank < slot.head.rank() => {
                // The new best: the old head moves to the overflow, first after it.
                let old = std::mem::replace(&mut slot.head, entry);
                slot.head.next = alloc_overflow(overflow, free, old);
            }
            Some(slot) => {
                let mut prev = NIL;
                let mut next = slot.head.next;
                while let Some(e) = overflow.get(next as usize) {
                    if e.rank() > rank {
                        break;
                    }
                    prev = next;
                    next = e.next;
                }
                entry.next = next;
                let at = alloc_overflow(overflow, free, entry);
                match overflow.get_mut(prev as usize) {
                    Some(p) => p.next = at,
                    None => slot.head.next = at,
                }
            }
        }
        group.ranks.insert(rank);
        if rank < group.best {
            group.best = rank;
            self.reposition(family, gi);
        }
        self.index.insert(
            id,
            Location {
                group: gi as u32,
                pair,
            },
        );
        if let Action::Protect(bundle) = policy.action {
            self.by_sa.insert((bundle.first(), id));
            // Not pointed at its SA: no SAD's positions are all right any more.
            self.placed_layout = UNPLACED;
        }
        self.rebuild_small();
        PolicyId(id)
    }

    /// The group of `shape`, made if there is none yet.
    fn group_for(&mut self, shape: Shape, src_v6: bool, dst_v6: bool) -> usize {
        if let Some(&gi) = self.shapes.get(&shape) {
            return gi;
        }
        let gi = self.groups.len();
        self.groups.push(Group {
            src_mask: prefix_mask(src_v6, shape.src_len),
            dst_mask: prefix_mask(dst_v6, shape.dst_len),
            table: ShapeTable::default(),
            ranks: BTreeSet::new(),
            best: NO_RANK,
        });
        self.shapes.insert(shape, gi);
        self.order[usize::from(shape.pair)].push(gi);
        gi
    }

    /// Keeps the linear list in step with the tuple space (only while the SPD is small), and
    /// whether bursts prefetch with its size.
    fn rebuild_small(&mut self) {
        let slot_bytes: usize = self.groups.iter().map(|g| g.table.slot_bytes()).sum();
        self.large = slot_bytes >= PREFETCH_FROM_BYTES;
        self.small.clear();
        if self.index.len() > SMALL_SPD {
            return;
        }
        let mut small: Vec<Compiled> = self
            .index
            .keys()
            .filter_map(|&id| self.entry(id).map(Compiled::new))
            .collect();
        small.sort_by_key(|c| c.rank);
        self.small = small;
    }

    /// Removes a policy and gives it back; `None` if there is no such policy.
    pub fn remove(&mut self, id: PolicyId) -> Option<Policy> {
        let loc = self.index.remove(&id.0)?;
        let gi = loc.group as usize;
        let group = self.groups.get_mut(gi)?;
        let slot = group.table.get_mut(loc.pair)?;
        let removed = if slot.head.id == id.0 {
            match self.overflow.get(slot.head.next as usize) {
                Some(&next) => {
                    self.free.push(slot.head.next);
                    std::mem::replace(&mut slot.head, next)
                }
                None => group.table.remove(loc.pair)?.head,
            }
        } else {
            let mut prev = NIL;
            let mut at = slot.head.next;
            while self.overflow.get(at as usize)?.id != id.0 {
                prev = at;
                at = self.overflow[at as usize].next;
            }
            let removed = self.overflow[at as usize];
            match self.overflow.get_mut(prev as usize) {
                Some(p) => p.next = removed.next,
                None => slot.head.next = removed.next,
            }
            self.free.push(at);
            removed
        };
        if let Action::Protect(bundle) = removed.policy.action {
            self.by_sa.remove(&(bundle.first(), id.0));
        }
        let rank = removed.rank();
        group.ranks.remove(&rank);
        if group.best == rank {
            group.best = group.ranks.first().copied().unwrap_or(NO_RANK);
            let (src_v6, _) = addr_bits(removed.policy.selector.src.network());
            let (dst_v6, _) = addr_bits(removed.policy.selector.dst.network());
            self.reposition(family_pair(src_v6, dst_v6), gi);
        }
        self.rebuild_small();
        Some(removed.policy)
    }

    /// The policy with this id.
    pub fn get(&self, id: PolicyId) -> Option<&Policy> {
        self.entry(id.0).map(|e| &e.policy)
    }

    fn entry(&self, id: u32) -> Option<&Entry> {
        let loc = self.index.get(&id)?;
        let slot = self.groups.get(loc.group as usize)?.table.get(loc.pair)?;
        let mut entry = &slot.head;
        while entry.id != id {
            entry = self.overflow.get(entry.next as usize)?;
        }
        Some(entry)
    }

    /// The first policy in SPD order whose selector matches the flow. Allocates nothing.
    pub fn lookup(&self, key: &FlowKey) -> Option<(PolicyId, &Policy)> {
        self.lookup_hit(key).map(|h| (h.id, h.policy))
    }

    /// [`Spd::lookup`], with where its first SA is.
    #[inline]
    pub fn lookup_hit(&self, key: &FlowKey) -> Option<Hit<'_>> {
        let (family, src, dst) = flow_bits(key);
        if !self.small.is_empty() {
            return self.lookup_small(family, src, dst, key);
        }
        self.find(family, src, dst, key, &[]).map(Hit::of)
    }

    /// Whether [`Spd::lookup_burst`] gains over one [`Spd::lookup`] per packet: only when
    /// the tables are larger than a core's cache (its probes are asked for a pass ahead).
    pub fn prefers_bursts(&self) -> bool {
        self.large
    }

    /// [`Spd::lookup`] of every key, into `out` (as many as both hold). When the tables are
    /// larger than a core's cache, the first probes of a burst are hashed and their cache
    /// lines asked for before any is read ([`Spd::ask`]), so that the misses of a burst
    /// overlap instead of adding up. Allocates nothing.
    pub fn lookup_burst<'a>(&'a self, keys: &[FlowKey], out: &mut [Option<Hit<'a>>]) {
        for (keys, out) in keys.chunks(BURST_PASS).zip(out.chunks_mut(BURST_PASS)) {
            let mut asked = [Asked::NOTHING; BURST_PASS];
            for (key, asked) in keys.iter().zip(&mut asked) {
                *asked = self.ask(key);
            }
            self.lookup_asked(keys, &asked, out);
        }
    }

    /// A flow's first probes hashed and their lines asked for, when the tables are larger
    /// than a core's cache, for [`Spd::lookup_asked`] later. The worker asks for each flow as
    /// it classifies the packet, so that the misses have the rest of the classify pass to
    /// arrive: in one process at 100,000 SAs (`SAS=100000 bash bench/ab_interleaved.sh`,
    /// both orders), time per burst over asking in the lookup's own pass: out GCM 1400 0.983,
    /// out GCM 64 0.975, out CBC 1400 0.990.
    #[inline]
    pub fn ask(&self, key: &FlowKey) -> Asked {
        if !self.large {
            return Asked::NOTHING;
        }
        let (family, src, dst) = flow_bits(key);
        Asked(self.prefetch_probes(family, src, dst))
    }

    /// [`Spd::lookup`] of every key, into `out` (as many as both hold), each with what
    /// [`Spd::ask`] gave for it, `asked[i]` for `keys[i]` (a key past `asked` is hashed again).
    pub fn lookup_asked<'a>(
        &'a self,
        keys: &[FlowKey],
        asked: &[Asked],
        out: &mut [Option<Hit<'a>>],
    ) {
        for (i, (key, out)) in keys.iter().zip(out).enumerate() {
            *out = if self.large {
                let (family, src, dst) = flow_bits(key);
                let probes = asked.get(i).map_or(&[][..], |a| &a.0[..]);
                self.find(family, src, dst, key, probes).map(Hit::of)
            } else {
                self.lookup_hit(key)
            };
        }
    }

    /// The probes of the family's first groups for a flow, their lines asked for.
    #[inline(always)]
    fn prefetch_probes(
        &self,
        family: usize,
        src: u128,
        dst: u128,
    ) -> [Option<Probe>; PREFETCH_GROUPS] {
        let mut probes = [None; PREFETCH_GROUPS];
        for (&gi, probe) in self.order[family].iter().zip(probes.iter_mut()) {
            let Some(group) = self.groups.get(gi) else {
                break;
            };
            if group.best == NO_RANK {
                break;
            }
            let p = group
                .table
                .probe((src & group.src_mask, dst & group.dst_mask));
            group.table.prefetch(p);
            *probe = Some(p);
        }
        probes
    }

    fn lookup_small(&self, family: usize, src: u128, dst: u128, key: &FlowKey) -> Option<Hit<'_>> {
        self.small
            .iter()
            .find(|c| {
                usize::from(c.pair) == family
                    && src & c.src_mask == c.src_net
                    && dst & c.dst_mask == c.dst_net
                    && c.policy.selector.matches_next_layer(key)
            })
            .map(|c| Hit {
                id: PolicyId(c.id),
                policy: &c.policy,
                sa_at: c.sa_at,
            })
    }

    /// The first policy in SPD order that matches. `probes` are the probes of the family's
    /// first groups, if already hashed.
    #[inline]
    fn find(
        &self,
        family: usize,
        src: u128,
        dst: u128,
        key: &FlowKey,
        probes: &[Option<Probe>],
    ) -> Option<&Entry> {
        let mut found: Option<&Entry> = None;
        let mut found_rank = NO_RANK;
        for (n, &gi) in self.order[family].iter().enumerate() {
            let Some(group) = self.groups.get(gi) else {
                continue;
            };
            // Groups come by best rank: none from here on can beat the match.
            if group.best >= found_rank {
                break;
            }
            let pair = (src & group.src_mask, dst & group.dst_mask);
            let slot = match probes.get(n).copied().flatten() {
                Some(probe) => group.table.get_probed(pair, probe),
                None => group.table.get(pair),
            };
            // The pair's policies by rank, from the head in the slot.
            let mut entry = slot.map(|s| &s.head);
            while let Some(e) = entry {
                let rank = e.rank();
                if rank >= found_rank {
                    break;
                }
                if e.policy.selector.matches_next_layer(key) {
                    found = Some(e);
                    found_rank = rank;
                    break;
                }
                entry = self.overflow.get(e.next as usize);
            }
        }
        found
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
            .keys()
            .filter_map(move |&id| self.get(PolicyId(id)).map(|p| (PolicyId(id), p)))
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

    /// Moves group `gi` to its place in `order[family]` after its best rank changed.
    fn reposition(&mut self, family: usize, gi: usize) {
        let groups = &self.groups;
        let order = &mut self.order[family];
        if let Some(at) = order.iter().position(|&g| g == gi) {
            order.remove(at);
        }
        let best = groups.get(gi).map_or(NO_RANK, |g| g.best);
        let at = order.partition_point(|&g| groups.get(g).map_or(NO_RANK, |g| g.best) <= best);
        order.insert(at, gi);
    }
}
