//! `flush_half_open`: the negotiations that never completed go, on either side; established
//! SAs and their CHILD SAs stay; a standby flushes nothing.

use super::harness::*;
use crate::action::DownReason;
use crate::ha::HaRole;
use crate::sa::IkeState;

fn state(n: &Node, id: u64) -> Option<IkeState> {
    n.engine.sa(id).map(|s| s.state)
}

#[test]
fn only_what_never_completed_goes() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a, b);
    let up = w.establish();
    let up_b = w.b.sa_id();
    // A second IKE SA: B answers its IKE_SA_INIT, A's IKE_AUTH is lost (B half-open as
    // responder, A in IKE_AUTH as initiator).
    let auth = w.initiate();
    let init = w.wire.pop_front().expect("IKE_SA_INIT");
    w.deliver(init);
    let answer = w.wire.pop_front().expect("B's answer");
    w.deliver(answer);
    assert_eq!(w.wire.len(), 1, "A's IKE_AUTH request");
    w.wire.clear();
    // A third whose IKE_SA_INIT is lost: A in IKE_SA_INIT.
    let init_only = w.initiate();
    w.wire.clear();
    assert_eq!(state(&w.a, auth), Some(IkeState::AuthSent));
    assert_eq!(state(&w.a, init_only), Some(IkeState::SaInitSent));
    let half_b: Vec<u64> =
        w.b.engine
            .sa_ids()
            .into_iter()
            .filter(|id| state(&w.b, *id) == Some(IkeState::HalfOpen))
            .collect();
    assert_eq!(half_b.len(), 1);
    assert_eq!(w.b.engine.total_counters().half_open.current, 1);
    // Two new CHILD SAs on the established one: the first is sent, the second waits.
    assert!(w.a.engine.create_child(w.now, &mut w.rng, up, "net"));
    assert!(w.a.engine.create_child(w.now, &mut w.rng, up, "net"));
    w.collect();

    let f = w.a.engine.flush_half_open(w.now, &mut w.rng).unwrap();
    assert_eq!(f.initiator_ike_sas, vec![auth, init_only]);
    assert!(f.responder_ike_sas.is_empty());
    assert_eq!((f.child_requests, f.child_requests_in_flight), (1, 1));
    w.collect();
    assert_eq!(w.a.engine.sa_ids(), vec![up]);
    assert!(w
        .a
        .ike_down
        .iter()
        .all(|(id, r)| *r == DownReason::Deleted && [auth, init_only].contains(id)));
    // Nothing of the half-open ones went to B: only the CHILD SA in flight, which finishes.
    w.run();
    assert_eq!(w.a.engine.sa(up).unwrap().children.len(), 2);
    w.assert_children_match();

    let f = w.b.engine.flush_half_open(w.now, &mut w.rng).unwrap();
    assert_eq!(f.responder_ike_sas, half_b);
    assert!(f.initiator_ike_sas.is_empty());
    assert_eq!((f.child_requests, f.child_requests_in_flight), (0, 0));
    assert_eq!(w.b.engine.sa_ids(), vec![up_b]);
    assert_eq!(w.b.engine.total_counters().half_open.current, 0);
    // The established pair still works: a rekey and traffic selectors intact.
    assert!(w.a.engine.rekey_ike(w.now, &mut w.rng, up));
    w.run();
    assert_eq!(state(&w.a, up), Some(IkeState::Established));
    w.assert_children_match();
    // A second flush finds nothing.
    let f = w.a.engine.flush_half_open(w.now, &mut w.rng).unwrap();
    assert_eq!(f, Default::default());
}

#[test]
fn a_standby_flushes_nothing() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a, b);
    let id = w.initiate();
    w.wire.clear();
    w.a.engine.set_role(HaRole::Standby, w.now, &mut w.rng);
    assert_eq!(w.a.engine.flush_half_open(w.now, &mut w.rng), None);
    assert_eq!(state(&w.a, id), Some(IkeState::SaInitSent));
}
