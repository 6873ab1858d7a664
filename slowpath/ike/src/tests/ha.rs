//! HA: an engine's state exported and imported on another node carries on exactly (message
//! IDs, keys, the request in flight with its pending key exchange).

use std::time::Duration;

use super::harness::*;
use crate::engine::{Engine, EngineSettings};

#[test]
fn standby_takes_over_established_sas() {
    let pfs = crate::crypto::transform::Suite {
        dh: Some(crate::crypto::transform::ECP_256),
        ..esp_gcm(128)
    };
    let (a, b) = configs(ike_gcm128_ecp256(), pfs);
    let mut w = World::new(a, b.clone());
    let id = w.establish();
    let export = w.b.engine.export();
    let before = w.b.engine.sa(w.b.sa_id()).unwrap().core.clone().unwrap();
    let mut standby = Engine::new(
        vec![b],
        vec![],
        EngineSettings::default(),
        &mut w.rng,
        w.now,
    );
    standby.import(export, 1 << 20);
    w.b.engine = standby;
    let after = w.b.engine.sa(w.b.sa_id()).unwrap().core.clone().unwrap();
    assert_eq!(after.seal_counter, before.seal_counter + (1 << 20));
    assert_eq!(after.peer_next_request, before.peer_next_request);
    // The peer notices nothing: a CHILD SA rekey with PFS, an IKE SA rekey, a delete.
    let c = w.a.only_child().child;
    w.a.engine.rekey_child(w.now, &mut w.rng, id, c.id);
    w.run();
    assert_eq!(w.b.rekeyed.len(), 1);
    w.assert_children_match();
    let bid = w.b.sa_id();
    w.b.engine.rekey_ike(w.now, &mut w.rng, bid);
    w.run();
    w.a.engine.delete_ike(w.now, &mut w.rng, id);
    w.run();
    assert_eq!(w.b.ike_down.len(), 1);
    assert!(w
        .a
        .ike_down
        .iter()
        .all(|(_, r)| *r == crate::action::DownReason::Deleted));
}

#[test]
fn request_in_flight_survives_the_move() {
    let pfs = crate::crypto::transform::Suite {
        dh: Some(crate::crypto::transform::CURVE25519),
        ..esp_gcm(256)
    };
    let (a, b) = configs(ike_gcm256_x25519(), pfs);
    let mut w = World::new(a.clone(), b);
    let id = w.establish();
    let c = w.a.only_child().child;
    w.a.engine.rekey_child(w.now, &mut w.rng, id, c.id);
    w.collect();
    // A's request (with its D-H private value pending) moves to A's standby.
    let export = w.a.engine.export();
    let mut standby = Engine::new(
        vec![a],
        vec![],
        EngineSettings::default(),
        &mut w.rng,
        w.now,
    );
    standby.import(export, 1000);
    w.a.engine = standby;
    w.run();
    assert_eq!(w.a.rekeyed.len(), 1);
    w.assert_children_match();
    // Retransmission deadlines moved too.
    w.advance(Duration::from_secs(1));
    assert!(w.wire.is_empty());
}
