//! Software prefetch: a burst's first pass asks for the cache lines that a later pass (the
//! ESP core's, then the cipher's) will touch, so that with 100,000 SAs their misses overlap
//! across the burst instead of stalling each packet in turn. Here because the ESP core has no
//! `unsafe`, and the instruction needs it.

/// The size of a cache line on every x86-64 CPU this runs on.
pub const LINE: usize = 64;

/// Asks for the cache line that holds `p` (a hint only: it never faults, not even for an
/// address that is not mapped, and nothing waits for it).
#[inline(always)]
pub fn prefetch_line(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is part of SSE, which every x86-64 CPU has; it reads nothing
    // architecturally and never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Asks for the lines of the first `bytes` bytes of `value` (at most its size).
#[inline(always)]
pub fn prefetch<T>(value: &T, bytes: usize) {
    let start = (value as *const T).cast::<u8>();
    let bytes = bytes.min(std::mem::size_of::<T>());
    let mut off = 0;
    while off < bytes {
        prefetch_line(start.wrapping_add(off));
        off += LINE;
    }
    // The last byte's line, when `value` does not start on a line.
    if bytes > 0 && (start as usize + bytes - 1) / LINE != (start as usize + off - LINE) / LINE {
        prefetch_line(start.wrapping_add(bytes - 1));
    }
}
