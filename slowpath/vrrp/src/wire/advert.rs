//! The VRRP Advertisement message (RFC 5798 §5.1, RFC 3768 §5.1): parse and emit the bytes that
//! follow the IP header.

use super::ParseError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use toolkit::checksum::{finish, pseudo_header_ip, sum};

/// The fixed part of both versions: version/type, VRID, priority, count, two bytes of
/// auth type + interval (v2) or reserved + Max Advert Int (v3), checksum.
pub const HEADER_LEN: usize = 8;
/// VRRPv2 authentication data, always present (RFC 3768 §5.3.10), ignored by type 0.
pub const V2_AUTH_DATA_LEN: usize = 8;
/// Type 1 is the only one defined (ADVERTISEMENT).
const TYPE_ADVERTISEMENT: u8 = 1;
/// The count field is 8 bits.
pub const MAX_ADDRESSES: usize = 255;
/// IANA protocol number of VRRP (the pseudo-header's protocol / next-header field).
pub const PROTO_VRRP: u8 = 112;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// RFC 3768, IPv4 only, interval in seconds.
    V2,
    /// RFC 5798, IPv4 and IPv6, interval in centiseconds.
    V3,
}

/// A VRRP Advertisement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// v3: the 12-bit Max Advert Int in centiseconds; v2: the 8-bit seconds times 100.
    pub max_advert_interval_cs: u16,
    pub addresses: Vec<IpAddr>,
    /// v2 only (0 = none, the only one RFC 3768 keeps); 0 for v3.
    pub auth_type: u8,
}

impl Advert {
    /// Parses a VRRP message (exactly the IP payload) received from `src` to `dst`, verifying
    /// its checksum. Never panics.
    pub fn parse(bytes: &[u8], src: IpAddr, dst: IpAddr) -> Result<Advert, ParseError> {
        if bytes.len() < HEADER_LEN {
            return Err(ParseError::Truncated);
        }
        let version = match bytes[0] >> 4 {
            2 => Version::V2,
            3 => Version::V3,
            _ => return Err(ParseError::BadVersion),
        };
        if bytes[0] & 0x0f != TYPE_ADVERTISEMENT {
            return Err(ParseError::BadType);
        }
        let ipv6 = match (src, dst) {
            (IpAddr::V4(_), IpAddr::V4(_)) => false,
            (IpAddr::V6(_), IpAddr::V6(_)) => true,
            _ => return Err(ParseError::Family),
        };
        if ipv6 && version == Version::V2 {
            return Err(ParseError::Family);
        }
        let count = usize::from(bytes[3]);
        if count == 0 {
            return Err(ParseError::AddressCount);
        }
        let addr_len = if ipv6 { 16 } else { 4 };
        let auth_len = if version == Version::V2 {
            V2_AUTH_DATA_LEN
        } else {
            0
        };
        if bytes.len() != HEADER_LEN + count * addr_len + auth_len {
            return Err(ParseError::Length);
        }
        let acc = match version {
            // RFC 5798 §5.2.8; keepalived 2.2.7 (vrrp_in_chk) also includes the IPv4 pseudo-header.
            Version::V3 => pseudo_header_ip(src, dst, PROTO_VRRP, bytes.len() as u32),
            // RFC 3768 §5.3.8: the VRRP message alone.
            Version::V2 => 0,
        };
        if finish(sum(acc, bytes)) != 0 {
            return Err(ParseError::BadChecksum);
        }
        let vrid = bytes[1];
        if vrid == 0 {
            return Err(ParseError::BadVrid);
        }
        let (max_advert_interval_cs, auth_type) = match version {
            Version::V2 => (u16::from(bytes[5]) * 100, bytes[4]),
            // The top 4 bits are reserved: ignored on receipt.
            Version::V3 => (u16::from_be_bytes([bytes[4], bytes[5]]) & 0x0fff, 0),
        };
        if max_advert_interval_cs == 0 {
            return Err(ParseError::BadInterval);
        }
        let addresses = bytes[HEADER_LEN..HEADER_LEN + count * addr_len]
            .chunks_exact(addr_len)
            .map(|a| match <[u8; 16]>::try_from(a) {
                Ok(b) => IpAddr::V6(Ipv6Addr::from(b)),
                Err(_) => IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3])),
            })
            .collect();
        Ok(Advert {
            version,
            vrid,
            priority: bytes[2],
            max_advert_interval_cs,
            addresses,
            auth_type,
        })
    }

    /// The VRRP message with its checksum, as sent from `src` to `dst`. Only the addresses of
    /// `src`'s family are carried, at most 255 of them. The v2 interval is whole seconds
    /// (`max_advert_interval_cs / 100`, at most 255); v3 keeps the low 12 bits.
    pub fn emit(&self, src: IpAddr, dst: IpAddr) -> Vec<u8> {
        let addresses: Vec<&IpAddr> = self
            .addresses
            .iter()
            .filter(|a| a.is_ipv4() == src.is_ipv4())
            .take(MAX_ADDRESSES)
            .collect();
        let mut m = Vec::with_capacity(HEADER_LEN + addresses.len() * 16 + V2_AUTH_DATA_LEN);
        let (ver, b4, b5) = match self.version {
            Version::V2 => {
                let secs = u8::try_from(self.max_advert_interval_cs / 100).unwrap_or(u8::MAX);
                (2, self.auth_type, secs)
            }
            Version::V3 => {
                let [hi, lo] = (self.max_advert_interval_cs & 0x0fff).to_be_bytes();
                (3, hi, lo)
            }
        };
        m.extend_from_slice(&[
            ver << 4 | TYPE_ADVERTISEMENT,
            self.vrid,
            self.priority,
            addresses.len() as u8,
            b4,
            b5,
            0,
            0,
        ]);
        for a in addresses {
            match a {
                IpAddr::V4(a) => m.extend_from_slice(&a.octets()),
                IpAddr::V6(a) => m.extend_from_slice(&a.octets()),
            }
        }
        let acc = match self.version {
            Version::V2 => {
                m.extend_from_slice(&[0; V2_AUTH_DATA_LEN]);
                0
            }
            Version::V3 => pseudo_header_ip(src, dst, PROTO_VRRP, m.len() as u32),
        };
        let c = finish(sum(acc, &m));
        m[6..8].copy_from_slice(&c.to_be_bytes());
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{VRRP_GROUP_V4, VRRP_GROUP_V6};
    use toolkit::checksum::checksum;

    fn v4(s: &str) -> IpAddr {
        IpAddr::V4(s.parse().unwrap())
    }
    fn v6(s: &str) -> IpAddr {
        IpAddr::V6(s.parse().unwrap())
    }
    fn g4() -> IpAddr {
        IpAddr::V4(VRRP_GROUP_V4)
    }
    fn g6() -> IpAddr {
        IpAddr::V6(VRRP_GROUP_V6)
    }

    fn advert(version: Version, addresses: Vec<IpAddr>) -> Advert {
        Advert {
            version,
            vrid: 7,
            priority: 150,
            max_advert_interval_cs: 100,
            addresses,
            auth_type: 0,
        }
    }

    #[test]
    fn round_trip_v3_ipv4() {
        let a = advert(Version::V3, vec![v4("192.0.2.1"), v4("192.0.2.2")]);
        let src = v4("192.0.2.10");
        let b = a.emit(src, g4());
        assert_eq!(b.len(), 8 + 8);
        assert_eq!(Advert::parse(&b, src, g4()), Ok(a));
    }

    #[test]
    fn round_trip_v3_ipv6() {
        let a = Advert {
            max_advert_interval_cs: 4095,
            ..advert(Version::V3, vec![v6("fe80::1"), v6("2001:db8::1")])
        };
        let src = v6("fe80::10");
        let b = a.emit(src, g6());
        assert_eq!(b.len(), 8 + 32);
        assert_eq!(Advert::parse(&b, src, g6()), Ok(a));
    }

    #[test]
    fn round_trip_v2() {
        let a = Advert {
            max_advert_interval_cs: 300,
            ..advert(Version::V2, vec![v4("10.0.0.1")])
        };
        let src = v4("10.0.0.2");
        let b = a.emit(src, g4());
        assert_eq!(b.len(), 8 + 4 + 8);
        assert_eq!(b[5], 3, "v2 carries seconds");
        assert_eq!(Advert::parse(&b, src, g4()), Ok(a));
    }

    #[test]
    fn v2_auth_type_is_carried() {
        let a = Advert {
            auth_type: 1,
            ..advert(Version::V2, vec![v4("10.0.0.1")])
        };
        let b = a.emit(v4("10.0.0.2"), g4());
        assert_eq!(
            Advert::parse(&b, v4("10.0.0.2"), g4()).unwrap().auth_type,
            1
        );
    }

    #[test]
    fn emit_keeps_only_the_source_family() {
        let a = advert(Version::V3, vec![v4("10.0.0.1"), v6("fe80::1")]);
        let b = a.emit(v4("10.0.0.2"), g4());
        assert_eq!(b[3], 1);
        assert_eq!(b.len(), 12);
    }

    #[test]
    fn byte_layout_v3() {
        let a = Advert {
            vrid: 0x33,
            priority: 0x64,
            max_advert_interval_cs: 0x0abc,
            ..advert(Version::V3, vec![v4("1.2.3.4")])
        };
        let b = a.emit(v4("9.9.9.9"), g4());
        assert_eq!(&b[..6], &[0x31, 0x33, 0x64, 1, 0x0a, 0xbc]);
        assert_eq!(&b[8..], &[1, 2, 3, 4]);
    }

    /// Checksums computed by scapy (test/scapy/layers/vrrp.uts, an independent implementation
    /// that puts the pseudo-header in VRRPv3 over IPv4 as keepalived does).
    #[test]
    fn scapy_checksum_vectors() {
        let a = Advert {
            version: Version::V3,
            vrid: 2,
            priority: 254,
            max_advert_interval_cs: 1,
            addresses: vec![v4("20.0.1.2"), v4("20.0.1.3")],
            auth_type: 0,
        };
        let b = a.emit(v4("20.0.0.3"), g4());
        assert_eq!(u16::from_be_bytes([b[6], b[7]]), 0xb25e);

        let a = Advert {
            addresses: vec![v6("2001:db8::2"), v6("2001:db8::3")],
            ..a
        };
        let b = a.emit(v6("2001:db8::1"), g6());
        assert_eq!(u16::from_be_bytes([b[6], b[7]]), 0x481b);

        // scapy's default VRRP(): v2, VRID 1, priority 100, no address, interval 1 s.
        let v2 = [
            0x21, 0x01, 0x64, 0x00, 0x00, 0x01, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(checksum(&v2), 0x7afd);
    }

    /// A VRRPv3 IPv4 advert as keepalived 2.2.7 sends it (VRID 51, priority 100, 1 s, one VIP),
    /// checksum worked out by hand: it includes the pseudo-header (src, 224.0.0.18, 0, 112, 12).
    #[test]
    fn keepalived_v3_ipv4_advert() {
        let msg = [
            0x31, 0x33, 0x64, 0x01, 0x00, 0x64, 0x00, 0x00, 0xc0, 0xa8, 0x01, 0xfe,
        ];
        // Pseudo-header words: c0a8 0101 e000 0012 0070 000c; message words: 3133 6401 0064
        // (checksum 0) c0a8 01fe.
        let words: u32 = [
            0xc0a8u32, 0x0101, 0xe000, 0x0012, 0x0070, 0x000c, 0x3133, 0x6401, 0x0064, 0xc0a8,
            0x01fe,
        ]
        .iter()
        .sum();
        let folded = (words & 0xffff) + (words >> 16);
        let expected = !(((folded & 0xffff) + (folded >> 16)) as u16);
        let mut msg = msg;
        msg[6..8].copy_from_slice(&expected.to_be_bytes());
        let a = Advert::parse(&msg, v4("192.168.1.1"), g4()).unwrap();
        assert_eq!(
            (a.vrid, a.priority, a.max_advert_interval_cs),
            (51, 100, 100)
        );
        assert_eq!(a.addresses, vec![v4("192.168.1.254")]);
        // And without the pseudo-header it would not verify.
        assert_ne!(checksum(&msg), 0);
    }

    #[test]
    fn v3_checksum_covers_the_pseudo_header() {
        let a = advert(Version::V3, vec![v4("192.0.2.1")]);
        let b = a.emit(v4("192.0.2.10"), g4());
        assert_eq!(
            Advert::parse(&b, v4("192.0.2.11"), g4()),
            Err(ParseError::BadChecksum)
        );
        let a = advert(Version::V3, vec![v6("fe80::1")]);
        let b = a.emit(v6("fe80::10"), g6());
        assert_eq!(
            Advert::parse(&b, v6("fe80::11"), g6()),
            Err(ParseError::BadChecksum)
        );
    }

    #[test]
    fn v2_checksum_ignores_addresses_of_the_ip_header() {
        let a = advert(Version::V2, vec![v4("192.0.2.1")]);
        let b = a.emit(v4("192.0.2.10"), g4());
        assert!(Advert::parse(&b, v4("192.0.2.11"), g4()).is_ok());
        assert_eq!(checksum(&b), 0);
    }

    /// Fixes the checksum after a test changed a byte, so that the test reaches the check it
    /// means to reach.
    fn reseal(b: &mut [u8], src: IpAddr, dst: IpAddr) {
        b[6] = 0;
        b[7] = 0;
        let acc = if b[0] >> 4 == 3 {
            pseudo_header_ip(src, dst, PROTO_VRRP, b.len() as u32)
        } else {
            0
        };
        let c = finish(sum(acc, b));
        b[6..8].copy_from_slice(&c.to_be_bytes());
    }

    #[test]
    fn every_error() {
        let src = v4("192.0.2.10");
        let good = advert(Version::V3, vec![v4("192.0.2.1")]).emit(src, g4());
        let parse = |b: &[u8]| Advert::parse(b, src, g4());
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = good.clone();
            f(&mut b);
            reseal(&mut b, src, g4());
            Advert::parse(&b, src, g4())
        };
        assert_eq!(parse(&good[..7]), Err(ParseError::Truncated));
        assert_eq!(parse(&[]), Err(ParseError::Truncated));
        assert_eq!(with(&|b| b[0] = 0x41), Err(ParseError::BadVersion));
        assert_eq!(with(&|b| b[0] = 0x11), Err(ParseError::BadVersion));
        assert_eq!(with(&|b| b[0] = 0x32), Err(ParseError::BadType));
        assert_eq!(with(&|b| b[1] = 0), Err(ParseError::BadVrid));
        assert_eq!(with(&|b| b[3] = 0), Err(ParseError::AddressCount));
        assert_eq!(with(&|b| b[3] = 2), Err(ParseError::Length));
        assert_eq!(
            with(&|b| b.extend_from_slice(&[0, 0])),
            Err(ParseError::Length)
        );
        assert_eq!(with(&|b| b.truncate(10)), Err(ParseError::Length));
        assert_eq!(
            with(&|b| {
                b[4] = 0xf0;
                b[5] = 0
            }),
            Err(ParseError::BadInterval)
        );
        let mut bad = good.clone();
        bad[2] ^= 1;
        assert_eq!(parse(&bad), Err(ParseError::BadChecksum));
        assert_eq!(Advert::parse(&good, src, g6()), Err(ParseError::Family));
        // v2 over IPv6.
        let v6src = v6("fe80::1");
        let mut b = advert(Version::V2, vec![v6("fe80::2")]).emit(v6src, g6());
        reseal(&mut b, v6src, g6());
        assert_eq!(Advert::parse(&b, v6src, g6()), Err(ParseError::Family));
        // v2 without its authentication data.
        let mut b = advert(Version::V2, vec![v4("192.0.2.1")]).emit(src, g4());
        b.truncate(12);
        reseal(&mut b, src, g4());
        assert_eq!(parse(&b), Err(ParseError::Length));
    }

    #[test]
    fn v3_reserved_bits_are_ignored() {
        let src = v4("192.0.2.10");
        let mut b = advert(Version::V3, vec![v4("192.0.2.1")]).emit(src, g4());
        b[4] |= 0xf0;
        reseal(&mut b, src, g4());
        assert_eq!(
            Advert::parse(&b, src, g4()).unwrap().max_advert_interval_cs,
            100
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap deterministic sweep (the fuzz target does the real work).
        let mut x: u32 = 1;
        for len in 0..64 {
            for _ in 0..50 {
                let b: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        x as u8
                    })
                    .collect();
                let _ = Advert::parse(&b, v4("1.1.1.1"), g4());
                let _ = Advert::parse(&b, v6("fe80::1"), g6());
            }
        }
    }
}
