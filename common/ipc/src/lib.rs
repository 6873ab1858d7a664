//! The typed interface between the processes: what the slow path, the operator's CLIs and
//! the HA sync say to a fast path and to a slow path, and what they hear back. On the
//! control sockets it travels as JSON lines (`wire`); the same types are what the HA sync
//! carries between nodes. SAs and SPs cross as data (`SaSpec`, `SpSpec`), never as
//! configuration text to be parsed again, and key material is zeroized and never shown by
//! `Debug`.
// One function needs it: poll(2) (`server::wait_readable`).
#![deny(unsafe_code)]

pub mod client;
pub mod fastpath;
pub mod id;
pub mod key;
pub mod sa;
pub mod server;
pub mod slowpath;
pub mod sp;
pub mod statement;
pub mod wire;

pub use id::{PolicyId, SaId, SaTarget, MAX_SA_ID};
pub use key::KeyBytes;
pub use sa::{Direction, SaMode, SaSpec, Transform};
pub use sp::{PortRange, SpAction, SpSpec};
pub use wire::{CallError, VERSION};
