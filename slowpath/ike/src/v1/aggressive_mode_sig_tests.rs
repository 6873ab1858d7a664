//! Aggressive Mode with signatures between two engines in memory: RSA and ECDSA, CR with
//! the identities of the first two messages, CERT and SIG in the second and third, the
//! three in clear; a certificate from an untrusted CA refused at either end.

use super::super::engine_tests::signatures::{
    assert_no_sa, cert_configs, clear_payloads, ecdsa_the_other_way_round, world_at,
};
use super::super::engine_tests::{assert_mirrored, exchange_of};
use super::super::wire::{self, exchange, Payload};
use super::tests::aggressive;
use crate::action::{DownReason, DropReason};
use crate::config::AuthConfig;
use crate::crypto::auth::test_pki::{self, pki, VALID_AT};

/// Which payload kinds each Aggressive Mode message holds, in order of the messages.
fn kinds(p: &[Payload]) -> (usize, usize, usize) {
    let count = |f: fn(&Payload) -> bool| p.iter().filter(|x| f(x)).count();
    (
        count(|x| matches!(x, Payload::CertReq { .. })),
        count(|x| matches!(x, Payload::Cert { .. })),
        count(|x| matches!(x, Payload::Sig(_))),
    )
}

#[test]
fn rsa_signatures_in_aggressive_mode() {
    let (a, b) = cert_configs(false);
    let (a_id, b_id) = (a.local_id.clone(), b.local_id.clone());
    let mut w = world_at(aggressive(a), aggressive(b), VALID_AT);
    w.initiate();
    let mut seen = Vec::new();
    w.run_with(|p| {
        if exchange_of(&p.bytes) == exchange::AGGRESSIVE {
            let h = wire::parse_header(&p.bytes).unwrap();
            assert!(!h.is_encrypted());
            seen.push(kinds(&clear_payloads(&p.bytes)));
        }
        Some(p)
    });
    // AM1: CR; AM2: CR, CERT, SIG_R; AM3: CERT, SIG_I.
    assert_eq!(seen, vec![(1, 0, 0), (1, 1, 1), (0, 1, 1)]);
    assert_eq!((w.seen_a.up, w.seen_b.up), (1, 1));
    assert_mirrored(&w.seen_a.children[0], &w.seen_b.children[0]);
    assert_eq!(w.a.status(w.now)[0].remote_id, Some(b_id));
    assert_eq!(w.b.status(w.now)[0].remote_id, Some(a_id));
    assert!(w.b.sa(w.b.sa_ids()[0]).unwrap().aggressive);
    assert_eq!(w.a.total_counters().total_dropped(), 0);
    assert_eq!(w.b.total_counters().total_dropped(), 0);
}

#[test]
fn ecdsa_signatures_in_aggressive_mode_the_other_way_round() {
    ecdsa_the_other_way_round(aggressive);
}

/// B (responder) or A (initiator) trusts another CA only.
fn distrusting(responder: bool) -> (crate::config::IkeConfig, crate::config::IkeConfig) {
    let (mut a, mut b) = cert_configs(false);
    let stranger = test_pki::cert("Stranger", &pki().p256_key, None, true, &[]);
    let who = if responder { &mut b } else { &mut a };
    if let AuthConfig::PubKey(p) = &mut who.auth {
        p.trust_anchors = vec![stranger];
    }
    (aggressive(a), aggressive(b))
}

#[test]
fn an_untrusted_ca_is_refused_in_aggressive_mode() {
    // At AM3: A, up once it sent it, goes with the Delete beside B's notification.
    let (a, b) = distrusting(true);
    let mut w = world_at(a, b, VALID_AT);
    w.initiate();
    w.run();
    assert_eq!((w.seen_a.up, w.seen_b.up), (1, 0));
    assert_eq!(w.seen_a.down, vec![DownReason::DeletedByPeer]);
    assert!(w.a.sa_ids().is_empty() && w.b.sa_ids().is_empty());
    assert_eq!(w.b.total_counters().dropped(DropReason::AuthFailed), 1);
    // At AM2: A refuses B's certificate, and neither side is ever up.
    let (a, b) = distrusting(false);
    let mut w = world_at(a, b, VALID_AT);
    assert_no_sa(&mut w);
    assert_eq!(w.a.total_counters().dropped(DropReason::AuthFailed), 1);
}

#[test]
fn the_aggressive_conn_of_the_peer_s_method_answers() {
    use super::super::engine::V1Engine;
    use super::super::engine_tests::pair_configs;
    use crate::tests::harness::esp_cbc;
    let (a, b) = cert_configs(false);
    // First in the file: a PSK conn for the same identity, which A's RSA transforms miss.
    let (_, mut psk) = pair_configs(esp_cbc());
    (psk.name, psk.remote_id) = ("psk".into(), b.remote_id.clone());
    let mut w = world_at(aggressive(a), aggressive(b.clone()), VALID_AT);
    let offset = VALID_AT - w.now.as_secs() as i64;
    w.b = V1Engine::new(&[aggressive(psk), aggressive(b)]);
    w.b.set_unix_epoch_offset(offset);
    w.initiate();
    w.run();
    assert_eq!((w.seen_a.up, w.seen_b.up), (1, 1));
    assert_eq!(w.b.status(w.now)[0].config, "from-a");
    assert_eq!(w.b.total_counters().total_dropped(), 0);
}
