//! Interleaved A/B inside one process, for changes too small for two processes' throughput
//! to tell apart on a shared machine (their runs differ by ±15 % from one to the next).
//!
//! An experiment is a local, uncommitted edit of the form `if esp::ab::b(ID) { new } else {
//! old }`. With the `ab` feature, `fastpath --latency` run with `FP_AB=ID` alternates its
//! bursts between A (old) and B (new) and prints the time per burst of each: both see the
//! same host load, burst by burst, so the ratio of their medians is steady to about 0.1 %
//! (an A/A run, `FP_AB=0`, gives 1.000). `bench/ab_interleaved.sh` runs it on the bench's
//! cells. Without the feature `b` is a constant `false` and compiles away.

#[cfg(feature = "ab")]
use std::sync::atomic::{AtomicUsize, Ordering};

#[cfg(feature = "ab")]
static EXPERIMENT: AtomicUsize = AtomicUsize::new(usize::MAX);
#[cfg(feature = "ab")]
static VARIANT_B: AtomicUsize = AtomicUsize::new(0);

/// Whether experiment `id` runs its B variant in this burst.
#[inline(always)]
pub fn b(id: usize) -> bool {
    runs(id, true)
}

/// Whether experiment `id` runs its A variant in this burst: `if b(ID) || a(ID2)` runs the new
/// code in B bursts under ID and in A bursts under ID2, so that a bias of the alternation
/// itself (B always after A) cancels in the geometric mean of the two runs' ratios.
#[inline(always)]
pub fn a(id: usize) -> bool {
    runs(id, false)
}

/// Whether experiment `id` is the one started and this burst runs variant B (`b`) or A.
#[inline(always)]
fn runs(id: usize, b: bool) -> bool {
    #[cfg(feature = "ab")]
    {
        EXPERIMENT.load(Ordering::Relaxed) == id && (VARIANT_B.load(Ordering::Relaxed) == 1) == b
    }
    #[cfg(not(feature = "ab"))]
    {
        let _ = (id, b);
        false
    }
}

/// Selects the experiment (the process's one worker starts it).
#[cfg(feature = "ab")]
pub fn start(id: usize) {
    EXPERIMENT.store(id, Ordering::Relaxed);
}

/// Sets the variant of the bursts that follow: A (`false`) or B.
#[cfg(feature = "ab")]
#[inline(always)]
pub fn set_variant_b(on: bool) {
    VARIANT_B.store(on as usize, Ordering::Relaxed);
}

#[cfg(all(test, feature = "ab"))]
mod tests {
    use super::*;

    #[test]
    fn only_the_started_experiment_sees_its_b_variant() {
        start(3);
        set_variant_b(true);
        assert!(b(3) && !b(4) && !a(3));
        set_variant_b(false);
        assert!(!b(3) && a(3) && !a(4));
    }
}

#[cfg(all(test, not(feature = "ab")))]
mod tests {
    #[test]
    fn without_the_feature_there_is_only_a() {
        assert!(!super::b(0) && !super::b(1) && !super::a(0) && !super::a(1));
    }
}
