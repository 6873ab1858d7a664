//! Two IKEv1 engines in memory running Aggressive Mode: the exchange and the Quick Mode after
//! it, the third message in clear, repeats and a lost third message, a wrong key, and the
//! refusal of a peer whose connection does not say `aggressive`.

use std::time::Duration;

use super::super::engine_tests::{assert_mirrored, exchange_of, pair_configs, World};
use super::super::wire::{self, exchange};
use crate::action::{Action, DownReason, DropReason};
use crate::config::{AuthConfig, IkeConfig, IkeVersion};
use crate::tests::harness::esp_cbc;

/// A connection that says `aggressive`.
pub(in crate::v1) fn aggressive(mut c: IkeConfig) -> IkeConfig {
    if let IkeVersion::V1(v) = &mut c.ike_version {
        v.aggressive = true;
    }
    c
}

fn aggressive_pair() -> (IkeConfig, IkeConfig) {
    let (a, b) = pair_configs(esp_cbc());
    (aggressive(a), aggressive(b))
}

#[test]
fn aggressive_mode_then_quick_mode() {
    let (a, b) = aggressive_pair();
    let mut w = World::new(a, b);
    w.initiate();
    let mut phase1: Vec<(u8, bool)> = Vec::new();
    w.run_with(|p| {
        let h = wire::parse_header(&p.bytes).unwrap();
        if h.exchange == exchange::AGGRESSIVE {
            phase1.push((h.message_id as u8, h.is_encrypted()));
        }
        Some(p)
    });
    // Three messages, all in clear, and no Main Mode.
    assert_eq!(phase1, vec![(0, false); 3]);
    assert_eq!((w.seen_a.up, w.seen_b.up), (1, 1));
    assert_eq!((w.seen_a.children.len(), w.seen_b.children.len()), (1, 1));
    assert_mirrored(&w.seen_a.children[0], &w.seen_b.children[0]);
    let st = w.b.status(w.now);
    assert_eq!(st[0].state, crate::sa::IkeState::Established);
    assert_eq!(st[0].config, "from-a");
    let peer = st[0].remote_id.clone().unwrap();
    assert_eq!(peer.data, b"a.example.net");
    assert!(w.b.sa(st[0].id).unwrap().aggressive);
    assert_eq!(w.a.total_counters().total_dropped(), 0);
    assert_eq!(w.b.total_counters().total_dropped(), 0);
}

#[test]
fn a_lost_third_message_is_sent_again() {
    let (a, b) = aggressive_pair();
    let mut w = World::new(a, b);
    w.initiate();
    // The first message twice: both get the same answer.
    w.first_message_twice();
    // The third message is lost once: the responder's answer goes again on its timer and
    // the initiator answers it from its cache.
    let mut lost = false;
    w.run_with(|p| {
        let third = exchange_of(&p.bytes) == exchange::AGGRESSIVE && p.from == w_a();
        if third && !lost {
            lost = true;
            return None;
        }
        Some(p)
    });
    assert!(lost);
    assert_eq!((w.seen_a.up, w.seen_b.up), (1, 0));
    for _ in 0..6 {
        w.advance(Duration::from_secs(2));
        w.run();
    }
    assert_eq!((w.seen_a.up, w.seen_b.up), (1, 1));
    assert_eq!(w.b.total_counters().retransmits, 1);
    assert_eq!(w.a.total_counters().requests_answered_from_cache, 1);
    assert_eq!(w.b.total_counters().requests_answered_from_cache, 1);
    assert_eq!((w.seen_a.children.len(), w.seen_b.children.len()), (1, 1));
    assert_mirrored(&w.seen_a.children[0], &w.seen_b.children[0]);
}

fn w_a() -> std::net::SocketAddr {
    crate::tests::harness::A_ADDR.parse().unwrap()
}

#[test]
fn a_wrong_key_makes_no_sa() {
    let (a, mut b) = aggressive_pair();
    b.auth = AuthConfig::psk(b"not the same secret");
    let mut w = World::new(a, b);
    w.initiate();
    w.run();
    assert_eq!((w.seen_a.up, w.seen_b.up), (0, 0));
    // HASH_R does not prove A's key: A tells B (INVALID-HASH-INFORMATION, in clear) and
    // its SA is gone; B's half-made one goes at once, on that notification.
    assert_eq!(w.a.total_counters().dropped(DropReason::BadIcv), 1);
    assert!(w.a.sa_ids().is_empty());
    assert!(w.b.sa_ids().is_empty());
    assert_eq!(w.seen_b.down, vec![DownReason::AuthenticationFailed]);
    assert_eq!(w.b.total_counters().dropped(DropReason::Unprotected), 0);
    for _ in 0..40 {
        w.advance(Duration::from_secs(2));
        w.run();
    }
    assert!(w.a.sa_ids().is_empty() && w.b.sa_ids().is_empty());
    assert!(w.seen_a.children.is_empty() && w.seen_b.children.is_empty());
}

#[test]
fn a_connection_without_aggressive_refuses_it() {
    let (a, b) = pair_configs(esp_cbc());
    let mut w = World::new(aggressive(a), b);
    w.initiate();
    let mut refusals = 0;
    w.run_with(|p| {
        let h = wire::parse_header(&p.bytes).unwrap();
        if h.exchange == exchange::INFORMATIONAL && !h.is_encrypted() {
            refusals += 1;
            let body = &p.bytes[wire::HEADER_LEN..];
            let n = wire::parse_payloads(h.next_payload, body).unwrap();
            assert!(matches!(&n[0], wire::Payload::Notify(n)
                if n.kind == wire::notify_type::NO_PROPOSAL_CHOSEN));
        }
        Some(p)
    });
    assert_eq!(refusals, 1);
    assert_eq!((w.seen_a.up, w.seen_b.up), (0, 0));
    assert!(w.b.sa_ids().is_empty());
    // The initiator's SA ends on the refusal, not at its setup timeout.
    assert!(w.a.sa_ids().is_empty());
    assert_eq!(w.seen_a.down, vec![DownReason::NoProposalChosen]);
    let c = w.b.total_counters();
    assert_eq!(c.dropped(DropReason::AggressiveRefused), 1);
    // Nor does an `aggressive` connection answer a Main Mode.
    let (a, b) = pair_configs(esp_cbc());
    let mut w = World::new(a, aggressive(b));
    w.initiate();
    w.run();
    assert_eq!((w.seen_a.up, w.seen_b.up), (0, 0));
    assert_eq!(w.b.total_counters().dropped(DropReason::NoConfig), 1);
}

#[test]
fn an_error_in_clear_ends_no_established_sa_and_a_status_in_clear_no_half_made_one() {
    let (a, b) = aggressive_pair();
    let mut w = World::new(a, b);
    w.initiate();
    // The first message, kept to name the SA by its cookies.
    let mut first = None;
    w.run_with(|p| {
        if first.is_none() && exchange_of(&p.bytes) == exchange::AGGRESSIVE {
            first = Some((p.from, p.to, p.bytes.clone()));
        }
        Some(p)
    });
    assert_eq!((w.seen_a.up, w.seen_b.up), (1, 1));
    let (from, to, bytes) = first.unwrap();
    let h = wire::parse_header(&bytes).unwrap();
    // B's answer carries its cookie: forge a refusal in clear under both cookies.
    let ids = w.a.sa_ids();
    assert_eq!(ids.len(), 1);
    let refusal = super::super::conn_select::clear_notification(
        h.icookie,
        w.a.sa(ids[0]).unwrap().rcookie,
        wire::notify_type::NO_PROPOSAL_CHOSEN,
    )
    .unwrap();
    w.deliver(super::super::engine_tests::Packet {
        from: to,
        to: from,
        bytes: refusal,
    });
    w.collect();
    // Anyone could have sent it: the SA stays up.
    assert_eq!(w.a.sa_ids(), ids);
    assert!(w.seen_a.down.is_empty());
    assert_eq!(w.a.total_counters().dropped(DropReason::Unprotected), 1);

    // A status type in clear during phase 1 ends nothing either.
    let (a, b) = aggressive_pair();
    let mut w = World::new(a, b);
    w.initiate();
    let mut sent_first = None;
    w.run_with(|p| {
        if sent_first.is_none() && exchange_of(&p.bytes) == exchange::AGGRESSIVE {
            sent_first = Some(p);
            return None;
        }
        Some(p)
    });
    let first = sent_first.unwrap();
    let h = wire::parse_header(&first.bytes).unwrap();
    let status =
        super::super::conn_select::refusal_message(&h, wire::notify_type::INITIAL_CONTACT).unwrap();
    w.deliver(super::super::engine_tests::Packet {
        from: first.to,
        to: first.from,
        bytes: status,
    });
    w.collect();
    assert_eq!(w.a.sa_ids().len(), 1);
    assert!(w.seen_a.down.is_empty());
    assert_eq!(w.a.total_counters().dropped(DropReason::Unprotected), 1);
}

#[test]
fn a_refused_sa_ends_with_its_conn_named() {
    let (a, b) = pair_configs(esp_cbc());
    let mut w = World::new(aggressive(a), b);
    let id = w.a.initiate(w.now, &mut w.rng, "to-b").unwrap();
    // A's first message to B, B's refusal (in clear) back to A.
    w.collect();
    let first = w.wire.pop().unwrap();
    w.deliver(first);
    w.collect();
    let refusal = w.wire.pop().unwrap();
    assert!(w.wire.is_empty());
    w.deliver(refusal);
    // Gone from the engine: its end names its conn itself.
    assert!(w.a.sa(id).is_none());
    let mut downs = Vec::new();
    while let Some(action) = w.a.poll_action() {
        if let Action::IkeSaDown { sa, conn, reason } = action {
            downs.push((sa, conn, reason));
        }
    }
    assert_eq!(
        downs,
        vec![(id, "to-b".to_string(), DownReason::NoProposalChosen)]
    );
}
