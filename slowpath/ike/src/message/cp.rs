//! The Configuration payload (RFC 7296 3.15): remote access address and DNS assignment.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::code::code_point;
use super::error::{EmitError, ParseError};
use super::reader::{fit_u16, Reader};

code_point! {
    /// CFG Type (3.15).
    CfgType(u8) {
        CFG_REQUEST = 1,
        CFG_REPLY = 2,
        CFG_SET = 3,
        CFG_ACK = 4,
    }
}

code_point! {
    /// Configuration Attribute Type (3.15.1), 15 bits.
    CpAttrType(u16) {
        INTERNAL_IP4_ADDRESS = 1,
        INTERNAL_IP4_NETMASK = 2,
        INTERNAL_IP4_DNS = 3,
        INTERNAL_IP4_NBNS = 4,
        INTERNAL_IP4_DHCP = 6,
        APPLICATION_VERSION = 7,
        INTERNAL_IP6_ADDRESS = 8,
        INTERNAL_IP6_DNS = 10,
        INTERNAL_IP6_DHCP = 12,
        INTERNAL_IP4_SUBNET = 13,
        SUPPORTED_ATTRIBUTES = 14,
        INTERNAL_IP6_SUBNET = 15,
    }
}

/// The reserved bit above the 15-bit attribute type: "MUST be zero" sent, ignored received.
const RESERVED_BIT: u16 = 0x8000;

/// One configuration attribute. An empty value asks for one (in a CFG_REQUEST).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CpAttribute {
    pub attr_type: CpAttrType,
    pub value: Vec<u8>,
}

impl CpAttribute {
    /// An attribute with no value: a request for one.
    pub fn request(attr_type: CpAttrType) -> CpAttribute {
        CpAttribute {
            attr_type,
            value: Vec::new(),
        }
    }

    pub fn from_ipv4(attr_type: CpAttrType, addr: Ipv4Addr) -> CpAttribute {
        CpAttribute {
            attr_type,
            value: addr.octets().to_vec(),
        }
    }

    pub fn from_ipv6(attr_type: CpAttrType, addr: Ipv6Addr) -> CpAttribute {
        CpAttribute {
            attr_type,
            value: addr.octets().to_vec(),
        }
    }

    /// INTERNAL_IP6_ADDRESS and INTERNAL_IP6_SUBNET: the address and a prefix length octet.
    pub fn from_ipv6_prefix(attr_type: CpAttrType, addr: Ipv6Addr, prefix_len: u8) -> CpAttribute {
        let mut value = addr.octets().to_vec();
        value.push(prefix_len);
        CpAttribute { attr_type, value }
    }

    /// The value as one IPv4 address (address, netmask, DNS, NBNS, DHCP).
    pub fn as_ipv4(&self) -> Option<Ipv4Addr> {
        <[u8; 4]>::try_from(self.value.as_slice())
            .ok()
            .map(Ipv4Addr::from)
    }

    /// The value as one IPv6 address (DNS, DHCP).
    pub fn as_ipv6(&self) -> Option<Ipv6Addr> {
        <[u8; 16]>::try_from(self.value.as_slice())
            .ok()
            .map(Ipv6Addr::from)
    }

    /// The value as an IPv6 address and prefix length (17 octets).
    pub fn as_ipv6_prefix(&self) -> Option<(Ipv6Addr, u8)> {
        let (addr, len) = self.value.split_first_chunk::<16>()?;
        match len {
            [l] => Some((Ipv6Addr::from(*addr), *l)),
            _ => None,
        }
    }

    /// INTERNAL_IP4_SUBNET: address and netmask (8 octets).
    pub fn as_ipv4_subnet(&self) -> Option<(Ipv4Addr, Ipv4Addr)> {
        let b = <[u8; 8]>::try_from(self.value.as_slice()).ok()?;
        Some((
            Ipv4Addr::new(b[0], b[1], b[2], b[3]),
            Ipv4Addr::new(b[4], b[5], b[6], b[7]),
        ))
    }
}

/// Whether a value length is valid for the type (the table of 3.15.1; unknown types: any).
fn length_ok(attr_type: CpAttrType, len: usize) -> bool {
    match attr_type {
        CpAttrType::INTERNAL_IP4_ADDRESS
        | CpAttrType::INTERNAL_IP4_NETMASK
        | CpAttrType::INTERNAL_IP4_DNS
        | CpAttrType::INTERNAL_IP4_NBNS
        | CpAttrType::INTERNAL_IP4_DHCP => len == 0 || len == 4,
        CpAttrType::INTERNAL_IP6_DNS | CpAttrType::INTERNAL_IP6_DHCP => len == 0 || len == 16,
        // The RFC gives 17 octets for IP6_SUBNET; an empty one is a request, as for the others.
        CpAttrType::INTERNAL_IP6_ADDRESS | CpAttrType::INTERNAL_IP6_SUBNET => len == 0 || len == 17,
        CpAttrType::INTERNAL_IP4_SUBNET => len == 0 || len == 8,
        CpAttrType::SUPPORTED_ATTRIBUTES => len.is_multiple_of(2),
        _ => true,
    }
}

pub(crate) fn parse(body: &[u8]) -> Result<(CfgType, Vec<CpAttribute>), ParseError> {
    let mut r = Reader::new(body, "CP payload");
    let cfg_type = CfgType(r.u8()?);
    r.reserved(3)?;
    let mut attributes = Vec::new();
    while !r.is_empty() {
        let attr_type = CpAttrType(r.u16()? & !RESERVED_BIT);
        let len = usize::from(r.u16()?);
        let value = r.bytes(len)?.to_vec();
        if !length_ok(attr_type, len) {
            return Err(ParseError::BadLength {
                what: "configuration attribute",
            });
        }
        attributes.push(CpAttribute { attr_type, value });
    }
    Ok((cfg_type, attributes))
}

pub(crate) fn emit(
    out: &mut Vec<u8>,
    cfg_type: CfgType,
    attributes: &[CpAttribute],
) -> Result<(), EmitError> {
    out.extend_from_slice(&[cfg_type.0, 0, 0, 0]);
    for a in attributes {
        if a.attr_type.0 & RESERVED_BIT != 0 {
            return Err(EmitError::Inconsistent(
                "configuration attribute type over 15 bits",
            ));
        }
        out.extend_from_slice(&a.attr_type.0.to_be_bytes());
        out.extend_from_slice(
            &fit_u16(a.value.len(), "configuration attribute octets")?.to_be_bytes(),
        );
        out.extend_from_slice(&a.value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::payload::{emit_payload_chain, parse_payload_chain, Payload};
    use crate::message::payload_type::PayloadType;

    fn round_trip(p: Payload) -> Vec<u8> {
        let (first, bytes) = emit_payload_chain(std::slice::from_ref(&p)).unwrap();
        assert_eq!(parse_payload_chain(first, &bytes), Ok(vec![p]));
        bytes
    }

    #[test]
    fn request_and_reply() {
        let req = Payload::Cp {
            cfg_type: CfgType::CFG_REQUEST,
            attributes: vec![
                CpAttribute::request(CpAttrType::INTERNAL_IP4_ADDRESS),
                CpAttribute::request(CpAttrType::INTERNAL_IP4_DNS),
            ],
        };
        assert_eq!(
            hex::encode(round_trip(req)),
            "00000010010000000001000000030000"
        );
        let reply = vec![
            CpAttribute::from_ipv4(CpAttrType::INTERNAL_IP4_ADDRESS, Ipv4Addr::new(10, 9, 0, 2)),
            CpAttribute::from_ipv4(
                CpAttrType::INTERNAL_IP4_NETMASK,
                Ipv4Addr::new(255, 255, 255, 0),
            ),
            CpAttribute::from_ipv6(
                CpAttrType::INTERNAL_IP6_DNS,
                "2001:db8::53".parse().unwrap(),
            ),
            CpAttribute::from_ipv6_prefix(
                CpAttrType::INTERNAL_IP6_ADDRESS,
                "2001:db8:1::2".parse().unwrap(),
                64,
            ),
            CpAttribute {
                attr_type: CpAttrType::INTERNAL_IP4_SUBNET,
                value: vec![10, 0, 0, 0, 255, 0, 0, 0],
            },
            CpAttribute {
                attr_type: CpAttrType::APPLICATION_VERSION,
                value: b"ipsec-gw 0.1".to_vec(),
            },
            CpAttribute {
                attr_type: CpAttrType(0x7000),
                value: vec![1, 2, 3],
            },
        ];
        assert_eq!(reply[0].as_ipv4(), Some(Ipv4Addr::new(10, 9, 0, 2)));
        assert_eq!(reply[2].as_ipv6(), Some("2001:db8::53".parse().unwrap()));
        assert_eq!(
            reply[3].as_ipv6_prefix(),
            Some(("2001:db8:1::2".parse().unwrap(), 64))
        );
        assert_eq!(
            reply[4].as_ipv4_subnet(),
            Some((Ipv4Addr::new(10, 0, 0, 0), Ipv4Addr::new(255, 0, 0, 0)))
        );
        assert_eq!(reply[0].as_ipv6_prefix(), None);
        round_trip(Payload::Cp {
            cfg_type: CfgType::CFG_REPLY,
            attributes: reply,
        });
        round_trip(Payload::Cp {
            cfg_type: CfgType::CFG_ACK,
            attributes: vec![],
        });
    }

    #[test]
    fn errors() {
        // IP4 address of 3 octets.
        let b = [0, 0, 0, 15, 2, 0, 0, 0, 0, 1, 0, 3, 1, 2, 3];
        assert_eq!(
            parse_payload_chain(PayloadType::CP, &b),
            Err(ParseError::BadLength {
                what: "configuration attribute"
            })
        );
        // Value past the payload.
        let b = [0, 0, 0, 14, 2, 0, 0, 0, 0, 1, 0, 4, 1, 2];
        assert_eq!(
            parse_payload_chain(PayloadType::CP, &b),
            Err(ParseError::Truncated { what: "CP payload" })
        );
        // Half an attribute header.
        let b = [0, 0, 0, 10, 2, 0, 0, 0, 0, 1];
        assert_eq!(
            parse_payload_chain(PayloadType::CP, &b),
            Err(ParseError::Truncated { what: "CP payload" })
        );
        // SUPPORTED_ATTRIBUTES of odd length.
        let b = [0, 0, 0, 13, 2, 0, 0, 0, 0, 14, 0, 1, 1];
        assert!(parse_payload_chain(PayloadType::CP, &b).is_err());
        // The reserved bit is ignored on receipt.
        let b = [0, 0, 0, 12, 1, 0, 0, 0, 0x80, 1, 0, 0];
        assert_eq!(
            parse_payload_chain(PayloadType::CP, &b),
            Ok(vec![Payload::Cp {
                cfg_type: CfgType::CFG_REQUEST,
                attributes: vec![CpAttribute::request(CpAttrType::INTERNAL_IP4_ADDRESS)]
            }])
        );
        let bad = Payload::Cp {
            cfg_type: CfgType::CFG_REQUEST,
            attributes: vec![CpAttribute::request(CpAttrType(0x8001))],
        };
        assert!(emit_payload_chain(&[bad]).is_err());
        let big = Payload::Cp {
            cfg_type: CfgType::CFG_REPLY,
            attributes: vec![CpAttribute {
                attr_type: CpAttrType(99),
                value: vec![0; 65536],
            }],
        };
        assert_eq!(
            emit_payload_chain(&[big]),
            Err(EmitError::TooMany {
                what: "configuration attribute octets"
            })
        );
    }
}
