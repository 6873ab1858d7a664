//! IKE fragmentation (RFC 7383).

use std::time::Duration;

use super::harness::*;
use crate::message::PayloadType;

fn is_skf(bytes: &[u8]) -> bool {
    bytes.len() > 16 && bytes[16] == PayloadType::SKF.0
}

fn frag_world(a_frag: Option<usize>, b_frag: Option<usize>) -> World {
    let (mut a, mut b) = configs(ike_cbc_modp1024(), esp_cbc());
    a.fragment_size = a_frag;
    b.fragment_size = b_frag;
    // Long selectors lists make IKE_AUTH large.
    let many: Vec<_> = (0..40u8).map(|i| ts(&format!("10.1.{i}.0"), 24)).collect();
    a.children[0].local_ts = many;
    World::new(a, b)
}

#[test]
fn fragmented_ike_auth() {
    let mut w = frag_world(Some(300), Some(300));
    w.establish();
    assert_eq!((w.a.ike_up.len(), w.b.ike_up.len()), (1, 1));
    w.assert_children_match();
    assert_eq!(w.a.only_child().local_ts.len(), 40);
    let frags: Vec<_> = w.a.sent.iter().filter(|p| is_skf(&p.bytes)).collect();
    assert!(frags.len() >= 4, "{}", frags.len());
    // IKE_SA_INIT cannot be fragmented; everything after it fits.
    let protected = |p: &&Packet| p.bytes[18] != 34;
    assert!(w
        .a
        .sent
        .iter()
        .filter(protected)
        .all(|p| p.bytes.len() <= 300));
    assert!(w
        .b
        .sent
        .iter()
        .filter(protected)
        .all(|p| p.bytes.len() <= 300));
}

#[test]
fn not_negotiated_no_fragments() {
    let mut w = frag_world(Some(300), None);
    w.establish();
    assert_eq!(w.a.ike_up.len(), 1);
    assert!(!w.a.sent.iter().any(|p| is_skf(&p.bytes)));
}

#[test]
fn lost_fragment_is_recovered_by_retransmission() {
    let mut w = frag_world(Some(300), Some(300));
    w.initiate();
    // Lose the second fragment of B's IKE_AUTH response.
    let b_ip = B_ADDR.parse::<std::net::SocketAddr>().unwrap().ip();
    let mut b_frags = 0;
    w.run_dropping(|p| {
        if p.from.ip() == b_ip && is_skf(&p.bytes) {
            b_frags += 1;
            return b_frags == 2;
        }
        false
    });
    assert!(w.a.ike_up.is_empty());
    w.advance(Duration::from_secs(2));
    w.run();
    assert_eq!((w.a.ike_up.len(), w.b.ike_up.len()), (1, 1));
    w.assert_children_match();
    let sa = w.b.engine.sa(w.b.sa_id()).unwrap();
    // Only fragment 1 of the retransmitted request triggered the cached answer.
    assert_eq!(sa.counters.requests_answered_from_cache, 1);
}
