//! The channel: handshake, delivery over loss, duplication and reordering, paths going down
//! and up, the peer going down and coming back, back-pressure.

use super::sim::{config, ms, snapshot, Sim};
use crate::{Backpressure, PeerDownReason, PeerState, SyncEvent, SyncNode};

fn up(seed: u64) -> Sim {
    let mut s = Sim::new(seed);
    assert!(
        s.run_until(ms(500), Sim::both_in_sync),
        "handshake and empty bulk syncs"
    );
    s
}

/// Offers `n` records with distinct keys from node 0, as fast as the queue takes them, and
/// runs until node 1 has applied them all; they must come out exactly once, in order.
fn send_in_order(s: &mut Sim, n: u32, limit_ms: u64) {
    let base = s.callers[1].applied.len();
    let mut next = 0;
    while s.callers[1].applied.len() - base < n as usize {
        while next < n
            && s.nodes[0]
                .offer(snapshot(next, u64::from(next) + 1))
                .is_ok()
        {
            next += 1;
        }
        s.step();
        assert!(
            s.now < ms(1000 + limit_ms * 100),
            "stuck at {} of {n}",
            s.callers[1].applied.len() - base
        );
    }
    let want: Vec<_> = (0..n).map(|i| snapshot(i, u64::from(i) + 1)).collect();
    assert_eq!(s.callers[1].applied[base..], want[..]);
}

#[test]
fn handshake_brings_both_up_and_in_sync() {
    let s = up(1);
    for i in 0..2 {
        assert_eq!(s.count(i, |e| *e == SyncEvent::PeerUp), 1);
        assert_eq!(
            s.count(i, |e| matches!(e, SyncEvent::InSync { records: 0 })),
            1
        );
        assert_eq!(s.count(i, |e| matches!(e, SyncEvent::PathUp(_))), 2);
        let st = s.nodes[i].status();
        assert_eq!(st.peer, PeerState::Up);
        assert!(st.in_sync);
        assert!(st.paths.iter().all(|p| p.up));
        // Only the second copies (one per path after the first) are dropped, as replays.
        let r = &st.counters.rejected;
        assert_eq!(r.replayed + r.stale_stream, r.replayed);
        assert_eq!(
            r.forged + r.malformed + r.truncated + r.too_old + r.stale_session,
            0
        );
    }
}

#[test]
fn delivers_in_order_over_loss_duplication_and_reordering() {
    let mut s = up(2);
    s.loss_per_mille = 200;
    s.dup_per_mille = 100;
    s.jitter_ms = 20;
    send_in_order(&mut s, 20_000, 60_000);
    let c = &s.nodes[0].status().counters;
    assert!(c.chunks_retransmitted > 0, "loss made retransmissions");
    let r = &s.nodes[1].status().counters;
    assert!(
        r.rejected.replayed > 0,
        "the second copies (paths, duplicates) were dropped"
    );
    assert_eq!(
        r.rejected.forged + r.rejected.malformed + r.rejected.stale_stream,
        0
    );
    assert_eq!(
        s.count(0, |e| matches!(e, SyncEvent::PeerDown(_))),
        0,
        "20 % loss is survived"
    );
}

#[test]
fn one_path_down_loses_nothing_and_comes_back() {
    let mut s = up(3);
    s.cut = [[true, false], [true, false]];
    s.run_for(ms(1500));
    for i in 0..2 {
        assert_eq!(s.count(i, |e| *e == SyncEvent::PathDown(1)), 1);
        assert_eq!(s.count(i, |e| matches!(e, SyncEvent::PeerDown(_))), 0);
    }
    send_in_order(&mut s, 5000, 10_000);
    assert_eq!(
        s.nodes[0].status().counters.chunks_retransmitted,
        0,
        "the other path carried all"
    );
    s.cut = [[false; 2]; 2];
    s.run_for(ms(500));
    for i in 0..2 {
        assert_eq!(s.count(i, |e| *e == SyncEvent::PathUp(1)), 2);
        assert!(s.nodes[i].status().paths.iter().all(|p| p.up));
    }
}

#[test]
fn all_paths_down_then_resync() {
    let mut s = up(4);
    send_in_order(&mut s, 100, 1000);
    s.cut = [[true; 2]; 2];
    // The peer is down; what is offered meanwhile is dropped, not queued without bound.
    assert!(s.run_until(ms(3000), |s| !s.nodes[0].is_peer_up()
        && !s.nodes[1].is_peer_up()));
    for i in 0..2 {
        assert_eq!(
            s.count(i, |e| *e
                == SyncEvent::PeerDown(PeerDownReason::DeadInterval)),
            1
        );
        assert!(!s.nodes[i].in_sync());
    }
    // (Keys apart from the first 100: both sides feed each other, and which of two diverged
    // values wins is the caller's policy, not the channel's.)
    for n in 1000..11_000 {
        assert_eq!(s.nodes[0].offer(snapshot(n, 7)), Ok(()));
        s.callers[0]
            .state
            .insert(snapshot(n, 7).key(), snapshot(n, 7));
    }
    assert_eq!(
        s.nodes[0].status().counters.records_dropped_peer_down,
        10_000
    );
    s.cut = [[false; 2]; 2];
    assert!(
        s.run_until(ms(5000), Sim::both_in_sync),
        "resync after the paths return"
    );
    for i in 0..2 {
        assert_eq!(s.count(i, |e| *e == SyncEvent::PeerUp), 2);
    }
    // The bulk sync carried what was dropped while down.
    for n in 1000..11_000 {
        assert_eq!(
            s.callers[1].state.get(&snapshot(n, 7).key()),
            Some(&snapshot(n, 7))
        );
    }
}

#[test]
fn a_one_way_cut_resets_both_sides_and_resyncs() {
    let mut s = up(5);
    // Node 0 hears nothing: it declares the peer down; node 1 still hears node 0.
    s.cut = [[false, false], [true, true]];
    assert!(s.run_until(ms(3000), |s| !s.nodes[0].is_peer_up()));
    s.run_for(ms(100));
    // Node 1 saw node 0's new challenge: it reset its stream too (and opened a new one).
    assert_eq!(
        s.count(1, |e| *e == SyncEvent::PeerDown(PeerDownReason::PeerReset)),
        1
    );
    s.cut = [[false; 2]; 2];
    assert!(s.run_until(ms(3000), Sim::both_in_sync));
    send_in_order(&mut s, 1000, 2000);
}

#[test]
fn retransmission_bound_declares_the_peer_down() {
    let mut c = config(1);
    c.dead_interval = ms(60_000);
    c.hello_interval = ms(30_000);
    let mut b = config(2);
    b.dead_interval = ms(60_000);
    b.hello_interval = ms(30_000);
    let mut s = Sim::with_configs(6, c, b);
    assert!(s.run_until(ms(500), Sim::both_in_sync));
    s.cut = [[false, false], [true, true]];
    s.nodes[0].offer(snapshot(1, 1)).unwrap();
    assert!(s.run_until(ms(20_000), |s| !s.nodes[0].is_peer_up()));
    assert_eq!(
        s.count(0, |e| *e
            == SyncEvent::PeerDown(PeerDownReason::RetransmitBound)),
        1
    );
    // 100 ms doubling up to 800 ms, 8 retransmissions: about 4.5 s, well before 60 s.
    assert!(s.now < ms(1000 + 8000));
}

#[test]
fn a_slow_peer_pushes_back_and_never_blocks() {
    let mut slow = [config(1), config(2)];
    for c in &mut slow {
        c.dead_interval = ms(60_000);
        c.max_retransmits = 30;
    }
    let [a, b] = slow;
    let mut s = Sim::with_configs(7, a, b);
    assert!(s.run_until(ms(500), Sim::both_in_sync));
    // The peer hears us but its acks are lost: the window fills, then the queue.
    s.cut = [[false, false], [true, true]];
    let limit = config(1).queue_limit;
    let mut refused_at = None;
    for n in 0..200_000u32 {
        if s.nodes[0].offer(snapshot(n, 1)) == Err(Backpressure) {
            refused_at = Some(n);
            break;
        }
        if n % 2048 == 0 {
            s.step();
        }
    }
    let refused_at = refused_at.expect("the queue pushes back");
    assert!(
        s.nodes[0].is_peer_up(),
        "pushed back before the peer was declared down"
    );
    let st = s.nodes[0].status();
    assert_eq!(st.queued_records, limit);
    assert_eq!(st.chunks_in_flight, config(1).send_window);
    assert!(refused_at as usize > limit);
    assert_eq!(st.counters.backpressure, 1);
    assert!(!s.nodes[0].can_offer());
    let last = refused_at - 1;
    // Coalescing still goes through on a full queue: the newest snapshot replaces the queued.
    assert_eq!(s.nodes[0].offer(snapshot(last, 99)), Ok(()));
    assert!(s.nodes[0].status().counters.records_coalesced > 0);
}

#[test]
fn status_serialises() {
    let s = up(8);
    let json = serde_json::to_string(&s.nodes[0].status()).unwrap();
    for field in [
        "\"peer\":\"up\"",
        "\"in_sync\":true",
        "\"rejected\"",
        "\"paths\"",
    ] {
        assert!(json.contains(field), "{field} in {json}");
    }
}

#[test]
fn bad_configs_are_refused() {
    let mut c = config(1);
    c.paths = vec![1, 1];
    assert!(SyncNode::new(c, [0; 16], ms(0)).is_err());
    let mut c = config(1);
    c.key = zeroize::Zeroizing::new(b"short".to_vec());
    assert!(SyncNode::new(c, [0; 16], ms(0)).is_err());
    let mut c = config(1);
    c.dead_interval = c.hello_interval;
    assert!(SyncNode::new(c, [0; 16], ms(0)).is_err());
}

#[test]
fn all_acknowledged_tells_when_the_peer_has_everything() {
    let mut s = up(9);
    assert!(
        s.run_until(ms(100), |s| s.nodes[0].all_acknowledged()),
        "the bulk end is acked"
    );
    s.nodes[0].offer(snapshot(1, 1)).unwrap();
    assert!(!s.nodes[0].all_acknowledged(), "queued");
    s.step();
    assert!(!s.nodes[0].all_acknowledged(), "sent, not yet acknowledged");
    assert!(s.run_until(ms(100), |s| s.nodes[0].all_acknowledged()));
    assert_eq!(s.callers[1].applied.last(), Some(&snapshot(1, 1)));
    s.cut = [[true; 2]; 2];
    assert!(s.run_until(ms(3000), |s| !s.nodes[0].is_peer_up()));
    assert!(!s.nodes[0].all_acknowledged(), "nobody to acknowledge");
}
