//! One shape's policies by masked address pair: a flat open-addressing table, probed linearly.
//! Each slot holds the pair and its best policy whole (two cache lines), so that a probe that
//! finds its pair decides and answers without reading anything else. A parallel array of
//! one-byte tags (0: empty) is what a probe scans first: a group the packet does not hit costs
//! a read of that small, mostly cached array, not of a slot; and with the tags the table can
//! be kept 7/8 full, which halves its lines against a half-full one. Positions are a seeded
//! hash: addresses come from the network.

use super::{rank, Action, IpNet, Ipv4Net, Policy, Rank, Selector};
use crate::sad::SaPos;
use foldhash::fast::FixedState;
use std::hash::{BuildHasher, RandomState};

/// The fewest slots a table has once it holds anything.
const MIN_SLOTS: usize = 16;

/// The masked (source, destination) pair of a group, IPv4 in the low bits.
pub(super) type Pair = (u128, u128);

/// The end of a chain of entries, or no entry.
pub(super) const NIL: u32 = u32::MAX;

/// One stored policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) id: u32,
    /// The next policy of the same pair by rank (an index in the SPD's overflow), or `NIL`.
    pub(super) next: u32,
    /// Insertion sequence, the rank's tie-breaker.
    pub(super) seq: u64,
    pub(super) policy: Policy,
    /// A PROTECT policy's first SA, where the SAD it was placed against holds it
    /// ([`super::Spd::install_sa`]): read with the policy, so that the SA's lines can be
    /// asked for without its slot.
    pub(super) sa_at: SaPos,
}

impl Entry {
    /// The entry's place in the SPD order.
    #[inline]
    pub(super) fn rank(&self) -> Rank {
        rank(self.policy.priority, self.seq)
    }
}

/// An address pair and the best of its policies (the others chain from it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(64))]
pub(super) struct Slot {
    pub(super) pair: Pair,
    pub(super) head: Entry,
}

/// What fills an empty slot (never read: its tag is 0).
fn vacant() -> Slot {
    let any = IpNet::V4(Ipv4Net::default());
    Slot {
        pair: (0, 0),
        head: Entry {
            id: 0,
            next: NIL,
            seq: 0,
            sa_at: SaPos::NONE,
            policy: Policy {
                priority: 0,
                selector: Selector::between(any, any),
                action: Action::Discard,
            },
        },
    }
}

/// Room for `n` slots, advised for transparent huge pages before its first touch: 100,000
/// pairs take 32 MiB of slots, and on 4 KiB pages nearly every probe that reads a slot would
/// miss the TLB as well as the cache.
fn slot_memory(n: usize) -> Vec<Slot> {
    let slots: Vec<Slot> = Vec::with_capacity(n);
    #[cfg(feature = "ipsec-mb")]
    ipsec_mb::advise_huge_pages(slots.as_ptr().cast(), n * std::mem::size_of::<Slot>());
    slots
}

fn vacant_slots(n: usize) -> Vec<Slot> {
    let mut slots = slot_memory(n);
    slots.resize(n, vacant());
    slots
}

#[derive(Debug)]
pub(super) struct ShapeTable {
    /// Per slot: 0 if empty, else a byte of the pair's hash.
    tags: Vec<u8>,
    slots: Vec<Slot>,
    len: usize,
    hasher: FixedState,
}

impl Default for ShapeTable {
    fn default() -> Self {
        ShapeTable {
            tags: Vec::new(),
            slots: Vec::new(),
            len: 0,
            hasher: FixedState::with_seed(RandomState::new().hash_one(0x5350_4430u32)),
        }
    }
}

impl Clone for ShapeTable {
    fn clone(&self) -> Self {
        let mut slots = slot_memory(self.slots.len());
        slots.extend_from_slice(&self.slots);
        ShapeTable {
            tags: self.tags.clone(),
            slots,
            len: self.len,
            hasher: self.hasher.clone(),
        }
    }
}

/// Where a probe for a pair starts, and the tag it looks for.
#[derive(Clone, Copy, Debug)]
pub(super) struct Probe {
    home: usize,
    tag: u8,
}

impl ShapeTable {
    /// The pairs held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The bytes of its slots.
    pub(super) fn slot_bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<Slot>()
    }

    #[inline(always)]
    pub(super) fn probe(&self, pair: Pair) -> Probe {
        let h = self.hasher.hash_one(pair);
        Probe {
            home: (h as usize) & self.slots.len().wrapping_sub(1),
            // The high byte, which the index does not use; never 0 (empty).
            tag: ((h >> 56) as u8).max(1),
        }
    }

    /// The slot of `pair`, if the table holds it.
    #[inline]
    pub(super) fn get(&self, pair: Pair) -> Option<&Slot> {
        self.position(pair).map(|at| &self.slots[at])
    }

    /// Whatever slot of `pair` a probe that starts at `probe` finds.
    #[inline]
    pub(super) fn get_probed(&self, pair: Pair, probe: Probe) -> Option<&Slot> {
        self.position_probed(pair, probe).map(|at| &self.slots[at])
    }

    pub(super) fn get_mut(&mut self, pair: Pair) -> Option<&mut Slot> {
        self.position(pair).map(|at| &mut self.slots[at])
    }

    #[inline]
    fn position(&self, pair: Pair) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        self.position_probed(pair, self.probe(pair))
    }

    #[inline]
    fn position_probed(&self, pair: Pair, probe: Probe) -> Option<usize> {
        let mask = self.slots.len().wrapping_sub(1);
        let mut at = probe.home;
        loop {
            let tag = *self.tags.get(at)?;
            if tag == 0 {
                return None;
            }
            if tag == probe.tag && self.slots[at].pair == pair {
                return Some(at);
            }
            at = (at + 1) & mask;
        }
    }

    /// Asks for the tag line and the slot a probe starting at `probe` reads first.
    #[inline(always)]
    pub(super) fn prefetch(&self, probe: Probe) {
        if let (Some(tag), Some(slot)) = (self.tags.get(probe.home), self.slots.get(probe.home)) {
            crate::sa::prefetch(tag, 1);
            crate::sa::prefetch(slot, std::mem::size_of::<Slot>());
        }
    }

    /// Adds `slot` for a pair not already held.
    pub(super) fn insert(&mut self, slot: Slot) {
        debug_assert!(self.get(slot.pair).is_none());
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let probe = self.probe(slot.pair);
        let mask = self.slots.len() - 1;
        let mut at = probe.home;
        while self.tags[at] != 0 {
            at = (at + 1) & mask;
        }
        self.tags[at] = probe.tag;
        self.slots[at] = slot;
        self.len += 1;
    }

    /// Removes the slot of `pair`, shifting back the slots after it that probed past it, so
    /// that no probe stops early at the hole (no tombstones to accumulate).
    pub(super) fn remove(&mut self, pair: Pair) -> Option<Slot> {
        let mut hole = self.position(pair)?;
        let removed = self.slots[hole];
        let mask = self.slots.len() - 1;
        let mut at = hole;
        loop {
            at = (at + 1) & mask;
            if self.tags[at] == 0 {
                break;
            }
            // The slot may move into the hole only if its home is not cyclically in (hole, at].
            let home = self.probe(self.slots[at].pair).home;
            let stays = if hole <= at {
                hole < home && home <= at
            } else {
                hole < home || home <= at
            };
            if !stays {
                self.slots[hole] = self.slots[at];
                self.tags[hole] = self.tags[at];
                hole = at;
            }
        }
        self.slots[hole] = vacant();
        self.tags[hole] = 0;
        self.len -= 1;
        Some(removed)
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(MIN_SLOTS);
        let old_tags = std::mem::replace(&mut self.tags, vec![0; size]);
        let old = std::mem::replace(&mut self.slots, vacant_slots(size));
        self.len = 0;
        for (s, _) in old.into_iter().zip(old_tags).filter(|&(_, tag)| tag != 0) {
            self.insert(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A slot whose head has id `id`.
    fn slot(pair: Pair, id: u32) -> Slot {
        let mut s = vacant();
        s.pair = pair;
        s.head.id = id;
        s
    }

    #[test]
    fn a_slot_is_two_whole_cache_lines() {
        assert_eq!(std::mem::size_of::<Slot>(), 128);
        assert_eq!(std::mem::align_of::<Slot>(), 64);
    }

    /// Random inserts, removals and lookups against a `HashMap`; pairs drawn from a small
    /// range (IPv4 and IPv6 alike) so that probe runs collide and removals shift slots back.
    #[test]
    fn agrees_with_a_hash_map_through_inserts_and_removals() {
        for seed in 1..=6u64 {
            let mut rng = toolkit::xorshift::Rng::new(seed);
            let mut table = ShapeTable::default();
            let mut reference = HashMap::new();
            let draw = |rng: &mut toolkit::xorshift::Rng| {
                let r = rng.next_u64() % 2000;
                let hi = if r.is_multiple_of(3) {
                    0x2001_0db8u128 << 96
                } else {
                    0
                };
                (hi | u128::from(r / 7), hi | u128::from(r % 7))
            };
            for step in 0..20_000u32 {
                let pair = draw(&mut rng);
                match rng.next_u64() % 3 {
                    0 | 1 if !reference.contains_key(&pair) => {
                        table.insert(slot(pair, step));
                        reference.insert(pair, step);
                    }
                    _ => assert_eq!(
                        table.remove(pair).map(|s| s.head.id),
                        reference.remove(&pair)
                    ),
                }
                let probe = draw(&mut rng);
                let want = reference.get(&probe).copied();
                assert_eq!(table.get(probe).map(|s| s.head.id), want);
                let p = table.probe(probe);
                table.prefetch(p);
                assert_eq!(table.get_probed(probe, p).map(|s| s.head.id), want);
            }
            assert_eq!(table.len(), reference.len());
            let copy = table.clone();
            for (&pair, &head) in &reference {
                assert_eq!(table.get(pair), Some(&slot(pair, head)));
                assert_eq!(copy.get(pair), Some(&slot(pair, head)));
            }
            assert!(table.len() * 8 <= table.slots.len() * 7, "at most 7/8 full");
        }
    }

    #[test]
    fn an_empty_table_finds_and_removes_nothing() {
        let mut table = ShapeTable::default();
        let p = table.probe((1, 2));
        table.prefetch(p);
        assert_eq!(table.get_probed((1, 2), p), None);
        assert_eq!(table.get((1, 2)), None);
        assert_eq!(table.remove((1, 2)), None);
        table.insert(slot((1, 2), 5));
        assert_eq!(table.get_mut((1, 2)).map(|s| s.head.id), Some(5));
        assert_eq!(table.remove((1, 2)).map(|s| s.head.id), Some(5));
        assert_eq!(table.get((1, 2)), None);
        assert_eq!(table.len(), 0);
    }
}
