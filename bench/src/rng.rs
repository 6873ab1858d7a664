//! The benchmarks' reproducible generator (keys, SPIs, blobs, shuffles).

pub use toolkit::xorshift::Rng;
