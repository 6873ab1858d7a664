//! A standby node's table against a fast path that restarted: the SAs go in again inactive
//! with the seqnum records the active node synced, and only the HA takeover activates them.

use super::restart_tests::{record, StatefulFastpath, T0};
use super::tests::info;
use super::*;

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
