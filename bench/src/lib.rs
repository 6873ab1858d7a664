//! Shared pieces of the benchmarks: frame and pcap generation, statistics.

#![deny(unsafe_code)]

pub mod cpu_clock;
pub mod pcap;
pub mod rng;
pub mod spread;
pub mod sync_off;
