//! The IKE header (RFC 7296 section 3.1).

use super::code::code_point;
use super::error::ParseError;
use super::payload_type::PayloadType;
use super::reader::Reader;

code_point! {
    /// Exchange Type (RFC 7296 3.1; IANA "IKEv2 Exchange Types").
    ExchangeType(u8) {
        IKE_SA_INIT = 34,
        IKE_AUTH = 35,
        CREATE_CHILD_SA = 36,
        INFORMATIONAL = 37,
        /// RFC 5723.
        IKE_SESSION_RESUME = 38,
        /// RFC 9242.
        IKE_INTERMEDIATE = 43,
        /// RFC 9370.
        IKE_FOLLOWUP_KE = 44,
    }
}

/// Octets in the IKE header.
pub const HEADER_LEN: usize = 28;
/// The only major version we speak.
pub const IKE_MAJOR_VERSION: u8 = 2;
/// The largest message accepted or built. IKE runs over UDP (RFC 7296 2.), and over TCP with a
/// 16-bit length prefix (RFC 9329): neither carries more, and refusing larger headers early
/// bounds what a forged Length can make us look at.
pub const MAX_MESSAGE_LEN: usize = 65_535;

/// The three defined flags (RFC 7296 3.1). The other bits "MUST be cleared when sent and MUST be
/// ignored on receipt", so they are not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags {
    /// I: set by the original initiator of the IKE SA.
    pub initiator: bool,
    /// V: "can speak a higher major version"; we never set it.
    pub version: bool,
    /// R: this message is a response.
    pub response: bool,
}

impl Flags {
    const INITIATOR: u8 = 0x08;
    const VERSION: u8 = 0x10;
    const RESPONSE: u8 = 0x20;

    pub fn from_byte(b: u8) -> Flags {
        Flags {
            initiator: b & Flags::INITIATOR != 0,
            version: b & Flags::VERSION != 0,
            response: b & Flags::RESPONSE != 0,
        }
    }

    pub fn to_byte(self) -> u8 {
        let mut b = 0;
        if self.initiator {
            b |= Flags::INITIATOR;
        }
        if self.version {
            b |= Flags::VERSION;
        }
        if self.response {
            b |= Flags::RESPONSE;
        }
        b
    }
}

/// The IKE header. `next_payload` and `length` are what was received; when building a message
/// they are ignored and computed from the payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// IKE SA Initiator's SPI.
    pub spi_i: u64,
    /// IKE SA Responder's SPI (zero in the first IKE_SA_INIT request).
    pub spi_r: u64,
    pub next_payload: PayloadType,
    pub major: u8,
    /// "MUST ignore the minor version number" of a peer (2.5): kept, never checked.
    pub minor: u8,
    pub exchange: ExchangeType,
    pub flags: Flags,
    pub message_id: u32,
    /// Length of the total message (header and payloads) in octets.
    pub length: u32,
}

impl Header {
    /// A version 2.0 header; `next_payload` and `length` are filled by the emitter.
    pub fn new(
        spi_i: u64,
        spi_r: u64,
        exchange: ExchangeType,
        flags: Flags,
        message_id: u32,
    ) -> Header {
        Header {
            spi_i,
            spi_r,
            next_payload: PayloadType::NO_NEXT_PAYLOAD,
            major: IKE_MAJOR_VERSION,
            minor: 0,
            exchange,
            flags,
            message_id,
            length: 0,
        }
    }

    /// Reads the 28 fixed octets without judging them: what an error answer needs (SPIs,
    /// message ID, exchange) even when `parse` refuses the message.
    pub fn peek(datagram: &[u8]) -> Result<Header, ParseError> {
        if datagram.len() < HEADER_LEN {
            return Err(ParseError::TooShort(datagram.len()));
        }
        let mut r = Reader::new(datagram, "IKE header");
        let spi_i = r.u64()?;
        let spi_r = r.u64()?;
        let next_payload = PayloadType(r.u8()?);
        let version = r.u8()?;
        let exchange = ExchangeType(r.u8()?);
        let flags = Flags::from_byte(r.u8()?);
        let message_id = r.u32()?;
        let length = r.u32()?;
        Ok(Header {
            spi_i,
            spi_r,
            next_payload,
            major: version >> 4,
            minor: version & 0x0f,
            exchange,
            flags,
            message_id,
            length,
        })
    }

    /// Reads and checks the header of a whole datagram: the major version first (so that a
    /// newer version is reported as such, RFC 7296 2.5), then the size. Length is "the total
    /// message (header + payloads) in octets" (3.1): a datagram shorter than it is truncated.
    /// The RFC makes no provision for octets beyond it either, so a longer datagram is not a
    /// well-formed message and is refused too, rather than cut to Length: what is parsed, and
    /// what the ICV is checked over, is then exactly what was received.
    pub fn parse(datagram: &[u8]) -> Result<Header, ParseError> {
        let h = Header::peek(datagram)?;
        if h.major > IKE_MAJOR_VERSION {
            return Err(ParseError::UnsupportedMajorVersion(h.major));
        }
        if h.major < IKE_MAJOR_VERSION {
            return Err(ParseError::ObsoleteMajorVersion(h.major));
        }
        if h.length as usize > MAX_MESSAGE_LEN {
            return Err(ParseError::TooLarge(h.length as usize));
        }
        if datagram.len() > MAX_MESSAGE_LEN {
            return Err(ParseError::TooLarge(datagram.len()));
        }
        if h.length as usize != datagram.len() {
            return Err(ParseError::LengthMismatch {
                header: h.length,
                datagram: datagram.len(),
            });
        }
        Ok(h)
    }

    /// Appends the 28 octets as they are in `self`.
    pub fn emit_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.spi_i.to_be_bytes());
        out.extend_from_slice(&self.spi_r.to_be_bytes());
        out.push(self.next_payload.0);
        out.push(((self.major & 0x0f) << 4) | (self.minor & 0x0f));
        out.push(self.exchange.0);
        out.push(self.flags.to_byte());
        out.extend_from_slice(&self.message_id.to_be_bytes());
        out.extend_from_slice(&self.length.to_be_bytes());
    }

    pub fn is_response(&self) -> bool {
        self.flags.response
    }

    pub fn is_request(&self) -> bool {
        !self.flags.response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        let mut h = Header::new(
            0x0102_0304_0506_0708,
            0x1112_1314_1516_1718,
            ExchangeType::IKE_AUTH,
            Flags {
                initiator: true,
                version: false,
                response: true,
            },
            0x2122_2324,
        );
        h.next_payload = PayloadType::SK;
        h.length = HEADER_LEN as u32;
        h
    }

    #[test]
    fn round_trip() {
        let h = sample();
        let mut out = Vec::new();
        h.emit_into(&mut out);
        assert_eq!(
            hex::encode(&out),
            "010203040506070811121314151617182e202328212223240000001c"
        );
        assert_eq!(Header::parse(&out), Ok(h));
        assert!(h.is_response() && !h.is_request());
    }

    #[test]
    fn flags_ignore_reserved_bits() {
        let f = Flags::from_byte(0xff);
        assert_eq!(
            f,
            Flags {
                initiator: true,
                version: true,
                response: true
            }
        );
        assert_eq!(f.to_byte(), 0x38);
        assert_eq!(Flags::from_byte(0xc7), Flags::default());
    }

    #[test]
    fn versions() {
        let mut out = Vec::new();
        sample().emit_into(&mut out);
        out[17] = 0x30;
        assert_eq!(
            Header::parse(&out),
            Err(ParseError::UnsupportedMajorVersion(3))
        );
        // peek still gives what the INVALID_MAJOR_VERSION answer needs.
        assert_eq!(Header::peek(&out).unwrap().message_id, 0x2122_2324);
        out[17] = 0x10;
        assert_eq!(
            Header::parse(&out),
            Err(ParseError::ObsoleteMajorVersion(1))
        );
        // The minor version is ignored.
        out[17] = 0x2f;
        assert_eq!(Header::parse(&out).unwrap().minor, 15);
    }

    #[test]
    fn lengths() {
        let mut out = Vec::new();
        sample().emit_into(&mut out);
        for n in 0..HEADER_LEN {
            assert_eq!(Header::parse(&out[..n]), Err(ParseError::TooShort(n)));
        }
        let mut longer = out.clone();
        longer.push(0);
        assert_eq!(
            Header::parse(&longer),
            Err(ParseError::LengthMismatch {
                header: 28,
                datagram: 29
            })
        );
        out[24..28].copy_from_slice(&29u32.to_be_bytes());
        assert_eq!(
            Header::parse(&out),
            Err(ParseError::LengthMismatch {
                header: 29,
                datagram: 28
            })
        );
        out[24..28].copy_from_slice(&20u32.to_be_bytes());
        assert_eq!(
            Header::parse(&out),
            Err(ParseError::LengthMismatch {
                header: 20,
                datagram: 28
            })
        );
        out[24..28].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            Header::parse(&out),
            Err(ParseError::TooLarge(u32::MAX as usize))
        );
        let mut huge = vec![0u8; MAX_MESSAGE_LEN + 1];
        huge[..HEADER_LEN].copy_from_slice(&longer[..HEADER_LEN]);
        assert_eq!(
            Header::parse(&huge),
            Err(ParseError::TooLarge(MAX_MESSAGE_LEN + 1))
        );
    }
}
