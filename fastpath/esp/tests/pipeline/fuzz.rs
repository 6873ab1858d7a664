//! Random input (deterministic seeds): random bytes, random IP-looking packets, and mutations
//! of valid ESP packets (truncations, bit flips, length field edits) through decrypt_burst;
//! random packets through encrypt_burst. Nothing panics, every packet gets a verdict, the
//! counters agree with the verdicts, and what is forwarded is a sound IP packet.

use crate::common::Rng;
use crate::util::*;
use esp::buf::VecBuf;
use esp::counters::DropReason;
use esp::sa::SaId;
use esp::verdict::Verdict;
use esp::wire::ip::IpHeader;

fn below(rng: &mut Rng, n: usize) -> usize {
    (rng.next_u64() % n.max(1) as u64) as usize
}

/// Up to `max - 1` random bytes.
fn some_bytes(rng: &mut Rng, max: usize) -> Vec<u8> {
    let n = below(rng, max);
    rng.bytes(n)
}

/// A sender and a receiver with an SA pair for each transform x mode, ESN and NAT-T mixed.
fn setup(rng: &mut Rng) -> (Node, Node, Vec<(SaId, ModeKind)>) {
    let mut tx = Node::quiet();
    let mut rx = Node::quiet();
    let mut sas = Vec::new();
    for (k, tf) in transforms().into_iter().enumerate() {
        for (j, &mode) in MODES.iter().enumerate() {
            let id = (k * MODES.len() + j) as u32;
            let keys = tf.keys(rng);
            let (o, mut i) = sa_pair(
                0x8000 + id,
                &keys,
                mode,
                id.is_multiple_of(2),
                id.is_multiple_of(3),
            );
            if id.is_multiple_of(5) {
                i.replay_window = 64;
            }
            tx.add(id, o);
            rx.add(id, i);
            sas.push((SaId(id), mode));
        }
    }
    (tx, rx, sas)
}

/// A random IPv4 or IPv6 packet: random fields, options, extension headers and payload.
fn random_ip(rng: &mut Rng) -> Vec<u8> {
    if rng.next_u64().is_multiple_of(2) {
        let ihl = 5 + below(rng, 11);
        let total = ihl * 4 + below(rng, 300);
        let mut p = rng.bytes(total);
        p[0] = 0x40 | ihl as u8;
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        if rng.next_u64().is_multiple_of(2) {
            p[6] &= 0x40; // mostly unfragmented
            p[7] = 0;
        }
        if rng.next_u64().is_multiple_of(3) {
            p[9] = [50, 17, 6, 59, 4, 41][below(rng, 6)];
        }
        if rng.next_u64().is_multiple_of(2) {
            fix_ipv4_checksum(&mut p);
        }
        if rng.next_u64().is_multiple_of(4) {
            p.extend(some_bytes(rng, 20)); // link padding
        }
        p
    } else {
        let mut p = rng.bytes(40);
        p[0] = 0x60 | (p[0] & 0x0f);
        let mut at_next = 6;
        for _ in 0..below(rng, 4) {
            let kind = [0u8, 43, 44, 60, 50, 17][below(rng, 6)];
            p[at_next] = kind;
            if !matches!(kind, 0 | 43 | 44) {
                break;
            }
            let len = if kind == 44 {
                8
            } else {
                8 * (1 + below(rng, 3))
            };
            let at = p.len();
            p.extend(rng.bytes(len));
            if kind != 44 {
                p[at + 1] = (len / 8 - 1) as u8;
            } else if rng.next_u64().is_multiple_of(2) {
                p[at + 2] = 0;
                p[at + 3] = 0;
            }
            at_next = at;
        }
        p.extend(some_bytes(rng, 300));
        fix_ip_length(&mut p);
        if rng.next_u64().is_multiple_of(6) {
            p[4..6].copy_from_slice(&(rng.next_u64() as u16).to_be_bytes());
        }
        p
    }
}

/// One mutation of a valid ESP packet (or a fresh random one).
fn mutate(valid: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut p = valid.to_vec();
    match rng.next_u64() % 12 {
        0 => return some_bytes(rng, 200),
        1 => return random_ip(rng),
        2 => p.truncate(below(rng, p.len())),
        3 => {
            let h = ip_header_len(&p);
            p.truncate(h + below(rng, p.len() - h));
            fix_lengths(&mut p);
        }
        4 | 5 => {
            for _ in 0..1 + below(rng, 8) {
                let i = below(rng, p.len());
                p[i] ^= 1 << below(rng, 8);
            }
        }
        6 => {
            // IP length fields.
            if is_v6(&p) {
                p[4..6].copy_from_slice(&(rng.next_u64() as u16).to_be_bytes());
            } else if rng.next_u64().is_multiple_of(2) {
                p[2..4].copy_from_slice(&(rng.next_u64() as u16).to_be_bytes());
                fix_ipv4_checksum(&mut p);
            } else {
                p[0] = 0x40 | (rng.next_u64() as u8 & 0x0f);
            }
        }
        7 => {
            // The UDP length (NAT-T) or the ESP sequence number.
            let h = ip_header_len(&p);
            if ip_proto(&p) == 17 {
                p[h + 4..h + 6].copy_from_slice(&(rng.next_u64() as u16).to_be_bytes());
            } else {
                let at = esp_offset(&p) + 4;
                p[at..at + 4].copy_from_slice(&(rng.next_u64() as u32).to_be_bytes());
            }
        }
        8 => {
            // Bytes added at the end, with or without the lengths fixed.
            p.push(rng.next_u64() as u8);
            p.extend(some_bytes(rng, 40));
            if rng.next_u64().is_multiple_of(2) {
                fix_lengths(&mut p);
            }
        }
        9 => {
            // A chunk cut out of the middle, lengths fixed.
            let h = esp_offset(&p);
            if p.len() > h + 2 {
                let a = h + below(rng, p.len() - h);
                let b = (a + 1 + below(rng, 32)).min(p.len());
                p.drain(a..b);
                fix_lengths(&mut p);
            }
        }
        10 => {
            // Outer TOS / TTL: not authenticated, so mostly still accepted.
            let t = rng.next_u64() as u8;
            set_tos(&mut p, t);
            let ttl = rng.next_u64() as u8;
            set_ttl(&mut p, ttl);
        }
        _ => {}
    }
    p
}

fn check_forwarded(what: &str, out: &[u8]) {
    let h = IpHeader::parse(out).unwrap_or_else(|e| panic!("{what}: forwarded non-IP: {e:?}"));
    assert_eq!(h.total_len, out.len(), "{what}: forwarded length");
    if !is_v6(out) {
        assert!(ipv4_checksum_ok(out), "{what}: IPv4 checksum");
    }
}

#[test]
fn decrypt_burst_survives_random_and_mutated_packets() {
    let mut rng = Rng::new(0xf022);
    let (mut tx, mut rx, sas) = setup(&mut rng);
    let mut total = 0usize;
    let mut verdict_kinds = std::collections::BTreeMap::new();
    for round in 0..400 {
        let n = 1 + below(&mut rng, 130);
        let mut bufs = Vec::with_capacity(n);
        for _ in 0..n {
            let (sa, mode) = sas[below(&mut rng, sas.len())];
            let plain = inner_packet(mode, below(&mut rng, 300), 1, &mut rng);
            let valid = tx.seal(&plain, sa);
            let p = mutate(&valid, &mut rng);
            bufs.push(VecBuf::new(&p, below(&mut rng, 64), below(&mut rng, 64)));
        }
        let before = rx.lc.counters.clone();
        let got = rx.decrypt_bufs(bufs);
        for (k, (v, out)) in got.iter().enumerate() {
            assert_ne!(*v, UNSET, "round {round} packet {k}: no verdict");
            *verdict_kinds.entry(format!("{v:?}")).or_insert(0u64) += 1;
            if *v == Verdict::Forward {
                check_forwarded(&format!("round {round} packet {k}"), out);
            }
        }
        let c = &rx.lc.counters;
        let counted = (c.decrypted - before.decrypted)
            + (c.dummy - before.dummy)
            + c.drops.iter().sum::<u64>()
            - before.drops.iter().sum::<u64>();
        let expect = got
            .iter()
            .filter(|(v, _)| !matches!(v, Verdict::Exception | Verdict::Fragment))
            .count() as u64;
        assert_eq!(
            counted, expect,
            "round {round}: counters and verdicts disagree"
        );
        total += n;
    }
    eprintln!("{total} packets: {verdict_kinds:?}");
    assert!(verdict_kinds.contains_key("Forward"));
    assert!(verdict_kinds.len() >= 8, "{verdict_kinds:?}");
}

#[test]
fn decrypt_burst_survives_pure_garbage() {
    let mut rng = Rng::new(0x6a7b);
    let (_, mut rx, _) = setup(&mut rng);
    for round in 0..300 {
        let n = 1 + below(&mut rng, 100);
        let bufs: Vec<VecBuf> = (0..n)
            .map(|_| {
                let p = if rng.next_u64().is_multiple_of(2) {
                    some_bytes(&mut rng, 120)
                } else {
                    // IP with ESP or UDP 4500 and a known SPI: deeper into the pipeline.
                    let mut p = random_ip(&mut rng);
                    if p.len() > 80 {
                        let h = ip_header_len(&p).min(60);
                        if !is_v6(&p) {
                            p[9] = if rng.next_u64().is_multiple_of(2) {
                                50
                            } else {
                                17
                            };
                            p[6] = 0;
                            p[7] = 0;
                            fix_ipv4_checksum(&mut p);
                        } else {
                            p.truncate(40);
                            p[6] = 50;
                            p.extend(rng.bytes(60));
                            fix_ip_length(&mut p);
                        }
                        let h = if is_v6(&p) { 40 } else { h };
                        let mut at = h;
                        if ip_proto(&p) == 17 {
                            p[h + 2..h + 4].copy_from_slice(&4500u16.to_be_bytes());
                            at += 8;
                        }
                        let spi = 0x8000 + below(&mut rng, 48) as u32;
                        p[at..at + 4].copy_from_slice(&spi.to_be_bytes());
                    }
                    p
                };
                VecBuf::new(&p, below(&mut rng, 8), below(&mut rng, 8))
            })
            .collect();
        let got = rx.decrypt_bufs(bufs);
        for (k, (v, out)) in got.iter().enumerate() {
            assert_ne!(*v, UNSET, "round {round} packet {k}");
            assert!(
                !matches!(v, Verdict::Forward | Verdict::Dummy),
                "round {round} packet {k}: garbage accepted"
            );
            let _ = out;
        }
    }
    assert_eq!(rx.lc.counters.decrypted, 0);
}

#[test]
fn encrypt_burst_survives_random_packets() {
    let mut rng = Rng::new(0xe2c7);
    let (mut tx, mut rx, sas) = setup(&mut rng);
    let mut kinds = std::collections::BTreeMap::new();
    for round in 0..300 {
        let n = 1 + below(&mut rng, 130);
        let mut bufs = Vec::new();
        let mut ids = Vec::new();
        let mut inputs = Vec::new();
        for _ in 0..n {
            let p = if rng.next_u64().is_multiple_of(4) {
                some_bytes(&mut rng, 100)
            } else {
                random_ip(&mut rng)
            };
            let (sa, mode) = if rng.next_u64().is_multiple_of(20) {
                (SaId(999), ModeKind::T44)
            } else {
                sas[below(&mut rng, sas.len())]
            };
            let head = if rng.next_u64().is_multiple_of(8) {
                below(&mut rng, 40)
            } else {
                HEADROOM
            };
            let tail = if rng.next_u64().is_multiple_of(8) {
                below(&mut rng, 20)
            } else {
                TAILROOM
            };
            bufs.push(VecBuf::new(&p, head, tail));
            ids.push(sa);
            inputs.push((p, mode));
        }
        let got = tx.encrypt_bufs(bufs, &ids);
        let mut fwd = Vec::new();
        for (k, (v, out)) in got.iter().enumerate() {
            *kinds.entry(format!("{v:?}")).or_insert(0u64) += 1;
            let allowed = matches!(
                v,
                Verdict::Forward
                    | Verdict::Drop(
                        DropReason::Malformed
                            | DropReason::TtlExceeded
                            | DropReason::NoRoom
                            | DropReason::UnknownSpi
                    )
            );
            assert!(allowed, "round {round} packet {k}: {v:?}");
            if *v == Verdict::Forward {
                check_forwarded(&format!("round {round} packet {k}"), out);
                fwd.push((k, out.clone()));
            }
        }
        // What went out decrypts back to what went in.
        let back = rx.decrypt(&fwd.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>());
        for ((k, _), (v, got)) in fwd.iter().zip(back) {
            let (input, mode) = &inputs[*k];
            let h = IpHeader::parse(input).unwrap();
            let input = &input[..h.total_len];
            let what = format!("round {round} packet {k} {mode:?}");
            match v {
                Verdict::Forward => {}
                // An outer fragment (transport mode keeps the inner header's fragment fields).
                Verdict::Fragment if !mode.tunnel() && h.fragment => continue,
                // Transport mode with next header 59 is, to ESP, a dummy packet.
                Verdict::Dummy if !mode.tunnel() && h.protocol == 59 => continue,
                v => panic!("{what}: {v:?}"),
            }
            assert_eq!(got.len(), input.len(), "{what}");
            // Equal but for the TTL (tunnel) and the IPv4 checksum (recomputed in transport).
            let mut a = got.clone();
            let mut b = input.to_vec();
            if !is_v6(&a) {
                a[10..12].fill(0);
                b[10..12].fill(0);
            }
            if mode.tunnel() {
                assert_eq!(ttl(&a) + 1, ttl(&b), "{what}");
                let t = ttl(&b);
                if is_v6(&a) {
                    a[7] = t;
                } else {
                    a[8] = t;
                }
            }
            assert_eq!(a, b, "{what}");
        }
    }
    eprintln!("{kinds:?}");
}
