//! The phase 1 proof in both directions, apart from any exchange: HASH with a pre-shared
//! key, CERT and SIG with RSA and ECDSA keys, and each refusal counted as what it is.

use super::*;
use crate::config::PubKeyAuth;
use crate::crypto::auth::test_pki::{pki, VALID_AT};
use crate::tests::harness::{configs, esp_cbc, ike_cbc_modp1024};
use crate::v1::signature::dn_identification;
use crate::v1::wire;

const G_XI: [u8; 16] = [1; 16];
const G_XR: [u8; 16] = [2; 16];
const CKY_I: [u8; 8] = [3; 8];
const CKY_R: [u8; 8] = [4; 8];
const SAI_B: [u8; 12] = [5; 12];
const SKEYID: [u8; 20] = [6; 20];

fn proof<'a>(config: &'a IkeConfig, method: u16, skeyid: &'a [u8]) -> Phase1Proof<'a> {
    Phase1Proof {
        config,
        method,
        prf: Prf::HmacSha1,
        skeyid,
        transcript: Phase1Transcript {
            g_xi: &G_XI,
            g_xr: &G_XR,
            cky_i: &CKY_I,
            cky_r: &CKY_R,
            sai_b: &SAI_B,
        },
    }
}

/// A's and B's connections, A with `a_key` and B trusting the test root.
fn cert_pair(a_key: PubKeyAuth) -> (IkeConfig, IkeConfig) {
    let (mut a, mut b) = configs(ike_cbc_modp1024(), esp_cbc());
    let p = pki();
    a.local_id = Identity::dn(dn_identification(&a_key.cert_chain[0]).unwrap().data);
    a.auth = AuthConfig::PubKey(a_key);
    b.remote_id = None;
    b.auth = AuthConfig::PubKey(PubKeyAuth {
        private_key: p.rsa_key.clone(),
        cert_chain: vec![p.rsa.clone()],
        trust_anchors: vec![p.root.clone()],
    });
    (a, b)
}

/// A's MM5 payloads (ID first, then its proof) and its ID body.
fn initiator_message(a: &Phase1Proof<'_>) -> (Vec<Payload>, Vec<u8>) {
    let id = our_identification(a.config);
    let body = wire::identification_body(&id);
    let mut out = vec![Payload::Id(id)];
    out.extend(a.our_payloads(true, &body).unwrap());
    (out, body)
}

#[test]
fn psk_hash_proves_and_a_wrong_key_does_not() {
    let (a, b) = configs(ike_cbc_modp1024(), esp_cbc());
    let psk = auth_method::PRE_SHARED_KEY;
    let (msg, body) = initiator_message(&proof(&a, psk, &SKEYID));
    assert!(matches!(msg[1], Payload::Hash(_)));
    let peer = proof(&b, psk, &SKEYID)
        .check_peer(false, &msg, &body, 0)
        .unwrap();
    assert_eq!(peer, a.local_id);
    // HASH_I checked as if it were HASH_R: refused.
    let wrong_role = proof(&b, psk, &SKEYID).check_peer(true, &msg, &body, 0);
    assert!(matches!(wrong_role, Err(AuthError::BadHash)));
    let other = proof(&b, psk, &[9; 20]).check_peer(false, &msg, &body, 0);
    let e = other.unwrap_err();
    assert!(matches!(e, AuthError::BadHash));
    assert_eq!(e.drop_reason(), DropReason::BadIcv);
}

#[test]
fn rsa_and_ecdsa_signatures_prove_the_certificate_identity() {
    let p = pki();
    let keys = [
        (
            PubKeyAuth {
                private_key: p.rsa_key.clone(),
                cert_chain: vec![p.rsa.clone()],
                trust_anchors: vec![p.root.clone()],
            },
            auth_method::RSA_SIG,
        ),
        (
            PubKeyAuth {
                private_key: p.p256_key.clone(),
                cert_chain: vec![p.p256.clone(), p.inter.clone()],
                trust_anchors: vec![p.root.clone()],
            },
            auth_method::ECDSA_SHA256_P256,
        ),
    ];
    for (key, method) in keys {
        let certs = key.cert_chain.len();
        let (a, b) = cert_pair(key);
        let (msg, body) = initiator_message(&proof(&a, method, &SKEYID));
        // ID, a CERT per certificate of the chain, SIG.
        assert_eq!(msg.len(), 2 + certs);
        assert!(matches!(msg.last(), Some(Payload::Sig(_))));
        let peer = proof(&b, method, &SKEYID)
            .check_peer(false, &msg, &body, VALID_AT)
            .unwrap();
        assert_eq!(peer, a.local_id);
        // Another SKEYID: another HASH_I, which the signature does not cover.
        let e = proof(&b, method, &[9; 20])
            .check_peer(false, &msg, &body, VALID_AT)
            .unwrap_err();
        assert!(matches!(
            e,
            AuthError::Signature(SigAuthError::BadSignature)
        ));
        assert_eq!(e.drop_reason(), DropReason::BadIcv);
    }
}

#[test]
fn certificate_refusals_are_counted_apart() {
    let p = pki();
    let (a, mut b) = cert_pair(PubKeyAuth {
        private_key: p.rsa_key.clone(),
        cert_chain: vec![p.rsa.clone()],
        trust_anchors: vec![p.root.clone()],
    });
    let rsa = auth_method::RSA_SIG;
    let (msg, body) = initiator_message(&proof(&a, rsa, &SKEYID));
    // Without its CERT payload.
    let bare: Vec<Payload> = msg
        .iter()
        .filter(|p| !matches!(p, Payload::Cert { .. }))
        .cloned()
        .collect();
    let e = proof(&b, rsa, &SKEYID)
        .check_peer(false, &bare, &body, VALID_AT)
        .unwrap_err();
    assert!(matches!(
        e,
        AuthError::Signature(SigAuthError::NoCertificate)
    ));
    assert_eq!(e.drop_reason(), DropReason::AuthFailed);
    // Before the certificate's validity.
    let e = proof(&b, rsa, &SKEYID)
        .check_peer(false, &msg, &body, 0)
        .unwrap_err();
    assert_eq!(e.drop_reason(), DropReason::AuthFailed);
    // Authenticated, but not as the identity the connection wants.
    b.remote_id = Some(Identity::fqdn("someone-else.example.net"));
    let e = proof(&b, rsa, &SKEYID)
        .check_peer(false, &msg, &body, VALID_AT)
        .unwrap_err();
    assert!(matches!(e, AuthError::NotTheRemoteId));
    assert_eq!(e.drop_reason(), DropReason::NoConfig);
    // No ID payload at all.
    let e = proof(&b, rsa, &SKEYID)
        .check_peer(false, &msg[1..], &body, VALID_AT)
        .unwrap_err();
    assert_eq!(e.drop_reason(), DropReason::Malformed);
}

#[test]
fn the_method_must_fit_the_credentials() {
    let p = pki();
    let (psk_conn, _) = configs(ike_cbc_modp1024(), esp_cbc());
    let (cert_conn, _) = cert_pair(PubKeyAuth {
        private_key: p.rsa_key.clone(),
        cert_chain: vec![p.rsa.clone()],
        trust_anchors: vec![p.root.clone()],
    });
    let rsa = auth_method::RSA_SIG;
    let psk = auth_method::PRE_SHARED_KEY;
    for (conn, method) in [(&psk_conn, rsa), (&cert_conn, psk)] {
        let pr = proof(conn, method, &SKEYID);
        let e = pr.our_payloads(true, b"id").unwrap_err();
        assert!(matches!(e, AuthError::MethodDoesNotFit(m) if m == method));
        assert_eq!(e.drop_reason(), DropReason::AuthFailed);
        let s = skeyid(&conn.auth, method, Prf::HmacSha1, b"ni", b"nr", b"gxy");
        assert!(s.is_err());
    }
    // And SKEYID follows the method: the PSK's, or the D-H secret's (RFC 2409 5).
    let prf = Prf::HmacSha1;
    let AuthConfig::Psk(k) = &psk_conn.auth else {
        unreachable!()
    };
    let by_psk = skeyid(&psk_conn.auth, psk, prf, b"ni", b"nr", b"gxy").unwrap();
    assert_eq!(by_psk, keymat::skeyid_psk(prf, k, b"ni", b"nr").unwrap());
    let by_sig = skeyid(&cert_conn.auth, rsa, prf, b"ni", b"nr", b"gxy").unwrap();
    assert_eq!(
        by_sig,
        keymat::skeyid_sig(prf, b"ni", b"nr", b"gxy").unwrap()
    );
    assert_ne!(by_psk, by_sig);
}

#[test]
fn cert_requests_name_each_trusted_ca() {
    let p = pki();
    let (psk_conn, _) = configs(ike_cbc_modp1024(), esp_cbc());
    assert!(cert_requests(&psk_conn).unwrap().is_empty());
    let (cert_conn, _) = cert_pair(PubKeyAuth {
        private_key: p.rsa_key.clone(),
        cert_chain: vec![p.rsa.clone()],
        trust_anchors: vec![p.root.clone(), p.inter.clone()],
    });
    let crs = cert_requests(&cert_conn).unwrap();
    assert_eq!(crs.len(), 2);
    assert!(crs.iter().all(|c| matches!(c, Payload::CertReq { .. })));
}

/// A DN of `cn` under "C=CH, O=ipsec-gw test" with every string a PrintableString, as
/// strongSwan encodes the DN of an `id` setting.
fn printable_dn(cn: &str) -> Vec<u8> {
    use openssl::asn1::Asn1Type;
    use openssl::nid::Nid;
    let mut b = openssl::x509::X509NameBuilder::new().unwrap();
    for (nid, v) in [
        (Nid::ORGANIZATIONNAME, "ipsec-gw test"),
        (Nid::COMMONNAME, cn),
    ] {
        b.append_entry_by_nid_with_type(nid, v, Asn1Type::PRINTABLESTRING)
            .unwrap();
    }
    b.build().to_der().unwrap()
}

#[test]
fn a_dn_matches_the_remote_id_whatever_its_string_types() {
    let p = pki();
    let (mut a, mut b) = cert_pair(PubKeyAuth {
        private_key: p.rsa_key.clone(),
        cert_chain: vec![p.rsa.clone()],
        trust_anchors: vec![p.root.clone()],
    });
    // A's ID in strongSwan's encoding; B's remote-id as the certificate's subject.
    let cert_dn = a.local_id.clone();
    a.local_id = Identity::dn(printable_dn("gw-rsa"));
    assert_ne!(a.local_id, cert_dn);
    b.remote_id = Some(cert_dn);
    let rsa = auth_method::RSA_SIG;
    let (msg, body) = initiator_message(&proof(&a, rsa, &SKEYID));
    let peer = proof(&b, rsa, &SKEYID)
        .check_peer(false, &msg, &body, VALID_AT)
        .unwrap();
    assert_eq!(peer, a.local_id);
    // Another CN in the same encoding is another identity.
    b.remote_id = Some(Identity::dn(printable_dn("gw-other")));
    let e = proof(&b, rsa, &SKEYID).check_peer(false, &msg, &body, VALID_AT);
    assert!(matches!(e, Err(AuthError::NotTheRemoteId)));
}
