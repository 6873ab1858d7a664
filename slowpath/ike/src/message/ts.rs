//! The Traffic Selector payloads, TSi and TSr (RFC 7296 3.13).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::code::code_point;
use super::error::{EmitError, ParseError};
use super::reader::{fill_length, fit_u8, placeholder_u16, Reader};

code_point! {
    /// TS Type (3.13.1; IANA "IKEv2 Traffic Selector Types").
    TsType(u8) {
        TS_IPV4_ADDR_RANGE = 7,
        TS_IPV6_ADDR_RANGE = 8,
        /// RFC 4595; kept opaque.
        TS_FC_ADDR_RANGE = 9,
        /// RFC 9478; kept opaque.
        TS_SECLABEL = 10,
    }
}

/// Selector Length of the two address range types: header, ports and two addresses.
const V4_LEN: usize = 4 + 4 + 2 * 4;
const V6_LEN: usize = 4 + 4 + 2 * 16;

/// An address range selector: addresses `start_addr..=end_addr`, ports `start_port..=end_port`,
/// IP protocol `ip_protocol` (0: any). For ICMP the "ports" carry type and code (4.2 of RFC
/// 4301), as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TrafficSelector {
    /// TS_IPV4_ADDR_RANGE or TS_IPV6_ADDR_RANGE, matching the addresses.
    pub ts_type: TsType,
    pub ip_protocol: u8,
    pub start_port: u16,
    pub end_port: u16,
    pub start_addr: IpAddr,
    pub end_addr: IpAddr,
}

impl TrafficSelector {
    /// A range of addresses of one family (`start` and `end` must be of the same family).
    pub fn new(ip_protocol: u8, ports: (u16, u16), start: IpAddr, end: IpAddr) -> TrafficSelector {
        let ts_type = if start.is_ipv4() {
            TsType::TS_IPV4_ADDR_RANGE
        } else {
            TsType::TS_IPV6_ADDR_RANGE
        };
        TrafficSelector {
            ts_type,
            ip_protocol,
            start_port: ports.0,
            end_port: ports.1,
            start_addr: start,
            end_addr: end,
        }
    }

    /// Every address, protocol and port of the family of `v6`.
    pub fn any(v6: bool) -> TrafficSelector {
        if v6 {
            TrafficSelector::new(
                0,
                (0, 0xffff),
                Ipv6Addr::UNSPECIFIED.into(),
                Ipv6Addr::from(u128::MAX).into(),
            )
        } else {
            TrafficSelector::new(
                0,
                (0, 0xffff),
                Ipv4Addr::UNSPECIFIED.into(),
                Ipv4Addr::BROADCAST.into(),
            )
        }
    }

    /// The range of a prefix (`addr/len`, host bits ignored); `None` if `len` is too long.
    pub fn from_prefix(
        addr: IpAddr,
        len: u8,
        ip_protocol: u8,
        ports: (u16, u16),
    ) -> Option<TrafficSelector> {
        let (start, end) = match addr {
            IpAddr::V4(a) => {
                if len > 32 {
                    return None;
                }
                // A full-width shift (a host route) is refused by checked_shr: no host bits.
                let host = u32::MAX.checked_shr(u32::from(len)).unwrap_or(0);
                let a = u32::from(a);
                (
                    IpAddr::from(Ipv4Addr::from(a & !host)),
                    IpAddr::from(Ipv4Addr::from(a | host)),
                )
            }
            IpAddr::V6(a) => {
                if len > 128 {
                    return None;
                }
                // A full-width shift (a host route) is refused by checked_shr: no host bits.
                let host = u128::MAX.checked_shr(u32::from(len)).unwrap_or(0);
                let a = u128::from(a);
                (
                    IpAddr::from(Ipv6Addr::from(a & !host)),
                    IpAddr::from(Ipv6Addr::from(a | host)),
                )
            }
        };
        Some(TrafficSelector::new(ip_protocol, ports, start, end))
    }
}

/// A selector of a type this codec does not interpret: the octet after the type (the IP
/// protocol in the address types) and everything after the Selector Length.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OpaqueSelector {
    pub ts_type: TsType,
    pub octet1: u8,
    pub body: Vec<u8>,
}

pub(crate) fn parse(
    body: &[u8],
) -> Result<(Vec<TrafficSelector>, Vec<OpaqueSelector>), ParseError> {
    let mut r = Reader::new(body, "TS payload");
    let count = r.u8()?;
    r.reserved(3)?;
    let mut selectors = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..count {
        let ts_type = TsType(r.u8()?);
        let octet1 = r.u8()?;
        let len = usize::from(r.u16()?);
        let inner = len.checked_sub(4).ok_or(ParseError::BadLength {
            what: "traffic selector",
        })?;
        let mut s = r.sub(inner, "traffic selector")?;
        let want = match ts_type {
            TsType::TS_IPV4_ADDR_RANGE => V4_LEN,
            TsType::TS_IPV6_ADDR_RANGE => V6_LEN,
            _ => {
                unknown.push(OpaqueSelector {
                    ts_type,
                    octet1,
                    body: s.rest().to_vec(),
                });
                continue;
            }
        };
        if len != want {
            return Err(ParseError::BadLength {
                what: "traffic selector",
            });
        }
        let start_port = s.u16()?;
        let end_port = s.u16()?;
        let (start_addr, end_addr) = if ts_type == TsType::TS_IPV4_ADDR_RANGE {
            (IpAddr::from(s.array::<4>()?), IpAddr::from(s.array::<4>()?))
        } else {
            (
                IpAddr::from(s.array::<16>()?),
                IpAddr::from(s.array::<16>()?),
            )
        };
        selectors.push(TrafficSelector {
            ts_type,
            ip_protocol: octet1,
            start_port,
            end_port,
            start_addr,
            end_addr,
        });
    }
    if !r.is_empty() {
        return Err(ParseError::BadLength { what: "TS payload" });
    }
    Ok((selectors, unknown))
}

pub(crate) fn emit(
    out: &mut Vec<u8>,
    selectors: &[TrafficSelector],
    unknown: &[OpaqueSelector],
) -> Result<(), EmitError> {
    out.push(fit_u8(
        selectors.len() + unknown.len(),
        "traffic selectors",
    )?);
    out.extend_from_slice(&[0, 0, 0]);
    for ts in selectors {
        let (len, start, end) = match (ts.ts_type, ts.start_addr, ts.end_addr) {
            (TsType::TS_IPV4_ADDR_RANGE, IpAddr::V4(s), IpAddr::V4(e)) => {
                (V4_LEN, s.octets().to_vec(), e.octets().to_vec())
            }
            (TsType::TS_IPV6_ADDR_RANGE, IpAddr::V6(s), IpAddr::V6(e)) => {
                (V6_LEN, s.octets().to_vec(), e.octets().to_vec())
            }
            _ => {
                return Err(EmitError::Inconsistent(
                    "traffic selector type and addresses disagree",
                ))
            }
        };
        out.push(ts.ts_type.0);
        out.push(ts.ip_protocol);
        out.extend_from_slice(&(len as u16).to_be_bytes());
        out.extend_from_slice(&ts.start_port.to_be_bytes());
        out.extend_from_slice(&ts.end_port.to_be_bytes());
        out.extend_from_slice(&start);
        out.extend_from_slice(&end);
    }
    for o in unknown {
        if o.ts_type == TsType::TS_IPV4_ADDR_RANGE || o.ts_type == TsType::TS_IPV6_ADDR_RANGE {
            return Err(EmitError::Inconsistent(
                "address range selector kept opaque",
            ));
        }
        let start = out.len();
        out.push(o.ts_type.0);
        out.push(o.octet1);
        let at = placeholder_u16(out);
        out.extend_from_slice(&o.body);
        fill_length(out, at, start, "traffic selector")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::payload::{emit_payload_chain, parse_payload_chain, Payload};
    use crate::message::payload_type::{PayloadType, Side};

    fn round_trip(p: Payload) -> Vec<u8> {
        let (first, bytes) = emit_payload_chain(std::slice::from_ref(&p)).unwrap();
        assert_eq!(parse_payload_chain(first, &bytes), Ok(vec![p]));
        bytes
    }

    #[test]
    fn v4_wire_layout() {
        let ts =
            TrafficSelector::from_prefix("10.1.2.3".parse().unwrap(), 24, 17, (500, 500)).unwrap();
        assert_eq!(ts.start_addr, "10.1.2.0".parse::<IpAddr>().unwrap());
        assert_eq!(ts.end_addr, "10.1.2.255".parse::<IpAddr>().unwrap());
        let bytes = round_trip(Payload::Ts {
            kind: Side::Initiator,
            selectors: vec![ts],
            unknown: vec![],
        });
        assert_eq!(
            hex::encode(bytes),
            "00000018010000000711001001f401f40a0102000a0102ff"
        );
    }

    #[test]
    fn mixed_round_trip() {
        let any6 = TrafficSelector::any(true);
        assert_eq!(any6.ts_type, TsType::TS_IPV6_ADDR_RANGE);
        let p = Payload::Ts {
            kind: Side::Responder,
            selectors: vec![
                TrafficSelector::any(false),
                any6,
                TrafficSelector::from_prefix("2001:db8::1".parse().unwrap(), 64, 6, (0, 65535))
                    .unwrap(),
            ],
            unknown: vec![OpaqueSelector {
                ts_type: TsType::TS_SECLABEL,
                octet1: 0,
                body: b"system_u:object_r".to_vec(),
            }],
        };
        round_trip(p);
        round_trip(Payload::Ts {
            kind: Side::Initiator,
            selectors: vec![],
            unknown: vec![],
        });
        assert_eq!(
            TrafficSelector::from_prefix("10.0.0.0".parse().unwrap(), 33, 0, (0, 0)),
            None
        );
        assert_eq!(
            TrafficSelector::from_prefix("::".parse().unwrap(), 129, 0, (0, 0)),
            None
        );
        let all =
            TrafficSelector::from_prefix("10.0.0.0".parse().unwrap(), 0, 0, (0, 65535)).unwrap();
        assert_eq!(all, TrafficSelector::any(false));
        let host = TrafficSelector::from_prefix("::1".parse().unwrap(), 128, 0, (0, 0)).unwrap();
        assert_eq!(host.start_addr, host.end_addr);
    }

    #[test]
    fn errors() {
        let v4 = |count: u8, len: u16, extra: usize| {
            let mut b = vec![count, 0, 0, 0, 7, 0];
            b.extend_from_slice(&len.to_be_bytes());
            b.extend(std::iter::repeat_n(0u8, 12 + extra));
            parse(&b)
        };
        assert!(v4(1, 16, 0).is_ok());
        assert_eq!(
            v4(1, 17, 1),
            Err(ParseError::BadLength {
                what: "traffic selector"
            })
        );
        assert_eq!(
            v4(1, 15, 0),
            Err(ParseError::BadLength {
                what: "traffic selector"
            })
        );
        assert_eq!(
            v4(1, 3, 0),
            Err(ParseError::BadLength {
                what: "traffic selector"
            })
        );
        assert_eq!(
            v4(1, 40, 0),
            Err(ParseError::Truncated { what: "TS payload" })
        );
        assert_eq!(
            v4(2, 16, 0),
            Err(ParseError::Truncated { what: "TS payload" })
        );
        assert_eq!(
            v4(0, 16, 0),
            Err(ParseError::BadLength { what: "TS payload" })
        );
        assert_eq!(
            v4(1, 16, 1),
            Err(ParseError::BadLength { what: "TS payload" })
        );
        // A v6 selector with the v4 length.
        let mut b = vec![1, 0, 0, 0, 8, 0, 0, 16];
        b.extend_from_slice(&[0; 12]);
        assert_eq!(
            parse(&b),
            Err(ParseError::BadLength {
                what: "traffic selector"
            })
        );
        assert_eq!(
            parse(&[1, 0, 0]),
            Err(ParseError::Truncated { what: "TS payload" })
        );
        // Emitting: type and family must agree; address types are never opaque.
        let mut ts = TrafficSelector::any(false);
        ts.ts_type = TsType::TS_IPV6_ADDR_RANGE;
        let p = Payload::Ts {
            kind: Side::Initiator,
            selectors: vec![ts],
            unknown: vec![],
        };
        assert_eq!(
            emit_payload_chain(&[p]),
            Err(EmitError::Inconsistent(
                "traffic selector type and addresses disagree"
            ))
        );
        let o = OpaqueSelector {
            ts_type: TsType::TS_IPV4_ADDR_RANGE,
            octet1: 0,
            body: vec![],
        };
        let p = Payload::Ts {
            kind: Side::Initiator,
            selectors: vec![],
            unknown: vec![o],
        };
        assert_eq!(
            emit_payload_chain(&[p]),
            Err(EmitError::Inconsistent(
                "address range selector kept opaque"
            ))
        );
        let p = Payload::Ts {
            kind: Side::Initiator,
            selectors: vec![TrafficSelector::any(false); 256],
            unknown: vec![],
        };
        assert_eq!(
            emit_payload_chain(&[p]),
            Err(EmitError::TooMany {
                what: "traffic selectors"
            })
        );
        assert_eq!(
            PayloadType::TSI,
            Payload::Ts {
                kind: Side::Initiator,
                selectors: vec![],
                unknown: vec![]
            }
            .payload_type()
        );
    }
}
