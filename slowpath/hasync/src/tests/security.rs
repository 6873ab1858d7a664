//! Forged, replayed, truncated, reordered-too-old, wrong-version, stale datagrams: rejected,
//! counted, never applied.

use super::sim::{config, ms, snapshot, Sim, KEY};
use crate::wire::HEADER_LEN;
use crate::{RejectCounters, SyncConfig, SyncNode};

fn up_with_capture(seed: u64) -> Sim {
    let mut s = Sim::new(seed);
    s.keep_sent = true;
    assert!(s.run_until(ms(500), Sim::both_in_sync));
    s
}

/// Node 0 sends one record; returns the datagram that carried it (first path's copy).
fn carrying_datagram(s: &mut Sim, n: u32) -> Vec<u8> {
    let before = s.sent[0].len();
    s.nodes[0].offer(snapshot(n, 5)).unwrap();
    let applied = s.callers[1].applied.len();
    assert!(s.run_until(ms(200), |s| s.callers[1].applied.len() > applied));
    let largest = s.sent[0][before..]
        .iter()
        .max_by_key(|(_, b)| b.len())
        .unwrap();
    largest.1.clone()
}

fn rejected(s: &Sim) -> RejectCounters {
    s.nodes[1].status().counters.rejected
}

#[test]
fn forged_replayed_truncated_and_wrong_version_are_rejected_unapplied() {
    let mut s = up_with_capture(11);
    let d = carrying_datagram(&mut s, 1);
    let applied = s.callers[1].applied.len();

    let replayed = rejected(&s).replayed;
    s.inject(1, 1, d.clone());
    assert_eq!(rejected(&s).replayed, replayed + 1, "a replay");

    // A datagram node 1 has not seen yet, taken off node 0 before the network has it.
    s.nodes[0].offer(snapshot(2, 5)).unwrap();
    let (path, fresh) = s.nodes[0].poll_transmit().unwrap();
    let mut flipped = fresh.clone();
    *flipped.last_mut().unwrap() ^= 0x80;
    s.inject(1, path, flipped);
    let mut body = fresh.clone();
    body[HEADER_LEN] ^= 1;
    s.inject(1, path, body);
    let mut hdr = d.clone();
    hdr[HEADER_LEN - 4] ^= 1; // a seq far ahead: the AAD and nonce change, the tag fails
    s.inject(1, 1, hdr);
    assert_eq!(
        rejected(&s).forged,
        3,
        "a flipped tag bit, ciphertext bit, header bit"
    );
    assert_eq!(s.callers[1].applied.len(), applied, "nothing applied");
    // The forgeries did not use up its number: the genuine one still goes through.
    s.inject(1, path, fresh);
    assert_eq!(s.callers[1].applied.len(), applied + 1);
    let applied = applied + 1;

    for cut in [0, 1, 10, HEADER_LEN, HEADER_LEN + 15] {
        s.inject(1, 1, d[..cut].to_vec());
    }
    assert_eq!(rejected(&s).truncated, 5);
    s.inject(1, 1, d[..d.len() - 1].to_vec());
    assert_eq!(
        rejected(&s).forged,
        3,
        "one byte short: the tag does not match"
    );

    let mut v2 = d.clone();
    v2[0] = 2;
    s.inject(1, 1, v2);
    assert_eq!(rejected(&s).wrong_version, 1);

    let mut own = d.clone();
    own[1] = 2; // claims to come from the receiver itself
    s.inject(1, 1, own);
    assert_eq!(rejected(&s).bad_sender, 1);

    assert_eq!(s.callers[1].applied.len(), applied, "nothing applied");
    // And the channel goes on.
    carrying_datagram(&mut s, 3);
    assert!(s.callers[1].applied.len() > applied);
}

#[test]
fn a_node_with_another_key_is_forged() {
    let mut s = up_with_capture(12);
    let mut other = config(1);
    other.key = zeroize::Zeroizing::new(b"not the sync key at all, 32 b!!!".to_vec());
    assert_ne!(&other.key[..], KEY);
    let mut intruder = SyncNode::new(other, [0xee; 16], s.now).unwrap();
    for _ in 0..3 {
        let (_, d) = intruder.poll_transmit().unwrap();
        s.inject(1, 1, d);
        intruder.handle_timeout(s.now + ms(300));
    }
    assert_eq!(rejected(&s).forged, 3);
    assert!(s.nodes[1].is_peer_up(), "the real peer is not displaced");
}

#[test]
fn reordered_too_old_is_rejected() {
    let mut s = up_with_capture(13);
    let old = carrying_datagram(&mut s, 1);
    // More than the 4096-datagram anti-replay window later.
    for n in 0..5000 {
        s.nodes[0].offer(snapshot(10 + n, 1)).unwrap();
        s.step();
    }
    let applied = s.callers[1].applied.len();
    s.inject(1, 1, old);
    assert_eq!(rejected(&s).too_old, 1);
    assert_eq!(s.callers[1].applied.len(), applied);
}

#[test]
fn an_old_session_is_refused_after_the_peer_restarted() {
    let mut s = up_with_capture(14);
    let old = carrying_datagram(&mut s, 1);
    let old_hello = s.sent[0][0].1.clone();
    s.restart(0);
    assert!(s.run_until(ms(3000), Sim::both_in_sync));
    assert_eq!(s.nodes[1].status().counters.peer_up, 2);
    let applied = s.callers[1].applied.len();
    s.inject(1, 1, old);
    s.inject(1, 2, old_hello);
    assert_eq!(rejected(&s).stale_session, 2);
    assert_eq!(s.callers[1].applied.len(), applied);
    assert!(s.nodes[1].is_peer_up());
}

#[test]
fn datagrams_of_an_earlier_stream_are_not_applied_to_the_next() {
    let mut s = up_with_capture(15);
    // Node 0's datagrams are lost while it keeps sending: node 1 never saw these.
    s.cut = [[true, true], [false, false]];
    let unseen_from = s.sent[0].len();
    for n in 0..20 {
        s.nodes[0].offer(snapshot(100 + n, 1)).unwrap();
        s.step();
    }
    assert!(s.run_until(ms(3000), |s| !s.nodes[1].is_peer_up()));
    s.cut = [[false; 2]; 2];
    assert!(s.run_until(ms(3000), Sim::both_in_sync));
    let applied = s.callers[1].applied.len();
    let unseen: Vec<_> = s.sent[0][unseen_from..unseen_from + 40].to_vec();
    for (path, d) in unseen {
        s.inject(1, path, d);
    }
    let r = rejected(&s);
    assert!(r.stale_stream > 0, "{r:?}");
    assert_eq!(
        s.callers[1].applied.len(),
        applied,
        "none of the old stream's records"
    );
}

#[test]
fn keys_and_nonces_never_repeat_across_a_restart() {
    // A restarted node starts its counter at 0 again, under a key of its new session: the
    // first datagrams of both boots share (node, counter) but not the ciphertext's keystream.
    let c: SyncConfig = config(1);
    let mut a = SyncNode::new(c.clone(), [1; 16], ms(0)).unwrap();
    let mut b = SyncNode::new(c, [2; 16], ms(0)).unwrap();
    let (_, da) = a.poll_transmit().unwrap();
    let (_, db) = b.poll_transmit().unwrap();
    assert_eq!(
        da[HEADER_LEN - 8..HEADER_LEN],
        db[HEADER_LEN - 8..HEADER_LEN],
        "both counter 0"
    );
    assert_eq!(da.len(), db.len());
    assert_ne!(
        da[HEADER_LEN..],
        db[HEADER_LEN..],
        "same plaintext, another key"
    );
}

#[test]
fn a_dead_session_that_heard_us_cannot_displace_the_live_one() {
    let mut s = Sim::new(16);
    s.keep_sent = true;
    // Node 1's first boot hears node 0 (and echoes its challenge) but is never heard.
    s.cut = [[false, false], [true, true]];
    s.run_for(ms(300));
    let dead_boot: Vec<_> = s.sent[1].clone();
    assert!(dead_boot.len() > 2);
    s.restart(1);
    s.cut = [[false; 2]; 2];
    assert!(s.run_until(ms(1000), Sim::both_in_sync));
    // Its datagrams, replayed: authentic, echoing a challenge node 0 had, and refused.
    for (path, d) in dead_boot {
        s.inject(0, path, d);
    }
    assert!(s.nodes[0].is_peer_up());
    assert_eq!(
        s.count(0, |e| matches!(e, crate::SyncEvent::PeerDown(_))),
        0
    );
    assert_eq!(s.nodes[0].status().counters.peer_up, 1);
    s.nodes[0].offer(snapshot(1, 1)).unwrap();
    assert!(
        s.run_until(ms(200), |s| !s.callers[1].applied.is_empty()),
        "the live one still works"
    );
}
