//! Two links on loopback, as two nodes' daemons would run them.

use super::*;
use crate::config::Config;
use std::time::Instant;

/// The `ha` block of a node, both paths on loopback addresses (127.0.0.1 is node 1's side).
pub(crate) fn ha_config(node: u8, port: u16) -> HaConfig {
    let text = format!(
        "vrrp up interface lo vrid 51 address 192.0.2.100
ha-group gw vrrp-group up
ha node-id {node}
ha listen-ha-group gw
ha path a 127.0.0.1 127.0.0.2 port {port}
ha path b 127.0.0.3 127.0.0.4 port {port}
ha sync-key \"a sync key of 32 bytes, not less\"
"
    );
    Config::parse(&text, "test").unwrap().ha.unwrap()
}

/// Steps both links until `done` or a few seconds have passed.
fn run(links: &mut [SyncLink; 2], epoch: Instant, done: impl Fn(&[SyncLink; 2]) -> bool) {
    while epoch.elapsed() < Duration::from_secs(5) {
        for l in links.iter_mut() {
            l.receive(epoch.elapsed());
            l.flush();
        }
        if done(links) {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("not done in time");
}

pub(crate) fn port() -> u16 {
    // A free port on 127.0.0.1 is free on the other loopback addresses too, nearly always.
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap().port()
}

#[test]
fn two_links_come_up_and_carry_records_beyond_the_queue() {
    let port = port();
    let epoch = Instant::now();
    let mut links = [
        SyncLink::open(&ha_config(1, port), Duration::ZERO).unwrap(),
        SyncLink::open(&ha_config(2, port), Duration::ZERO).unwrap(),
    ];
    assert_eq!(links[0].fds().count(), 2, "a socket per path");
    run(&mut links, epoch, |l| {
        l[0].node().is_peer_up() && l[1].node().is_peer_up()
    });
    // More records than the core's queue holds: the rest wait aside, none blocks.
    let n = 6000u32;
    for spi in 1..=n {
        links[0].offer(Record::SeqSnapshot {
            spi,
            inbound: true,
            peer: "192.0.2.2".parse().unwrap(),
            oseq: 0,
            window_top: u64::from(spi),
            bitmap: [0; 4],
            generation: 0,
        });
    }
    assert!(links[0].pending() > 0, "the queue pushed back");
    let mut applied = 0u32;
    let mut last = 0u32;
    while epoch.elapsed() < Duration::from_secs(10) && applied < n {
        for l in links.iter_mut() {
            l.receive(epoch.elapsed());
            l.flush();
        }
        while let Some(ev) = links[1].poll_event() {
            if let SyncEvent::Apply(Record::SeqSnapshot { spi, .. }) = ev {
                assert!(spi > last, "in the order offered");
                last = spi;
                applied += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(applied, n, "every record arrived once");
    assert_eq!(links[0].pending(), 0);
    let view = links[1].view();
    assert_eq!(view.paths.len(), 2);
    assert!(view.paths.iter().all(|p| p.bound && p.up), "{view:?}");
    assert_eq!(view.paths[0].name, "a");
    assert_eq!(view.paths[1].local, format!("127.0.0.4:{port}"));
}
