//! The reassembly table's rules, fragment by fragment.

use super::*;
use crate::wire::fragment::tests::{ipv4_packet, ipv6_packet};
use crate::wire::fragment::Fragmenter;
use crate::wire::ip::IpHeader;
use crate::wire::proto;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

fn fragments(f: &Fragmenter) -> Vec<Vec<u8>> {
    (0..f.count())
        .map(|k| {
            let mut b = vec![0; f.fragment_len(k)];
            f.write(k, &mut b).unwrap();
            b
        })
        .collect()
}

/// An IPv4 fragment of datagram `id` with payload bytes `offset..offset + len` of a
/// pattern, valid checksum.
pub(super) fn v4(id: u16, offset: usize, mf: bool, len: usize) -> Vec<u8> {
    let mut p = ipv4_packet(&[], len, false, id);
    for (i, b) in p[20..].iter_mut().enumerate() {
        *b = ((offset + i) * 7) as u8;
    }
    let fo = (offset / 8) as u16 | if mf { 0x2000 } else { 0 };
    p[6..8].copy_from_slice(&fo.to_be_bytes());
    p[10..12].copy_from_slice(&[0, 0]);
    let c = checksum::checksum(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p
}

/// An IPv6 fragment (no other extension headers) of datagram `id`.
pub(super) fn v6(id: u32, offset: usize, mf: bool, len: usize) -> Vec<u8> {
    let mut p = ipv6_packet(&[(proto::IPV6_FRAG, 8)], len);
    p[40] = proto::UDP;
    p[41] = 0;
    let fo = offset as u16 | u16::from(mf);
    p[42..44].copy_from_slice(&fo.to_be_bytes());
    p[44..48].copy_from_slice(&id.to_be_bytes());
    for (i, b) in p[48..].iter_mut().enumerate() {
        *b = ((offset + i) * 7) as u8;
    }
    p
}

fn table() -> Reassembler {
    Reassembler::new(Config::default())
}

#[test]
fn round_trips_ipv4_in_any_order() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut r = table();
    let opts = [130, 7, 1, 2, 3, 4, 5, 7, 3, 4, 0, 0];
    for payload in [1, 8, 9, 100, 1000, 1480, 1481, 2999, 5000, 9196] {
        for mtu in [68, 100, 576, 1280, 1500] {
            for o in [&[][..], &opts[..], &[1, 1, 1, 1][..]] {
                if o.len() % 4 != 0 || 20 + o.len() + payload > 9216 {
                    continue;
                }
                let p = ipv4_packet(o, payload, false, rng.next() as u16);
                let f = Fragmenter::ipv4(&p, mtu).unwrap();
                let mut frags = fragments(&f);
                if frags.len() == 1 {
                    assert_eq!(r.insert(&frags[0], 0), Insert::NotFragment);
                    continue;
                }
                rng.shuffle(&mut frags);
                let n = frags.len();
                for (k, x) in frags.iter().enumerate() {
                    let got = r.insert(x, k as u64);
                    if k + 1 < n {
                        assert_eq!(got, Insert::Incomplete);
                    } else {
                        assert_eq!(got, Insert::Complete(p.len()));
                    }
                }
                assert_eq!(r.reassembled(), &p[..], "payload {payload} mtu {mtu}");
                assert!(r.is_empty());
            }
        }
    }
    let c = r.counters();
    assert_eq!(
        (c.duplicates, c.malformed, c.overlap, c.evicted, c.timed_out),
        (0, 0, 0, 0, 0)
    );
}

#[test]
fn round_trips_ipv6_in_any_order() {
    let mut rng = Rng(77);
    let mut r = table();
    let exts: [&[(u8, usize)]; 4] = [&[], &[(0, 8)], &[(0, 16), (43, 24)], &[(60, 16)]];
    for ext in exts {
        for payload in [1, 8, 1232, 1300, 3000, 9000] {
            for mtu in [1280, 1283, 1500] {
                let p = ipv6_packet(ext, payload);
                if p.len() > 9216 {
                    continue;
                }
                let f = Fragmenter::ipv6(&p, mtu, rng.next() as u32).unwrap();
                let mut frags = fragments(&f);
                if frags.len() == 1 {
                    assert_eq!(r.insert(&frags[0], 0), Insert::NotFragment);
                    continue;
                }
                rng.shuffle(&mut frags);
                let n = frags.len();
                for (k, x) in frags.iter().enumerate() {
                    let want = if k + 1 < n {
                        Insert::Incomplete
                    } else {
                        Insert::Complete(p.len())
                    };
                    assert_eq!(r.insert(x, 5), want);
                }
                assert_eq!(r.reassembled(), &p[..], "ext {ext:?} payload {payload}");
            }
        }
    }
    assert!(r.is_empty());
}

#[test]
fn interleaved_datagrams_and_both_families() {
    let mut rng = Rng(5);
    let mut r = table();
    let mut want = Vec::new();
    let mut all = Vec::new();
    for d in 0..50u16 {
        let p = if d % 2 == 0 {
            let p = ipv4_packet(&[], 3000 + d as usize, false, d);
            all.extend(fragments(&Fragmenter::ipv4(&p, 576).unwrap()));
            p
        } else {
            let p = ipv6_packet(&[], 3000 + d as usize);
            all.extend(fragments(&Fragmenter::ipv6(&p, 1280, d as u32).unwrap()));
            p
        };
        want.push(p);
    }
    rng.shuffle(&mut all);
    let mut got = Vec::new();
    for x in &all {
        if let Insert::Complete(n) = r.insert(x, 0) {
            assert_eq!(r.reassembled().len(), n);
            got.push(r.reassembled().to_vec());
        }
    }
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(r.counters().reassembled, 50);
}

#[test]
fn same_id_different_keys_stay_apart() {
    let mut r = table();
    let a = v4(1, 0, true, 8);
    let mut b = v4(1, 8, false, 8);
    b[9] = proto::TCP; // another protocol: another datagram
    b[10..12].copy_from_slice(&[0, 0]);
    let c = checksum::checksum(&b[..20]);
    b[10..12].copy_from_slice(&c.to_be_bytes());
    assert_eq!(r.insert(&a, 0), Insert::Incomplete);
    assert_eq!(r.insert(&b, 0), Insert::Incomplete);
    assert_eq!(r.len(), 2);
    // IPv6: the next header is not part of the key.
    let a = v6(1, 0, true, 8);
    let mut b = v6(1, 8, false, 8);
    b[40] = proto::TCP;
    assert_eq!(r.insert(&a, 0), Insert::Incomplete);
    assert_eq!(r.insert(&b, 0), Insert::Complete(40 + 16));
    assert_eq!(
        r.reassembled()[6],
        proto::UDP,
        "first fragment's next header"
    );
}

#[test]
fn whole_packets_are_not_fragments() {
    let mut r = table();
    assert_eq!(
        r.insert(&ipv4_packet(&[], 100, true, 1), 0),
        Insert::NotFragment
    );
    assert_eq!(r.insert(&ipv6_packet(&[], 100), 0), Insert::NotFragment);
    assert_eq!(
        r.insert(&ipv6_packet(&[(0, 8), (60, 8)], 100), 0),
        Insert::NotFragment
    );
    assert_eq!(r.counters().fragments, 0);
}

#[test]
fn ipv6_atomic_fragment_is_returned_alone() {
    let mut r = table();
    assert_eq!(r.insert(&v6(9, 0, true, 16), 0), Insert::Incomplete);
    let a = v6(9, 0, false, 24);
    assert_eq!(r.insert(&a, 0), Insert::Complete(40 + 24));
    let out = r.reassembled();
    assert_eq!(out[6], proto::UDP);
    assert_eq!(be16(out, 4), 24);
    assert_eq!(out[40..], a[48..]);
    // The table entry of the same ID is untouched.
    assert_eq!(r.len(), 1);
    assert_eq!(r.insert(&v6(9, 16, false, 3), 0), Insert::Complete(40 + 19));
}

#[test]
fn duplicates_are_ignored() {
    for fam in [4, 6] {
        let f = |o: usize, mf: bool, n: usize| {
            if fam == 4 {
                v4(3, o, mf, n)
            } else {
                v6(3, o, mf, n)
            }
        };
        let mut r = table();
        assert_eq!(r.insert(&f(8, true, 16), 0), Insert::Incomplete);
        assert_eq!(r.insert(&f(8, true, 16), 0), Insert::Incomplete);
        assert_eq!(r.insert(&f(24, false, 5), 0), Insert::Incomplete);
        assert_eq!(r.insert(&f(24, false, 5), 0), Insert::Incomplete);
        assert_eq!(r.insert(&f(8, true, 16), 0), Insert::Incomplete);
        assert_eq!(r.counters().duplicates, 3);
        let hl = if fam == 4 { 20 } else { 40 };
        assert_eq!(r.insert(&f(0, true, 8), 0), Insert::Complete(hl + 29));
        let out = r.reassembled().to_vec();
        for (i, b) in out[hl..].iter().enumerate() {
            assert_eq!(*b, (i * 7) as u8);
        }
        // The zero-length last fragment and its duplicate.
        assert_eq!(r.insert(&f(0, true, 8), 0), Insert::Incomplete);
        assert_eq!(r.insert(&f(8, false, 0), 0), Insert::Complete(hl + 8));
        assert_eq!(r.insert(&f(8, true, 8), 0), Insert::Incomplete);
        assert_eq!(r.insert(&f(16, false, 0), 0), Insert::Incomplete);
        assert_eq!(r.insert(&f(16, false, 0), 0), Insert::Incomplete);
        assert_eq!(r.counters().duplicates, 4);
        assert_eq!(r.counters().overlap, 0);
    }
}

#[test]
fn overlaps_drop_the_datagram() {
    for fam in [4, 6] {
        let f = |o: usize, mf: bool, n: usize| {
            if fam == 4 {
                v4(4, o, mf, n)
            } else {
                v6(4, o, mf, n)
            }
        };
        let cases: [&[(usize, bool, usize)]; 6] = [
            // Partial overlap.
            &[(0, true, 16), (8, true, 16)],
            // Covered by two earlier fragments (not an exact duplicate).
            &[(0, true, 8), (8, true, 8), (0, true, 16)],
            // A shorter fragment inside a longer one.
            &[(0, true, 24), (8, true, 8)],
            // Same start, longer.
            &[(0, true, 8), (0, true, 16)],
            // A middle fragment inside the last one.
            &[(8, false, 20), (16, true, 8)],
            // A last fragment over a middle one.
            &[(16, true, 8), (8, false, 20)],
        ];
        for case in cases {
            let mut r = table();
            for (k, &(o, mf, n)) in case.iter().enumerate() {
                let got = r.insert(&f(o, mf, n), 0);
                if k + 1 < case.len() {
                    assert_eq!(got, Insert::Incomplete, "{fam} {case:?}");
                } else {
                    assert_eq!(got, Insert::Dropped(Reason::Overlap), "{fam} {case:?}");
                }
            }
            assert!(r.is_empty());
            assert_eq!(r.counters().overlap, 1);
            // The rest of the datagram starts a new one (and does not complete it).
            assert_eq!(r.insert(&f(100, false, 1), 0), Insert::Incomplete);
        }
    }
}

#[test]
fn contradicting_last_fragments_drop_the_datagram() {
    let cases: [&[(usize, bool, usize)]; 4] = [
        // Two different ends.
        &[(8, false, 8), (8, false, 16)],
        // A last fragment before data already received.
        &[(32, true, 8), (8, false, 8)],
        // Data past the end a last fragment set.
        &[(8, false, 8), (16, true, 8)],
        &[(8, false, 8), (40, false, 8)],
    ];
    for case in cases {
        let mut r = table();
        let n = case.len();
        for (k, &(o, mf, len)) in case.iter().enumerate() {
            let want = if k + 1 < n {
                Insert::Incomplete
            } else {
                Insert::Dropped(Reason::Inconsistent)
            };
            assert_eq!(r.insert(&v4(5, o, mf, len), 0), want, "{case:?}");
        }
        assert!(r.is_empty());
        assert_eq!(r.counters().inconsistent, 1);
    }
}

#[test]
fn too_big_drops_the_datagram() {
    let mut r = Reassembler::new(Config {
        max_size: 1000,
        ..Config::default()
    });
    assert_eq!(r.insert(&v4(6, 0, true, 800), 0), Insert::Incomplete);
    assert_eq!(r.len(), 1);
    // 20 + 800 + 184 > 1000.
    assert_eq!(
        r.insert(&v4(6, 800, false, 184), 0),
        Insert::Dropped(Reason::TooBig)
    );
    assert!(r.is_empty());
    assert_eq!(r.insert(&v4(7, 0, true, 800), 0), Insert::Incomplete);
    assert_eq!(r.insert(&v4(7, 800, false, 180), 0), Insert::Complete(1000));
    // A later fragment within the limit for a 20-byte header, then a first fragment
    // whose options make the datagram too long.
    assert_eq!(r.insert(&v4(8, 960, false, 16), 0), Insert::Incomplete);
    let mut first = ipv4_packet(&[1, 1, 1, 1, 1, 1, 1, 1], 16, false, 8);
    first[6] = 0x20;
    first[10..12].copy_from_slice(&[0, 0]);
    let c = checksum::checksum(&first[..28]);
    first[10..12].copy_from_slice(&c.to_be_bytes());
    assert_eq!(r.insert(&first, 0), Insert::Dropped(Reason::TooBig));
    assert_eq!(r.counters().too_big, 2);
    // The IPv4 length field limit, whatever max_size says.
    let mut r = Reassembler::new(Config {
        max_size: 70_000,
        ..Config::default()
    });
    assert_eq!(r.config().max_size, 65575);
    assert_eq!(
        r.insert(&v4(1, 65512, false, 8), 0),
        Insert::Dropped(Reason::TooBig)
    );
    assert_eq!(r.insert(&v4(1, 65504, false, 8), 0), Insert::Incomplete);
    // IPv6 may reach 65535 + 40.
    assert_eq!(r.insert(&v6(1, 65528, false, 7), 0), Insert::Incomplete);
    assert_eq!(
        r.insert(&v6(2, 65528, false, 8), 0),
        Insert::Dropped(Reason::TooBig)
    );
}

#[test]
fn malformed_fragments_are_dropped_alone() {
    let mut r = table();
    assert_eq!(r.insert(&v4(1, 0, true, 16), 0), Insert::Incomplete);
    let bad: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x45; 10],
        vec![0x00; 40],
        v4(1, 16, true, 12), // MF with a length not a multiple of 8
        v4(1, 16, true, 0),  // MF and empty
        v4(1, 16, false, 8)[..27].to_vec(), // shorter than its total length
        {
            let mut p = v4(1, 16, false, 8);
            p[10] ^= 1; // bad checksum
            p
        },
        {
            let mut p = v4(1, 16, false, 8);
            p[0] = 0x44; // IHL below 5
            p
        },
        v6(1, 16, true, 12),
        v6(1, 16, false, 8)[..50].to_vec(),
        {
            let mut p = v6(1, 16, false, 8);
            p[40] = proto::IPV6_FRAG; // nested fragment header
            p
        },
        {
            let mut p = ipv6_packet(&[(0, 8)], 0);
            p[40] = proto::IPV6_FRAG; // fragment header missing
            p
        },
        {
            let mut p = ipv6_packet(&[(43, 8), (0, 8)], 8); // hop-by-hop not first
            let l = p.len();
            p[48] = proto::IPV6_FRAG;
            p[l - 8] = 0;
            p
        },
    ];
    for (k, b) in bad.iter().enumerate() {
        assert_eq!(
            r.insert(b, 0),
            Insert::Dropped(Reason::Malformed),
            "case {k}"
        );
    }
    assert_eq!(r.counters().malformed, bad.len() as u64);
    assert_eq!(r.len(), 1, "the datagram in flight is untouched");
    assert_eq!(r.insert(&v4(1, 16, false, 8), 0), Insert::Complete(44));
}

#[test]
fn datagrams_time_out_on_the_callers_clock() {
    let t = 2_000_000_000;
    let mut r = table();
    assert_eq!(r.config().timeout_ns, t);
    let base = 10_000;
    assert_eq!(r.insert(&v4(1, 0, true, 8), base), Insert::Incomplete);
    assert_eq!(r.insert(&v6(1, 0, true, 8), base + 10), Insert::Incomplete);
    assert_eq!(r.expire(base + t - 1), 0);
    // Just in time for the IPv4 one.
    assert_eq!(
        r.insert(&v4(1, 8, false, 8), base + t - 1),
        Insert::Complete(36)
    );
    // The IPv6 one times out first; its last fragment starts a new datagram.
    assert_eq!(
        r.insert(&v6(1, 8, false, 8), base + t + 10),
        Insert::Incomplete
    );
    assert_eq!(r.counters().timed_out, 1);
    assert_eq!(r.len(), 1);
    assert_eq!(r.expire(base + 2 * t + 9), 0);
    assert_eq!(r.expire(base + 2 * t + 10), 1);
    assert!(r.is_empty());
    // A clock that goes back does not expire anything.
    assert_eq!(r.insert(&v4(2, 0, true, 8), base), Insert::Incomplete);
    assert_eq!(r.expire(0), 0);
    assert_eq!(r.len(), 1);
    // A custom timeout.
    let mut r = Reassembler::new(Config {
        timeout_ns: 100,
        ..Config::default()
    });
    assert_eq!(r.insert(&v4(1, 0, true, 8), 0), Insert::Incomplete);
    assert_eq!(r.insert(&v4(1, 8, false, 8), 100), Insert::Incomplete);
    assert_eq!(r.counters().timed_out, 1);
}

#[test]
fn full_table_evicts_the_oldest() {
    let mut r = Reassembler::new(Config {
        capacity: 4,
        ..Config::default()
    });
    for id in 0..4 {
        assert_eq!(r.insert(&v4(id, 0, true, 8), id as u64), Insert::Incomplete);
    }
    assert_eq!(r.len(), 4);
    assert_eq!(r.insert(&v4(4, 0, true, 8), 10), Insert::Incomplete);
    assert_eq!(r.counters().evicted, 1);
    assert_eq!(r.len(), 4);
    // Datagram 0 is gone: its last fragment starts over (and evicts datagram 1).
    assert_eq!(r.insert(&v4(0, 8, false, 8), 11), Insert::Incomplete);
    assert_eq!(r.counters().evicted, 2);
    for id in 2..5 {
        assert_eq!(r.insert(&v4(id, 8, false, 8), 12), Insert::Complete(36));
    }
    assert_eq!(r.len(), 1);
    assert_eq!(r.insert(&v4(1, 8, false, 8), 13), Insert::Incomplete);
    assert_eq!(r.counters().evicted, 2);
    for id in 10..12 {
        assert_eq!(r.insert(&v4(id, 0, true, 8), 14), Insert::Incomplete);
    }
    assert_eq!((r.len(), r.counters().evicted), (4, 2));
    // Completing frees the slot (after the caller had the packet).
    assert_eq!(r.insert(&v4(11, 8, false, 8), 15), Insert::Complete(36));
    assert_eq!(r.reassembled().len(), 36);
    assert_eq!(r.len(), 3);
    assert_eq!(r.insert(&v4(20, 0, true, 8), 16), Insert::Incomplete);
    assert_eq!((r.len(), r.counters().evicted), (4, 2));
    assert_eq!(r.insert(&v4(21, 0, true, 8), 17), Insert::Incomplete);
    assert_eq!((r.len(), r.counters().evicted), (4, 3));
    // The oldest (datagram 0, from t = 11) went.
    assert_eq!(r.insert(&v4(0, 0, true, 8), 18), Insert::Incomplete);
    assert_eq!(r.counters().evicted, 4);
    // Capacity 0 is taken as 1.
    let mut r = Reassembler::new(Config {
        capacity: 0,
        ..Config::default()
    });
    assert_eq!(r.insert(&v4(1, 0, true, 8), 0), Insert::Incomplete);
    assert_eq!(r.insert(&v4(2, 0, true, 8), 0), Insert::Incomplete);
    assert_eq!(r.insert(&v4(2, 8, false, 8), 0), Insert::Complete(36));
    assert_eq!(r.counters().evicted, 1);
}

#[test]
fn random_and_mutated_fragments_never_panic() {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    let mut r = Reassembler::new(Config {
        capacity: 4,
        max_size: 4000,
        timeout_ns: 2000,
        per_source: 4,
    });
    let mut now = 0u64;
    let mut completed = 0;
    for round in 0..3000 {
        let p = if rng.below(2) == 0 {
            let mut p = ipv4_packet(&[], rng.below(5000), false, rng.below(4) as u16);
            if rng.below(4) == 0 {
                p[1] = 0;
            }
            p
        } else {
            let exts: [&[(u8, usize)]; 3] = [&[], &[(0, 8)], &[(43, 16)]];
            ipv6_packet(exts[rng.below(3)], rng.below(5000))
        };
        let mtu = 1280 + rng.below(1000);
        let Ok(f) = Fragmenter::new(&p, mtu, rng.below(4) as u32) else {
            continue;
        };
        let mut frags = fragments(&f);
        rng.shuffle(&mut frags);
        for x in frags.iter_mut() {
            match rng.below(8) {
                0 => {
                    // Flip a few bits, anywhere.
                    for _ in 0..=rng.below(4) {
                        let i = rng.below(x.len());
                        x[i] ^= 1 << rng.below(8);
                    }
                    if x[0] >> 4 == 4 && rng.below(2) == 0 {
                        let hl = ((x[0] & 15) as usize * 4).clamp(20, x.len().min(60));
                        x[10..12].copy_from_slice(&[0, 0]);
                        let c = checksum::checksum(&x[..hl]);
                        x[10..12].copy_from_slice(&c.to_be_bytes());
                    }
                }
                1 => {
                    let n = rng.below(x.len() + 1);
                    x.truncate(n);
                }
                2 => {
                    // Random offset / MF (IPv4 with a fixed checksum, or IPv6 without
                    // extension headers).
                    let fo = rng.next() as u16;
                    if x[0] >> 4 == 4 {
                        x[6..8].copy_from_slice(&fo.to_be_bytes());
                        x[10..12].copy_from_slice(&[0, 0]);
                        let hl = (x[0] & 15) as usize * 4;
                        let c = checksum::checksum(&x[..hl]);
                        x[10..12].copy_from_slice(&c.to_be_bytes());
                    } else if x[6] == proto::IPV6_FRAG {
                        x[42..44].copy_from_slice(&fo.to_be_bytes());
                    }
                }
                3 => {
                    let len = rng.below(100);
                    *x = (0..len).map(|_| rng.next() as u8).collect();
                }
                _ => {}
            }
            now += rng.below(200) as u64;
            if rng.below(100) == 0 {
                now += 5000;
            }
            match r.insert(x, now) {
                Insert::Complete(n) => {
                    completed += 1;
                    let out = r.reassembled();
                    assert_eq!(out.len(), n);
                    assert!(n <= 4000);
                    if out[0] >> 4 == 4 {
                        let h = IpHeader::parse(out).expect("a reassembled packet parses");
                        assert_eq!(h.total_len, n);
                        assert!(!h.fragment);
                        assert_eq!(checksum::checksum(&out[..h.header_len]), 0);
                    } else {
                        assert_eq!(out[0] >> 4, 6);
                        assert_eq!(be16(out, 4) as usize + 40, n);
                    }
                }
                Insert::Dropped(_) | Insert::Incomplete | Insert::NotFragment => {}
            }
            assert!(r.len() <= 4);
        }
        if round % 500 == 0 {
            r.expire(now);
        }
    }
    assert!(completed > 100, "completed {completed}");
    let c = *r.counters();
    assert!(c.malformed > 0 && c.timed_out > 0 && c.evicted > 0, "{c:?}");
}
