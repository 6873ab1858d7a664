//! Sending by destination through the real binary: with `route` statements, a destination
//! covered by a route goes to that route's next hop (here never resolved, so dropped and
//! counted as unresolved), one without a route leaves by the port its role sends on when that
//! port has a next hop of its own (`peer-mac`: the default route), and is dropped as
//! `no_route` when it has none. IPv4 and IPv6.

mod common;

use bench::pcap;
use common::{run_pcap_pair, TempDir};
use esp::wire::checksum::checksum;
use std::path::Path;

/// Plaintext from port 0 (protected) to `dst`, the IPv4 header checksum made right.
fn to_v4(dst: [u8; 4], i: usize) -> Vec<u8> {
    let mut f = pcap::udp_frame(200, i, false);
    f[30..34].copy_from_slice(&dst);
    f[24..26].copy_from_slice(&[0, 0]);
    let c = checksum(&f[14..34]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
    f
}

/// Runs `conf` on port 0's input; returns the final JSON line and port 1's frames.
fn run(dir: &Path, tag: &str, conf: &str, in0: &[Vec<u8>]) -> (serde_json::Value, Vec<Vec<u8>>) {
    let last = run_pcap_pair(dir, tag, conf, in0, &[]);
    (
        last,
        pcap::read(&dir.join(format!("{tag}-out1.pcap"))).unwrap(),
    )
}

const ROUTES: &str = "\
sp out bypass pri 10 src 198.51.100.0/24 dst 203.0.0.0/16
sp out bypass pri 10 src 2001:db8:1::/48 dst 2001:db8::/32
route 203.0.113.0/25 via 10.0.0.1 port 0
route 203.0.113.128/25 port 1
route 2001:db8:2::/48 via fe80::1 port 0
";

fn inputs() -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    for i in 0..10 {
        frames.push(to_v4([203, 0, 113, 1], i)); // gateway route, unresolved
        frames.push(to_v4([203, 0, 113, 200], i)); // connected route, unresolved
        frames.push(pcap::udp_frame(200, i, true)); // 2001:db8:2::1: gateway, unresolved
        frames.push(to_v4([203, 0, 114, 7], i)); // no route
    }
    frames
}

#[test]
fn routed_destinations_wait_for_their_neighbour_and_the_rest_take_the_ports_default() {
    let dir = TempDir::new("routes");
    let conf = format!(
        "port 0 protected peer-mac 02:00:00:00:00:02\n\
         port 1 unprotected peer-mac 02:00:00:00:00:03\n{ROUTES}"
    );
    let (last, out1) = run(&dir.0, "dflt", &conf, &inputs());
    assert_eq!(last["bypassed"], 40, "{last}");
    assert_eq!(last["neighbour_unresolved"], 30, "{last}");
    assert_eq!(last["no_route"], 0, "{last}");
    // The unrouted ones left by the unprotected port, to its peer-mac, unchanged.
    assert_eq!(out1.len(), 10);
    for f in &out1 {
        assert_eq!(&f[0..6], &[2, 0, 0, 0, 0, 3]);
        assert_eq!(&f[30..34], &[203, 0, 114, 7]);
    }
}

#[test]
fn without_a_default_an_unrouted_destination_is_dropped_and_counted() {
    let dir = TempDir::new("noroute");
    let conf = format!(
        "port 0 protected peer-mac 02:00:00:00:00:02\n\
         port 1 unprotected\n{ROUTES}"
    );
    let (last, out1) = run(&dir.0, "none", &conf, &inputs());
    assert_eq!(last["no_route"], 10, "{last}");
    assert_eq!(last["neighbour_unresolved"], 30, "{last}");
    assert!(out1.is_empty());
}
