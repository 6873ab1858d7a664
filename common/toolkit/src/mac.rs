//! Ethernet MAC addresses: one type, one text form (`aa:bb:cc:dd:ee:ff`).

use std::fmt;
use std::str::FromStr;

/// An Ethernet MAC address, in transmission order.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    #[inline]
    pub const fn octets(self) -> [u8; 6] {
        self.0
    }

    /// Group bit set (the low bit of the first octet): multicast and broadcast.
    pub const fn is_multicast(self) -> bool {
        self.0[0] & 1 == 1
    }

    pub fn is_zero(self) -> bool {
        self == MacAddr::ZERO
    }

    /// The address in the low 48 bits of a u64 (for publishing it in one atomic).
    #[inline]
    pub const fn to_u64(self) -> u64 {
        let m = self.0;
        u64::from_be_bytes([0, 0, m[0], m[1], m[2], m[3], m[4], m[5]])
    }

    /// The inverse of [`MacAddr::to_u64`]; the top 16 bits are ignored.
    #[inline]
    pub const fn from_u64(v: u64) -> MacAddr {
        let b = v.to_be_bytes();
        MacAddr([b[2], b[3], b[4], b[5], b[6], b[7]])
    }
}

impl From<[u8; 6]> for MacAddr {
    fn from(octets: [u8; 6]) -> MacAddr {
        MacAddr(octets)
    }
}

impl From<MacAddr> for [u8; 6] {
    fn from(mac: MacAddr) -> [u8; 6] {
        mac.0
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for MacAddr {
    type Err = String;

    /// Six groups of one or two hex digits, separated all by `:` or all by `-`.
    fn from_str(s: &str) -> Result<MacAddr, String> {
        let bad = || format!("`{s}` is not a MAC address (aa:bb:cc:dd:ee:ff)");
        let sep = if s.contains('-') { '-' } else { ':' };
        let mut mac = [0u8; 6];
        let mut parts = s.split(sep);
        for b in &mut mac {
            let part = parts.next().ok_or_else(bad)?;
            if part.is_empty() || part.len() > 2 || !part.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(bad());
            }
            *b = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        }
        match parts.next() {
            None => Ok(MacAddr(mac)),
            Some(_) => Err(bad()),
        }
    }
}

impl serde::Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for MacAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<MacAddr, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_and_forms() {
        let m: MacAddr = "02:00:5E:00:01:0a".parse().unwrap();
        assert_eq!(m.octets(), [2, 0, 0x5e, 0, 1, 0x0a]);
        assert_eq!(m.to_string(), "02:00:5e:00:01:0a");
        assert_eq!("2-0-5e-0-1-a".parse::<MacAddr>(), Ok(m));
        for bad in [
            "",
            "02:00:5e:00:01",
            "02:00:5e:00:01:0a:0b",
            "02:00:5e:00:01:0a:",
            "02:00-5e:00:01:0a",
            "020:00:5e:00:01:0a",
            "+2:00:5e:00:01:0a",
            "02::5e:00:01:0a",
            "g2:00:5e:00:01:0a",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn classes_and_u64() {
        assert!(MacAddr::BROADCAST.is_multicast());
        assert!(MacAddr([0x01, 0, 0x5e, 0, 0, 0x12]).is_multicast());
        assert!(!MacAddr([0x02, 0, 0, 0, 0, 1]).is_multicast());
        assert!(MacAddr::default().is_zero());
        assert!(!MacAddr::BROADCAST.is_zero());
        let m = MacAddr([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]);
        assert_eq!(m.to_u64(), 0xdead_beef_0001);
        assert_eq!(MacAddr::from_u64(0xffff_dead_beef_0001), m);
        assert_eq!(<[u8; 6]>::from(MacAddr::from(m.octets())), m.octets());
    }
}
