//! The writer's side of one family's trie: the prefixes it holds (per length, so that a
//! delete finds the covering prefix), group allocation, and add/delete that touch only the
//! entries of the changed prefix's range, as `rte_lpm` does: an add overwrites the entries
//! owned by prefixes no longer than itself, a delete gives its entries back to the covering
//! prefix, and a group that becomes uniform again folds into its parent entry.

use crate::entry;
use crate::rcu::{Rcu, Retired};
use crate::table::{Table, GROUP_SIZE};
use crate::FibError;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

type Map = HashMap<u128, u32, foldhash::fast::RandomState>;

/// How long an add waits for readers to release a retired group when the pool is empty.
const GROUP_WAIT: Duration = Duration::from_millis(200);

/// Where an entry array lives: the first level or one group.
#[derive(Clone, Copy)]
enum Level {
    First,
    Group(u32),
}

/// An entry array and the address bits it indexes: `stride` bits from bit `off`.
#[derive(Clone, Copy)]
struct At {
    level: Level,
    off: u32,
    stride: u32,
}

/// Where a prefix falls in an entry array.
enum Place {
    /// It covers these entries whole.
    Range(std::ops::Range<u32>),
    /// It is longer than the array reaches: it lies under this one entry.
    Below(u32),
}

impl At {
    fn first(t: &Table) -> At {
        At {
            level: Level::First,
            off: 0,
            stride: t.first_bits,
        }
    }

    /// Group `g` under one of this array's entries.
    fn group(self, g: u32) -> At {
        At {
            level: Level::Group(g),
            off: self.end(),
            stride: 8,
        }
    }

    /// The first bit past this array's.
    fn end(self) -> u32 {
        self.off + self.stride
    }

    fn place(self, key: u128, depth: u8) -> Place {
        let idx = bits(key, self.off, self.stride);
        match self.end().checked_sub(u32::from(depth)) {
            Some(free) => Place::Range(idx..idx + (1 << free)),
            None => Place::Below(idx),
        }
    }
}

pub struct TrieWriter {
    /// Prefixes by length: left-aligned masked address to next-hop id.
    routes: Vec<Map>,
    next_fresh: u32,
    retired: Retired,
}

/// `n` bits of `key` (left-aligned) from bit `off`.
fn bits(key: u128, off: u32, n: u32) -> u32 {
    ((key << off) >> (128 - n)) as u32
}

/// `key` with only its first `depth` bits.
pub fn mask(key: u128, depth: u8) -> u128 {
    match depth {
        0 => 0,
        d => key & (u128::MAX << (128 - u32::from(d).min(128))),
    }
}

fn entries(t: &Table, l: Level) -> &[AtomicU32] {
    match l {
        Level::First => &t.first,
        Level::Group(g) => {
            let at = g as usize * GROUP_SIZE;
            &t.groups[at..at + GROUP_SIZE]
        }
    }
}

fn store(t: &Table, l: Level, i: u32, e: u32) {
    entries(t, l)[i as usize].store(e, Ordering::Release);
}

fn load(t: &Table, l: Level, i: u32) -> u32 {
    entries(t, l)[i as usize].load(Ordering::Relaxed)
}

impl TrieWriter {
    pub fn new(key_bits: u32) -> TrieWriter {
        TrieWriter {
            routes: (0..=key_bits).map(|_| Map::default()).collect(),
            next_fresh: 0,
            retired: Retired::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.routes.iter().map(HashMap::len).sum()
    }

    pub fn groups_in_use(&self) -> u32 {
        self.next_fresh - self.retired.len() as u32
    }

    pub fn get(&self, key: u128, depth: u8) -> Option<u32> {
        self.routes
            .get(depth as usize)?
            .get(&mask(key, depth))
            .copied()
    }

    /// Every prefix as (left-aligned key, length, next-hop id).
    pub fn iter(&self) -> impl Iterator<Item = (u128, u8, u32)> + '_ {
        self.routes
            .iter()
            .enumerate()
            .flat_map(|(d, m)| m.iter().map(move |(&k, &nh)| (k, d as u8, nh)))
    }

    /// Adds or replaces `key/depth` with next hop `nh`; returns the next hop it replaced.
    pub fn add(
        &mut self,
        t: &Table,
        rcu: &Rcu,
        key: u128,
        depth: u8,
        nh: u32,
    ) -> Result<Option<u32>, FibError> {
        let key = mask(key, depth);
        self.add_at(t, rcu, At::first(t), key, depth, nh)?;
        Ok(self.routes[depth as usize].insert(key, nh))
    }

    /// Removes `key/depth`; returns its next hop.
    pub fn delete(&mut self, t: &Table, rcu: &Rcu, key: u128, depth: u8) -> Option<u32> {
        let key = mask(key, depth);
        let nh = self.routes.get_mut(depth as usize)?.remove(&key)?;
        let cover = (0..depth)
            .rev()
            .find_map(|d| self.get(key, d).map(|nh| entry::route(nh, d)))
            .unwrap_or(0);
        self.delete_at(t, rcu, At::first(t), key, depth, cover);
        Some(nh)
    }

    fn add_at(
        &mut self,
        t: &Table,
        rcu: &Rcu,
        at: At,
        key: u128,
        depth: u8,
        nh: u32,
    ) -> Result<(), FibError> {
        let idx = match at.place(key, depth) {
            Place::Range(range) => {
                let new = entry::route(nh, depth);
                for i in range {
                    push_down(t, at.level, i, depth, new);
                }
                return Ok(());
            }
            Place::Below(idx) => idx,
        };
        let e = load(t, at.level, idx);
        let g = if entry::is_ext(e) {
            entry::value(e)
        } else {
            let g = self.alloc_group(t, rcu)?;
            for i in 0..GROUP_SIZE as u32 {
                store(t, Level::Group(g), i, e);
            }
            // Published only once filled: a reader through it sees what it saw before.
            store(t, at.level, idx, entry::group(g));
            g
        };
        self.add_at(t, rcu, at.group(g), key, depth, nh)
    }

    fn delete_at(&mut self, t: &Table, rcu: &Rcu, at: At, key: u128, depth: u8, cover: u32) {
        match at.place(key, depth) {
            Place::Range(range) => {
                for i in range {
                    self.pull_up(t, rcu, at, i, depth, cover);
                }
            }
            Place::Below(idx) => {
                let e = load(t, at.level, idx);
                if entry::is_ext(e) {
                    let g = entry::value(e);
                    self.delete_at(t, rcu, at.group(g), key, depth, cover);
                    self.fold(t, rcu, at, idx, g);
                }
            }
        }
    }

    /// Gives entry `i` (and its groups) owned by a prefix of length `depth` to `cover`.
    fn pull_up(&mut self, t: &Table, rcu: &Rcu, at: At, i: u32, depth: u8, cover: u32) {
        let e = load(t, at.level, i);
        if entry::is_ext(e) {
            let g = entry::value(e);
            for j in 0..GROUP_SIZE as u32 {
                self.pull_up(t, rcu, at.group(g), j, depth, cover);
            }
            self.fold(t, rcu, at, i, g);
        } else if entry::is_valid(e) && entry::depth(e) == depth {
            store(t, at.level, i, cover);
        }
    }

    /// Replaces entry `i`'s pointer to group `g` by the group's one entry when all 256 are
    /// the same route from a prefix that covers the whole group (or all empty), and retires it.
    fn fold(&mut self, t: &Table, rcu: &Rcu, at: At, i: u32, g: u32) {
        let group = entries(t, Level::Group(g));
        let first = group[0].load(Ordering::Relaxed);
        let foldable = !entry::is_ext(first)
            && (!entry::is_valid(first) || u32::from(entry::depth(first)) <= at.end())
            && group.iter().all(|e| e.load(Ordering::Relaxed) == first);
        if foldable {
            store(t, at.level, i, first);
            self.retired.push(rcu.retire(), g);
        }
    }

    fn alloc_group(&mut self, t: &Table, rcu: &Rcu) -> Result<u32, FibError> {
        if self.next_fresh < t.group_capacity() {
            self.next_fresh += 1;
            return Ok(self.next_fresh - 1);
        }
        self.retired
            .take(rcu, GROUP_WAIT)
            .ok_or(FibError::GroupsExhausted)
    }
}

/// Writes `new` (from a prefix of length `depth`) over entry `i` and the groups below it,
/// wherever the current route is no longer than `depth`.
fn push_down(t: &Table, l: Level, i: u32, depth: u8, new: u32) {
    let e = load(t, l, i);
    if entry::is_ext(e) {
        for j in 0..GROUP_SIZE as u32 {
            push_down(t, Level::Group(entry::value(e)), j, depth, new);
        }
    } else if !entry::is_valid(e) || entry::depth(e) <= depth {
        store(t, l, i, new);
    }
}
