//! Transparent huge pages for large tables of per-SA state: with 100,000 SAs their key
//! schedules span hundreds of MiB, and with 4 KiB pages nearly every packet's SA would also
//! miss the TLB (in a VM, a nested page walk). Here because the ESP core has no `unsafe`.

/// The size of an x86-64 huge page.
pub const HUGE_PAGE: usize = 2 << 20;

/// Marks the whole 2 MiB pages inside `[start, start + len)` for transparent huge pages, and
/// returns how many bytes that covers. Only advice: if the kernel refuses (or THP is off), the
/// memory works the same on small pages. Best called before the memory is first touched, so
/// that the first fault already maps a huge page.
pub fn advise_huge_pages(start: *const u8, len: usize) -> usize {
    let start = start as usize;
    let first = start.next_multiple_of(HUGE_PAGE);
    let end = start.saturating_add(len) / HUGE_PAGE * HUGE_PAGE;
    if end <= first {
        return 0;
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: madvise only reads the range's bounds; MADV_HUGEPAGE changes neither the
        // contents nor the mapping of the memory, only how the kernel backs it, and for a
        // range that is not mapped it fails with an error, which is ignored (advice).
        let rc =
            unsafe { libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE) };
        if rc != 0 {
            return 0;
        }
    }
    end - first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_huge_pages_inside_the_range_are_advised() {
        let buf = vec![0u8; 3 * HUGE_PAGE];
        let covered = advise_huge_pages(buf.as_ptr(), buf.len());
        // At least two whole pages lie in any 6 MiB range; the kernel may refuse (THP off).
        assert!(covered == 0 || covered >= 2 * HUGE_PAGE, "{covered}");
        assert!(covered <= 3 * HUGE_PAGE);
        assert_eq!(advise_huge_pages(buf.as_ptr(), HUGE_PAGE - 1), 0);
    }
}
