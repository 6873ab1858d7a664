//! The peer told why its identity message was refused, once, with the half-made SA gone:
//! an untrusted CA and a signature by another key at MM5, an untrusted CA at MM6, a wrong
//! pre-shared key in Aggressive Mode (in clear). (A forged HASH under the keys stays silent:
//! `engine_tests`.)

use std::time::Duration;

use super::super::aggressive_mode::tests::aggressive;
use super::super::crypt;
use super::super::engine::V1Engine;
use super::super::engine_tests::signatures::{cert_configs, world_at};
use super::super::engine_tests::{pair_configs, Packet, World};
use super::super::wire::{self, exchange, notify_type, Payload};
use crate::action::DropReason;
use crate::config::{AuthConfig, IkeConfig};
use crate::crypto::auth::test_pki::{self, pki, VALID_AT};
use crate::tests::harness::{esp_cbc, A_ADDR};

/// An Informational seen on the wire: whether it was encrypted, and its notify type.
type Told = (bool, u16);

/// The notification of an Informational, read with the phase 1 keys and IV of `reader`'s
/// only SA when it is encrypted: (encrypted, notify type).
fn notification(reader: &V1Engine, bytes: &[u8]) -> Told {
    let h = wire::parse_header(bytes).unwrap();
    let body = &bytes[wire::HEADER_LEN..];
    let payloads = if h.is_encrypted() {
        let sa = reader.sa(reader.sa_ids()[0]).unwrap();
        let suite = sa.suite.as_ref().unwrap();
        let iv =
            crypt::exchange_iv(suite.prf, &sa.iv, h.message_id, suite.cipher.block_len()).unwrap();
        let (plain, _) = sa.open_with(&iv, body).unwrap();
        let chain = wire::unpadded(h.next_payload, &plain).unwrap();
        wire::parse_payloads(h.next_payload, chain).unwrap()
    } else {
        wire::parse_payloads(h.next_payload, body).unwrap()
    };
    let kind = payloads
        .iter()
        .find_map(|p| match p {
            Payload::Notify(n) => Some(n.kind),
            _ => None,
        })
        .unwrap();
    (h.is_encrypted(), kind)
}

fn is_informational(p: &Packet) -> bool {
    wire::parse_header(&p.bytes).is_ok_and(|h| h.exchange == exchange::INFORMATIONAL)
}

fn from_a(p: &Packet) -> bool {
    p.from == A_ADDR.parse().unwrap()
}

/// Runs the exchange, then the initiator's retransmissions: the notifications each side
/// sent, read by the other side's SA as it was when they arrived.
fn run_refused(w: &mut World) -> (Vec<Told>, Vec<Told>) {
    let (mut by_a, mut by_b) = (Vec::new(), Vec::new());
    w.initiate();
    for round in 0..4 {
        if round > 0 {
            w.advance(Duration::from_secs(3));
        }
        w.collect();
        for _ in 0..20 {
            for p in std::mem::take(&mut w.wire) {
                if is_informational(&p) {
                    if from_a(&p) {
                        by_a.push(notification(&w.b, &p.bytes));
                    } else {
                        by_b.push(notification(&w.a, &p.bytes));
                    }
                }
                w.deliver(p);
            }
            w.collect();
        }
    }
    (by_a, by_b)
}

fn untrusting(mut c: IkeConfig) -> IkeConfig {
    let stranger = test_pki::cert("Stranger", &pki().p256_key, None, true, &[]);
    if let AuthConfig::PubKey(p) = &mut c.auth {
        p.trust_anchors = vec![stranger];
    }
    c
}

#[test]
fn an_untrusted_ca_at_mm5_is_told_once_encrypted() {
    let (a, b) = cert_configs(false);
    let mut w = world_at(a, untrusting(b), VALID_AT);
    let (by_a, by_b) = run_refused(&mut w);
    // A's MM5 again on its timer names our cookie but finds no SA: nothing more is said.
    assert_eq!(by_b, vec![(true, notify_type::INVALID_CERT_AUTHORITY)]);
    assert!(by_a.is_empty());
    assert!(w.b.sa_ids().is_empty());
    assert_eq!(w.b.total_counters().dropped(DropReason::AuthFailed), 1);
    assert!(w.b.total_counters().dropped(DropReason::CookieNoSa) >= 1);
    assert_eq!((w.seen_a.up, w.seen_b.up), (0, 0));
}

#[test]
fn a_signature_by_another_key_is_told_as_invalid_signature() {
    let (mut a, b) = cert_configs(true);
    if let AuthConfig::PubKey(p) = &mut a.auth {
        p.private_key = test_pki::ec_key(openssl::nid::Nid::X9_62_PRIME256V1);
    }
    let mut w = world_at(a, b, VALID_AT);
    let (_, by_b) = run_refused(&mut w);
    assert_eq!(by_b, vec![(true, notify_type::INVALID_SIGNATURE)]);
    assert!(w.b.sa_ids().is_empty());
    assert_eq!(w.b.total_counters().dropped(DropReason::BadIcv), 1);
}

#[test]
fn an_untrusted_ca_at_mm6_is_told_by_the_initiator() {
    let (a, b) = cert_configs(false);
    let mut w = world_at(untrusting(a), b, VALID_AT);
    let (by_a, _) = run_refused(&mut w);
    assert_eq!(by_a, vec![(true, notify_type::INVALID_CERT_AUTHORITY)]);
    assert!(w.a.sa_ids().is_empty());
    assert_eq!(w.a.total_counters().dropped(DropReason::AuthFailed), 1);
    // B sent MM6 and holds its SA as up: the Delete beside the notification ends it.
    assert_eq!((w.seen_a.up, w.seen_b.up), (0, 1));
    assert!(w.b.sa_ids().is_empty());
}

#[test]
fn a_wrong_psk_in_aggressive_mode_is_told_in_clear() {
    let (a, mut b) = pair_configs(esp_cbc());
    b.auth = AuthConfig::psk(b"not the same secret");
    let mut w = World::new(aggressive(a), aggressive(b));
    let (by_a, _) = run_refused(&mut w);
    // A reads HASH_R in AM2: B's key is not A's.
    assert_eq!(by_a, vec![(false, notify_type::INVALID_HASH_INFORMATION)]);
    assert!(w.a.sa_ids().is_empty());
    assert_eq!(w.a.total_counters().dropped(DropReason::BadIcv), 1);
}
