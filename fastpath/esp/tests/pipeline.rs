//! Tests of the ESP pipeline (`encrypt_burst` / `decrypt_burst`) through the public API, with
//! a fake clock: round trips, bursts, anti-replay, every drop reason and its counters, dummy
//! packets, NAT-T classification, the outer header fields, the HA failover invariants of
//! DESIGN.md, and random input.

mod common;
#[path = "pipeline/util.rs"]
mod util;

#[path = "pipeline/burst.rs"]
mod burst;
#[path = "pipeline/drops.rs"]
mod drops;
#[path = "pipeline/fuzz.rs"]
mod fuzz;
#[path = "pipeline/ha.rs"]
mod ha;
#[path = "pipeline/headers.rs"]
mod headers;
#[path = "pipeline/replay.rs"]
mod replay;
#[path = "pipeline/roundtrip.rs"]
mod roundtrip;
