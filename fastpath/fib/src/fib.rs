//! The FIB of both families: the writer that owns the routes, and the per-worker readers.

use crate::entry::{self, VALUE_LIMIT};
use crate::nexthop::{self, NextHop, NextHops, NhId, Slot};
use crate::prefix::Prefix;
use crate::rcu::Rcu;
use crate::table::{Table, BATCH, GROUP_SIZE};
use crate::update::TrieWriter;
use crate::FibError;
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// Table sizes. Groups are 1 KiB each and their pool is allocated untouched, so memory grows
/// with the groups in use, not with these limits.
#[derive(Clone, Copy, Debug)]
pub struct FibConfig {
    pub v4_groups: u32,
    pub v6_groups: u32,
    pub next_hops: u32,
    /// Ask for transparent huge pages for the tables (random lookups over tens of MiB miss
    /// the TLB on small pages); off only to compare with tables on small pages.
    pub huge_pages: bool,
}

impl Default for FibConfig {
    fn default() -> FibConfig {
        FibConfig {
            v4_groups: 1 << 20,
            v6_groups: 1 << 20,
            next_hops: 1 << 16,
            huge_pages: true,
        }
    }
}

struct Shared {
    v4: Table,
    v6: Table,
    slots: Box<[Slot]>,
    rcu: Rcu,
}

/// The writer: routes in, tables out. One per process, on the control thread.
pub struct Fib {
    shared: Arc<Shared>,
    v4: TrieWriter,
    v6: TrieWriter,
    next_hops: NextHops,
}

/// What the tables hold and occupy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Memory {
    pub v4_groups: u32,
    pub v6_groups: u32,
    /// First levels, groups in use and next-hop slots, in bytes.
    pub table_bytes: usize,
}

impl Fib {
    pub fn new(config: FibConfig) -> Fib {
        let limit = |n: u32| n.min(VALUE_LIMIT);
        Fib {
            shared: Arc::new(Shared {
                v4: Table::new(24, limit(config.v4_groups), config.huge_pages),
                v6: Table::new(16, limit(config.v6_groups), config.huge_pages),
                slots: nexthop::slots(limit(config.next_hops)),
                rcu: Rcu::default(),
            }),
            v4: TrieWriter::new(32),
            v6: TrieWriter::new(128),
            next_hops: NextHops::new(),
        }
    }

    /// A lookup handle for one worker.
    pub fn reader(&self) -> FibReader {
        FibReader {
            slot: self.shared.rcu.register(),
            shared: self.shared.clone(),
        }
    }

    fn family(&mut self, p: &Prefix) -> (&Table, &mut TrieWriter) {
        match p.addr() {
            IpAddr::V4(_) => (&self.shared.v4, &mut self.v4),
            IpAddr::V6(_) => (&self.shared.v6, &mut self.v6),
        }
    }

    /// Adds `prefix` via `nh`, or moves it to `nh` if it exists.
    pub fn add(&mut self, prefix: Prefix, nh: NextHop) -> Result<(), FibError> {
        let shared = self.shared.clone();
        let id = self.next_hops.acquire(&shared.slots, &shared.rcu, &nh)?;
        let (table, trie) = self.family(&prefix);
        let added = trie.add(table, &shared.rcu, prefix.key(), prefix.length(), id);
        match added {
            Ok(Some(old)) => self.next_hops.release(&shared.slots, &shared.rcu, old),
            Ok(None) => {}
            Err(e) => {
                self.next_hops.release(&shared.slots, &shared.rcu, id);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Removes `prefix`; addresses under it fall back to the covering route. Returns its next hop.
    pub fn delete(&mut self, prefix: Prefix) -> Result<NextHop, FibError> {
        let shared = self.shared.clone();
        let (table, trie) = self.family(&prefix);
        let id = trie
            .delete(table, &shared.rcu, prefix.key(), prefix.length())
            .ok_or(FibError::NotFound)?;
        let nh = shared.slots[id as usize].read();
        self.next_hops.release(&shared.slots, &shared.rcu, id);
        Ok(nh)
    }

    /// The next hop of exactly `prefix`.
    pub fn get(&self, prefix: &Prefix) -> Option<NextHop> {
        let trie = if prefix.addr().is_ipv4() {
            &self.v4
        } else {
            &self.v6
        };
        let id = trie.get(prefix.key(), prefix.length())?;
        Some(self.shared.slots[id as usize].read())
    }

    /// Every route, IPv4 first, in no particular order within a family.
    pub fn routes(&self) -> impl Iterator<Item = (Prefix, NextHop)> + '_ {
        let slots = &self.shared.slots;
        let v4 = self.v4.iter().map(|(k, l, id)| (false, k, l, id));
        let v6 = self.v6.iter().map(|(k, l, id)| (true, k, l, id));
        v4.chain(v6)
            .map(move |(v6, k, l, id)| (Prefix::from_key(v6, k, l), slots[id as usize].read()))
    }

    /// Routes held (IPv4, IPv6).
    pub fn len(&self) -> (usize, usize) {
        (self.v4.len(), self.v6.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0)
    }

    /// Routes that use `nh`.
    pub fn next_hop_refs(&self, nh: &NextHop) -> u32 {
        self.next_hops.refs(nh)
    }

    /// Distinct next hops in use.
    pub fn next_hop_count(&self) -> usize {
        self.next_hops.len()
    }

    pub fn memory(&self) -> Memory {
        let (v4_groups, v6_groups) = (self.v4.groups_in_use(), self.v6.groups_in_use());
        let s = &self.shared;
        let entries = s.v4.first.len()
            + s.v6.first.len()
            + (v4_groups as usize + v6_groups as usize) * GROUP_SIZE;
        Memory {
            v4_groups,
            v6_groups,
            table_bytes: entries * 4 + s.slots.len() * std::mem::size_of::<Slot>(),
        }
    }
}

/// One worker's lookup handle. Lookups take `&self` and never block; call `quiescent` between
/// bursts so that what the writer unlinks can be reused.
pub struct FibReader {
    shared: Arc<Shared>,
    slot: Arc<AtomicU64>,
}

/// What `FibReader::lookup_v4_burst_ids` gives an address without a route.
pub const NO_ROUTE: u32 = u32::MAX;

fn found(e: u32) -> Option<NhId> {
    (entry::is_valid(e) && !entry::is_ext(e)).then_some(NhId(entry::value(e)))
}

/// Runs `lookup` over `addrs` in batches of at most `BATCH`, the entries into `out`.
fn in_batches<A>(addrs: &[A], out: &mut [Option<NhId>], lookup: impl Fn(&[A], &mut [u32])) {
    let mut raw = [0u32; BATCH];
    for (a, o) in addrs.chunks(BATCH).zip(out.chunks_mut(BATCH)) {
        let n = a.len().min(o.len());
        lookup(&a[..n], &mut raw[..n]);
        for (o, &e) in o.iter_mut().zip(&raw[..n]) {
            *o = found(e);
        }
    }
}

impl FibReader {
    #[inline]
    pub fn lookup_v4(&self, addr: u32) -> Option<NhId> {
        found(self.shared.v4.lookup4(addr))
    }

    #[inline]
    pub fn lookup_v6(&self, addr: u128) -> Option<NhId> {
        found(self.shared.v6.lookup6(addr))
    }

    pub fn lookup(&self, addr: IpAddr) -> Option<NhId> {
        match addr {
            IpAddr::V4(a) => self.lookup_v4(a.into()),
            IpAddr::V6(a) => self.lookup_v6(a.into()),
        }
    }

    /// One burst of IPv4 destinations: `out[i]` for `addrs[i]` (as far as both reach).
    pub fn lookup_v4_burst(&self, addrs: &[u32], out: &mut [Option<NhId>]) {
        in_batches(addrs, out, |a, raw| self.shared.v4.lookup4_burst(a, raw));
    }

    /// One burst of IPv4 destinations as plain next-hop ids (`NO_ROUTE`: none), `out[i]` for
    /// `addrs[i]` (as far as both reach): entries straight into `out` and one pass over them,
    /// as `rte_fib_lookup_bulk`, for callers that compare ids before decoding any.
    pub fn lookup_v4_burst_ids(&self, addrs: &[u32], out: &mut [u32]) {
        let n = addrs.len().min(out.len());
        self.shared.v4.lookup4_burst(&addrs[..n], &mut out[..n]);
        for o in &mut out[..n] {
            *o = match entry::is_valid(*o) && !entry::is_ext(*o) {
                true => entry::value(*o),
                false => NO_ROUTE,
            };
        }
    }

    /// One burst of IPv6 destinations, as `lookup_v4_burst`.
    pub fn lookup_v6_burst(&self, addrs: &[u128], out: &mut [Option<NhId>]) {
        in_batches(addrs, out, |a, raw| self.shared.v6.lookup6_burst(a, raw));
    }

    /// The next hop a lookup returned.
    pub fn next_hop(&self, id: NhId) -> Option<NextHop> {
        Some(self.shared.slots.get(id.0 as usize)?.read())
    }

    /// No id or entry loaded before this call is used after it.
    #[inline]
    pub fn quiescent(&self) {
        self.shared.rcu.quiescent(&self.slot);
    }
}

impl Drop for FibReader {
    fn drop(&mut self) {
        self.shared.rcu.unregister(&self.slot);
    }
}
