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
//! - Each datagram times out `timeout_ns` after its first fragment (caller's clock); when the
//!   table is full the oldest datagram is evicted. Both are counted.
//! - An IPv6 atomic fragment (offset 0, M clear) is returned on its own with its Fragment
//!   header removed (RFC 6946), without touching the table.
//!
//! The reassembled packet is a normal IP packet: IPv4 with MF and offset cleared, total length
//! and checksum set (DF and the reserved bit as in the first fragment); IPv6 with the Fragment
//! header removed and the payload length set. It stays readable through
//! [`Reassembler::reassembled`] until the next call that takes `&mut self`.

use crate::wire::checksum;
use crate::wire::{be16, be32, proto, IPV4_HEADER_LEN, IPV6_HEADER_LEN};
use std::collections::HashMap;

/// Room before the payload of each entry for the header of the first fragment: the IPv4
/// header (up to 60 bytes) or the IPv6 unfragmentable part (IPv6 header, hop-by-hop, routing).
pub const HEADER_ROOM: usize = 512;
/// IPv6 destination options header (IANA protocol number).
const DEST_OPTS: u8 = 60;
const NIL: u32 = u32::MAX;

/// Table size, size limit and timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Datagrams in reassembly at once (at least 1).
    pub capacity: usize,
    /// Largest reassembled packet, headers included (68..=65575).
    pub max_size: usize,
    /// How long a datagram may take to complete after its first fragment.
    pub timeout_ns: u64,
}

impl Default for Config {
    /// 256 datagrams, 9216 bytes (jumbo frames), 2 s (RFC 791 suggests 15 s; a gateway's
    /// peers are close, and a short timeout frees the table sooner under attack).
    fn default() -> Self {
        Config {
            capacity: 256,
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
    /// Datagrams evicted to make room.
    pub evicted: u64,
}

impl Counters {
    fn drop(&mut self, r: Reason) {
        match r {
            Reason::Malformed => self.malformed += 1,
            Reason::TooBig => self.too_big += 1,
            Reason::Overlap => self.overlap += 1,
            Reason::Inconsistent => self.inconsistent += 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
struct Key {
    src: [u8; 16],
    dst: [u8; 16],
    id: u32,
    protocol: u8,
    v6: bool,
}

/// One parsed fragment.
struct Frag<'p> {
    key: Key,
    offset: usize,
    mf: bool,
    data: &'p [u8],
    /// IPv4 header / IPv6 unfragmentable part.
    header: &'p [u8],
    /// IPv6: the offset in `header` of the next header byte that says 44, and the Fragment
    /// header's next header.
    nh_at: usize,
    next: u8,
}

impl Frag<'_> {
    fn v6(&self) -> bool {
        self.key.v6
    }
}

/// Parses a fragment: `Ok(None)` if the packet is not one.
fn parse(p: &[u8]) -> Result<Option<Frag<'_>>, Reason> {
    match p.first().map(|b| b >> 4) {
        Some(4) => parse_v4(p),
        Some(6) => parse_v6(p),
        _ => Err(Reason::Malformed),
    }
}

fn parse_v4(p: &[u8]) -> Result<Option<Frag<'_>>, Reason> {
    if p.len() < IPV4_HEADER_LEN {
        return Err(Reason::Malformed);
    }
    let ihl = (p[0] & 0x0f) as usize * 4;
    let total = be16(p, 2) as usize;
    if ihl < IPV4_HEADER_LEN || total < ihl || p.len() < total {
        return Err(Reason::Malformed);
    }
    if checksum::checksum(&p[..ihl]) != 0 {
        return Err(Reason::Malformed);
    }
    let fo = be16(p, 6);
    let offset = (fo & 0x1fff) as usize * 8;
    let mf = fo & 0x2000 != 0;
    if offset == 0 && !mf {
        return Ok(None);
    }
    let mut key = Key {
        id: be16(p, 4) as u32,
        protocol: p[9],
        ..Key::default()
    };
    key.src[..4].copy_from_slice(&p[12..16]);
    key.dst[..4].copy_from_slice(&p[16..20]);
    Ok(Some(Frag {
        key,
        offset,
        mf,
        data: &p[ihl..total],
        header: &p[..ihl],
        nh_at: 0,
        next: p[9],
    }))
}

fn parse_v6(p: &[u8]) -> Result<Option<Frag<'_>>, Reason> {
    if p.len() < IPV6_HEADER_LEN {
        return Err(Reason::Malformed);
    }
    let total = IPV6_HEADER_LEN + be16(p, 4) as usize;
    if p.len() < total {
        return Err(Reason::Malformed);
    }
    let p = &p[..total];
    let (mut next, mut nh_at, mut at) = (p[6], 6, IPV6_HEADER_LEN);
    loop {
        match next {
            proto::HOP_BY_HOP | proto::IPV6_ROUTE | DEST_OPTS => {
                if next == proto::HOP_BY_HOP && at != IPV6_HEADER_LEN {
                    return Err(Reason::Malformed);
                }
                let len = match p.get(at + 1) {
                    Some(&l) => (l as usize + 1) * 8,
                    None => return Err(Reason::Malformed),
                };
                if p.len() < at + len {
                    return Err(Reason::Malformed);
                }
                nh_at = at;
                next = p[at];
                at += len;
            }
            proto::IPV6_FRAG => break,
            _ => return Ok(None),
        }
    }
    if p.len() < at + 8 || p[at] == proto::IPV6_FRAG {
        return Err(Reason::Malformed);
    }
    let fo = be16(p, at + 2);
    let mut key = Key {
        id: be32(p, at + 4),
        v6: true,
        ..Key::default()
    };
    key.src.copy_from_slice(&p[8..24]);
    key.dst.copy_from_slice(&p[24..40]);
    Ok(Some(Frag {
        key,
        offset: (fo & 0xfff8) as usize,
        mf: fo & 1 != 0,
        data: &p[at + 8..],
        header: &p[..at],
        nh_at,
        next: p[at],
    }))
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
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Reassembler {
    /// Allocates the whole table (capacity clamped to at least 1 and below 2^31, max size to
    /// 68..=65575).
    pub fn new(config: Config) -> Reassembler {
        let config = Config {
            capacity: config.capacity.clamp(1, (u32::MAX / 2) as usize),
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
            None => self.allocate(frag.key, now_ns),
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

    /// A fresh entry for `key`, evicting the oldest datagram if the table is full.
    fn allocate(&mut self, key: Key, now_ns: u64) -> usize {
        let i = match self.free.pop() {
            Some(i) => i as usize,
            None => {
                // Full: the list is not empty (capacity >= 1, and `done` was released).
                let oldest = self.head as usize;
                self.remove(oldest);
                self.counters.evicted += 1;
                oldest
            }
        };
        self.entries[i].reset(key, now_ns);
        self.map.insert(key, i as u32);
        // Append to the list (newest last).
        self.entries[i].prev = self.tail;
        self.entries[i].next = NIL;
        if self.tail != NIL {
            self.entries[self.tail as usize].next = i as u32;
        } else {
            self.head = i as u32;
        }
        self.tail = i as u32;
        i
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
mod tests {
    use super::*;
    use crate::wire::fragment::tests::{ipv4_packet, ipv6_packet};
    use crate::wire::fragment::Fragmenter;
    use crate::wire::ip::IpHeader;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn shuffle<T>(&mut self, v: &mut [T]) {
            for i in (1..v.len()).rev() {
                v.swap(i, self.below(i + 1));
            }
        }
    }

    fn fragments(f: &Fragmenter) -> Vec<Vec<u8>> {
        (0..f.count())
            .map(|k| {
                let mut b = vec![0; f.fragment_len(k)];
                f.write(k, &mut b).unwrap();
                b
            })
            .collect()
    }

    /// An IPv4 fragment of datagram `id` with payload bytes `offset..offset + len` of a
    /// pattern, valid checksum.
    fn v4(id: u16, offset: usize, mf: bool, len: usize) -> Vec<u8> {
        let mut p = ipv4_packet(&[], len, false, id);
        for (i, b) in p[20..].iter_mut().enumerate() {
            *b = ((offset + i) * 7) as u8;
        }
        let fo = (offset / 8) as u16 | if mf { 0x2000 } else { 0 };
        p[6..8].copy_from_slice(&fo.to_be_bytes());
        p[10..12].copy_from_slice(&[0, 0]);
        let c = checksum::checksum(&p[..20]);
        p[10..12].copy_from_slice(&c.to_be_bytes());
        p
    }

    /// An IPv6 fragment (no other extension headers) of datagram `id`.
    fn v6(id: u32, offset: usize, mf: bool, len: usize) -> Vec<u8> {
        let mut p = ipv6_packet(&[(proto::IPV6_FRAG, 8)], len);
        p[40] = proto::UDP;
        p[41] = 0;
        let fo = offset as u16 | u16::from(mf);
        p[42..44].copy_from_slice(&fo.to_be_bytes());
        p[44..48].copy_from_slice(&id.to_be_bytes());
        for (i, b) in p[48..].iter_mut().enumerate() {
            *b = ((offset + i) * 7) as u8;
        }
        p
    }

    fn table() -> Reassembler {
        Reassembler::new(Config::default())
    }

    #[test]
    fn round_trips_ipv4_in_any_order() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut r = table();
        let opts = [130, 7, 1, 2, 3, 4, 5, 7, 3, 4, 0, 0];
        for payload in [1, 8, 9, 100, 1000, 1480, 1481, 2999, 5000, 9196] {
            for mtu in [68, 100, 576, 1280, 1500] {
                for o in [&[][..], &opts[..], &[1, 1, 1, 1][..]] {
                    if o.len() % 4 != 0 || 20 + o.len() + payload > 9216 {
                        continue;
                    }
                    let p = ipv4_packet(o, payload, false, rng.next() as u16);
                    let f = Fragmenter::ipv4(&p, mtu).unwrap();
                    let mut frags = fragments(&f);
                    if frags.len() == 1 {
                        assert_eq!(r.insert(&frags[0], 0), Insert::NotFragment);
                        continue;
                    }
                    rng.shuffle(&mut frags);
                    let n = frags.len();
                    for (k, x) in frags.iter().enumerate() {
                        let got = r.insert(x, k as u64);
                        if k + 1 < n {
                            assert_eq!(got, Insert::Incomplete);
                        } else {
                            assert_eq!(got, Insert::Complete(p.len()));
                        }
                    }
                    assert_eq!(r.reassembled(), &p[..], "payload {payload} mtu {mtu}");
                    assert!(r.is_empty());
                }
            }
        }
        let c = r.counters();
        assert_eq!(
            (c.duplicates, c.malformed, c.overlap, c.evicted, c.timed_out),
            (0, 0, 0, 0, 0)
        );
    }

    #[test]
    fn round_trips_ipv6_in_any_order() {
        let mut rng = Rng(77);
        let mut r = table();
        let exts: [&[(u8, usize)]; 4] = [&[], &[(0, 8)], &[(0, 16), (43, 24)], &[(60, 16)]];
        for ext in exts {
            for payload in [1, 8, 1232, 1300, 3000, 9000] {
                for mtu in [1280, 1283, 1500] {
                    let p = ipv6_packet(ext, payload);
                    if p.len() > 9216 {
                        continue;
                    }
                    let f = Fragmenter::ipv6(&p, mtu, rng.next() as u32).unwrap();
                    let mut frags = fragments(&f);
                    if frags.len() == 1 {
                        assert_eq!(r.insert(&frags[0], 0), Insert::NotFragment);
                        continue;
                    }
                    rng.shuffle(&mut frags);
                    let n = frags.len();
                    for (k, x) in frags.iter().enumerate() {
                        let want = if k + 1 < n {
                            Insert::Incomplete
                        } else {
                            Insert::Complete(p.len())
                        };
                        assert_eq!(r.insert(x, 5), want);
                    }
                    assert_eq!(r.reassembled(), &p[..], "ext {ext:?} payload {payload}");
                }
            }
        }
        assert!(r.is_empty());
    }

    #[test]
    fn interleaved_datagrams_and_both_families() {
        let mut rng = Rng(5);
        let mut r = table();
        let mut want = Vec::new();
        let mut all = Vec::new();
        for d in 0..50u16 {
            let p = if d % 2 == 0 {
                let p = ipv4_packet(&[], 3000 + d as usize, false, d);
                all.extend(fragments(&Fragmenter::ipv4(&p, 576).unwrap()));
                p
            } else {
                let p = ipv6_packet(&[], 3000 + d as usize);
                all.extend(fragments(&Fragmenter::ipv6(&p, 1280, d as u32).unwrap()));
                p
            };
            want.push(p);
        }
        rng.shuffle(&mut all);
        let mut got = Vec::new();
        for x in &all {
            if let Insert::Complete(n) = r.insert(x, 0) {
                assert_eq!(r.reassembled().len(), n);
                got.push(r.reassembled().to_vec());
            }
        }
        got.sort();
        want.sort();
        assert_eq!(got, want);
        assert_eq!(r.counters().reassembled, 50);
    }

    #[test]
    fn same_id_different_keys_stay_apart() {
        let mut r = table();
        let a = v4(1, 0, true, 8);
        let mut b = v4(1, 8, false, 8);
        b[9] = proto::TCP; // another protocol: another datagram
        b[10..12].copy_from_slice(&[0, 0]);
        let c = checksum::checksum(&b[..20]);
        b[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(r.insert(&a, 0), Insert::Incomplete);
        assert_eq!(r.insert(&b, 0), Insert::Incomplete);
        assert_eq!(r.len(), 2);
        // IPv6: the next header is not part of the key.
        let a = v6(1, 0, true, 8);
        let mut b = v6(1, 8, false, 8);
        b[40] = proto::TCP;
        assert_eq!(r.insert(&a, 0), Insert::Incomplete);
        assert_eq!(r.insert(&b, 0), Insert::Complete(40 + 16));
        assert_eq!(
            r.reassembled()[6],
            proto::UDP,
            "first fragment's next header"
        );
    }

    #[test]
    fn whole_packets_are_not_fragments() {
        let mut r = table();
        assert_eq!(
            r.insert(&ipv4_packet(&[], 100, true, 1), 0),
            Insert::NotFragment
        );
        assert_eq!(r.insert(&ipv6_packet(&[], 100), 0), Insert::NotFragment);
        assert_eq!(
            r.insert(&ipv6_packet(&[(0, 8), (60, 8)], 100), 0),
            Insert::NotFragment
        );
        assert_eq!(r.counters().fragments, 0);
    }

    #[test]
    fn ipv6_atomic_fragment_is_returned_alone() {
        let mut r = table();
        assert_eq!(r.insert(&v6(9, 0, true, 16), 0), Insert::Incomplete);
        let a = v6(9, 0, false, 24);
        assert_eq!(r.insert(&a, 0), Insert::Complete(40 + 24));
        let out = r.reassembled();
        assert_eq!(out[6], proto::UDP);
        assert_eq!(be16(out, 4), 24);
        assert_eq!(out[40..], a[48..]);
        // The table entry of the same ID is untouched.
        assert_eq!(r.len(), 1);
        assert_eq!(r.insert(&v6(9, 16, false, 3), 0), Insert::Complete(40 + 19));
    }

    #[test]
    fn duplicates_are_ignored() {
        for fam in [4, 6] {
            let f = |o: usize, mf: bool, n: usize| {
                if fam == 4 {
                    v4(3, o, mf, n)
                } else {
                    v6(3, o, mf, n)
                }
            };
            let mut r = table();
            assert_eq!(r.insert(&f(8, true, 16), 0), Insert::Incomplete);
            assert_eq!(r.insert(&f(8, true, 16), 0), Insert::Incomplete);
            assert_eq!(r.insert(&f(24, false, 5), 0), Insert::Incomplete);
            assert_eq!(r.insert(&f(24, false, 5), 0), Insert::Incomplete);
            assert_eq!(r.insert(&f(8, true, 16), 0), Insert::Incomplete);
            assert_eq!(r.counters().duplicates, 3);
            let hl = if fam == 4 { 20 } else { 40 };
            assert_eq!(r.insert(&f(0, true, 8), 0), Insert::Complete(hl + 29));
            let out = r.reassembled().to_vec();
            for (i, b) in out[hl..].iter().enumerate() {
                assert_eq!(*b, (i * 7) as u8);
            }
            // The zero-length last fragment and its duplicate.
            assert_eq!(r.insert(&f(0, true, 8), 0), Insert::Incomplete);
            assert_eq!(r.insert(&f(8, false, 0), 0), Insert::Complete(hl + 8));
            assert_eq!(r.insert(&f(8, true, 8), 0), Insert::Incomplete);
            assert_eq!(r.insert(&f(16, false, 0), 0), Insert::Incomplete);
            assert_eq!(r.insert(&f(16, false, 0), 0), Insert::Incomplete);
            assert_eq!(r.counters().duplicates, 4);
            assert_eq!(r.counters().overlap, 0);
        }
    }

    #[test]
    fn overlaps_drop_the_datagram() {
        for fam in [4, 6] {
            let f = |o: usize, mf: bool, n: usize| {
                if fam == 4 {
                    v4(4, o, mf, n)
                } else {
                    v6(4, o, mf, n)
                }
            };
            let cases: [&[(usize, bool, usize)]; 6] = [
                // Partial overlap.
                &[(0, true, 16), (8, true, 16)],
                // Covered by two earlier fragments (not an exact duplicate).
                &[(0, true, 8), (8, true, 8), (0, true, 16)],
                // A shorter fragment inside a longer one.
                &[(0, true, 24), (8, true, 8)],
                // Same start, longer.
                &[(0, true, 8), (0, true, 16)],
                // A middle fragment inside the last one.
                &[(8, false, 20), (16, true, 8)],
                // A last fragment over a middle one.
                &[(16, true, 8), (8, false, 20)],
            ];
            for case in cases {
                let mut r = table();
                for (k, &(o, mf, n)) in case.iter().enumerate() {
                    let got = r.insert(&f(o, mf, n), 0);
                    if k + 1 < case.len() {
                        assert_eq!(got, Insert::Incomplete, "{fam} {case:?}");
                    } else {
                        assert_eq!(got, Insert::Dropped(Reason::Overlap), "{fam} {case:?}");
                    }
                }
                assert!(r.is_empty());
                assert_eq!(r.counters().overlap, 1);
                // The rest of the datagram starts a new one (and does not complete it).
                assert_eq!(r.insert(&f(100, false, 1), 0), Insert::Incomplete);
            }
        }
    }

    #[test]
    fn contradicting_last_fragments_drop_the_datagram() {
        let cases: [&[(usize, bool, usize)]; 4] = [
            // Two different ends.
            &[(8, false, 8), (8, false, 16)],
            // A last fragment before data already received.
            &[(32, true, 8), (8, false, 8)],
            // Data past the end a last fragment set.
            &[(8, false, 8), (16, true, 8)],
            &[(8, false, 8), (40, false, 8)],
        ];
        for case in cases {
            let mut r = table();
            let n = case.len();
            for (k, &(o, mf, len)) in case.iter().enumerate() {
                let want = if k + 1 < n {
                    Insert::Incomplete
                } else {
                    Insert::Dropped(Reason::Inconsistent)
                };
                assert_eq!(r.insert(&v4(5, o, mf, len), 0), want, "{case:?}");
            }
            assert!(r.is_empty());
            assert_eq!(r.counters().inconsistent, 1);
        }
    }

    #[test]
    fn too_big_drops_the_datagram() {
        let mut r = Reassembler::new(Config {
            max_size: 1000,
            ..Config::default()
        });
        assert_eq!(r.insert(&v4(6, 0, true, 800), 0), Insert::Incomplete);
        assert_eq!(r.len(), 1);
        // 20 + 800 + 184 > 1000.
        assert_eq!(
            r.insert(&v4(6, 800, false, 184), 0),
            Insert::Dropped(Reason::TooBig)
        );
        assert!(r.is_empty());
        assert_eq!(r.insert(&v4(7, 0, true, 800), 0), Insert::Incomplete);
        assert_eq!(r.insert(&v4(7, 800, false, 180), 0), Insert::Complete(1000));
        // A later fragment within the limit for a 20-byte header, then a first fragment
        // whose options make the datagram too long.
        assert_eq!(r.insert(&v4(8, 960, false, 16), 0), Insert::Incomplete);
        let mut first = ipv4_packet(&[1, 1, 1, 1, 1, 1, 1, 1], 16, false, 8);
        first[6] = 0x20;
        first[10..12].copy_from_slice(&[0, 0]);
        let c = checksum::checksum(&first[..28]);
        first[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(r.insert(&first, 0), Insert::Dropped(Reason::TooBig));
        assert_eq!(r.counters().too_big, 2);
        // The IPv4 length field limit, whatever max_size says.
        let mut r = Reassembler::new(Config {
            max_size: 70_000,
            ..Config::default()
        });
        assert_eq!(r.config().max_size, 65575);
        assert_eq!(
            r.insert(&v4(1, 65512, false, 8), 0),
            Insert::Dropped(Reason::TooBig)
        );
        assert_eq!(r.insert(&v4(1, 65504, false, 8), 0), Insert::Incomplete);
        // IPv6 may reach 65535 + 40.
        assert_eq!(r.insert(&v6(1, 65528, false, 7), 0), Insert::Incomplete);
        assert_eq!(
            r.insert(&v6(2, 65528, false, 8), 0),
            Insert::Dropped(Reason::TooBig)
        );
    }

    #[test]
    fn malformed_fragments_are_dropped_alone() {
        let mut r = table();
        assert_eq!(r.insert(&v4(1, 0, true, 16), 0), Insert::Incomplete);
        let bad: Vec<Vec<u8>> = vec![
            vec![],
            vec![0x45; 10],
            vec![0x00; 40],
            v4(1, 16, true, 12), // MF with a length not a multiple of 8
            v4(1, 16, true, 0),  // MF and empty
            v4(1, 16, false, 8)[..27].to_vec(), // shorter than its total length
            {
                let mut p = v4(1, 16, false, 8);
                p[10] ^= 1; // bad checksum
                p
            },
            {
                let mut p = v4(1, 16, false, 8);
                p[0] = 0x44; // IHL below 5
                p
            },
            v6(1, 16, true, 12),
            v6(1, 16, false, 8)[..50].to_vec(),
            {
                let mut p = v6(1, 16, false, 8);
                p[40] = proto::IPV6_FRAG; // nested fragment header
                p
            },
            {
                let mut p = ipv6_packet(&[(0, 8)], 0);
                p[40] = proto::IPV6_FRAG; // fragment header missing
                p
            },
            {
                let mut p = ipv6_packet(&[(43, 8), (0, 8)], 8); // hop-by-hop not first
                let l = p.len();
                p[48] = proto::IPV6_FRAG;
                p[l - 8] = 0;
                p
            },
        ];
        for (k, b) in bad.iter().enumerate() {
            assert_eq!(
                r.insert(b, 0),
                Insert::Dropped(Reason::Malformed),
                "case {k}"
            );
        }
        assert_eq!(r.counters().malformed, bad.len() as u64);
        assert_eq!(r.len(), 1, "the datagram in flight is untouched");
        assert_eq!(r.insert(&v4(1, 16, false, 8), 0), Insert::Complete(44));
    }

    #[test]
    fn datagrams_time_out_on_the_callers_clock() {
        let t = 2_000_000_000;
        let mut r = table();
        assert_eq!(r.config().timeout_ns, t);
        let base = 10_000;
        assert_eq!(r.insert(&v4(1, 0, true, 8), base), Insert::Incomplete);
        assert_eq!(r.insert(&v6(1, 0, true, 8), base + 10), Insert::Incomplete);
        assert_eq!(r.expire(base + t - 1), 0);
        // Just in time for the IPv4 one.
        assert_eq!(
            r.insert(&v4(1, 8, false, 8), base + t - 1),
            Insert::Complete(36)
        );
        // The IPv6 one times out first; its last fragment starts a new datagram.
        assert_eq!(
            r.insert(&v6(1, 8, false, 8), base + t + 10),
            Insert::Incomplete
        );
        assert_eq!(r.counters().timed_out, 1);
        assert_eq!(r.len(), 1);
        assert_eq!(r.expire(base + 2 * t + 9), 0);
        assert_eq!(r.expire(base + 2 * t + 10), 1);
        assert!(r.is_empty());
        // A clock that goes back does not expire anything.
        assert_eq!(r.insert(&v4(2, 0, true, 8), base), Insert::Incomplete);
        assert_eq!(r.expire(0), 0);
        assert_eq!(r.len(), 1);
        // A custom timeout.
        let mut r = Reassembler::new(Config {
            timeout_ns: 100,
            ..Config::default()
        });
        assert_eq!(r.insert(&v4(1, 0, true, 8), 0), Insert::Incomplete);
        assert_eq!(r.insert(&v4(1, 8, false, 8), 100), Insert::Incomplete);
        assert_eq!(r.counters().timed_out, 1);
    }

    #[test]
    fn full_table_evicts_the_oldest() {
        let mut r = Reassembler::new(Config {
            capacity: 4,
            ..Config::default()
        });
        for id in 0..4 {
            assert_eq!(r.insert(&v4(id, 0, true, 8), id as u64), Insert::Incomplete);
        }
        assert_eq!(r.len(), 4);
        assert_eq!(r.insert(&v4(4, 0, true, 8), 10), Insert::Incomplete);
        assert_eq!(r.counters().evicted, 1);
        assert_eq!(r.len(), 4);
        // Datagram 0 is gone: its last fragment starts over (and evicts datagram 1).
        assert_eq!(r.insert(&v4(0, 8, false, 8), 11), Insert::Incomplete);
        assert_eq!(r.counters().evicted, 2);
        for id in 2..5 {
            assert_eq!(r.insert(&v4(id, 8, false, 8), 12), Insert::Complete(36));
        }
        assert_eq!(r.len(), 1);
        assert_eq!(r.insert(&v4(1, 8, false, 8), 13), Insert::Incomplete);
        assert_eq!(r.counters().evicted, 2);
        for id in 10..12 {
            assert_eq!(r.insert(&v4(id, 0, true, 8), 14), Insert::Incomplete);
        }
        assert_eq!((r.len(), r.counters().evicted), (4, 2));
        // Completing frees the slot (after the caller had the packet).
        assert_eq!(r.insert(&v4(11, 8, false, 8), 15), Insert::Complete(36));
        assert_eq!(r.reassembled().len(), 36);
        assert_eq!(r.len(), 3);
        assert_eq!(r.insert(&v4(20, 0, true, 8), 16), Insert::Incomplete);
        assert_eq!((r.len(), r.counters().evicted), (4, 2));
        assert_eq!(r.insert(&v4(21, 0, true, 8), 17), Insert::Incomplete);
        assert_eq!((r.len(), r.counters().evicted), (4, 3));
        // The oldest (datagram 0, from t = 11) went.
        assert_eq!(r.insert(&v4(0, 0, true, 8), 18), Insert::Incomplete);
        assert_eq!(r.counters().evicted, 4);
        // Capacity 0 is taken as 1.
        let mut r = Reassembler::new(Config {
            capacity: 0,
            ..Config::default()
        });
        assert_eq!(r.insert(&v4(1, 0, true, 8), 0), Insert::Incomplete);
        assert_eq!(r.insert(&v4(2, 0, true, 8), 0), Insert::Incomplete);
        assert_eq!(r.insert(&v4(2, 8, false, 8), 0), Insert::Complete(36));
        assert_eq!(r.counters().evicted, 1);
    }

    #[test]
    fn random_and_mutated_fragments_never_panic() {
        let mut rng = Rng(0xdead_beef_cafe_f00d);
        let mut r = Reassembler::new(Config {
            capacity: 4,
            max_size: 4000,
            timeout_ns: 2000,
        });
        let mut now = 0u64;
        let mut completed = 0;
        for round in 0..3000 {
            let p = if rng.below(2) == 0 {
                let mut p = ipv4_packet(&[], rng.below(5000), false, rng.below(4) as u16);
                if rng.below(4) == 0 {
                    p[1] = 0;
                }
                p
            } else {
                let exts: [&[(u8, usize)]; 3] = [&[], &[(0, 8)], &[(43, 16)]];
                ipv6_packet(exts[rng.below(3)], rng.below(5000))
            };
            let mtu = 1280 + rng.below(1000);
            let Ok(f) = Fragmenter::new(&p, mtu, rng.below(4) as u32) else {
                continue;
            };
            let mut frags = fragments(&f);
            rng.shuffle(&mut frags);
            for x in frags.iter_mut() {
                match rng.below(8) {
                    0 => {
                        // Flip a few bits, anywhere.
                        for _ in 0..=rng.below(4) {
                            let i = rng.below(x.len());
                            x[i] ^= 1 << rng.below(8);
                        }
                        if x[0] >> 4 == 4 && rng.below(2) == 0 {
                            let hl = ((x[0] & 15) as usize * 4).clamp(20, x.len().min(60));
                            x[10..12].copy_from_slice(&[0, 0]);
                            let c = checksum::checksum(&x[..hl]);
                            x[10..12].copy_from_slice(&c.to_be_bytes());
                        }
                    }
                    1 => {
                        let n = rng.below(x.len() + 1);
                        x.truncate(n);
                    }
                    2 => {
                        // Random offset / MF (IPv4 with a fixed checksum, or IPv6 without
                        // extension headers).
                        let fo = rng.next() as u16;
                        if x[0] >> 4 == 4 {
                            x[6..8].copy_from_slice(&fo.to_be_bytes());
                            x[10..12].copy_from_slice(&[0, 0]);
                            let hl = (x[0] & 15) as usize * 4;
                            let c = checksum::checksum(&x[..hl]);
                            x[10..12].copy_from_slice(&c.to_be_bytes());
                        } else if x[6] == proto::IPV6_FRAG {
                            x[42..44].copy_from_slice(&fo.to_be_bytes());
                        }
                    }
                    3 => {
                        let len = rng.below(100);
                        *x = (0..len).map(|_| rng.next() as u8).collect();
                    }
                    _ => {}
                }
                now += rng.below(200) as u64;
                if rng.below(100) == 0 {
                    now += 5000;
                }
                match r.insert(x, now) {
                    Insert::Complete(n) => {
                        completed += 1;
                        let out = r.reassembled();
                        assert_eq!(out.len(), n);
                        assert!(n <= 4000);
                        if out[0] >> 4 == 4 {
                            let h = IpHeader::parse(out).expect("a reassembled packet parses");
                            assert_eq!(h.total_len, n);
                            assert!(!h.fragment);
                            assert_eq!(checksum::checksum(&out[..h.header_len]), 0);
                        } else {
                            assert_eq!(out[0] >> 4, 6);
                            assert_eq!(be16(out, 4) as usize + 40, n);
                        }
                    }
                    Insert::Dropped(_) | Insert::Incomplete | Insert::NotFragment => {}
                }
                assert!(r.len() <= 4);
            }
            if round % 500 == 0 {
                r.expire(now);
            }
        }
        assert!(completed > 100, "completed {completed}");
        let c = *r.counters();
        assert!(c.malformed > 0 && c.timed_out > 0 && c.evicted > 0, "{c:?}");
    }
}
