//! IKE SA rekeys, and rekey collisions (RFC 7296 2.8.1, 2.8.2).

use std::time::Duration;

use super::harness::*;
use crate::action::{DropReason, Event};
use crate::sa::IkeState;

fn spis(w: &World, a: bool) -> (u64, u64) {
    let n = if a { &w.a } else { &w.b };
    let st = &n.engine.status(w.now)[0];
    (st.spi_i, st.spi_r)
}

fn ike_rekey(from_a: bool) {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a, b);
    let id = w.establish();
    let before = spis(&w, true);
    let children = w.a.fast_path.clone();
    let old_auth = w.a.sent[1].clone();
    if from_a {
        w.a.engine.rekey_ike(w.now, &mut w.rng, id);
    } else {
        let bid = w.b.sa_id();
        w.b.engine.rekey_ike(w.now, &mut w.rng, bid);
    }
    w.run();
    let after = spis(&w, true);
    assert_eq!(after, spis(&w, false));
    assert_ne!(after.0, before.0);
    assert_ne!(after.1, before.1);
    // The rekey's initiator is the new SA's original initiator.
    assert_eq!(w.a.engine.status(w.now)[0].initiator, from_a);
    assert!(w.a.has_event(|e| matches!(e, Event::IkeSaRekeyed { .. })));
    // CHILD SAs stay as they were; the old SA is gone on both sides.
    assert_eq!(w.a.fast_path.len(), children.len());
    assert!(w.a.child_down.is_empty() && w.b.child_down.is_empty());
    for n in [&w.a, &w.b] {
        let sa = n.engine.sa(n.sa_id()).unwrap();
        assert!(sa.retiring.is_empty());
        assert_eq!(sa.state, IkeState::Established);
    }
    // A message of the old SA is now unknown.
    w.deliver(old_auth);
    assert_eq!(w.b.engine.counters().dropped(DropReason::UnknownSpi), 1);
    // The new SA works: a CHILD SA rekey and a delete on it.
    let c = w.a.only_child().child;
    w.a.engine.rekey_child(w.now, &mut w.rng, id, c.id);
    w.run();
    w.assert_children_match();
    assert_eq!(w.a.rekeyed.len(), 1);
    w.a.engine.delete_ike(w.now, &mut w.rng, id);
    w.run();
    assert_eq!(w.b.ike_down.len(), 1);
    assert!(w.a.engine.sa_ids().is_empty() && w.b.engine.sa_ids().is_empty());
}

#[test]
fn ike_rekey_by_initiator() {
    ike_rekey(true);
}

#[test]
fn ike_rekey_by_responder() {
    ike_rekey(false);
}

#[test]
fn ike_rekey_timer_with_jitter() {
    let (mut a, b) = configs(ike_cbc_modp1024(), esp_cbc());
    a.rekey_time = Duration::from_secs(100);
    a.rekey_jitter = Duration::from_secs(10);
    let mut w = World::new(a, b);
    w.establish();
    let before = spis(&w, true);
    let rekey_in = w.a.engine.status(w.now)[0].rekey_in.unwrap();
    assert!(rekey_in >= Duration::from_secs(90) && rekey_in <= Duration::from_secs(100));
    w.pass(Duration::from_secs(89));
    assert_eq!(spis(&w, true), before);
    w.pass(Duration::from_secs(12));
    assert_ne!(spis(&w, true), before);
    assert_eq!(spis(&w, true), spis(&w, false));
    w.assert_children_match();
}

/// Both sides start the same rekey; both requests arrive before either response.
fn collide(w: &mut World, ike: bool) {
    let (ida, idb) = (w.a.sa_id(), w.b.sa_id());
    if ike {
        w.a.engine.rekey_ike(w.now, &mut w.rng, ida);
        w.b.engine.rekey_ike(w.now, &mut w.rng, idb);
    } else {
        let (ca, cb) = (w.a.only_child().child.id, w.b.only_child().child.id);
        w.a.engine.rekey_child(w.now, &mut w.rng, ida, ca);
        w.b.engine.rekey_child(w.now, &mut w.rng, idb, cb);
    }
    w.collect();
    assert_eq!(w.wire.len(), 2);
    let (req_a, req_b) = (w.wire.pop_front().unwrap(), w.wire.pop_front().unwrap());
    w.deliver(req_a);
    w.deliver(req_b);
    assert_eq!(w.wire.len(), 2, "two responses");
    w.run();
    let won: Vec<bool> = [&w.a, &w.b]
        .iter()
        .flat_map(|n| n.events.iter())
        .filter_map(|e| match e {
            Event::RekeyCollision { ike: i, we_won } if *i == ike => Some(*we_won),
            _ => None,
        })
        .collect();
    assert_eq!(won.len(), 2, "both sides saw the collision");
    assert_ne!(won[0], won[1], "exactly one side won");
}

#[test]
fn child_rekey_collision() {
    for seed in 0..4 {
        let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
        let mut w = World::new(a, b);
        w.rng = crate::rng::TestRng::new(100 + seed);
        w.establish();
        let old = w.a.only_child().child;
        collide(&mut w, false);
        // One CHILD SA each, the same one, and the old one gone on both sides.
        assert_eq!(w.a.fast_path.len(), 1, "seed {seed}");
        w.assert_children_match();
        assert!(!w.a.fast_path.contains_key(&old.spi_in));
        assert_eq!((w.a.rekeyed.len(), w.b.rekeyed.len()), (1, 1));
        for n in [&w.a, &w.b] {
            let sa = n.engine.sa(n.sa_id()).unwrap();
            assert_eq!(sa.children.len(), 1, "shadow SAs were deleted");
        }
    }
}

#[test]
fn ike_rekey_collision() {
    for seed in 0..4 {
        let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
        let mut w = World::new(a, b);
        w.rng = crate::rng::TestRng::new(200 + seed);
        let id = w.establish();
        let before = spis(&w, true);
        collide(&mut w, true);
        let after = spis(&w, true);
        assert_ne!(after, before);
        assert_eq!(after, spis(&w, false), "seed {seed}");
        for n in [&w.a, &w.b] {
            let sa = n.engine.sa(n.sa_id()).unwrap();
            assert!(
                sa.retiring.is_empty(),
                "seed {seed}: old and redundant SAs deleted"
            );
        }
        assert!(w.a.child_down.is_empty());
        // The surviving SA works.
        let c = w.a.only_child().child;
        w.a.engine.rekey_child(w.now, &mut w.rng, id, c.id);
        w.run();
        w.assert_children_match();
        assert_eq!(w.b.rekeyed.len(), 1);
    }
}

/// Delivers the one datagram on the wire and returns what the receiver did about it.
fn deliver_one(w: &mut World, to_b: bool) -> Vec<&'static str> {
    w.collect();
    assert_eq!(w.wire.len(), 1, "one message in flight");
    let p = w.wire.pop_front().unwrap();
    let n = if to_b { &mut w.b } else { &mut w.a };
    n.log.clear();
    w.deliver(p);
    let n = if to_b { &w.b } else { &w.a };
    n.log.clone()
}

/// The responder of a CHILD SA rekey installs the new SA before its answer leaves (the
/// initiator sends on it as soon as the answer arrives), and keeps sending on the old one
/// (the initiator has the new one only once the answer arrives); the initiator moves its
/// outbound traffic at once. The old SA goes on both sides with its delete.
#[test]
fn child_rekey_responder_installs_before_answering() {
    for by_a in [true, false] {
        let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
        let mut w = World::new(a, b);
        let id = w.establish();
        let old = w.a.only_child().child;
        if by_a {
            w.a.engine.rekey_child(w.now, &mut w.rng, id, old.id);
        } else {
            let c = w.b.only_child().child;
            let bid = w.b.sa_id();
            w.b.engine.rekey_child(w.now, &mut w.rng, bid, c.id);
        }
        // The request reaches the responder: install first (outbound deferred), then answer.
        let responder = deliver_one(&mut w, by_a);
        assert_eq!(
            responder,
            vec!["child_rekeyed_deferred", "send"],
            "rekey by {}",
            if by_a { "A" } else { "B" }
        );
        // The answer reaches the initiator: installed with outbound at once, then the
        // delete of the old SA.
        let initiator = deliver_one(&mut w, !by_a);
        assert_eq!(initiator, vec!["child_rekeyed", "send"]);
        w.run();
        assert_eq!(w.a.fast_path.len(), 1);
        assert!(!w.a.fast_path.contains_key(&old.spi_in));
        w.assert_children_match();
    }
}
