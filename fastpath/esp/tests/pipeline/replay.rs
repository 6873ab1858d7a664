//! Anti-replay through the pipeline (RFC 4303 §3.4.3): replays, packets left of the window,
//! forged packets that must not move the window, and ESN across 2^32.

use crate::common::Rng;
use crate::util::*;
use esp::counters::DropReason;
use esp::sa::SaId;
use esp::verdict::Verdict;

/// A sender and a receiver with one SA pair; the receiver's window is `window` packets.
fn link(tf: Tf, mode: ModeKind, esn: bool, window: u32, rng: &mut Rng) -> (Node, Node, SaId, SaId) {
    let keys = tf.keys(rng);
    let (o, mut i) = sa_pair(0x4000, &keys, mode, esn, false);
    i.replay_window = window;
    let mut tx = Node::quiet();
    let mut rx = Node::quiet();
    let o = tx.add(1, o);
    let i = rx.add(2, i);
    (tx, rx, o, i)
}

#[test]
fn replayed_packet_is_dropped_and_counted() {
    let mut rng = Rng::new(0x5e1);
    for tf in transforms() {
        let (mut tx, mut rx, o, i) = link(tf, ModeKind::T44, false, 64, &mut rng);
        let pkts = tx.seal_many(ModeKind::T44, o, 5, &mut rng);
        for (_, e) in &pkts {
            assert_eq!(rx.open(e).0, Verdict::Forward);
        }
        for (_, e) in &pkts {
            assert_eq!(rx.open(e).0, Verdict::Drop(DropReason::Replay), "{tf:?}");
        }
        assert_eq!(rx.drops(DropReason::Replay), 5);
        assert_eq!(rx.sa_drops(i, DropReason::Replay), 5);
        assert_eq!(rx.lc.counters.decrypted, 5);
        assert_eq!(rx.top(i), 5);
    }
}

#[test]
fn older_than_the_window_is_outside_window() {
    let mut rng = Rng::new(0x5e2);
    let (mut tx, mut rx, o, i) = link(GCM128, ModeKind::T66, false, 64, &mut rng);
    let pkts = tx.seal_many(ModeKind::T66, o, 200, &mut rng);
    // Deliver 151..=200 only (seq k+1 is pkts[k]).
    for (_, e) in &pkts[150..] {
        assert_eq!(rx.open(e).0, Verdict::Forward);
    }
    assert_eq!(rx.top(i), 200);
    // 137 = 200 - 63 is the oldest one the window still holds; 136 is left of it.
    assert_eq!(
        rx.open(&pkts[136].1).0,
        Verdict::Forward,
        "never received, in window"
    );
    assert_eq!(
        rx.open(&pkts[135].1).0,
        Verdict::Drop(DropReason::OutsideWindow)
    );
    assert_eq!(
        rx.open(&pkts[10].1).0,
        Verdict::Drop(DropReason::OutsideWindow)
    );
    assert_eq!(rx.open(&pkts[150].1).0, Verdict::Drop(DropReason::Replay));
    assert_eq!(rx.drops(DropReason::OutsideWindow), 2);
    assert_eq!(rx.sa_drops(i, DropReason::OutsideWindow), 2);
    assert_eq!(rx.sa_drops(i, DropReason::Replay), 1);
    // Sequence number 0 is never sent: left of every window.
    let keys = rx.sad.get(i).unwrap().config.keys.clone();
    let pt = plaintext(&inner_packet(ModeKind::T66, 8, 1, &mut rng), 4, 41);
    let zero = crafted(&keys, 0x4000, 0, ModeKind::T66, false, &pt);
    assert_eq!(rx.open(&zero).0, Verdict::Drop(DropReason::OutsideWindow));
}

/// A forged packet (bad ICV) with a sequence number far ahead must not move the window:
/// send forged N+1000, then the real N+1.. are all accepted.
#[test]
fn forged_high_sequence_number_does_not_move_the_window() {
    let mut rng = Rng::new(0x5e3);
    for tf in transforms() {
        for esn in [false, true] {
            let (mut tx, mut rx, o, i) = link(tf, ModeKind::T46, esn, 64, &mut rng);
            if esn {
                let start = (1u64 << 32) - 10;
                tx.sad.get_mut(o).unwrap().advance_oseq(start).unwrap();
                rx.set_top(i, start);
            }
            let base = tx.sad.get(o).unwrap().oseq();
            let pkts = tx.seal_many(ModeKind::T46, o, 40, &mut rng);
            for (_, e) in &pkts[..10] {
                assert_eq!(rx.open(e).0, Verdict::Forward);
            }
            let n = base + 10;
            assert_eq!(rx.top(i), n);
            // Forge N+1000 from the real N+11 (the sequence number is authenticated).
            let mut forged = pkts[10].1.clone();
            let at = esp_offset(&forged) + 4;
            forged[at..at + 4].copy_from_slice(&((n + 1000) as u32).to_be_bytes());
            assert_eq!(rx.open(&forged).0, Verdict::Drop(DropReason::IcvFailure));
            // And a forged copy of the next real one, with a bad ICV.
            let mut bad = pkts[10].1.clone();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert_eq!(rx.open(&bad).0, Verdict::Drop(DropReason::IcvFailure));
            assert_eq!(rx.top(i), n, "{tf:?} esn={esn}: the window moved");
            for (k, (_, e)) in pkts[10..].iter().enumerate() {
                assert_eq!(
                    rx.open(e).0,
                    Verdict::Forward,
                    "{tf:?} esn={esn}: N+{}",
                    k + 1
                );
            }
            assert_eq!(rx.sa_drops(i, DropReason::IcvFailure), 2);
            assert_eq!(rx.drops(DropReason::IcvFailure), 2);
        }
    }
}

/// ESN: real packets crossing 2^32, in order and out of order, in one burst and one by one.
#[test]
fn esn_high_half_rolls_over() {
    let mut rng = Rng::new(0x5e4);
    for tf in transforms() {
        for mode in [ModeKind::T44, ModeKind::Tr6] {
            let (mut tx, mut rx, o, i) = link(tf, mode, true, 128, &mut rng);
            let start = (1u64 << 32) - 6;
            tx.sad.get_mut(o).unwrap().advance_oseq(start).unwrap();
            rx.set_top(i, start);
            let pkts = tx.seal_many(mode, o, 12, &mut rng);
            // Wire sequence numbers: ..., 0xfffffffe, 0xffffffff, 0, 1, ...
            let lows: Vec<u32> = pkts.iter().map(|(_, e)| esp_seq(e)).collect();
            assert_eq!(lows[4], u32::MAX);
            assert_eq!(lows[5], 0);
            // Out of order across the boundary: 2^32+1, then 2^32-3, then the rest in a burst.
            assert_eq!(rx.open(&pkts[6].1).0, Verdict::Forward);
            assert_eq!(rx.top(i), (1u64 << 32) + 1);
            assert_eq!(
                rx.open(&pkts[2].1).0,
                Verdict::Forward,
                "{tf:?}: older subspace"
            );
            let rest: Vec<Vec<u8>> = pkts
                .iter()
                .enumerate()
                .filter(|(k, _)| *k != 6 && *k != 2)
                .map(|(_, (_, e))| e.clone())
                .collect();
            let got = rx.decrypt(&rest);
            let mut plain = pkts
                .iter()
                .enumerate()
                .filter(|(k, _)| *k != 6 && *k != 2)
                .map(|(_, (p, _))| p.clone());
            for (v, b) in got {
                assert_eq!(v, Verdict::Forward, "{tf:?} {mode:?}");
                let p = plain.next().unwrap();
                let want = if mode.tunnel() {
                    ttl_decremented(&p)
                } else {
                    p
                };
                assert_eq!(b, want);
            }
            assert_eq!(rx.top(i), start + 12);
            // Replays from both sides of the boundary.
            assert_eq!(rx.open(&pkts[3].1).0, Verdict::Drop(DropReason::Replay));
            assert_eq!(rx.open(&pkts[7].1).0, Verdict::Drop(DropReason::Replay));
            // The ICV covers the high half: the same packet taken 2^32 later fails.
            rx.set_top(i, start + (1u64 << 32));
            assert_eq!(
                rx.open(&pkts[11].1).0,
                Verdict::Drop(DropReason::IcvFailure)
            );
        }
    }
}

/// Without ESN a receiver on sequence numbers near 2^32 still works (no wrap).
#[test]
fn no_esn_last_sequence_numbers_are_accepted() {
    let mut rng = Rng::new(0x5e5);
    let (mut tx, mut rx, o, i) = link(CBC128_SHA1, ModeKind::T44, false, 64, &mut rng);
    tx.sad
        .get_mut(o)
        .unwrap()
        .advance_oseq(u32::MAX as u64 - 3)
        .unwrap();
    rx.set_top(i, u32::MAX as u64 - 3);
    let pkts = tx.seal_many(ModeKind::T44, o, 3, &mut rng);
    for (_, e) in &pkts {
        assert_eq!(rx.open(e).0, Verdict::Forward);
    }
    assert_eq!(rx.top(i), u32::MAX as u64);
}

/// Anti-replay off (window 0): a replay is accepted, as the operator asked.
#[test]
fn window_zero_disables_anti_replay() {
    let mut rng = Rng::new(0x5e6);
    let (mut tx, mut rx, o, _) = link(GCM128, ModeKind::T44, false, 0, &mut rng);
    let pkts = tx.seal_many(ModeKind::T44, o, 3, &mut rng);
    for _ in 0..2 {
        for (_, e) in &pkts {
            assert_eq!(rx.open(e).0, Verdict::Forward);
        }
    }
}
