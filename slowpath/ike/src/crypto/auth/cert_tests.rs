//! Certificate helper tests over an in-memory PKI.

use super::*;
use crate::crypto::auth::test_pki::{self, pki, NOT_AFTER, NOT_BEFORE, VALID_AT};
use openssl::nid::Nid;

#[test]
fn chain_validates_at_the_given_time() {
    let p = pki();
    let roots = [p.root.clone()];
    verify_chain(&p.rsa, &[], &roots, VALID_AT).unwrap();
    verify_chain(&p.p256, std::slice::from_ref(&p.inter), &roots, VALID_AT).unwrap();
    // The intermediate is needed.
    assert!(verify_chain(&p.p256, &[], &roots, VALID_AT).is_err());
    // Outside the validity.
    assert!(verify_chain(&p.rsa, &[], &roots, NOT_BEFORE - 10).is_err());
    assert!(verify_chain(&p.rsa, &[], &roots, NOT_AFTER + 10).is_err());
    // Another root with the same name but another key.
    let other_key = test_pki::rsa_key();
    let other = test_pki::cert("Test Root CA", &other_key, None, true, &[]);
    assert!(verify_chain(&p.rsa, &[], &[other], VALID_AT).is_err());
    // No trust anchor at all; an untrusted copy of the root among the intermediates.
    assert!(verify_chain(&p.rsa, std::slice::from_ref(&p.root), &[], VALID_AT).is_err());
}

#[test]
fn self_signed_leaf_is_not_trusted_by_another_root() {
    let p = pki();
    let key = test_pki::ec_key(Nid::X9_62_PRIME256V1);
    let rogue = test_pki::cert("gw-rsa", &key, None, false, &["gw-rsa.example.net"]);
    let err = verify_chain(&rogue, &[], std::slice::from_ref(&p.root), VALID_AT).unwrap_err();
    assert!(matches!(err, CryptoError::Certificate(_)));
}

#[test]
fn ids_match_subject_and_alt_names() {
    let p = pki();
    let dn = subject_dn_der(&p.rsa).unwrap();
    assert!(matches_id(&p.rsa, ID_DER_ASN1_DN, &dn));
    assert!(!matches_id(&p.p256, ID_DER_ASN1_DN, &dn));
    assert!(matches_id(&p.rsa, ID_FQDN, b"gw-rsa.example.net"));
    assert!(matches_id(&p.rsa, ID_FQDN, b"GW-RSA.Example.NET"));
    assert!(!matches_id(&p.rsa, ID_FQDN, b"gw-ec.example.net"));
    assert!(!matches_id(&p.rsa, ID_FQDN, b"gw-rsa.example.net."));
    assert!(matches_id(&p.rsa, ID_RFC822_ADDR, b"vpn@example.net"));
    assert!(!matches_id(&p.rsa, ID_RFC822_ADDR, b"gw-rsa.example.net"));
    let (t, d) = ip_id("192.0.2.1".parse().unwrap());
    assert!(matches_id(&p.rsa, t, &d));
    let (t, d) = ip_id("2001:db8::1".parse().unwrap());
    assert!(matches_id(&p.rsa, t, &d));
    let (t, d) = ip_id("192.0.2.2".parse().unwrap());
    assert!(!matches_id(&p.rsa, t, &d));
    // An IPv4 address given as type IPv6, and a truncated one.
    assert!(!matches_id(&p.rsa, ID_IPV6_ADDR, &[192, 0, 2, 1]));
    assert!(!matches_id(&p.rsa, ID_IPV4_ADDR, &[192, 0, 2]));
    // The root has no subjectAltName; KEY_ID never matches a certificate.
    assert!(!matches_id(&p.root, ID_FQDN, b"Test Root CA"));
    assert!(!matches_id(&p.rsa, ID_KEY_ID, b"gw-rsa.example.net"));
}

#[test]
fn load_and_extract() {
    let p = pki();
    let pem = p.rsa.to_pem().unwrap();
    let loaded = load_pem(&pem).unwrap();
    assert_eq!(loaded.to_der().unwrap(), p.rsa.to_der().unwrap());
    let bundle = [pem.clone(), p.root.to_pem().unwrap()].concat();
    assert_eq!(load_pem_chain(&bundle).unwrap().len(), 2);
    let der = p.p256.to_der().unwrap();
    assert!(from_der(&der).is_ok());
    assert!(public_key(&p.rsa).unwrap().public_eq(&p.rsa_key));
    assert!(public_key(&p.p256).unwrap().public_eq(&p.p256_key));
    assert!(load_pem(b"not a certificate").is_err());
    assert!(load_pem_chain(b"").is_err());
    assert!(from_der(&der[..der.len() - 1]).is_err());
    assert!(from_der(&[]).is_err());
}
