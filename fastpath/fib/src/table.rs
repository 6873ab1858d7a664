//! The shared side of one family's trie: a first level of `2^first_bits` entries and a pool of
//! 256-entry groups, each a further 8 bits of the address. Readers only load (IPv4 with a
//! 24-bit first level: one read, or two past /24, as DIR-24-8 and `rte_lpm`); the single
//! writer stores one entry at a time, so a reader sees an entry either before or after.

use crate::entry;
use std::sync::atomic::{AtomicU32, Ordering};

/// Entries per group (one 8-bit stride).
pub const GROUP_SIZE: usize = 256;

/// Most addresses one batch lookup resolves in a pass (bursts are cut into these).
pub const BATCH: usize = 64;

pub struct Table {
    /// Bits the first level consumes (24 for IPv4, 16 for IPv6).
    pub first_bits: u32,
    pub first: Box<[AtomicU32]>,
    pub groups: Box<[AtomicU32]>,
}

/// A zeroed slice that the allocator may hand out as untouched pages (`calloc`): a group pool
/// sized for the worst case costs only the groups in use. Large ones ask for transparent huge
/// pages: lookups jump at random over tens of MiB, and with 4 KiB pages nearly every one
/// would also miss the TLB.
fn zeroed_atomics(n: usize, huge_pages: bool) -> Box<[AtomicU32]> {
    let raw: *mut [u32] = Box::into_raw(vec![0u32; n].into_boxed_slice());
    if huge_pages {
        advise_huge_pages(raw as *mut u8 as usize, n * 4);
    }
    // SAFETY: `AtomicU32` has the same size, alignment and bit validity as `u32` (documented),
    // and the box's allocation is handed over whole, so the layout on free is the same.
    unsafe { Box::from_raw(raw as *mut [AtomicU32]) }
}

const HUGE_PAGE: usize = 2 << 20;

/// Marks the whole 2 MiB pages inside `[start, start + len)` for transparent huge pages. Only
/// advice: if the kernel refuses, the table works the same on small pages.
fn advise_huge_pages(start: usize, len: usize) {
    let first = start.next_multiple_of(HUGE_PAGE);
    let end = (start + len) / HUGE_PAGE * HUGE_PAGE;
    if end > first {
        // SAFETY: the range lies inside an allocation this process owns; MADV_HUGEPAGE changes
        // neither its contents nor its mapping, only how the kernel backs it.
        unsafe {
            libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
        }
    }
}

impl Table {
    pub fn new(first_bits: u32, groups: u32, huge_pages: bool) -> Table {
        Table {
            first_bits,
            first: zeroed_atomics(1 << first_bits, huge_pages),
            groups: zeroed_atomics(groups as usize * GROUP_SIZE, huge_pages),
        }
    }

    pub fn group_capacity(&self) -> u32 {
        (self.groups.len() / GROUP_SIZE) as u32
    }

    /// Entry `i` of group `g` (acquire: a group's contents are written before the entry that
    /// points to it).
    #[inline(always)]
    fn in_group(&self, g: u32, i: u32) -> u32 {
        let at = ((g as usize) << 8) | (i as usize & 0xff);
        self.groups.get(at).map_or(0, |e| e.load(Ordering::Acquire))
    }

    /// The route entry for IPv4 address `a` (a table with a 24-bit first level).
    #[inline(always)]
    pub fn lookup4(&self, a: u32) -> u32 {
        let e = self.first[(a >> 8) as usize].load(Ordering::Acquire);
        if entry::is_ext(e) {
            return self.in_group(entry::value(e), a & 0xff);
        }
        e
    }

    /// IPv4 burst: every first-level load is issued before any group load, so the misses of a
    /// burst overlap instead of following one another.
    pub fn lookup4_burst(&self, addrs: &[u32], out: &mut [u32]) {
        for (a, o) in addrs.iter().zip(out.iter_mut()) {
            *o = self.first[(a >> 8) as usize].load(Ordering::Acquire);
        }
        for (a, o) in addrs.iter().zip(out.iter_mut()) {
            if entry::is_ext(*o) {
                *o = self.in_group(entry::value(*o), a & 0xff);
            }
        }
    }

    /// The route entry for IPv6 address `a` (a table with a 16-bit first level).
    #[inline(always)]
    pub fn lookup6(&self, a: u128) -> u32 {
        let mut e = self.first[(a >> 112) as usize].load(Ordering::Acquire);
        let mut shift = 112;
        while entry::is_ext(e) && shift > 0 {
            shift -= 8;
            e = self.in_group(entry::value(e), (a >> shift) as u32);
        }
        e
    }

    /// IPv6 burst: one level at a time across the burst, so that each level's loads overlap.
    pub fn lookup6_burst(&self, addrs: &[u128], out: &mut [u32]) {
        for (a, o) in addrs.iter().zip(out.iter_mut()) {
            *o = self.first[(a >> 112) as usize].load(Ordering::Acquire);
        }
        let mut shift = 112;
        while shift > 0 {
            shift -= 8;
            let mut deeper = false;
            for (a, o) in addrs.iter().zip(out.iter_mut()) {
                if entry::is_ext(*o) {
                    *o = self.in_group(entry::value(*o), (*a >> shift) as u32);
                    deeper = true;
                }
            }
            if !deeper {
                break;
            }
        }
    }
}
