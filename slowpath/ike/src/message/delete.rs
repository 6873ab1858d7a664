//! The Delete payload (RFC 7296 3.11).

use super::error::{EmitError, ParseError};
use super::reader::{fit_u16, Reader};
use super::sa::ProtocolId;

pub(crate) fn parse(body: &[u8]) -> Result<(ProtocolId, u8, Vec<Vec<u8>>), ParseError> {
    let mut r = Reader::new(body, "Delete payload");
    let protocol = ProtocolId(r.u8()?);
    let spi_size = r.u8()?;
    let count = r.u16()?;
    // "zero for IKE (SPI is in message header) or four for AH and ESP".
    let ok = match protocol {
        ProtocolId::IKE => spi_size == 0,
        ProtocolId::AH | ProtocolId::ESP => spi_size == 4,
        _ => true,
    };
    if !ok {
        return Err(ParseError::BadSpiSize {
            protocol: protocol.0,
            size: spi_size,
        });
    }
    // Zero-sized SPIs would make a count of nothing, and cost an allocation each.
    if spi_size == 0 && count != 0 {
        return Err(ParseError::InvalidSyntax(
            "Delete payload with SPIs of size zero",
        ));
    }
    if usize::from(spi_size) * usize::from(count) != r.remaining() {
        return Err(ParseError::BadLength {
            what: "Delete payload",
        });
    }
    let mut spis = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        spis.push(r.bytes(usize::from(spi_size))?.to_vec());
    }
    Ok((protocol, spi_size, spis))
}

pub(crate) fn emit(
    out: &mut Vec<u8>,
    protocol: ProtocolId,
    spi_size: u8,
    spis: &[Vec<u8>],
) -> Result<(), EmitError> {
    if spis.iter().any(|s| s.len() != usize::from(spi_size)) {
        return Err(EmitError::Inconsistent(
            "Delete SPI of another size than spi_size",
        ));
    }
    if spi_size == 0 && !spis.is_empty() {
        return Err(EmitError::Inconsistent(
            "Delete payload with SPIs of size zero",
        ));
    }
    out.push(protocol.0);
    out.push(spi_size);
    out.extend_from_slice(&fit_u16(spis.len(), "SPIs")?.to_be_bytes());
    for s in spis {
        out.extend_from_slice(s);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::payload::{emit_payload_chain, parse_payload_chain, Payload};
    use crate::message::payload_type::PayloadType;

    #[test]
    fn round_trips() {
        let ike = Payload::Delete {
            protocol: ProtocolId::IKE,
            spi_size: 0,
            spis: vec![],
        };
        let (first, bytes) = emit_payload_chain(std::slice::from_ref(&ike)).unwrap();
        assert_eq!(bytes, [0, 0, 0, 8, 1, 0, 0, 0]);
        assert_eq!(parse_payload_chain(first, &bytes), Ok(vec![ike]));
        let esp = Payload::Delete {
            protocol: ProtocolId::ESP,
            spi_size: 4,
            spis: vec![vec![1, 2, 3, 4], vec![5, 6, 7, 8]],
        };
        let (first, bytes) = emit_payload_chain(std::slice::from_ref(&esp)).unwrap();
        assert_eq!(hex::encode(&bytes), "00000010030400020102030405060708");
        assert_eq!(parse_payload_chain(first, &bytes), Ok(vec![esp]));
        // An unknown protocol with an odd SPI size is kept.
        let odd = Payload::Delete {
            protocol: ProtocolId(9),
            spi_size: 2,
            spis: vec![vec![1, 2]],
        };
        let (first, bytes) = emit_payload_chain(std::slice::from_ref(&odd)).unwrap();
        assert_eq!(parse_payload_chain(first, &bytes), Ok(vec![odd]));
        // SPI size 0 with a count: refused, not 65535 empty SPIs.
        assert_eq!(
            parse(&[9, 0, 0xff, 0xff]),
            Err(ParseError::InvalidSyntax(
                "Delete payload with SPIs of size zero"
            ))
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse(&[3, 8, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8]),
            Err(ParseError::BadSpiSize {
                protocol: 3,
                size: 8
            })
        );
        assert_eq!(
            parse(&[1, 4, 0, 1, 1, 2, 3, 4]),
            Err(ParseError::BadSpiSize {
                protocol: 1,
                size: 4
            })
        );
        assert_eq!(
            parse(&[3, 4, 0, 2, 1, 2, 3, 4]),
            Err(ParseError::BadLength {
                what: "Delete payload"
            })
        );
        assert_eq!(
            parse(&[3, 4, 0, 1, 1, 2, 3, 4, 5]),
            Err(ParseError::BadLength {
                what: "Delete payload"
            })
        );
        assert_eq!(
            parse(&[1, 0, 0, 0, 0]),
            Err(ParseError::BadLength {
                what: "Delete payload"
            })
        );
        assert_eq!(
            parse_payload_chain(PayloadType::DELETE, &[0, 0, 0, 7, 3, 4, 0]),
            Err(ParseError::Truncated {
                what: "Delete payload"
            })
        );
        let bad = Payload::Delete {
            protocol: ProtocolId::ESP,
            spi_size: 4,
            spis: vec![vec![1, 2, 3]],
        };
        assert!(emit_payload_chain(&[bad]).is_err());
        let empty = Payload::Delete {
            protocol: ProtocolId(9),
            spi_size: 0,
            spis: vec![vec![]],
        };
        assert_eq!(
            emit_payload_chain(&[empty]),
            Err(EmitError::Inconsistent(
                "Delete payload with SPIs of size zero"
            ))
        );
    }
}
