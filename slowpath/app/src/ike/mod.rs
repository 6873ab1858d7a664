//! IKEv2 in the daemon: configuration, the engine driven over UDP, and the fast path programmed with its CHILD SAs.
pub mod config;
pub mod program;
pub mod runner;

pub use config::IkeSettings;
pub use runner::{IkeError, IkeRunner};
