//! What the mirror did, readable from any thread while it runs.

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Live counters, bumped by the mirror thread.
        #[derive(Default, Debug)]
        pub struct Counters {
            $($(#[$doc])* pub $name: AtomicU64,)*
        }

        /// A copy of the counters at one instant.
        #[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
        pub struct Snapshot {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl Counters {
            pub fn snapshot(&self) -> Snapshot {
                Snapshot { $($name: self.$name.load(Ordering::Relaxed),)* }
            }
        }
    };
}

counters! {
    /// Routes written into the FIB (new or moved).
    routes_set,
    /// Routes removed from the FIB.
    routes_removed,
    /// Routes whose output interface is not one of the fast path's TAPs.
    skipped_foreign_interface,
    /// Local, broadcast, multicast and other non-unicast routes.
    skipped_not_unicast,
    /// Routes of another table.
    skipped_other_table,
    /// Cached clones, unusable destinations, routes without an interface.
    skipped_other,
    /// Changes the FIB refused (full tables).
    fib_errors,
    /// Neighbours published (new or with a new MAC).
    neighbours_set,
    /// Neighbours withdrawn (deleted, failed, or their TAP gone).
    neighbours_removed,
    /// Neighbours that found no free slot near their home.
    neighbours_full,
    /// Full resynchronisations from a dump completed: the first one, then one per overrun
    /// or TAP that came up.
    resyncs,
    /// Event messages lost by the kernel (ENOBUFS on the event socket).
    overruns,
    /// Event messages that did not parse.
    malformed,
    /// Errors reading the kernel's events or dumps; each is followed by a resync.
    follow_errors,
}

impl Counters {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
