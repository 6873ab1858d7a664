//! IPv4 and IPv6 header parsing into one summary (`IpHeader`), with the IPv6 extension-header
//! walk ESP needs (RFC 4303 §3.1.1: ESP goes after hop-by-hop, routing and fragment headers).

use super::{be16, proto, WireError, IPV4_HEADER_LEN, IPV6_HEADER_LEN};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The IP version of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpVersion {
    V4,
    V6,
}

/// What a parsed IP header says, with the offsets ESP processing needs. The addresses are
/// read from the packet when asked for ([`IpHeader::src`], [`IpHeader::dst`]): this summary
/// stays small plain integers, cheap to return and copy on the hot path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpHeader {
    pub version: IpVersion,
    /// The upper-layer protocol (after any IPv6 extension headers walked).
    pub protocol: u8,
    /// Bytes from the start of the packet to the upper-layer header (where ESP is inserted in
    /// transport mode).
    pub header_len: usize,
    /// Offset of the byte that holds `protocol` (IPv4 protocol field or the last next-header).
    pub protocol_at: usize,
    /// Total length the header claims (IPv4 total length; IPv6 40 + payload length).
    pub total_len: usize,
    /// IPv4 TOS / IPv6 traffic class: DSCP in the top six bits, ECN in the low two.
    pub tos: u8,
    /// IPv4 TTL / IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 DF flag (always true for IPv6, which routers never fragment).
    pub dont_fragment: bool,
    /// A fragment other than the first: no upper-layer header here.
    pub later_fragment: bool,
    /// Any fragment (IPv4 MF or offset, or an IPv6 fragment header).
    pub fragment: bool,
}

impl IpHeader {
    /// Parses the IP header at the start of `packet`. The packet may be longer than the header
    /// claims (Ethernet padding); it must not be shorter.
    // Always inlined (as parse_v4): returned through memory, the summary was written a field
    // at a time and read back in wider loads, a store-forwarding stall on every packet.
    #[inline(always)]
    pub fn parse(packet: &[u8]) -> Result<IpHeader, WireError> {
        match packet.first().map(|b| b >> 4) {
            Some(4) => Self::parse_v4(packet),
            Some(6) => Self::parse_v6(packet),
            Some(_) => Err(WireError::Malformed),
            None => Err(WireError::Truncated),
        }
    }

    #[inline(always)]
    fn parse_v4(p: &[u8]) -> Result<IpHeader, WireError> {
        if p.len() < IPV4_HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let ihl = ((p[0] & 0x0f) as usize) * 4;
        let total_len = be16(p, 2) as usize;
        if ihl < IPV4_HEADER_LEN || total_len < ihl {
            return Err(WireError::Malformed);
        }
        if p.len() < total_len {
            return Err(WireError::Truncated);
        }
        let frag = be16(p, 6);
        let offset = frag & 0x1fff;
        Ok(IpHeader {
            version: IpVersion::V4,
            protocol: p[9],
            header_len: ihl,
            protocol_at: 9,
            total_len,
            tos: p[1],
            ttl: p[8],
            dont_fragment: frag & 0x4000 != 0,
            later_fragment: offset != 0,
            fragment: offset != 0 || frag & 0x2000 != 0,
        })
    }

    #[inline(never)]
    fn parse_v6(p: &[u8]) -> Result<IpHeader, WireError> {
        if p.len() < IPV6_HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let total_len = IPV6_HEADER_LEN + be16(p, 4) as usize;
        if p.len() < total_len {
            return Err(WireError::Truncated);
        }
        let p = &p[..total_len];
        let mut next = p[6];
        let mut next_at = 6;
        let mut at = IPV6_HEADER_LEN;
        let mut fragment = false;
        let mut later_fragment = false;
        // Walk the headers that come before ESP; destination options and all else are payload.
        loop {
            match next {
                proto::HOP_BY_HOP | proto::IPV6_ROUTE => {
                    if p.len() < at + 2 {
                        return Err(WireError::Truncated);
                    }
                    let len = (p[at + 1] as usize + 1) * 8;
                    if p.len() < at + len {
                        return Err(WireError::Truncated);
                    }
                    next_at = at;
                    next = p[at];
                    at += len;
                }
                proto::IPV6_FRAG => {
                    if p.len() < at + 8 {
                        return Err(WireError::Truncated);
                    }
                    fragment = true;
                    later_fragment = be16(p, at + 2) & 0xfff8 != 0;
                    next_at = at;
                    next = p[at];
                    at += 8;
                }
                _ => break,
            }
        }
        Ok(IpHeader {
            version: IpVersion::V6,
            protocol: next,
            header_len: at,
            protocol_at: next_at,
            total_len,
            tos: ((be16(p, 0) >> 4) & 0xff) as u8,
            ttl: p[7],
            dont_fragment: true,
            later_fragment,
            fragment,
        })
    }

    /// The source address of `packet`, the packet this header was parsed from.
    #[inline]
    pub fn src(&self, packet: &[u8]) -> IpAddr {
        self.addr(packet, 12, 8)
    }

    /// The destination address of `packet`, the packet this header was parsed from.
    #[inline]
    pub fn dst(&self, packet: &[u8]) -> IpAddr {
        self.addr(packet, 16, 24)
    }

    #[inline]
    fn addr(&self, packet: &[u8], v4_at: usize, v6_at: usize) -> IpAddr {
        match self.version {
            IpVersion::V4 => match packet.get(v4_at..v4_at + 4) {
                Some(a) => IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3])),
                None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            },
            IpVersion::V6 => match packet.get(v6_at..v6_at + 16) {
                Some(a) => {
                    let mut b = [0u8; 16];
                    b.copy_from_slice(a);
                    IpAddr::V6(Ipv6Addr::from(b))
                }
                None => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            },
        }
    }

    /// The upper-layer ports (TCP, UDP, SCTP) or ICMP type and code, as RFC 4301 selectors use
    /// them; zeros when absent (later fragments, other protocols, short packets).
    #[inline]
    pub fn ports(&self, packet: &[u8]) -> (u16, u16) {
        if self.later_fragment {
            return (0, 0);
        }
        let l4 = match packet.get(self.header_len..self.total_len) {
            Some(l4) => l4,
            None => return (0, 0),
        };
        match self.protocol {
            proto::TCP | proto::UDP | proto::SCTP if l4.len() >= 4 => (be16(l4, 0), be16(l4, 2)),
            proto::ICMP | proto::ICMPV6 if l4.len() >= 2 => (l4[0] as u16, l4[1] as u16),
            _ => (0, 0),
        }
    }
}

/// Sets the length fields of a transport-mode IP header for a packet of `total` bytes (both
/// ESP directions rewrite them: outbound after inserting ESP, inbound after stripping it).
pub(crate) fn fix_lengths(h: &mut [u8], version: IpVersion, total: usize) {
    match version {
        IpVersion::V4 => {
            h[2..4].copy_from_slice(&(total as u16).to_be_bytes());
            h[10..12].copy_from_slice(&[0, 0]);
            let c = super::checksum::checksum(h);
            h[10..12].copy_from_slice(&c.to_be_bytes());
        }
        IpVersion::V6 => {
            h[4..6].copy_from_slice(&((total - IPV6_HEADER_LEN) as u16).to_be_bytes());
        }
    }
}

/// Writes the traffic class / TOS byte of an IP header in place (IPv4 checksum updated).
#[inline]
pub fn set_tos(packet: &mut [u8], version: IpVersion, tos: u8) {
    match version {
        IpVersion::V4 => {
            // (The new word computed, not read back: see `decrement_ttl`.)
            let old = be16(packet, 0);
            let new = (old & 0xff00) | tos as u16;
            packet[1] = tos;
            let c = super::checksum::update16(be16(packet, 10), old, new);
            packet[10..12].copy_from_slice(&c.to_be_bytes());
        }
        IpVersion::V6 => {
            packet[0] = (packet[0] & 0xf0) | (tos >> 4);
            packet[1] = (packet[1] & 0x0f) | (tos << 4);
        }
    }
}

/// Decrements the TTL / hop limit in place (IPv4 checksum updated); `false` if it would
/// reach zero, and then nothing is changed.
#[inline]
pub fn decrement_ttl(packet: &mut [u8], version: IpVersion) -> bool {
    match version {
        IpVersion::V4 => {
            if packet[8] <= 1 {
                return false;
            }
            // The new word from the old one, not read back: a 2-byte load just after a 1-byte
            // store to it cannot be forwarded from the store and stalls until the store retires
            // (perf: the hottest instruction of the outbound worker).
            let old = be16(packet, 8);
            let new = old - 0x0100;
            let c = super::checksum::update16(be16(packet, 10), old, new);
            packet[8] = (new >> 8) as u8;
            packet[10..12].copy_from_slice(&c.to_be_bytes());
            true
        }
        IpVersion::V6 => {
            if packet[7] <= 1 {
                return false;
            }
            packet[7] -= 1;
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::checksum::checksum;

    pub(crate) fn ipv4_udp(payload: usize) -> Vec<u8> {
        let total = 20 + 8 + payload;
        let mut p = vec![0u8; total];
        p[0] = 0x45;
        p[1] = 0xb8; // DSCP EF, Not-ECT
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p[6] = 0x40;
        p[8] = 64;
        p[9] = proto::UDP;
        p[12..16].copy_from_slice(&[198, 51, 100, 1]);
        p[16..20].copy_from_slice(&[203, 0, 113, 1]);
        let c = checksum(&p[..20]);
        p[10..12].copy_from_slice(&c.to_be_bytes());
        p[20..22].copy_from_slice(&1024u16.to_be_bytes());
        p[22..24].copy_from_slice(&5001u16.to_be_bytes());
        p
    }

    #[test]
    fn parses_ipv4_udp() {
        let p = ipv4_udp(10);
        let h = IpHeader::parse(&p).unwrap();
        assert_eq!(h.version, IpVersion::V4);
        assert_eq!(h.protocol, proto::UDP);
        assert_eq!(h.header_len, 20);
        assert_eq!(h.total_len, 38);
        assert!(h.dont_fragment);
        assert_eq!(h.ports(&p), (1024, 5001));
    }

    #[test]
    fn rejects_bad_ipv4() {
        let p = ipv4_udp(10);
        assert_eq!(IpHeader::parse(&p[..19]), Err(WireError::Truncated));
        assert_eq!(IpHeader::parse(&p[..30]), Err(WireError::Truncated));
        let mut q = p.clone();
        q[0] = 0x44;
        assert_eq!(IpHeader::parse(&q), Err(WireError::Malformed));
        q[0] = 0x75;
        assert_eq!(IpHeader::parse(&q), Err(WireError::Malformed));
        assert_eq!(IpHeader::parse(&[]), Err(WireError::Truncated));
    }

    #[test]
    fn walks_ipv6_extension_headers() {
        let mut p = vec![0u8; 40 + 8 + 8 + 8];
        p[0] = 0x60;
        p[4..6].copy_from_slice(&24u16.to_be_bytes());
        p[6] = proto::HOP_BY_HOP;
        p[7] = 64;
        p[40] = proto::IPV6_FRAG; // hop-by-hop: next = fragment, len 0 (8 bytes)
        p[48] = proto::UDP; // fragment header, offset 0
        p[56..58].copy_from_slice(&7u16.to_be_bytes());
        p[58..60].copy_from_slice(&9u16.to_be_bytes());
        let h = IpHeader::parse(&p).unwrap();
        assert_eq!(h.header_len, 56);
        assert_eq!(h.protocol_at, 48);
        assert_eq!(h.protocol, proto::UDP);
        assert!(h.fragment && !h.later_fragment);
        assert_eq!(h.ports(&p), (7, 9));
        assert_eq!(IpHeader::parse(&p[..50]), Err(WireError::Truncated));
    }

    #[test]
    fn ttl_and_tos_keep_checksum_valid() {
        let mut p = ipv4_udp(0);
        assert!(decrement_ttl(&mut p, IpVersion::V4));
        assert_eq!(p[8], 63);
        set_tos(&mut p, IpVersion::V4, 0x03);
        assert_eq!(checksum(&p[..20]), 0);
        p[8] = 1;
        assert!(!decrement_ttl(&mut p, IpVersion::V4));
        // Every TTL and TOS, from a header with a valid checksum: the new word is computed,
        // not read back, and must match what was written.
        for v in 0..=255u8 {
            let mut q = ipv4_udp(0);
            q[8] = v;
            q[1] = v.wrapping_mul(37);
            q[10..12].copy_from_slice(&[0, 0]);
            let c = checksum(&q[..20]);
            q[10..12].copy_from_slice(&c.to_be_bytes());
            assert_eq!(decrement_ttl(&mut q, IpVersion::V4), v > 1);
            assert_eq!(q[8], if v > 1 { v - 1 } else { v });
            set_tos(&mut q, IpVersion::V4, v);
            assert_eq!(q[1], v);
            assert_eq!(checksum(&q[..20]), 0, "ttl {v}");
        }
    }
}
