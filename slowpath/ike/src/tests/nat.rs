//! NAT traversal (RFC 7296 2.23, RFC 3948): detection both ways, the move to port 4500 with
//! the non-ESP marker, and strongSwan's forced encapsulation.

use std::net::SocketAddr;
use std::time::Duration;

use super::harness::*;
use crate::action::{Event, UdpEncap};
use crate::message::NON_ESP_MARKER;

#[test]
fn initiator_behind_nat() {
    let (mut a, mut b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    a.dpd.interval = Duration::from_secs(10);
    b.dpd.interval = Duration::from_secs(10);
    let mut w = World::new(a, b);
    w.nat = true;
    w.establish();
    assert_eq!((w.a.ike_up.len(), w.b.ike_up.len()), (1, 1));
    assert!(w.a.has_event(|e| *e
        == Event::NatDetected {
            local_behind_nat: true,
            remote_behind_nat: false
        }));
    w.assert_children_match();
    assert_eq!(
        w.a.only_child().encap,
        Some(UdpEncap {
            local_port: 4500,
            remote_port: 4500
        })
    );
    assert_eq!(
        w.b.only_child().encap,
        Some(UdpEncap {
            local_port: 4500,
            remote_port: 5500
        })
    );
    // IKE_AUTH went from port 4500 with the marker.
    let auth = &w.a.sent[1];
    assert_eq!((auth.from.port(), auth.to.port()), (4500, 4500));
    assert_eq!(auth.bytes[..4], NON_ESP_MARKER);
    // B answers where A's messages came from (the NAT's mapping).
    let nat: SocketAddr = format!("{NAT_IP}:5500").parse().unwrap();
    assert_eq!(w.b.sent[1].to, nat);
    assert_eq!(w.b.ike_up[0].remote, nat);
    // Later exchanges go the same way (DPD both ways).
    w.pass(Duration::from_secs(12));
    assert!(w.b.has_event(|e| *e == Event::DpdSent));
    assert!(w.b.sent.last().unwrap().to == nat);
    assert!(w.a.ike_down.is_empty() && w.b.ike_down.is_empty());
    // A, behind the NAT, keeps the mapping alive; B ignores the keepalives.
    w.pass(Duration::from_secs(20));
    assert!(w
        .a
        .sent
        .iter()
        .any(|p| p.bytes == [0xff] && p.from.port() == 4500));
    assert!(!w.b.sent.iter().any(|p| p.bytes == [0xff]));
    assert_eq!(w.b.engine.counters().total_dropped(), 0);
}

#[test]
fn forced_encapsulation_without_nat() {
    let (mut a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    a.force_encap = true;
    let mut w = World::new(a, b);
    w.establish();
    w.assert_children_match();
    assert_eq!(
        w.a.only_child().encap,
        Some(UdpEncap {
            local_port: 4500,
            remote_port: 4500
        })
    );
    assert_eq!(
        w.b.only_child().encap,
        Some(UdpEncap {
            local_port: 4500,
            remote_port: 4500
        })
    );
    assert!(!w.a.has_event(|e| matches!(e, Event::NatDetected { .. })));
}

#[test]
fn no_nat_stays_on_500() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a, b);
    w.establish();
    assert!(w
        .a
        .sent
        .iter()
        .all(|p| p.from.port() == 500 && p.to.port() == 500));
    assert!(w.a.only_child().encap.is_none());
}
