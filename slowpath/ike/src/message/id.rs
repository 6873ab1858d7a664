//! The Identification payloads, IDi and IDr (RFC 7296 3.5).

use std::net::IpAddr;

use super::code::code_point;
use super::error::ParseError;
use super::reader::Reader;

code_point! {
    /// ID Type (3.5).
    IdType(u8) {
        IPV4_ADDR = 1,
        FQDN = 2,
        RFC822_ADDR = 3,
        IPV6_ADDR = 5,
        DER_ASN1_DN = 9,
        DER_ASN1_GN = 10,
        KEY_ID = 11,
        /// RFC 4595.
        FC_NAME = 12,
        /// RFC 7619.
        NULL = 13,
    }
}

/// An address identity: the type and data for `Payload::Id`.
pub fn id_from_addr(addr: IpAddr) -> (IdType, Vec<u8>) {
    match addr {
        IpAddr::V4(a) => (IdType::IPV4_ADDR, a.octets().to_vec()),
        IpAddr::V6(a) => (IdType::IPV6_ADDR, a.octets().to_vec()),
    }
}

/// The address of an IPV4_ADDR or IPV6_ADDR identity.
pub fn id_addr(id_type: IdType, data: &[u8]) -> Option<IpAddr> {
    match id_type {
        IdType::IPV4_ADDR => <[u8; 4]>::try_from(data).ok().map(IpAddr::from),
        IdType::IPV6_ADDR => <[u8; 16]>::try_from(data).ok().map(IpAddr::from),
        _ => None,
    }
}

/// "RestOfInitIDPayload" / "RestOfRespIDPayload" (2.15): the ID payload body the AUTH
/// computation MACs, with the RESERVED octets as zero (what a conforming peer sends).
pub fn rest_of_id_payload(id_type: IdType, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + data.len());
    emit(&mut out, id_type, data);
    out
}

pub(crate) fn parse(body: &[u8]) -> Result<(IdType, Vec<u8>), ParseError> {
    let mut r = Reader::new(body, "ID payload");
    let id_type = IdType(r.u8()?);
    r.reserved(3)?;
    let data = r.rest().to_vec();
    // An address identity of the wrong size cannot be compared with anything.
    let want = match id_type {
        IdType::IPV4_ADDR => Some(4),
        IdType::IPV6_ADDR => Some(16),
        _ => None,
    };
    if want.is_some_and(|n| n != data.len()) {
        return Err(ParseError::BadLength { what: "ID address" });
    }
    Ok((id_type, data))
}

pub(crate) fn emit(out: &mut Vec<u8>, id_type: IdType, data: &[u8]) {
    out.extend_from_slice(&[id_type.0, 0, 0, 0]);
    out.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::payload::{emit_payload_chain, parse_payload_chain, Payload};
    use crate::message::payload_type::{PayloadType, Side};

    #[test]
    fn round_trips() {
        let (t4, d4) = id_from_addr("192.0.2.1".parse().unwrap());
        let (t6, d6) = id_from_addr("2001:db8::1".parse().unwrap());
        let cases = [
            Payload::Id {
                kind: Side::Initiator,
                id_type: IdType::FQDN,
                data: b"gw.example.org".to_vec(),
            },
            Payload::Id {
                kind: Side::Responder,
                id_type: t4,
                data: d4,
            },
            Payload::Id {
                kind: Side::Initiator,
                id_type: t6,
                data: d6,
            },
            Payload::Id {
                kind: Side::Responder,
                id_type: IdType::KEY_ID,
                data: vec![],
            },
        ];
        for p in cases {
            let (first, bytes) = emit_payload_chain(std::slice::from_ref(&p)).unwrap();
            assert_eq!(parse_payload_chain(first, &bytes), Ok(vec![p]));
        }
        let (_, bytes) = emit_payload_chain(&[Payload::Id {
            kind: Side::Responder,
            id_type: IdType::RFC822_ADDR,
            data: b"a@b".to_vec(),
        }])
        .unwrap();
        assert_eq!(hex::encode(bytes), "0000000b03000000614062");
    }

    #[test]
    fn addresses() {
        assert_eq!(
            id_addr(IdType::IPV4_ADDR, &[10, 0, 0, 1]),
            Some("10.0.0.1".parse().unwrap())
        );
        assert_eq!(id_addr(IdType::IPV4_ADDR, &[10, 0, 0]), None);
        assert_eq!(id_addr(IdType::FQDN, &[10, 0, 0, 1]), None);
        assert_eq!(
            rest_of_id_payload(IdType::FQDN, b"x"),
            vec![2, 0, 0, 0, b'x']
        );
        assert_eq!(
            parse(&[1, 0, 0, 0, 1, 2, 3]),
            Err(ParseError::BadLength { what: "ID address" })
        );
        assert_eq!(
            parse(&[5, 0, 0, 0, 1, 2, 3, 4]),
            Err(ParseError::BadLength { what: "ID address" })
        );
        assert_eq!(
            parse(&[2, 0, 0]),
            Err(ParseError::Truncated { what: "ID payload" })
        );
        // Reserved octets are ignored.
        assert_eq!(
            parse_payload_chain(PayloadType::IDR, &[0, 0, 0, 9, 2, 1, 2, 3, b'x']),
            Ok(vec![Payload::Id {
                kind: Side::Responder,
                id_type: IdType::FQDN,
                data: b"x".to_vec()
            }])
        );
    }
}
