//! IKE_SA_INIT floods: a spoofer using the real peer's address (it never sees our replies)
//! while the peer connects, and a flood that answers our cookies from many addresses.

use std::net::SocketAddr;
use std::time::Duration;

use super::harness::*;
use crate::action::{Action, DropReason};
use crate::config::IkeConfig;
use crate::engine::{Engine, EngineSettings};
use crate::responder::HalfOpenLimits;

/// An engine that initiates `to-b` from `local`, as a flood's source.
fn flooder(w: &mut World, a: &IkeConfig, local: SocketAddr) -> Engine {
    let cfg = IkeConfig {
        local_addr: local,
        ..a.clone()
    };
    Engine::new(
        vec![cfg],
        vec![],
        EngineSettings::default(),
        &mut w.rng,
        w.now,
    )
}

/// The datagrams an engine asked to send (everything else it asked is dropped).
fn sends(e: &mut Engine) -> Vec<Packet> {
    let mut out = Vec::new();
    while let Some(a) = e.poll_action() {
        if let Action::Send { from, to, bytes } = a {
            out.push(Packet { from, to, bytes });
        }
    }
    out
}

/// One new IKE_SA_INIT from `e`, handed to B.
fn one_init(w: &mut World, e: &mut Engine) -> Vec<Packet> {
    e.initiate(w.now, &mut w.rng, "to-b", None).unwrap();
    sends(e)
}

#[test]
fn spoofed_flood_from_the_peers_address_does_not_lock_it_out() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let limits = HalfOpenLimits::default();
    let settings = EngineSettings {
        limits,
        ..EngineSettings::default()
    };
    let mut w = World::with(a.clone(), b, vec![], settings);
    let mut spoofer = flooder(&mut w, &a, A_ADDR.parse().unwrap());
    let mut spoofed = 0u64;
    let mut connected_after = None;
    // 20 requests a second for 45 s; the peer starts connecting after the first second,
    // when its address already holds every half-open SA the spoofer can make.
    for step in 0..900u32 {
        if step == 20 {
            w.initiate();
        }
        for p in one_init(&mut w, &mut spoofer) {
            spoofed += 1;
            // B answers the peer's real address: the spoofer never sees it.
            w.deliver(p);
        }
        w.run();
        let c = w.b.engine.total_counters();
        assert!(c.half_open.current <= limits.cookie_threshold_ip as u64 + 1);
        if step >= 20 && connected_after.is_none() && !w.a.ike_up.is_empty() {
            connected_after = Some(step - 20);
        }
        w.advance(Duration::from_millis(50));
    }
    // The cookie exchange and IKE_AUTH went through at the first try.
    assert_eq!(connected_after, Some(0));
    assert_eq!((w.a.ike_up.len(), w.b.ike_up.len()), (1, 1));
    w.assert_children_match();
    let c = w.b.engine.total_counters();
    assert_eq!(c.dropped(DropReason::HalfOpenBlock), 0);
    assert_eq!(c.dropped(DropReason::HalfOpenCap), 0);
    // The spoofer made half-open SAs only up to the address's cookie threshold (again once
    // they expired); everything else it sent got a COOKIE, as did the peer's first request.
    let made = c.half_open.expired + c.half_open.current;
    assert_eq!(c.half_open.current, limits.cookie_threshold_ip as u64);
    assert!(c.half_open.expired >= limits.cookie_threshold_ip as u64);
    assert_eq!(c.half_open.cookies_sent, spoofed - made + 1);
    assert_eq!(
        (c.half_open.cookies_valid, c.half_open.cookies_invalid),
        (1, 0)
    );
}

#[test]
fn cookie_answering_flood_stops_at_the_cap_and_memory_comes_back() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let limits = HalfOpenLimits {
        init_limit_half_open: 100,
        ..HalfOpenLimits::default()
    };
    let settings = EngineSettings {
        limits,
        ..EngineSettings::default()
    };
    let mut w = World::with(a.clone(), b, vec![], settings);
    let mut flooders: Vec<Engine> = (1..=40u8)
        .map(|i| flooder(&mut w, &a, SocketAddr::from(([203, 0, 113, i], 500))))
        .collect();
    let mut attempts = 0u64;
    let mut most = 0;
    for _round in 0..8 {
        for f in flooders.iter_mut() {
            attempts += 1;
            let mut queue = one_init(&mut w, f);
            while let Some(p) = queue.pop() {
                w.b.engine
                    .handle_datagram(w.now, &mut w.rng, p.to, p.from, &p.bytes);
                for reply in sends(&mut w.b.engine) {
                    // Answer cookies; go no further than half-open.
                    if is_cookie_reply(&reply.bytes) {
                        f.handle_datagram(w.now, &mut w.rng, reply.to, reply.from, &reply.bytes);
                        queue.extend(sends(f));
                    }
                }
                most = most.max(w.b.engine.total_counters().half_open.current);
            }
        }
    }
    let c = w.b.engine.total_counters();
    assert_eq!(most, 100);
    assert_eq!(c.half_open.current, 100);
    let refused = c.dropped(DropReason::HalfOpenBlock) + c.dropped(DropReason::HalfOpenCap);
    assert!(c.dropped(DropReason::HalfOpenCap) > 0);
    // The first `cookie_threshold` came in without a cookie; every later one answered its
    // COOKIE and only then met the limits.
    let free = limits.cookie_threshold as u64;
    assert_eq!(c.half_open.cookies_sent, attempts - free);
    assert_eq!(c.half_open.cookies_valid, attempts - free);
    assert_eq!(c.half_open.cookies_invalid, 0);
    assert_eq!(free + c.half_open.cookies_valid - refused, 100);
    // All of them expire, and the tables give their memory back.
    let full = w.b.engine.table_capacity();
    w.advance(limits.half_open_timeout + Duration::from_secs(1));
    let c = w.b.engine.total_counters();
    assert_eq!((c.half_open.current, c.half_open.expired), (0, 100));
    assert!(w.b.engine.sa_ids().is_empty());
    let after = w.b.engine.table_capacity();
    assert!(after * 4 < full, "capacity {full} -> {after}");
    // The real peer connects once the flood is over.
    w.wire.clear();
    w.establish();
    assert_eq!((w.a.ike_up.len(), w.b.ike_up.len()), (1, 1));
}
