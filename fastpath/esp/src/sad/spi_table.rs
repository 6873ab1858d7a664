//! The inbound SPI index: a flat open-addressing table of (SPI, SA position) pairs, 8 bytes
//! each, probed linearly and kept at most half full, so that a lookup reads one cache line (a
//! general hash map reads its control bytes and its entries, two lines apart with 100,000
//! SAs). [`SpiTable::prefetch`] asks for that line a stage ahead, for a whole burst. It holds
//! the SA's position in the arena, not its id: an id would need its slot read before the SA's
//! address is known, one more miss in series per packet with 100,000 SAs.
//! Positions are a multiplicative hash of the SPI mixed with a per-table random seed: SPIs
//! come from the network, and no sender knows where one lands.

use std::hash::{BuildHasher, RandomState};

/// An empty slot (no SA is at this position: a SAD holds at most `MAX_SA_ID + 1` SAs).
const EMPTY: u32 = u32::MAX;
/// The fewest slots a table has once it holds anything.
const MIN_SLOTS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    spi: u32,
    at: u32,
}

const VACANT: Slot = Slot { spi: 0, at: EMPTY };

#[derive(Debug)]
pub(crate) struct SpiTable {
    slots: Vec<Slot>,
    len: usize,
    seed: u64,
}

impl Default for SpiTable {
    fn default() -> Self {
        SpiTable {
            slots: Vec::new(),
            len: 0,
            seed: RandomState::new().hash_one(0x5350_4931u32) | 1,
        }
    }
}

impl SpiTable {
    /// Where the probe for `spi` starts.
    #[inline(always)]
    fn home(&self, spi: u32) -> usize {
        let h = (spi as u64 ^ self.seed).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        // The high bits are the well-mixed ones; the mask keeps the index in the table.
        ((h >> 32) as usize) & (self.slots.len().wrapping_sub(1))
    }

    /// The position of `spi`'s SA.
    #[inline]
    pub(crate) fn get(&self, spi: u32) -> Option<u32> {
        self.position(spi).map(|i| self.slots[i].at)
    }

    /// Records that `spi`'s SA (present) moved to `at`.
    pub(crate) fn set(&mut self, spi: u32, at: u32) {
        debug_assert!(at != EMPTY);
        if let Some(i) = self.position(spi) {
            self.slots[i].at = at;
        }
    }

    /// The slot that holds `spi`.
    #[inline]
    fn position(&self, spi: u32) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut at = self.home(spi);
        loop {
            let s = self.slots[at];
            if s.at == EMPTY {
                return None;
            }
            if s.spi == spi {
                return Some(at);
            }
            at = (at + 1) & mask;
        }
    }

    /// Asks for the line where the lookup of `spi` starts.
    #[inline(always)]
    pub(crate) fn prefetch(&self, spi: u32) {
        if let Some(s) = self.slots.get(self.home(spi)) {
            crate::sa::prefetch(s, 1);
        }
    }

    pub(crate) fn contains(&self, spi: u32) -> bool {
        self.get(spi).is_some()
    }

    /// Adds `spi` (not already present) for the SA at `at` (below `EMPTY`).
    pub(crate) fn insert(&mut self, spi: u32, at: u32) {
        debug_assert!(at != EMPTY && !self.contains(spi));
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(spi);
        while self.slots[i].at != EMPTY {
            i = (i + 1) & mask;
        }
        self.slots[i] = Slot { spi, at };
        self.len += 1;
    }

    /// Removes `spi`, shifting back the entries after it that probed past it, so that no
    /// lookup stops early at the hole (no tombstones to accumulate).
    pub(crate) fn remove(&mut self, spi: u32) -> Option<u32> {
        let mut hole = self.position(spi)?;
        let mask = self.slots.len() - 1;
        let removed = self.slots[hole].at;
        let mut at = hole;
        loop {
            at = (at + 1) & mask;
            let s = self.slots[at];
            if s.at == EMPTY {
                break;
            }
            // `s` may move into the hole only if its home is not cyclically in (hole, at].
            let home = self.home(s.spi);
            let stays = if hole <= at {
                hole < home && home <= at
            } else {
                hole < home || home <= at
            };
            if !stays {
                self.slots[hole] = s;
                hole = at;
            }
        }
        self.slots[hole] = VACANT;
        self.len -= 1;
        Some(removed)
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(MIN_SLOTS);
        let old = std::mem::replace(&mut self.slots, vec![VACANT; size]);
        self.len = 0;
        for s in old.into_iter().filter(|s| s.at != EMPTY) {
            self.insert(s.spi, s.at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Random inserts, moves, removals and lookups against a `HashMap`; SPIs drawn from a
    /// small range so that probe runs collide and removals shift entries back.
    #[test]
    fn agrees_with_a_hash_map_through_inserts_moves_and_removals() {
        for seed in 1..=8u64 {
            let mut rng = toolkit::xorshift::Rng::new(seed);
            let mut table = SpiTable::default();
            let mut reference = HashMap::new();
            let mut moves = 0;
            for step in 0..20_000u32 {
                let spi = (rng.next_u64() % 3000) as u32;
                match rng.next_u64() % 4 {
                    0 | 1 if !reference.contains_key(&spi) => {
                        table.insert(spi, step);
                        reference.insert(spi, step);
                    }
                    2 if reference.contains_key(&spi) => {
                        let at = step + 1_000_000;
                        table.set(spi, at);
                        reference.insert(spi, at);
                        moves += 1;
                    }
                    _ => assert_eq!(table.remove(spi), reference.remove(&spi)),
                }
                let probe = (rng.next_u64() % 3000) as u32;
                assert_eq!(table.get(probe), reference.get(&probe).copied());
            }
            assert_eq!(table.len, reference.len());
            for (&spi, &id) in &reference {
                assert_eq!(table.get(spi), Some(id));
            }
            assert!(table.len * 2 <= table.slots.len(), "at most half full");
            assert!(moves > 1000, "{moves}");
        }
    }

    #[test]
    fn an_empty_table_finds_and_removes_nothing() {
        let mut table = SpiTable::default();
        assert_eq!(table.get(7), None);
        assert_eq!(table.remove(7), None);
        table.prefetch(7);
        table.insert(7, 0);
        assert_eq!(table.remove(7), Some(0));
        assert_eq!(table.get(7), None);
    }
}
