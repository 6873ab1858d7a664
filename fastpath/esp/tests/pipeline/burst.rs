//! Bursts mixing SAs, transforms and good and bad packets: each verdict belongs to its packet,
//! a duplicate inside one burst is a replay, bursts longer than MAX_BURST work, and a burst
//! leaves at most one HA snapshot per SA, and SPIs find their SAs through removals.

use crate::common::Rng;
use crate::util::*;
use esp::buf::VecBuf;
use esp::counters::DropReason;
use esp::sa::SaId;
use esp::snapshot::SyncPolicy;
use esp::verdict::{Verdict, MAX_BURST};

/// Sender and receiver with six SA pairs of different transforms, modes, ESN and NAT-T.
fn setup(rng: &mut Rng) -> (Node, Node, Vec<(SaId, SaId, ModeKind)>) {
    let mut tx = Node::quiet();
    let mut rx = Node::quiet();
    let tfs = transforms();
    let mut sas = Vec::new();
    for (k, &mode) in MODES.iter().enumerate() {
        let tf = tfs[(k * 3) % tfs.len()];
        let keys = tf.keys(rng);
        let (o, i) = sa_pair(0x3000 + k as u32, &keys, mode, k % 2 == 1, k % 3 == 2);
        sas.push((tx.add(k as u32, o), rx.add(10 + k as u32, i), mode));
    }
    (tx, rx, sas)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Good,
    BadIcv,
    UnknownSpi,
    TooShort,
    /// A copy of an earlier packet of the same burst.
    DupInBurst,
    /// A packet already received in an earlier burst.
    OldReplay,
    Ike,
    NotIp,
    Fragment,
}

fn mixed_inbound_burst(n: usize, seed: u64) {
    mixed_inbound_burst_among(n, seed, 0);
}

/// `mixed_inbound_burst` with `idle` more inbound SAs in the receiver's SAD, none of them used.
fn mixed_inbound_burst_among(n: usize, seed: u64, idle: u32) {
    let mut rng = Rng::new(seed);
    let (mut tx, mut rx, sas) = setup(&mut rng);
    let keys = transforms()[0].keys(&mut rng);
    for k in 0..idle {
        let (_, i) = sa_pair(0x5000_0000 + k, &keys, MODES[0], false, false);
        rx.add(1_000 + k, i);
    }
    // Some packets received in an earlier burst, to replay.
    let earlier: Vec<Vec<u8>> = (0..6)
        .map(|k| {
            let (o, _, mode) = sas[k];
            tx.seal(&inner_packet(mode, 40, 1, &mut rng), o)
        })
        .collect();
    assert!(rx.verdicts(&earlier).iter().all(|v| *v == Verdict::Forward));
    let base = rx.lc.counters.clone();

    let mut pkts: Vec<Vec<u8>> = Vec::new();
    let mut want: Vec<(Verdict, Option<Vec<u8>>)> = Vec::new();
    let mut goods: Vec<usize> = Vec::new();
    for i in 0..n {
        let kind = match rng.next_u64() % 12 {
            _ if i < 3 => Kind::Good,
            0 => Kind::BadIcv,
            1 => Kind::UnknownSpi,
            2 => Kind::TooShort,
            3 if !goods.is_empty() => Kind::DupInBurst,
            4 => Kind::OldReplay,
            5 => Kind::Ike,
            6 => Kind::NotIp,
            7 => Kind::Fragment,
            _ => Kind::Good,
        };
        let (o, _, mode) = sas[rng.next_u64() as usize % sas.len()];
        let plain = inner_packet(mode, rng.next_u64() as usize % 1400, i as u16, &mut rng);
        let (p, v, out) = match kind {
            Kind::Good => {
                goods.push(i);
                let e = tx.seal(&plain, o);
                let back = if mode.tunnel() {
                    ttl_decremented(&plain)
                } else {
                    plain
                };
                (e, Verdict::Forward, Some(back))
            }
            Kind::BadIcv => {
                let mut e = tx.seal(&plain, o);
                let last = e.len() - 1;
                e[last] ^= 0x80;
                (e, Verdict::Drop(DropReason::IcvFailure), None)
            }
            Kind::UnknownSpi => {
                let mut e = tx.seal(&plain, o);
                let at = esp_offset(&e);
                e[at..at + 4].copy_from_slice(&0xdead_0000u32.to_be_bytes());
                (e, Verdict::Drop(DropReason::UnknownSpi), None)
            }
            Kind::TooShort => {
                let e = tx.seal(&plain, o);
                let cut = esp_offset(&e) + 8 + (rng.next_u64() % 8) as usize;
                (
                    truncated(&e, cut),
                    Verdict::Drop(DropReason::TooShort),
                    None,
                )
            }
            Kind::DupInBurst => {
                let j = goods[rng.next_u64() as usize % goods.len()];
                (pkts[j].clone(), Verdict::Drop(DropReason::Replay), None)
            }
            Kind::OldReplay => {
                let e = earlier[rng.next_u64() as usize % earlier.len()].clone();
                (e, Verdict::Drop(DropReason::Replay), None)
            }
            Kind::Ike => {
                let mut ike = vec![0u8; 4];
                ike.extend(rng.bytes(28));
                let (a, b) = mode.outer_addrs();
                (
                    wrap_ip(a, b, 17, Some((500, 4500)), &ike),
                    Verdict::Exception,
                    None,
                )
            }
            Kind::NotIp => (
                rng.bytes(30).into_iter().map(|b| b & 0x3f).collect(),
                Verdict::Drop(DropReason::Malformed),
                None,
            ),
            Kind::Fragment => {
                let mut e = tx.seal(&plain, o);
                if is_v6(&e) {
                    // An IPv6 fragment header (first fragment, more to come) before ESP.
                    let mut f = e[..40].to_vec();
                    f.extend_from_slice(&[e[6], 0, 0, 1, 0, 0, 0, 9]);
                    f[6] = 44;
                    f.extend_from_slice(&e[40..]);
                    fix_lengths(&mut f);
                    e = f;
                } else {
                    e[6] |= 0x20; // MF
                    fix_ipv4_checksum(&mut e);
                }
                (e, Verdict::Fragment, None)
            }
        };
        pkts.push(p);
        want.push((v, out));
    }
    let got = rx.decrypt(&pkts);
    for (i, ((v, bytes), (wv, wbytes))) in got.iter().zip(&want).enumerate() {
        assert_eq!(v, wv, "burst of {n}: packet {i}");
        if let Some(w) = wbytes {
            assert_eq!(bytes, w, "burst of {n}: packet {i} bytes");
        }
    }
    // The counters say the same as the verdicts.
    let c = &rx.lc.counters;
    let count = |f: &dyn Fn(&Verdict) -> bool| want.iter().filter(|(v, _)| f(v)).count() as u64;
    assert_eq!(
        c.decrypted - base.decrypted,
        count(&|v| *v == Verdict::Forward)
    );
    for r in DropReason::ALL {
        assert_eq!(
            c.drops_of(r) - base.drops_of(r),
            count(&|v| *v == Verdict::Drop(r)),
            "burst of {n}: {r:?}"
        );
    }
    // Per SA: drops counted against the SA they were for (unknown SPI has none).
    let per_sa: u64 = sas
        .iter()
        .map(|&(_, i, _)| rx.sad.get(i).unwrap().counters().drops.iter().sum::<u64>())
        .sum();
    let unknown = c.drops_of(DropReason::UnknownSpi) + c.drops_of(DropReason::Malformed);
    assert_eq!(per_sa, c.drops.iter().sum::<u64>() - unknown);
}

#[test]
fn inbound_burst_of_64_mixed_good_and_bad() {
    mixed_inbound_burst(MAX_BURST, 0xb0_0064);
    for seed in 1..20 {
        mixed_inbound_burst(MAX_BURST, seed);
    }
}

#[test]
fn inbound_burst_of_100_more_than_max_burst() {
    mixed_inbound_burst(100, 0xb0_0100);
    for seed in 100..120 {
        mixed_inbound_burst(100 + seed as usize % 90, seed);
    }
}

/// With more SAs than stay in a core's cache the SA reads are staged a pass ahead (with few,
/// each packet is checked in one visit): the same verdicts and counters either way.
#[test]
fn inbound_burst_among_2000_sas_is_staged_with_the_same_verdicts() {
    for seed in 200..204 {
        mixed_inbound_burst_among(MAX_BURST, seed, 2_000);
    }
    mixed_inbound_burst_among(100, 0xb0_2100, 2_000);
}

/// Two copies of one packet in a burst: the first goes through, the second is a replay,
/// whichever SA and wherever they sit (same chunk or across the MAX_BURST boundary).
#[test]
fn duplicate_in_the_same_burst_is_a_replay() {
    let mut rng = Rng::new(0xd0b);
    for (first, second, n) in [(0, 1, 2), (3, 60, 64), (10, 90, 100), (63, 64, 100)] {
        let (mut tx, mut rx, sas) = setup(&mut rng);
        let mut pkts = Vec::new();
        for k in 0..n {
            let (o, _, mode) = sas[k % sas.len()];
            pkts.push(tx.seal(&inner_packet(mode, k, k as u16, &mut rng), o));
        }
        pkts[second] = pkts[first].clone();
        let v = rx.verdicts(&pkts);
        for (k, v) in v.iter().enumerate() {
            let want = if k == second {
                Verdict::Drop(DropReason::Replay)
            } else {
                Verdict::Forward
            };
            assert_eq!(
                *v, want,
                "copies at {first} and {second} of {n}: packet {k}"
            );
        }
        assert_eq!(rx.drops(DropReason::Replay), 1);
        let (_, i, _) = sas[first % sas.len()];
        assert_eq!(rx.sa_drops(i, DropReason::Replay), 1);
    }
}

/// An outbound burst mixing SAs, an unknown SA id, a standby SA, malformed packets, TTL 1 and
/// a packet without headroom: each verdict is its packet's, and the good ones decrypt.
#[test]
fn outbound_burst_mixed_verdicts_line_up() {
    for n in [MAX_BURST, 100, 130] {
        let mut rng = Rng::new(0x0b + n as u64);
        let (mut tx, mut rx, sas) = setup(&mut rng);
        let keys = GCM128.keys(&mut rng);
        let (mut standby, _) = sa_pair(0x3999, &keys, ModeKind::T44, false, false);
        standby.active = false;
        let standby = tx.add(99, standby);
        let mut bufs = Vec::new();
        let mut ids = Vec::new();
        let mut want = Vec::new();
        let mut plains = Vec::new();
        for k in 0..n {
            let (o, _, mode) = sas[k % sas.len()];
            let mut p = inner_packet(mode, (k * 13) % 1500, k as u16, &mut rng);
            let (id, v, head) = match rng.next_u64() % 8 {
                0 => (SaId(12345), Verdict::Drop(DropReason::UnknownSpi), HEADROOM),
                1 => (standby, Verdict::Drop(DropReason::SaInactive), HEADROOM),
                2 => {
                    p[0] = 0x15;
                    (o, Verdict::Drop(DropReason::Malformed), HEADROOM)
                }
                3 if mode.tunnel() => {
                    set_ttl(&mut p, 1);
                    (o, Verdict::Drop(DropReason::TtlExceeded), HEADROOM)
                }
                4 => (o, Verdict::Drop(DropReason::NoRoom), 4),
                _ => (o, Verdict::Forward, HEADROOM),
            };
            bufs.push(VecBuf::new(&p, head, TAILROOM));
            ids.push(id);
            want.push(v);
            plains.push((p, mode));
        }
        let out = tx.encrypt_bufs(bufs, &ids);
        let verdicts: Vec<Verdict> = out.iter().map(|(v, _)| *v).collect();
        assert_eq!(verdicts, want, "burst of {n}");
        let fwd: Vec<Vec<u8>> = out
            .iter()
            .filter(|(v, _)| *v == Verdict::Forward)
            .map(|(_, e)| e.clone())
            .collect();
        let back = rx.decrypt(&fwd);
        let mut k = 0;
        for (i, w) in want.iter().enumerate() {
            if *w != Verdict::Forward {
                continue;
            }
            let (p, mode) = &plains[i];
            let exp = if mode.tunnel() {
                ttl_decremented(p)
            } else {
                p.clone()
            };
            assert_eq!(back[k], (Verdict::Forward, exp), "burst of {n}: packet {i}");
            k += 1;
        }
        for r in DropReason::ALL {
            let c = want.iter().filter(|v| **v == Verdict::Drop(r)).count() as u64;
            assert_eq!(tx.drops(r), c, "burst of {n}: {r:?}");
        }
        let fwd_count = want.iter().filter(|v| **v == Verdict::Forward).count() as u64;
        assert_eq!(tx.lc.counters.encrypted, fwd_count);
    }
}

/// A forged copy (bad ICV) of a packet ahead of the real one in the same burst: the forgery
/// is dropped and does not make the real one a replay.
#[test]
fn forged_copy_before_the_real_one_in_a_burst() {
    let mut rng = Rng::new(0xf0e);
    let (mut tx, mut rx, sas) = setup(&mut rng);
    let mut pkts = Vec::new();
    let mut want = Vec::new();
    for k in 0..MAX_BURST + 20 {
        let (o, _, mode) = sas[k % sas.len()];
        let e = tx.seal(&inner_packet(mode, k, k as u16, &mut rng), o);
        if k.is_multiple_of(5) {
            let mut forged = e.clone();
            let n = forged.len();
            forged[n - 3] ^= 0x10;
            pkts.push(forged);
            want.push(Verdict::Drop(DropReason::IcvFailure));
        }
        pkts.push(e);
        want.push(Verdict::Forward);
    }
    assert_eq!(rx.verdicts(&pkts), want);
}

/// `n` outbound SAs on a node that takes a snapshot every 2 packets an SA moves.
fn snapshot_node(n: u32, rng: &mut Rng) -> (Node, Vec<SaId>) {
    let mut node = Node::new(SyncPolicy {
        period_packets_inbound: 2,
        period_packets_outbound: 2,
        period_ns: 0,
        oseq_shift: 2,
    });
    let keys = GCM128.keys(rng);
    let ids = (0..n)
        .map(|k| {
            let (o, _) = sa_pair(0x3100 + k, &keys, ModeKind::T44, false, false);
            node.add(k, o)
        })
        .collect();
    (node, ids)
}

fn ring(node: &Node) -> Vec<(SaId, u64)> {
    std::iter::from_fn(|| node.lc.snapshots.pop())
        .map(|s| (s.sa, s.oseq))
        .collect()
}

/// HA snapshots are coalesced per burst: a burst mixing SAs leaves one record per SA that
/// became due, taken at its end with the SA's newest sequence number; a burst longer than
/// MAX_BURST leaves one per MAX_BURST packets.
#[test]
fn a_burst_leaves_one_snapshot_per_due_sa_with_its_newest_state() {
    let mut rng = Rng::new(0xb5a7);
    let (mut node, ids) = snapshot_node(4, &mut rng);
    // SA k gets k + 1 packets, interleaved: 0 1 2 3, 1 2 3, 2 3, 3.
    let sas: Vec<SaId> = (0..4).flat_map(|r| ids[r..].to_vec()).collect();
    let pkts: Vec<Vec<u8>> = (0..sas.len())
        .map(|k| inner_packet(ModeKind::T44, 20, k as u16, &mut rng))
        .collect();
    assert!(node
        .encrypt(&pkts, &sas)
        .iter()
        .all(|(v, _)| *v == Verdict::Forward));
    // SA 0 moved by one packet only: not due yet.
    assert_eq!(ring(&node), [(ids[1], 2), (ids[2], 3), (ids[3], 4)]);
    // Its second packet, in a burst of its own, makes it due.
    node.seal(&pkts[0], ids[0]);
    assert_eq!(ring(&node), [(ids[0], 2)]);
    // A long burst of one SA: a record at the end of each MAX_BURST chunk.
    let long = vec![pkts[0].clone(); 3 * MAX_BURST];
    node.encrypt(&long, &vec![ids[1]; long.len()]);
    let m = MAX_BURST as u64;
    assert_eq!(
        ring(&node),
        [(ids[1], 2 + m), (ids[1], 2 + 2 * m), (ids[1], 2 + 3 * m)]
    );
}

/// Noting an SA twice owes one record; more noted SAs than a burst holds (a caller that does
/// not flush) are taken at once rather than lost.
#[test]
fn noted_snapshots_are_taken_once_each_and_never_lost() {
    let mut rng = Rng::new(0xb5a8);
    let n = MAX_BURST as u32 + 6;
    let (mut node, ids) = snapshot_node(n, &mut rng);
    for &id in &ids {
        let sa = node.sad.get_mut(id).unwrap();
        sa.advance_oseq(2 + id.0 as u64).unwrap();
        node.lc.note_snapshot(sa, node.now);
        node.lc.note_snapshot(sa, node.now);
    }
    let early = ring(&node);
    assert_eq!(early.len(), 6, "the ones past the burst's list go at once");
    node.lc.flush_snapshots(&mut node.sad, node.now);
    let mut all = early;
    all.extend(ring(&node));
    all.sort_unstable();
    let want: Vec<(SaId, u64)> = ids.iter().map(|&id| (id, 2 + id.0 as u64)).collect();
    assert_eq!(all, want);
    // Flushed: nothing owed any more, and nothing due until the SAs move again.
    node.lc.flush_snapshots(&mut node.sad, node.now);
    for &id in &ids {
        node.lc
            .note_snapshot(node.sad.get_mut(id).unwrap(), node.now);
    }
    node.lc.flush_snapshots(&mut node.sad, node.now);
    assert!(node.lc.snapshots.is_empty());
}

/// Removals move the last SA of the receiver's SAD into the hole, and removed ids come back
/// with new SPIs: after each change a burst with a packet for every SPI ever used (each SA
/// with keys of its own, so a packet handed to another SA fails its ICV) finds each live SA
/// by its SPI, and a removed SPI finds none.
#[test]
fn spis_find_their_sas_through_removals_and_reused_ids() {
    let mut rng = Rng::new(0x5a_d0);
    let mut tx = Node::quiet();
    let mut rx = Node::quiet();
    let tfs = transforms();
    const IDS: u32 = 40;
    // Per id: its current SPI, if installed, and every SPI it has had.
    let mut live: Vec<Option<u32>> = vec![None; IDS as usize];
    let mut gone: Vec<(u32, ModeKind, SaId)> = Vec::new();
    let mut next_spi = 0x7000u32;
    let mode_of = |id: u32| MODES[id as usize % MODES.len()];
    let mut install = |tx: &mut Node, rx: &mut Node, id: u32, rng: &mut Rng| {
        let keys = tfs[id as usize % tfs.len()].keys(rng);
        let (o, i) = sa_pair(next_spi, &keys, mode_of(id), false, false);
        tx.add(1000 + id, o);
        rx.add(id, i);
        next_spi += 1;
        next_spi - 1
    };
    for id in 0..IDS {
        live[id as usize] = Some(install(&mut tx, &mut rx, id, &mut rng));
    }
    let mut reused = 0;
    for round in 0..60 {
        let id = (rng.next_u64() % u64::from(IDS)) as u32;
        match live[id as usize] {
            Some(spi) => {
                let removed = rx.sad.remove(SaId(id)).expect("installed");
                assert_eq!(removed.config.spi, spi);
                // The sender keeps its SA: its packets now meet an unknown SPI.
                gone.push((spi, mode_of(id), SaId(1000 + id)));
                live[id as usize] = None;
                let stale = tx.sad.get(SaId(1000 + id)).map(|sa| sa.config.spi);
                assert_eq!(stale, Some(spi));
            }
            None => {
                tx.sad.remove(SaId(1000 + id));
                gone.retain(|&(_, _, o)| o != SaId(1000 + id));
                live[id as usize] = Some(install(&mut tx, &mut rx, id, &mut rng));
                reused += 1;
            }
        }
        let mut pkts = Vec::new();
        let mut want = Vec::new();
        for (id, spi) in live.iter().enumerate() {
            let Some(spi) = *spi else { continue };
            let mode = mode_of(id as u32);
            let plain = inner_packet(mode, 20 + round, id as u16, &mut rng);
            pkts.push(tx.seal(&plain, SaId(1000 + id as u32)));
            let back = if mode.tunnel() {
                ttl_decremented(&plain)
            } else {
                plain
            };
            want.push((Verdict::Forward, Some((back, SaId(id as u32), spi))));
        }
        for &(_, mode, o) in &gone {
            pkts.push(tx.seal(&inner_packet(mode, 30, 7, &mut rng), o));
            want.push((Verdict::Drop(DropReason::UnknownSpi), None));
        }
        let before: Vec<u64> = (0..IDS)
            .map(|id| rx.sad.get(SaId(id)).map_or(0, |sa| sa.counters().packets))
            .collect();
        let got = rx.decrypt(&pkts);
        for (k, ((v, bytes), (wv, w))) in got.iter().zip(&want).enumerate() {
            assert_eq!(v, wv, "round {round}, packet {k}");
            if let Some((back, id, spi)) = w {
                assert_eq!(bytes, back, "round {round}, packet {k}");
                let sa = rx.sad.get(*id).unwrap();
                assert_eq!(sa.config.spi, *spi);
                assert_eq!(sa.counters().packets, before[id.0 as usize] + 1, "{id:?}");
            }
        }
    }
    assert!(reused > 10 && !gone.is_empty(), "{reused} {}", gone.len());
}
