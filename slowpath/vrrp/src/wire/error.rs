//! Why a received frame or VRRP message was refused: one variant per reason, each with the name
//! of the counter that counts it (`Counters` has a field of that name).

use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
pub enum ParseError {
    /// Not an IPv4/IPv6 packet of protocol 112: the I/O layer ignores these silently.
    #[error("not a VRRP packet")]
    NotVrrp,
    /// Shorter than its headers or than the lengths they claim.
    #[error("truncated")]
    Truncated,
    /// IP header inconsistent: version nibble vs EtherType, IHL below 5, total length below the
    /// header length.
    #[error("malformed IP header")]
    IpHeader,
    /// IPv4 header checksum wrong.
    #[error("bad IPv4 header checksum")]
    IpChecksum,
    /// An IPv4 fragment (VRRP messages are never fragmented).
    #[error("IP fragment")]
    Fragment,
    /// Not sent to the VRRP group (224.0.0.18 / ff02::12).
    #[error("destination is not the VRRP multicast group")]
    Destination,
    /// Source address that no router can have (multicast, unspecified, broadcast, loopback).
    #[error("invalid source address")]
    Source,
    /// TTL / hop limit is not 255: the sender is off-link (RFC 5798 §7.1).
    #[error("TTL or hop limit is not 255")]
    Ttl,
    /// VRRP version other than 2 or 3.
    #[error("bad VRRP version")]
    BadVersion,
    /// VRRP type other than 1 (Advertisement).
    #[error("bad VRRP type")]
    BadType,
    /// Address family mismatch: VRRPv2 over IPv6, or source and destination of different families.
    #[error("address family mismatch")]
    Family,
    /// VRID 0.
    #[error("bad VRID 0")]
    BadVrid,
    /// Count IPvX Addr is 0.
    #[error("address count is 0")]
    AddressCount,
    /// The message length does not match the address count (and v2 authentication data).
    #[error("length does not match the address count")]
    Length,
    /// Advertisement interval 0.
    #[error("advertisement interval 0")]
    BadInterval,
    /// VRRP checksum wrong (v3: with the pseudo-header; v2: the message alone).
    #[error("bad VRRP checksum")]
    BadChecksum,
}

impl ParseError {
    /// Every reason, for tests and for listing counters.
    pub const ALL: [ParseError; 16] = [
        ParseError::NotVrrp,
        ParseError::Truncated,
        ParseError::IpHeader,
        ParseError::IpChecksum,
        ParseError::Fragment,
        ParseError::Destination,
        ParseError::Source,
        ParseError::Ttl,
        ParseError::BadVersion,
        ParseError::BadType,
        ParseError::Family,
        ParseError::BadVrid,
        ParseError::AddressCount,
        ParseError::Length,
        ParseError::BadInterval,
        ParseError::BadChecksum,
    ];

    /// The name of the drop counter (a field of `Counters`) for this reason.
    pub fn counter_name(&self) -> &'static str {
        match self {
            ParseError::NotVrrp => "not_vrrp",
            ParseError::Truncated => "truncated",
            ParseError::IpHeader => "ip_header",
            ParseError::IpChecksum => "ip_checksum",
            ParseError::Fragment => "fragment",
            ParseError::Destination => "destination",
            ParseError::Source => "source",
            ParseError::Ttl => "ttl",
            ParseError::BadVersion => "bad_version",
            ParseError::BadType => "bad_type",
            ParseError::Family => "family",
            ParseError::BadVrid => "bad_vrid",
            ParseError::AddressCount => "address_count",
            ParseError::Length => "length",
            ParseError::BadInterval => "bad_interval",
            ParseError::BadChecksum => "bad_checksum",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn counter_names_are_distinct() {
        let names: HashSet<_> = ParseError::ALL.iter().map(|e| e.counter_name()).collect();
        assert_eq!(names.len(), ParseError::ALL.len());
    }
}
