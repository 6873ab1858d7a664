//! A standby node's table against a fast path that restarted: the SAs go in again inactive
//! with the seqnum records the active node synced, and only the HA takeover activates them.

use super::restart_tests::{record, StatefulFastpath, T0};
use super::tests::info;
use super::*;
use std::collections::BTreeSet;

#[test]
fn a_standby_replays_its_sas_inactive_with_their_records_and_activates_nothing() {
    let mut fp = StatefulFastpath::default();
    let mut t = SaTable::default();
    t.set_standby(true);
    let a = info(1, 1, 0x100, true);
    t.install(&mut fp, &a, None).unwrap();
    assert!(fp.sas.values().all(|s| !s.active));
    // The active node's records, as the standby applies them (generation 1: node 1's).
    t.apply_synced(
        &mut fp,
        vec![
            record(1, 0x100, Direction::In, 0, 300, 1),
            record(2, 0x1100, Direction::Out, 500, 0, 1),
        ],
    )
    .unwrap();

    // The standby's fast path restarts.
    let mut fp = StatefulFastpath::default();
    let r = t.resync(&mut fp, T0).unwrap();
    assert_eq!((r.replayed, r.lost.len()), (1, 0));
    assert!(
        fp.sas.values().all(|s| !s.active),
        "a standby's SAs stay inactive"
    );
    assert!(
        !fp.log.iter().any(|l| l.starts_with("sa_activate")),
        "{:?}",
        fp.log
    );
    // The records went in again: a takeover later starts from them.
    assert_eq!((fp.sa(2).oseq, fp.sa(1).top), (500, 300));
    assert_eq!(
        fp.log,
        [
            "sa_add 1 in 0x100 standby",
            "sa_add 2 out 0x1100 standby",
            "sa_sync 1,2",
            "sp_add in 1",
            "sp_add out 2",
        ]
    );
    // No generation taken: the HA layer hands one out at the takeover.
    assert_eq!(t.get(1, 1).unwrap().generation, 0);
}

#[test]
fn once_active_a_node_replays_its_sas_active_under_a_new_generation() {
    let mut fp = StatefulFastpath::default();
    let mut t = SaTable::default();
    t.set_standby(true);
    t.install(&mut fp, &info(1, 1, 0x100, true), None).unwrap();
    t.apply_synced(&mut fp, vec![record(2, 0x1100, Direction::Out, 500, 0, 1)])
        .unwrap();
    // The node took over (its SAs active under generation 2), then its fast path restarts.
    t.set_standby(false);
    if let Some(e) = t.children.get_mut(&(1, 1)) {
        e.generation = 2;
    }
    let mut fp = StatefulFastpath::default();
    assert_eq!(t.resync(&mut fp, T0).unwrap().replayed, 1);
    assert!(fp.sas.values().all(|s| s.active));
    assert_eq!(fp.sa(2).oseq, 500 + OSEQ_SHIFT);
    assert_eq!(
        fp.sa(2).generation,
        4,
        "above the takeover's and the records'"
    );
    // A node demoted again replays inactive, keeping that generation.
    t.set_standby(true);
    let mut fp = StatefulFastpath::default();
    assert_eq!(t.resync(&mut fp, T0).unwrap().replayed, 1);
    assert!(fp.sas.values().all(|s| !s.active));
    assert_eq!(t.get(1, 1).unwrap().generation, 4);
}

#[test]
fn following_some_ike_sas_touches_only_their_child_sas_and_finds_moved_ones_by_spi() {
    let mut fp = StatefulFastpath::default();
    let mut t = SaTable::default();
    t.set_standby(true);
    let (a, b) = (info(1, 1, 0x100, true), info(2, 1, 0x200, true));
    let f = t.follow(&mut fp, vec![(a.clone(), None), (b.clone(), None)]);
    assert_eq!(f.installed, [(0x100, 0x1100), (0x200, 0x1200)]);
    assert!(fp.sas.values().all(|s| !s.active));

    // IKE SA 1 lost its CHILD SA; IKE SA 2 was not touched, so it stays whatever `want` says.
    let only = |sa: IkeSaId| [sa].into_iter().collect::<BTreeSet<_>>();
    let f = t.follow_sas(&mut fp, &only(1), Vec::new());
    assert_eq!((f.installed.len(), f.removed), (0, vec![(0x100, 0x1100)]));
    assert!(t.get(2, 1).is_some() && t.get(1, 1).is_none());
    assert_eq!(fp.sas.len(), 2);

    // An IKE SA rekey moved B's CHILD SA to IKE SA 3 (as CHILD 4), and IKE SA 3 has a new one:
    // B keeps its fast path SAs under its new home, the new one goes in inactive.
    fp.log.clear();
    let mut moved = b.clone();
    (moved.child.sa, moved.child.id) = (3, 4);
    let c = info(3, 5, 0x300, true);
    let f = t.follow_sas(&mut fp, &only(3), vec![(moved, None), (c, None)]);
    assert_eq!((f.installed, f.removed.len()), (vec![(0x300, 0x1300)], 0));
    assert!(t.get(2, 1).is_none());
    let e = t.get(3, 4).unwrap();
    assert_eq!((e.sa_in, e.sa_out), (3, 4));
    assert_eq!(
        t.lookup_fp(4, Some(0x1200)).map(|(e, _)| (e.sa, e.child)),
        Some((3, 4))
    );
    assert_eq!(t.entries_by_spi(0x1200, Direction::Out).count(), 1);
    assert_eq!(t.entries_of(3).count(), 2);
    assert!(
        fp.log
            .iter()
            .all(|l| !l.contains("0x200") && !l.starts_with("sa_del")),
        "{:?}",
        fp.log
    );
    assert!(fp.sas.values().all(|s| !s.active));
    // A delete of IKE SA 3 takes both out.
    let f = t.follow_sas(&mut fp, &only(3), Vec::new());
    assert_eq!(f.removed.len(), 2);
    assert!(t.is_empty() && fp.sas.is_empty() && fp.policies.is_empty());
    assert_eq!(t.entries_by_spi(0x1200, Direction::Out).count(), 0);
}

#[test]
fn an_active_ha_node_replays_under_the_generation_its_ha_layer_hands_out() {
    let mut fp = StatefulFastpath::default();
    let mut t = SaTable::default();
    t.install(&mut fp, &info(1, 1, 0x100, true), None).unwrap();
    // The peer node (odd generations) sent under 7; this node (even) is told to use 4: the
    // SA's own rule (7 + 2 = 9) would take one of the peer's.
    t.note_synced(&[record(2, 0x1100, Direction::Out, 500, 0, 7)]);
    t.set_replay_generation(Some(4));
    let mut fp = StatefulFastpath::default();
    assert_eq!(t.resync(&mut fp, T0).unwrap().replayed, 1);
    assert!(fp.sas.values().all(|s| s.active && s.generation == 4));
    assert_eq!(t.get(1, 1).unwrap().generation, 4);
    assert_eq!(fp.sa(2).oseq, 500 + OSEQ_SHIFT);
}

#[test]
fn a_follow_pass_installs_together_and_settles_each_child_sa_alone() {
    let mut fp = StatefulFastpath::default();
    // Something else holds fast path ids 1 and 2: the first CHILD SA's SAs are refused.
    let mut other = SaTable::default();
    other
        .install(&mut fp, &info(9, 1, 0x900, true), None)
        .unwrap();
    let mut t = SaTable::default();
    t.set_standby(true);
    let (a, b) = (info(1, 1, 0x100, true), info(2, 1, 0x200, true));
    let sas: BTreeSet<_> = [1, 2].into();
    let out = t.follow_sas(&mut fp, &sas, vec![(a, None), (b, None)]);
    assert_eq!(out.installed, [(0x200, 0x1200)]);
    assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
    assert!(out.errors[0].contains("in use"), "{:?}", out.errors);
    // The refused one left nothing: its policies went, the other table's SAs stayed.
    assert!(t.get(1, 1).is_none());
    let e = t.get(2, 1).unwrap();
    assert_eq!((e.sa_in, e.sa_out), (3, 4));
    assert_eq!(fp.sas.keys().copied().collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert!(fp.sa(1).active && fp.sa(1).spec.spi == 0x900, "untouched");
    assert_eq!(fp.policies.len(), 4, "the other table's two and b's two");
    assert!(
        !fp.sa(3).active && !fp.sa(4).active,
        "a standby's SAs go in inactive"
    );
}
