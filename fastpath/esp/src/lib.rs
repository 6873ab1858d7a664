//! The ESP data plane core (RFC 4303), with no I/O: it works on packet bytes with headroom
//! and tailroom, so that the DPDK layer only moves buffers, and so that every path here can be
//! tested and fuzzed without a NIC.
//!
//! - [`crypto`]: transforms (AES-GCM, AES-CBC + HMAC, NULL) behind per-lcore engines that take
//!   whole bursts, so that a multi-buffer backend (intel-ipsec-mb) can interleave packets.
//! - [`replay`]: the anti-replay window (RFC 6479 style) and ESN reconstruction (RFC 4303 A2.1).
//! - [`spd`] and [`sad`]: the security policy and security association databases (RFC 4301).
//! - [`wire`]: checked views of IPv4, IPv6, UDP and ESP headers that never panic.
//! - [`outbound`] and [`inbound`]: burst processing, ESP encapsulation and decapsulation.
//! - [`sa`] and [`ident`]: one SA's configuration and per-packet state, and the types that name it.
//! - [`snapshot`]: sequence-number snapshots for HA sync, and their coalescing drain.

#![forbid(unsafe_code)]

pub mod ab;
pub mod buf;
pub mod counters;
pub mod crypto;
pub mod ecn;
pub mod icmp;
pub mod ident;
pub mod inbound;
pub mod lcore;
pub mod outbound;
pub mod reassembly;
pub mod replay;
pub mod sa;
pub mod sad;
pub mod snapshot;
pub mod spd;
pub mod tunnel;
pub mod verdict;
pub mod wire;
