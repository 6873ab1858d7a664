//! The ICMP errors a gateway sends, built into a caller's buffer, in reply to the packet that
//! caused them: those of path MTU discovery, ICMPv4 Destination Unreachable / Fragmentation
//! Needed (RFC 792 type 3 code 4, with the RFC 1191 next-hop MTU) and ICMPv6 Packet Too Big
//! (RFC 4443 §3.2); and those of a router without a route, ICMPv4 Destination Unreachable /
//! Net Unreachable (type 3 code 0, RFC 1812 §5.2.7.1) and ICMPv6 Destination Unreachable /
//! No Route (type 1 code 0, RFC 4443 §3.1).
//!
//! No error is built (the functions return `None`) about:
//! - an ICMP error message (RFC 1122 §3.2.2, RFC 4443 §2.4(e.1)), or a packet whose ICMP type
//!   cannot be read; ICMP queries (echo and the like) do get errors;
//! - a fragment other than the first (RFC 1122 §3.2.2);
//! - an IPv4 packet to a broadcast (255.255.255.255) or multicast destination (RFC 1122);
//!   IPv6 multicast destinations do get Packet Too Big (RFC 4443 §2.4(e.3) exception 2, so
//!   that path MTU discovery works for multicast), but not No Route;
//! - a source that is not one host: unspecified, loopback, multicast, and for IPv4 broadcast
//!   and class E (RFC 1122 §3.2.2, RFC 4443 §2.4(e.6));
//! - a packet that does not parse, or an output buffer too small.
//!
//! Rate limiting (RFC 4443 §2.4(f), RFC 1812 §4.3.2.8) is the caller's.

use crate::wire::checksum;
use crate::wire::{be16, proto, IPV4_HEADER_LEN, IPV6_HEADER_LEN};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// TTL / hop limit of the errors.
pub const ERROR_TTL: u8 = 64;
/// ICMP header: type, code, checksum, and the 4-byte field (unused + MTU, or MTU).
pub const ICMP_HEADER_LEN: usize = 8;
/// An IPv6 ICMP error must not make a packet longer than the IPv6 minimum MTU.
pub const IPV6_MIN_MTU: usize = 1280;
/// IPv4: RFC 792 quotes the IP header and the first 8 bytes of the payload.
pub const IPV4_QUOTE_PAYLOAD: usize = 8;
/// The largest ICMPv4 error built here: 20 + 8 + a 60-byte header + 8.
pub const IPV4_MAX_ERROR_LEN: usize = IPV4_HEADER_LEN + ICMP_HEADER_LEN + 60 + IPV4_QUOTE_PAYLOAD;

const DEST_OPTS: u8 = 60;
const AH: u8 = 51;

/// Builds an ICMPv4 Fragmentation Needed from `src` (this gateway) to the source of
/// `offending` (an IPv4 packet from its header on), reporting `mtu` (clamped to 65535), into
/// `out` (at most [`IPV4_MAX_ERROR_LEN`] bytes are needed). Returns the message's length.
pub fn frag_needed_v4(
    src: Ipv4Addr,
    offending: &[u8],
    mtu: usize,
    out: &mut [u8],
) -> Option<usize> {
    let mtu = mtu.min(u16::MAX as usize) as u16;
    let [hi, lo] = mtu.to_be_bytes();
    error_v4(src, offending, [3, 4], [0, 0, hi, lo], out)
}

/// Builds an ICMPv4 Net Unreachable (no route to the destination of `offending`) from `src`
/// to its source, into `out`, as [`frag_needed_v4`] does. Returns the message's length.
pub fn net_unreachable_v4(src: Ipv4Addr, offending: &[u8], out: &mut [u8]) -> Option<usize> {
    error_v4(src, offending, [3, 0], [0; 4], out)
}

/// An ICMPv4 error of `type_code`, the 4 bytes after the checksum `rest`.
fn error_v4(
    src: Ipv4Addr,
    offending: &[u8],
    type_code: [u8; 2],
    rest: [u8; 4],
    out: &mut [u8],
) -> Option<usize> {
    let p = offending;
    if p.len() < IPV4_HEADER_LEN || p[0] >> 4 != 4 {
        return None;
    }
    let ihl = (p[0] & 0x0f) as usize * 4;
    let total = be16(p, 2) as usize;
    if ihl < IPV4_HEADER_LEN || total < ihl || p.len() < ihl {
        return None;
    }
    if be16(p, 6) & 0x1fff != 0 {
        return None;
    }
    let from = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
    let to = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
    if to.is_broadcast() || to.is_multicast() || !unique_v4(from) {
        return None;
    }
    if p[9] == proto::ICMP && !icmpv4_is_query(p.get(ihl).copied()?) {
        return None;
    }
    let quote = (ihl + IPV4_QUOTE_PAYLOAD).min(total).min(p.len());
    let len = IPV4_HEADER_LEN + ICMP_HEADER_LEN + quote;
    let out = out.get_mut(..len)?;
    let (ip, icmp) = out.split_at_mut(IPV4_HEADER_LEN);
    ip.copy_from_slice(&[
        0x45,
        0xc0,
        0,
        0,
        0,
        0,
        0x40,
        0,
        ERROR_TTL,
        proto::ICMP,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ]);
    ip[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&from.octets());
    let c = checksum::checksum(ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    icmp[..2].copy_from_slice(&type_code);
    icmp[2..4].copy_from_slice(&[0, 0]);
    icmp[4..ICMP_HEADER_LEN].copy_from_slice(&rest);
    icmp[ICMP_HEADER_LEN..].copy_from_slice(&p[..quote]);
    let c = checksum::checksum(icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    Some(len)
}

/// Builds an ICMPv6 Packet Too Big from `src` (this gateway) to the source of `offending` (an
/// IPv6 packet from its header on), reporting `mtu` (clamped to 2^32-1), quoting as much of
/// the packet as keeps the message within 1280 bytes (and within `out`). Returns its length.
pub fn packet_too_big_v6(
    src: Ipv6Addr,
    offending: &[u8],
    mtu: usize,
    out: &mut [u8],
) -> Option<usize> {
    let mtu = mtu.min(u32::MAX as usize) as u32;
    error_v6(src, offending, [2, 0], mtu.to_be_bytes(), out)
}

/// Builds an ICMPv6 No Route (Destination Unreachable code 0) from `src` to the source of
/// `offending`, quoting as [`packet_too_big_v6`] does; none about a packet to a multicast
/// address (RFC 4443 §2.4(e.3)). Returns its length.
pub fn no_route_v6(src: Ipv6Addr, offending: &[u8], out: &mut [u8]) -> Option<usize> {
    if offending.len() >= IPV6_HEADER_LEN && offending[24] == 0xff {
        return None;
    }
    error_v6(src, offending, [1, 0], [0; 4], out)
}

/// An ICMPv6 error of `type_code`, the 4 bytes after the checksum `rest`.
fn error_v6(
    src: Ipv6Addr,
    offending: &[u8],
    type_code: [u8; 2],
    rest: [u8; 4],
    out: &mut [u8],
) -> Option<usize> {
    let p = offending;
    if p.len() < IPV6_HEADER_LEN || p[0] >> 4 != 6 {
        return None;
    }
    let total = (IPV6_HEADER_LEN + be16(p, 4) as usize).min(p.len());
    let p = &p[..total];
    let from = Ipv6Addr::from(<[u8; 16]>::try_from(&p[8..24]).ok()?);
    if from.is_unspecified() || from.is_loopback() || from.is_multicast() {
        return None;
    }
    // Find the upper layer (through the headers that come before it) to spot ICMPv6 errors
    // and later fragments.
    let (mut next, mut at) = (p[6], IPV6_HEADER_LEN);
    loop {
        match next {
            proto::HOP_BY_HOP | proto::IPV6_ROUTE | DEST_OPTS | AH => {
                let l = *p.get(at + 1)? as usize;
                let len = if next == AH { (l + 2) * 4 } else { (l + 1) * 8 };
                if p.len() < at + len {
                    return None;
                }
                next = p[at];
                at += len;
            }
            proto::IPV6_FRAG => {
                if p.len() < at + 8 || be16(p, at + 2) & 0xfff8 != 0 {
                    return None;
                }
                next = p[at];
                at += 8;
            }
            _ => break,
        }
    }
    // ICMPv6 errors are types 0-127 (RFC 4443 §2.1).
    if next == proto::ICMPV6 && *p.get(at)? < 128 {
        return None;
    }
    let room = out.len().min(IPV6_MIN_MTU);
    let quote = total.min(room.checked_sub(IPV6_HEADER_LEN + ICMP_HEADER_LEN)?);
    if quote < IPV6_HEADER_LEN {
        return None;
    }
    let icmp_len = ICMP_HEADER_LEN + quote;
    let len = IPV6_HEADER_LEN + icmp_len;
    let out = &mut out[..len];
    let (ip, icmp) = out.split_at_mut(IPV6_HEADER_LEN);
    ip[..8].copy_from_slice(&[0x60, 0, 0, 0, 0, 0, proto::ICMPV6, ERROR_TTL]);
    ip[4..6].copy_from_slice(&(icmp_len as u16).to_be_bytes());
    ip[8..24].copy_from_slice(&src.octets());
    ip[24..40].copy_from_slice(&p[8..24]);
    icmp[..2].copy_from_slice(&type_code);
    icmp[2..4].copy_from_slice(&[0, 0]);
    icmp[4..8].copy_from_slice(&rest);
    icmp[ICMP_HEADER_LEN..].copy_from_slice(&p[..quote]);
    let acc = checksum::pseudo_header(&ip[8..24], &ip[24..40], proto::ICMPV6, icmp_len as u32);
    let c = checksum::finish(checksum::sum(acc, icmp));
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    Some(len)
}

/// The error for `offending` by its version: Fragmentation Needed or Packet Too Big. `None`
/// also when `src` is of the other family.
pub fn too_big(src: IpAddr, offending: &[u8], mtu: usize, out: &mut [u8]) -> Option<usize> {
    match (src, offending.first().map(|b| b >> 4)) {
        (IpAddr::V4(s), Some(4)) => frag_needed_v4(s, offending, mtu, out),
        (IpAddr::V6(s), Some(6)) => packet_too_big_v6(s, offending, mtu, out),
        _ => None,
    }
}

/// The no-route error for `offending` by its version: Net Unreachable or No Route. `None`
/// also when `src` is of the other family.
pub fn unreachable(src: IpAddr, offending: &[u8], out: &mut [u8]) -> Option<usize> {
    match (src, offending.first().map(|b| b >> 4)) {
        (IpAddr::V4(s), Some(4)) => net_unreachable_v4(s, offending, out),
        (IpAddr::V6(s), Some(6)) => no_route_v6(s, offending, out),
        _ => None,
    }
}

/// Whether an IPv4 source names one host (RFC 1122 §3.2.1.3 / §3.2.2).
fn unique_v4(a: Ipv4Addr) -> bool {
    !(a.is_unspecified()
        || a.is_loopback()
        || a.is_broadcast()
        || a.is_multicast()
        || a.octets()[0] >= 240)
}

/// ICMPv4 queries and replies (echo, router advertisement / solicitation, timestamp,
/// information, address mask); everything else, unknown types included, counts as an error.
fn icmpv4_is_query(t: u8) -> bool {
    matches!(t, 0 | 8 | 9 | 10 | 13..=18)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::fragment::tests::{ipv4_packet, ipv6_packet};
    use crate::wire::ip::{IpHeader, IpVersion};

    const GW4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const GW6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x99);

    fn set_v4_checksum(p: &mut [u8]) {
        let ihl = (p[0] & 15) as usize * 4;
        p[10..12].copy_from_slice(&[0, 0]);
        let c = checksum::checksum(&p[..ihl]);
        p[10..12].copy_from_slice(&c.to_be_bytes());
    }

    fn v4_with(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut p = ipv4_packet(&[], 1400, true, 5);
        f(&mut p);
        set_v4_checksum(&mut p);
        p
    }

    fn build4(p: &[u8]) -> Option<Vec<u8>> {
        let mut out = [0u8; 200];
        frag_needed_v4(GW4, p, 1400, &mut out).map(|n| out[..n].to_vec())
    }

    fn build6(p: &[u8]) -> Option<Vec<u8>> {
        let mut out = [0u8; 2000];
        packet_too_big_v6(GW6, p, 1380, &mut out).map(|n| out[..n].to_vec())
    }

    #[test]
    fn ipv4_frag_needed_is_valid_and_quotes_header_and_8_bytes() {
        for (opts, payload, quote) in [
            (&[][..], 1400, 28),
            (&[1, 1, 1, 0][..], 1400, 32),
            (&[1; 40][..], 1400, 68),
            (&[][..], 3, 23),
            (&[][..], 0, 20),
        ] {
            let p = ipv4_packet(opts, payload, true, 5);
            let m = build4(&p).unwrap();
            assert_eq!(m.len(), 20 + 8 + quote);
            assert_eq!(checksum::checksum(&m[..20]), 0, "IP header checksum");
            assert_eq!(checksum::checksum(&m[20..]), 0, "ICMP checksum");
            let h = IpHeader::parse(&m).unwrap();
            assert_eq!(h.version, IpVersion::V4);
            assert_eq!(h.protocol, proto::ICMP);
            assert_eq!(h.total_len, m.len());
            assert_eq!(h.src(&m), IpAddr::V4(GW4));
            assert_eq!(h.dst(&m), "198.51.100.1".parse::<IpAddr>().unwrap());
            assert_eq!(h.ttl, ERROR_TTL);
            assert_eq!(m[20..22], [3, 4]);
            assert_eq!(m[24..26], [0, 0]);
            assert_eq!(be16(&m, 26), 1400);
            assert_eq!(m[28..], p[..quote]);
        }
        // The MTU field saturates; the output must hold the whole message.
        let p = ipv4_packet(&[], 100, true, 5);
        let mut out = [0u8; 56];
        assert_eq!(frag_needed_v4(GW4, &p, 100_000, &mut out), Some(56));
        assert_eq!(be16(&out, 26), 0xffff);
        assert_eq!(frag_needed_v4(GW4, &p, 1000, &mut out[..55]), None);
    }

    #[test]
    fn ipv4_no_error_about_errors_fragments_or_group_addresses() {
        let icmp = |t: u8| {
            v4_with(|p| {
                p[9] = proto::ICMP;
                p[20] = t;
            })
        };
        for t in [0, 8, 13, 17] {
            assert!(build4(&icmp(t)).is_some(), "ICMP query type {t}");
        }
        for t in [3, 4, 5, 11, 12, 40, 255] {
            assert!(build4(&icmp(t)).is_none(), "ICMP error type {t}");
        }
        // ICMP with no type byte.
        assert!(build4(&v4_with(|p| {
            p[9] = proto::ICMP;
            p.truncate(20);
            p[2..4].copy_from_slice(&20u16.to_be_bytes());
        }))
        .is_none());
        // First fragment yes, later fragments no.
        assert!(build4(&v4_with(|p| p[6] = 0x20)).is_some());
        assert!(build4(&v4_with(|p| p[6..8].copy_from_slice(&[0x20, 1]))).is_none());
        assert!(build4(&v4_with(|p| p[6..8].copy_from_slice(&[0, 1]))).is_none());
        for dst in [[255, 255, 255, 255], [224, 0, 0, 1], [239, 1, 2, 3]] {
            assert!(build4(&v4_with(|p| p[16..20].copy_from_slice(&dst))).is_none());
        }
        for src in [
            [0, 0, 0, 0],
            [127, 0, 0, 1],
            [255, 255, 255, 255],
            [224, 0, 0, 5],
            [240, 0, 0, 1],
        ] {
            assert!(build4(&v4_with(|p| p[12..16].copy_from_slice(&src))).is_none());
        }
        // Malformed.
        let p = ipv4_packet(&[], 100, true, 5);
        assert!(build4(&p[..19]).is_none());
        assert!(build4(&[]).is_none());
        assert!(build4(&v4_with(|p| p[0] = 0x44)).is_none());
        assert!(build4(&v4_with(|p| p[2..4].copy_from_slice(&[0, 10]))).is_none());
        assert!(build4(&ipv6_packet(&[], 10)).is_none());
    }

    fn check6(m: &[u8], quote: usize, offending: &[u8]) {
        assert_eq!(m.len(), 48 + quote);
        assert!(m.len() <= IPV6_MIN_MTU);
        let h = IpHeader::parse(m).unwrap();
        assert_eq!(h.version, IpVersion::V6);
        assert_eq!(h.protocol, proto::ICMPV6);
        assert_eq!(h.total_len, m.len());
        assert_eq!(h.src(m), IpAddr::V6(GW6));
        assert_eq!(m[24..40], offending[8..24]);
        assert_eq!(h.ttl, ERROR_TTL);
        let acc = checksum::pseudo_header(&m[8..24], &m[24..40], 58, (m.len() - 40) as u32);
        assert_eq!(checksum::finish(checksum::sum(acc, &m[40..])), 0);
        assert_eq!(m[40..42], [2, 0]);
        assert_eq!(crate::wire::be32(m, 44), 1380);
        assert_eq!(m[48..], offending[..quote]);
    }

    #[test]
    fn ipv6_packet_too_big_is_valid_and_quotes_up_to_1280() {
        for (payload, quote) in [
            (0, 40),
            (100, 140),
            (1192, 1232),
            (1193, 1232),
            (9000, 1232),
        ] {
            let p = ipv6_packet(&[], payload);
            check6(&build6(&p).unwrap(), quote, &p);
        }
        // A smaller output buffer quotes less, and must hold the offending IPv6 header.
        let p = ipv6_packet(&[], 1000);
        let mut out = [0u8; 500];
        assert_eq!(packet_too_big_v6(GW6, &p, 1380, &mut out), Some(500));
        check6(&out, 452, &p);
        assert_eq!(packet_too_big_v6(GW6, &p, 1380, &mut out[..87]), None);
        assert_eq!(packet_too_big_v6(GW6, &p, 1380, &mut out[..88]), Some(88));
        // MTU saturates at 2^32-1.
        let mut out = [0u8; 2000];
        let n = packet_too_big_v6(GW6, &p, usize::MAX, &mut out).unwrap();
        assert_eq!(crate::wire::be32(&out, 44), u32::MAX);
        assert_eq!(n, 48 + 1040);
    }

    #[test]
    fn ipv6_no_error_about_errors_later_fragments_or_bad_sources() {
        let icmp6 = |ext: &[(u8, usize)], t: u8| {
            let mut p = ipv6_packet(ext, 100);
            let at = 40 + ext.iter().map(|e| e.1).sum::<usize>();
            let nh_at = if ext.is_empty() {
                6
            } else {
                at - ext.last().unwrap().1
            };
            p[nh_at] = proto::ICMPV6;
            p[at] = t;
            let mut h = 40;
            for &(code, len) in ext {
                if code == AH {
                    p[h + 1] = (len / 4 - 2) as u8;
                }
                h += len;
            }
            p
        };
        for ext in [
            &[][..],
            &[(0, 8), (60, 16)][..],
            &[(43, 24)][..],
            &[(51, 16)][..],
        ] {
            for t in [128, 129, 135, 200] {
                assert!(build6(&icmp6(ext, t)).is_some(), "{ext:?} type {t}");
            }
            for t in [1, 2, 3, 4, 100, 127] {
                assert!(build6(&icmp6(ext, t)).is_none(), "{ext:?} type {t}");
            }
        }
        // ICMPv6 whose type lies past the packet.
        let mut p = ipv6_packet(&[], 0);
        p[6] = proto::ICMPV6;
        assert!(build6(&p).is_none());
        // Fragments: the first yes, later ones no.
        let frag = |off: u16| {
            let mut p = ipv6_packet(&[(44, 8)], 100);
            p[42..44].copy_from_slice(&(off | 1).to_be_bytes());
            p
        };
        assert!(build6(&frag(0)).is_some());
        assert!(build6(&frag(8)).is_none());
        // Bad sources.
        for src in ["::", "::1", "ff02::1", "ff05::2"] {
            let mut p = ipv6_packet(&[], 100);
            p[8..24].copy_from_slice(&src.parse::<Ipv6Addr>().unwrap().octets());
            assert!(build6(&p).is_none(), "{src}");
        }
        // Multicast destinations do get Packet Too Big (RFC 4443 §2.4(e.3)).
        let mut p = ipv6_packet(&[], 100);
        p[24..40].copy_from_slice(&"ff0e::1".parse::<Ipv6Addr>().unwrap().octets());
        assert!(build6(&p).is_some());
        // Malformed: short, truncated extension header, other version.
        assert!(build6(&p[..39]).is_none());
        let mut q = ipv6_packet(&[(0, 8)], 0);
        q[41] = 3;
        assert!(build6(&q).is_none());
        assert!(build6(&ipv4_packet(&[], 100, true, 1)).is_none());
    }

    #[test]
    fn dispatch_by_version() {
        let mut out = [0u8; 1280];
        let p4 = ipv4_packet(&[], 100, true, 1);
        let p6 = ipv6_packet(&[], 100);
        assert_eq!(too_big(IpAddr::V4(GW4), &p4, 1400, &mut out), Some(56));
        assert_eq!(
            too_big(IpAddr::V6(GW6), &p6, 1400, &mut out),
            Some(48 + 140)
        );
        assert_eq!(too_big(IpAddr::V6(GW6), &p4, 1400, &mut out), None);
        assert_eq!(too_big(IpAddr::V4(GW4), &p6, 1400, &mut out), None);
        assert_eq!(too_big(IpAddr::V4(GW4), &[], 1400, &mut out), None);
    }

    #[test]
    fn no_route_errors_carry_their_type_and_code() {
        let p4 = ipv4_packet(&[1, 1, 1, 0], 1400, true, 5);
        let mut out = [0u8; 200];
        let n = net_unreachable_v4(GW4, &p4, &mut out).unwrap();
        let m = &out[..n];
        assert_eq!(n, 20 + 8 + 32);
        assert_eq!(checksum::checksum(&m[..20]), 0, "IP header checksum");
        assert_eq!(checksum::checksum(&m[20..]), 0, "ICMP checksum");
        assert_eq!(m[20..22], [3, 0]);
        assert_eq!(m[24..28], [0; 4]);
        assert_eq!(m[12..16], GW4.octets());
        assert_eq!(m[16..20], p4[12..16]);
        assert_eq!(m[28..], p4[..32]);
        let p6 = ipv6_packet(&[], 2000);
        let mut out = [0u8; 2000];
        let n = no_route_v6(GW6, &p6, &mut out).unwrap();
        let m = &out[..n];
        assert_eq!(n, IPV6_MIN_MTU);
        let acc = checksum::pseudo_header(&m[8..24], &m[24..40], 58, (n - 40) as u32);
        assert_eq!(checksum::finish(checksum::sum(acc, &m[40..])), 0);
        assert_eq!(m[40..42], [1, 0]);
        assert_eq!(m[44..48], [0; 4]);
        assert_eq!(m[8..24], GW6.octets());
        assert_eq!(m[24..40], p6[8..24]);
        assert_eq!(m[48..], p6[..n - 48]);
        assert_eq!(unreachable(IpAddr::V4(GW4), &p4, &mut out), Some(60));
        assert_eq!(unreachable(IpAddr::V6(GW6), &p6, &mut out), Some(1280));
        assert_eq!(unreachable(IpAddr::V6(GW6), &p4, &mut out), None);
        assert_eq!(unreachable(IpAddr::V4(GW4), &p6, &mut out), None);
        assert_eq!(unreachable(IpAddr::V4(GW4), &[], &mut out), None);
    }

    #[test]
    fn no_route_errors_refuse_what_too_big_refuses_and_v6_multicast() {
        // Packets with random header bytes (the builders do not check the IPv4 header
        // checksum, so none is set): the no-route error is built exactly when the too-big
        // one is, except that an IPv6 packet to a multicast group gets none.
        let mut rng = toolkit::xorshift::Rng::new(0x9e37_79b9_7f4a_7c15);
        let mut rnd = move || rng.next_u64();
        let (mut built, mut refused) = (0, 0);
        for i in 0..20_000 {
            let mut p = if i % 2 == 0 {
                ipv4_packet(&[], (rnd() % 64) as usize, rnd() % 2 == 0, 5)
            } else {
                ipv6_packet(&[], (rnd() % 64) as usize)
            };
            for _ in 0..(rnd() % 5) {
                let at = (rnd() as usize) % p.len().min(48);
                p[at] = rnd() as u8;
            }
            let (mut a, mut b) = ([0u8; 1500], [0u8; 1500]);
            let src = if i % 2 == 0 {
                IpAddr::V4(GW4)
            } else {
                IpAddr::V6(GW6)
            };
            let unreach = unreachable(src, &p, &mut a);
            let big = too_big(src, &p, 1400, &mut b);
            let v6_group = p[0] >> 4 == 6 && p.len() >= 40 && p[24] == 0xff;
            assert_eq!(unreach.is_some(), big.is_some() && !v6_group, "{p:02x?}");
            if let (Some(u), Some(b2)) = (unreach, big) {
                assert_eq!(u, b2, "same quote");
                built += 1;
            } else {
                refused += 1;
            }
        }
        assert!(
            built > 1000 && refused > 1000,
            "{built} built, {refused} refused"
        );
        let mut p = ipv6_packet(&[], 100);
        p[24..40].copy_from_slice(&"ff0e::1".parse::<Ipv6Addr>().unwrap().octets());
        assert!(no_route_v6(GW6, &p, &mut [0u8; 1500]).is_none());
    }

    #[test]
    fn never_panics_on_random_input() {
        let mut s = 0x0123_4567_89ab_cdefu64;
        let mut rnd = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let mut out = vec![0u8; 1500];
        for i in 0..20_000 {
            let len = (rnd() % 300) as usize;
            let mut p: Vec<u8> = (0..len).map(|_| rnd() as u8).collect();
            if let Some(b) = p.first_mut() {
                *b = if i % 2 == 0 { 0x40 | (*b & 15) } else { 0x60 };
            }
            let n = (rnd() % 1500) as usize;
            for src in [IpAddr::V4(GW4), IpAddr::V6(GW6)] {
                if let Some(m) = too_big(src, &p, 1400, &mut out[..n]) {
                    assert!(m <= n && m <= IPV6_MIN_MTU);
                }
            }
        }
    }
}
