//! The tunnel-mode outer header of an SA (RFC 4301 §5.1.2), built once when the SA is
//! installed: per packet only the TOS / traffic class, the length, the IPv4 ID and DF change,
//! and the IPv4 checksum follows from a precomputed partial sum.

use crate::wire::checksum;
use crate::wire::{IPV4_HEADER_LEN, IPV6_HEADER_LEN};
use std::net::IpAddr;

/// An SA's outer header with the per-packet fields left blank.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OuterTemplate {
    bytes: [u8; IPV6_HEADER_LEN],
    v6: bool,
    /// IPv4: the one's-complement sum of the fixed fields (per-packet fields zero).
    base_sum: u32,
}

impl OuterTemplate {
    /// The template for `local` -> `remote` carrying `protocol` (ESP, or UDP for NAT-T).
    /// `None` if the two addresses are of different families.
    pub fn new(local: IpAddr, remote: IpAddr, ttl: u8, protocol: u8) -> Option<OuterTemplate> {
        let mut bytes = [0u8; IPV6_HEADER_LEN];
        match (local, remote) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                bytes[0] = 0x45;
                bytes[8] = ttl;
                bytes[9] = protocol;
                bytes[12..16].copy_from_slice(&s.octets());
                bytes[16..20].copy_from_slice(&d.octets());
                let base_sum = checksum::sum(0, &bytes[..IPV4_HEADER_LEN]);
                Some(OuterTemplate {
                    bytes,
                    v6: false,
                    base_sum,
                })
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                bytes[0] = 0x60;
                bytes[6] = protocol;
                bytes[7] = ttl;
                bytes[8..24].copy_from_slice(&s.octets());
                bytes[24..40].copy_from_slice(&d.octets());
                Some(OuterTemplate {
                    bytes,
                    v6: true,
                    base_sum: 0,
                })
            }
            _ => None,
        }
    }

    /// Bytes of the outer header.
    pub fn len(&self) -> usize {
        if self.v6 {
            IPV6_HEADER_LEN
        } else {
            IPV4_HEADER_LEN
        }
    }

    /// Whether the outer header is IPv6.
    pub fn is_ipv6(&self) -> bool {
        self.v6
    }

    /// Whether the template is empty (never: there is always a header).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the header of a packet of `total` bytes into `h` (at least `len()` bytes).
    #[inline]
    pub fn write(&self, h: &mut [u8], tos: u8, df: bool, total: usize, id: u16) {
        if self.v6 {
            h[..IPV6_HEADER_LEN].copy_from_slice(&self.bytes);
            h[0] = 0x60 | (tos >> 4);
            h[1] = tos << 4;
            h[4..6].copy_from_slice(&((total - IPV6_HEADER_LEN) as u16).to_be_bytes());
        } else {
            h[..IPV4_HEADER_LEN].copy_from_slice(&self.bytes[..IPV4_HEADER_LEN]);
            let flags: u16 = if df { 0x4000 } else { 0 };
            h[1] = tos;
            h[2..4].copy_from_slice(&(total as u16).to_be_bytes());
            h[4..6].copy_from_slice(&id.to_be_bytes());
            h[6..8].copy_from_slice(&flags.to_be_bytes());
            let sum = self.base_sum + tos as u32 + total as u32 + id as u32 + flags as u32;
            h[10..12].copy_from_slice(&checksum::finish(sum).to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ip::IpHeader;

    #[test]
    fn ipv4_header_is_valid_for_every_variable_field() {
        let t = OuterTemplate::new(
            "192.0.2.1".parse().unwrap(),
            "192.0.2.2".parse().unwrap(),
            64,
            50,
        )
        .unwrap();
        let mut h = vec![0u8; 1500];
        for (tos, df, total, id) in [
            (0, true, 20, 0),
            (0xff, false, 1500, 0xffff),
            (0xb8, true, 65535, 0x1234),
            (3, false, 100, 1),
        ] {
            t.write(&mut h, tos, df, total, id);
            assert_eq!(
                checksum::checksum(&h[..20]),
                0,
                "tos {tos} total {total} id {id}"
            );
            let p = IpHeader::parse(&h[..total.min(1500)])
                .map(|p| (p.tos, p.dont_fragment, p.protocol, p.ttl));
            if total <= 1500 {
                assert_eq!(p, Ok((tos, df, 50, 64)));
            }
        }
    }

    #[test]
    fn ipv6_header_carries_traffic_class_and_length() {
        let t = OuterTemplate::new(
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
            9,
            17,
        )
        .unwrap();
        let mut h = vec![0u8; 100];
        t.write(&mut h, 0xb9, true, 100, 0);
        let p = IpHeader::parse(&h).unwrap();
        assert_eq!((p.tos, p.protocol, p.ttl, p.total_len), (0xb9, 17, 9, 100));
        assert_eq!(p.src(&h), "2001:db8::1".parse::<IpAddr>().unwrap());
        assert!(OuterTemplate::new(
            "2001:db8::1".parse().unwrap(),
            "192.0.2.1".parse().unwrap(),
            9,
            17
        )
        .is_none());
    }
}
