use std::time::Duration;

use super::phase2_offers;
use crate::config::{AuthConfig, ChildConfig, IkeConfig, IkeVersion, Lifetimes, Mode};
use crate::crypto::transform::{
    Suite, AUTH_HMAC_SHA2_256_128, CURVE25519, ENCR_AES_GCM_16, MODP_2048,
};
use crate::tests::harness::esp_cbc;

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn phase2_maps_esp_auth_pfs_mode_and_lifetimes() {
    let mut child = ChildConfig::new("c", vec![], vec![]);
    child.esp_proposals = vec![
        Suite {
            encr: ENCR_AES_GCM_16,
            encr_key_bits: 256,
            integ: None,
            ..esp_cbc()
        },
        Suite {
            integ: Some(AUTH_HMAC_SHA2_256_128),
            dh: Some(MODP_2048),
            ..esp_cbc()
        },
        esp_cbc(),
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
    child.esp_proposals = vec![Suite {
        dh: Some(CURVE25519),
        ..esp_cbc()
    }];
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
