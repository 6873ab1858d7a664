//! The fast path process: DPDK ports and worker lcores around the ESP core (`esp`).
//! `setup` starts the process step by step, `worker` is the poll loop and what it does with
//! each packet, `control` is the control socket and the HA sync drain, `neighbour` resolves
//! next hops from the kernel's neighbour table, `report` prints the live counters. The pieces
//! that need no DPDK (configuration, framing, tables, the netlink parser) are testable on
//! their own.

pub mod config;
pub mod control;
pub mod ether;
pub mod latency;
pub mod metrics;
pub mod mtu;
pub mod neighbour;
pub mod report;
pub mod routing;
pub mod setup;
pub mod stats;
pub mod tables;
pub mod worker;
