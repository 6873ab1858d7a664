//! Checked views of the headers ESP touches. Each is checked up front by its constructor
//! (`ip::IpHeader::parse`, `fragment::Fragmenter::new`), which returns an error for
//! truncated or malformed input, never a panic.

pub mod checksum;
pub mod fragment;
pub mod ip;

/// IP protocol numbers used here (IANA).
pub mod proto {
    pub const IPV4: u8 = 4;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const IPV6: u8 = 41;
    pub const IPV6_ROUTE: u8 = 43;
    pub const IPV6_FRAG: u8 = 44;
    pub const ESP: u8 = 50;
    pub const AH: u8 = 51;
    pub const ICMP: u8 = 1;
    pub const ICMPV6: u8 = 58;
    /// RFC 4303 dummy packet ("no next header").
    pub const NO_NEXT: u8 = 59;
    pub const HOP_BY_HOP: u8 = 0;
    pub const SCTP: u8 = 132;
    pub const VRRP: u8 = 112;
}

/// The UDP port of IKE and of UDP-encapsulated ESP (RFC 3948).
pub const NAT_T_PORT: u16 = 4500;
/// The UDP port of IKE (RFC 7296 §2).
pub const IKE_PORT: u16 = 500;

pub const IPV4_HEADER_LEN: usize = 20;
pub const IPV6_HEADER_LEN: usize = 40;
pub const UDP_HEADER_LEN: usize = 8;
/// SPI and sequence number.
pub const ESP_HEADER_LEN: usize = 8;
/// Pad length and next header.
pub const ESP_TRAILER_LEN: usize = 2;

/// Why a packet could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("packet too short")]
    Truncated,
    #[error("malformed header")]
    Malformed,
}

/// Reads a big-endian u16 at `at`; the caller has checked the length.
pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    // One range check for the two bytes (indexing each byte checks each).
    u16::from_be_bytes(b[at..at + 2].try_into().unwrap_or([0; 2]))
}

/// Reads a big-endian u32 at `at`; the caller has checked the length.
pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap_or([0; 4]))
}
