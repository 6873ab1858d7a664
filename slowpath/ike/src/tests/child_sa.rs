//! CREATE_CHILD_SA for CHILD SAs: more children, rekeys with and without PFS, lifetimes.

use std::time::Duration;

use super::harness::*;
use crate::action::{DownReason, Event};
use crate::config::{ChildConfig, IkeConfig, Lifetimes, StartAction};
use crate::crypto::transform::{ECP_256, MODP_2048};
use crate::message::NotifyType;

fn second_child(a: &mut IkeConfig, b: &mut IkeConfig) {
    let mut ca = ChildConfig::new("net2", vec![ts("10.3.0.0", 16)], vec![ts("10.4.0.0", 16)]);
    ca.start_action = StartAction::None;
    a.children.push(ca);
    b.children.push(ChildConfig::new(
        "net2",
        vec![ts("10.4.0.0", 16)],
        vec![ts("10.3.0.0", 16)],
    ));
}

#[test]
fn another_child_on_the_ike_sa() {
    let (mut a, mut b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    second_child(&mut a, &mut b);
    let mut w = World::new(a, b);
    let id = w.establish();
    assert_eq!(w.a.fast_path.len(), 1);
    assert!(w.a.engine.create_child(w.now, &mut w.rng, id, "net2"));
    w.run();
    assert_eq!(w.a.fast_path.len(), 2);
    w.assert_children_match();
    let c2 = w.a.fast_path.values().find(|c| c.config == "net2").unwrap();
    assert_eq!(c2.local_ts, vec![ts("10.3.0.0", 16)]);
    let st = &w.b.engine.status(w.now)[0];
    assert_eq!(st.children.len(), 2);
}

fn rekey_and_check(mut w: World) -> World {
    let id = w.establish();
    let old = w.a.only_child().child;
    assert!(w.a.engine.rekey_child(w.now, &mut w.rng, id, old.id));
    w.run();
    assert_eq!(w.a.rekeyed.len(), 1);
    assert_eq!(w.b.rekeyed.len(), 1);
    assert_eq!(w.a.rekeyed[0].0, old);
    assert_eq!(w.b.rekeyed[0].0.spi_in, old.spi_out);
    let new = w.a.only_child().child;
    assert_ne!(new.spi_in, old.spi_in);
    assert_eq!(w.a.child_down, vec![(old, DownReason::Rekeyed)]);
    assert_eq!(w.b.child_down.len(), 1);
    assert_eq!(w.b.child_down[0].1, DownReason::Rekeyed);
    w.assert_children_match();
    w
}

#[test]
fn rekey_without_pfs() {
    let (a, b) = configs(ike_cbc_modp1024(), esp_cbc());
    let w = rekey_and_check(World::new(a, b));
    // No KE in the request: it is about as small as the SA, nonce and selectors make it.
    let req = &w.a.sent[2];
    assert!(req.bytes.len() < 300, "{}", req.bytes.len());
}

#[test]
fn rekey_with_pfs() {
    let pfs = crate::crypto::transform::Suite {
        dh: Some(ECP_256),
        ..esp_gcm(128)
    };
    let (a, b) = configs(ike_gcm128_ecp256(), pfs);
    let w = rekey_and_check(World::new(a, b));
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let plain = rekey_and_check(World::new(a, b));
    // A KE payload (8 + 64 octets of ECP-256) and a D-H transform (8) more than without.
    assert_eq!(w.a.sent[2].bytes.len(), plain.a.sent[2].bytes.len() + 80);
}

#[test]
fn pfs_mismatch_keeps_the_old_child() {
    let (a, _) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let pfs = crate::crypto::transform::Suite {
        dh: Some(ECP_256),
        ..esp_gcm(128)
    };
    let (_, b) = configs(ike_gcm128_ecp256(), pfs);
    let mut w = World::new(a, b);
    let id = w.establish();
    // IKE_AUTH has no key exchange, so the first child is fine.
    let old = w.a.only_child().child;
    w.a.engine.rekey_child(w.now, &mut w.rng, id, old.id);
    w.run();
    assert!(w.a.has_event(|e| matches!(
        e,
        Event::ChildFailed {
            notify: NotifyType::NO_PROPOSAL_CHOSEN,
            ..
        }
    )));
    assert_eq!(w.a.only_child().child, old);
    w.assert_children_match();
}

#[test]
fn pfs_invalid_ke_retry() {
    let pfs = |g| crate::crypto::transform::Suite {
        dh: Some(g),
        ..esp_gcm(128)
    };
    let (mut a, mut b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    a.esp_proposals = vec![pfs(ECP_256), pfs(MODP_2048)];
    b.esp_proposals = vec![pfs(MODP_2048)];
    let w = rekey_and_check(World::new(a, b));
    assert_eq!(w.a.only_child().suite.dh, Some(MODP_2048));
}

#[test]
fn lifetimes_rekey_then_expire() {
    let (mut a, mut b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    a.children[0].lifetimes = Lifetimes {
        rekey_time: Duration::from_secs(100),
        life_time: Duration::from_secs(120),
        jitter: Duration::from_secs(10),
        ..Lifetimes::default()
    };
    b.children[0].lifetimes = Lifetimes {
        rekey_time: Duration::ZERO,
        life_time: Duration::from_secs(500),
        jitter: Duration::ZERO,
        ..Lifetimes::default()
    };
    let mut w = World::new(a, b);
    w.establish();
    let start = w.now;
    let rekey_at = w.a.only_child().rekey_at.unwrap();
    assert!(
        rekey_at >= start + Duration::from_secs(90) && rekey_at <= start + Duration::from_secs(100)
    );
    w.pass(Duration::from_secs(89));
    assert!(w.a.rekeyed.is_empty());
    w.pass(Duration::from_secs(12));
    assert_eq!(w.a.rekeyed.len(), 1);
    assert_eq!(w.b.rekeyed.len(), 1);
    w.assert_children_match();
    assert_eq!(w.a.fast_path.len(), 1);
    // Each new child gets fresh deadlines: several rekeys over time, one SA at a time.
    w.pass(Duration::from_secs(300));
    assert!(w.a.rekeyed.len() >= 3);
    assert_eq!(w.a.fast_path.len(), 1);
    w.assert_children_match();
}

#[test]
fn hard_lifetime_deletes() {
    let (mut a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    a.children[0].lifetimes = Lifetimes {
        rekey_time: Duration::ZERO,
        life_time: Duration::from_secs(50),
        jitter: Duration::ZERO,
        ..Lifetimes::default()
    };
    let mut w = World::new(a, b);
    w.establish();
    let c = w.a.only_child().child;
    w.pass(Duration::from_secs(51));
    assert_eq!(w.a.child_down, vec![(c, DownReason::Expired)]);
    assert!(w.b.fast_path.is_empty());
    assert!(w.a.ike_down.is_empty());
    // The fast path's own hard lifetime does the same.
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a, b);
    let id = w.establish();
    let c = w.a.only_child().child;
    w.a.engine.expire_child(w.now, &mut w.rng, id, c.id);
    w.run();
    assert_eq!(w.a.child_down, vec![(c, DownReason::Expired)]);
    assert!(w.b.fast_path.is_empty());
}

/// A responder has a new CHILD SA in the fast path before its answer leaves (the initiator
/// may send on it as soon as the answer arrives): the one of IKE_AUTH and one of
/// CREATE_CHILD_SA.
#[test]
fn responder_installs_before_answering() {
    let (mut a, mut b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    second_child(&mut a, &mut b);
    let mut w = World::new(a, b);
    let id = w.initiate();
    // IKE_SA_INIT, then IKE_AUTH.
    let req = w.wire.pop_front().unwrap();
    w.deliver(req);
    let resp = w.wire.pop_front().unwrap();
    w.deliver(resp);
    let auth = w.wire.pop_front().unwrap();
    w.b.log.clear();
    w.deliver(auth);
    assert_eq!(w.b.log, vec!["ike_up", "child_up", "send"]);
    w.run();
    assert!(w.a.engine.create_child(w.now, &mut w.rng, id, "net2"));
    w.collect();
    let req = w.wire.pop_front().unwrap();
    w.b.log.clear();
    w.deliver(req);
    assert_eq!(w.b.log, vec!["child_up", "send"]);
    w.run();
    assert_eq!(w.a.fast_path.len(), 2);
    w.assert_children_match();
}
