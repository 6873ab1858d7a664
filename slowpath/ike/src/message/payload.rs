//! The generic payload header (RFC 7296 3.2), the typed `Payload` enum and the payload chain:
//! each payload names the type of the next one (`payload_type`), the IKE header names the
//! first.

use std::ops::Range;

use super::auth::{self, AuthMethod, CertEncoding};
use super::cp::{self, CfgType, CpAttribute};
use super::delete;
use super::error::{EmitError, ParseError};
use super::id::{self, IdType};
use super::notify;
use super::notify_type::NotifyType;
use super::payload_type::{PayloadType, Side};
use super::reader::{fill_length, placeholder_u16, Reader};
use super::sa::{self, DhGroup, Proposal, ProtocolId};
use super::sk;
use super::ts::{self, OpaqueSelector, TrafficSelector};

/// Octets in the generic payload header.
pub const PAYLOAD_HEADER_LEN: usize = 4;
/// The critical bit of the generic payload header.
const CRITICAL: u8 = 0x80;
/// Nonce Data size bounds (RFC 7296 3.9).
pub const NONCE_MIN_LEN: usize = 16;
pub const NONCE_MAX_LEN: usize = 256;

/// One payload, parsed. Variable fields are owned, so a message outlives its datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// Security Association (3.3): the proposals, in order.
    Sa(Vec<Proposal>),
    /// Key Exchange (3.4). The data is opaque here; its size is the crypto module's check.
    Ke { group: DhGroup, data: Vec<u8> },
    /// Identification, IDi or IDr (3.5).
    Id {
        kind: Side,
        id_type: IdType,
        data: Vec<u8>,
    },
    /// Certificate (3.6).
    Cert {
        encoding: CertEncoding,
        data: Vec<u8>,
    },
    /// Certificate Request (3.7).
    CertReq {
        encoding: CertEncoding,
        data: Vec<u8>,
    },
    /// Authentication (3.8).
    Auth { method: AuthMethod, data: Vec<u8> },
    /// Nonce (3.9), 16 to 256 octets.
    Nonce(Vec<u8>),
    /// Notify (3.10). `protocol` is kept as received even when the SPI is empty (where the RFC
    /// says it is ignored), so that a message re-emits as it came.
    Notify {
        protocol: ProtocolId,
        spi: Vec<u8>,
        notify_type: NotifyType,
        data: Vec<u8>,
    },
    /// Delete (3.11). `spi_size` is kept because an IKE SA delete has no SPI to measure.
    Delete {
        protocol: ProtocolId,
        spi_size: u8,
        spis: Vec<Vec<u8>>,
    },
    /// Vendor ID (3.12).
    VendorId(Vec<u8>),
    /// Traffic Selector, TSi or TSr (3.13). Selectors of types other than the two address
    /// ranges are kept apart, opaque, in `unknown` (the peer may send RFC 9478 labels, and a
    /// TS payload we cannot use is the exchange's TS_UNACCEPTABLE, not a malformed message).
    Ts {
        kind: Side,
        selectors: Vec<TrafficSelector>,
        unknown: Vec<OpaqueSelector>,
    },
    /// Encrypted and Authenticated (3.14): IV, ciphertext (with padding) and ICV, opaque here.
    /// `inner_first_payload` is the SK header's Next Payload: the type of the first payload of
    /// the decrypted chain (for `parse_payload_chain`).
    Sk {
        iv_ciphertext_icv: Vec<u8>,
        inner_first_payload: PayloadType,
    },
    /// Encrypted Fragment (RFC 7383 2.5). `data` is IV, ciphertext and ICV of this fragment;
    /// `inner_first_payload` is meaningful in fragment 1 only (zero in the others).
    Skf {
        fragment_number: u16,
        total_fragments: u16,
        data: Vec<u8>,
        inner_first_payload: PayloadType,
    },
    /// Configuration (3.15).
    Cp {
        cfg_type: CfgType,
        attributes: Vec<CpAttribute>,
    },
    /// Extensible Authentication (3.16): one EAP message, opaque.
    Eap(Vec<u8>),
    /// A payload type we do not understand, without the critical bit: kept, to be ignored.
    Unknown {
        ptype: PayloadType,
        critical: bool,
        body: Vec<u8>,
    },
}

impl Payload {
    /// The type code this payload is sent under.
    pub fn payload_type(&self) -> PayloadType {
        match self {
            Payload::Sa(_) => PayloadType::SA,
            Payload::Ke { .. } => PayloadType::KE,
            Payload::Id {
                kind: Side::Initiator,
                ..
            } => PayloadType::IDI,
            Payload::Id {
                kind: Side::Responder,
                ..
            } => PayloadType::IDR,
            Payload::Cert { .. } => PayloadType::CERT,
            Payload::CertReq { .. } => PayloadType::CERTREQ,
            Payload::Auth { .. } => PayloadType::AUTH,
            Payload::Nonce(_) => PayloadType::NONCE,
            Payload::Notify { .. } => PayloadType::NOTIFY,
            Payload::Delete { .. } => PayloadType::DELETE,
            Payload::VendorId(_) => PayloadType::VENDOR_ID,
            Payload::Ts {
                kind: Side::Initiator,
                ..
            } => PayloadType::TSI,
            Payload::Ts {
                kind: Side::Responder,
                ..
            } => PayloadType::TSR,
            Payload::Sk { .. } => PayloadType::SK,
            Payload::Skf { .. } => PayloadType::SKF,
            Payload::Cp { .. } => PayloadType::CP,
            Payload::Eap(_) => PayloadType::EAP,
            Payload::Unknown { ptype, .. } => *ptype,
        }
    }

    /// SK or SKF: must be last, carries the inner chain's first type instead of the next one.
    pub fn is_encrypted(&self) -> bool {
        matches!(self, Payload::Sk { .. } | Payload::Skf { .. })
    }

    /// A Notify without SPI (protocol 0, as RFC 7296 3.10 wants for an empty SPI).
    pub fn notify(notify_type: NotifyType, data: Vec<u8>) -> Payload {
        Payload::Notify {
            protocol: ProtocolId(0),
            spi: Vec::new(),
            notify_type,
            data,
        }
    }

    /// A Notify about one SA (such as REKEY_SA, or INVALID_SPI's subject).
    pub fn notify_with_spi(
        protocol: ProtocolId,
        spi: Vec<u8>,
        notify_type: NotifyType,
        data: Vec<u8>,
    ) -> Payload {
        Payload::Notify {
            protocol,
            spi,
            notify_type,
            data,
        }
    }

    /// Parses one payload body of type `ptype` (everything after the generic header). SK and
    /// SKF are handled by the chain walker, which also checks that they come last.
    fn parse_body(ptype: PayloadType, critical: bool, body: &[u8]) -> Result<Payload, ParseError> {
        Ok(match ptype {
            PayloadType::SA => Payload::Sa(sa::parse_sa(body)?),
            PayloadType::KE => {
                let mut r = Reader::new(body, "KE payload");
                let group = DhGroup(r.u16()?);
                r.reserved(2)?;
                Payload::Ke {
                    group,
                    data: r.rest().to_vec(),
                }
            }
            PayloadType::IDI | PayloadType::IDR => {
                let (id_type, data) = id::parse(body)?;
                Payload::Id {
                    kind: side(ptype),
                    id_type,
                    data,
                }
            }
            PayloadType::CERT => {
                let (encoding, data) = auth::parse_cert(body)?;
                Payload::Cert { encoding, data }
            }
            PayloadType::CERTREQ => {
                let (encoding, data) = auth::parse_cert(body)?;
                Payload::CertReq { encoding, data }
            }
            PayloadType::AUTH => {
                let (method, data) = auth::parse_auth(body)?;
                Payload::Auth { method, data }
            }
            PayloadType::NONCE => {
                if !(NONCE_MIN_LEN..=NONCE_MAX_LEN).contains(&body.len()) {
                    return Err(ParseError::BadNonceLength(body.len()));
                }
                Payload::Nonce(body.to_vec())
            }
            PayloadType::NOTIFY => {
                let (protocol, spi, notify_type, data) = notify::parse(body)?;
                Payload::Notify {
                    protocol,
                    spi,
                    notify_type,
                    data,
                }
            }
            PayloadType::DELETE => {
                let (protocol, spi_size, spis) = delete::parse(body)?;
                Payload::Delete {
                    protocol,
                    spi_size,
                    spis,
                }
            }
            PayloadType::VENDOR_ID => Payload::VendorId(body.to_vec()),
            PayloadType::TSI | PayloadType::TSR => {
                let (selectors, unknown) = ts::parse(body)?;
                Payload::Ts {
                    kind: side(ptype),
                    selectors,
                    unknown,
                }
            }
            PayloadType::CP => {
                let (cfg_type, attributes) = cp::parse(body)?;
                Payload::Cp {
                    cfg_type,
                    attributes,
                }
            }
            PayloadType::EAP => Payload::Eap(body.to_vec()),
            _ if critical => return Err(ParseError::UnsupportedCriticalPayload(ptype.0)),
            _ => Payload::Unknown {
                ptype,
                critical,
                body: body.to_vec(),
            },
        })
    }

    /// Appends the body (after the generic header).
    fn emit_body(&self, out: &mut Vec<u8>) -> Result<(), EmitError> {
        match self {
            Payload::Sa(proposals) => sa::emit_sa(out, proposals)?,
            Payload::Ke { group, data } => {
                out.extend_from_slice(&group.0.to_be_bytes());
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(data);
            }
            Payload::Id { id_type, data, .. } => id::emit(out, *id_type, data),
            Payload::Cert { encoding, data } | Payload::CertReq { encoding, data } => {
                out.push(encoding.0);
                out.extend_from_slice(data);
            }
            Payload::Auth { method, data } => {
                out.extend_from_slice(&[method.0, 0, 0, 0]);
                out.extend_from_slice(data);
            }
            Payload::Nonce(data)
            | Payload::VendorId(data)
            | Payload::Eap(data)
            | Payload::Unknown { body: data, .. } => out.extend_from_slice(data),
            Payload::Notify {
                protocol,
                spi,
                notify_type,
                data,
            } => notify::emit(out, *protocol, spi, *notify_type, data)?,
            Payload::Delete {
                protocol,
                spi_size,
                spis,
            } => delete::emit(out, *protocol, *spi_size, spis)?,
            Payload::Ts {
                selectors, unknown, ..
            } => ts::emit(out, selectors, unknown)?,
            Payload::Sk {
                iv_ciphertext_icv, ..
            } => out.extend_from_slice(iv_ciphertext_icv),
            Payload::Skf {
                fragment_number,
                total_fragments,
                data,
                ..
            } => {
                out.extend_from_slice(&fragment_number.to_be_bytes());
                out.extend_from_slice(&total_fragments.to_be_bytes());
                out.extend_from_slice(data);
            }
            Payload::Cp {
                cfg_type,
                attributes,
            } => cp::emit(out, *cfg_type, attributes)?,
        }
        Ok(())
    }
}

/// The side an ID or TS payload of type `ptype` speaks for: IDi and TSi are the initiator's.
fn side(ptype: PayloadType) -> Side {
    if matches!(ptype, PayloadType::IDI | PayloadType::TSI) {
        Side::Initiator
    } else {
        Side::Responder
    }
}

/// Where a chain comes from: the message itself (SK/SKF allowed, last), or the plaintext of an
/// SK payload (no SK/SKF at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chain {
    Outer,
    Inner,
}

/// Walks a payload chain starting with type `first` over exactly `bytes`. Returns the payloads
/// and, if the chain ends with SK or SKF, the range (within `bytes`) of its IV, ciphertext and
/// ICV.
pub(crate) fn parse_chain(
    first: PayloadType,
    bytes: &[u8],
    chain: Chain,
) -> Result<(Vec<Payload>, Option<Range<usize>>), ParseError> {
    let mut r = Reader::new(bytes, "payload chain");
    let mut payloads = Vec::new();
    let mut next = first;
    while next != PayloadType::NO_NEXT_PAYLOAD {
        let ptype = next;
        let start = r.position();
        next = PayloadType(r.u8()?);
        let critical = r.u8()? & CRITICAL != 0;
        let len = usize::from(r.u16()?);
        let body_len = len
            .checked_sub(PAYLOAD_HEADER_LEN)
            .ok_or(ParseError::BadLength { what: "payload" })?;
        let body = r.bytes(body_len)?;
        if ptype == PayloadType::SK || ptype == PayloadType::SKF {
            if chain == Chain::Inner {
                return Err(ParseError::NestedSk);
            }
            // "MUST be the last payload in the message" (3.14; RFC 7383 2.5): its Next Payload
            // names the first inner payload, so nothing may follow it.
            if !r.is_empty() {
                return Err(ParseError::PayloadAfterSk);
            }
            let (payload, skip) = encrypted(ptype, next, body)?;
            let body_start = start + PAYLOAD_HEADER_LEN + skip;
            payloads.push(payload);
            return Ok((payloads, Some(body_start..start + len)));
        }
        payloads.push(Payload::parse_body(ptype, critical, body)?);
    }
    if !r.is_empty() {
        return Err(ParseError::BadLength {
            what: "payload chain",
        });
    }
    Ok((payloads, None))
}

/// An SK or SKF body; `next` is the payload header's Next Payload (the first inner payload's
/// type). Returns the payload and how many octets precede IV/ciphertext/ICV.
fn encrypted(
    ptype: PayloadType,
    next: PayloadType,
    body: &[u8],
) -> Result<(Payload, usize), ParseError> {
    if ptype == PayloadType::SK {
        let p = Payload::Sk {
            iv_ciphertext_icv: body.to_vec(),
            inner_first_payload: next,
        };
        return Ok((p, 0));
    }
    let (fragment_number, total_fragments, data) = sk::parse_skf(body)?;
    let p = Payload::Skf {
        fragment_number,
        total_fragments,
        data,
        inner_first_payload: next,
    };
    Ok((p, sk::SKF_FIELDS_LEN))
}

/// Parses the decrypted content of an SK payload (after the crypto module removed IV, padding
/// and ICV): `first` is the SK payload's `inner_first_payload`. An SK or SKF inside is an
/// error (RFC 7296 3.14).
pub fn parse_payload_chain(first: PayloadType, bytes: &[u8]) -> Result<Vec<Payload>, ParseError> {
    parse_chain(first, bytes, Chain::Inner).map(|(p, _)| p)
}

/// Appends payloads with their generic headers, chaining the Next Payload fields. SK/SKF must
/// be last and put their inner first type in that field. Returns the first payload's type
/// (for the IKE header, or for the SK payload that will carry this chain).
pub(crate) fn emit_chain(
    out: &mut Vec<u8>,
    payloads: &[Payload],
    chain: Chain,
) -> Result<PayloadType, EmitError> {
    for (i, p) in payloads.iter().enumerate() {
        let next = match p {
            Payload::Sk {
                inner_first_payload,
                ..
            }
            | Payload::Skf {
                inner_first_payload,
                ..
            } => {
                if chain == Chain::Inner {
                    return Err(EmitError::NestedSk);
                }
                if i + 1 != payloads.len() {
                    return Err(EmitError::SkNotLast);
                }
                *inner_first_payload
            }
            _ => payloads
                .get(i + 1)
                .map_or(PayloadType::NO_NEXT_PAYLOAD, Payload::payload_type),
        };
        let start = out.len();
        out.push(next.0);
        // "MUST be set to zero for payload types defined in this document" (3.2).
        out.push(match p {
            Payload::Unknown { critical: true, .. } => CRITICAL,
            _ => 0,
        });
        let at = placeholder_u16(out);
        p.emit_body(out)?;
        fill_length(out, at, start, "payload")?;
    }
    Ok(payloads
        .first()
        .map_or(PayloadType::NO_NEXT_PAYLOAD, Payload::payload_type))
}

/// Builds the plaintext of an SK payload: the chained payloads, and the type of the first one
/// (the SK payload's Next Payload). Padding and encryption are the crypto module's.
pub fn emit_payload_chain(payloads: &[Payload]) -> Result<(PayloadType, Vec<u8>), EmitError> {
    let mut out = Vec::new();
    let first = emit_chain(&mut out, payloads, Chain::Inner)?;
    Ok((first, out))
}

#[cfg(test)]
#[path = "payload_tests.rs"]
mod tests;
