//! IKE_SA_INIT + IKE_AUTH with PSK: suites, narrowing, failures, INVALID_KE retry,
//! retransmission answered from the cache.

use std::time::Duration;

use super::harness::*;
use crate::action::{DownReason, DropReason, Event};
use crate::config::Mode;
use crate::message::NotifyType;
use crate::sa::IkeState;

fn establish_with(
    ike: crate::crypto::transform::Suite,
    esp: crate::crypto::transform::Suite,
) -> World {
    let (a, b) = configs(ike, esp);
    let mut w = World::new(a, b);
    w.establish();
    assert_eq!(w.a.ike_up.len(), 1);
    assert_eq!(w.b.ike_up.len(), 1);
    let (ia, ib) = (&w.a.ike_up[0], &w.b.ike_up[0]);
    assert_eq!((ia.spi_i, ia.spi_r), (ib.spi_i, ib.spi_r));
    assert!(ia.initiator && !ib.initiator);
    assert_eq!(ia.remote_id, crate::config::Identity::fqdn("b.example.net"));
    assert_eq!(ib.remote_id, crate::config::Identity::fqdn("a.example.net"));
    w.a.only_child();
    w.assert_children_match();
    let c = w.a.only_child();
    assert_eq!(c.local_ts, vec![ts("10.1.0.0", 16)]);
    assert_eq!(c.remote_ts, vec![ts("10.2.0.0", 16)]);
    assert_eq!(c.mode, Mode::Tunnel);
    assert!(c.encap.is_none());
    w
}

#[test]
fn aes_cbc_sha1_modp1024() {
    let w = establish_with(ike_cbc_modp1024(), esp_cbc());
    let c = w.a.only_child();
    assert_eq!(c.encr_key_out.len(), 16);
    assert_eq!(c.integ_key_out.len(), 20);
}

#[test]
fn aes_gcm128_ecp256() {
    let w = establish_with(ike_gcm128_ecp256(), esp_gcm(128));
    let c = w.a.only_child();
    // Key and salt (RFC 4106).
    assert_eq!(c.encr_key_out.len(), 20);
    assert!(c.integ_key_out.is_empty());
}

#[test]
fn aes_gcm256_curve25519() {
    let w = establish_with(ike_gcm256_x25519(), esp_gcm(256));
    assert_eq!(w.a.only_child().encr_key_in.len(), 36);
    let st = &w.a.engine.status(w.now)[0];
    assert_eq!(st.state, IkeState::Established);
    assert_eq!(st.children.len(), 1);
    assert_eq!(st.suite, Some(ike_gcm256_x25519()));
}

#[test]
fn responder_narrows_selectors() {
    let (a, mut b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    b.children[0].remote_ts = vec![ts("10.1.5.0", 24), ts("172.16.0.0", 12)];
    b.children[0].local_ts = vec![ts("10.0.0.0", 8)];
    let mut w = World::new(a, b);
    w.establish();
    w.assert_children_match();
    let c = w.a.only_child();
    assert_eq!(c.local_ts, vec![ts("10.1.5.0", 24)]);
    assert_eq!(c.remote_ts, vec![ts("10.2.0.0", 16)]);
}

#[test]
fn ts_unacceptable_keeps_the_ike_sa() {
    let (a, mut b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    b.children[0].remote_ts = vec![ts("192.168.0.0", 16)];
    let mut w = World::new(a, b);
    w.establish();
    assert_eq!((w.a.ike_up.len(), w.b.ike_up.len()), (1, 1));
    assert!(w.a.fast_path.is_empty() && w.b.fast_path.is_empty());
    assert!(w.a.has_event(|e| matches!(
        e,
        Event::ChildFailed {
            notify: NotifyType::TS_UNACCEPTABLE,
            ..
        }
    )));
}

#[test]
fn no_common_esp_proposal() {
    let (a, mut b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    b.esp_proposals = vec![esp_cbc()];
    let mut w = World::new(a, b);
    w.establish();
    assert_eq!(w.a.ike_up.len(), 1);
    assert!(w.a.fast_path.is_empty());
    assert!(w.a.has_event(|e| matches!(
        e,
        Event::ChildFailed {
            notify: NotifyType::NO_PROPOSAL_CHOSEN,
            ..
        }
    )));
}

#[test]
fn no_common_ike_proposal() {
    let (a, mut b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    b.ike_proposals = vec![ike_cbc_modp1024()];
    let mut w = World::new(a, b);
    w.establish();
    assert_eq!(w.a.ike_down, vec![(1, DownReason::NoProposalChosen)]);
    assert!(w.b.engine.sa_ids().is_empty());
}

#[test]
fn wrong_psk_fails_both_sides() {
    let (a, mut b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    b.auth = crate::config::AuthConfig::psk(b"another secret");
    let mut w = World::new(a, b);
    w.establish();
    assert!(w.a.ike_up.is_empty() && w.b.ike_up.is_empty());
    assert!(w.a.fast_path.is_empty() && w.b.fast_path.is_empty());
    assert_eq!(w.a.ike_down, vec![(1, DownReason::AuthenticationFailed)]);
    assert_eq!(w.b.ike_down.len(), 1);
    assert_eq!(w.b.ike_down[0].1, DownReason::AuthenticationFailed);
    assert!(w.a.engine.sa_ids().is_empty() && w.b.engine.sa_ids().is_empty());
}

#[test]
fn wrong_remote_identity_fails() {
    let (mut a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    a.remote_id = Some(crate::config::Identity::fqdn("c.example.net"));
    let mut w = World::new(a, b);
    w.establish();
    // B has no connection for IDr = c.example.net.
    assert_eq!(w.a.ike_down, vec![(1, DownReason::AuthenticationFailed)]);
    assert!(w.b.ike_up.is_empty());
}

#[test]
fn invalid_ke_payload_retry() {
    let (mut a, mut b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let modp2048 = crate::crypto::transform::Suite {
        dh: Some(crate::crypto::transform::MODP_2048),
        ..ike_gcm128_ecp256()
    };
    a.ike_proposals = vec![ike_gcm128_ecp256(), modp2048];
    b.ike_proposals = vec![modp2048];
    let mut w = World::new(a, b);
    w.establish();
    assert!(w.a.has_event(|e| *e == Event::InvalidKeRetry { group: 14 }));
    assert_eq!(w.a.ike_up.len(), 1);
    w.assert_children_match();
    assert_eq!(w.a.engine.status(w.now)[0].suite.unwrap().dh, Some(14));
}

#[test]
fn transport_mode() {
    let (mut a, mut b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    a.children[0].mode = Mode::Transport;
    b.children[0].mode = Mode::Transport;
    let mut w = World::new(a, b);
    w.establish();
    w.assert_children_match();
    assert_eq!(w.a.only_child().mode, Mode::Transport);
    // A responder configured for tunnel mode answers with tunnel mode.
    let (mut a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    a.children[0].mode = Mode::Transport;
    let mut w = World::new(a, b);
    w.establish();
    w.assert_children_match();
    assert_eq!(w.a.only_child().mode, Mode::Tunnel);
}

#[test]
fn esn_negotiated() {
    let (mut a, mut b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    a.children[0].esn = true;
    b.children[0].esn = true;
    let mut w = World::new(a, b);
    w.establish();
    assert!(w.a.only_child().esn && w.b.only_child().esn);
}

#[test]
fn lost_response_is_retransmitted_and_answered_from_cache() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a, b);
    w.initiate();
    // Drop the first IKE_AUTH response (B's second datagram).
    let mut from_b = 0;
    w.run_dropping(|p| {
        if p.from.ip() == B_ADDR.parse::<std::net::SocketAddr>().unwrap().ip() {
            from_b += 1;
            return from_b == 2;
        }
        false
    });
    assert!(w.a.ike_up.is_empty());
    assert_eq!(w.b.ike_up.len(), 1);
    let before = w.b.events.len();
    // Nothing before the timeout, the retransmission after it.
    w.advance(Duration::from_millis(1900));
    assert!(w.wire.is_empty());
    w.advance(Duration::from_millis(100));
    assert_eq!(w.wire.len(), 1);
    assert!(w.a.has_event(|e| matches!(
        e,
        Event::Retransmitted {
            message_id: 1,
            sent: 2
        }
    )));
    w.run();
    assert_eq!(w.a.ike_up.len(), 1);
    // B answered from its cache: no second IKE SA or CHILD SA, nothing re-processed.
    assert_eq!(w.b.ike_up.len(), 1);
    assert_eq!(w.b.fast_path.len(), 1);
    assert_eq!(w.b.events.len(), before);
    let sa = w.b.engine.sa(w.b.sa_id()).unwrap();
    assert_eq!(sa.counters.requests_answered_from_cache, 1);
    // The operator's totals (`ike-counters`) include what the SAs counted.
    assert_eq!(w.b.engine.total_counters().requests_answered_from_cache, 1);
    assert_eq!(w.a.engine.total_counters().retransmits, 1);
    w.assert_children_match();
    // The retransmission was the very same datagram.
    let auth: Vec<_> =
        w.a.sent
            .iter()
            .filter(|p| p.bytes.len() > 100 && p.bytes[18] == 35)
            .collect();
    assert_eq!(auth.len(), 2);
    assert_eq!(auth[0].bytes, auth[1].bytes);
    assert_eq!(w.b.engine.counters().dropped(DropReason::BadIcv), 0);
}

#[test]
fn lost_init_request_is_retransmitted_then_gives_up() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a, b);
    w.initiate();
    w.wire.clear();
    // 2 s, 4 s, 8 s, then 16 s until it gives up.
    for (step, sends) in [(2, 2), (4, 3), (8, 4)] {
        w.advance(Duration::from_secs(step));
        w.wire.clear();
        assert_eq!(w.a.sent.len(), sends);
    }
    assert!(w.a.ike_down.is_empty());
    w.advance(Duration::from_secs(16));
    assert_eq!(w.a.ike_down, vec![(1, DownReason::PeerDead)]);
    assert!(w.a.engine.sa_ids().is_empty());
}

#[test]
fn engine_start_initiates_start_connections_and_extra_children() {
    let (mut a, mut b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let extra = |l: &str, r: &str| {
        crate::config::ChildConfig::new("net2", vec![ts(l, 16)], vec![ts(r, 16)])
    };
    a.children.push(extra("10.3.0.0", "10.4.0.0"));
    b.children.push(extra("10.4.0.0", "10.3.0.0"));
    let mut w = World::new(a, b);
    let ids = w.a.engine.start(w.now, &mut w.rng);
    assert_eq!(ids.len(), 1);
    // B's connection has no peer address: it only responds.
    assert!(w.b.engine.start(w.now, &mut w.rng).is_empty());
    w.run();
    // The first child in IKE_AUTH, the second with CREATE_CHILD_SA right after.
    assert_eq!(w.a.fast_path.len(), 2);
    w.assert_children_match();
}

/// Whether A's last IKE_AUTH request carried INITIAL_CONTACT (read with the keys of B's IKE SA
/// that received it).
fn last_auth_has_initial_contact(w: &World) -> bool {
    use crate::message::{ExchangeType, Message, Payloads};
    use crate::sa::core::Opened;
    let raw =
        &w.a.sent
            .iter()
            .rev()
            .find(|p| {
                let h = Message::parse(&p.bytes).unwrap().header;
                h.exchange == ExchangeType::IKE_AUTH && h.is_request()
            })
            .expect("an IKE_AUTH request")
            .bytes;
    let (msg, range) = Message::parse_with_sk_range(raw).unwrap();
    let core =
        w.b.engine
            .sa_ids()
            .into_iter()
            .filter_map(|id| w.b.engine.sa(id).and_then(|s| s.core.clone()))
            .find(|c| c.local_spi() == msg.header.spi_r)
            .expect("B's IKE SA");
    let Opened::Whole(p) = core.open(raw, &msg, range.unwrap()).unwrap() else {
        panic!("not a whole message");
    };
    p.find_notify(NotifyType::INITIAL_CONTACT).is_some()
}

/// INITIAL_CONTACT (RFC 7296 2.4) says the IKE SA is the only one between the two identities:
/// it goes in the IKE_AUTH of the first IKE SA with a peer, not in one set up beside it (a
/// peer that believes it, as strongSwan does, destroys the first one without a delete).
#[test]
fn initial_contact_only_for_the_only_ike_sa() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a, b);
    let first = w.establish();
    assert!(last_auth_has_initial_contact(&w), "the first IKE SA");
    let second = w.establish();
    assert_eq!((w.a.ike_up.len(), w.b.ike_up.len()), (2, 2));
    assert!(!last_auth_has_initial_contact(&w), "beside the first");
    // Alone again once both are gone.
    for id in [first, second] {
        assert!(w.a.engine.delete_ike(w.now, &mut w.rng, id));
        w.run();
    }
    assert!(w.a.engine.sa_ids().is_empty() && w.b.engine.sa_ids().is_empty());
    w.establish();
    assert!(last_auth_has_initial_contact(&w), "alone again");
}

/// A peer that lost its IKE SAs with us (a reboot, a delete that never reached us) sets up a
/// new one with INITIAL_CONTACT: the responder drops the ones the peer forgot, and their
/// CHILD SAs, without a delete; an IKE SA set up beside another (no INITIAL_CONTACT) leaves
/// that one alone.
#[test]
fn initial_contact_drops_the_ike_sas_the_peer_forgot() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a, b);
    let old = [w.establish(), w.establish()];
    assert_eq!(w.b.engine.sa_ids().len(), 2, "the second beside the first");
    let b_old = w.b.engine.sa_ids();
    for id in old {
        let (i, r) = w.a.engine.sa(id).and_then(|s| s.spis()).unwrap();
        assert!(w.a.engine.remove_sa_by_spis(i, r).is_some());
    }
    w.a.fast_path.clear();
    let b_sent = w.b.sent.len();
    w.establish();
    assert!(last_auth_has_initial_contact(&w));
    let gone: Vec<_> = b_old
        .iter()
        .map(|id| (*id, DownReason::Forgotten))
        .collect();
    assert_eq!(w.b.ike_down, gone);
    assert_eq!(w.b.engine.sa_ids().len(), 1);
    w.assert_children_match();
    assert_eq!(
        w.b.sent.len(),
        b_sent + 2,
        "IKE_SA_INIT and IKE_AUTH answered, no delete"
    );
}
