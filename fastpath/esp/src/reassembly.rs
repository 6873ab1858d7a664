//! Reassembly of IPv4 (RFC 791) and IPv6 (RFC 8200 §4.5) fragments, for outer ESP packets
//! that arrive fragmented (they must be whole before decryption).
//!
//! The table is bounded and allocated once, at creation: `capacity` datagrams in flight, each
//! with a buffer for a reassembled packet of up to `max_size` bytes and two bitmaps of 8-byte
//! blocks (received, and where each fragment starts). No fragment allocates.
//!
//! Rules:
//! - Key: source, destination, protocol and ID for IPv4 (RFC 791); source, destination and
//!   fragment identification for IPv6 (RFC 8200 §4.5: the next header is not part of the key;
//!   the first fragment's is used).
//! - Overlapping fragments drop the whole datagram, for IPv6 (RFC 5722) and for IPv4 too (the
//!   simplest safe rule: no first-wins / last-wins ambiguity for a later inspection to trip on).
//!   Exact duplicates (same offset, length and MF) are ignored.
//! - A fragment whose end passes `max_size` (or 65535 for the IP length field), a last fragment
//!   (MF clear) that disagrees with an earlier last fragment or ends before data already
//!   received, or a fragment beyond the known end, drops the datagram.
//! - A fragment with MF set whose length is not a multiple of 8 or is zero, or with a header
//!   that does not parse (IPv4 checksum included), is dropped alone.
//! - Each datagram times out `timeout_ns` after its first fragment (caller's clock).
//! - One source (an IPv4 address, an IPv6 /64) holds at most `per_source` datagrams: a new
//!   one beyond that is refused. When the table is full, a new datagram evicts the oldest one
//!   of the source that holds the most (the oldest of all when sources hold as many), so a
//!   flood of forged first fragments from one source costs other senders nothing. Time-outs,
//!   refusals and evictions are counted.
//! - An IPv6 atomic fragment (offset 0, M clear) is returned on its own with its Fragment
//!   header removed (RFC 6946), without touching the table.
//!
//! The reassembled packet is a normal IP packet: IPv4 with MF and offset cleared, total length
//! and checksum set (DF and the reserved bit as in the first fragment); IPv6 with the Fragment
//! header removed and the payload length set. It stays readable through
//! [`Reassembler::reassembled`] until the next call that takes `&mut self`.

mod parse;
mod sources;

use crate::wire::checksum;
use crate::wire::{be16, IPV4_HEADER_LEN, IPV6_HEADER_LEN};
use parse::{parse, Frag, Key};
use sources::{Source, SourceCounts};
use std::collections::HashMap;

/// Room before the payload of each entry for the header of the first fragment: the IPv4
/// header (up to 60 bytes) or the IPv6 unfragmentable part (IPv6 header, hop-by-hop, routing).
pub const HEADER_ROOM: usize = 512;
const NIL: u32 = u32::MAX;

/// Table size, share of one source, size limit and timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Datagrams in reassembly at once (at least 1).
    pub capacity: usize,
    /// Datagrams one source may have in reassembly at once (1..=capacity; `capacity`: no
    /// limit, a full table evicting from the source that holds the most).
    pub per_source: usize,
    /// Largest reassembled packet, headers included (68..=65575).
    pub max_size: usize,
    /// How long a datagram may take to complete after its first fragment.
    pub timeout_ns: u64,
}

impl Default for Config {
    /// 256 datagrams, a quarter of them per source, 9216 bytes (jumbo frames), 2 s (RFC 791
    /// suggests 15 s; a gateway's peers are close, and a short timeout frees the table sooner
    /// under attack).
    fn default() -> Self {
        Config {
            capacity: 256,
            per_source: 64,
            max_size: 9216,
            timeout_ns: 2_000_000_000,
        }
    }
}

/// Why a fragment (and, but for `Malformed`, its datagram) was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The fragment alone: an unparseable header, a bad IPv4 checksum, or MF set with a length
    /// that is zero or not a multiple of 8.
    Malformed,
    /// The datagram would pass `max_size` (or the IP length field), or its first fragment's
    /// header does not fit [`HEADER_ROOM`].
    TooBig,
    /// Fragments overlap (RFC 5722).
    Overlap,
    /// Last fragments that disagree, or data beyond the end a last fragment set.
    Inconsistent,
    /// A new datagram from a source that already has `per_source` in reassembly (the
    /// fragment alone: the source's datagrams in flight stay).
    SourceLimit,
}

/// What became of one inserted packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// Not a fragment: use the packet as it is.
    NotFragment,
    /// Kept (or an exact duplicate, ignored); the datagram is not complete yet.
    Incomplete,
    /// The datagram is complete: [`Reassembler::reassembled`] holds its `len` bytes.
    Complete(usize),
    /// Dropped, and counted.
    Dropped(Reason),
}

/// What the table has seen (fragments, and datagrams for the drop reasons).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Fragments inserted (parsed as fragments, whatever became of them).
    pub fragments: u64,
    /// Datagrams completed (IPv6 atomic fragments included).
    pub reassembled: u64,
    /// Exact duplicates ignored.
    pub duplicates: u64,
    pub malformed: u64,
    pub too_big: u64,
    pub overlap: u64,
    pub inconsistent: u64,
    /// Datagrams that timed out.
    pub timed_out: u64,
    /// Datagrams evicted to make room (the oldest of the source holding the most).
    pub evicted: u64,
    /// New datagrams refused: their source was at its limit.
    pub source_limit: u64,
}

impl Counters {
    fn drop(&mut self, r: Reason) {
        match r {
            Reason::Malformed => self.malformed += 1,
            Reason::TooBig => self.too_big += 1,
            Reason::Overlap => self.overlap += 1,
            Reason::Inconsistent => self.inconsistent += 1,
            Reason::SourceLimit => self.source_limit += 1,
        }
    }
}

/// One datagram in reassembly (or a free slot).
struct Entry {
    key: Key,
    created_ns: u64,
    prev: u32,
    next: u32,
    /// `HEADER_ROOM` bytes for the first fragment's header, then the payload.
    buf: Box<[u8]>,
    /// One bit per 8-byte block of payload: received, and the first block of a fragment.
    covered: Box<[u64]>,
    starts: Box<[u64]>,
    /// Header length of the first fragment (0 until it arrives).
    hdr_len: usize,
    nh_at: usize,
    first_next: u8,
    /// Payload length, once the last fragment arrived.
    total: Option<usize>,
    received: usize,
    max_end: usize,
}

fn bit(bits: &[u64], i: usize) -> bool {
    bits.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
}

fn set_bit(bits: &mut [u64], i: usize) {
    if let Some(w) = bits.get_mut(i / 64) {
        *w |= 1 << (i % 64);
    }
}

impl Entry {
    fn new(max_size: usize) -> Entry {
        let words = max_size.div_ceil(8).div_ceil(64);
        Entry {
            key: Key::default(),
            created_ns: 0,
            prev: NIL,
            next: NIL,
            buf: vec![0u8; HEADER_ROOM + max_size].into_boxed_slice(),
            covered: vec![0u64; words].into_boxed_slice(),
            starts: vec![0u64; words].into_boxed_slice(),
            hdr_len: 0,
            nh_at: 0,
            first_next: 0,
            total: None,
            received: 0,
            max_end: 0,
        }
    }

    fn reset(&mut self, key: Key, now_ns: u64) {
        self.key = key;
        self.created_ns = now_ns;
        self.covered.fill(0);
        self.starts.fill(0);
        self.hdr_len = 0;
        self.total = None;
        self.received = 0;
        self.max_end = 0;
    }

    /// Whether `[offset, end)` with `mf` is exactly a fragment already received. Fragments
    /// received so far are disjoint, start on block boundaries, and only the last one may end
    /// inside a block.
    fn is_duplicate(&self, offset: usize, end: usize, mf: bool) -> bool {
        let (sb, eb) = (offset / 8, end.div_ceil(8));
        if sb == eb {
            // A zero-length last fragment.
            return !mf && self.total == Some(end);
        }
        if !bit(&self.starts, sb)
            || (sb..eb).any(|b| !bit(&self.covered, b))
            || (sb + 1..eb).any(|b| bit(&self.starts, b))
            || (bit(&self.covered, eb) && !bit(&self.starts, eb))
        {
            return false;
        }
        // One fragment covers exactly blocks sb..eb; it ends at `end` if it is of the same
        // kind (only a last fragment ends inside a block).
        if mf {
            self.total.is_none_or(|t| t > eb * 8)
        } else {
            self.total == Some(end)
        }
    }

    fn overlaps(&self, offset: usize, end: usize) -> bool {
        (offset / 8..end.div_ceil(8)).any(|b| bit(&self.covered, b))
    }
}

/// A bounded fragment reassembly table; one per worker (no sharing).
pub struct Reassembler {
    config: Config,
    entries: Vec<Entry>,
    /// Key -> entry index. Reserved for twice the capacity so that inserts and removals never
    /// grow it (hashbrown rehashes in place while at most half full).
    map: HashMap<Key, u32, foldhash::fast::RandomState>,
    /// Datagrams in flight per source.
    sources: SourceCounts,
    free: Vec<u32>,
    /// Oldest and newest datagram in flight (a doubly linked list through the entries).
    head: u32,
    tail: u32,
    /// The entry holding the last completed datagram: (entry, start, len).
    done: Option<(usize, usize, usize)>,
    counters: Counters,
}

impl std::fmt::Debug for Reassembler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reassembler")
            .field("config", &self.config)
            .field("in_flight", &self.map.len())
            .field("sources", &self.sources.len())
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Reassembler {
    /// Allocates the whole table (capacity clamped to at least 1 and below 2^31, the share per
    /// source to 1..=capacity, max size to 68..=65575).
    pub fn new(config: Config) -> Reassembler {
        let capacity = config.capacity.clamp(1, (u32::MAX / 2) as usize);
        let config = Config {
            capacity,
            per_source: config.per_source.clamp(1, capacity),
            max_size: config.max_size.clamp(68, 65535 + IPV6_HEADER_LEN),
            timeout_ns: config.timeout_ns,
        };
        // One extra entry, never in the free list: where IPv6 atomic fragments are rebuilt.
        let entries = (0..=config.capacity)
            .map(|_| Entry::new(config.max_size))
            .collect();
        let mut map = HashMap::with_hasher(foldhash::fast::RandomState::default());
        map.reserve(config.capacity * 2);
        Reassembler {
            free: (0..config.capacity as u32).rev().collect(),
            entries,
            map,
            sources: SourceCounts::new(config.capacity),
            head: NIL,
            tail: NIL,
            done: None,
            counters: Counters::default(),
            config,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Datagrams in reassembly.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The datagram the last `Insert::Complete` announced (empty if none, or after another
    /// call that takes `&mut self`).
    pub fn reassembled(&self) -> &[u8] {
        match self.done {
            Some((i, start, len)) => &self.entries[i].buf[start..start + len],
            None => &[],
        }
    }

    /// Drops the datagrams older than the timeout; returns how many. Also called by `insert`.
    pub fn expire(&mut self, now_ns: u64) -> usize {
        self.release_done();
        let mut n = 0;
        while self.head != NIL {
            let e = &self.entries[self.head as usize];
            if now_ns.saturating_sub(e.created_ns) < self.config.timeout_ns {
                break;
            }
            let i = self.head;
            self.remove(i as usize);
            self.free.push(i);
            self.counters.timed_out += 1;
            n += 1;
        }
        n
    }

    /// Takes one packet (a whole IP packet, from its header on; bytes past the length its
    /// header claims are ignored) at time `now_ns`.
    pub fn insert(&mut self, packet: &[u8], now_ns: u64) -> Insert {
        self.expire(now_ns);
        let frag = match parse(packet) {
            Ok(Some(f)) => f,
            Ok(None) => return Insert::NotFragment,
            Err(r) => {
                self.counters.fragments += 1;
                self.counters.drop(r);
                return Insert::Dropped(r);
            }
        };
        self.counters.fragments += 1;
        if frag.mf && (frag.data.is_empty() || frag.data.len() % 8 != 0) {
            self.counters.drop(Reason::Malformed);
            return Insert::Dropped(Reason::Malformed);
        }
        let v6 = frag.v6();
        let end = frag.offset + frag.data.len();
        let min_hdr = if v6 { IPV6_HEADER_LEN } else { IPV4_HEADER_LEN };
        if end + min_hdr > self.limit(v6) || frag.header.len() > HEADER_ROOM {
            if let Some(&i) = self.map.get(&frag.key) {
                self.remove(i as usize);
                self.free.push(i);
            }
            self.counters.drop(Reason::TooBig);
            return Insert::Dropped(Reason::TooBig);
        }
        if v6 && frag.offset == 0 && !frag.mf {
            return self.atomic(&frag);
        }
        let i = match self.map.get(&frag.key) {
            Some(&i) => i as usize,
            None => match self.allocate(frag.key, now_ns) {
                Some(i) => i,
                None => {
                    self.counters.drop(Reason::SourceLimit);
                    return Insert::Dropped(Reason::SourceLimit);
                }
            },
        };
        match self.add(i, &frag) {
            Ok(false) => Insert::Incomplete,
            Ok(true) => {
                let (start, len) = self.finish(i);
                self.remove(i);
                self.done = Some((i, start, len));
                self.counters.reassembled += 1;
                Insert::Complete(len)
            }
            Err(None) => {
                self.counters.duplicates += 1;
                Insert::Incomplete
            }
            Err(Some(r)) => {
                self.remove(i);
                self.free.push(i as u32);
                self.counters.drop(r);
                Insert::Dropped(r)
            }
        }
    }

    /// The largest reassembled packet for a family: the configured size and the length field.
    fn limit(&self, v6: bool) -> usize {
        let field = if v6 { 65535 + IPV6_HEADER_LEN } else { 65535 };
        self.config.max_size.min(field)
    }

    /// Adds a fragment to entry `i`: `Ok(complete)`, `Err(None)` for an exact duplicate,
    /// `Err(Some(reason))` to drop the datagram.
    fn add(&mut self, i: usize, f: &Frag<'_>) -> Result<bool, Option<Reason>> {
        let limit = self.limit(f.v6());
        let e = &mut self.entries[i];
        let end = f.offset + f.data.len();
        let hdr = match (e.hdr_len, f.offset) {
            (0, 0) => f.header.len(),
            (0, _) if f.v6() => IPV6_HEADER_LEN,
            (0, _) => IPV4_HEADER_LEN,
            (h, _) => h,
        };
        if hdr + end.max(e.max_end) > limit {
            return Err(Some(Reason::TooBig));
        }
        if f.mf {
            if e.total.is_some_and(|t| end > t) {
                return Err(Some(Reason::Inconsistent));
            }
        } else if e.total.is_some_and(|t| t != end) || e.max_end > end {
            return Err(Some(Reason::Inconsistent));
        }
        if e.is_duplicate(f.offset, end, f.mf) {
            return Err(None);
        }
        if e.overlaps(f.offset, end) {
            return Err(Some(Reason::Overlap));
        }
        e.buf[HEADER_ROOM + f.offset..HEADER_ROOM + end].copy_from_slice(f.data);
        if !f.data.is_empty() {
            set_bit(&mut e.starts, f.offset / 8);
            for b in f.offset / 8..end.div_ceil(8) {
                set_bit(&mut e.covered, b);
            }
        }
        e.received += f.data.len();
        e.max_end = e.max_end.max(end);
        if !f.mf {
            e.total = Some(end);
        }
        if f.offset == 0 {
            let hl = f.header.len();
            e.buf[HEADER_ROOM - hl..HEADER_ROOM].copy_from_slice(f.header);
            e.hdr_len = hl;
            e.nh_at = f.nh_at;
            e.first_next = f.next;
        }
        // Fragments are disjoint and inside [0, total): all there when their sum is total.
        Ok(e.hdr_len != 0 && e.total == Some(e.received))
    }

    /// Fixes the header of complete entry `i`; returns where the packet starts and its length.
    fn finish(&mut self, i: usize) -> (usize, usize) {
        let v6 = self.entries[i].key.v6;
        let e = &mut self.entries[i];
        let hl = e.hdr_len;
        let start = HEADER_ROOM - hl;
        let len = hl + e.received;
        let h = &mut e.buf[start..HEADER_ROOM];
        if v6 {
            h[e.nh_at] = e.first_next;
            h[4..6].copy_from_slice(&((len - IPV6_HEADER_LEN) as u16).to_be_bytes());
        } else {
            h[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            let flags = be16(h, 6) & 0xc000;
            h[6..8].copy_from_slice(&flags.to_be_bytes());
            h[10..12].copy_from_slice(&[0, 0]);
            let c = checksum::checksum(h);
            h[10..12].copy_from_slice(&c.to_be_bytes());
        }
        (start, len)
    }

    /// An IPv6 atomic fragment: rebuilt without its Fragment header in the spare entry.
    fn atomic(&mut self, f: &Frag<'_>) -> Insert {
        let i = self.config.capacity;
        let e = &mut self.entries[i];
        let hl = f.header.len();
        let start = HEADER_ROOM - hl;
        e.key = f.key;
        e.buf[start..HEADER_ROOM].copy_from_slice(f.header);
        e.buf[HEADER_ROOM..HEADER_ROOM + f.data.len()].copy_from_slice(f.data);
        e.hdr_len = hl;
        e.received = f.data.len();
        e.nh_at = f.nh_at;
        e.first_next = f.next;
        let (start, len) = self.finish(i);
        self.done = Some((i, start, len));
        self.counters.reassembled += 1;
        Insert::Complete(len)
    }

    /// A fresh entry for `key`, evicting one if the table is full; `None` if its source is at
    /// its limit.
    fn allocate(&mut self, key: Key, now_ns: u64) -> Option<usize> {
        let source = Source::of(&key);
        // A share of the whole table is no limit: the table's own eviction applies.
        let limited = self.config.per_source < self.config.capacity;
        if limited && self.sources.get(&source) as usize >= self.config.per_source {
            return None;
        }
        let i = match self.free.pop() {
            Some(i) => i as usize,
            None => {
                let victim = self.eviction_victim();
                self.remove(victim);
                self.counters.evicted += 1;
                victim
            }
        };
        self.entries[i].reset(key, now_ns);
        self.map.insert(key, i as u32);
        self.sources.add(source);
        // Append to the list (newest last).
        self.entries[i].prev = self.tail;
        self.entries[i].next = NIL;
        if self.tail != NIL {
            self.entries[self.tail as usize].next = i as u32;
        } else {
            self.head = i as u32;
        }
        self.tail = i as u32;
        Some(i)
    }

    /// The entry to evict from a full table: the oldest datagram of the source that holds the
    /// most. Two bounded walks (sources, then entries from the oldest), only when full.
    fn eviction_victim(&self) -> usize {
        let most = self.sources.most();
        let mut i = self.head;
        // Full: the list is not empty (capacity >= 1, and `done` was released).
        let oldest = i as usize;
        while i != NIL {
            let e = &self.entries[i as usize];
            if self.sources.get(&Source::of(&e.key)) == most {
                return i as usize;
            }
            i = e.next;
        }
        oldest
    }

    /// Unlinks entry `i` and forgets its key (the caller frees or keeps the slot).
    fn remove(&mut self, i: usize) {
        let (prev, next) = (self.entries[i].prev, self.entries[i].next);
        if prev != NIL {
            self.entries[prev as usize].next = next;
        } else {
            self.head = next;
        }
        if next != NIL {
            self.entries[next as usize].prev = prev;
        } else {
            self.tail = prev;
        }
        self.entries[i].prev = NIL;
        self.entries[i].next = NIL;
        let key = self.entries[i].key;
        self.map.remove(&key);
        self.sources.remove(&Source::of(&key));
    }

    /// Returns the slot of the last completed datagram to the free list.
    fn release_done(&mut self) {
        if let Some((i, _, _)) = self.done.take() {
            if i < self.config.capacity {
                self.free.push(i as u32);
            }
        }
    }
}

#[cfg(test)]
mod eviction_tests;
#[cfg(test)]
mod tests;
