//! The fast path's FIB, without I/O: longest-prefix match for IPv4 (DIR-24-8: a 2^24 first
//! level and 256-entry groups past /24, one or two reads) and IPv6 (a 16-bit first level, then
//! 8-bit groups), next hops deduplicated and counted.
//!
//! One writer (`Fib`, the control thread) and any number of readers (`FibReader`, one per
//! worker). The tables are shared, never copied: the writer changes one entry at a time, only
//! in the changed prefix's range, and a reader sees each entry before or after, never torn.
//! Groups and next-hop slots the writer unlinks are reused only after every reader has called
//! `FibReader::quiescent` (once per burst), so a route change never waits for, nor stops, a
//! lookup. Everything readers touch is atomic: a reader that forgets to be quiescent only
//! delays reuse, it cannot read freed memory.

mod entry;
mod fib;
mod nexthop;
mod prefix;
mod rcu;
mod table;
mod update;

pub use fib::{Fib, FibConfig, FibReader, Memory, NO_ROUTE};
pub use nexthop::{NextHop, NextHopKind, NhId};
pub use prefix::Prefix;
pub use table::BATCH;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FibError {
    #[error("prefix length {0} is longer than the address")]
    PrefixLength(u8),
    #[error("no such route")]
    NotFound,
    #[error("the table's groups are all in use (raise the group count)")]
    GroupsExhausted,
    #[error("the next-hop table is full")]
    NextHopsExhausted,
}
