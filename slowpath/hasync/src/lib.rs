//! The HA sync protocol core: no I/O, time is an input.
//!
//! One [`SyncNode`] per node talks to the one peer node over several paths at once:
//! - [`crypto`]: one AES-256-GCM key per direction and boot, from the sync key by HKDF;
//! - [`wire`]: the datagram (clear header as AAD, encrypted frames) and its parsers;
//! - [`replay`]: the anti-replay window over the peer's datagram counter;
//! - [`record`]: the typed records and the record stream they are encoded into;
//! - [`queue`] and [`window`]: the bounded, coalescing send queue and the reliable delivery of
//!   the stream's chunks (acks, selective acks, retransmission with a bound);
//! - [`node`]: sessions, streams, liveness, bulk sync, events and status;
//! - [`ivgen`]: the IV generation allocator (invariant 3);
//! - [`crypto_group`]: the record of which member of a crypto group is active.

#![forbid(unsafe_code)]
pub mod config;
pub mod crypto;
pub mod crypto_group;
pub mod ivgen;
mod link;
pub mod node;
pub mod queue;
pub mod record;
pub mod replay;
pub mod status;
pub mod window;
pub mod wire;

#[cfg(test)]
mod tests;

pub use config::{ConfigError, NodeId, PathId, SyncConfig};
pub use crypto::SessionId;
pub use crypto_group::GroupActive;
pub use ivgen::{Exhausted, IvAllocator, IvGenerations};
pub use node::{BulkError, SyncNode};
pub use queue::Backpressure;
pub use record::{Record, RecordKey};
pub use status::{
    BulkStatus, Counters, PathStatus, PeerDownReason, PeerState, RejectCounters, RejectReason,
    SyncEvent, SyncStatus,
};
