//! NAT-T classification (RFC 3948), outer fragments, and the outer header fields on encap
//! (DSCP, ECN, DF, TTL) and the ECN combination on decap (RFC 6040).

use crate::common::Rng;
use crate::util::*;
use esp::counters::DropReason;
use esp::sa::{DfMode, DscpMode, SaConfig, SaId};
use esp::verdict::Verdict;

fn link_with(
    tf: Tf,
    mode: ModeKind,
    natt: bool,
    edit: impl Fn(&mut SaConfig),
) -> (Node, Node, SaId, SaId) {
    let mut rng = Rng::new(0x4ead);
    let keys = tf.keys(&mut rng);
    let (mut o, i) = sa_pair(0x6000, &keys, mode, false, natt);
    edit(&mut o);
    let mut tx = Node::quiet();
    let mut rx = Node::quiet();
    let o = tx.add(1, o);
    let i = rx.add(2, i);
    (tx, rx, o, i)
}

#[test]
fn nat_t_classification() {
    let mut rng = Rng::new(0x4a7);
    for mode in [ModeKind::T44, ModeKind::T66] {
        let (mut tx, mut rx, o, _) = link_with(GCM128, mode, true, |_| {});
        let (a, b) = mode.outer_addrs();
        let esp = tx.seal(&inner_packet(mode, 50, 1, &mut rng), o);
        let mut ike = vec![0, 0, 0, 0];
        ike.extend(rng.bytes(60));
        let mut esp_to_other_port = esp.clone();
        let h = ip_header_len(&esp);
        esp_to_other_port[h + 2..h + 4].copy_from_slice(&4501u16.to_be_bytes());
        if is_v6(&esp_to_other_port) {
            fill_udp6_checksum(&mut esp_to_other_port);
        }
        let exceptions = vec![
            // IKE on 4500: the non-ESP marker (four zero bytes).
            wrap_ip(a, b, 17, Some((4500, 4500)), &ike),
            // A NAT keepalive: one byte 0xFF.
            wrap_ip(a, b, 17, Some((4500, 4500)), &[0xff]),
            // UDP to another port, even with ESP inside.
            esp_to_other_port,
            wrap_ip(a, b, 17, Some((4500, 53)), &rng.bytes(40)),
            // IKE on 500, and other protocols.
            wrap_ip(a, b, 17, Some((500, 500)), &rng.bytes(40)),
            wrap_ip(a, b, 6, None, &rng.bytes(40)),
            wrap_ip(a, b, 58, None, &rng.bytes(8)),
        ];
        let got = rx.decrypt(&exceptions);
        for (k, ((v, bytes), p)) in got.iter().zip(&exceptions).enumerate() {
            assert_eq!(*v, Verdict::Exception, "{mode:?} case {k}");
            assert_eq!(
                bytes, p,
                "{mode:?} case {k}: an exception is passed on untouched"
            );
        }
        assert_eq!(rx.total_drops(), 0);
        // The ESP packet itself, after all that, is accepted.
        assert_eq!(rx.open(&esp).0, Verdict::Forward);
    }
}

#[test]
fn outer_fragments_are_handed_back() {
    let mut rng = Rng::new(0xf4a);
    for natt in [false, true] {
        let (mut tx, mut rx, o, i) = link_with(CBC128_SHA1, ModeKind::T44, natt, |_| {});
        let e = tx.seal(&inner_packet(ModeKind::T44, 300, 1, &mut rng), o);
        let mut first = e.clone();
        first[6] |= 0x20; // more fragments
        fix_ipv4_checksum(&mut first);
        let mut later = e.clone();
        later[6] = 0;
        later[7] = 100; // offset 800
        fix_ipv4_checksum(&mut later);
        let mut last_df = e.clone();
        last_df[6] = 0x40;
        last_df[7] = 1;
        fix_ipv4_checksum(&mut last_df);
        let got = rx.decrypt(&[first.clone(), later.clone(), last_df.clone()]);
        for (k, ((v, b), p)) in got.iter().zip([first, later, last_df]).enumerate() {
            assert_eq!(*v, Verdict::Fragment, "natt={natt} case {k}");
            assert_eq!(*b, p);
        }
        assert_eq!(rx.top(i), 0);
        assert_eq!(rx.open(&e).0, Verdict::Forward);
    }
    // IPv6: a fragment header before ESP (first fragment, and a later one).
    let (mut tx, mut rx, o, _) = link_with(GCM128, ModeKind::T66, false, |_| {});
    let e = tx.seal(&inner_packet(ModeKind::T66, 300, 1, &mut rng), o);
    for offset_flags in [0x0001u16, 0x0100] {
        let mut f = e[..40].to_vec();
        f.push(50);
        f.push(0);
        f.extend_from_slice(&offset_flags.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 7]);
        f[6] = 44;
        f.extend_from_slice(&e[40..]);
        fix_lengths(&mut f);
        assert_eq!(rx.open(&f).0, Verdict::Fragment, "{offset_flags:#x}");
    }
    assert_eq!(rx.total_drops(), 0);
}

#[test]
fn ipv6_nat_t_udp_checksum_is_valid() {
    let mut rng = Rng::new(0xc6);
    for tf in transforms() {
        for mode in [ModeKind::T46, ModeKind::T66, ModeKind::Tr6] {
            let (mut tx, mut rx, o, _) = link_with(tf, mode, true, |_| {});
            for n in [0, 1, 17, 100, 999, 1400] {
                let p = inner_packet(mode, n, 1, &mut rng);
                let e = tx.seal(&p, o);
                assert_eq!(ip_proto(&e), 17);
                assert!(udp6_checksum_ok(&e), "{tf:?} {mode:?} len {n}");
                // And the receiver takes it.
                assert_eq!(rx.open(&e).0, Verdict::Forward);
            }
        }
    }
}

#[test]
fn dscp_copy_and_set_and_ecn_copied_on_encap() {
    let mut rng = Rng::new(0xd5c);
    for mode in [ModeKind::T44, ModeKind::T64, ModeKind::T46, ModeKind::T66] {
        for dscp in [
            DscpMode::Copy,
            DscpMode::Set(10),
            DscpMode::Set(0),
            DscpMode::Set(63),
        ] {
            let (mut tx, mut rx, o, _) = link_with(GCM128, mode, false, |c| c.dscp = dscp);
            for inner_dscp in [0u8, 46, 8] {
                for ecn in 0..4u8 {
                    let mut p = inner_packet(mode, 20, 1, &mut rng);
                    let t = (inner_dscp << 2) | ecn;
                    set_tos(&mut p, t);
                    let e = tx.seal(&p, o);
                    let want_dscp = match dscp {
                        DscpMode::Copy => inner_dscp,
                        DscpMode::Set(d) => d,
                    };
                    assert_eq!(tos(&e) >> 2, want_dscp, "{mode:?} {dscp:?}");
                    assert_eq!(tos(&e) & 3, ecn, "{mode:?} {dscp:?}: ECN copied (RFC 6040)");
                    // The inner header is not changed (but for its TTL).
                    let (v, got) = rx.open(&e);
                    assert_eq!(v, Verdict::Forward);
                    assert_eq!(got, ttl_decremented(&p));
                }
            }
        }
    }
}

#[test]
fn df_copy_set_clear_and_outer_ttl() {
    let mut rng = Rng::new(0xdf);
    for (df, ttl_out) in [(DfMode::Copy, 64), (DfMode::Set, 1), (DfMode::Clear, 255)] {
        let (mut tx, _, o, _) = link_with(NULL_SHA1, ModeKind::T44, false, |c| {
            c.df = df;
            c.outer_ttl = ttl_out;
        });
        for inner_df in [false, true] {
            let mut p = inner_packet(ModeKind::T44, 20, 1, &mut rng);
            set_df(&mut p, inner_df);
            let e = tx.seal(&p, o);
            let want = match df {
                DfMode::Copy => inner_df,
                DfMode::Set => true,
                DfMode::Clear => false,
            };
            assert_eq!(df_bit(&e), want, "{df:?} inner DF {inner_df}");
            assert_eq!(e[6] & 0x3f, 0, "no MF, no offset");
            assert_eq!(e[7], 0);
            assert_eq!(ttl(&e), ttl_out);
            assert!(ipv4_checksum_ok(&e));
        }
        // IPv6 outer: the hop limit is the SA's.
        let (mut tx, _, o, _) = link_with(NULL_SHA1, ModeKind::T46, false, |c| {
            c.df = df;
            c.outer_ttl = ttl_out;
        });
        let e = tx.seal(&inner_packet(ModeKind::T46, 20, 1, &mut rng), o);
        assert_eq!(ttl(&e), ttl_out);
    }
    // Inner IPv6 in outer IPv4 with DF copied: IPv6 is never fragmented on the way, so DF.
    let (mut tx, _, o, _) = link_with(NULL_SHA1, ModeKind::T64, false, |_| {});
    let e = tx.seal(&inner_packet(ModeKind::T64, 20, 1, &mut rng), o);
    assert!(df_bit(&e));
}

fn df_bit(p: &[u8]) -> bool {
    df(p)
}

/// RFC 6040 decapsulation: the inner ECN field after decap, for each inner and outer pair.
#[test]
fn decap_combines_ecn() {
    let mut rng = Rng::new(0xec2);
    // (inner, outer) -> inner after decap; None: drop.
    let table: [(u8, [Option<u8>; 4]); 4] = [
        (0, [Some(0), Some(0), Some(0), None]),
        (2, [Some(2), Some(1), Some(2), Some(3)]),
        (1, [Some(1), Some(1), Some(1), Some(3)]),
        (3, [Some(3), Some(3), Some(3), Some(3)]),
    ];
    for mode in [ModeKind::T44, ModeKind::T64, ModeKind::T46, ModeKind::T66] {
        let (mut tx, mut rx, o, _) = link_with(GCM128, mode, false, |_| {});
        for (inner, row) in table {
            for (outer, want) in [0u8, 1, 2, 3].into_iter().zip(row) {
                let mut p = inner_packet(mode, 20, 1, &mut rng);
                set_tos(&mut p, (26 << 2) | inner);
                let mut e = tx.seal(&p, o);
                let t = (tos(&e) & 0xfc) | outer;
                set_tos(&mut e, t);
                let (v, got) = rx.open(&e);
                match want {
                    None => assert_eq!(v, Verdict::Drop(DropReason::EcnDrop)),
                    Some(w) => {
                        assert_eq!(v, Verdict::Forward, "{mode:?} {inner} {outer}");
                        assert_eq!(
                            tos(&got),
                            (26 << 2) | w,
                            "{mode:?} inner {inner} outer {outer}"
                        );
                        if !is_v6(&got) {
                            assert!(ipv4_checksum_ok(&got));
                        }
                        // Everything else as sent.
                        let mut exp = ttl_decremented(&p);
                        set_tos(&mut exp, (26 << 2) | w);
                        assert_eq!(got, exp);
                    }
                }
            }
        }
        assert_eq!(rx.drops(DropReason::EcnDrop), 1);
    }
}
