//! Cookies (RFC 7296 2.6) and half-open limits (floods are in `floods`).

use std::time::Duration;

use super::harness::*;
use crate::action::{DropReason, Event};
use crate::engine::EngineSettings;
use crate::responder::HalfOpenLimits;

/// Cookies from `cookie_threshold` half-open SAs on, none per address, `block_threshold`
/// half-open SAs per address.
fn settings(cookie_threshold: usize, block_threshold: usize) -> EngineSettings {
    EngineSettings {
        limits: HalfOpenLimits {
            cookie_threshold,
            cookie_threshold_ip: usize::MAX,
            block_threshold,
            secret_lifetime: Duration::from_secs(60),
            ..HalfOpenLimits::default()
        },
        unix_epoch_offset: 0,
    }
}

#[test]
fn cookie_round_trip() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::with(a, b, vec![], settings(0, 10));
    w.establish();
    assert!(w.a.has_event(|e| *e == Event::CookieRequested));
    assert_eq!((w.a.ike_up.len(), w.b.ike_up.len()), (1, 1));
    w.assert_children_match();
    // B kept nothing for the first request: its answer was the COOKIE alone.
    assert!(w.b.sent[0].bytes.len() < 100);
    // The retried request starts with the COOKIE notify.
    let retry = &w.a.sent[1].bytes;
    assert_eq!(retry[16], 41);
    assert_eq!(&retry[34..36], &16390u16.to_be_bytes());
}

#[test]
fn forged_cookie_is_refused() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::with(a, b, vec![], settings(0, 10));
    w.initiate();
    let first = w.wire.pop_front().unwrap();
    w.deliver(first);
    let cookie_reply = w.wire.pop_front().unwrap();
    w.deliver(cookie_reply);
    let mut retry = w.wire.pop_front().unwrap();
    retry.bytes[40] ^= 1;
    w.deliver(retry);
    // Another COOKIE demand, no SA.
    assert!(w.b.engine.sa_ids().is_empty());
    let c = w.b.engine.counters().half_open;
    assert_eq!(
        (c.cookies_sent, c.cookies_invalid, c.cookies_valid),
        (2, 1, 0)
    );
    assert_eq!(w.wire.len(), 1);
    assert!(w.wire[0].bytes.len() < 100);
}

#[test]
fn half_open_block_per_address_after_the_cookie() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::with(a, b, vec![], settings(usize::MAX, 2));
    for _ in 0..3 {
        w.initiate();
    }
    // Deliver the three IKE_SA_INIT requests only.
    let reqs: Vec<_> = w.wire.drain(..).collect();
    for r in reqs {
        w.deliver(r);
    }
    assert_eq!(w.b.engine.sa_ids().len(), 2);
    // The third is not refused before it proved its address: it gets a COOKIE.
    assert_eq!(w.b.engine.counters().total_dropped(), 0);
    let cookie = w.wire.iter().position(|p| is_cookie_reply(&p.bytes));
    let cookie = w.wire.remove(cookie.expect("a COOKIE reply")).unwrap();
    w.wire.clear();
    w.deliver(cookie);
    let retry = w.wire.pop_front().unwrap();
    w.deliver(retry);
    let c = w.b.engine.counters();
    assert_eq!(c.dropped(DropReason::HalfOpenBlock), 1);
    assert_eq!(
        (c.half_open.cookies_sent, c.half_open.cookies_valid),
        (1, 1)
    );
    assert_eq!(w.b.engine.sa_ids().len(), 2);
    // Half-open SAs time out silently.
    w.wire.clear();
    w.advance(Duration::from_secs(31));
    assert!(w.b.engine.sa_ids().is_empty());
    assert!(w.b.ike_down.is_empty());
    let c = w.b.engine.total_counters();
    assert_eq!((c.half_open.expired, c.half_open.current), (2, 0));
}
