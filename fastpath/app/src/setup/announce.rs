//! The node says it is back: a fast path that (re)started sends a gratuitous ARP for each IPv4
//! `local` address and an unsolicited Neighbor Advertisement for each IPv6 one, on the ports
//! with an exception TAP (where the kernel holds the node's addresses), so that the
//! neighbours' caches point at the port's MAC at once instead of when they expire. And the
//! MAC a port speaks with (its exception TAP's) is stable across restarts: configured, or
//! derived from the port's own.

use std::net::IpAddr;
use toolkit::announce::{build_gratuitous_arp, build_unsolicited_na};

/// The exception TAP's MAC when none is configured: the port's own with the locally
/// administered bit set, the multicast bit clear and bit 2 flipped, so that it is stable (the
/// port's MAC is) and never the port's own.
pub fn derived_exception_mac(port_mac: [u8; 6]) -> [u8; 6] {
    let mut m = port_mac;
    m[0] = ((m[0] ^ 0x04) | 0x02) & !0x01;
    m
}

/// A port as the announcements see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnouncePort {
    /// Index among the opened ports.
    pub index: usize,
    pub mac: [u8; 6],
    pub next_hop: Option<IpAddr>,
}

/// Leading bits two addresses share (0 across families).
fn common_prefix(a: IpAddr, b: IpAddr) -> u32 {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) ^ u32::from(b)).leading_zeros(),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a) ^ u128::from(b)).leading_zeros(),
        _ => 0,
    }
}

/// The ports an address is announced on: the one whose next hop is nearest to it (the
/// subnet it lives on, as far as the configuration tells), or every port when no next hop
/// is of its family.
fn ports_for(addr: IpAddr, ports: &[AnnouncePort]) -> Vec<usize> {
    let nearest = ports
        .iter()
        .filter_map(|p| {
            let hop = p.next_hop.filter(|h| h.is_ipv4() == addr.is_ipv4())?;
            Some((common_prefix(addr, hop), p.index))
        })
        .max_by_key(|(bits, index)| (*bits, std::cmp::Reverse(*index)));
    match nearest {
        Some((_, index)) => vec![index],
        None => ports.iter().map(|p| p.index).collect(),
    }
}

/// Each announcement: the port (index) it leaves from and the frame.
pub fn frames(locals: &[IpAddr], ports: &[AnnouncePort]) -> Vec<(usize, Vec<u8>)> {
    let mut out = Vec::new();
    for addr in locals {
        if addr.is_multicast() || addr.is_unspecified() {
            continue;
        }
        for index in ports_for(*addr, ports) {
            let Some(p) = ports.iter().find(|p| p.index == index) else {
                continue;
            };
            let frame = match addr {
                IpAddr::V4(a) => build_gratuitous_arp(p.mac, *a),
                // From the address itself, as keepalived does: the node's link-local address is
                // the kernel's to choose.
                IpAddr::V6(a) => build_unsolicited_na(p.mac, *a, *a),
            };
            out.push((index, frame));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC0: [u8; 6] = [0x02, 0, 0, 0, 0, 0x10];
    const MAC1: [u8; 6] = [0x06, 0, 0, 0, 0, 0x11];

    fn ports() -> Vec<AnnouncePort> {
        vec![
            AnnouncePort {
                index: 0,
                mac: MAC0,
                next_hop: Some("10.1.0.10".parse().unwrap()),
            },
            AnnouncePort {
                index: 1,
                mac: MAC1,
                next_hop: Some("192.0.2.2".parse().unwrap()),
            },
        ]
    }

    #[test]
    fn the_derived_mac_is_stable_unicast_local_and_not_the_ports() {
        for port in [
            [0x00, 0x1b, 0x21, 1, 2, 3],
            [0x02, 0xaa, 0, 0, 0, 1],
            [0x06, 0xaa, 0, 0, 0, 1],
            [0xff; 6],
        ] {
            let m = derived_exception_mac(port);
            assert_eq!(m, derived_exception_mac(port));
            assert_ne!(m, port);
            assert_eq!(m[0] & 0x03, 0x02, "{m:02x?}: local, unicast");
            assert_eq!(m[1..], port[1..]);
        }
        assert_eq!(
            derived_exception_mac([0x00, 0x1b, 0x21, 1, 2, 3]),
            [0x06, 0x1b, 0x21, 1, 2, 3]
        );
    }

    #[test]
    fn each_address_leaves_from_the_port_of_its_subnet() {
        let locals: Vec<IpAddr> = vec![
            "10.1.0.1".parse().unwrap(),
            "192.0.2.1".parse().unwrap(),
            "224.0.0.18".parse().unwrap(),
        ];
        let f = frames(&locals, &ports());
        assert_eq!(f.len(), 2, "no announcement for a multicast address");
        let (port, arp) = &f[1];
        assert_eq!(*port, 1);
        let want: Vec<u8> = [
            &[0xff; 6][..],                  // broadcast
            &MAC1,                           // from the port's MAC
            &[0x08, 0x06],                   // ARP
            &[0x00, 0x01, 0x08, 0x00, 6, 4], // Ethernet, IPv4
            &[0x00, 0x01],                   // request
            &MAC1,                           // sender: us
            &[192, 0, 2, 1],
            &[0xff; 6],
            &[192, 0, 2, 1], // target: the same address
        ]
        .concat();
        assert_eq!(arp, &want);
        assert_eq!(f[0].0, 0);
        assert_eq!(&f[0].1[28..32], &[10, 1, 0, 1]);
        assert_eq!(&f[0].1[6..12], &MAC0);
    }

    #[test]
    fn without_a_next_hop_of_its_family_an_address_goes_everywhere() {
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let f = frames(&[v6], &ports());
        assert_eq!(f.iter().map(|(p, _)| *p).collect::<Vec<_>>(), vec![0, 1]);
        let na = &f[1].1;
        assert_eq!(na.len(), 14 + 40 + 32);
        assert_eq!(&na[0..6], &[0x33, 0x33, 0, 0, 0, 1], "all nodes");
        assert_eq!(&na[6..12], &MAC1);
        assert_eq!(&na[12..14], &[0x86, 0xdd]);
        assert_eq!(na[14 + 7], 255, "hop limit");
        assert_eq!(&na[14 + 8..14 + 24], &v6_octets(v6), "from the address");
        let icmp = &na[54..];
        assert_eq!((icmp[0], icmp[4]), (136, 0xa0), "NA, Router and Override");
        assert_eq!(&icmp[8..24], &v6_octets(v6), "target");
        assert_eq!(&icmp[24..32], &[&[2u8, 1][..], &MAC1].concat()[..]);
    }

    fn v6_octets(a: IpAddr) -> [u8; 16] {
        match a {
            IpAddr::V6(a) => a.octets(),
            IpAddr::V4(_) => unreachable!(),
        }
    }
}
