//! The fast path process: DPDK ports and worker lcores around the ESP core (`esp`).
//! The pieces that need no DPDK (configuration, framing, tables) are testable on their own.

pub mod config;
pub mod control;
pub mod ether;
pub mod latency;
pub mod mtu;
pub mod neighbour;
pub mod report;
pub mod setup;
pub mod stats;
pub mod tables;
pub mod worker;
