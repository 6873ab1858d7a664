//! Direct checks of `Instance::receive`'s filters and of the idle states (the simulated LAN in
//! `crate::sim` covers the protocol runs).

use super::*;
use crate::wire::{ReceivedAdvert, Version};
use std::net::Ipv4Addr;

fn v4(a: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, a))
}

fn vip() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))
}

fn rx(version: Version, vrid: u8, priority: u8, src: IpAddr) -> ReceivedAdvert {
    ReceivedAdvert {
        src_mac: [2; 6],
        src_ip: src,
        dst_ip: IpAddr::V4(crate::wire::VRRP_GROUP_V4),
        ttl: 255,
        advert: Advert {
            version,
            vrid,
            priority,
            max_advert_interval_cs: 100,
            addresses: vec![vip()],
            auth_type: 0,
        },
    }
}

fn started(version: Version) -> Instance {
    let mut i = Instance::new(
        InstanceConfig::new("t", 7, version, 100, vec![vip()]),
        v4(1),
    );
    i.startup(Duration::ZERO);
    while i.poll_action().is_some() {}
    i
}

#[test]
fn idle_before_startup() {
    let mut i = Instance::new(
        InstanceConfig::new("t", 7, Version::V3, 100, vec![vip()]),
        v4(1),
    );
    i.receive(Duration::ZERO, &rx(Version::V3, 7, 200, v4(2)));
    i.poll(Duration::from_secs(100));
    assert_eq!(i.next_deadline(), None);
    assert_eq!(i.poll_action(), None);
    assert_eq!(i.counters(), &Counters::default());
    assert_eq!(i.status().state, State::Initialize);
    assert_eq!(i.virtual_mac(), [0, 0, 0x5e, 0, 1, 7]);
    // Shutdown before startup is a no-op.
    i.shutdown(Duration::ZERO);
    assert_eq!(i.poll_action(), None);
}

#[test]
fn startup_queues_the_transition() {
    let mut i = Instance::new(
        InstanceConfig::new("t", 7, Version::V3, 100, vec![vip()]),
        v4(1),
    );
    i.startup(Duration::from_secs(1));
    assert_eq!(
        i.poll_action(),
        Some(Action::StateChanged {
            from: State::Initialize,
            to: State::Backup,
            reason: Reason::Startup
        })
    );
    assert_eq!(i.poll_action(), None);
    assert!(i.next_deadline().is_some());
    // A second startup changes nothing.
    i.startup(Duration::from_secs(2));
    assert_eq!(i.poll_action(), None);
}

#[test]
fn receive_filters_count_each_reason() {
    let mut i = started(Version::V2);
    let t = Duration::from_secs(1);
    i.receive(t, &rx(Version::V2, 8, 200, v4(2)));
    assert_eq!(i.counters().vrid_mismatch, 1);
    let mut other_family = rx(Version::V2, 7, 200, v4(2));
    other_family.src_ip = "fe80::2".parse().unwrap();
    i.receive(t, &other_family);
    assert_eq!(i.counters().vrid_mismatch, 2);
    i.receive(t, &rx(Version::V2, 7, 200, v4(1)));
    assert_eq!(i.counters().own_advert, 1);
    i.receive(t, &rx(Version::V3, 7, 200, v4(2)));
    assert_eq!(i.counters().version_mismatch, 1);
    let mut auth = rx(Version::V2, 7, 200, v4(2));
    auth.advert.auth_type = 1;
    i.receive(t, &auth);
    assert_eq!(i.counters().auth_type, 1);
    let mut slow = rx(Version::V2, 7, 200, v4(2));
    slow.advert.max_advert_interval_cs = 200;
    i.receive(t, &slow);
    assert_eq!(i.counters().interval_mismatch, 1);
    assert_eq!(
        i.counters().adverts_received,
        0,
        "none of these was processed"
    );
    let before = i.status().master_down_at;
    i.receive(t, &rx(Version::V2, 7, 200, v4(2)));
    assert_eq!(i.counters().adverts_received, 1);
    assert_ne!(
        i.status().master_down_at,
        before,
        "a good advert resets the timer"
    );
    assert_eq!(i.status().master_address, Some(v4(2)));
}

#[test]
fn fault_counts_but_ignores_adverts() {
    let mut c = InstanceConfig::new("t", 7, Version::V3, 100, vec![vip()]);
    c.tracks = vec![crate::track::TrackRule::fault("l")];
    let mut i = Instance::new(c, v4(1));
    i.track_update(Duration::ZERO, "l", false);
    i.startup(Duration::ZERO);
    assert_eq!(i.state(), State::Fault);
    i.receive(Duration::from_secs(1), &rx(Version::V3, 7, 0, v4(2)));
    assert_eq!(i.counters().priority_zero_received, 1);
    assert_eq!(i.next_deadline(), None);
    // Unknown track names change nothing.
    i.track_update(Duration::from_secs(2), "other", true);
    assert_eq!(i.state(), State::Fault);
}

#[test]
fn parse_errors_are_counted_by_name() {
    let mut i = started(Version::V3);
    i.count_parse_error(ParseError::Ttl);
    i.count_parse_error(ParseError::BadChecksum);
    assert_eq!(i.counters().get("ttl"), Some(1));
    assert_eq!(i.status().counters.bad_checksum, 1);
}
