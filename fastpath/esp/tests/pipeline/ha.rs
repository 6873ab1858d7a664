//! The HA failover invariants of DESIGN.md (2, 3, 4) through the pipeline: a master and a
//! standby SAD with the same SAs, the master's snapshots drained by a Coalescer and applied on
//! the standby, then a takeover, with a remote peer that sees both nodes' packets.

use crate::common::Rng;
use crate::util::*;
use esp::counters::DropReason;
use esp::crypto::TransformKeys;
use esp::sa::{SaConfig, SaId, SaState};
use esp::snapshot::{Coalescer, SyncPolicy};
use esp::verdict::Verdict;
use std::collections::HashSet;

/// Our outbound SA (to the peer) and our inbound SA (from the peer), on both nodes.
const OUT: SaId = SaId(1);
const IN: SaId = SaId(2);
/// On the peer: its outbound (to us) and inbound (from us).
const P_OUT: SaId = SaId(1);
const P_IN: SaId = SaId(2);
const MODE: ModeKind = ModeKind::T44;

struct Ha {
    peer: Node,
    master: Node,
    standby: Node,
    coalescer: Coalescer,
    /// Snapshots the standby applied.
    applied: u64,
}

impl Ha {
    fn new(tf: Tf, sync: SyncPolicy, rng: &mut Rng) -> Ha {
        Ha::with_keys(&tf.keys(rng), &tf.keys(rng), sync, |_| {})
    }

    fn with_keys(
        k_out: &TransformKeys,
        k_in: &TransformKeys,
        sync: SyncPolicy,
        edit: impl Fn(&mut SaConfig),
    ) -> Ha {
        // us -> peer
        let (mut our_out, mut peer_in) = sa_pair(0x7001, k_out, MODE, true, false);
        // peer -> us: the same addresses the other way round.
        let (peer_out, mut our_in) = {
            let (mut o, mut i) = sa_pair(0x7002, k_in, MODE, true, false);
            if let (esp::sa::Mode::Tunnel { local, remote }, esp::sa::Mode::Tunnel { .. }) =
                (o.mode, i.mode)
            {
                o.mode = esp::sa::Mode::Tunnel {
                    local: remote,
                    remote: local,
                };
                i.mode = esp::sa::Mode::Tunnel { local, remote };
            }
            (o, i)
        };
        edit(&mut our_out);
        edit(&mut our_in);
        edit(&mut peer_in);
        let mut peer = Node::quiet();
        peer.add(P_OUT.0, peer_out);
        peer.add(P_IN.0, peer_in);
        let mut master = Node::new(sync);
        master.add(OUT.0, our_out.clone());
        master.add(IN.0, our_in.clone());
        let mut standby = Node::new(sync);
        our_out.active = false;
        our_in.active = false;
        standby.add(OUT.0, our_out);
        standby.add(IN.0, our_in);
        Ha {
            peer,
            master,
            standby,
            coalescer: Coalescer::new(),
            applied: 0,
        }
    }

    /// Master sends `n` packets to the peer (one burst); returns the ESP packets.
    fn master_sends(&mut self, n: usize, rng: &mut Rng) -> Vec<Vec<u8>> {
        send(&mut self.master, n, rng)
    }

    /// The sync side: drain the master's ring, coalesce, apply every record on the standby.
    fn sync(&mut self) {
        self.coalescer.drain(&self.master.lc.snapshots, usize::MAX);
        for snap in self.coalescer.take_batch(usize::MAX) {
            self.standby
                .sad
                .get_mut(snap.sa)
                .unwrap()
                .apply_snapshot(&snap);
            self.applied += 1;
        }
    }

    /// Takeover: the standby activates every SA.
    fn take_over(&mut self, generation: u16) {
        let shift = self.standby.lc.sync.oseq_shift;
        for sa in self.standby.sad.iter_mut() {
            sa.activate(shift, generation);
        }
        for sa in self.master.sad.iter_mut() {
            sa.deactivate();
        }
    }
}

fn send(node: &mut Node, n: usize, rng: &mut Rng) -> Vec<Vec<u8>> {
    let pkts: Vec<Vec<u8>> = (0..n)
        .map(|k| inner_packet(MODE, 20 + k % 100, k as u16, rng))
        .collect();
    node.encrypt(&pkts, &vec![OUT; n])
        .into_iter()
        .map(|(v, e)| {
            assert_eq!(v, Verdict::Forward);
            e
        })
        .collect()
}

fn ring_oseqs(node: &Node) -> Vec<u64> {
    std::iter::from_fn(|| node.lc.snapshots.pop())
        .map(|s| {
            assert_eq!(s.sa, OUT);
            s.oseq
        })
        .collect()
}

/// The peer sends `n` packets that the master takes; the inbound snapshots' window tops.
fn master_receives(n: usize, ha: &mut Ha, rng: &mut Rng) -> Vec<u64> {
    let from_peer = send(&mut ha.peer, n, rng);
    assert!(ha
        .master
        .verdicts(&from_peer)
        .iter()
        .all(|v| *v == Verdict::Forward));
    std::iter::from_fn(|| ha.master.lc.snapshots.pop())
        .map(|s| {
            assert_eq!(s.sa, IN);
            s.window.top
        })
        .collect()
}

#[test]
fn snapshots_follow_the_sync_policy() {
    let mut rng = Rng::new(0x4a01);
    // Every 4 packets, no timer.
    let policy = SyncPolicy {
        period_packets_inbound: 4,
        period_packets_outbound: 4,
        period_ns: 0,
        oseq_shift: 4,
    };
    let mut ha = Ha::new(GCM128, policy, &mut rng);
    // A burst per packet: a record every 4 packets.
    for _ in 0..10 {
        ha.master_sends(1, &mut rng);
    }
    assert_eq!(ring_oseqs(&ha.master), [4, 8]);
    // A burst of 9: one record, taken at its end with the newest sequence number.
    ha.master_sends(9, &mut rng);
    assert_eq!(ring_oseqs(&ha.master), [19]);
    // Across bursts the period still counts from the last record: 3 packets, then 1 more.
    ha.master_sends(3, &mut rng);
    assert_eq!(ring_oseqs(&ha.master), [] as [u64; 0]);
    ha.master_sends(1, &mut rng);
    assert_eq!(ring_oseqs(&ha.master), [23]);
    ha.master.now += 1_000_000_000_000;
    ha.master_sends(1, &mut rng);
    ha.master
        .lc
        .sweep_snapshots(&mut ha.master.sad, ha.master.now, 16);
    assert_eq!(
        ring_oseqs(&ha.master),
        [] as [u64; 0],
        "no timer: time alone does nothing"
    );
    // Inbound: the window top moving counts the same, one record per burst at most.
    assert_eq!(master_receives(3, &mut ha, &mut rng), [] as [u64; 0]);
    assert_eq!(master_receives(1, &mut ha, &mut rng), [4]);
    assert_eq!(master_receives(9, &mut ha, &mut rng), [13]);

    // Timer only: a record once period_ns passed and the SA moved.
    let policy = SyncPolicy {
        period_packets_inbound: 0,
        period_packets_outbound: 0,
        period_ns: 1000,
        oseq_shift: 1000,
    };
    let mut ha = Ha::new(GCM128, policy, &mut rng);
    ha.master_sends(3, &mut rng);
    assert_eq!(ring_oseqs(&ha.master), [] as [u64; 0]);
    ha.master.now += 1000;
    ha.master_sends(1, &mut rng);
    assert_eq!(ring_oseqs(&ha.master), [4]);
    ha.master.now += 500;
    ha.master_sends(2, &mut rng);
    assert_eq!(ring_oseqs(&ha.master), [] as [u64; 0]);
    // The SA goes quiet: only the sweep catches its last packets.
    ha.master.now += 10_000;
    ha.master
        .lc
        .sweep_snapshots(&mut ha.master.sad, ha.master.now, 16);
    assert_eq!(ring_oseqs(&ha.master), [6]);
    ha.master.now += 10_000;
    ha.master
        .lc
        .sweep_snapshots(&mut ha.master.sad, ha.master.now, 16);
    assert_eq!(
        ring_oseqs(&ha.master),
        [] as [u64; 0],
        "an SA that did not move"
    );

    // Both triggers off: never a record.
    let off = SyncPolicy {
        period_packets_inbound: 0,
        period_packets_outbound: 0,
        period_ns: 0,
        oseq_shift: 0,
    };
    let mut ha = Ha::new(GCM128, off, &mut rng);
    for _ in 0..5 {
        ha.master_sends(50, &mut rng);
        ha.master.now += 1_000_000_000;
        ha.master
            .lc
            .sweep_snapshots(&mut ha.master.sad, ha.master.now, 16);
    }
    assert!(ha.master.lc.snapshots.is_empty());

    // Packets and timer: a quiet SA below the packet period is caught by the sweep.
    let both = SyncPolicy {
        period_packets_inbound: 100,
        period_packets_outbound: 100,
        period_ns: 1000,
        oseq_shift: 100,
    };
    let mut ha = Ha::new(GCM128, both, &mut rng);
    ha.master_sends(3, &mut rng);
    ha.master.now += 500;
    ha.master
        .lc
        .sweep_snapshots(&mut ha.master.sad, ha.master.now, 16);
    assert_eq!(ring_oseqs(&ha.master), [] as [u64; 0]);
    ha.master.now += 500;
    ha.master
        .lc
        .sweep_snapshots(&mut ha.master.sad, ha.master.now, 16);
    assert_eq!(ring_oseqs(&ha.master), [3]);
}

/// Cisco's `replay-interval inbound N outbound M`: each direction has its packet trigger.
#[test]
fn each_direction_has_its_packet_trigger() {
    let mut rng = Rng::new(0x4a02);
    let policy = SyncPolicy {
        period_packets_inbound: 3,
        period_packets_outbound: 5,
        period_ns: 0,
        oseq_shift: 5,
    };
    let mut ha = Ha::new(GCM128, policy, &mut rng);
    for _ in 0..11 {
        ha.master_sends(1, &mut rng);
    }
    assert_eq!(ring_oseqs(&ha.master), [5, 10]);
    let tops: Vec<u64> = (0..7)
        .flat_map(|_| master_receives(1, &mut ha, &mut rng))
        .collect();
    assert_eq!(tops, [3, 6]);
    // An inbound trigger of 0: inbound SAs take no record, outbound ones still do.
    let policy = SyncPolicy {
        period_packets_inbound: 0,
        ..policy
    };
    let mut ha = Ha::new(GCM128, policy, &mut rng);
    let from_peer = send(&mut ha.peer, 20, &mut rng);
    ha.master.verdicts(&from_peer);
    assert!(ha.master.lc.snapshots.is_empty());
    ha.master_sends(5, &mut rng);
    assert_eq!(ring_oseqs(&ha.master), [5]);
}

/// A sweep bounded to a few slots per call still visits every SA.
#[test]
fn incremental_sweep_reaches_every_sa() {
    let mut rng = Rng::new(0x4a02);
    let policy = SyncPolicy {
        period_packets_inbound: 0,
        period_packets_outbound: 0,
        period_ns: 100,
        oseq_shift: 0,
    };
    let mut node = Node::new(policy);
    let keys = GCM128.keys(&mut rng);
    let ids: Vec<SaId> = (0..10)
        .map(|k| {
            let (o, _) = sa_pair(0x7100 + k, &keys, MODE, false, false);
            node.add(k, o)
        })
        .collect();
    for &id in &ids {
        node.seal(&inner_packet(MODE, 10, 1, &mut rng), id);
    }
    assert!(node.lc.snapshots.is_empty());
    node.now += 1000;
    let mut seen = HashSet::new();
    for _ in 0..4 {
        node.lc.sweep_snapshots(&mut node.sad, node.now, 3);
        while let Some(s) = node.lc.snapshots.pop() {
            assert!(seen.insert(s.sa), "{:?} twice", s.sa);
        }
    }
    assert_eq!(seen.len(), 10);
}

/// Invariant 2: after a takeover the standby continues above every sequence number the master
/// used, even when the master sent oseq_shift - 1 packets after its last snapshot, so the
/// peer's window takes the standby's packets and the master's late ones alike.
#[test]
fn takeover_continues_above_everything_the_master_sent() {
    let mut rng = Rng::new(0x4a03);
    let policies = [
        // Snapshots every 64 packets, shift 64: up to 63 packets after the last one.
        SyncPolicy {
            period_packets_inbound: 64,
            period_packets_outbound: 64,
            period_ns: 0,
            oseq_shift: 64,
        },
        // Time only: the master may send anything within a period; shift 500.
        SyncPolicy {
            period_packets_inbound: 0,
            period_packets_outbound: 0,
            period_ns: 1_000_000,
            oseq_shift: 500,
        },
        SyncPolicy {
            period_packets_inbound: 10,
            period_packets_outbound: 10,
            period_ns: 1_000,
            oseq_shift: 10,
        },
    ];
    for policy in policies {
        for tf in [GCM128, CBC128_SHA1, NULL_SHA1] {
            let mut ha = Ha::new(tf, policy, &mut rng);
            let mut sent = Vec::new();
            // Traffic with syncs now and then; the clock moves.
            for round in 0..7 {
                sent.extend(ha.master_sends(37 + round, &mut rng));
                ha.master.now += 400_000;
                ha.master
                    .lc
                    .sweep_snapshots(&mut ha.master.sad, ha.master.now, 16);
                ha.sync();
            }
            ha.master.now += 2_000_000;
            // One last record (by packets or timer), synced...
            let mut last_snap = ha.standby.sad.get(OUT).unwrap().oseq();
            let mut k = 0;
            while last_snap != ha.master.sad.get(OUT).unwrap().oseq() || k == 0 {
                sent.extend(ha.master_sends(1, &mut rng));
                ha.sync();
                last_snap = ha.standby.sad.get(OUT).unwrap().oseq();
                k += 1;
                assert!(k < 1000);
            }
            // ...then oseq_shift - 1 packets the standby never hears of (no time passes).
            let unsynced = ha.master_sends(policy.oseq_shift as usize - 1, &mut rng);
            ha.sync();
            assert_eq!(
                ha.standby.sad.get(OUT).unwrap().oseq(),
                last_snap,
                "{policy:?}: a record was taken after all"
            );
            let master_max = ha.master.sad.get(OUT).unwrap().oseq();
            assert_eq!(master_max, last_snap + policy.oseq_shift - 1);
            // The peer got everything but the unsynced ones so far.
            assert!(ha
                .peer
                .verdicts(&sent)
                .iter()
                .all(|v| *v == Verdict::Forward));

            ha.take_over(1);
            assert_eq!(ha.standby.sad.get(OUT).unwrap().state(), SaState::Active);
            let fresh = send(&mut ha.standby, 20, &mut rng);
            for e in &fresh {
                assert!(u64::from(esp_seq(e)) > master_max, "{policy:?} {tf:?}");
            }
            // The standby's packets, then the old master's late ones: all accepted.
            let v = ha.peer.verdicts(&fresh);
            assert!(
                v.iter().all(|v| *v == Verdict::Forward),
                "{policy:?} {tf:?}: {v:?}"
            );
            let v = ha.peer.verdicts(&unsynced);
            assert!(
                v.iter().all(|v| *v == Verdict::Forward),
                "{policy:?} {tf:?}: {v:?}"
            );
            assert_eq!(ha.peer.total_drops(), 0);
            // The old master, now standby, sends nothing.
            let r = ha
                .master
                .encrypt(&[inner_packet(MODE, 10, 1, &mut rng)], &[OUT]);
            assert_eq!(r[0].0, Verdict::Drop(DropReason::SaInactive));
        }
    }
}

/// Invariant 3: no AES-GCM IV is used twice by the two nodes, even if the standby takes over
/// with a stale snapshot and no shift, so that it sends the master's sequence numbers again.
#[test]
fn gcm_ivs_never_repeat_across_nodes() {
    let mut rng = Rng::new(0x4a04);
    let gcm256 = transforms()[1];
    for tf in [GCM128, gcm256] {
        for stale_shift in [0u64, 5, 1000] {
            let policy = SyncPolicy {
                period_packets_inbound: 10,
                period_packets_outbound: 10,
                period_ns: 0,
                oseq_shift: stale_shift,
            };
            let mut ha = Ha::new(tf, policy, &mut rng);
            let mut ivs = HashSet::new();
            let mut take = |pkts: &[Vec<u8>], generation: u16| {
                for e in pkts {
                    let at = esp_offset(e);
                    let iv: [u8; 8] = e[at + 8..at + 16].try_into().unwrap();
                    assert_eq!(u16::from_be_bytes([iv[0], iv[1]]), generation);
                    assert!(
                        ivs.insert(iv),
                        "{tf:?} shift {stale_shift}: IV {iv:02x?} reused"
                    );
                }
            };
            // The master sends 25 and the standby hears of 20 only (a stale snapshot).
            let mut a = ha.master_sends(20, &mut rng);
            ha.sync();
            a.extend(ha.master_sends(5, &mut rng));
            take(&a, 0);
            ha.sync();
            let b = ha.master_sends(80, &mut rng);
            take(&b, 0);
            // (The records of those are lost with the master.)
            while ha.master.lc.snapshots.pop().is_some() {}
            assert_eq!(ha.standby.sad.get(OUT).unwrap().oseq(), 20);
            ha.take_over(1);
            let c = send(&mut ha.standby, 150, &mut rng);
            take(&c, 1);
            // And back: the old master learns the standby's state and takes over again.
            let snap = ha.standby.sad.get(OUT).unwrap().snapshot(ha.standby.now);
            ha.master.sad.get_mut(OUT).unwrap().apply_snapshot(&snap);
            ha.master.sad.get_mut(OUT).unwrap().activate(stale_shift, 2);
            let d = ha.master_sends(50, &mut rng);
            take(&d, 2);
            assert_eq!(ivs.len(), 25 + 80 + 150 + 50);
            // The peer decrypts all it can (the ones not refused as replays) correctly.
            let mut all = a.clone();
            all.extend(b.iter().cloned());
            all.extend(c.iter().cloned());
            all.extend(d.iter().cloned());
            let got = ha.peer.decrypt(&all);
            assert!(got
                .iter()
                .all(|(v, _)| matches!(v, Verdict::Forward | Verdict::Drop(DropReason::Replay))));
            if stale_shift >= 100 {
                assert!(got.iter().all(|(v, _)| *v == Verdict::Forward));
            }
        }
    }
}

/// Invariant 4: the new master's inbound window starts at the last synced top: a replay of a
/// packet older than the last snapshot is dropped, a fresh one accepted.
#[test]
fn new_master_drops_replays_older_than_the_last_snapshot() {
    let mut rng = Rng::new(0x4a05);
    for (window, period) in [(1024u32, 32u64), (64, 7), (4096, 300)] {
        let policy = SyncPolicy {
            period_packets_inbound: period,
            period_packets_outbound: period,
            period_ns: 0,
            oseq_shift: 1000,
        };
        let mut ha = {
            let k1 = GCM128.keys(&mut rng);
            let k2 = CBC128_SHA1.keys(&mut rng);
            Ha::with_keys(&k1, &k2, policy, |c| c.replay_window = window)
        };
        let from_peer = send(&mut ha.peer, 700, &mut rng);
        // The master gets all but a few (lost on the way).
        let lost: HashSet<usize> = [600, 650, 690, 695].into_iter().collect();
        let delivered: Vec<Vec<u8>> = from_peer
            .iter()
            .enumerate()
            .filter(|(k, _)| !lost.contains(k))
            .map(|(_, e)| e.clone())
            .collect();
        for chunk in delivered.chunks(50) {
            assert!(ha
                .master
                .verdicts(chunk)
                .iter()
                .all(|v| *v == Verdict::Forward));
            ha.sync();
        }
        let synced_top = ha.standby.top(IN);
        assert!(synced_top > 0);
        assert!(synced_top + period > 696, "{window}/{period}: {synced_top}");
        // Before the takeover the standby refuses everything.
        assert_eq!(
            ha.standby.open(&from_peer[699]).0,
            Verdict::Drop(DropReason::SaInactive)
        );
        ha.take_over(1);
        assert_eq!(ha.standby.top(IN), synced_top);
        // Replays of what the master received up to the last snapshot: all dropped.
        for (k, e) in from_peer.iter().enumerate() {
            let seq = k as u64 + 1;
            if seq > synced_top || lost.contains(&k) {
                continue;
            }
            let v = ha.standby.open(e).0;
            let size = ha.standby.sad.get(IN).unwrap().window().size() as u64;
            if synced_top - seq < size {
                assert_eq!(
                    v,
                    Verdict::Drop(DropReason::Replay),
                    "{window}/{period}: replay of {seq}, top {synced_top}"
                );
            } else {
                // Left of the window. With ESN, RFC 4303 A2.1 places such a number in the
                // next 2^32 subspace, where its ICV cannot check out.
                assert!(
                    matches!(
                        v,
                        Verdict::Drop(DropReason::OutsideWindow | DropReason::IcvFailure)
                    ),
                    "{window}/{period}: replay of {seq} gave {v:?}"
                );
            }
        }
        assert_eq!(ha.standby.top(IN), synced_top, "replays moved the window");
        // A packet lost on the way, within the synced newest bits, still gets in.
        if synced_top >= 696 && synced_top - 696 < 256 {
            assert_eq!(ha.standby.open(&from_peer[695]).0, Verdict::Forward);
        }
        // Fresh packets are accepted.
        let fresh = send(&mut ha.peer, 5, &mut rng);
        let v = ha.standby.verdicts(&fresh);
        assert!(v.iter().all(|v| *v == Verdict::Forward), "{v:?}");
        assert_eq!(ha.standby.top(IN), 705);
    }
}

/// A full snapshot ring defers records (counted) and never blocks; the SA retries with its
/// next packet, so the standby still learns the newest state.
#[test]
fn full_ring_defers_and_the_newest_state_still_gets_through() {
    let mut rng = Rng::new(0x4a06);
    let policy = SyncPolicy {
        period_packets_inbound: 1,
        period_packets_outbound: 1,
        period_ns: 0,
        oseq_shift: 1,
    };
    let mut ha = Ha::new(GCM128, policy, &mut rng);
    ha.master.lc = esp::lcore::Lcore::new(policy, 8, 2);
    for _ in 0..5 {
        ha.master_sends(1, &mut rng);
    }
    assert_eq!(ha.master.lc.snapshots_deferred, 3);
    ha.sync();
    assert_eq!(ha.standby.sad.get(OUT).unwrap().oseq(), 2);
    ha.master_sends(1, &mut rng);
    ha.sync();
    assert_eq!(ha.standby.sad.get(OUT).unwrap().oseq(), 6);
    // Takeover: the shift of 1 is enough for a master that was synced after each packet.
    ha.take_over(1);
    let fresh = send(&mut ha.standby, 1, &mut rng);
    assert_eq!(esp_seq(&fresh[0]), 8);
}

/// Two worker lcores on the master, each owning some SAs, one Coalescer draining both rings
/// out of order: the standby ends at the newest state of each SA.
#[test]
fn coalescer_over_two_lcores_keeps_the_newest_record_per_sa() {
    let mut rng = Rng::new(0x4a07);
    let policy = SyncPolicy {
        period_packets_inbound: 3,
        period_packets_outbound: 3,
        period_ns: 0,
        oseq_shift: 3,
    };
    let keys = GCM128.keys(&mut rng);
    let mut w1 = Node::new(policy);
    let mut w2 = Node::new(policy);
    let mut standby = Node::quiet();
    for id in 0..6u32 {
        let (o, _) = sa_pair(0x7200 + id, &keys, MODE, false, false);
        let mut s = o.clone();
        s.active = false;
        standby.add(id, s);
        if id.is_multiple_of(2) {
            w1.add(id, o);
        } else {
            w2.add(id, o);
        }
    }
    let mut c = Coalescer::new();
    for round in 0..10u32 {
        for id in 0..6u32 {
            let w = if id.is_multiple_of(2) {
                &mut w1
            } else {
                &mut w2
            };
            for _ in 0..(id + round) % 7 {
                w.seal(&inner_packet(MODE, 10, 1, &mut rng), SaId(id));
            }
        }
        // Drain in a varying order, and only part of the time.
        if round.is_multiple_of(3) {
            c.drain(&w2.lc.snapshots, usize::MAX);
            c.drain(&w1.lc.snapshots, usize::MAX);
        } else if round % 3 == 1 {
            c.drain(&w1.lc.snapshots, 2);
        }
    }
    c.drain(&w1.lc.snapshots, usize::MAX);
    c.drain(&w2.lc.snapshots, usize::MAX);
    for snap in c.take_batch(usize::MAX) {
        standby.sad.get_mut(snap.sa).unwrap().apply_snapshot(&snap);
    }
    for id in 0..6u32 {
        let w = if id.is_multiple_of(2) { &w1 } else { &w2 };
        let sent = w.sad.get(SaId(id)).unwrap().oseq();
        let synced = standby.sad.get(SaId(id)).unwrap().oseq();
        assert!(
            synced <= sent && sent - synced < policy.period_packets_outbound,
            "SA {id}: {synced} of {sent}"
        );
    }
}
