//! INFORMATIONAL: deletes both ways, IKE SA delete, DPD and its actions.

use std::time::Duration;

use super::harness::*;
use crate::action::{DownReason, Event};
use crate::config::DpdAction;
use crate::sa::IkeState;

#[test]
fn delete_child_from_initiator() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a, b);
    let id = w.establish();
    let child = w.a.only_child().child;
    assert!(w.a.engine.delete_child(w.now, &mut w.rng, id, child.id));
    w.run();
    assert!(w.a.fast_path.is_empty() && w.b.fast_path.is_empty());
    assert_eq!(w.a.child_down, vec![(child, DownReason::Deleted)]);
    assert_eq!(w.b.child_down.len(), 1);
    assert_eq!(w.b.child_down[0].0.spi_in, child.spi_out);
    assert_eq!(w.b.child_down[0].1, DownReason::DeletedByPeer);
    // The IKE SA stays.
    assert!(w.a.ike_down.is_empty() && w.b.ike_down.is_empty());
    // The responder's answer carried its own SPI (RFC 7296 1.4.1).
    let resp = w.b.engine.sa(w.b.sa_id()).unwrap().core.clone().unwrap();
    assert_eq!(resp.peer_next_request, 3);
}

#[test]
fn delete_child_from_responder_then_new_child() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a, b);
    let id = w.establish();
    let bid = w.b.sa_id();
    let child = w.b.only_child().child;
    assert!(w.b.engine.delete_child(w.now, &mut w.rng, bid, child.id));
    w.run();
    assert!(w.a.fast_path.is_empty() && w.b.fast_path.is_empty());
    // The responder's first request used its own message ID 0.
    let core = w.b.engine.sa(bid).unwrap().core.clone().unwrap();
    assert_eq!(core.next_request, 1);
    assert!(w.a.engine.create_child(w.now, &mut w.rng, id, "net"));
    w.run();
    w.assert_children_match();
    assert_eq!(w.a.fast_path.len(), 1);
}

#[test]
fn delete_ike_sa() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a, b);
    let id = w.establish();
    let bid = w.b.sa_id();
    assert!(w.a.engine.delete_ike(w.now, &mut w.rng, id));
    w.run();
    assert_eq!(w.a.ike_down, vec![(id, DownReason::Deleted)]);
    assert_eq!(w.b.ike_down, vec![(bid, DownReason::DeletedByPeer)]);
    assert!(w.a.fast_path.is_empty() && w.b.fast_path.is_empty());
    assert_eq!(w.a.child_down[0].1, DownReason::IkeSaDown);
    assert!(w.a.engine.sa_ids().is_empty() && w.b.engine.sa_ids().is_empty());
    assert_eq!(w.a.engine.poll_timeout(), None);
}

fn dpd_world(action: DpdAction) -> World {
    let (mut a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    a.dpd.interval = Duration::from_secs(10);
    a.dpd.action = action;
    let mut w = World::new(a, b);
    w.establish();
    w
}

#[test]
fn dpd_when_idle_only() {
    let mut w = dpd_world(DpdAction::Clear);
    let id = w.a.sa_id();
    // Traffic keeps coming in: no DPD.
    for _ in 0..30 {
        w.a.engine.traffic_received(id, w.now);
        w.pass(Duration::from_secs(1));
    }
    assert!(!w.a.has_event(|e| *e == Event::DpdSent));
    assert_eq!(
        w.a.engine.poll_timeout(),
        Some(w.now + Duration::from_secs(9))
    );
    // Idle: one empty INFORMATIONAL per interval, answered.
    w.pass(Duration::from_secs(25));
    let dpds = w.a.events.iter().filter(|e| **e == Event::DpdSent).count();
    assert_eq!(dpds, 2);
    assert!(w.a.ike_down.is_empty() && w.b.ike_down.is_empty());
    assert_eq!(w.a.fast_path.len(), 1);
}

/// The peer stops answering: DPD, retransmissions (2, 4, 8, 16 s), then the action.
fn peer_dies(w: &mut World) {
    for _ in 0..45 {
        w.advance(Duration::from_secs(1));
        w.wire.clear();
    }
}

#[test]
fn dpd_clear() {
    let mut w = dpd_world(DpdAction::Clear);
    let id = w.a.sa_id();
    peer_dies(&mut w);
    assert_eq!(w.a.ike_down, vec![(id, DownReason::PeerDead)]);
    assert!(w.a.fast_path.is_empty());
    assert_eq!(w.a.child_down[0].1, DownReason::IkeSaDown);
    assert!(w.a.engine.sa_ids().is_empty());
}

#[test]
fn dpd_restart() {
    let mut w = dpd_world(DpdAction::Restart);
    let id = w.a.sa_id();
    peer_dies(&mut w);
    assert_eq!(w.a.ike_down, vec![(id, DownReason::PeerDead)]);
    // Initiating again at once (its IKE_SA_INIT was lost too); the peer comes back.
    assert_eq!(w.a.engine.sa(id).unwrap().state, IkeState::SaInitSent);
    w.pass(Duration::from_secs(20));
    assert_eq!(w.a.ike_up.len(), 2);
    assert_eq!(w.a.engine.sa(id).unwrap().state, IkeState::Established);
    assert_eq!(w.a.fast_path.len(), 1);
}

#[test]
fn dpd_hold() {
    let mut w = dpd_world(DpdAction::Hold);
    let id = w.a.sa_id();
    peer_dies(&mut w);
    assert_eq!(w.a.ike_down, vec![(id, DownReason::PeerDead)]);
    assert_eq!(w.a.engine.sa(id).unwrap().state, IkeState::Held);
    let sent = w.a.sent.len();
    w.pass(Duration::from_secs(100));
    assert_eq!(w.a.sent.len(), sent);
    assert_eq!(
        w.a.engine.on_traffic_needs_sa(w.now, &mut w.rng, "to-b"),
        Some(id)
    );
    w.run();
    assert_eq!(w.a.ike_up.len(), 2);
    assert_eq!(w.a.fast_path.len(), 1);
}
