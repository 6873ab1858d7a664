//! What a node sends so that hosts and switches learn its MAC at once: a gratuitous ARP per
//! IPv4 address, an unsolicited Neighbor Advertisement per IPv6 address. A new VRRP master
//! sends them for the virtual MAC (RFC 5798 §6.4.1), a fast path that restarted for its own
//! addresses.

use crate::checksum::{finish, pseudo_header_ip, sum};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// The hop limit of neighbour discovery (RFC 4861 §7.1.2) and of VRRP (RFC 5798 §5.1.2.3).
const HOP_LIMIT: u8 = 255;

const BROADCAST: [u8; 6] = [0xff; 6];
/// ff02::1 and its Ethernet address (RFC 2464 §7).
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
const PROTO_ICMPV6: u8 = 58;
const ICMPV6_NEIGHBOR_ADVERT: u8 = 136;
/// RFC 4861 §4.4 flags: Router, Solicited, Override.
pub const NA_FLAG_ROUTER: u8 = 0x80;
pub const NA_FLAG_OVERRIDE: u8 = 0x20;
/// Target Link-Layer Address option (RFC 4861 §4.6.1), length in units of 8 bytes.
const OPT_TARGET_LL: u8 = 2;

/// A 40-byte IPv6 header with hop limit 255.
pub fn push_ipv6_header(
    f: &mut Vec<u8>,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next: u8,
    tclass: u8,
    payload: usize,
) {
    let first = (6u32 << 28) | (u32::from(tclass) << 20);
    f.extend_from_slice(&first.to_be_bytes());
    f.extend_from_slice(&(payload as u16).to_be_bytes());
    f.extend_from_slice(&[next, HOP_LIMIT]);
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&dst.octets());
}

/// A gratuitous ARP as keepalived sends it: an ARP request (not a reply) broadcast from `mac`,
/// with sender and target protocol addresses both `ip`, target hardware address broadcast.
pub fn build_gratuitous_arp(mac: [u8; 6], ip: Ipv4Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&BROADCAST);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&ETHERTYPE_ARP.to_be_bytes());
    // Ethernet (1), IPv4, 6-byte hardware and 4-byte protocol addresses, request (1).
    f.extend_from_slice(&[0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&ip.octets());
    f.extend_from_slice(&BROADCAST);
    f.extend_from_slice(&ip.octets());
    f
}

/// An unsolicited Neighbor Advertisement (RFC 5798 §6.4.1, RFC 4861 §7.2.6) from `mac`, IPv6
/// source `src_ll`, for `target`, to all nodes (ff02::1), hop limit 255: Router and Override set,
/// Solicited clear, with the Target Link-Layer Address option. Keepalived sends the same (its
/// source is the target itself; pass the target as `src_ll` to do likewise).
pub fn build_unsolicited_na(mac: [u8; 6], src_ll: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
    let mut icmp = Vec::with_capacity(32);
    icmp.extend_from_slice(&[ICMPV6_NEIGHBOR_ADVERT, 0, 0, 0]);
    icmp.extend_from_slice(&[NA_FLAG_ROUTER | NA_FLAG_OVERRIDE, 0, 0, 0]);
    icmp.extend_from_slice(&target.octets());
    icmp.extend_from_slice(&[OPT_TARGET_LL, 1]);
    icmp.extend_from_slice(&mac);
    let acc = pseudo_header_ip(
        IpAddr::V6(src_ll),
        IpAddr::V6(ALL_NODES),
        PROTO_ICMPV6,
        icmp.len() as u32,
    );
    let c = finish(sum(acc, &icmp));
    icmp[2..4].copy_from_slice(&c.to_be_bytes());

    let mut f = Vec::with_capacity(14 + 40 + icmp.len());
    f.extend_from_slice(&ALL_NODES_MAC);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
    push_ipv6_header(&mut f, src_ll, ALL_NODES, PROTO_ICMPV6, 0, icmp.len());
    f.extend_from_slice(&icmp);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x01, 0x33];

    #[test]
    fn gratuitous_arp_fields() {
        let f = build_gratuitous_arp(MAC, Ipv4Addr::new(192, 0, 2, 7));
        assert_eq!(f.len(), 42);
        assert_eq!(&f[0..6], &[0xff; 6], "broadcast");
        assert_eq!(&f[6..12], &MAC);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(&f[14..16], &[0x00, 0x01], "hardware type Ethernet");
        assert_eq!(&f[16..18], &[0x08, 0x00], "protocol IPv4");
        assert_eq!((f[18], f[19]), (6, 4));
        assert_eq!(&f[20..22], &[0x00, 0x01], "request");
        assert_eq!(&f[22..28], &MAC, "sender hardware address");
        assert_eq!(&f[28..32], &[192, 0, 2, 7], "sender protocol address");
        assert_eq!(&f[32..38], &[0xff; 6], "target hardware address");
        assert_eq!(&f[38..42], &[192, 0, 2, 7], "target protocol address");
    }

    /// RFC 1071 checksum written out again, apart from the crate's, to check the NA's.
    fn independent_icmpv6_sum(src: &[u8; 16], dst: &[u8; 16], icmp: &[u8]) -> u16 {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(src);
        bytes.extend_from_slice(dst);
        bytes.extend_from_slice(&(icmp.len() as u32).to_be_bytes());
        bytes.extend_from_slice(&[0, 0, 0, 58]);
        bytes.extend_from_slice(icmp);
        let mut s: u64 = 0;
        for w in bytes.chunks(2) {
            s += u64::from(w[0]) << 8 | u64::from(*w.get(1).unwrap_or(&0));
        }
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        s as u16
    }

    #[test]
    fn unsolicited_na_fields() {
        let src: Ipv6Addr = "fe80::1".parse().unwrap();
        let target: Ipv6Addr = "2001:db8::33".parse().unwrap();
        let f = build_unsolicited_na(MAC, src, target);
        assert_eq!(f.len(), 14 + 40 + 32);
        assert_eq!(&f[0..6], &[0x33, 0x33, 0, 0, 0, 1]);
        assert_eq!(&f[6..12], &MAC);
        assert_eq!(&f[12..14], &[0x86, 0xdd]);
        let ip = &f[14..54];
        assert_eq!(&ip[0..4], &[0x60, 0, 0, 0]);
        assert_eq!(u16::from_be_bytes([ip[4], ip[5]]), 32);
        assert_eq!(ip[6], 58, "ICMPv6");
        assert_eq!(ip[7], 255, "hop limit");
        assert_eq!(&ip[8..24], &src.octets());
        assert_eq!(&ip[24..40], &ALL_NODES.octets());
        let icmp = &f[54..];
        assert_eq!((icmp[0], icmp[1]), (136, 0));
        assert_eq!(icmp[4], 0xa0, "Router and Override, not Solicited");
        assert_eq!(&icmp[5..8], &[0, 0, 0]);
        assert_eq!(&icmp[8..24], &target.octets());
        assert_eq!(
            (icmp[24], icmp[25]),
            (2, 1),
            "target link-layer address option"
        );
        assert_eq!(&icmp[26..32], &MAC);
        // The sum over pseudo-header and message, checksum included, is all ones.
        assert_eq!(
            independent_icmpv6_sum(&src.octets(), &ALL_NODES.octets(), icmp),
            0xffff
        );
        // And the checksum is not trivially zero.
        assert_ne!(u16::from_be_bytes([icmp[2], icmp[3]]), 0);
    }
}
