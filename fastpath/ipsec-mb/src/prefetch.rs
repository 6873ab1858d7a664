//! Software prefetch: a burst's first pass asks for the cache lines that a later pass (the
//! ESP core's, then the cipher's) will touch, so that with 100,000 SAs their misses overlap
//! across the burst instead of stalling each packet in turn. Here because the ESP core has no
//! `unsafe`, and the instruction needs it.

/// The size of a cache line on every x86-64 CPU this runs on.
pub const LINE: usize = 64;

/// How close to the core a prefetched line goes, by how soon it is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Into L1 (`PREFETCHT0`): read within a packet or two.
    Near,
    /// Into L2 (`PREFETCHT1`): read a stage later, after a burst's worth of other lines.
    Far,
}

/// Asks for the cache line that holds `p` (a hint only: it never faults, not even for an
/// address that is not mapped, and nothing waits for it).
#[inline(always)]
pub fn prefetch_line(p: *const u8) {
    prefetch_line_to(p, Reach::Near)
}

/// [`prefetch_line`] into the cache level that `reach` says.
#[inline(always)]
pub fn prefetch_line_to(p: *const u8, reach: Reach) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 and PREFETCHT1 are part of SSE, which every x86-64 CPU has; they read
    // nothing architecturally and never fault, whatever the address.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0, _MM_HINT_T1};
        match reach {
            Reach::Near => _mm_prefetch::<{ _MM_HINT_T0 }>(p.cast()),
            Reach::Far => _mm_prefetch::<{ _MM_HINT_T1 }>(p.cast()),
        }
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, reach);
}

/// Asks for the lines of the first `bytes` bytes of `value` (at most its size).
#[inline(always)]
pub fn prefetch<T>(value: &T, bytes: usize) {
    prefetch_to(value, bytes, Reach::Near)
}

/// [`prefetch`] into the cache level that `reach` says.
#[inline(always)]
pub fn prefetch_to<T>(value: &T, bytes: usize, reach: Reach) {
    let start = (value as *const T).cast::<u8>();
    let bytes = bytes.min(std::mem::size_of::<T>());
    let mut off = 0;
    while off < bytes {
        prefetch_line_to(start.wrapping_add(off), reach);
        off += LINE;
    }
    // The last byte's line, when `value` does not start on a line.
    if bytes > 0 && (start as usize + bytes - 1) / LINE != (start as usize + off - LINE) / LINE {
        prefetch_line_to(start.wrapping_add(bytes - 1), reach);
    }
}
