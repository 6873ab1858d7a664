//! The ISAKMP header (RFC 2408 3.1): 28 octets, the length of the whole message in it.

use super::error::WireError;
use crate::message::reader::Reader;
use crate::message::MAX_MESSAGE_LEN;

/// Octets of the fixed header.
pub const HEADER_LEN: usize = 28;
/// Major version 1, minor 0.
pub const ISAKMP_VERSION: u8 = 0x10;

/// The fixed header of every ISAKMP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub icookie: [u8; 8],
    pub rcookie: [u8; 8],
    /// Type of the first payload.
    pub next_payload: u8,
    /// Major version in the high nibble (1), minor in the low.
    pub version: u8,
    pub exchange: u8,
    /// `flags::ENCRYPTION | COMMIT | AUTH_ONLY`.
    pub flags: u8,
    pub message_id: u32,
    /// The whole message, header included.
    pub length: u32,
}

impl Header {
    pub fn is_encrypted(&self) -> bool {
        self.flags & super::flags::ENCRYPTION != 0
    }

    /// The 28 octets, with `length` as it is.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[..8].copy_from_slice(&self.icookie);
        b[8..16].copy_from_slice(&self.rcookie);
        b[16] = self.next_payload;
        b[17] = self.version;
        b[18] = self.exchange;
        b[19] = self.flags;
        b[20..24].copy_from_slice(&self.message_id.to_be_bytes());
        b[24..28].copy_from_slice(&self.length.to_be_bytes());
        b
    }
}

/// Reads the header of a datagram and checks it against the datagram: version 1.x, the
/// length field equal to the datagram's size, nothing over `MAX_MESSAGE_LEN`. The payloads
/// (or the encrypted body) are `&msg[HEADER_LEN..]`.
pub fn parse_header(msg: &[u8]) -> Result<Header, WireError> {
    if msg.len() < HEADER_LEN {
        return Err(WireError::TooShort(msg.len()));
    }
    if msg.len() > MAX_MESSAGE_LEN {
        return Err(WireError::TooLarge(msg.len()));
    }
    let mut r = Reader::new(msg, "ISAKMP header");
    let h = Header {
        icookie: r.array()?,
        rcookie: r.array()?,
        next_payload: r.u8()?,
        version: r.u8()?,
        exchange: r.u8()?,
        flags: r.u8()?,
        message_id: r.u32()?,
        length: r.u32()?,
    };
    if h.version >> 4 != 1 {
        return Err(WireError::BadVersion(h.version));
    }
    if h.length as usize > MAX_MESSAGE_LEN {
        return Err(WireError::TooLarge(h.length as usize));
    }
    if h.length as usize != msg.len() {
        return Err(WireError::LengthMismatch {
            header: h.length,
            datagram: msg.len(),
        });
    }
    Ok(h)
}

/// The message: `header` with its length set, then `payloads_bytes` (a payload chain, or an
/// encrypted body).
pub fn encode_message(header: &Header, payloads_bytes: &[u8]) -> Vec<u8> {
    let total = HEADER_LEN + payloads_bytes.len();
    // Over 4 GiB cannot happen for a UDP message; saturating keeps the peer's check failing
    // rather than wrapping to a plausible length.
    let h = Header {
        length: u32::try_from(total).unwrap_or(u32::MAX),
        ..header.clone()
    };
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&h.to_bytes());
    out.extend_from_slice(payloads_bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            icookie: [1; 8],
            rcookie: [0; 8],
            next_payload: 1,
            version: ISAKMP_VERSION,
            exchange: 2,
            flags: 0,
            message_id: 0,
            length: 0,
        }
    }

    #[test]
    fn round_trip_and_length() {
        let m = encode_message(&header(), &[0xaa; 12]);
        assert_eq!(m.len(), 40);
        let h = parse_header(&m).unwrap();
        assert_eq!(
            h,
            Header {
                length: 40,
                ..header()
            }
        );
        assert!(!h.is_encrypted());
    }

    #[test]
    fn refusals() {
        let m = encode_message(&header(), &[0; 4]);
        assert_eq!(parse_header(&m[..27]), Err(WireError::TooShort(27)));
        let mut v2 = m.clone();
        v2[17] = 0x20;
        assert_eq!(parse_header(&v2), Err(WireError::BadVersion(0x20)));
        // Minor versions are accepted (RFC 2408 3.1 leaves them to the implementation).
        let mut minor = m.clone();
        minor[17] = 0x11;
        assert!(parse_header(&minor).is_ok());
        let mut longer = m.clone();
        longer.push(0);
        assert_eq!(
            parse_header(&longer),
            Err(WireError::LengthMismatch {
                header: 32,
                datagram: 33
            })
        );
        let mut big = m.clone();
        big[24..28].copy_from_slice(&70_000u32.to_be_bytes());
        assert_eq!(parse_header(&big), Err(WireError::TooLarge(70_000)));
        let huge = encode_message(&header(), &vec![0; MAX_MESSAGE_LEN]);
        assert_eq!(
            parse_header(&huge),
            Err(WireError::TooLarge(MAX_MESSAGE_LEN + HEADER_LEN))
        );
    }
}
