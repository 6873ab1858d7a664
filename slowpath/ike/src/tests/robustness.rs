//! Unauthenticated or malformed input never changes state and never panics.

use super::harness::*;
use crate::action::DropReason;
use crate::sa::IkeState;

/// B's half-open SA gets every one-bit-flipped variant of A's IKE_AUTH request first.
#[test]
fn flipped_bytes_in_ike_auth_request_are_dropped() {
    let (a, b) = configs(ike_cbc_modp1024(), esp_cbc());
    let mut w = World::new(a, b);
    w.initiate();
    let init = w.wire.pop_front().unwrap();
    w.deliver(init);
    let resp = w.wire.pop_front().unwrap();
    w.deliver(resp);
    let auth = w.wire.pop_front().unwrap();
    assert!(w.wire.is_empty());
    let sent_before = w.b.sent.len();
    for i in 0..auth.bytes.len() {
        for bit in [0x01u8, 0x80] {
            let mut p = auth.clone();
            p.bytes[i] ^= bit;
            w.deliver(p);
        }
    }
    assert_eq!(w.b.sent.len(), sent_before, "B answered a forged message");
    assert!(w.b.ike_up.is_empty());
    let id = w.b.sa_id();
    assert_eq!(w.b.engine.sa(id).unwrap().state, IkeState::HalfOpen);
    let sa_drops =
        w.b.engine
            .sa(id)
            .unwrap()
            .counters
            .dropped(DropReason::BadIcv);
    assert!(sa_drops > 100, "{sa_drops}");
    // The genuine message still works.
    w.deliver(auth);
    w.run();
    assert_eq!((w.a.ike_up.len(), w.b.ike_up.len()), (1, 1));
    w.assert_children_match();
}

#[test]
fn flipped_bytes_in_ike_auth_response_are_dropped() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a, b);
    w.initiate();
    for _ in 0..3 {
        let p = w.wire.pop_front().unwrap();
        w.deliver(p);
    }
    let resp = w.wire.pop_front().unwrap();
    for i in 0..resp.bytes.len() {
        let mut p = resp.clone();
        p.bytes[i] ^= 0x10;
        w.deliver(p);
    }
    assert!(w.a.ike_up.is_empty() && w.wire.is_empty());
    assert_eq!(w.a.engine.sa(1).unwrap().state, IkeState::AuthSent);
    w.deliver(resp);
    assert_eq!(w.a.ike_up.len(), 1);
}

/// Every datagram of a whole negotiation, truncated at every length and mangled, to fresh
/// engines and to established ones: nothing panics.
#[test]
fn truncated_and_mangled_datagrams_never_panic() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a.clone(), b.clone());
    w.establish();
    let id = w.a.sa_id();
    w.a.engine.delete_ike(w.now, &mut w.rng, id);
    w.run();
    let mut all = w.a.sent.clone();
    all.extend(w.b.sent.clone());
    let mut fresh = World::new(a, b);
    fresh.establish();
    let mut n = 0u32;
    for p in &all {
        for len in 0..p.bytes.len() {
            let mut q = p.clone();
            q.bytes.truncate(len);
            fresh.deliver(q);
        }
        for i in 0..p.bytes.len() {
            let mut q = p.clone();
            q.bytes[i] = q.bytes[i].wrapping_add(0x5b);
            fresh.deliver(q.clone());
            q.bytes.extend_from_slice(&[0; 7]);
            fresh.deliver(q);
            n += 1;
        }
    }
    assert!(n > 1000);
    fresh.run();
    // Established SAs are unaffected.
    assert_eq!(fresh.a.ike_down.len(), 0);
    fresh.assert_children_match();
}

#[test]
fn response_to_nothing_and_replayed_requests() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a, b);
    w.establish();
    let auth_resp = w.b.sent[1].clone();
    let auth_req = w.a.sent[1].clone();
    // A response A no longer waits for.
    w.deliver(auth_resp);
    let sa = w.a.engine.sa(w.a.sa_id()).unwrap();
    assert_eq!(sa.counters.dropped(DropReason::UnexpectedResponse), 1);
    // A replayed request: the cached response goes out again, nothing else happens.
    let sent = w.b.sent.len();
    w.deliver(auth_req);
    assert_eq!(w.b.sent.len(), sent + 1);
    assert_eq!(w.b.ike_up.len(), 1);
    w.wire.clear();
    // Garbage with a known SPI.
    let mut g = w.b.sent[1].bytes.clone();
    let tail = g.len() - 20;
    g[tail] ^= 1;
    let to = w.b.sent[1].to;
    let from = w.b.sent[1].from;
    w.deliver(Packet { from, to, bytes: g });
    assert_eq!(w.a.ike_down.len(), 0);
    // Unknown SPIs are counted at the engine.
    let mut u = w.a.sent[1].bytes.clone();
    u[8] ^= 0xff;
    let (from, to) = (w.a.sent[1].from, w.a.sent[1].to);
    w.deliver(Packet { from, to, bytes: u });
    assert_eq!(w.b.engine.counters().dropped(DropReason::UnknownSpi), 1);
}

/// An authentic request with an unknown critical payload is answered with
/// UNSUPPORTED_CRITICAL_PAYLOAD naming its type (RFC 7296 2.5), and changes nothing else.
#[test]
fn unsupported_critical_payload_is_answered() {
    use crate::message::{ExchangeType, Message, NotifyType, Payload, PayloadType, Payloads};
    use crate::sa::core::Opened;
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a, b);
    let id = w.establish();
    // Speak as A with A's own keys.
    let mut core = w.a.engine.sa(id).unwrap().core.clone().unwrap();
    let header = core.header(ExchangeType::INFORMATIONAL, false, core.next_request);
    let odd = Payload::Unknown {
        ptype: PayloadType(200),
        critical: true,
        body: vec![1, 2, 3],
    };
    let req = core.protect(&header, &[odd], None).unwrap().remove(0);
    let (from, to) = (w.a.sent[1].from, w.a.sent[1].to);
    w.deliver(Packet {
        from,
        to,
        bytes: req,
    });
    let resp = w.wire.pop_front().unwrap();
    let (msg, range) = Message::parse_with_sk_range(&resp.bytes).unwrap();
    let Opened::Whole(p) = core.open(&resp.bytes, &msg, range.unwrap()).unwrap() else {
        panic!("not a whole message");
    };
    let n = p
        .find_notify(NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD)
        .unwrap();
    assert_eq!(n.data, &[200]);
    assert_eq!(w.b.fast_path.len(), 1);
    assert!(w.b.ike_down.is_empty());
}
