use super::*;
use crate::config::{Lifetimes, PubKeyAuth};
use crate::crypto::transform::CURVE25519;
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
fn phase2_maps_esp_auth_pfs_mode_and_lifetimes() {
    let mut child = ChildConfig::new("c", vec![], vec![]);
    child.esp_proposals = vec![
        suite(ENCR_AES_GCM_16, 256, None, None, None),
        suite(
            ENCR_AES_CBC,
            128,
            Some(AUTH_HMAC_SHA2_256_128),
            None,
            Some(MODP_2048),
        ),
        suite(ENCR_AES_CBC, 128, Some(AUTH_HMAC_SHA1_96), None, None),
    ];
    child.lifetimes = Lifetimes {
        life_time: HOUR,
        life_bytes: 1_000_000,
        ..Lifetimes::default()
    };
    let conn = conn_with(child.clone());
    let offers = phase2_offers(&conn, &child).unwrap();
    let got: Vec<_> = offers
        .iter()
        .map(|t| (t.transform_id, t.key_bits, t.auth, t.group, t.encapsulation))
        .collect();
    // ESP_AES_GCM_16 (20); ESP_AES (12) with HMAC-SHA2-256 (5) and PFS 14; HMAC-SHA (2).
    assert_eq!(
        got,
        [
            (20, Some(256), None, None, 1),
            (12, Some(128), Some(5), Some(14), 1),
            (12, Some(128), Some(2), None, 1)
        ]
    );
    assert!(offers
        .iter()
        .all(|t| t.life_seconds == Some(3600) && t.life_kbytes == Some(977)));
    child.mode = Mode::Transport;
    child.lifetimes = Lifetimes {
        life_time: Duration::ZERO,
        ..Lifetimes::default()
    };
    let t = &phase2_offers(&conn, &child).unwrap()[0];
    assert_eq!(
        (t.encapsulation, t.life_seconds, t.life_kbytes),
        (2, None, None)
    );
    child.esp_proposals = vec![suite(
        ENCR_AES_CBC,
        128,
        Some(AUTH_HMAC_SHA1_96),
        None,
        Some(CURVE25519),
    )];
    assert!(phase2_offers(&conn, &child).is_err());
}

fn conn_with(child: ChildConfig) -> IkeConfig {
    IkeConfig {
        name: "c".into(),
        ike_version: IkeVersion::V2,
        local_addr: "192.0.2.1:500".parse().unwrap(),
        remote_addr: "192.0.2.2:500".parse().unwrap(),
        local_id: crate::config::Identity::fqdn("a"),
        remote_id: None,
        auth: AuthConfig::psk(b"k"),
        ike_proposals: vec![],
        esp_proposals: vec![],
        children: vec![child],
        rekey_time: Duration::ZERO,
        rekey_jitter: Duration::ZERO,
        reauth_time: Duration::ZERO,
        dpd: crate::config::DpdConfig::default(),
        retransmit: crate::config::RetransmitConfig::default(),
        force_encap: false,
        fragment_size: None,
        virtual_ip: Default::default(),
        initial_contact: false,
    }
}

#[test]
fn auth_methods_follow_the_key() {
    assert_eq!(
        auth_method(&AuthConfig::psk(b"k")),
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
    assert_eq!(auth_method(&pubkey(rsa)), Ok(method::RSA_SIG));
    for (nid, want) in [
        (Nid::X9_62_PRIME256V1, method::ECDSA_SHA256_P256),
        (Nid::SECP384R1, method::ECDSA_SHA384_P384),
        (Nid::SECP521R1, method::ECDSA_SHA512_P521),
    ] {
        let g = EcGroup::from_curve_name(nid).unwrap();
        let k = PKey::from_ec_key(EcKey::generate(&g).unwrap()).unwrap();
        assert_eq!(auth_method(&pubkey(k)), Ok(want));
    }
    let ed = PKey::generate_ed25519().unwrap();
    assert!(auth_method(&pubkey(ed)).is_err());
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
    let mut c = conn_with(ChildConfig::new("c", vec![], vec![]));
    assert!(c.v1().is_none());
    c.ike_version = IkeVersion::V1(v.clone());
    assert_eq!(c.v1(), Some(&v));
}
