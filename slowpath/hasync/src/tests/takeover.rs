//! The sync around a takeover, as the daemon will drive it: the record of a rekey
//! acknowledged before the master dies, IV generations handed over through the sync, the old
//! master rejoining as the receiver; a master dying in the middle of a bulk sync.

use super::sim::{ike_sa, ms, Rng, Sim};
use crate::{IvAllocator, IvGenerations, NodeId, Record, RecordKey, SyncEvent};

fn synced_generations(s: &Sim, i: usize) -> IvGenerations {
    match s.callers[i].state.get(&RecordKey::IvGenerations) {
        Some(Record::IvGenerations { highest }) => IvGenerations { highest: *highest },
        _ => IvGenerations::default(),
    }
}

#[test]
fn takeover_right_after_a_rekey_then_the_old_master_rejoins() {
    let nodes = [NodeId::new(1).unwrap(), NodeId::new(2).unwrap()];
    let mut gens = nodes.map(|n| IvAllocator::new(n, IvGenerations::default()));
    let mut s = Sim::new(31);
    let mut rng = Rng(31);
    // Node 0 is the master: it took a generation (persisted as `disk0`) and holds the SAs.
    let (g0, disk0) = gens[0].take_over().unwrap();
    let iv = Record::IvGenerations {
        highest: disk0.highest,
    };
    s.callers[0].state.insert(iv.key(), iv);
    for n in 0..100 {
        let r = ike_sa(n, 300, &mut rng);
        s.callers[0].state.insert(r.key(), r);
    }
    assert!(s.run_until(ms(2000), Sim::both_in_sync));

    // A rekey: the new state is offered, and the IKE answer waits for its acknowledgement.
    let rekeyed = Record::IkeSa {
        spi_i: 7,
        spi_r: 7u64.rotate_left(32) | 1,
        state: vec![0xaa; 400],
    };
    s.callers[0].state.insert(rekeyed.key(), rekeyed.clone());
    s.nodes[0].offer(rekeyed.clone()).unwrap();
    assert!(s.run_until(ms(500), |s| s.nodes[0].all_acknowledged()));
    // kill -9 of the master, right then.
    s.cut = [[true; 2]; 2];
    assert_eq!(s.callers[1].state.get(&rekeyed.key()), Some(&rekeyed));

    // Node 1 takes over with a generation no node has used, and says so.
    gens[1].merge(&synced_generations(&s, 1));
    let (g1, disk1) = gens[1].take_over().unwrap();
    assert_ne!(g1, g0);
    let iv = Record::IvGenerations {
        highest: disk1.highest,
    };
    s.callers[1].state.insert(iv.key(), iv);
    assert!(s.run_until(ms(3000), |s| !s.nodes[1].is_peer_up()));

    // The old master comes back: a new process with only what it persisted.
    s.restart(0);
    s.callers[0].state.clear();
    gens[0] = IvAllocator::new(nodes[0], disk0);
    s.cut = [[false; 2]; 2];
    assert!(s.run_until(ms(3000), Sim::both_in_sync));
    assert_eq!(s.callers[0].state.get(&rekeyed.key()), Some(&rekeyed));
    assert_eq!(
        s.callers[0].state.len(),
        101,
        "every SA and the IV generations"
    );

    // It takes the master role back: a generation above both nodes' and of its own parity.
    gens[0].merge(&synced_generations(&s, 0));
    let (g2, _) = gens[0].take_over().unwrap();
    assert!(g2 > g0 && g2 != g1, "{g0} {g1} {g2}");
}

#[test]
fn a_master_dying_in_the_middle_of_a_bulk_sync_leaves_the_joiner_not_in_sync() {
    let mut s = Sim::new(32);
    let mut rng = Rng(32);
    for n in 0..20_000 {
        let r = ike_sa(n, 200, &mut rng);
        s.callers[0].state.insert(r.key(), r);
    }
    assert!(s.run_until(ms(10_000), |s| s.callers[1].applied.len() > 5000));
    s.cut = [[true; 2]; 2];
    assert!(s.run_until(ms(3000), |s| !s.nodes[1].is_peer_up()));
    assert!(!s.nodes[1].in_sync());
    let st = s.nodes[1].status();
    assert!(!st.in_sync && !st.bulk.receiving);
    assert_eq!(st.counters.bulk_syncs_received, 0);
    assert_eq!(s.count(1, |e| matches!(e, SyncEvent::InSync { .. })), 0);
    // (Node 0 got node 1's bulk sync, empty, complete at once.)
    assert_eq!(
        s.count(0, |e| matches!(e, SyncEvent::InSync { records: 0 })),
        1
    );
}
