//! The Notify payload (RFC 7296 3.10); its types are `notify_type`.

use super::error::{EmitError, ParseError};
use super::notify_type::NotifyType;
use super::reader::{fit_u8, Reader};
use super::sa::{DhGroup, ProtocolId};

/// COOKIE data is 1 to 64 octets (2.6).
pub const MAX_COOKIE_LEN: usize = 64;

/// INVALID_KE_PAYLOAD's data: the group the responder wants (3.10.1).
pub fn invalid_ke_data(group: DhGroup) -> Vec<u8> {
    group.0.to_be_bytes().to_vec()
}

/// The group of an INVALID_KE_PAYLOAD notification's data.
pub fn parse_invalid_ke_data(data: &[u8]) -> Result<DhGroup, ParseError> {
    let b: [u8; 2] = data.try_into().map_err(|_| ParseError::BadLength {
        what: "INVALID_KE_PAYLOAD data",
    })?;
    Ok(DhGroup(u16::from_be_bytes(b)))
}

pub(crate) fn parse(body: &[u8]) -> Result<(ProtocolId, Vec<u8>, NotifyType, Vec<u8>), ParseError> {
    let mut r = Reader::new(body, "Notify payload");
    let protocol = ProtocolId(r.u8()?);
    let spi_size = r.u8()?;
    let notify_type = NotifyType(r.u16()?);
    let spi = r.bytes(usize::from(spi_size))?.to_vec();
    Ok((protocol, spi, notify_type, r.rest().to_vec()))
}

pub(crate) fn emit(
    out: &mut Vec<u8>,
    protocol: ProtocolId,
    spi: &[u8],
    notify_type: NotifyType,
    data: &[u8],
) -> Result<(), EmitError> {
    out.push(protocol.0);
    out.push(fit_u8(spi.len(), "SPI octets")?);
    out.extend_from_slice(&notify_type.0.to_be_bytes());
    out.extend_from_slice(spi);
    out.extend_from_slice(data);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::payload::{emit_payload_chain, parse_payload_chain, Payload};

    #[test]
    fn round_trips() {
        let cases = [
            Payload::notify(NotifyType::COOKIE, vec![1; 32]),
            Payload::notify(NotifyType::MOBIKE_SUPPORTED, vec![]),
            Payload::notify_with_spi(
                ProtocolId::ESP,
                vec![1, 2, 3, 4],
                NotifyType::REKEY_SA,
                vec![],
            ),
            Payload::notify(NotifyType(40000), vec![9]),
        ];
        for p in cases {
            let (first, bytes) = emit_payload_chain(std::slice::from_ref(&p)).unwrap();
            assert_eq!(parse_payload_chain(first, &bytes), Ok(vec![p]));
        }
        let p = Payload::notify(
            NotifyType::INVALID_KE_PAYLOAD,
            invalid_ke_data(DhGroup::MODP_2048),
        );
        let (_, bytes) = emit_payload_chain(&[p]).unwrap();
        assert_eq!(hex::encode(bytes), "0000000a00000011000e");
    }

    #[test]
    fn errors() {
        // SPI size beyond the body.
        assert_eq!(
            parse(&[3, 4, 0x40, 0x09, 1, 2]),
            Err(ParseError::Truncated {
                what: "Notify payload"
            })
        );
        assert_eq!(
            parse(&[0, 0, 0x40]),
            Err(ParseError::Truncated {
                what: "Notify payload"
            })
        );
        let p =
            Payload::notify_with_spi(ProtocolId::ESP, vec![0; 256], NotifyType::REKEY_SA, vec![]);
        assert_eq!(
            emit_payload_chain(&[p]),
            Err(EmitError::TooMany { what: "SPI octets" })
        );
        assert_eq!(parse_invalid_ke_data(&[0, 19]), Ok(DhGroup::ECP_256));
        assert!(parse_invalid_ke_data(&[0, 19, 0]).is_err());
    }

    #[test]
    fn classes() {
        assert!(NotifyType::STATE_NOT_FOUND.is_error());
        assert!(NotifyType(16383).is_error());
        assert!(!NotifyType::INITIAL_CONTACT.is_error());
        assert_eq!(
            format!("{}", NotifyType::SIGNATURE_HASH_ALGORITHMS),
            "SIGNATURE_HASH_ALGORITHMS"
        );
    }
}
