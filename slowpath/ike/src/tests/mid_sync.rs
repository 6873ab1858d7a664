//! RFC 6311: support announced in IKE_AUTH, the exchange in both roles after a takeover with
//! stale message IDs, and what is refused.

use super::ha_role::{no_sync, standby_of, take_over};
use super::harness::*;
use crate::action::{DropReason, Event};
use crate::ha::HaSettings;
use crate::message::{ExchangeType, MessageIdSync, NotifyType, Payload};
use crate::sa::core::SaCore;

fn core_of(n: &Node) -> SaCore {
    n.engine.sa(n.sa_id()).unwrap().core.clone().unwrap()
}

fn packet(from: &str, to: &str, bytes: Vec<u8>) -> Packet {
    Packet {
        from: from.parse().unwrap(),
        to: to.parse().unwrap(),
        bytes,
    }
}

/// A sync message sealed with `n`'s keys (far above its IV counter), as `n` would send it.
fn sync_message(n: &Node, response: bool, data: Vec<u8>) -> Vec<u8> {
    let mut core = core_of(n);
    core.seal_counter += 1 << 30;
    let h = core.header(ExchangeType::INFORMATIONAL, response, 0);
    let p = [Payload::notify(NotifyType::IKEV2_MESSAGE_ID_SYNC, data)];
    core.protect(&h, &p, None).unwrap().remove(0)
}

/// Whether the node's sync request waits for its answer.
fn syncing(n: &Node) -> bool {
    n.engine.sa(n.sa_id()).unwrap().mid_sync.request.is_some()
}

fn new_child(w: &mut World, side: Side) {
    let now = w.now;
    let node = match side {
        Side::A => &mut w.a,
        Side::B => &mut w.b,
    };
    let id = node.sa_id();
    let rng = &mut w.rng;
    assert!(node.engine.create_child(now, rng, id, "net"));
    w.run();
}

#[test]
fn support_is_announced_and_noted() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a.clone(), b.clone());
    w.establish();
    assert!(w.a.engine.sa(w.a.sa_id()).unwrap().peer_mid_sync);
    assert!(w.b.engine.sa(w.b.sa_id()).unwrap().peer_mid_sync);

    let mut w = World::new(a, b);
    w.b.engine.set_ha_settings(no_sync());
    w.establish();
    assert!(!w.a.engine.sa(w.a.sa_id()).unwrap().peer_mid_sync);
    assert!(w.b.engine.sa(w.b.sa_id()).unwrap().peer_mid_sync);
    // Neither starts it: A's peer did not announce it, B does not do it.
    let (now, rng) = (w.now, &mut w.rng);
    assert_eq!(w.a.engine.sync_message_ids(now, rng), 0);
    assert_eq!(w.b.engine.sync_message_ids(now, rng), 0);
}

/// The HA node's standby got its state before the old node made two CHILD SAs and the peer
/// one: its message IDs are behind the peer's (by more than the peer's cached response).
fn stale_ids_are_fixed(ha_is_a: bool) {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a.clone(), b.clone());
    w.establish();
    let (ha, peer, cfg) = if ha_is_a {
        (Side::A, Side::B, a)
    } else {
        (Side::B, Side::A, b)
    };
    let export = w.node(&ha).engine.export();
    let ha_side = || if ha_is_a { Side::A } else { Side::B };
    new_child(&mut w, ha_side());
    new_child(&mut w, ha_side());
    new_child(&mut w, if ha_is_a { Side::B } else { Side::A });
    let children = w.a.fast_path.len();

    // Without the exchange, the peer drops the new node's request as an old one.
    let no_takeover_sync = HaSettings {
        sync_at_takeover: false,
        ..HaSettings::default()
    };
    let stale = standby_of(&mut w, cfg.clone(), export.clone(), no_takeover_sync);
    w.node(&ha).engine = stale;
    take_over(&mut w, ha_side());
    new_child(&mut w, ha_side());
    let dropped = |w: &mut World, s: &Side, r| w.node(s).engine.total_counters().dropped(r);
    assert_eq!(dropped(&mut w, &peer, DropReason::OldRequest), 1);
    assert_eq!(w.a.fast_path.len(), children);

    // With it, the IDs are set right and both sides go on.
    let fresh = standby_of(&mut w, cfg, export, HaSettings::default());
    w.node(&ha).engine = fresh;
    take_over(&mut w, ha_side());
    w.run();
    let (h, p) = (core_of(w.node(&ha)), core_of(w.node(&peer)));
    assert_eq!(h.next_request, p.peer_next_request);
    assert_eq!(h.peer_next_request, p.next_request);
    assert!(w
        .a
        .has_event(|e| matches!(e, Event::MessageIdsSynced { .. })));
    assert!(w
        .b
        .has_event(|e| matches!(e, Event::MessageIdsSynced { .. })));
    new_child(&mut w, Side::A);
    new_child(&mut w, Side::B);
    assert_eq!(w.a.fast_path.len(), children + 2);
    w.assert_children_match();
    assert_eq!(dropped(&mut w, &peer, DropReason::OldRequest), 1);
    assert_eq!(w.a.ike_up.len() + w.b.ike_up.len(), 2, "no new IKE SA");
}

#[test]
fn stale_ids_fixed_on_the_initiator_side() {
    stale_ids_are_fixed(true);
}

#[test]
fn stale_ids_fixed_on_the_responder_side() {
    stale_ids_are_fixed(false);
}

#[test]
fn malformed_and_stale_sync_requests_are_dropped_and_counted() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a, b);
    w.establish();
    let before = core_of(&w.b);
    let stale = MessageIdSync {
        nonce: 1,
        send: before.peer_next_request - 1,
        recv: 0,
    };
    let sent = w.b.sent.len();
    for data in [vec![0; 11], vec![0; 13], stale.to_bytes()] {
        let bytes = sync_message(&w.a, false, data);
        w.deliver(packet(A_ADDR, B_ADDR, bytes));
    }
    let counters = w.b.engine.total_counters();
    assert_eq!(counters.dropped(DropReason::MessageIdSync), 3);
    assert_eq!(w.b.sent.len(), sent, "nothing answered");
    let after = core_of(&w.b);
    assert_eq!(
        (after.next_request, after.peer_next_request),
        (before.next_request, before.peer_next_request)
    );
    // The SA is unharmed.
    new_child(&mut w, Side::A);
    assert_eq!(w.b.fast_path.len(), 2);
}

#[test]
fn answers_are_checked_and_a_repeated_request_gets_the_same_answer() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a, b);
    w.establish();
    let (now, rng) = (w.now, &mut w.rng);
    assert_eq!(w.a.engine.sync_message_ids(now, rng), 1);
    w.collect();
    let request = w.wire.pop_front().unwrap();
    let sa = w.a.engine.sa(w.a.sa_id()).unwrap();
    let (sent, _) = sa.mid_sync.request.clone().unwrap().sent.unwrap();
    assert_eq!(sent.send, core_of(&w.a).next_request + 64);
    // An answer with another nonce is not the answer.
    let forged = MessageIdSync {
        nonce: sent.nonce ^ 1,
        send: 1000,
        recv: 1000,
    };
    let bytes = sync_message(&w.b, true, forged.to_bytes());
    w.deliver(packet(B_ADDR, A_ADDR, bytes));
    assert_eq!(
        w.a.engine
            .total_counters()
            .dropped(DropReason::MessageIdSync),
        1
    );
    assert!(syncing(&w.a));
    // The request twice (the first answer lost): the same answer twice.
    w.deliver(request.clone());
    let first = w.wire.pop_front().unwrap();
    w.deliver(request);
    let second = w.wire.pop_front().unwrap();
    assert_eq!(first.bytes, second.bytes);
    assert_eq!(w.b.engine.total_counters().requests_answered_from_cache, 1);
    w.deliver(second);
    assert!(!syncing(&w.a));
    let (ca, cb) = (core_of(&w.a), core_of(&w.b));
    assert_eq!(ca.next_request, sent.send);
    assert_eq!(ca.next_request, cb.peer_next_request);
    assert_eq!(ca.peer_next_request, cb.next_request);
    new_child(&mut w, Side::B);
    new_child(&mut w, Side::A);
    assert_eq!(w.a.fast_path.len(), 3);
    w.assert_children_match();
}
