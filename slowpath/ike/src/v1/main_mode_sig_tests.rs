//! Main Mode with signatures between two engines in memory: RSA and ECDSA keys, CR with
//! the KE, CERT and SIG in the identity messages; a signature by another key, an untrusted
//! CA, an identity the certificate does not name, an expired certificate and a PSK peer
//! refused, counted, with no SA.

use super::*;
use crate::config::{Identity, PubKeyAuth};
use crate::crypto::auth::cert::subject_dn_der;
use crate::crypto::auth::test_pki::{self, pki, NOT_AFTER, VALID_AT};
use crate::v1::wire::{auth_method, Payload};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};

/// B's credentials: a key of A's kind, its certificate from the test root naming
/// b.example.net.
fn b_credentials(ecdsa: bool) -> PubKeyAuth {
    let p = pki();
    let key: PKey<Private> = if ecdsa {
        test_pki::ec_key(Nid::X9_62_PRIME256V1)
    } else {
        test_pki::rsa_key()
    };
    let cert = test_pki::cert(
        "gw-b",
        &key,
        Some((&p.root, &p.root_key)),
        false,
        &["b.example.net"],
    );
    PubKeyAuth {
        private_key: key,
        cert_chain: vec![cert],
        trust_anchors: vec![p.root.clone()],
    }
}

/// A's and B's IKEv1 connections authenticated by certificates: A's RSA one (its DN as
/// its identity) or its P-256 one under the intermediate (an FQDN); B's of the same kind.
pub(in crate::v1) fn cert_configs(ecdsa: bool) -> (IkeConfig, IkeConfig) {
    let (mut a, mut b) = configs(ike_cbc_modp1024(), esp_cbc());
    let p = pki();
    let (a_auth, a_id) = if ecdsa {
        let auth = PubKeyAuth {
            private_key: p.p256_key.clone(),
            cert_chain: vec![p.p256.clone(), p.inter.clone()],
            trust_anchors: vec![p.root.clone()],
        };
        (auth, Identity::fqdn("gw-ec.example.net"))
    } else {
        let auth = PubKeyAuth {
            private_key: p.rsa_key.clone(),
            cert_chain: vec![p.rsa.clone()],
            trust_anchors: vec![p.root.clone()],
        };
        (auth, Identity::dn(subject_dn_der(&p.rsa).unwrap()))
    };
    let b_id = Identity::fqdn("b.example.net");
    (a.local_id, a.remote_id) = (a_id.clone(), Some(b_id.clone()));
    (b.local_id, b.remote_id) = (b_id, Some(a_id));
    a.auth = AuthConfig::PubKey(a_auth);
    b.auth = AuthConfig::PubKey(b_credentials(ecdsa));
    (v1(a), v1(b))
}

/// Two engines whose clocks read `unix` seconds since 1970 at their start.
pub(in crate::v1) fn world_at(a: IkeConfig, b: IkeConfig, unix: i64) -> World {
    let mut w = World::new(a, b);
    let offset = unix - w.now.as_secs() as i64;
    w.a.set_unix_epoch_offset(offset);
    w.b.set_unix_epoch_offset(offset);
    w
}

/// The payload kinds of a clear Main Mode message (the encrypted ones: none).
pub(in crate::v1) fn clear_payloads(bytes: &[u8]) -> Vec<Payload> {
    let h = wire::parse_header(bytes).unwrap();
    if h.is_encrypted() {
        return Vec::new();
    }
    wire::parse_payloads(h.next_payload, &bytes[wire::HEADER_LEN..]).unwrap()
}

fn phase1_method(c: &IkeConfig) -> u16 {
    c.v1().unwrap().phase1[0].auth_method
}

#[test]
fn rsa_signatures_both_roles() {
    let (a, b) = cert_configs(false);
    assert_eq!(phase1_method(&a), auth_method::RSA_SIG);
    let (a_id, b_id) = (a.local_id.clone(), b.local_id.clone());
    let mut w = world_at(a, b, VALID_AT);
    w.initiate();
    // CR toward our CA rides with each side's KE (the third and fourth messages).
    let mut cert_requests = 0;
    w.run_with(|p| {
        cert_requests += clear_payloads(&p.bytes)
            .iter()
            .filter(|p| matches!(p, Payload::CertReq { .. }))
            .count();
        Some(p)
    });
    assert_eq!(cert_requests, 2);
    assert_eq!((w.seen_a.up, w.seen_b.up), (1, 1));
    assert_mirrored(&w.seen_a.children[0], &w.seen_b.children[0]);
    assert_eq!(w.a.status(w.now)[0].remote_id, Some(b_id));
    assert_eq!(w.b.status(w.now)[0].remote_id, Some(a_id));
    assert_eq!(w.a.total_counters().total_dropped(), 0);
    assert_eq!(w.b.total_counters().total_dropped(), 0);
}

#[test]
fn ecdsa_signatures_with_an_intermediate_the_other_way_round() {
    let (a, _) = cert_configs(true);
    assert_eq!(phase1_method(&a), auth_method::ECDSA_SHA256_P256);
    ecdsa_the_other_way_round(|c| c);
}

/// ECDSA, B initiating to A in the mode `mode` makes: A answers with its certificate and
/// the intermediate; both sides up with the IPsec SAs mirrored.
pub(in crate::v1) fn ecdsa_the_other_way_round(mode: fn(IkeConfig) -> IkeConfig) {
    let (a, mut b) = cert_configs(true);
    b.remote_addr = a.local_addr;
    b.name = "to-b".into();
    let mut w = world_at(mode(a), mode(b), VALID_AT);
    w.b.initiate(w.now, &mut w.rng, "to-b").unwrap();
    w.run();
    assert_eq!((w.seen_a.up, w.seen_b.up), (1, 1));
    assert_mirrored(&w.seen_b.children[0], &w.seen_a.children[0]);
    assert_eq!(
        w.b.status(w.now)[0].remote_id,
        Some(Identity::fqdn("gw-ec.example.net"))
    );
}

/// Runs the exchange to its end and past every timer: neither side holds an SA.
pub(in crate::v1) fn assert_no_sa(w: &mut World) {
    w.initiate();
    w.run();
    assert_eq!((w.seen_a.up, w.seen_b.up), (0, 0));
    for _ in 0..40 {
        w.advance(Duration::from_secs(2));
        w.run();
    }
    assert!(w.a.sa_ids().is_empty() && w.b.sa_ids().is_empty());
    assert!(w.seen_a.children.is_empty() && w.seen_b.children.is_empty());
}

#[test]
fn a_signature_by_another_key_is_refused() {
    let (mut a, b) = cert_configs(false);
    // A signs with a key that is not its certificate's.
    if let AuthConfig::PubKey(p) = &mut a.auth {
        p.private_key = test_pki::rsa_key();
    }
    let mut w = world_at(a, b, VALID_AT);
    assert_no_sa(&mut w);
    assert!(w.b.total_counters().dropped(DropReason::BadIcv) >= 1);
}

#[test]
fn an_untrusted_ca_is_refused() {
    let (a, mut b) = cert_configs(false);
    let stranger = test_pki::cert("Stranger", &pki().p256_key, None, true, &[]);
    if let AuthConfig::PubKey(p) = &mut b.auth {
        p.trust_anchors = vec![stranger];
    }
    let mut w = world_at(a, b, VALID_AT);
    assert_no_sa(&mut w);
    assert!(w.b.total_counters().dropped(DropReason::AuthFailed) >= 1);
}

#[test]
fn an_identity_the_certificate_does_not_name_is_refused() {
    let (mut a, mut b) = cert_configs(false);
    let claimed = Identity::fqdn("not-in-the-cert.example.net");
    a.local_id = claimed.clone();
    b.remote_id = Some(claimed);
    let mut w = world_at(a, b, VALID_AT);
    assert_no_sa(&mut w);
    assert!(w.b.total_counters().dropped(DropReason::AuthFailed) >= 1);
}

#[test]
fn another_certified_identity_than_the_conn_names_is_refused() {
    let (a, mut b) = cert_configs(true);
    // A proves gw-ec.example.net, but B's conn is for someone else: refused at MM5 with
    // INVALID_ID_INFORMATION.
    b.remote_id = Some(Identity::fqdn("other.example.net"));
    let mut w = world_at(a, b, VALID_AT);
    assert_no_sa(&mut w);
    assert!(w.b.total_counters().dropped(DropReason::IdMismatch) >= 1);
}

#[test]
fn expired_certificates_are_refused() {
    let (a, b) = cert_configs(true);
    let mut w = world_at(a, b, NOT_AFTER + 10);
    assert_no_sa(&mut w);
    assert!(w.b.total_counters().dropped(DropReason::AuthFailed) >= 1);
}

#[test]
fn a_psk_peer_finds_no_signature_conn() {
    let (_, b) = cert_configs(false);
    let (a, _) = pair_configs(esp_cbc());
    let mut w = world_at(a, b, VALID_AT);
    assert_no_sa(&mut w);
    // The methods differ in the phase 1 proposals: no transform is chosen.
    assert!(w.b.total_counters().dropped(DropReason::NoConfig) >= 1);
}
