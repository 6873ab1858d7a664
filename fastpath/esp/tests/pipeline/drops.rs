//! Every drop reason through the pipeline, with its lcore and per-SA counters, lifetimes and
//! sequence exhaustion with their events, and dummy packets.

use crate::common::Rng;
use crate::util::*;
use esp::buf::VecBuf;
use esp::counters::DropReason;
use esp::sa::{Lifetime, SaConfig, SaEvent, SaEventKind, SaId, SaState};
use esp::spd::{PortRange, Selector};
use esp::verdict::Verdict;

const SPI: u32 = 0x5000;

struct Link {
    tx: Node,
    rx: Node,
    o: SaId,
    i: SaId,
    keys: esp::crypto::TransformKeys,
}

fn link_with(
    tf: Tf,
    mode: ModeKind,
    natt: bool,
    edit: impl Fn(&mut SaConfig, &mut SaConfig),
) -> Link {
    let mut rng = Rng::new(0xd409 + tf.key_len as u64);
    let keys = tf.keys(&mut rng);
    let (mut o, mut i) = sa_pair(SPI, &keys, mode, false, natt);
    edit(&mut o, &mut i);
    let mut tx = Node::quiet();
    let mut rx = Node::quiet();
    let o = tx.add(3, o);
    let i = rx.add(4, i);
    Link { tx, rx, o, i, keys }
}

fn link(tf: Tf, mode: ModeKind) -> Link {
    link_with(tf, mode, false, |_, _| {})
}

/// Asserts that exactly `n` drops were counted, all for `reason`, on the lcore and the SA.
fn only_drops(node: &Node, sa: Option<SaId>, reason: DropReason, n: u64) {
    assert_eq!(node.drops(reason), n, "lcore {reason:?}");
    assert_eq!(
        node.total_drops(),
        n,
        "lcore drops other than {reason:?}: {:?}",
        node.lc.counters
    );
    if let Some(sa) = sa {
        let c = &node.sad.get(sa).unwrap().counters();
        assert_eq!(c.drops[reason as usize], n, "SA {reason:?}");
        assert_eq!(c.drops.iter().sum::<u64>(), n, "SA drops: {c:?}");
    }
}

fn drop_of(r: DropReason) -> Verdict {
    Verdict::Drop(r)
}

#[test]
fn unknown_spi() {
    let mut rng = Rng::new(1);
    let mut l = link(GCM128, ModeKind::T44);
    let e =
        l.tx.seal(&inner_packet(ModeKind::T44, 20, 1, &mut rng), l.o);
    let mut other = e.clone();
    other[20..24].copy_from_slice(&0x9999u32.to_be_bytes());
    assert_eq!(l.rx.open(&other).0, drop_of(DropReason::UnknownSpi));
    // The right SPI to an address that is not the SA's tunnel endpoint.
    let mut wrong_dst = e.clone();
    wrong_dst[19] = 99;
    fix_ipv4_checksum(&mut wrong_dst);
    assert_eq!(l.rx.open(&wrong_dst).0, drop_of(DropReason::UnknownSpi));
    only_drops(&l.rx, None, DropReason::UnknownSpi, 2);
    assert_eq!(l.rx.open(&e).0, Verdict::Forward);
    // Outbound: an SA id with nothing installed.
    let r =
        l.tx.encrypt(&[inner_packet(ModeKind::T44, 20, 1, &mut rng)], &[SaId(77)]);
    assert_eq!(r[0].0, drop_of(DropReason::UnknownSpi));
    assert_eq!(l.tx.drops(DropReason::UnknownSpi), 1);
}

#[test]
fn icv_failure_for_every_transform() {
    let mut rng = Rng::new(2);
    for tf in transforms() {
        for mode in [ModeKind::T44, ModeKind::Tr6] {
            let mut l = link(tf, mode);
            let e = l.tx.seal(&inner_packet(mode, 100, 1, &mut rng), l.o);
            let at = esp_offset(&e);
            // A flipped bit in the sequence number, IV, ciphertext, trailer and ICV.
            let spots = [at + 7, at + 9, at + 30, e.len() - 20, e.len() - 1];
            for &s in &spots {
                let mut bad = e.clone();
                bad[s] ^= 0x04;
                assert_eq!(
                    l.rx.open(&bad).0,
                    drop_of(DropReason::IcvFailure),
                    "{tf:?} {mode:?} byte {s}"
                );
            }
            only_drops(&l.rx, Some(l.i), DropReason::IcvFailure, spots.len() as u64);
            assert_eq!(l.rx.top(l.i), 0, "a bad ICV moved the window");
            assert_eq!(l.rx.open(&e).0, Verdict::Forward);
        }
    }
}

/// Packets with a valid ICV whose plaintext padding is wrong, built with the SA's keys.
#[test]
fn bad_padding_with_a_valid_icv() {
    let mut rng = Rng::new(3);
    for tf in transforms() {
        for mode in [ModeKind::T44, ModeKind::Tr4] {
            let mut l = link(tf, mode);
            let block = block_of(&l.keys);
            let inner = inner_packet(mode, 33, 1, &mut rng);
            let payload = if mode.tunnel() {
                inner.clone()
            } else {
                inner[20..].to_vec()
            };
            let nh = if mode.tunnel() { 4 } else { 17 };
            let good = plaintext(&payload, block, nh);
            let pad_len = good[good.len() - 2] as usize;
            let mut cases = Vec::new();
            // A padding byte that is not its index.
            if pad_len > 0 {
                let mut p = good.clone();
                p[good.len() - 3] ^= 0x40;
                cases.push(p);
            }
            // Explicit padding of 4 more bytes, wrongly numbered: 1, 2, 3, 5, ...
            let mut p = payload.clone();
            let pad = pad_len + block.max(4);
            let mut bytes: Vec<u8> = (1..=pad as u8).collect();
            bytes[3] = 9;
            p.extend(bytes);
            p.push(pad as u8);
            p.push(nh);
            cases.push(p);
            // A pad length longer than the whole plaintext.
            let mut p = good.clone();
            let n = p.len();
            p[n - 2] = 250;
            cases.push(p);
            let mut seq = 0;
            for pt in &cases {
                seq += 1;
                let pkt = crafted(&l.keys, SPI, seq, mode, false, pt);
                assert_eq!(
                    l.rx.open(&pkt).0,
                    drop_of(DropReason::BadPadding),
                    "{tf:?} {mode:?} {pt:?}"
                );
            }
            only_drops(&l.rx, Some(l.i), DropReason::BadPadding, cases.len() as u64);
            // The same hand-made packet with the right padding goes through.
            let ok = crafted(&l.keys, SPI, seq + 1, mode, false, &good);
            let (v, got) = l.rx.open(&ok);
            assert_eq!(v, Verdict::Forward, "{tf:?} {mode:?}");
            if mode.tunnel() {
                assert_eq!(got, inner);
            } else {
                // Transport: the IP header is the outer one, pointed at UDP again.
                let (a, b) = mode.outer_addrs();
                assert_eq!(got, wrap_ip(a, b, 17, None, &payload));
            }
        }
    }
}

#[test]
fn too_short() {
    let mut rng = Rng::new(4);
    for tf in transforms() {
        for natt in [false, true] {
            let mut l = link_with(tf, ModeKind::T64, natt, |_, _| {});
            let e =
                l.tx.seal(&inner_packet(ModeKind::T64, 64, 1, &mut rng), l.o);
            let at = esp_offset(&e);
            let iv = match tf.enc {
                esp::crypto::EncAlg::Null => 0,
                _ if tf.is_gcm() => 8,
                _ => 16,
            };
            let mut cases = vec![
                // Half an ESP header, a bare header, header and IV only.
                truncated(&e, at + 6),
                truncated(&e, at + 8),
                truncated(&e, at + 8 + iv + 2),
                // The ciphertext one byte short of whole blocks (the ICV kept at the end).
                {
                    let mut p = e.clone();
                    p.remove(at + 8 + iv);
                    fix_lengths(&mut p);
                    p
                },
            ];
            if !natt {
                // Only the ICV's worth after the header and IV: no ciphertext at all.
                cases.push(truncated(&e, at + 8 + iv + 12));
            }
            let (mut lcore, mut per_sa) = (0, 0);
            for (k, c) in cases.iter().enumerate() {
                let v = l.rx.open(c).0;
                if natt && c.len() - at < 8 {
                    // UDP to 4500 with less than an ESP header is not ESP (RFC 3948).
                    assert_eq!(v, Verdict::Exception, "{tf:?} case {k}");
                    continue;
                }
                assert_eq!(
                    v,
                    drop_of(DropReason::TooShort),
                    "{tf:?} natt={natt} case {k}"
                );
                lcore += 1;
                // Without a whole ESP header there is no SPI, so no SA to count it on.
                if c.len() >= at + 8 {
                    per_sa += 1;
                }
            }
            assert_eq!(l.rx.drops(DropReason::TooShort), lcore);
            assert_eq!(l.rx.total_drops(), lcore);
            assert_eq!(l.rx.sa_drops(l.i, DropReason::TooShort), per_sa);
            assert_eq!(l.rx.open(&e).0, Verdict::Forward);
        }
    }
}

#[test]
fn policy_mismatch_in_tunnel_and_transport_mode() {
    let mut rng = Rng::new(5);
    let net = |s: &str| s.parse::<ipnet::IpNet>().unwrap();
    // Tunnel: the SA carries 198.51.100.0/24 -> 203.0.113.0/24, UDP to port 5001 only.
    let mut l = link_with(CBC128_SHA1, ModeKind::T44, false, |_, i| {
        let mut s = Selector::between(net("198.51.100.0/24"), net("203.0.113.0/24"));
        s.proto = Some(17);
        s.dport = PortRange::single(5001);
        i.selectors = vec![s].into();
    });
    let ok = inner_packet(ModeKind::T44, 10, 1, &mut rng);
    let other_dst = crate::common::udp_packet("198.51.100.10", "10.9.9.9", 1, 5001, 10, &mut rng);
    let other_port =
        crate::common::udp_packet("198.51.100.10", "203.0.113.5", 1, 5002, 10, &mut rng);
    let e_ok = l.tx.seal(&ok, l.o);
    let e1 = l.tx.seal(&other_dst, l.o);
    let e2 = l.tx.seal(&other_port, l.o);
    let v = l.rx.verdicts(&[e1, e_ok, e2]);
    assert_eq!(
        v,
        [
            drop_of(DropReason::PolicyMismatch),
            Verdict::Forward,
            drop_of(DropReason::PolicyMismatch)
        ]
    );
    only_drops(&l.rx, Some(l.i), DropReason::PolicyMismatch, 2);
    // The packets were authentic: the window took them.
    assert_eq!(l.rx.top(l.i), 3);

    // Transport, IPv6: the selector names the peer's address.
    let mut l = link_with(GCM128, ModeKind::Tr6, false, |_, i| {
        i.selectors = vec![Selector::between(
            net(&format!("{}/128", IN6.0)),
            net("::/0"),
        )]
        .into();
    });
    let ok = inner_packet(ModeKind::Tr6, 10, 1, &mut rng);
    let bad = crate::common::udp_packet("2001:db8:1::11", IN6.1, 1, 5001, 10, &mut rng);
    let v = l.rx.verdicts(&[l.tx.seal(&ok, l.o), l.tx.seal(&bad, l.o)]);
    assert_eq!(v, [Verdict::Forward, drop_of(DropReason::PolicyMismatch)]);
    only_drops(&l.rx, Some(l.i), DropReason::PolicyMismatch, 1);
}

#[test]
fn sequence_overflow_without_esn_stops_at_2_32_minus_1() {
    let mut rng = Rng::new(6);
    let mut l = link(GCM128, ModeKind::T44);
    l.tx.sad
        .get_mut(l.o)
        .unwrap()
        .advance_oseq(u32::MAX as u64 - 2)
        .unwrap();
    let pkts: Vec<Vec<u8>> = (0..5)
        .map(|k| inner_packet(ModeKind::T44, 10, k, &mut rng))
        .collect();
    let first = l.tx.encrypt(&pkts, &[l.o; 5]);
    let v: Vec<Verdict> = first.iter().map(|x| x.0).collect();
    let ovf = drop_of(DropReason::SequenceOverflow);
    assert_eq!(v, [Verdict::Forward, Verdict::Forward, ovf, ovf, ovf]);
    assert_eq!(esp_seq(&first[1].1), u32::MAX);
    // Another burst later: still stopped, and the event was raised once.
    let r = l.tx.encrypt(&pkts[..2], &[l.o; 2]);
    assert!(r.iter().all(|x| x.0 == ovf));
    assert_eq!(
        l.tx.events(),
        [SaEvent {
            sa: l.o,
            spi: SPI,
            kind: SaEventKind::SequenceOverflow
        }]
    );
    only_drops(&l.tx, Some(l.o), DropReason::SequenceOverflow, 5);
    assert_eq!(l.tx.sad.get(l.o).unwrap().oseq(), u32::MAX as u64);
    // The receiver takes the last two numbers.
    l.rx.set_top(l.i, u32::MAX as u64 - 5);
    let v = l.rx.verdicts(&[first[0].1.clone(), first[1].1.clone()]);
    assert_eq!(v, [Verdict::Forward, Verdict::Forward]);
    assert_eq!(l.rx.top(l.i), u32::MAX as u64);
}

#[test]
fn sequence_overflow_with_esn_at_the_iv_bound() {
    let mut rng = Rng::new(7);
    let mut l = link_with(GCM128, ModeKind::T44, false, |o, _| o.esn = true);
    // With ESN, 2^32 is no limit...
    l.tx.sad
        .get_mut(l.o)
        .unwrap()
        .advance_oseq(u32::MAX as u64 - 1)
        .unwrap();
    for _ in 0..3 {
        l.tx.seal(&inner_packet(ModeKind::T44, 10, 1, &mut rng), l.o);
    }
    // ...but 2^48 - 1 is (the IV carries 48 bits of it).
    l.tx.sad
        .get_mut(l.o)
        .unwrap()
        .advance_oseq((1u64 << 48) - 2)
        .unwrap();
    let pkts: Vec<Vec<u8>> = (0..3)
        .map(|k| inner_packet(ModeKind::T44, 10, k, &mut rng))
        .collect();
    let v: Vec<Verdict> =
        l.tx.encrypt(&pkts, &[l.o; 3])
            .into_iter()
            .map(|x| x.0)
            .collect();
    let ovf = drop_of(DropReason::SequenceOverflow);
    assert_eq!(v, [Verdict::Forward, ovf, ovf]);
    assert_eq!(l.tx.events().len(), 1);
}

fn lifetime_case(
    dir_out: bool,
    lt: Lifetime,
    sizes: &[usize],
    want: &[Verdict],
    events: &[SaEventKind],
) {
    let mut rng = Rng::new(8);
    let mut l = link_with(CBC128_SHA1, ModeKind::T44, false, |o, i| {
        if dir_out {
            o.lifetime = lt;
        } else {
            i.lifetime = lt;
        }
    });
    let mut got = Vec::new();
    for (k, &n) in sizes.iter().enumerate() {
        // Packets of n bytes in all (20 IP + 8 UDP + payload).
        let p = inner_packet(ModeKind::T44, n - 28, k as u16, &mut rng);
        l.tx.now += 1000;
        l.rx.now += 1000;
        let (v, e) = l.tx.encrypt(&[p], &[l.o]).pop().unwrap();
        if dir_out || v != Verdict::Forward {
            got.push(v);
        } else {
            got.push(l.rx.open(&e).0);
        }
    }
    assert_eq!(got, want, "{lt:?} out={dir_out}");
    let node = if dir_out { &mut l.tx } else { &mut l.rx };
    let sa = if dir_out { l.o } else { l.i };
    let kinds: Vec<SaEventKind> = node
        .events()
        .into_iter()
        .map(|e| {
            assert_eq!((e.sa, e.spi), (sa, SPI));
            e.kind
        })
        .collect();
    assert_eq!(kinds, events, "{lt:?} out={dir_out}");
    let hard = want
        .iter()
        .filter(|v| **v == drop_of(DropReason::HardLifetime))
        .count() as u64;
    only_drops(node, Some(sa), DropReason::HardLifetime, hard);
    let expired = node.sad.get(sa).unwrap().state() == SaState::Expired;
    assert_eq!(expired, hard > 0);
}

#[test]
fn packet_lifetimes_soft_once_and_hard_stops_the_sa() {
    let f = Verdict::Forward;
    let h = drop_of(DropReason::HardLifetime);
    for out in [true, false] {
        let lt = Lifetime {
            soft_packets: 3,
            hard_packets: 5,
            ..Lifetime::default()
        };
        lifetime_case(
            out,
            lt,
            &[100; 8],
            &[f, f, f, f, f, h, h, h],
            &[SaEventKind::SoftLifetime, SaEventKind::HardLifetime],
        );
    }
}

#[test]
fn byte_lifetimes_soft_once_and_hard_stops_the_sa() {
    let f = Verdict::Forward;
    let h = drop_of(DropReason::HardLifetime);
    for out in [true, false] {
        // Inner bytes: 300 soft, 500 hard; packets of 100 bytes (inner, after decap).
        let lt = Lifetime {
            soft_bytes: 300,
            hard_bytes: 500,
            ..Lifetime::default()
        };
        lifetime_case(
            out,
            lt,
            &[100, 100, 100, 100, 100, 100, 40],
            &[f, f, f, f, f, h, h],
            &[SaEventKind::SoftLifetime, SaEventKind::HardLifetime],
        );
        // A packet that would cross the hard limit is refused, and the SA stops.
        lifetime_case(
            out,
            lt,
            &[200, 200, 200, 50],
            &[f, f, h, h],
            &[SaEventKind::SoftLifetime, SaEventKind::HardLifetime],
        );
        // Soft only: raised once, traffic goes on.
        let soft = Lifetime {
            soft_bytes: 150,
            ..Lifetime::default()
        };
        lifetime_case(out, soft, &[100; 5], &[f; 5], &[SaEventKind::SoftLifetime]);
    }
}

#[test]
fn standby_sa_is_inactive_both_ways() {
    let mut rng = Rng::new(9);
    let mut l = link(GCM128, ModeKind::T66);
    let e =
        l.tx.seal(&inner_packet(ModeKind::T66, 10, 1, &mut rng), l.o);
    l.rx.sad.get_mut(l.i).unwrap().deactivate();
    l.tx.sad.get_mut(l.o).unwrap().deactivate();
    assert_eq!(l.rx.open(&e).0, drop_of(DropReason::SaInactive));
    only_drops(&l.rx, Some(l.i), DropReason::SaInactive, 1);
    let r =
        l.tx.encrypt(&[inner_packet(ModeKind::T66, 10, 1, &mut rng)], &[l.o]);
    assert_eq!(r[0].0, drop_of(DropReason::SaInactive));
    only_drops(&l.tx, Some(l.o), DropReason::SaInactive, 1);
    assert_eq!(
        l.tx.sad.get(l.o).unwrap().oseq(),
        1,
        "a standby consumed a sequence number"
    );
    // Installed inactive from the start.
    let mut l = link_with(GCM128, ModeKind::T44, false, |o, i| {
        o.active = false;
        i.active = false;
    });
    let r =
        l.tx.encrypt(&[inner_packet(ModeKind::T44, 10, 1, &mut rng)], &[l.o]);
    assert_eq!(r[0].0, drop_of(DropReason::SaInactive));
    let pt = plaintext(&inner_packet(ModeKind::T44, 10, 1, &mut rng), 4, 4);
    let c = crafted(&l.keys, SPI, 1, ModeKind::T44, false, &pt);
    assert_eq!(l.rx.open(&c).0, drop_of(DropReason::SaInactive));
    assert_eq!(l.rx.top(l.i), 0);
}

#[test]
fn malformed() {
    let mut rng = Rng::new(10);
    let mut l = link(NULL_SHA1, ModeKind::T44);
    let good = inner_packet(ModeKind::T44, 30, 1, &mut rng);
    // Outbound: not IP, a header that claims more than the packet, a bad IHL, empty.
    let mut longer = good.clone();
    longer[3] += 1;
    let mut ihl = good.clone();
    ihl[0] = 0x44;
    let bad = vec![vec![0x00; 40], longer, ihl, vec![], good[..10].to_vec()];
    let r = l.tx.encrypt(&bad, &[l.o; 5]);
    assert!(
        r.iter().all(|x| x.0 == drop_of(DropReason::Malformed)),
        "{r:?}"
    );
    only_drops(&l.tx, Some(l.o), DropReason::Malformed, 5);
    assert_eq!(l.tx.sad.get(l.o).unwrap().oseq(), 0);
    // Inbound: the same, and (with a valid ICV) a tunnel payload that is not an IPv4 packet.
    let v = l.rx.verdicts(&bad);
    assert!(
        v.iter().all(|x| *x == drop_of(DropReason::Malformed)),
        "{v:?}"
    );
    let mut junk = good.clone();
    junk[3] = 200; // claims more than the payload
    let c = crafted(
        &l.keys,
        SPI,
        1,
        ModeKind::T44,
        false,
        &plaintext(&junk, 4, 4),
    );
    assert_eq!(l.rx.open(&c).0, drop_of(DropReason::Malformed));
    let c = crafted(
        &l.keys,
        SPI,
        2,
        ModeKind::T44,
        false,
        &plaintext(&[0x45, 0, 0], 4, 4),
    );
    assert_eq!(l.rx.open(&c).0, drop_of(DropReason::Malformed));
    assert_eq!(l.rx.drops(DropReason::Malformed), 7);
    assert_eq!(l.rx.sa_drops(l.i, DropReason::Malformed), 2);
}

#[test]
fn bad_next_header_in_tunnel_mode() {
    let mut rng = Rng::new(11);
    for mode in [ModeKind::T44, ModeKind::T66] {
        let l = link(NULL_SHA1, mode);
        let mut rx = l.rx;
        let inner = inner_packet(mode, 30, 1, &mut rng);
        let right = if mode.inner_v6() { 41 } else { 4 };
        let wrong = if mode.inner_v6() { 4 } else { 41 };
        let cases = [
            // Next header UDP (17) on a tunnel SA.
            plaintext(&inner[if mode.inner_v6() { 40 } else { 20 }..], 4, 17),
            // IPv4 said, IPv6 inside (and the other way round).
            plaintext(&inner, 4, wrong),
            plaintext(&inner, 4, 6),
        ];
        for (k, pt) in cases.iter().enumerate() {
            let c = crafted(&l.keys, SPI, k as u64 + 1, mode, false, pt);
            assert_eq!(
                rx.open(&c).0,
                drop_of(DropReason::BadNextHeader),
                "{mode:?} {k}"
            );
        }
        only_drops(&rx, Some(l.i), DropReason::BadNextHeader, 3);
        let c = crafted(&l.keys, SPI, 10, mode, false, &plaintext(&inner, 4, right));
        assert_eq!(rx.open(&c), (Verdict::Forward, inner));
    }
}

#[test]
fn ttl_exceeded_on_encap() {
    let mut rng = Rng::new(12);
    for mode in [ModeKind::T44, ModeKind::T64, ModeKind::T46, ModeKind::T66] {
        let mut l = link(GCM128, mode);
        let mut p0 = inner_packet(mode, 30, 1, &mut rng);
        set_ttl(&mut p0, 0);
        let mut p1 = p0.clone();
        set_ttl(&mut p1, 1);
        let mut p2 = p0.clone();
        set_ttl(&mut p2, 2);
        let r = l.tx.encrypt(&[p0, p1, p2.clone()], &[l.o; 3]);
        let ttl_x = drop_of(DropReason::TtlExceeded);
        assert_eq!(
            [r[0].0, r[1].0, r[2].0],
            [ttl_x, ttl_x, Verdict::Forward],
            "{mode:?}"
        );
        only_drops(&l.tx, Some(l.o), DropReason::TtlExceeded, 2);
        assert_eq!(l.rx.open(&r[2].1), (Verdict::Forward, ttl_decremented(&p2)));
    }
    // Transport mode does not forward: TTL 1 goes out as it is.
    let mut l = link(GCM128, ModeKind::Tr4);
    let mut p = inner_packet(ModeKind::Tr4, 30, 1, &mut rng);
    set_ttl(&mut p, 1);
    let e = l.tx.seal(&p, l.o);
    assert_eq!(l.rx.open(&e), (Verdict::Forward, p));
}

#[test]
fn ecn_drop_outer_ce_on_not_ect_inner() {
    let mut rng = Rng::new(13);
    for mode in [ModeKind::T44, ModeKind::T66, ModeKind::T46] {
        let mut l = link(CBC128_SHA1, mode);
        let mut p = inner_packet(mode, 30, 1, &mut rng);
        set_tos(&mut p, 0xb8); // EF, Not-ECT
        let mut e = l.tx.seal(&p, l.o);
        assert_eq!(tos(&e), 0xb8);
        set_tos(&mut e, 0xb8 | 3); // CE on the way
        assert_eq!(l.rx.open(&e).0, drop_of(DropReason::EcnDrop), "{mode:?}");
        only_drops(&l.rx, Some(l.i), DropReason::EcnDrop, 1);
        // The packet was authentic: its number is used up.
        assert_eq!(l.rx.top(l.i), 1);
    }
}

#[test]
fn no_room() {
    let mut rng = Rng::new(14);
    for mode in [ModeKind::T44, ModeKind::Tr6] {
        let mut l = link_with(GCM128, mode, true, |_, _| {});
        let p = inner_packet(mode, 100, 1, &mut rng);
        let bufs = vec![
            VecBuf::new(&p, 0, TAILROOM),
            VecBuf::new(&p, HEADROOM, 0),
            VecBuf::new(&p, 20, TAILROOM),
            VecBuf::new(&p, HEADROOM, TAILROOM),
        ];
        let r = l.tx.encrypt_bufs(bufs, &[l.o; 4]);
        let nr = drop_of(DropReason::NoRoom);
        assert_eq!(
            [r[0].0, r[1].0, r[2].0, r[3].0],
            [nr, nr, nr, Verdict::Forward]
        );
        only_drops(&l.tx, Some(l.o), DropReason::NoRoom, 3);
        let want = if mode.tunnel() {
            ttl_decremented(&p)
        } else {
            p
        };
        assert_eq!(l.rx.open(&r[3].1), (Verdict::Forward, want));
    }
    // An inner packet so big that the ESP packet would not fit an IP length field.
    let mut l = link(GCM128, ModeKind::T44);
    let big = inner_packet(ModeKind::T44, 65535 - 28, 1, &mut rng);
    let r =
        l.tx.encrypt_bufs(vec![VecBuf::new(&big, HEADROOM, TAILROOM)], &[l.o]);
    assert_eq!(r[0].0, drop_of(DropReason::NoRoom));
    assert_eq!(r[0].1, big, "a refused packet is left as it was");
}

/// RFC 4303 dummy packets (next header 59): authenticated, accepted by the window (its top
/// moves), then discarded and counted.
#[test]
fn dummy_packets_move_the_window_and_are_discarded() {
    let mut rng = Rng::new(15);
    for tf in transforms() {
        for mode in [ModeKind::T44, ModeKind::Tr6] {
            let mut l = link(tf, mode);
            let block = block_of(&l.keys);
            let real = l.tx.seal_many(mode, l.o, 3, &mut rng);
            assert_eq!(l.rx.open(&real[0].1).0, Verdict::Forward);
            let dummy = crafted(
                &l.keys,
                SPI,
                5,
                mode,
                false,
                &plaintext(&rng.bytes(21), block, 59),
            );
            let empty = crafted(&l.keys, SPI, 6, mode, false, &plaintext(&[], block, 59));
            let v = l.rx.verdicts(&[dummy.clone(), empty]);
            assert_eq!(v, [Verdict::Dummy, Verdict::Dummy], "{tf:?} {mode:?}");
            assert_eq!(l.rx.top(l.i), 6);
            assert_eq!(l.rx.lc.counters.dummy, 2);
            assert_eq!(l.rx.lc.counters.decrypted, 1);
            assert_eq!(l.rx.total_drops(), 0);
            assert_eq!(l.rx.sad.get(l.i).unwrap().counters().packets, 1);
            // The window holds it like any other; real packets below the top still pass.
            assert_eq!(l.rx.open(&dummy).0, drop_of(DropReason::Replay));
            assert_eq!(l.rx.open(&real[2].1).0, Verdict::Forward);
            assert_eq!(l.rx.open(&real[1].1).0, Verdict::Forward);
            // A forged dummy does not count.
            let mut bad = crafted(&l.keys, SPI, 9, mode, false, &plaintext(&[], block, 59));
            let n = bad.len();
            bad[n - 1] ^= 1;
            assert_eq!(l.rx.open(&bad).0, drop_of(DropReason::IcvFailure));
            assert_eq!(l.rx.lc.counters.dummy, 2);
        }
    }
}

/// RFC 4303 §2.7 TFC padding after the inner packet in tunnel mode is removed on decap.
#[test]
fn tfc_padding_after_the_inner_packet_is_removed() {
    let mut rng = Rng::new(16);
    for tf in transforms() {
        for mode in [ModeKind::T44, ModeKind::T66] {
            let mut l = link(tf, mode);
            let inner = inner_packet(mode, 40, 1, &mut rng);
            let mut payload = inner.clone();
            payload.extend(rng.bytes(37));
            let nh = if mode.inner_v6() { 41 } else { 4 };
            let c = crafted(
                &l.keys,
                SPI,
                1,
                mode,
                false,
                &plaintext(&payload, block_of(&l.keys), nh),
            );
            assert_eq!(
                l.rx.open(&c),
                (Verdict::Forward, inner.clone()),
                "{tf:?} {mode:?}"
            );
            assert_eq!(
                l.rx.sad.get(l.i).unwrap().counters().bytes,
                inner.len() as u64
            );
        }
    }
}
