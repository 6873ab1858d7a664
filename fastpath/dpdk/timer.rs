//! Time-stamp counter: `rte_rdtsc` and `rte_get_tsc_hz`.

/// Current TSC value (`rte_rdtsc`). Inlined `rdtsc` on x86-64, the C shim elsewhere.
#[inline(always)]
pub fn tsc() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: rdtsc is available on every x86-64 CPU and has no side effects.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        // SAFETY: reads the cycle counter; no preconditions.
        unsafe { crate::sys::shim_rte_rdtsc() }
    }
}

/// TSC frequency in Hz as measured by EAL (`rte_get_tsc_hz`); 0 before EAL is initialised.
pub fn tsc_hz() -> u64 {
    // SAFETY: reads a global set by rte_eal_init; harmless before it.
    unsafe { crate::sys::rte_get_tsc_hz() }
}

/// Converts a TSC delta into nanoseconds given `hz` (from [`tsc_hz`]); 0 if `hz` is 0.
pub fn cycles_to_ns(cycles: u64, hz: u64) -> u64 {
    if hz == 0 {
        return 0;
    }
    ((cycles as u128 * 1_000_000_000) / hz as u128) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_to_ns_works() {
        assert_eq!(cycles_to_ns(3_000, 3_000_000_000), 1_000);
        assert_eq!(cycles_to_ns(5, 0), 0);
        assert_eq!(cycles_to_ns(u64::MAX, 1_000_000_000), u64::MAX);
    }

    #[test]
    fn tsc_advances() {
        let a = tsc();
        let b = tsc();
        assert!(b >= a);
    }
}
