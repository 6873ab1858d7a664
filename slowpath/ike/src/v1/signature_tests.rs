//! Signature authentication checked against strongSwan's Main Modes (RSA and ECDSA) and by
//! round trips over the in-memory PKI of the IKEv2 tests.

use super::*;
use crate::crypto::auth::test_pki::{self, pki, NOT_AFTER, NOT_BEFORE, VALID_AT};
use crate::v1::crypt::PayloadCipher;
use crate::v1::vectors_tests::{only_transform, open, sections, Case};
use crate::v1::wire::{payload_type, Phase1Transform};
use openssl::rsa::Padding;

/// One captured Main Mode with signatures: what MM5 and MM6 carry and the hashes they sign.
struct Captured {
    method: u16,
    ca: X509,
    at: i64,
    /// (payloads, HASH_I) of MM5 and (payloads, HASH_R) of MM6.
    mm5: (Vec<Payload>, Vec<u8>),
    mm6: (Vec<Payload>, Vec<u8>),
    /// The CR payloads of MM1..MM4, as strongSwan sent them.
    cert_requests: Vec<Payload>,
}

/// Decrypts MM5 and MM6 of a `[name]` case.
fn captured(name: &str) -> Captured {
    let c = Case(sections()[name].clone());
    let plain = PayloadCipher::Aes128Cbc;
    let clear: Vec<_> = ["mm1", "mm2", "mm3", "mm4"]
        .iter()
        .map(|m| open(&c.hex(m), &[], plain, &[]))
        .collect();
    let chosen =
        Phase1Transform::from_transform(&only_transform(&clear[1].raw(payload_type::SA))).unwrap();
    let cipher = PayloadCipher::from_phase1(chosen.encryption, chosen.key_bits).unwrap();
    // The key, IV and hashes charon logged: vectors_tests derives each from the messages.
    let key = c.hex("enc_key");
    let mm5 = open(&c.hex("mm5"), &key, cipher, &c.hex("initial_iv"));
    let mm6 = open(&c.hex("mm6"), &key, cipher, &mm5.next_iv);
    let (h_i, h_r) = (c.hex("hash_i"), c.hex("hash_r"));
    Captured {
        method: chosen.auth_method,
        ca: X509::from_der(&c.hex("ca")).unwrap(),
        at: c.0["captured_at"].parse().unwrap(),
        mm5: (mm5.payloads(), h_i),
        mm6: (mm6.payloads(), h_r),
        cert_requests: clear
            .iter()
            .flat_map(|m| m.payloads())
            .filter(|p| matches!(p, Payload::CertReq { .. }))
            .collect(),
    }
}

fn id_of(payloads: &[Payload]) -> Identification {
    payloads
        .iter()
        .find_map(|p| match p {
            Payload::Id(id) => Some(id.clone()),
            _ => None,
        })
        .unwrap()
}

fn with_flipped_sig(payloads: &[Payload]) -> Vec<Payload> {
    payloads
        .iter()
        .map(|p| match p {
            Payload::Sig(s) => {
                let mut s = s.clone();
                s[7] ^= 0x10;
                Payload::Sig(s)
            }
            other => other.clone(),
        })
        .collect()
}

/// Both of strongSwan's signatures verify with the certificates it sent, and a flipped bit
/// in the signature or in the hash fails.
fn check_captured(name: &str, method: u16) {
    let cap = captured(name);
    assert_eq!(cap.method, method, "{name}: auth method");
    let anchors = [cap.ca.clone()];
    for (who, (payloads, hash)) in [("MM5", &cap.mm5), ("MM6", &cap.mm6)] {
        let id = id_of(payloads);
        assert_eq!(id.id_type, id_type::DER_ASN1_DN, "{name} {who}");
        let proof = PeerProof::from_payloads(payloads).unwrap();
        let leaf = verify_peer(method, &id, &proof, hash, &anchors, cap.at)
            .unwrap_or_else(|e| panic!("{name} {who}: {e}"));
        // strongSwan's ID DN is a PrintableString, OpenSSL's subject a UTF8String: the
        // names still match.
        assert_ne!(subject_dn_der(&leaf).unwrap(), id.data);
        assert_eq!(
            Some(leaf.to_der().unwrap()),
            proof.x509_ders().next().map(<[u8]>::to_vec)
        );

        let flipped = with_flipped_sig(payloads);
        let proof = PeerProof::from_payloads(&flipped).unwrap();
        let err = verify_peer(method, &id, &proof, hash, &anchors, cap.at).unwrap_err();
        assert!(
            matches!(err, SigAuthError::BadSignature),
            "{name} {who}: {err}"
        );

        let mut wrong_hash = hash.clone();
        wrong_hash[0] ^= 1;
        let proof = PeerProof::from_payloads(payloads).unwrap();
        let err = verify_peer(method, &id, &proof, &wrong_hash, &anchors, cap.at).unwrap_err();
        assert!(
            matches!(err, SigAuthError::BadSignature),
            "{name} {who}: {err}"
        );
    }
    // The responder's hash does not verify the initiator's signature.
    let proof = PeerProof::from_payloads(&cap.mm5.0).unwrap();
    let id = id_of(&cap.mm5.0);
    assert!(verify_peer(method, &id, &proof, &cap.mm6.1, &anchors, cap.at).is_err());
}

#[test]
fn strongswan_rsa_signatures_verify() {
    check_captured("sig", auth_method::RSA_SIG);
}

#[test]
fn strongswan_ecdsa_signatures_verify() {
    check_captured("ecdsa", auth_method::ECDSA_SHA256_P256);
}

#[test]
fn strongswan_rsa_signature_is_pkcs1_over_the_bare_hash() {
    // Undoing the padding of strongSwan's SIG yields HASH_I itself, no DigestInfo.
    let cap = captured("sig");
    let proof = PeerProof::from_payloads(&cap.mm5.0).unwrap();
    let leaf = X509::from_der(proof.x509_ders().next().unwrap()).unwrap();
    let rsa = leaf.public_key().unwrap().rsa().unwrap();
    let mut out = vec![0; rsa.size() as usize];
    let n = rsa
        .public_decrypt(proof.sig, &mut out, Padding::PKCS1)
        .unwrap();
    assert_eq!(out[..n], cap.mm5.1[..]);
}

#[test]
fn our_cert_requests_are_the_ones_strongswan_sends() {
    for name in ["sig", "ecdsa"] {
        let cap = captured(name);
        assert!(
            !cap.cert_requests.is_empty(),
            "{name}: strongSwan sent no CR"
        );
        let ours = cert_request_payloads(std::slice::from_ref(&cap.ca)).unwrap();
        for cr in &cap.cert_requests {
            assert_eq!(cr, &ours[0], "{name}");
        }
    }
}

#[test]
fn strongswan_certificates_refused_outside_validity_or_without_the_ca() {
    let cap = captured("ecdsa");
    let (payloads, hash) = &cap.mm5;
    let (id, proof) = (id_of(payloads), PeerProof::from_payloads(payloads).unwrap());
    let later = cap.at + 3 * 86_400;
    let err = verify_peer(
        cap.method,
        &id,
        &proof,
        hash,
        std::slice::from_ref(&cap.ca),
        later,
    )
    .unwrap_err();
    assert!(matches!(err, SigAuthError::CertificateExpired), "{err}");
    let other = test_pki::cert("vector CA", &test_pki::rsa_key(), None, true, &[]);
    let err = verify_peer(cap.method, &id, &proof, hash, &[other], cap.at).unwrap_err();
    assert!(
        matches!(err, SigAuthError::UntrustedCertificate(_)),
        "{err}"
    );
}

/// A P-384 end entity under the test root, for method 10.
fn p384_cert() -> X509 {
    let p = pki();
    test_pki::cert(
        "gw-p384",
        &p.p384_key,
        Some((&p.root, &p.root_key)),
        false,
        &["gw-p384.example.net"],
    )
}

fn fqdn(name: &str) -> Identification {
    Identification {
        id_type: id_type::FQDN,
        protocol: 0,
        port: 0,
        data: name.as_bytes().to_vec(),
    }
}

/// Signs `hash` with `key`, sends `chain` as CERT payloads with the SIG, and verifies.
fn round_trip(
    key: &PKey<Private>,
    chain: (&X509, &[X509]),
    id: &Identification,
    anchors: &[X509],
    at: i64,
) -> Result<X509> {
    let method = method_for_key(key).unwrap();
    let hash = [0x5au8; 32];
    let mut payloads = cert_payloads(chain.0, chain.1).unwrap();
    payloads.push(Payload::Id(id.clone()));
    payloads.push(Payload::Sig(sign_hash(method, key, &hash).unwrap()));
    let proof = PeerProof::from_payloads(&payloads).unwrap();
    verify_peer(method, id, &proof, &hash, anchors, at)
}

#[test]
fn sign_then_verify_rsa_p256_p384() {
    let p = pki();
    let roots = [p.root.clone()];
    let rsa_id = dn_identification(&p.rsa).unwrap();
    round_trip(&p.rsa_key, (&p.rsa, &[]), &rsa_id, &roots, VALID_AT).unwrap();
    // P-256 under the intermediate, which travels as a second CERT payload.
    let inter = std::slice::from_ref(&p.inter);
    let ec_id = fqdn("gw-ec.example.net");
    round_trip(&p.p256_key, (&p.p256, inter), &ec_id, &roots, VALID_AT).unwrap();
    let leaf = p384_cert();
    let id = fqdn("gw-p384.example.net");
    round_trip(&p.p384_key, (&leaf, &[]), &id, &roots, VALID_AT).unwrap();
}

#[test]
fn signature_sizes_follow_the_method() {
    let p = pki();
    let hash = [7u8; 20];
    let rsa = sign_hash(auth_method::RSA_SIG, &p.rsa_key, &hash).unwrap();
    assert_eq!(rsa.len(), 256);
    let p256 = sign_hash(auth_method::ECDSA_SHA256_P256, &p.p256_key, &hash).unwrap();
    assert_eq!(p256.len(), 64);
    let p384 = sign_hash(auth_method::ECDSA_SHA384_P384, &p.p384_key, &hash).unwrap();
    assert_eq!(p384.len(), 96);
    let p521 = sign_hash(auth_method::ECDSA_SHA512_P521, &p.p521_key, &hash).unwrap();
    assert_eq!(p521.len(), 132);
    // A truncated ECDSA signature is refused before any arithmetic.
    let key = PKey::public_key_from_der(&p.p256_key.public_key_to_der().unwrap()).unwrap();
    let err = verify_hash(auth_method::ECDSA_SHA256_P256, &key, &hash, &p256[..63]).unwrap_err();
    assert!(matches!(err, SigAuthError::BadSignature));
    verify_hash(auth_method::ECDSA_SHA256_P256, &key, &hash, &p256).unwrap();
}

#[test]
fn methods_follow_the_key() {
    let p = pki();
    assert_eq!(method_for_key(&p.rsa_key), Some(auth_method::RSA_SIG));
    assert_eq!(
        method_for_key(&p.p256_key),
        Some(auth_method::ECDSA_SHA256_P256)
    );
    assert_eq!(
        method_for_key(&p.p384_key),
        Some(auth_method::ECDSA_SHA384_P384)
    );
    assert_eq!(
        method_for_key(&p.p521_key),
        Some(auth_method::ECDSA_SHA512_P521)
    );
    assert_eq!(method_for_key(&p.ed_key), None);
    assert!(!is_signature_method(auth_method::PRE_SHARED_KEY));
    assert!(!is_signature_method(auth_method::DSS_SIG));
    // A key that does not fit the method, on either side.
    let hash = [1u8; 32];
    for (method, key) in [
        (auth_method::ECDSA_SHA256_P256, &p.rsa_key),
        (auth_method::ECDSA_SHA384_P384, &p.p256_key),
        (auth_method::RSA_SIG, &p.p256_key),
    ] {
        let err = sign_hash(method, key, &hash).unwrap_err();
        assert!(matches!(err, SigAuthError::KeyDoesNotFitMethod(m) if m == method));
    }
    let err = sign_hash(auth_method::PRE_SHARED_KEY, &p.rsa_key, &hash).unwrap_err();
    assert!(matches!(err, SigAuthError::NotSignatureMethod(1)));
    // The peer proposed ECDSA but its certificate holds an RSA key.
    let sig = sign_hash(auth_method::RSA_SIG, &p.rsa_key, &hash).unwrap();
    let mut payloads = cert_payloads(&p.rsa, &[]).unwrap();
    payloads.push(Payload::Sig(sig));
    let proof = PeerProof::from_payloads(&payloads).unwrap();
    let id = dn_identification(&p.rsa).unwrap();
    let roots = [p.root.clone()];
    let err = verify_peer(
        auth_method::ECDSA_SHA256_P256,
        &id,
        &proof,
        &hash,
        &roots,
        VALID_AT,
    )
    .unwrap_err();
    assert!(matches!(err, SigAuthError::KeyDoesNotFitMethod(9)));
}

#[test]
fn identities_match_subject_and_alt_names() {
    let p = pki();
    let roots = [p.root.clone()];
    let id = |id_type, data: &[u8]| Identification {
        id_type,
        protocol: 17,
        port: 500,
        data: data.to_vec(),
    };
    for good in [
        id(id_type::IPV4_ADDR, &[192, 0, 2, 1]),
        id(
            id_type::IPV6_ADDR,
            &"2001:db8::1"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
        ),
        id(id_type::FQDN, b"GW-RSA.example.net"),
        id(id_type::USER_FQDN, b"vpn@example.net"),
        dn_identification(&p.rsa).unwrap(),
    ] {
        round_trip(&p.rsa_key, (&p.rsa, &[]), &good, &roots, VALID_AT)
            .unwrap_or_else(|e| panic!("ID type {}: {e}", good.id_type));
    }
    for bad in [
        id(id_type::IPV4_ADDR, &[192, 0, 2, 2]),
        id(id_type::FQDN, b"gw-ec.example.net"),
        id(id_type::USER_FQDN, b"other@example.net"),
        dn_identification(&p.p256).unwrap(),
        id(id_type::KEY_ID, b"gw-rsa"),
    ] {
        let err = round_trip(&p.rsa_key, (&p.rsa, &[]), &bad, &roots, VALID_AT).unwrap_err();
        assert!(
            matches!(err, SigAuthError::IdentityMismatch(t) if t == bad.id_type),
            "{err}"
        );
        assert_eq!(err.notify_type(), notify_type::INVALID_ID_INFORMATION);
    }
}

#[test]
fn untrusted_expired_and_future_certificates_refused_distinctly() {
    let p = pki();
    let id = dn_identification(&p.rsa).unwrap();
    let roots = [p.root.clone()];
    let chain = (&p.rsa, &[][..]);
    // Another root under the same name.
    let other = test_pki::cert("Test Root CA", &test_pki::rsa_key(), None, true, &[]);
    let untrusted = round_trip(&p.rsa_key, chain, &id, &[other], VALID_AT).unwrap_err();
    assert!(matches!(untrusted, SigAuthError::UntrustedCertificate(_)));
    assert_eq!(untrusted.notify_type(), notify_type::INVALID_CERT_AUTHORITY);
    let expired = round_trip(&p.rsa_key, chain, &id, &roots, NOT_AFTER + 1).unwrap_err();
    assert!(matches!(expired, SigAuthError::CertificateExpired));
    assert_eq!(expired.notify_type(), notify_type::INVALID_CERTIFICATE);
    let early = round_trip(&p.rsa_key, chain, &id, &roots, NOT_BEFORE - 1).unwrap_err();
    assert!(matches!(early, SigAuthError::CertificateNotYetValid));
    // The intermediate is needed to reach the root.
    let ec_id = fqdn("gw-ec.example.net");
    let err = round_trip(&p.p256_key, (&p.p256, &[]), &ec_id, &roots, VALID_AT).unwrap_err();
    assert!(matches!(err, SigAuthError::UntrustedCertificate(_)));
    // A certificate for certificate signing only (a CA's KeyUsage) under the trusted root.
    let ca_only = test_pki::cert(
        "gw-ca-only",
        &p.p384_key,
        Some((&p.root, &p.root_key)),
        true,
        &["gw-ca-only.example.net"],
    );
    let id = fqdn("gw-ca-only.example.net");
    let usage = round_trip(&p.p384_key, (&ca_only, &[]), &id, &roots, VALID_AT).unwrap_err();
    assert!(
        matches!(usage, SigAuthError::KeyUsageForbidsSigning),
        "{usage}"
    );
    let names: std::collections::HashSet<_> = [untrusted, expired, early, usage]
        .iter()
        .map(SigAuthError::counter_name)
        .collect();
    assert_eq!(names.len(), 4);
}

#[test]
fn missing_or_malformed_payloads_refused() {
    let p = pki();
    let hash = [3u8; 32];
    let roots = [p.root.clone()];
    let id = dn_identification(&p.rsa).unwrap();
    let err = PeerProof::from_payloads(&cert_payloads(&p.rsa, &[]).unwrap()).unwrap_err();
    assert!(matches!(err, SigAuthError::NoSignature));
    let sig = sign_hash(auth_method::RSA_SIG, &p.rsa_key, &hash).unwrap();
    // No CERT, or one in an encoding we do not read.
    let pkcs7 = Payload::Cert {
        encoding: cert_encoding::PKCS7_WRAPPED_X509,
        data: p.rsa.to_der().unwrap(),
    };
    for certs in [vec![], vec![pkcs7]] {
        let payloads = [certs, vec![Payload::Sig(sig.clone())]].concat();
        let proof = PeerProof::from_payloads(&payloads).unwrap();
        let err = verify_peer(3, &id, &proof, &hash, &roots, VALID_AT).unwrap_err();
        assert!(matches!(err, SigAuthError::NoCertificate), "{err}");
    }
    let mut der = p.rsa.to_der().unwrap();
    der.truncate(der.len() / 2);
    let payloads = [
        Payload::Cert {
            encoding: cert_encoding::X509_SIGNATURE,
            data: der,
        },
        Payload::Sig(sig.clone()),
    ];
    let proof = PeerProof::from_payloads(&payloads).unwrap();
    let err = verify_peer(3, &id, &proof, &hash, &roots, VALID_AT).unwrap_err();
    assert!(matches!(err, SigAuthError::MalformedCertificate));
    // A PSK-authenticated SA never gets here.
    let payloads = [cert_payloads(&p.rsa, &[]).unwrap(), vec![Payload::Sig(sig)]].concat();
    let proof = PeerProof::from_payloads(&payloads).unwrap();
    let err = verify_peer(1, &id, &proof, &hash, &roots, VALID_AT).unwrap_err();
    assert!(matches!(err, SigAuthError::NotSignatureMethod(1)));
}

#[test]
fn cert_and_cr_payloads_round_trip_through_the_codec() {
    let p = pki();
    let mut payloads = cert_payloads(&p.p256, std::slice::from_ref(&p.inter)).unwrap();
    payloads.extend(cert_request_payloads(&[p.root.clone(), p.inter.clone()]).unwrap());
    let (first, body) = crate::v1::wire::encode_payloads(&payloads).unwrap();
    let back = crate::v1::wire::parse_payloads(first, &body).unwrap();
    assert_eq!(back, payloads);
    let Payload::CertReq { data, .. } = &back[2] else {
        panic!("no CR")
    };
    assert_eq!(*data, p.root.subject_name().to_der().unwrap());
}
