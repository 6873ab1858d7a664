//! Signature AUTH tests: every method both ways, tampering, key/method mismatches,
//! malformed AUTH data, and the RFC 7427 AlgorithmIdentifiers checked against OpenSSL's
//! own OID encoding.

use super::*;
use crate::crypto::auth::scheme::*;
use crate::crypto::auth::test_pki::pki;
use crate::crypto::auth::{cert, AUTH_SHARED_KEY_MIC};
use openssl::asn1::Asn1Object;

const OCTETS: &[u8] = b"RealMessage1 | NonceRData | prf(SK_pi, IDi')";

fn public(key: &PKey<Private>) -> PKey<Public> {
    PKey::public_key_from_der(&key.public_key_to_der().unwrap()).unwrap()
}

/// Signs and verifies, then checks that changed octets or a changed signature fail.
fn both_ways(method: u8, pubkey: &PKey<Public>, auth: &[u8]) {
    verify(method, pubkey, OCTETS, auth).unwrap();
    let mut octets = OCTETS.to_vec();
    octets[0] ^= 1;
    assert!(matches!(
        verify(method, pubkey, &octets, auth),
        Err(CryptoError::AuthenticationFailed)
    ));
    for i in [auth.len() / 2, auth.len() - 1] {
        let mut bad = auth.to_vec();
        bad[i] ^= 0x04;
        assert!(verify(method, pubkey, OCTETS, &bad).is_err(), "byte {i}");
    }
    assert!(verify(method, pubkey, OCTETS, &auth[..auth.len() - 1]).is_err());
}

#[test]
fn rsa_sig_method_1() {
    let p = pki();
    let auth = sign(AUTH_RSA_SIG, &p.rsa_key, OCTETS).unwrap();
    assert_eq!(auth.len(), 256);
    // The peer's key as taken from its certificate.
    both_ways(AUTH_RSA_SIG, &cert::public_key(&p.rsa).unwrap(), &auth);
    assert!(verify(AUTH_RSA_SIG, &public(&p.root_key), OCTETS, &auth).is_err());
}

#[test]
fn ecdsa_methods_9_10_11() {
    let p = pki();
    for (method, key, len) in [
        (AUTH_ECDSA_SHA256_P256, &p.p256_key, 64),
        (AUTH_ECDSA_SHA384_P384, &p.p384_key, 96),
        (AUTH_ECDSA_SHA512_P521, &p.p521_key, 132),
    ] {
        let auth = sign(method, key, OCTETS).unwrap();
        assert_eq!(auth.len(), len, "method {method}");
        both_ways(method, &public(key), &auth);
    }
    let auth = sign(AUTH_ECDSA_SHA256_P256, &p.p256_key, OCTETS).unwrap();
    both_ways(
        AUTH_ECDSA_SHA256_P256,
        &cert::public_key(&p.p256).unwrap(),
        &auth,
    );
}

#[test]
fn digital_signature_method_14_every_scheme() {
    let p = pki();
    let cases: [(SigScheme, &PKey<Private>); 10] = [
        (SigScheme::RsaPkcs1(SigHash::Sha256), &p.rsa_key),
        (SigScheme::RsaPkcs1(SigHash::Sha384), &p.rsa_key),
        (SigScheme::RsaPkcs1(SigHash::Sha512), &p.rsa_key),
        (SigScheme::RsaPss(SigHash::Sha256), &p.rsa_key),
        (SigScheme::RsaPss(SigHash::Sha384), &p.rsa_key),
        (SigScheme::RsaPss(SigHash::Sha512), &p.rsa_key),
        (SigScheme::Ecdsa(SigHash::Sha256), &p.p256_key),
        (SigScheme::Ecdsa(SigHash::Sha384), &p.p384_key),
        (SigScheme::Ecdsa(SigHash::Sha512), &p.p521_key),
        (SigScheme::Ed25519, &p.ed_key),
    ];
    for (scheme, key) in cases {
        let auth = sign_digital_signature(scheme, key, OCTETS).unwrap();
        let alg = scheme.algorithm_identifier().unwrap();
        assert_eq!(usize::from(auth[0]), alg.len());
        assert_eq!(&auth[1..1 + alg.len()], alg);
        both_ways(AUTH_DIGITAL_SIGNATURE, &public(key), &auth);
    }
    // sign() with method 14 picks a scheme from the key.
    for key in [&p.rsa_key, &p.p256_key, &p.p384_key, &p.ed_key] {
        let auth = sign(AUTH_DIGITAL_SIGNATURE, key, OCTETS).unwrap();
        verify(AUTH_DIGITAL_SIGNATURE, &public(key), OCTETS, &auth).unwrap();
    }
}

#[test]
fn key_and_method_must_fit() {
    let p = pki();
    let bad_auth = |r: Result<Vec<u8>>| matches!(r, Err(CryptoError::BadAuth(_)));
    assert!(bad_auth(sign(AUTH_ECDSA_SHA256_P256, &p.rsa_key, OCTETS)));
    assert!(bad_auth(sign(AUTH_ECDSA_SHA256_P256, &p.p384_key, OCTETS)));
    assert!(bad_auth(sign(AUTH_RSA_SIG, &p.p256_key, OCTETS)));
    assert!(bad_auth(sign(AUTH_SHARED_KEY_MIC, &p.rsa_key, OCTETS)));
    assert!(bad_auth(sign(3, &p.rsa_key, OCTETS))); // DSS
    assert!(bad_auth(sign_digital_signature(
        SigScheme::Ecdsa(SigHash::Sha256),
        &p.rsa_key,
        OCTETS
    )));

    let rsa_auth = sign(AUTH_RSA_SIG, &p.rsa_key, OCTETS).unwrap();
    assert!(matches!(
        verify(AUTH_RSA_SIG, &public(&p.p256_key), OCTETS, &rsa_auth),
        Err(CryptoError::BadAuth(_))
    ));
    let ec_auth = sign(AUTH_ECDSA_SHA256_P256, &p.p256_key, OCTETS).unwrap();
    assert!(verify(
        AUTH_ECDSA_SHA384_P384,
        &public(&p.p256_key),
        OCTETS,
        &ec_auth
    )
    .is_err());
    // An ECDSA AlgorithmIdentifier with an RSA key.
    let auth =
        sign_digital_signature(SigScheme::Ecdsa(SigHash::Sha256), &p.p256_key, OCTETS).unwrap();
    assert!(matches!(
        verify(AUTH_DIGITAL_SIGNATURE, &public(&p.rsa_key), OCTETS, &auth),
        Err(CryptoError::BadAuth(_))
    ));
}

#[test]
fn malformed_method_14_data() {
    let p = pki();
    let key = public(&p.rsa_key);
    let v = |data: &[u8]| verify(AUTH_DIGITAL_SIGNATURE, &key, OCTETS, data);
    assert!(matches!(v(&[]), Err(CryptoError::BadAuth(_))));
    assert!(matches!(v(&[15]), Err(CryptoError::BadAuth(_))));
    assert!(matches!(
        v(&[200, 0x30, 0x0d]),
        Err(CryptoError::BadAuth(_))
    ));
    // An AlgorithmIdentifier we do not know (md5WithRSAEncryption).
    let md5 = [
        11u8, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x04, 0x05,
        0x00,
    ];
    assert!(matches!(v(&md5), Err(CryptoError::BadAuth(_))));
    // Known algorithm, garbage or empty signature.
    let mut data = vec![15u8];
    data.extend_from_slice(
        SigScheme::RsaPkcs1(SigHash::Sha256)
            .algorithm_identifier()
            .unwrap(),
    );
    assert!(matches!(v(&data), Err(CryptoError::AuthenticationFailed)));
    data.extend_from_slice(&[0x55; 256]);
    assert!(matches!(v(&data), Err(CryptoError::AuthenticationFailed)));
    // Raw r | s of the wrong size.
    let ec = public(&p.p256_key);
    assert!(matches!(
        verify(AUTH_ECDSA_SHA256_P256, &ec, OCTETS, &[1; 63]),
        Err(CryptoError::AuthenticationFailed)
    ));
    assert!(verify(AUTH_ECDSA_SHA256_P256, &ec, OCTETS, &[0; 64]).is_err());
}

/// SEQUENCE { OID [, NULL] } built from OpenSSL's encoding of the dotted OID.
fn alg_id(dotted: &str, null_params: bool) -> Vec<u8> {
    let oid = Asn1Object::from_str(dotted).unwrap();
    let oid = oid.as_slice();
    let mut inner = vec![0x06, oid.len() as u8];
    inner.extend_from_slice(oid);
    if null_params {
        inner.extend_from_slice(&[0x05, 0x00]);
    }
    let mut out = vec![0x30, inner.len() as u8];
    out.extend_from_slice(&inner);
    out
}

#[test]
fn algorithm_identifiers_match_their_oids() {
    let rsa = "1.2.840.113549.1.1.";
    let ec = "1.2.840.10045.4.";
    for (scheme, der) in [
        (
            SigScheme::RsaPkcs1(SigHash::Sha1),
            alg_id(&format!("{rsa}5"), true),
        ),
        (
            SigScheme::RsaPkcs1(SigHash::Sha256),
            alg_id(&format!("{rsa}11"), true),
        ),
        (
            SigScheme::RsaPkcs1(SigHash::Sha384),
            alg_id(&format!("{rsa}12"), true),
        ),
        (
            SigScheme::RsaPkcs1(SigHash::Sha512),
            alg_id(&format!("{rsa}13"), true),
        ),
        (
            SigScheme::Ecdsa(SigHash::Sha1),
            alg_id(&format!("{ec}1"), false),
        ),
        (
            SigScheme::Ecdsa(SigHash::Sha256),
            alg_id(&format!("{ec}3.2"), false),
        ),
        (
            SigScheme::Ecdsa(SigHash::Sha384),
            alg_id(&format!("{ec}3.3"), false),
        ),
        (
            SigScheme::Ecdsa(SigHash::Sha512),
            alg_id(&format!("{ec}3.4"), false),
        ),
        (SigScheme::Ed25519, alg_id("1.3.101.112", false)),
    ] {
        assert_eq!(
            scheme.algorithm_identifier().unwrap(),
            &der[..],
            "{scheme:?}"
        );
        assert_eq!(SigScheme::from_algorithm_identifier(&der), Some(scheme));
    }
    // RFC 7427 A.4.3, RSASSA-PSS with SHA-256 (as transcribed in libreswan's
    // include/ietf_constants.h).
    let pss256: [u8; 67] = [
        0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x34,
        0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
        0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x20,
    ];
    assert_eq!(
        SigScheme::RsaPss(SigHash::Sha256).algorithm_identifier(),
        Some(&pss256[..])
    );
    let pss512 = SigScheme::RsaPss(SigHash::Sha512)
        .algorithm_identifier()
        .unwrap();
    assert_eq!((pss512[29], pss512[59], pss512[66]), (0x03, 0x03, 0x40));
    assert_eq!(
        SigScheme::RsaPss(SigHash::Sha1).algorithm_identifier(),
        None
    );
}

#[test]
fn hash_algorithm_notify() {
    let data = encode_hash_algorithms(&OUR_HASH_ALGORITHMS);
    assert_eq!(data, [0, 2, 0, 3, 0, 4, 0, 5]);
    assert_eq!(decode_hash_algorithms(&data).unwrap(), OUR_HASH_ALGORITHMS);
    assert_eq!(
        decode_hash_algorithms(&[0, 1, 0x12, 0x34]).unwrap(),
        [1, 0x1234]
    );
    assert!(decode_hash_algorithms(&[0, 2, 0]).is_err());
    assert!(decode_hash_algorithms(&[]).unwrap().is_empty());
}

#[test]
fn scheme_choice_follows_key_and_peer() {
    let p = pki();
    assert_eq!(
        SigScheme::for_key(&p.rsa_key, &[]),
        Some(SigScheme::RsaPkcs1(SigHash::Sha256))
    );
    assert_eq!(
        SigScheme::for_key(&p.rsa_key, &[HASH_SHA1, HASH_SHA2_512]),
        Some(SigScheme::RsaPkcs1(SigHash::Sha512))
    );
    assert_eq!(SigScheme::for_key(&p.rsa_key, &[HASH_SHA1]), None);
    assert_eq!(
        SigScheme::for_key(&p.p384_key, &[HASH_SHA2_256, HASH_SHA2_384]),
        Some(SigScheme::Ecdsa(SigHash::Sha384))
    );
    assert_eq!(
        SigScheme::for_key(&p.p521_key, &[HASH_SHA2_256]),
        Some(SigScheme::Ecdsa(SigHash::Sha256))
    );
    assert_eq!(
        SigScheme::for_key(&p.ed_key, &[HASH_IDENTITY]),
        Some(SigScheme::Ed25519)
    );
    assert_eq!(SigScheme::for_key(&p.ed_key, &[HASH_SHA2_256]), None);
    assert_eq!(SigScheme::Ed25519.hash_id(), HASH_IDENTITY);
}
