//! The half-open SAs a responder holds, found by the initiator's address and SPI and counted
//! per address (the cookie and block thresholds look at that count on every IKE_SA_INIT,
//! so it is kept, not recounted). Its maps give memory back once a flood's SAs expire.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::net::IpAddr;

use crate::action::IkeSaId;

/// Below this capacity a table is not worth shrinking.
const MIN_SHRINK_CAPACITY: usize = 64;

/// Whether a table of `len` entries is sparse enough in `capacity` to be shrunk: empty, or
/// a quarter full of a capacity worth the trouble.
fn sparse(len: usize, capacity: usize) -> bool {
    capacity > 0
        && (len == 0 || capacity >= MIN_SHRINK_CAPACITY && len.saturating_mul(4) <= capacity)
}

/// Tables that give memory back once mostly empty (a hash table never does by itself).
pub trait ShrinkWhenSparse {
    fn shrink_when_sparse(&mut self);
}

impl<K: Eq + Hash, V> ShrinkWhenSparse for HashMap<K, V> {
    fn shrink_when_sparse(&mut self) {
        if sparse(self.len(), self.capacity()) {
            self.shrink_to(self.len() * 2);
        }
    }
}

impl<T: Eq + Hash> ShrinkWhenSparse for HashSet<T> {
    fn shrink_when_sparse(&mut self) {
        if sparse(self.len(), self.capacity()) {
            self.shrink_to(self.len() * 2);
        }
    }
}

/// Half-open SAs by (initiator address, initiator SPI), and how many each address holds.
#[derive(Debug, Default)]
pub struct HalfOpenTable {
    by_init: HashMap<(IpAddr, u64), IkeSaId>,
    per_address: HashMap<IpAddr, usize>,
}

impl HalfOpenTable {
    pub fn get(&self, key: &(IpAddr, u64)) -> Option<IkeSaId> {
        self.by_init.get(key).copied()
    }

    pub fn insert(&mut self, key: (IpAddr, u64), id: IkeSaId) {
        if self.by_init.insert(key, id).is_none() {
            *self.per_address.entry(key.0).or_default() += 1;
        }
    }

    pub fn remove(&mut self, key: &(IpAddr, u64)) {
        if self.by_init.remove(key).is_none() {
            return;
        }
        if let Some(n) = self.per_address.get_mut(&key.0) {
            *n -= 1;
            if *n == 0 {
                self.per_address.remove(&key.0);
            }
        }
        self.by_init.shrink_when_sparse();
        self.per_address.shrink_when_sparse();
    }

    /// Half-open SAs in all.
    pub fn len(&self) -> usize {
        self.by_init.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_init.is_empty()
    }

    /// Half-open SAs of one initiator address.
    pub fn at_address(&self, ip: IpAddr) -> usize {
        self.per_address.get(&ip).copied().unwrap_or(0)
    }

    /// Entries the table has room for (what it holds in memory).
    pub fn capacity(&self) -> usize {
        self.by_init.capacity() + self.per_address.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_address_and_shrinks_once_empty() {
        let mut t = HalfOpenTable::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        // Half from one address, half from 500 others.
        let key = |spi: u64| match spi % 2 {
            0 => (a, spi),
            _ => (IpAddr::from([10, 0, (spi >> 8) as u8, spi as u8]), spi),
        };
        for spi in 0..1000u64 {
            t.insert(key(spi), spi);
        }
        t.insert((a, 0), 7);
        assert_eq!((t.len(), t.at_address(a)), (1000, 500));
        assert_eq!(t.get(&(a, 0)), Some(7));
        let full = t.capacity();
        assert!(full >= 1500);
        for spi in 0..1000u64 {
            t.remove(&key(spi));
            t.remove(&key(spi));
        }
        assert!(t.is_empty());
        assert_eq!(t.at_address(a), 0);
        assert_eq!(t.capacity(), 0, "of {full}");
        // Sparse but not empty: shrunk to twice what is left.
        for spi in 0..1000u64 {
            t.insert(key(spi), spi);
        }
        let full = t.capacity();
        for spi in 0..990u64 {
            t.remove(&key(spi));
        }
        assert!(t.capacity() * 4 < full, "{} of {full}", t.capacity());
    }

    #[test]
    fn small_tables_are_left_alone() {
        assert!(!sparse(1, MIN_SHRINK_CAPACITY - 1));
        assert!(sparse(0, 3));
        assert!(!sparse(0, 0));
        assert!(sparse(16, MIN_SHRINK_CAPACITY));
        assert!(!sparse(17, MIN_SHRINK_CAPACITY));
    }
}
