//! The VRRP parsers and state machine on arbitrary bytes: `parse_advert_frame` on the whole
//! input, `Advert::parse` on the input split into addresses and message, and every accepted
//! advert fed to started instances (v3 IPv4, v2, v3 IPv6, and a sync group) that are then polled.
//! Never a panic; what parses re-emits to the same advert; timers never fall behind the clock.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;
use vrrp::wire::{build_advert_frame, parse_advert_frame, Advert, ReceivedAdvert, Version};
use vrrp::{Group, Instance, InstanceConfig, TrackRule};

fn instance(version: Version, vrid: u8, priority: u8, vip: IpAddr, primary: IpAddr) -> Instance {
    let mut c = InstanceConfig::new("fuzz", vrid, version, priority, vec![vip]);
    c.tracks = vec![TrackRule::weighted("w", 50), TrackRule::fault("f")];
    c.preempt_delay = Duration::from_millis(1500);
    assert_eq!(c.validate(), Ok(()));
    Instance::new(c, primary)
}

/// After `poll(now)` nothing is left due at `now` (the I/O layer would spin).
fn check_deadline(next: Option<Duration>, now: Duration) {
    assert!(
        next.is_none_or(|t| t > now),
        "deadline {next:?} not after {now:?}"
    );
}

fn drain(i: &mut Instance) {
    while i.poll_action().is_some() {}
}

fuzz_target!(|data: &[u8]| {
    let v4 = |a, b, c, d| IpAddr::V4(Ipv4Addr::new(a, b, c, d));
    let mut insts = [
        instance(Version::V3, 1, 100, v4(192, 0, 2, 1), v4(10, 0, 0, 1)),
        instance(Version::V2, 1, 200, v4(192, 0, 2, 1), v4(10, 0, 0, 2)),
        instance(
            Version::V3,
            1,
            255,
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2)),
        ),
    ];
    let mut group = Group::new(
        "g".into(),
        vec![
            instance(Version::V3, 1, 150, v4(192, 0, 2, 1), v4(10, 0, 0, 3)),
            instance(Version::V3, 2, 150, v4(192, 0, 2, 2), v4(10, 0, 1, 3)),
        ],
    );
    let mut now = Duration::from_secs(1);
    for i in insts.iter_mut() {
        i.startup(now);
    }
    group.startup(now);

    let feed =
        |rx: &ReceivedAdvert, now: Duration, insts: &mut [Instance; 3], group: &mut Group| {
            for i in insts.iter_mut() {
                i.receive(now, rx);
                i.poll(now);
                check_deadline(i.next_deadline(), now);
                drain(i);
            }
            group.receive(now, rx);
            group.poll(now);
            check_deadline(group.next_deadline(), now);
            while group.poll_action().is_some() {}
        };

    // 1. The whole input as an Ethernet frame.
    match parse_advert_frame(data) {
        Ok(rx) => {
            let again = build_advert_frame(rx.src_mac, rx.src_ip, &rx.advert);
            let rx2 = parse_advert_frame(&again).expect("a re-emitted advert parses");
            assert_eq!(rx2.advert, rx.advert);
            feed(&rx, now, &mut insts, &mut group);
        }
        Err(e) => {
            let _ = e.counter_name();
            insts[0].count_parse_error(e);
        }
    }

    // 2. Split: a selector byte, then source and destination addresses, then the message.
    if let Some((&sel, rest)) = data.split_first() {
        let alen = if sel & 1 == 0 { 4 } else { 16 };
        if rest.len() >= 2 * alen {
            let addr = |b: &[u8]| match <[u8; 16]>::try_from(b) {
                Ok(a) => IpAddr::V6(Ipv6Addr::from(a)),
                Err(_) => IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])),
            };
            let (src, dst) = (addr(&rest[..alen]), addr(&rest[alen..2 * alen]));
            if let Ok(a) = Advert::parse(&rest[2 * alen..], src, dst) {
                assert_eq!(Advert::parse(&a.emit(src, dst), src, dst), Ok(a.clone()));
                let rx = ReceivedAdvert {
                    src_mac: [2; 6],
                    src_ip: src,
                    dst_ip: dst,
                    ttl: 255,
                    advert: a,
                };
                feed(&rx, now, &mut insts, &mut group);
            }
        }
    }

    // 3. The input as a script of events, each from two bytes, with unchecked adverts so that
    //    the state machine sees every priority, interval and source.
    for ev in data.chunks_exact(2).take(256) {
        let (op, arg) = (ev[0], ev[1]);
        match op % 8 {
            0..=2 => {
                let advert = Advert {
                    version: if op & 0x80 != 0 {
                        Version::V2
                    } else {
                        Version::V3
                    },
                    vrid: 1 + (op >> 5 & 1),
                    priority: arg,
                    max_advert_interval_cs: if op & 0x40 != 0 {
                        100
                    } else {
                        u16::from(arg) * 16
                    },
                    addresses: vec![v4(192, 0, 2, 1)],
                    auth_type: op >> 4 & 1,
                };
                let src = if op & 0x08 != 0 {
                    v4(10, 0, 0, arg % 4)
                } else {
                    v4(10, 0, 1, arg % 4)
                };
                let rx = ReceivedAdvert {
                    src_mac: [2; 6],
                    src_ip: src,
                    dst_ip: v4(224, 0, 0, 18),
                    ttl: 255,
                    advert,
                };
                feed(&rx, now, &mut insts, &mut group);
            }
            3 => now += Duration::from_millis(u64::from(arg) * 37),
            4 => {
                let name = if arg & 1 == 0 { "w" } else { "f" };
                for i in insts.iter_mut() {
                    i.track_update(now, name, arg & 2 != 0);
                }
                group.track_update(now, name, arg & 2 != 0);
            }
            5 => {
                let hold = Duration::from_millis(u64::from(arg) * 50);
                insts[usize::from(arg % 3)].force_backup(now, hold);
                group.force_backup(now, hold);
            }
            6 => {
                let i = usize::from(arg % 3);
                if arg & 4 != 0 {
                    insts[i].shutdown(now);
                    group.shutdown(now);
                } else {
                    insts[i].startup(now);
                    group.startup(now);
                }
            }
            _ => {
                // Fire everything due up to a later time, step by step as the I/O layer would.
                let until = now + Duration::from_millis(u64::from(arg) * 100);
                for _ in 0..64 {
                    let next = insts
                        .iter()
                        .filter_map(Instance::next_deadline)
                        .chain(group.next_deadline())
                        .min();
                    match next {
                        Some(t) if t <= until => now = now.max(t),
                        _ => break,
                    }
                    for i in insts.iter_mut() {
                        i.poll(now);
                        check_deadline(i.next_deadline(), now);
                        drain(i);
                    }
                    group.poll(now);
                    check_deadline(group.next_deadline(), now);
                    while group.poll_action().is_some() {}
                }
                now = now.max(until);
            }
        }
        for i in insts.iter() {
            let _ = i.status();
        }
        let _ = group.state();
    }
});
