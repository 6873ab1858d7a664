use super::*;
use crate::config::{AuthConfig, IkeVersion, PubKeyAuth};
use crate::crypto::transform::{
    AUTH_HMAC_SHA1_96, AUTH_HMAC_SHA2_256_128, CURVE25519, ENCR_AES_GCM_16,
};
use crate::tests::harness::{configs, esp_cbc, ike_cbc_modp1024};
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;

fn suite(encr: u16, bits: u16, integ: Option<u16>, prf: Option<u16>, dh: Option<u16>) -> Suite {
    Suite {
        encr,
        encr_key_bits: bits,
        integ,
        prf,
        dh,
        esn: None,
    }
}

/// AES-CBC with SHA-1 (integrity and PRF) and a group.
fn cbc_sha1(bits: u16, dh: Option<u16>) -> Suite {
    suite(
        ENCR_AES_CBC,
        bits,
        Some(AUTH_HMAC_SHA1_96),
        Some(PRF_HMAC_SHA1),
        dh,
    )
}

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn phase1_maps_prf_hash_and_group() {
    let mut sha256_integ = cbc_sha1(128, Some(MODP_2048));
    sha256_integ.integ = Some(AUTH_HMAC_SHA2_256_128);
    let offers = phase1_offers(
        &[
            cbc_sha1(128, Some(MODP_2048)),
            // Same but another integrity algorithm: one phase 1 transform.
            sha256_integ,
            suite(
                ENCR_AES_CBC,
                256,
                None,
                Some(PRF_HMAC_SHA2_256),
                Some(ECP_256),
            ),
        ],
        method::PRE_SHARED_KEY,
        HOUR,
    )
    .unwrap();
    let got: Vec<_> = offers
        .iter()
        .map(|t| {
            (
                t.encryption,
                t.key_bits,
                t.hash,
                t.group,
                t.auth_method,
                t.life_seconds,
            )
        })
        .collect();
    // AES-CBC (7); SHA-1 (2) and SHA2-256 (4); PSK (1); an hour proposed.
    assert_eq!(
        got,
        [
            (7, Some(128), 2, 14, 1, Some(3600)),
            (7, Some(256), 4, 19, 1, Some(3600))
        ]
    );
}

#[test]
fn phase1_refuses_what_ikev1_lacks() {
    let psk = method::PRE_SHARED_KEY;
    let gcm = suite(
        ENCR_AES_GCM_16,
        128,
        None,
        Some(PRF_HMAC_SHA2_256),
        Some(ECP_256),
    );
    assert!(phase1_offers(&[gcm], psk, HOUR)
        .unwrap_err()
        .contains("AEAD"));
    let x25519 = cbc_sha1(128, Some(CURVE25519));
    let e = phase1_offers(&[x25519], psk, HOUR).unwrap_err();
    assert!(e.contains("no IKEv1 number"), "{e}");
    assert!(phase1_offers(&[cbc_sha1(128, None)], psk, HOUR).is_err());
}

#[test]
fn auth_methods_follow_the_key() {
    assert_eq!(
        auth_method(AuthConfig::psk(b"k").private_key()),
        Ok(method::PRE_SHARED_KEY)
    );
    let pubkey = |private_key| {
        AuthConfig::PubKey(PubKeyAuth {
            private_key,
            cert_chain: vec![],
            trust_anchors: vec![],
        })
    };
    let rsa = PKey::from_rsa(Rsa::generate(1024).unwrap()).unwrap();
    assert_eq!(auth_method(pubkey(rsa).private_key()), Ok(method::RSA_SIG));
    for (nid, want) in [
        (Nid::X9_62_PRIME256V1, method::ECDSA_SHA256_P256),
        (Nid::SECP384R1, method::ECDSA_SHA384_P384),
        (Nid::SECP521R1, method::ECDSA_SHA512_P521),
    ] {
        let g = EcGroup::from_curve_name(nid).unwrap();
        let k = PKey::from_ec_key(EcKey::generate(&g).unwrap()).unwrap();
        assert_eq!(auth_method(pubkey(k).private_key()), Ok(want));
    }
    let ed = PKey::generate_ed25519().unwrap();
    assert!(auth_method(pubkey(ed).private_key()).is_err());
}

#[test]
fn dpd_timing_defaults_to_the_interval() {
    let mut v = V1Config {
        aggressive: false,
        phase1: vec![],
        dpd_retransmit: None,
        dpd_retries: DEFAULT_DPD_RETRIES,
    };
    assert_eq!(v.dpd_timing(Duration::ZERO), None);
    let t = v.dpd_timing(Duration::from_secs(30)).unwrap();
    assert_eq!((t.retransmit, t.retries), (Duration::from_secs(30), 4));
    v.dpd_retransmit = Some(Duration::from_secs(5));
    let t = v.dpd_timing(Duration::from_secs(30)).unwrap();
    assert_eq!(t.retransmit, Duration::from_secs(5));
    let (mut c, _) = configs(ike_cbc_modp1024(), esp_cbc());
    assert!(c.v1().is_none());
    c.ike_version = IkeVersion::V1(v.clone());
    assert_eq!(c.v1(), Some(&v));
}
