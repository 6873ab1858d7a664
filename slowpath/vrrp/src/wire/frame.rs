//! Ethernet + IPv4/IPv6 framing of adverts (RFC 5798 §5.1.1, §5.1.2, §7.3), for an AF_PACKET
//! socket: no VLAN tag (the I/O layer strips or adds it).

use super::advert::PROTO_VRRP;
use super::{Advert, ParseError};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use toolkit::announce::push_ipv6_header;
use toolkit::checksum::checksum;

pub const ETH_HEADER_LEN: usize = 14;
pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub use toolkit::announce::{ETHERTYPE_ARP, ETHERTYPE_IPV6};
const IPV4_HEADER_LEN: usize = 20;
const IPV6_HEADER_LEN: usize = 40;

/// The VRRP multicast groups (RFC 5798 §5.1.1.2, §5.1.2.2) and their Ethernet addresses.
pub const VRRP_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
pub const VRRP_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
pub const VRRP_MAC_V4: [u8; 6] = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x12];
pub const VRRP_MAC_V6: [u8; 6] = [0x33, 0x33, 0x00, 0x00, 0x00, 0x12];
/// Sent and required on receipt: a router never forwards VRRP (RFC 5798 §5.1.1.3, §7.1).
pub const VRRP_TTL: u8 = 255;
/// DSCP CS6 (network control), as keepalived sets on both families.
pub const VRRP_TOS: u8 = 0xc0;

/// The virtual router MAC address (RFC 5798 §7.3): 00-00-5E-00-01-{VRID} for IPv4,
/// 00-00-5E-00-02-{VRID} for IPv6.
pub fn virtual_mac(vrid: u8, ipv6: bool) -> [u8; 6] {
    [0x00, 0x00, 0x5e, 0x00, if ipv6 { 0x02 } else { 0x01 }, vrid]
}

/// An advert as it came off the wire, with what the state machine needs of its IP header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedAdvert {
    pub src_mac: [u8; 6],
    pub src_ip: IpAddr,
    pub dst_ip: IpAddr,
    pub ttl: u8,
    pub advert: Advert,
}

/// An Ethernet frame carrying `advert` from `src_ip` (the router's own interface address, or
/// its IPv6 link-local address) to the VRRP group. IPv4: TTL 255, TOS 0xc0, ID 0, DF clear;
/// IPv6: hop limit 255, traffic class 0xc0, flow label 0.
pub fn build_advert_frame(src_mac: [u8; 6], src_ip: IpAddr, advert: &Advert) -> Vec<u8> {
    let (dst_mac, dst_ip, ethertype) = match src_ip {
        IpAddr::V4(_) => (VRRP_MAC_V4, IpAddr::V4(VRRP_GROUP_V4), ETHERTYPE_IPV4),
        IpAddr::V6(_) => (VRRP_MAC_V6, IpAddr::V6(VRRP_GROUP_V6), ETHERTYPE_IPV6),
    };
    let payload = advert.emit(src_ip, dst_ip);
    let mut f = Vec::with_capacity(ETH_HEADER_LEN + IPV6_HEADER_LEN + payload.len());
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&ethertype.to_be_bytes());
    match src_ip {
        IpAddr::V4(s) => push_ipv4_header(
            &mut f,
            s,
            VRRP_GROUP_V4,
            PROTO_VRRP,
            VRRP_TOS,
            payload.len(),
        ),
        IpAddr::V6(s) => push_ipv6_header(
            &mut f,
            s,
            VRRP_GROUP_V6,
            PROTO_VRRP,
            VRRP_TOS,
            payload.len(),
        ),
    }
    f.extend_from_slice(&payload);
    f
}

/// A 20-byte IPv4 header with TTL 255, ID 0 and no flags.
pub(super) fn push_ipv4_header(
    f: &mut Vec<u8>,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    tos: u8,
    payload: usize,
) {
    let total = (IPV4_HEADER_LEN + payload) as u16;
    let start = f.len();
    f.extend_from_slice(&[0x45, tos]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0, VRRP_TTL, proto, 0, 0]);
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&dst.octets());
    let c = checksum(&f[start..]);
    f[start + 10..start + 12].copy_from_slice(&c.to_be_bytes());
}

/// Parses an Ethernet frame as a VRRP advert. `NotVrrp` for anything that is not IPv4/IPv6
/// protocol 112 (the I/O layer ignores those silently); every other error is a VRRP packet
/// refused for that reason. Trailing bytes after the IP packet (Ethernet padding) are allowed.
pub fn parse_advert_frame(frame: &[u8]) -> Result<ReceivedAdvert, ParseError> {
    if frame.len() < ETH_HEADER_LEN {
        return Err(ParseError::NotVrrp);
    }
    let mut src_mac = [0u8; 6];
    src_mac.copy_from_slice(&frame[6..12]);
    let ip = &frame[ETH_HEADER_LEN..];
    let (src_ip, dst_ip, ttl, payload) = match u16::from_be_bytes([frame[12], frame[13]]) {
        ETHERTYPE_IPV4 => parse_ipv4(ip)?,
        ETHERTYPE_IPV6 => parse_ipv6(ip)?,
        _ => return Err(ParseError::NotVrrp),
    };
    check_source(src_ip)?;
    let group = match dst_ip {
        IpAddr::V4(d) => d == VRRP_GROUP_V4,
        IpAddr::V6(d) => d == VRRP_GROUP_V6,
    };
    if !group {
        return Err(ParseError::Destination);
    }
    if ttl != VRRP_TTL {
        return Err(ParseError::Ttl);
    }
    let advert = Advert::parse(payload, src_ip, dst_ip)?;
    Ok(ReceivedAdvert {
        src_mac,
        src_ip,
        dst_ip,
        ttl,
        advert,
    })
}

/// (src, dst, TTL, VRRP payload trimmed to the total length).
type IpParts<'a> = (IpAddr, IpAddr, u8, &'a [u8]);

fn parse_ipv4(p: &[u8]) -> Result<IpParts<'_>, ParseError> {
    if p.len() < IPV4_HEADER_LEN {
        // Too short to even read the protocol: whatever it is, it is no advert.
        return Err(if p.len() > 9 && p[9] == PROTO_VRRP {
            ParseError::Truncated
        } else {
            ParseError::NotVrrp
        });
    }
    if p[9] != PROTO_VRRP {
        return Err(ParseError::NotVrrp);
    }
    if p[0] >> 4 != 4 {
        return Err(ParseError::IpHeader);
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([p[2], p[3]]));
    if ihl < IPV4_HEADER_LEN || total < ihl {
        return Err(ParseError::IpHeader);
    }
    if p.len() < total {
        return Err(ParseError::Truncated);
    }
    if checksum(&p[..ihl]) != 0 {
        return Err(ParseError::IpChecksum);
    }
    // MF set or a nonzero offset.
    if u16::from_be_bytes([p[6], p[7]]) & 0x3fff != 0 {
        return Err(ParseError::Fragment);
    }
    let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
    let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
    Ok((IpAddr::V4(src), IpAddr::V4(dst), p[8], &p[ihl..total]))
}

fn parse_ipv6(p: &[u8]) -> Result<IpParts<'_>, ParseError> {
    if p.len() < IPV6_HEADER_LEN {
        return Err(if p.len() > 6 && p[6] == PROTO_VRRP {
            ParseError::Truncated
        } else {
            ParseError::NotVrrp
        });
    }
    // Extension headers are not walked: VRRP never sends any, so this is something else.
    if p[6] != PROTO_VRRP {
        return Err(ParseError::NotVrrp);
    }
    if p[0] >> 4 != 6 {
        return Err(ParseError::IpHeader);
    }
    let total = IPV6_HEADER_LEN + usize::from(u16::from_be_bytes([p[4], p[5]]));
    if p.len() < total {
        return Err(ParseError::Truncated);
    }
    let mut s = [0u8; 16];
    let mut d = [0u8; 16];
    s.copy_from_slice(&p[8..24]);
    d.copy_from_slice(&p[24..40]);
    Ok((
        IpAddr::V6(Ipv6Addr::from(s)),
        IpAddr::V6(Ipv6Addr::from(d)),
        p[7],
        &p[IPV6_HEADER_LEN..total],
    ))
}

/// No router sends from these; a frame claiming one is forged or broken.
fn check_source(src: IpAddr) -> Result<(), ParseError> {
    let bad = match src {
        IpAddr::V4(a) => {
            a.is_multicast() || a.is_unspecified() || a.is_broadcast() || a.is_loopback()
        }
        IpAddr::V6(a) => a.is_multicast() || a.is_unspecified() || a.is_loopback(),
    };
    if bad {
        Err(ParseError::Source)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Version;

    fn v4(s: &str) -> IpAddr {
        IpAddr::V4(s.parse().unwrap())
    }
    fn v6(s: &str) -> IpAddr {
        IpAddr::V6(s.parse().unwrap())
    }

    fn advert(version: Version, addresses: Vec<IpAddr>) -> Advert {
        Advert {
            version,
            vrid: 51,
            priority: 100,
            max_advert_interval_cs: 100,
            addresses,
            auth_type: 0,
        }
    }

    #[test]
    fn virtual_macs() {
        assert_eq!(virtual_mac(1, false), [0x00, 0x00, 0x5e, 0x00, 0x01, 0x01]);
        assert_eq!(
            virtual_mac(0xfe, true),
            [0x00, 0x00, 0x5e, 0x00, 0x02, 0xfe]
        );
    }

    #[test]
    fn ipv4_frame_layout() {
        let mac = virtual_mac(51, false);
        let a = advert(Version::V3, vec![v4("192.168.1.254")]);
        let f = build_advert_frame(mac, v4("192.168.1.1"), &a);
        assert_eq!(f.len(), 14 + 20 + 12);
        assert_eq!(&f[0..6], &VRRP_MAC_V4);
        assert_eq!(&f[6..12], &mac);
        assert_eq!(&f[12..14], &[0x08, 0x00]);
        let ip = &f[14..34];
        assert_eq!(ip[0], 0x45);
        assert_eq!(ip[1], 0xc0, "DSCP CS6");
        assert_eq!(u16::from_be_bytes([ip[2], ip[3]]), 32);
        assert_eq!(&ip[4..8], &[0, 0, 0, 0], "ID 0, DF clear, offset 0");
        assert_eq!(ip[8], 255);
        assert_eq!(ip[9], 112);
        assert_eq!(&ip[12..16], &[192, 168, 1, 1]);
        assert_eq!(&ip[16..20], &[224, 0, 0, 18]);
        assert_eq!(checksum(ip), 0);
        // Independently computed header checksum: 45c0 0020 0000 0000 ff70 0000 c0a8 0101 e000 0012.
        let s: u32 = [
            0x45c0u32, 0x0020, 0, 0, 0xff70, 0, 0xc0a8, 0x0101, 0xe000, 0x0012,
        ]
        .iter()
        .sum();
        let s = (s & 0xffff) + (s >> 16);
        assert_eq!(u16::from_be_bytes([ip[10], ip[11]]), !(s as u16));
        assert_eq!(
            &f[34..],
            &a.emit(v4("192.168.1.1"), IpAddr::V4(VRRP_GROUP_V4))[..]
        );
    }

    #[test]
    fn ipv6_frame_layout() {
        let mac = virtual_mac(51, true);
        let a = advert(Version::V3, vec![v6("fe80::51"), v6("2001:db8::51")]);
        let f = build_advert_frame(mac, v6("fe80::1"), &a);
        assert_eq!(f.len(), 14 + 40 + 8 + 32);
        assert_eq!(&f[0..6], &VRRP_MAC_V6);
        assert_eq!(&f[12..14], &[0x86, 0xdd]);
        let ip = &f[14..54];
        assert_eq!(
            &ip[0..4],
            &[0x6c, 0x00, 0x00, 0x00],
            "version 6, traffic class 0xc0"
        );
        assert_eq!(u16::from_be_bytes([ip[4], ip[5]]), 40);
        assert_eq!(ip[6], 112);
        assert_eq!(ip[7], 255);
        assert_eq!(&ip[24..40], &VRRP_GROUP_V6.octets());
    }

    #[test]
    fn round_trips() {
        for (src, a) in [
            (v4("10.1.1.1"), advert(Version::V3, vec![v4("10.1.1.100")])),
            (
                v4("10.1.1.1"),
                advert(Version::V2, vec![v4("10.1.1.100"), v4("10.1.1.101")]),
            ),
            (v6("fe80::1"), advert(Version::V3, vec![v6("fe80::100")])),
        ] {
            let mac = [2, 0, 0, 0, 0, 1];
            let f = build_advert_frame(mac, src, &a);
            let r = parse_advert_frame(&f).unwrap();
            assert_eq!(r.src_mac, mac);
            assert_eq!(r.src_ip, src);
            assert_eq!(r.ttl, 255);
            assert_eq!(r.advert, a);
            // Ethernet padding after the IP packet is fine.
            let mut padded = f.clone();
            padded.extend_from_slice(&[0; 20]);
            assert_eq!(parse_advert_frame(&padded), Ok(r));
        }
    }

    /// Rewrites the IPv4 header checksum after a test changed a header byte.
    fn fix_ip4(f: &mut [u8]) {
        let ihl = usize::from(f[14] & 0x0f) * 4;
        f[24] = 0;
        f[25] = 0;
        let c = checksum(&f[14..14 + ihl]);
        f[24..26].copy_from_slice(&c.to_be_bytes());
    }

    #[test]
    fn ipv4_errors() {
        let good = build_advert_frame(
            [2; 6],
            v4("10.0.0.1"),
            &advert(Version::V3, vec![v4("10.0.0.9")]),
        );
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = good.clone();
            f(&mut b);
            parse_advert_frame(&b)
        };
        let fixed = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = good.clone();
            f(&mut b);
            fix_ip4(&mut b);
            parse_advert_frame(&b)
        };
        assert_eq!(parse_advert_frame(&good[..13]), Err(ParseError::NotVrrp));
        assert_eq!(with(&|b| b[12] = 0x88), Err(ParseError::NotVrrp));
        assert_eq!(fixed(&|b| b[14 + 9] = 17), Err(ParseError::NotVrrp));
        assert_eq!(
            parse_advert_frame(&good[..14 + 19]),
            Err(ParseError::Truncated)
        );
        assert_eq!(
            parse_advert_frame(&good[..14 + 5]),
            Err(ParseError::NotVrrp)
        );
        assert_eq!(
            parse_advert_frame(&good[..good.len() - 1]),
            Err(ParseError::Truncated)
        );
        assert_eq!(fixed(&|b| b[14] = 0x65), Err(ParseError::IpHeader));
        assert_eq!(fixed(&|b| b[14] = 0x44), Err(ParseError::IpHeader));
        assert_eq!(fixed(&|b| b[17] = 10), Err(ParseError::IpHeader));
        assert_eq!(with(&|b| b[14 + 1] = 0), Err(ParseError::IpChecksum));
        assert_eq!(fixed(&|b| b[14 + 6] = 0x20), Err(ParseError::Fragment));
        assert_eq!(fixed(&|b| b[14 + 7] = 1), Err(ParseError::Fragment));
        assert_eq!(fixed(&|b| b[14 + 19] = 19), Err(ParseError::Destination));
        assert_eq!(fixed(&|b| b[14 + 12] = 224), Err(ParseError::Source));
        assert_eq!(
            fixed(&|b| b[14 + 12..14 + 16].copy_from_slice(&[0; 4])),
            Err(ParseError::Source)
        );
        assert_eq!(fixed(&|b| b[14 + 8] = 254), Err(ParseError::Ttl));
        // DF set is accepted (other implementations set it).
        assert!(fixed(&|b| b[14 + 6] = 0x40).is_ok());
        // A VRRP-level error comes through.
        assert_eq!(with(&|b| b[14 + 20 + 2] ^= 1), Err(ParseError::BadChecksum));
    }

    #[test]
    fn ipv4_options_are_skipped() {
        let good = build_advert_frame(
            [2; 6],
            v4("10.0.0.1"),
            &advert(Version::V3, vec![v4("10.0.0.9")]),
        );
        let mut f = good[..34].to_vec();
        f[14] = 0x46;
        let total = u16::from_be_bytes([f[16], f[17]]) + 4;
        f[16..18].copy_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&[1, 1, 1, 0]); // NOPs and End of options
        f.extend_from_slice(&good[34..]);
        fix_ip4(&mut f);
        assert!(parse_advert_frame(&f).is_ok());
    }

    #[test]
    fn ipv6_errors() {
        let good = build_advert_frame(
            [2; 6],
            v6("fe80::1"),
            &advert(Version::V3, vec![v6("fe80::9")]),
        );
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = good.clone();
            f(&mut b);
            parse_advert_frame(&b)
        };
        assert_eq!(
            with(&|b| b[14 + 6] = 0),
            Err(ParseError::NotVrrp),
            "hop-by-hop header"
        );
        assert_eq!(with(&|b| b[14 + 6] = 58), Err(ParseError::NotVrrp));
        assert_eq!(
            parse_advert_frame(&good[..14 + 39]),
            Err(ParseError::Truncated)
        );
        assert_eq!(
            parse_advert_frame(&good[..good.len() - 1]),
            Err(ParseError::Truncated)
        );
        assert_eq!(with(&|b| b[14] = 0x4c), Err(ParseError::IpHeader));
        assert_eq!(with(&|b| b[14 + 39] = 0x13), Err(ParseError::Destination));
        assert_eq!(with(&|b| b[14 + 8] = 0xff), Err(ParseError::Source));
        assert_eq!(with(&|b| b[14 + 7] = 1), Err(ParseError::Ttl));
        assert_eq!(with(&|b| b[14 + 40 + 2] ^= 1), Err(ParseError::BadChecksum));
        // Payload length shorter than the advert: the VRRP length check sees it.
        assert_eq!(with(&|b| b[14 + 5] -= 4), Err(ParseError::Length));
    }

    #[test]
    fn ipv4_frame_to_ipv6_group_mac_is_not_checked() {
        // The Ethernet destination is the NIC's business; only the IP destination counts.
        let mut f = build_advert_frame(
            [2; 6],
            v4("10.0.0.1"),
            &advert(Version::V3, vec![v4("10.0.0.9")]),
        );
        f[0..6].copy_from_slice(&[0xff; 6]);
        assert!(parse_advert_frame(&f).is_ok());
    }
}
