//! Bulk sync: 100k IKE SAs and 200k snapshots between two in-memory nodes, a restart of
//! either node in the middle of one, and coalescing of updates during it.

use super::sim::{ike_sa, ms, snapshot, Rng, Sim};
use crate::{Record, SyncEvent};

const IKE_SAS: u64 = 100_000;
const SNAPSHOTS: u32 = 200_000;

/// Node 0 holds the whole state; node 1 joins empty.
fn loaded(seed: u64) -> Sim {
    let mut s = Sim::new(seed);
    let mut rng = Rng(seed);
    for n in 0..IKE_SAS {
        let r = ike_sa(n, 64 + (n % 200) as usize, &mut rng);
        s.callers[0].state.insert(r.key(), r);
    }
    for n in 0..SNAPSHOTS {
        let r = snapshot(n, u64::from(n) * 3);
        s.callers[0].state.insert(r.key(), r);
    }
    s
}

fn node1_has_node0_state(s: &Sim) {
    assert_eq!(s.callers[1].state.len(), s.callers[0].state.len());
    for (k, v) in &s.callers[0].state {
        assert_eq!(s.callers[1].state.get(k), Some(v));
    }
}

/// In sync only after every record of the bulk sync has been handed out.
fn in_sync_after_everything(s: &Sim, records: usize) {
    let ev = &s.callers[1].events;
    let at = ev
        .iter()
        .rposition(|e| matches!(e, SyncEvent::InSync { .. }))
        .expect("in sync");
    let applied_before = ev[..at]
        .iter()
        .filter(|e| matches!(e, SyncEvent::Apply(_)))
        .count();
    assert!(
        applied_before >= records,
        "{applied_before} applied before InSync, of {records}"
    );
}

#[test]
fn bulk_sync_of_100k_ike_sas_and_200k_snapshots() {
    let mut s = loaded(21);
    s.loss_per_mille = 5;
    s.jitter_ms = 2;
    assert!(s.run_until(ms(120_000), Sim::both_in_sync));
    node1_has_node0_state(&s);
    in_sync_after_everything(&s, (IKE_SAS + u64::from(SNAPSHOTS)) as usize);
    let st = s.nodes[1].status();
    assert!(st.in_sync);
    assert_eq!(st.counters.bulk_syncs_received, 1);
    assert_eq!(s.nodes[0].status().counters.bulk_syncs_served, 1);
}

#[test]
fn the_joiner_restarts_in_the_middle_of_a_bulk_sync() {
    let mut s = loaded(22);
    let total = s.callers[0].state.len();
    assert!(s.run_until(ms(60_000), |s| s.callers[1].applied.len() > total / 3));
    assert!(!s.nodes[1].in_sync());
    s.restart(1);
    s.callers[1].state.clear();
    assert!(s.run_until(ms(120_000), Sim::both_in_sync));
    node1_has_node0_state(&s);
    assert_eq!(s.callers[0].bulk_requests, 2, "the new boot asked again");
    in_sync_after_everything(&s, total);
}

#[test]
fn the_feeder_restarts_in_the_middle_of_a_bulk_sync() {
    let mut s = loaded(23);
    let total = s.callers[0].state.len();
    assert!(s.run_until(ms(60_000), |s| s.callers[1].applied.len() > total / 2));
    s.restart(0);
    assert!(!s.nodes[1].in_sync());
    assert!(s.run_until(ms(120_000), Sim::both_in_sync));
    node1_has_node0_state(&s);
    assert_eq!(
        s.count(1, |e| matches!(e, SyncEvent::InSync { .. })),
        1,
        "only the complete one"
    );
}

#[test]
fn updates_during_a_bulk_sync_coalesce_and_the_newest_wins() {
    let mut s = loaded(24);
    let mut updated = 0u32;
    let mut rng = Rng(99);
    while !s.both_in_sync() {
        // The caller keeps updating snapshots (and deleting IKE SAs) while the bulk runs.
        for _ in 0..20 {
            if !s.nodes[0].is_peer_up() {
                break;
            }
            let n = (rng.next() % u64::from(SNAPSHOTS)) as u32;
            let r = snapshot(n, u64::from(n) * 3 + 1_000_000 + u64::from(updated));
            if s.nodes[0].offer(r.clone()).is_ok() {
                s.callers[0].state.insert(r.key(), r);
                updated += 1;
            }
            let gone = rng.next() % IKE_SAS;
            let del = Record::IkeSaDeleted {
                spi_i: gone,
                spi_r: gone.rotate_left(32) | 1,
            };
            if s.nodes[0].offer(del.clone()).is_ok() {
                s.callers[0].state.insert(del.key(), del);
            }
        }
        s.step();
        assert!(s.now < ms(200_000));
    }
    // Drain what was offered after the bulk's end, then compare.
    s.run_for(ms(500));
    assert!(updated > 1000);
    node1_has_node0_state(&s);
}
