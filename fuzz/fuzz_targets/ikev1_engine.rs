//! The IKEv1 engine (`ike::v1::engine::V1Engine`) as a responder with a PSK connection, fed
//! arbitrary datagrams from arbitrary sources and then time (ikev1_responder.rs says how an
//! input is read: split at every `IKE!`, a selector octet first in each).
//!
//! The seeds (fuzz/tests/ikev1_engine_seeds.rs records them) are whole Main Modes and Quick
//! Modes of a real initiator, directly and behind a NAT, then a rekey and a delete: the
//! responder answers their clear half alike, and their encrypted messages reach decryption and
//! the HASH check (its D-H key comes from OpenSSL, so nothing past the HASH is reached).
//! Checked: no panic; every datagram sent fits in UDP; the SAs, IPsec SAs and inbound SPIs
//! stay in proportion to the datagrams; no half-done phase 1 is left an hour later; after
//! deleting every SA, no SA and no SPI is left.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "datagrams.rs"]
mod datagrams;
// The seed test (fuzz/tests/ikev1_engine_seeds.rs) uses the rest of it.
#[allow(dead_code)]
#[path = "ikev1_responder.rs"]
mod ikev1_responder;
#[path = "psk_conn.rs"]
mod psk_conn;

fuzz_target!(|data: &[u8]| {
    ikev1_responder::run(&datagrams::split(data));
});
