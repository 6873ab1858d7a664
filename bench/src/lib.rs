//! Shared pieces of the benchmarks: frame and pcap generation, statistics.

#![forbid(unsafe_code)]

pub mod pcap;
pub mod rng;
