//! A (the remote peer) and B (our active node) set up an ISAKMP SA and an IPsec SA pair;
//! B's record goes to C, a standby engine; B falls and C takes over. A then sees the same
//! SA carry on: Quick Modes, DPD and deletes under the same cookies.

use std::time::Duration;

use crate::action::{ChildId, DropReason, IkeSaId};
use crate::config::IkeConfig;
use crate::crypto::transform::MODP_2048;
use crate::ha::HaRole;
use crate::tests::harness::esp_cbc;
use crate::v1::engine::V1Engine;
use crate::v1::engine_tests::{assert_mirrored, pair_configs, World};
use crate::v1::informational;
use crate::v1::record::IsakmpSaRecord;
use crate::v1::wire::{doi, notify_type, protocol, Notification, Payload};

/// An established pair, and B's configuration for the standby.
fn established(pfs: bool) -> (World, IkeConfig) {
    let mut esp = esp_cbc();
    if pfs {
        esp.dh = Some(MODP_2048);
    }
    let (a, b) = pair_configs(esp);
    let mut w = World::new(a, b.clone());
    w.initiate();
    w.run();
    assert_eq!((w.seen_a.children.len(), w.seen_b.children.len()), (1, 1));
    (w, b)
}

fn only_sa(e: &V1Engine) -> IkeSaId {
    let ids = e.sa_ids();
    assert_eq!(ids.len(), 1);
    ids[0]
}

/// B's SA through the wire format into a new standby engine, which then replaces B.
fn fail_over(w: &mut World, b_config: &IkeConfig) -> IsakmpSaRecord {
    let changes = w.b.take_changed();
    let id = only_sa(&w.b);
    assert!(changes.changed.contains(&id));
    let record = w.b.export_sa(id, w.now).expect("established");
    let bytes = record.encode();
    let mut c = V1Engine::new(std::slice::from_ref(b_config));
    c.set_role(HaRole::Standby, w.now, &mut w.rng);
    // Later on the standby's clock.
    w.now += Duration::from_millis(300);
    let imported = c
        .import_sa(IsakmpSaRecord::decode(&bytes).unwrap(), w.now)
        .unwrap();
    // Passive: no timer, nothing answered.
    assert_eq!(c.poll_timeout(), None);
    assert!(c.poll_action().is_none());
    assert_eq!(
        c.sa(imported).unwrap().cookies(),
        w.b.sa(id).unwrap().cookies()
    );
    c.set_role(HaRole::Active, w.now, &mut w.rng);
    w.b = c;
    record
}

/// A sends R-U-THERE on its SA; the answers that come back (authenticated by A).
fn probe(w: &mut World) -> usize {
    let id = only_sa(&w.a);
    let sent = w.a.with_sa(id, w.now, &mut w.rng, |sa, ctx| {
        let n = Notification {
            doi: doi::IPSEC,
            protocol: protocol::ISAKMP,
            spi: [sa.icookie, sa.rcookie].concat(),
            kind: notify_type::R_U_THERE,
            data: 7u32.to_be_bytes().to_vec(),
        };
        assert!(informational::send(sa, ctx, vec![Payload::Notify(n)]));
    });
    assert!(sent);
    let a_addr = w.a_addr;
    let mut answers = 0;
    w.run_with(|p| {
        answers += usize::from(p.to == a_addr);
        Some(p)
    });
    answers
}

fn a_child(w: &World) -> (IkeSaId, ChildId) {
    let c = &w.seen_a.children.last().unwrap().child;
    (c.sa, c.id)
}

#[test]
fn the_standby_carries_the_sa_on_quick_mode_and_dpd() {
    let (mut w, b_config) = established(true);
    let cookies = w.a.sa(only_sa(&w.a)).unwrap().cookies();
    let record = fail_over(&mut w, &b_config);
    assert_eq!(record.ipsec_sas.len(), 1);
    let dropped_a = w.a.total_counters().total_dropped();
    // A rekeys its IPsec SA with a PFS Quick Mode: the new active node answers it under the
    // synced phase 1 IV chain and SKEYID_d / SKEYID_a.
    let (sa, child) = a_child(&w);
    assert!(w.a.rekey_child(w.now, &mut w.rng, sa, child));
    w.run();
    assert_eq!(w.seen_a.rekeyed, 1);
    let new_b = w.b.sa(only_sa(&w.b)).unwrap();
    let b_new = new_b
        .children
        .iter()
        .find(|c| c.spi_out == w.seen_a.children[1].child.spi_in);
    assert!(b_new.is_some(), "the new active node holds the new pair");
    // And answers a DPD probe.
    assert_eq!(probe(&mut w), 1);
    // The probe was made by hand, not by A's DPD: A drops the ACK (RFC 3706, an ACK with no
    // R-U-THERE of its own outstanding), after authenticating it under the synced keys.
    assert_eq!(w.a.total_counters().total_dropped(), dropped_a + 1);
    assert_eq!(
        w.a.total_counters().dropped(DropReason::UnexpectedResponse),
        1
    );
    assert_eq!(w.b.total_counters().total_dropped(), 0);
    assert_eq!(w.a.sa(only_sa(&w.a)).unwrap().cookies(), cookies);
    assert_eq!(w.b.sa(only_sa(&w.b)).unwrap().cookies(), cookies);
    assert!(w.seen_a.down.is_empty());
}

#[test]
fn a_quick_mode_of_ours_in_flight_is_sent_again_after_the_takeover() {
    let (mut w, b_config) = established(false);
    // B starts a Quick Mode; its first message is lost as B falls.
    let b_sa = only_sa(&w.b);
    let b_child = w.b.sa(b_sa).unwrap().children[0].id;
    assert!(w.b.rekey_child(w.now, &mut w.rng, b_sa, b_child));
    w.collect();
    let lost = std::mem::take(&mut w.wire);
    assert_eq!(lost.len(), 1);
    let record = fail_over(&mut w, &b_config);
    assert_eq!(record.quick_modes.len(), 1);
    let mid = record.quick_modes[0].message_id;
    // The takeover resends it at once, under the same message ID; A answers and both
    // install the new pair.
    w.advance(Duration::ZERO);
    w.collect();
    assert_eq!(w.wire.len(), 1);
    assert_eq!(w.wire[0].bytes, lost[0].bytes);
    let header = crate::v1::wire::parse_header(&w.wire[0].bytes).unwrap();
    assert_eq!(header.message_id, mid);
    w.run();
    assert_eq!(w.seen_a.children.len(), 2);
    let b = w.b.sa(only_sa(&w.b)).unwrap();
    let newest = b.children.iter().max_by_key(|c| c.id).unwrap();
    assert_eq!(newest.spi_out, w.seen_a.children[1].child.spi_in);
    assert_eq!(w.a.total_counters().total_dropped(), 0);
}

#[test]
fn a_quick_mode_answered_by_the_old_node_goes_in_at_the_takeover() {
    let (mut w, b_config) = established(false);
    // A's rekey: B answers, A installs and sends HASH(3), which B never gets.
    let (sa, child) = a_child(&w);
    assert!(w.a.rekey_child(w.now, &mut w.rng, sa, child));
    w.collect();
    let first = w.wire.pop().unwrap();
    w.deliver(first);
    w.collect();
    let answer = w.wire.pop().unwrap();
    let record = fail_over(&mut w, &b_config);
    assert_eq!(record.quick_modes.len(), 1);
    assert!(record.quick_modes[0].pending.is_some());
    // The takeover put the pair in (the mirror of A's, once A has it).
    w.collect();
    assert_eq!(w.seen_b.children.len(), 2);
    w.deliver(answer);
    w.run();
    assert_eq!(w.seen_a.children.len(), 2);
    assert_mirrored(&w.seen_a.children[1], &w.seen_b.children[1]);
    // HASH(3) reached the new node after the fact: dropped as an old message, nothing else.
    let b = w.b.total_counters();
    assert_eq!(b.total_dropped(), b.dropped(DropReason::OldRequest));
}

#[test]
fn deletes_and_a_demotion() {
    let (mut w, _) = established(false);
    let id = only_sa(&w.b);
    let cookies = w.b.sa(id).unwrap().cookies();
    let record = w.b.export_sa(id, w.now).unwrap();
    let mut c = V1Engine::new(&[]);
    // A standby without the connection refuses the record.
    assert!(c.import_sa(record.clone(), w.now).is_err());
    // Importing twice replaces, under the same id.
    let (_, b_config) = established(false);
    let mut c = V1Engine::new(&[b_config]);
    c.set_role(HaRole::Standby, w.now, &mut w.rng);
    let first = c.import_sa(record.clone(), w.now).unwrap();
    assert_eq!(c.import_sa(record, w.now).unwrap(), first);
    assert_eq!(c.sa_ids(), vec![first]);
    assert_eq!(c.remove_sa_by_cookies(cookies.0, cookies.1), Some(first));
    assert!(c.sa_ids().is_empty());
    // On the active node a delete names the cookies gone.
    w.b.take_changed();
    assert!(w.b.delete_sa(w.now, &mut w.rng, id));
    assert_eq!(w.b.take_changed().removed, vec![cookies]);
    // A demoted engine stops: no timers, no answers.
    w.a.set_role(HaRole::Standby, w.now, &mut w.rng);
    assert_eq!(w.a.poll_timeout(), None);
    assert!(w.a.initiate(w.now, &mut w.rng, "to-b").is_none());
}
