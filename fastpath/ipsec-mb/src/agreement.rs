//! Whether an own code path agreed with the library, checked once per process.
//!
//! Our own paths read what the library prepared (round keys, hash-key powers) in the layout
//! its code path uses, which is the library's own business: each is compared with the
//! library once, off the packet path, before it is used.

use std::sync::OnceLock;

/// The outcome of one path's check, `None` until it has run.
pub(crate) struct Agreement(OnceLock<bool>);

impl Agreement {
    pub(crate) const fn new() -> Agreement {
        Agreement(OnceLock::new())
    }

    /// Whether the check ran and the path agreed.
    #[inline(always)]
    pub(crate) fn holds(&self) -> bool {
        self.0.get() == Some(&true)
    }

    /// Checks the first time only: the CPU must have the path and it must agree.
    pub(crate) fn check_once(&self, cpu_has: impl FnOnce() -> bool, agrees: impl FnOnce() -> bool) {
        self.0.get_or_init(|| cpu_has() && agrees());
    }
}
