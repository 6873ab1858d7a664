//! Shared pieces of the benchmarks: frame and pcap generation, statistics.

pub mod pcap;
