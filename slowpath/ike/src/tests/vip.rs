//! Virtual IPs (RFC 7296 2.19): CFG_REQUEST from the initiator, CFG_REPLY from a pool.

use std::net::{IpAddr, Ipv4Addr};

use super::harness::*;
use crate::action::Event;
use crate::engine::EngineSettings;
use crate::message::NotifyType;
use crate::pool::PoolConfig;

fn pool(last: u8) -> PoolConfig {
    PoolConfig {
        name: "vpn".into(),
        first: Ipv4Addr::new(10, 9, 0, 1),
        last: Ipv4Addr::new(10, 9, 0, last),
        netmask: Some(Ipv4Addr::new(255, 255, 255, 0)),
        dns: vec![Ipv4Addr::new(10, 9, 0, 53)],
        nbns: vec![],
        dhcp: vec![],
        subnets: vec![(Ipv4Addr::new(10, 2, 0, 0), Ipv4Addr::new(255, 255, 0, 0))],
    }
}

fn world(last: u8) -> World {
    let (mut a, mut b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    a.virtual_ip.request = true;
    b.virtual_ip.pool = Some("vpn".into());
    b.children[0].remote_ts = vec![ts("10.9.0.0", 24)];
    World::with(a, b, vec![pool(last)], EngineSettings::default())
}

#[test]
fn address_from_pool() {
    let mut w = world(10);
    let id = w.establish();
    let vip = IpAddr::V4(Ipv4Addr::new(10, 9, 0, 1));
    assert_eq!(w.a.ike_up[0].virtual_ip, Some(vip));
    assert_eq!(w.b.ike_up[0].virtual_ip, Some(vip));
    w.assert_children_match();
    let c = w.a.only_child();
    assert_eq!(c.local_ts, vec![ts("10.9.0.1", 32)]);
    let lease = &w.b.engine.pools()["vpn"].leases[&Ipv4Addr::new(10, 9, 0, 1)];
    assert!(lease.sa.is_some());
    // More CHILD SAs use the address.
    w.a.engine.create_child(w.now, &mut w.rng, id, "net");
    w.run();
    assert_eq!(w.a.fast_path.len(), 2);
    assert!(w
        .a
        .fast_path
        .values()
        .all(|c| c.local_ts == vec![ts("10.9.0.1", 32)]));
    // Released when the IKE SA goes, and given back to the same identity.
    w.a.engine.delete_ike(w.now, &mut w.rng, id);
    w.run();
    assert!(
        w.b.engine.pools()["vpn"].leases[&Ipv4Addr::new(10, 9, 0, 1)]
            .sa
            .is_none()
    );
    w.establish();
    assert_eq!(w.a.ike_up[1].virtual_ip, Some(vip));
}

#[test]
fn pool_exhausted() {
    let mut w = world(1);
    w.establish();
    // A second initiator identity takes... the same identity reconnecting while online: none.
    w.initiate();
    w.run();
    assert_eq!(w.a.ike_up.len(), 2);
    assert_eq!(w.a.ike_up[1].virtual_ip, None);
    assert!(w.a.has_event(|e| matches!(
        e,
        Event::ChildFailed {
            notify: NotifyType::INTERNAL_ADDRESS_FAILURE,
            ..
        }
    )));
    assert_eq!(w.a.fast_path.len(), 1);
}
