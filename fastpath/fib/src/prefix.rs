//! A route's destination: an address and a prefix length, host bits cleared.

use crate::FibError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

impl Prefix {
    /// `addr/len` with the host bits cleared, as the kernel keeps routes.
    pub fn new(addr: IpAddr, len: u8) -> Result<Prefix, FibError> {
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        if u32::from(len) > bits {
            return Err(FibError::PrefixLength(len));
        }
        Ok(Prefix::from_key(addr.is_ipv6(), key(addr), len))
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn length(&self) -> u8 {
        self.len
    }

    /// The address left-aligned in 128 bits, as the tries index it.
    pub(crate) fn key(&self) -> u128 {
        key(self.addr)
    }

    pub(crate) fn from_key(v6: bool, key: u128, len: u8) -> Prefix {
        let key = crate::update::mask(key, len);
        let addr = if v6 {
            IpAddr::V6(Ipv6Addr::from(key))
        } else {
            IpAddr::V4(Ipv4Addr::from((key >> 96) as u32))
        };
        Prefix { addr, len }
    }
}

fn key(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)) << 96,
        IpAddr::V6(a) => u128::from(a),
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_bits_are_cleared_and_lengths_checked() {
        let p = Prefix::new("10.1.2.3".parse().unwrap(), 20).unwrap();
        assert_eq!(p.to_string(), "10.1.0.0/20");
        let p = Prefix::new("2001:db8::ffff".parse().unwrap(), 0).unwrap();
        assert_eq!(p.to_string(), "::/0");
        assert!(Prefix::new("10.0.0.0".parse().unwrap(), 33).is_err());
        assert!(Prefix::new("::1".parse().unwrap(), 128).is_ok());
        assert!(Prefix::new("::1".parse().unwrap(), 129).is_err());
    }
}
