//! How many datagrams each source has in reassembly, so that one source cannot take the
//! whole table: a limit per source, and, when the table is full, eviction from the source
//! that holds the most.

use super::parse::Key;
use std::collections::HashMap;

/// Who a datagram is charged to: an IPv4 address, or an IPv6 /64 (one host may use every
/// address of its /64, so a limit per IPv6 address would be no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Source {
    prefix: [u8; 8],
    v6: bool,
}

impl Source {
    pub(super) fn of(key: &Key) -> Source {
        let mut prefix = [0u8; 8];
        let n = if key.v6 { 8 } else { 4 };
        prefix[..n].copy_from_slice(&key.src[..n]);
        Source { prefix, v6: key.v6 }
    }
}

/// Datagrams in reassembly per source; never more sources than table entries.
pub(super) struct SourceCounts {
    counts: HashMap<Source, u32, foldhash::fast::RandomState>,
}

impl SourceCounts {
    /// Room for `capacity` sources, reserved twice over so that it never grows (as the
    /// table's key map).
    pub(super) fn new(capacity: usize) -> SourceCounts {
        let mut counts = HashMap::with_hasher(foldhash::fast::RandomState::default());
        counts.reserve(capacity * 2);
        SourceCounts { counts }
    }

    pub(super) fn get(&self, s: &Source) -> u32 {
        self.counts.get(s).copied().unwrap_or(0)
    }

    pub(super) fn add(&mut self, s: Source) {
        *self.counts.entry(s).or_insert(0) += 1;
    }

    pub(super) fn remove(&mut self, s: &Source) {
        if let Some(n) = self.counts.get_mut(s) {
            *n -= 1;
            if *n == 0 {
                self.counts.remove(s);
            }
        }
    }

    /// The largest number of datagrams one source holds (0 if none).
    pub(super) fn most(&self) -> u32 {
        self.counts.values().copied().max().unwrap_or(0)
    }

    pub(super) fn len(&self) -> usize {
        self.counts.len()
    }
}
