//! Responder cookies and the half-open cap in the IKEv1 engine, on a fake clock: the
//! responder cookie is the keyed hash, a forged one and one of a gone SA are told apart,
//! the oldest SA that has not echoed its cookie is evicted at the cap (a real peer's echoed
//! SA never is), a full cap of echoed SAs refuses, half-open SAs time out, and the D-H
//! work waits for the peer's KE.

use std::net::SocketAddr;
use std::time::Duration;

use super::engine_tests::{pair_configs, Packet, World};
use super::isakmp_sa::{IsakmpSa, Phase1State};
use super::wire;
use crate::action::DropReason;
use crate::responder::HalfOpenLimits;
use crate::tests::harness::esp_cbc;

const S: fn(u64) -> Duration = Duration::from_secs;

fn limits(cap: usize, timeout: u64) -> HalfOpenLimits {
    HalfOpenLimits {
        init_limit_half_open: cap,
        half_open_timeout: S(timeout),
        secret_lifetime: S(60),
        ..HalfOpenLimits::default()
    }
}

/// A and B, B capped; A's Main Mode first message taken off the wire.
fn world_with_first_message(cap: usize, timeout: u64) -> (World, Packet) {
    let (a, b) = pair_configs(esp_cbc());
    let mut w = World::new(a, b);
    w.b.set_limits(limits(cap, timeout));
    w.initiate();
    w.collect();
    let first = w.wire.pop().unwrap();
    assert!(w.wire.is_empty());
    (w, first)
}

/// A's first message answered by B: the world, and A's initiator cookie.
fn first_message_answered() -> (World, [u8; 8]) {
    let (mut w, first) = world_with_first_message(10, 30);
    let real = icookie(&first);
    w.deliver(first);
    (w, real)
}

/// The same first message with initiator cookie `n` (a flood spoofing A's address).
fn spoofed(first: &Packet, n: u64) -> Packet {
    let mut bytes = first.bytes.clone();
    bytes[..8].copy_from_slice(&(n | 1 << 63).to_be_bytes());
    Packet {
        from: first.from,
        to: first.to,
        bytes,
    }
}

fn copy(p: &Packet) -> Packet {
    Packet {
        from: p.from,
        to: p.to,
        bytes: p.bytes.clone(),
    }
}

/// B's SA with this initiator cookie.
fn b_sa(w: &World, icookie: [u8; 8]) -> Option<&IsakmpSa> {
    w.b.sa_ids()
        .into_iter()
        .filter_map(|id| w.b.sa(id))
        .find(|sa| sa.icookie == icookie)
}

fn icookie(p: &Packet) -> [u8; 8] {
    p.bytes[..8].try_into().unwrap()
}

/// Delivers what is on the wire now, and its answers; the answers to those are left on it.
fn round_trip(w: &mut World) {
    for _ in 0..2 {
        w.collect();
        for p in std::mem::take(&mut w.wire) {
            w.deliver(p);
        }
    }
    w.collect();
}

#[test]
fn the_responder_cookie_is_checkable_without_state() {
    let (mut w, first) = world_with_first_message(10, 30);
    let a_to_b = copy(&first);
    w.deliver(first);
    w.collect();
    let answer = w.wire.pop().unwrap();
    let h = wire::parse_header(&answer.bytes).unwrap();
    assert_ne!(h.rcookie, [0; 8]);
    // A message for no SA with a responder cookie we never made: dropped as forged.
    let mut forged = a_to_b.bytes.clone();
    forged[..8].copy_from_slice(&[9; 8]);
    forged[8..16].copy_from_slice(&h.rcookie);
    forged[18] = wire::exchange::QUICK_MODE;
    let from = a_to_b.from;
    w.b.handle_datagram(w.now, &mut w.rng, a_to_b.to, from, &forged);
    assert_eq!(w.b.total_counters().dropped(DropReason::CookieForged), 1);
    // Found by its cookies while the SA lives (a Quick Mode before phase 1 is done).
    let mut moved = forged.clone();
    moved[..8].copy_from_slice(&h.icookie);
    w.b.handle_datagram(w.now, &mut w.rng, a_to_b.to, from, &moved);
    let c = w.b.total_counters();
    assert_eq!(c.dropped(DropReason::CookieForged), 1);
    assert_eq!(c.dropped(DropReason::CookieNoSa), 0);
    // The cookie of another initiator cookie, or of another address, is not ours.
    let elsewhere: SocketAddr = "203.0.113.9:500".parse().unwrap();
    w.b.handle_datagram(w.now, &mut w.rng, a_to_b.to, elsewhere, &forged);
    assert_eq!(w.b.total_counters().dropped(DropReason::CookieForged), 2);
    // Our cookie once the SA has timed out: counted apart.
    w.advance(S(31));
    assert_eq!(w.b.half_open(), 0);
    w.b.handle_datagram(w.now, &mut w.rng, a_to_b.to, from, &moved);
    let c = w.b.total_counters();
    assert_eq!(c.dropped(DropReason::CookieNoSa), 1);
    assert_eq!(c.dropped(DropReason::CookieForged), 2);
    assert_eq!(c.half_open.expired, 1);
    // Two secret lifetimes later the cookie no longer verifies (one more SA rotates them).
    w.advance(S(60));
    w.deliver(spoofed(&a_to_b, 1));
    w.advance(S(60));
    w.deliver(spoofed(&a_to_b, 2));
    w.b.handle_datagram(w.now, &mut w.rng, a_to_b.to, from, &moved);
    assert_eq!(w.b.total_counters().dropped(DropReason::CookieForged), 3);
}

#[test]
fn the_cap_evicts_the_oldest_not_echoed_and_the_real_peer_gets_in() {
    let (mut w, first) = world_with_first_message(3, 30);
    let real = icookie(&first);
    // Two spoofed first messages, then A's, then two more: at the cap of 3, the two
    // spoofed before A's go, oldest first.
    for n in 1..=2 {
        w.deliver(spoofed(&first, n));
    }
    w.deliver(copy(&first));
    assert_eq!(w.b.half_open(), 3);
    w.deliver(spoofed(&first, 3));
    assert!(
        b_sa(&w, icookie(&spoofed(&first, 1))).is_none(),
        "oldest first"
    );
    assert!(b_sa(&w, icookie(&spoofed(&first, 2))).is_some());
    w.deliver(spoofed(&first, 4));
    assert!(b_sa(&w, icookie(&spoofed(&first, 2))).is_none());
    assert!(b_sa(&w, real).is_some());
    assert_eq!(w.b.half_open(), 3);
    assert_eq!(w.b.total_counters().half_open.evicted, 2);
    assert_eq!(w.b.total_counters().half_open.current, 3);
    // A's answer (for its SA) and the flood's answers go out; only A's is delivered: A's
    // KE echoes the cookie, and from then on its SA is not evictable.
    w.collect();
    w.wire.retain(|p| p.bytes[..8] == real);
    assert_eq!(w.wire.len(), 1);
    round_trip(&mut w);
    assert_eq!(b_sa(&w, real).unwrap().state, Phase1State::MmKeAnswered);
    for n in 10..20 {
        w.deliver(spoofed(&first, n));
    }
    assert!(b_sa(&w, real).is_some());
    assert_eq!(w.b.half_open(), 3);
    assert_eq!(w.b.total_counters().half_open.evicted, 12);
    w.collect();
    w.wire.retain(|p| p.bytes[..8] == real);
    w.run();
    assert_eq!((w.seen_a.up, w.seen_b.up), (1, 1));
    assert_eq!(w.seen_b.children.len(), 1);
    // Up: no longer half-open; the flood's two last SAs are.
    assert_eq!(w.b.half_open(), 2);
    // The flood's SAs time out and the gauge goes back to zero.
    w.advance(S(31));
    assert_eq!(w.b.half_open(), 0);
    assert_eq!(w.b.total_counters().half_open.expired, 2);
    assert_eq!(
        w.seen_b.down,
        vec![],
        "evictions and timeouts of half-open SAs are silent"
    );
}

#[test]
fn a_full_cap_of_echoed_sas_refuses_new_ones() {
    let (mut w, first) = world_with_first_message(1, 30);
    let real = icookie(&first);
    w.deliver(copy(&first));
    round_trip(&mut w);
    assert_eq!(b_sa(&w, real).unwrap().state, Phase1State::MmKeAnswered);
    let held = std::mem::take(&mut w.wire);
    w.deliver(spoofed(&first, 5));
    let c = w.b.total_counters();
    assert_eq!(c.dropped(DropReason::HalfOpenCap), 1);
    assert_eq!(c.half_open.evicted, 0);
    assert_eq!(w.b.sa_ids().len(), 1);
    w.wire = held;
    w.run();
    assert_eq!((w.seen_a.up, w.seen_b.up), (1, 1));
    assert_eq!(w.b.half_open(), 0);
}

#[test]
fn half_open_sas_time_out_at_the_limit_s_timeout() {
    let (mut w, first) = world_with_first_message(10, 5);
    for n in 1..=4 {
        w.deliver(spoofed(&first, n));
    }
    assert_eq!(w.b.half_open(), 4);
    w.advance(S(4));
    assert_eq!(w.b.half_open(), 4);
    w.advance(S(1));
    assert_eq!(w.b.half_open(), 0);
    assert!(w.b.sa_ids().is_empty());
    assert_eq!(w.b.total_counters().half_open.expired, 4);
}

#[test]
fn main_mode_computes_no_d_h_before_the_peer_s_ke() {
    let (mut w, real) = first_message_answered();
    let sa = b_sa(&w, real).unwrap();
    let x = sa.exchange.as_ref().unwrap();
    assert!(x.dh.is_none() && x.g_xr.is_empty() && x.nr.is_empty());
    assert!(sa.keys.is_none());
    round_trip(&mut w);
    let sa = b_sa(&w, real).unwrap();
    assert!(sa.keys.is_some(), "keyed once the KE came");
    assert!(!sa.exchange.as_ref().unwrap().g_xr.is_empty());
}

/// What a not-yet-echoed responder SA holds: the struct, and on the heap the first message
/// and our answer (for repeats) and SAi_b (for the hashes). With this harness's one-proposal
/// offer about 1 kB; strongSwan's first message (a few proposals, vendor IDs) adds some
/// hundred octets.
#[test]
fn a_not_echoed_sa_stays_small() {
    let (w, real) = first_message_answered();
    let sa = b_sa(&w, real).unwrap();
    let x = sa.exchange.as_ref().unwrap();
    let heap = sa.last_received.capacity()
        + sa.last_sent.iter().map(Vec::capacity).sum::<usize>()
        + x.sai_b.capacity();
    let total = std::mem::size_of::<IsakmpSa>() + heap;
    eprintln!(
        "not-echoed SA: {} octets inline + {heap} on the heap",
        std::mem::size_of::<IsakmpSa>()
    );
    assert!(total < 2048, "{total}");
}
