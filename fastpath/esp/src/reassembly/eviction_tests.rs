//! One source must not be able to empty the table for the others: the limit per source,
//! eviction from the source that holds the most, and their counters (on a fake clock).

use super::tests::{v4, v6};
use super::*;

/// `v4` from source address `src`.
fn v4_from(src: [u8; 4], id: u16, offset: usize, mf: bool, len: usize) -> Vec<u8> {
    let mut p = v4(id, offset, mf, len);
    p[12..16].copy_from_slice(&src);
    p[10..12].copy_from_slice(&[0, 0]);
    let c = checksum::checksum(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p
}

/// `v6` from source address `src`.
fn v6_from(src: [u8; 16], id: u32, offset: usize, mf: bool, len: usize) -> Vec<u8> {
    let mut p = v6(id, offset, mf, len);
    p[8..24].copy_from_slice(&src);
    p
}

const LEGIT: [u8; 4] = [192, 0, 2, 2];
const FORGER: [u8; 4] = [198, 51, 100, 66];
const MICROSECOND: u64 = 1_000;
/// `legit_among_forged` with 300 forged fragments on a table of 256 that stays full: each
/// of the 15,050 new datagrams past the first 256 evicts one, but for the 49 that follow a
/// completion (which frees a slot); 255 are left.
const EVICTIONS_IN_A_FULL_TABLE: u64 = 50 * 301 - 49 - 256;

/// 50 datagrams in two pieces from LEGIT, with `forged` first fragments (never completed,
/// each of a new datagram) from the `forgers` sources in turn between each datagram's pieces;
/// returns how many of the 50 reassembled. The clock moves 1 us per packet.
fn legit_among_forged(r: &mut Reassembler, forgers: &[[u8; 4]], forged: usize) -> usize {
    let mut now = 0;
    let mut tick = || {
        now += MICROSECOND;
        now
    };
    let mut forged_id = 0u16;
    let mut whole = 0;
    for id in 0..50 {
        assert_eq!(
            r.insert(&v4_from(LEGIT, id, 0, true, 600), tick()),
            Insert::Incomplete
        );
        for k in 0..forged {
            forged_id = forged_id.wrapping_add(1);
            let src = forgers[k % forgers.len()];
            let got = r.insert(&v4_from(src, forged_id, 0, true, 600), tick());
            assert!(
                matches!(
                    got,
                    Insert::Incomplete | Insert::Dropped(Reason::SourceLimit)
                ),
                "{got:?}"
            );
        }
        if r.insert(&v4_from(LEGIT, id, 600, false, 500), tick()) == Insert::Complete(1120) {
            whole += 1;
        }
    }
    whole
}

#[test]
fn a_flood_from_one_source_is_refused_at_its_limit() {
    let mut r = table_with(256, 64);
    assert_eq!(legit_among_forged(&mut r, &[FORGER], 300), 50);
    let c = *r.counters();
    // The forger got its 64 datagrams in (none timed out in 15 ms); the rest were refused.
    assert_eq!(c.source_limit, 50 * 300 - 64, "{c:?}");
    assert_eq!((c.evicted, c.timed_out, c.reassembled), (0, 0, 50), "{c:?}");
    assert_eq!(r.len(), 64);
    // Once the forger's datagrams time out, it may start new ones again.
    let later = 16_000 * MICROSECOND + r.config().timeout_ns;
    assert_eq!(
        r.insert(&v4_from(FORGER, 1, 0, true, 8), later),
        Insert::Incomplete
    );
    assert_eq!((r.counters().timed_out, r.len()), (64, 1));
}

#[test]
fn without_a_limit_a_full_table_evicts_from_the_source_holding_the_most() {
    // The whole table for one source: the forger fills it, and every new datagram evicts
    // the forger's oldest, never LEGIT's only one.
    let mut r = table_with(256, 256);
    assert_eq!(legit_among_forged(&mut r, &[FORGER], 300), 50);
    let c = *r.counters();
    assert_eq!(c.source_limit, 0, "{c:?}");
    assert_eq!(c.evicted, EVICTIONS_IN_A_FULL_TABLE, "{c:?}");
    assert_eq!(c.reassembled, 50);
}

#[test]
fn forgers_sharing_the_table_evict_each_other_not_the_legitimate_sender() {
    // Four forgers at their limit fill the table; LEGIT's datagram evicts one of theirs, and
    // their next ones evict theirs again.
    let forgers = [
        FORGER,
        [198, 51, 100, 67],
        [198, 51, 100, 68],
        [198, 51, 100, 69],
    ];
    let mut r = table_with(256, 64);
    assert_eq!(legit_among_forged(&mut r, &forgers, 300), 50);
    let c = *r.counters();
    assert_eq!(c.evicted, EVICTIONS_IN_A_FULL_TABLE, "{c:?}");
    assert_eq!(c.reassembled, 50);
}

#[test]
fn the_victim_is_the_oldest_of_the_source_holding_the_most() {
    let (a, b, c) = ([10, 0, 0, 1], [10, 0, 0, 2], [10, 0, 0, 3]);
    let mut r = table_with(4, 4);
    // B's datagram is the oldest of all; A holds three.
    assert_eq!(r.insert(&v4_from(b, 1, 0, true, 8), 1), Insert::Incomplete);
    for id in 1..4 {
        assert_eq!(
            r.insert(&v4_from(a, id, 0, true, 8), 1 + id as u64),
            Insert::Incomplete
        );
    }
    // C's evicts A's oldest (id 1), not B's.
    assert_eq!(r.insert(&v4_from(c, 1, 0, true, 8), 10), Insert::Incomplete);
    assert_eq!(r.counters().evicted, 1);
    assert_eq!(
        r.insert(&v4_from(b, 1, 8, false, 8), 11),
        Insert::Complete(36)
    );
    assert_eq!(
        r.insert(&v4_from(a, 2, 8, false, 8), 12),
        Insert::Complete(36)
    );
    // A's id 1 is gone: its last fragment starts a new datagram.
    assert_eq!(
        r.insert(&v4_from(a, 1, 8, false, 8), 13),
        Insert::Incomplete
    );
    assert_eq!(r.len(), 3);
    // Full again (A 2, B 1, C 1): A's oldest (id 3, from t = 4) goes.
    assert_eq!(r.insert(&v4_from(b, 2, 0, true, 8), 14), Insert::Incomplete);
    assert_eq!(r.insert(&v4_from(c, 2, 0, true, 8), 15), Insert::Incomplete);
    assert_eq!(r.counters().evicted, 2);
    // A's id 3 starts over: now C holds the most (2), and its oldest (id 1) goes. C's id 1
    // then starts over too: A holds the most again (2), and its oldest (id 1, t = 13) goes.
    // B's datagram, never of the source holding the most, is still there.
    assert_eq!(
        r.insert(&v4_from(a, 3, 8, false, 8), 16),
        Insert::Incomplete
    );
    assert_eq!(r.counters().evicted, 3);
    assert_eq!(
        r.insert(&v4_from(c, 1, 8, false, 8), 17),
        Insert::Incomplete
    );
    assert_eq!(r.counters().evicted, 4);
    assert_eq!(
        r.insert(&v4_from(b, 2, 8, false, 8), 18),
        Insert::Complete(36)
    );
}

#[test]
fn an_ipv6_source_is_its_slash_64() {
    let host = |last: u8, net: u8| {
        let mut a = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, net, 0, 0, 0, 0, 0, 0, 0, 0];
        a[15] = last;
        a
    };
    let mut r = table_with(16, 2);
    // Two addresses of one /64 share its limit of 2.
    assert_eq!(
        r.insert(&v6_from(host(1, 1), 1, 0, true, 8), 0),
        Insert::Incomplete
    );
    assert_eq!(
        r.insert(&v6_from(host(2, 1), 2, 0, true, 8), 0),
        Insert::Incomplete
    );
    assert_eq!(
        r.insert(&v6_from(host(3, 1), 3, 0, true, 8), 0),
        Insert::Dropped(Reason::SourceLimit)
    );
    // Another /64, and IPv4, have their own.
    assert_eq!(
        r.insert(&v6_from(host(1, 2), 4, 0, true, 8), 0),
        Insert::Incomplete
    );
    assert_eq!(
        r.insert(&v4_from(LEGIT, 5, 0, true, 8), 0),
        Insert::Incomplete
    );
    // A fragment of a datagram already in flight is never refused.
    assert_eq!(
        r.insert(&v6_from(host(2, 1), 2, 8, false, 8), 0),
        Insert::Complete(56)
    );
    // And completing it gave the /64 room for a new one.
    assert_eq!(
        r.insert(&v6_from(host(3, 1), 3, 0, true, 8), 0),
        Insert::Incomplete
    );
    assert_eq!(r.counters().source_limit, 1);
}

#[test]
fn the_share_per_source_is_clamped_to_the_table() {
    assert_eq!(table_with(8, 0).config().per_source, 1);
    assert_eq!(table_with(8, 100).config().per_source, 8);
    assert_eq!(Config::default().per_source * 4, Config::default().capacity);
}

fn table_with(capacity: usize, per_source: usize) -> Reassembler {
    Reassembler::new(Config {
        capacity,
        per_source,
        ..Config::default()
    })
}
