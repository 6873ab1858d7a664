//! The kernel as the fast path's routing control plane: a thread subscribed to rtnetlink
//! mirrors the kernel's routes and neighbours through the fast path's exception TAPs into the
//! FIB and into a neighbour table that workers read without locks. An `ip route add`, or a
//! routing daemon writing to the kernel, reaches the FIB as one event, without polling.
//!
//! `translate` and `mirror` hold no I/O (messages in, FIB state out) and are tested with
//! crafted messages; `netlink` and `subscriber` own the sockets and the thread.

mod counters;
mod held;
mod mirror;
mod neighbours;
mod netlink;
mod nexthop;
mod subscriber;
mod translate;

pub use counters::{Counters, Snapshot};
pub use mirror::{Event, Mirror, MirrorConfig, Resync, MAIN_TABLE};
pub use neighbours::{NeighbourReader, Neighbours, NeighboursFull, PROBE};
pub use nexthop::KernelNextHop;
pub use subscriber::Subscriber;
pub use translate::{
    neighbour as parse_neighbour, Hop, KernelLink, KernelNeighbour, KernelRoute, Skipped,
};

#[cfg(test)]
mod tests;
