//! The PSK connection the engine targets answer with (ike_engine, ikev1_engine): any peer,
//! any traffic, one proposal each for IKE and ESP.

use std::time::Duration;

use ike::config::{
    AuthConfig, ChildConfig, DpdAction, DpdConfig, Identity, IkeConfig, IkeVersion,
    RetransmitConfig, VirtualIpConfig,
};
use ike::crypto::transform::Suite;
use ike::message::TrafficSelector;

/// Connection `name` from `local` to `remote` ("0.0.0.0:500": any peer).
pub fn psk_conn(name: &str, local: &str, remote: &str, ike: Suite, esp: Suite) -> IkeConfig {
    IkeConfig {
        name: name.into(),
        ike_version: IkeVersion::V2,
        local_addr: local.parse().unwrap(),
        remote_addr: remote.parse().unwrap(),
        local_id: Identity::fqdn("gw.example"),
        remote_id: None,
        auth: AuthConfig::psk(b"a fuzzing pre-shared key"),
        ike_proposals: vec![ike],
        esp_proposals: vec![esp],
        children: vec![ChildConfig::new(
            "any",
            vec![TrafficSelector::any(false)],
            vec![TrafficSelector::any(false)],
        )],
        rekey_time: Duration::from_secs(3600),
        rekey_jitter: Duration::from_secs(60),
        reauth_time: Duration::ZERO,
        dpd: DpdConfig {
            interval: Duration::from_secs(30),
            action: DpdAction::Clear,
        },
        retransmit: RetransmitConfig::default(),
        force_encap: false,
        fragment_size: Some(1280),
        virtual_ip: VirtualIpConfig::default(),
        initial_contact: false,
    }
}
