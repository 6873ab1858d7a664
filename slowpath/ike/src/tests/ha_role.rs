//! HA roles: a standby holds imported state and does nothing with it; a takeover carries
//! every SA on (timers, the request in flight, half-open SAs) without the peer noticing.

use std::time::Duration;

use super::harness::*;
use crate::action::{DropReason, Event};
use crate::config::IkeConfig;
use crate::engine::{Engine, EngineExport, EngineSettings};
use crate::ha::{HaRole, HaSettings};
use crate::sa::IkeState;

const S: fn(u64) -> Duration = Duration::from_secs;

/// RFC 6311 off: the synced message IDs are used as they are.
pub fn no_sync() -> HaSettings {
    HaSettings {
        message_id_sync: false,
        ..HaSettings::default()
    }
}

/// A second node holding `export` as a standby, as the HA sync leaves it.
pub fn standby_of(w: &mut World, cfg: IkeConfig, export: EngineExport, ha: HaSettings) -> Engine {
    let mut e = Engine::new(
        vec![cfg],
        vec![],
        EngineSettings::default(),
        &mut w.rng,
        w.now,
    );
    e.set_ha_settings(ha);
    e.set_role(HaRole::Standby, w.now, &mut w.rng);
    e.import(export, 1 << 20);
    e
}

pub fn take_over(w: &mut World, side: Side) {
    let now = w.now;
    let node = match side {
        Side::A => &mut w.a,
        Side::B => &mut w.b,
    };
    node.engine.set_role(HaRole::Active, now, &mut w.rng);
    w.collect();
}

fn dpd_configs(interval: u64) -> (IkeConfig, IkeConfig) {
    let (a, mut b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    b.dpd.interval = S(interval);
    (a, b)
}

#[test]
fn standby_drops_counts_and_runs_no_timer() {
    let (a, b) = dpd_configs(10);
    let mut w = World::new(a, b.clone());
    let id = w.establish();
    let export = w.b.engine.export();
    w.b.engine = standby_of(&mut w, b, export, HaSettings::default());
    let bid = w.b.sa_id();
    assert_eq!(w.b.engine.role(), HaRole::Standby);
    assert_eq!(w.b.engine.poll_timeout(), None);
    let c = w.a.only_child().child;
    assert!(w.a.engine.rekey_child(w.now, &mut w.rng, id, c.id));
    let sent = w.b.sent.len();
    w.run();
    assert_eq!(w.b.engine.counters().dropped(DropReason::Standby), 1);
    assert_eq!(w.b.sent.len(), sent, "a standby answers nothing");
    // No timer, no request of its own; the state stays as imported.
    let (later, rng) = (w.now + S(3600), &mut w.rng);
    w.b.engine.handle_timeout(later, rng);
    assert!(!w.b.engine.rekey_ike(w.now, &mut w.rng, bid));
    assert!(!w.b.engine.create_child(w.now, &mut w.rng, bid, "net"));
    assert!(!w.b.engine.delete_ike(w.now, &mut w.rng, bid));
    w.collect();
    assert_eq!(w.b.sent.len(), sent);
    assert_eq!(w.b.engine.sa(bid).unwrap().state, IkeState::Established);
    // Takeover: A's rekey goes through (after the message ID sync both announced).
    take_over(&mut w, Side::B);
    w.run();
    w.pass(S(4));
    assert_eq!((w.a.rekeyed.len(), w.b.rekeyed.len()), (1, 1));
    w.assert_children_match();
    assert!(w
        .b
        .has_event(|e| matches!(e, Event::MessageIdsSynced { .. })));
    assert_eq!(w.a.ike_up.len(), 1);
}

#[test]
fn request_in_flight_is_resent_with_its_message_id() {
    for peer_answered in [false, true] {
        let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
        let mut w = World::new(a.clone(), b);
        w.b.engine.set_ha_settings(no_sync());
        let id = w.establish();
        let c = w.a.only_child().child;
        w.a.engine.rekey_child(w.now, &mut w.rng, id, c.id);
        w.collect();
        let request = w.wire.pop_front().unwrap();
        if peer_answered {
            // The peer got it and answered; the answer died with the old node.
            w.deliver(request.clone());
            w.wire.clear();
        }
        let export = w.a.engine.export();
        w.a.engine = standby_of(&mut w, a.clone(), export, HaSettings::default());
        take_over(&mut w, Side::A);
        w.advance(Duration::ZERO);
        assert_eq!(
            w.a.sent.last().unwrap().bytes,
            request.bytes,
            "the same request"
        );
        w.run();
        assert_eq!((w.a.rekeyed.len(), w.b.rekeyed.len()), (1, 1));
        w.assert_children_match();
        let cached = w.b.engine.total_counters().requests_answered_from_cache;
        assert_eq!(cached, u64::from(peer_answered));
    }
}

#[test]
fn takeover_right_after_an_ike_rekey_carries_the_old_sas_delete() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a.clone(), b);
    let id = w.establish();
    w.a.engine.rekey_ike(w.now, &mut w.rng, id);
    w.collect();
    let req = w.wire.pop_front().unwrap();
    w.deliver(req);
    let resp = w.wire.pop_front().unwrap();
    w.deliver(resp);
    // A's delete of the old IKE SA is on the wire, and is lost with A.
    assert_eq!(w.wire.len(), 1);
    w.wire.clear();
    assert_eq!(w.a.engine.sa(id).unwrap().retiring.len(), 1);
    let export = w.a.engine.export();
    w.a.engine = standby_of(&mut w, a, export, HaSettings::default());
    take_over(&mut w, Side::A);
    w.pass(S(3));
    assert!(w.a.engine.sa(id).unwrap().retiring.is_empty());
    assert_eq!(w.b.engine.sa(w.b.sa_id()).unwrap().retiring.len(), 0);
    // The new node goes on: a CHILD SA rekey, then a delete.
    let c = w.a.only_child().child;
    assert!(w.a.engine.rekey_child(w.now, &mut w.rng, id, c.id));
    w.run();
    assert_eq!((w.a.rekeyed.len(), w.b.rekeyed.len()), (1, 1));
    w.assert_children_match();
    w.a.engine.delete_ike(w.now, &mut w.rng, id);
    w.run();
    assert_eq!(w.b.ike_down.len(), 1);
    assert_eq!(w.b.ike_up.len(), 1, "the peer negotiated nothing new");
}

#[test]
fn overdue_timers_fire_spread_after_a_takeover() {
    let (a, b) = dpd_configs(10);
    let mut w = World::new(a, b.clone());
    for _ in 0..3 {
        w.establish();
    }
    assert_eq!(w.b.engine.sa_ids().len(), 3);
    let export = w.b.engine.export();
    let ha = HaSettings {
        takeover_spread: S(3),
        ..no_sync()
    };
    w.b.engine = standby_of(&mut w, b, export, ha);
    w.pass(S(60));
    assert!(!w.b.has_event(|e| *e == Event::DpdSent));
    take_over(&mut w, Side::B);
    let dpds = |w: &World| w.b.events.iter().filter(|e| **e == Event::DpdSent).count();
    for n in 1..=3 {
        assert_eq!(w.b.engine.poll_timeout(), Some(w.now));
        w.advance(Duration::ZERO);
        assert_eq!(dpds(&w), n, "one SA per slot");
        w.run();
        w.now += S(1);
    }
    assert_eq!(dpds(&w), 3);
    assert!(w.a.ike_down.is_empty());
}

#[test]
fn demotion_keeps_state_and_stops_timers() {
    let (a, b) = dpd_configs(10);
    let mut w = World::new(a, b);
    w.establish();
    let (now, rng) = (w.now, &mut w.rng);
    w.b.engine.set_role(HaRole::Standby, now, rng);
    w.pass(S(30));
    assert!(!w.b.has_event(|e| *e == Event::DpdSent));
    assert_eq!(w.b.engine.sa_ids().len(), 1);
    take_over(&mut w, Side::B);
    w.pass(S(2));
    assert!(w.b.has_event(|e| *e == Event::DpdSent));
    assert!(w.a.ike_down.is_empty() && w.b.ike_down.is_empty());
}

#[test]
fn half_open_sas_are_carried_on_or_removed() {
    // IKE_SA_INIT in flight with its key exchange: retransmitted, and the SA comes up.
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a.clone(), b.clone());
    w.initiate();
    w.wire.clear();
    let export = w.a.engine.export();
    w.a.engine = standby_of(&mut w, a.clone(), export, HaSettings::default());
    take_over(&mut w, Side::A);
    w.pass(S(2));
    assert_eq!((w.a.ike_up.len(), w.b.ike_up.len()), (1, 1));

    // Without it (a record that lost the key exchange), removed: no half-open SA is left.
    let mut w = World::new(a.clone(), b.clone());
    w.initiate();
    w.wire.clear();
    let mut export = w.a.engine.export();
    export.sas[0].state.init.as_mut().unwrap().dh = None;
    w.a.engine = standby_of(&mut w, a, export, HaSettings::default());
    take_over(&mut w, Side::A);
    assert!(w.a.engine.sa_ids().is_empty());
    assert_eq!(w.a.engine.total_counters().half_open.expired, 1);
    assert_eq!(w.a.engine.poll_timeout(), None);

    // A responder's half-open SA has its keys: the peer's IKE_AUTH completes it.
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a, b.clone());
    w.initiate();
    let init = w.wire.pop_front().unwrap();
    w.deliver(init);
    let export = w.b.engine.export();
    assert_eq!(export.sas[0].state.state, IkeState::HalfOpen);
    w.b.engine = standby_of(&mut w, b, export, HaSettings::default());
    take_over(&mut w, Side::B);
    w.run();
    assert_eq!((w.a.ike_up.len(), w.b.ike_up.len()), (1, 1));
    assert_eq!(w.b.engine.total_counters().half_open.current, 0);
}
