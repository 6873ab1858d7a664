//! Certificate authentication: RFC 7427 signatures (RSA and ECDSA), CERT payloads with the
//! chain, identities matched against the certificate, trust anchors, validity time.

use super::harness::*;
use crate::action::DownReason;
use crate::config::{AuthConfig, Identity, IkeConfig, PubKeyAuth};
use crate::crypto::auth::cert::subject_dn_der;
use crate::crypto::auth::test_pki::{pki, NOT_AFTER, VALID_AT};
use crate::engine::EngineSettings;

fn cert_configs() -> (IkeConfig, IkeConfig) {
    let p = pki();
    let (mut a, mut b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    a.local_id = Identity::fqdn("gw-rsa.example.net");
    a.auth = AuthConfig::PubKey(PubKeyAuth {
        private_key: p.rsa_key.clone(),
        cert_chain: vec![p.rsa.clone()],
        trust_anchors: vec![p.root.clone()],
    });
    let b_dn = Identity::dn(subject_dn_der(&p.p256).unwrap());
    a.remote_id = Some(b_dn.clone());
    b.local_id = b_dn;
    b.remote_id = None;
    b.auth = AuthConfig::PubKey(PubKeyAuth {
        private_key: p.p256_key.clone(),
        cert_chain: vec![p.p256.clone(), p.inter.clone()],
        trust_anchors: vec![p.root.clone()],
    });
    (a, b)
}

fn world(a: IkeConfig, b: IkeConfig, unix: i64) -> World {
    let settings = EngineSettings {
        unix_epoch_offset: unix,
        ..EngineSettings::default()
    };
    World::with(a, b, vec![], settings)
}

#[test]
fn rsa_initiator_ecdsa_responder() {
    let (a, b) = cert_configs();
    let mut w = world(a, b, VALID_AT);
    w.establish();
    assert_eq!((w.a.ike_up.len(), w.b.ike_up.len()), (1, 1));
    assert_eq!(
        w.b.ike_up[0].remote_id,
        Identity::fqdn("gw-rsa.example.net")
    );
    w.assert_children_match();
    // The peer's hash algorithms came in IKE_SA_INIT.
    let sa = w.a.engine.sa(w.a.sa_id()).unwrap();
    assert!(!sa.peer_hash_algorithms.is_empty());
}

#[test]
fn ecdsa_initiator_rsa_responder() {
    let (a, b) = cert_configs();
    // Swap the credentials: A is the EC gateway, B the RSA one.
    let (mut a2, mut b2) = (a.clone(), b.clone());
    a2.auth = b.auth.clone();
    a2.local_id = b.local_id.clone();
    a2.remote_id = Some(Identity::fqdn("gw-rsa.example.net"));
    b2.auth = a.auth.clone();
    b2.local_id = Identity::fqdn("gw-rsa.example.net");
    let mut w = world(a2, b2, VALID_AT);
    w.establish();
    assert_eq!((w.a.ike_up.len(), w.b.ike_up.len()), (1, 1));
    w.assert_children_match();
}

#[test]
fn identity_not_in_the_certificate() {
    let (mut a, b) = cert_configs();
    // A claims a name its certificate does not carry.
    a.local_id = Identity::fqdn("gw-ec.example.net");
    let mut w = world(a, b, VALID_AT);
    w.establish();
    assert!(w.b.ike_up.is_empty());
    assert_eq!(w.a.ike_down, vec![(1, DownReason::AuthenticationFailed)]);
}

#[test]
fn untrusted_chain() {
    let (mut a, b) = cert_configs();
    // A trusts only the intermediate's issuer... not at all: a self-signed stranger.
    let stranger =
        crate::crypto::auth::test_pki::cert("Stranger", &pki().p256_key, None, true, &[]);
    if let AuthConfig::PubKey(pk) = &mut a.auth {
        pk.trust_anchors = vec![stranger];
    }
    let mut w = world(a, b, VALID_AT);
    w.establish();
    // B accepted A, A refuses B.
    assert_eq!(w.a.ike_down, vec![(1, DownReason::AuthenticationFailed)]);
    assert!(w.a.ike_up.is_empty());
    // B, which thought the SA up, was told (RFC 7296 2.21.2).
    assert_eq!(w.b.ike_up.len(), 1);
    assert_eq!(w.b.ike_down.len(), 1);
    assert!(w.b.engine.sa_ids().is_empty());
}

#[test]
fn expired_certificates() {
    let (a, b) = cert_configs();
    let mut w = world(a, b, NOT_AFTER + 10);
    w.establish();
    assert!(w.a.ike_up.is_empty() && w.b.ike_up.is_empty());
}

#[test]
fn psk_peer_refused_by_certificate_config() {
    let (_, b) = cert_configs();
    let (a, _) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut b = b;
    b.remote_id = None;
    b.local_id = Identity::fqdn("b.example.net");
    let mut w = world(a, b, VALID_AT);
    w.establish();
    assert!(w.b.ike_up.is_empty());
    assert_eq!(w.a.ike_down, vec![(1, DownReason::AuthenticationFailed)]);
}
