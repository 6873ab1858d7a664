//! The payload chain (RFC 2408 3.2) and the payloads other than SA (3.7-3.15, RFC 3947).

use super::codes::payload_type as pt;
use super::error::WireError;
use super::sa::{parse_sa, SaPayload};
use crate::message::reader::Reader;

/// Octets of the generic payload header.
pub const GENERIC_HEADER_LEN: usize = 4;
/// Nonce data bounds (RFC 2409 5: "between 8 and 256 bytes inclusive").
pub const NONCE_MIN_LEN: usize = 8;
pub const NONCE_MAX_LEN: usize = 256;

/// One parsed payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    Sa(SaPayload),
    Ke(Vec<u8>),
    Id(Identification),
    Cert {
        encoding: u8,
        data: Vec<u8>,
    },
    CertReq {
        encoding: u8,
        data: Vec<u8>,
    },
    Hash(Vec<u8>),
    Sig(Vec<u8>),
    Nonce(Vec<u8>),
    Notify(Notification),
    Delete(Deletion),
    VendorId(Vec<u8>),
    NatD(Vec<u8>),
    /// NAT-OA (RFC 3947 5.2): an ID type and an address; `protocol` and `port` are the
    /// RESERVED fields there (zero when we send one).
    NatOa(Identification),
    /// A type this codec does not know (private use, draft NAT-T 130/131, ...).
    Unknown {
        kind: u8,
        body: Vec<u8>,
    },
}

impl Payload {
    /// The Next Payload value that announces this payload.
    pub fn kind(&self) -> u8 {
        match self {
            Payload::Sa(_) => pt::SA,
            Payload::Ke(_) => pt::KE,
            Payload::Id(_) => pt::ID,
            Payload::Cert { .. } => pt::CERT,
            Payload::CertReq { .. } => pt::CR,
            Payload::Hash(_) => pt::HASH,
            Payload::Sig(_) => pt::SIG,
            Payload::Nonce(_) => pt::NONCE,
            Payload::Notify(_) => pt::N,
            Payload::Delete(_) => pt::D,
            Payload::VendorId(_) => pt::VID,
            Payload::NatD(_) => pt::NAT_D,
            Payload::NatOa(_) => pt::NAT_OA,
            Payload::Unknown { kind, .. } => *kind,
        }
    }
}

/// Whether `kind` has its own variant (or is a proposal / transform, never in a chain).
pub(crate) fn is_known(kind: u8) -> bool {
    matches!(kind, pt::NONE..=pt::VID | pt::NAT_D | pt::NAT_OA)
}

/// An Identification payload body (RFC 2407 4.6.2): type, IP protocol and port (phase 2
/// selectors; zero or UDP/500 in phase 1), and the identity data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identification {
    pub id_type: u8,
    pub protocol: u8,
    pub port: u16,
    pub data: Vec<u8>,
}

/// A Notification payload body (RFC 2408 3.14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub doi: u32,
    pub protocol: u8,
    pub spi: Vec<u8>,
    /// `notify_type::*`.
    pub kind: u16,
    pub data: Vec<u8>,
}

/// A Delete payload body (RFC 2408 3.15): every SPI is `spi_size` octets (16 for an ISAKMP
/// SA's cookie pair, 4 for ESP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    pub doi: u32,
    pub protocol: u8,
    pub spi_size: u8,
    pub spis: Vec<Vec<u8>>,
}

/// The payloads of a chain, `(type, body without the generic header)`, as they came: the
/// exact octets that SAi_b, IDii_b and the hashes cover. The chain must fill `body` exactly
/// (strip an encrypted body's padding first with [`unpadded`]).
pub fn raw_payloads(first: u8, body: &[u8]) -> Result<Vec<(u8, &[u8])>, WireError> {
    let (raw, end) = walk(first, body)?;
    if end != body.len() {
        return Err(WireError::BadLength {
            what: "payload chain",
        });
    }
    Ok(raw)
}

/// A decrypted body without its padding: the octets up to the end of the last payload
/// (RFC 2408 3.1: the receiver ignores what follows).
pub fn unpadded(first: u8, plaintext: &[u8]) -> Result<&[u8], WireError> {
    let (_, end) = walk(first, plaintext)?;
    Ok(&plaintext[..end])
}

/// The octets after the first payload of a chain (generic headers included): what HASH(1),
/// HASH(2) and the Informational HASH cover when the HASH payload comes first (RFC 2409 5.5,
/// 5.7). `chain` must be unpadded.
pub fn after_first_payload(first: u8, chain: &[u8]) -> Result<&[u8], WireError> {
    if first == pt::NONE {
        return Err(WireError::Truncated { what: "payload" });
    }
    let mut r = Reader::new(chain, "payload header");
    r.bytes(2)?;
    let len = usize::from(r.u16()?);
    if len < GENERIC_HEADER_LEN {
        return Err(WireError::BadLength { what: "payload" });
    }
    chain
        .get(len..)
        .ok_or(WireError::Truncated { what: "payload" })
}

/// Payloads as `(type, body)`, and where the last one ends.
type RawChain<'a> = (Vec<(u8, &'a [u8])>, usize);

/// Walks a chain; returns the raw payloads and where the last one ends.
fn walk(first: u8, body: &[u8]) -> Result<RawChain<'_>, WireError> {
    let mut r = Reader::new(body, "payload header");
    let mut out = Vec::new();
    let mut kind = first;
    while kind != pt::NONE {
        if kind == pt::PROPOSAL || kind == pt::TRANSFORM {
            return Err(WireError::BadChain {
                context: "message",
                kind,
            });
        }
        let next = r.u8()?;
        r.reserved(1)?;
        let len = usize::from(r.u16()?);
        let body_len = len
            .checked_sub(GENERIC_HEADER_LEN)
            .ok_or(WireError::BadLength { what: "payload" })?;
        let payload = r
            .bytes(body_len)
            .map_err(|_| WireError::Truncated { what: "payload" })?;
        out.push((kind, payload));
        kind = next;
    }
    Ok((out, r.position()))
}

/// Parses a payload chain that fills `body` exactly (a message after its header, or a
/// decrypted body after [`unpadded`]).
pub fn parse_payloads(first: u8, body: &[u8]) -> Result<Vec<Payload>, WireError> {
    raw_payloads(first, body)?
        .into_iter()
        .map(|(kind, b)| parse_payload(kind, b))
        .collect()
}

/// Parses one payload body of type `kind`.
pub fn parse_payload(kind: u8, body: &[u8]) -> Result<Payload, WireError> {
    let data = body.to_vec();
    Ok(match kind {
        pt::SA => Payload::Sa(parse_sa(body)?),
        pt::KE => Payload::Ke(data),
        pt::ID => Payload::Id(parse_identification(body)?),
        pt::CERT | pt::CR => {
            let (&encoding, rest) = body.split_first().ok_or(WireError::Truncated {
                what: "certificate payload",
            })?;
            let data = rest.to_vec();
            if kind == pt::CERT {
                Payload::Cert { encoding, data }
            } else {
                Payload::CertReq { encoding, data }
            }
        }
        pt::HASH => Payload::Hash(data),
        pt::SIG => Payload::Sig(data),
        pt::NONCE => {
            if !(NONCE_MIN_LEN..=NONCE_MAX_LEN).contains(&data.len()) {
                return Err(WireError::BadLength { what: "nonce" });
            }
            Payload::Nonce(data)
        }
        pt::N => Payload::Notify(parse_notification(body)?),
        pt::D => Payload::Delete(parse_deletion(body)?),
        pt::VID => Payload::VendorId(data),
        pt::NAT_D => Payload::NatD(data),
        pt::NAT_OA => Payload::NatOa(parse_identification(body)?),
        kind => Payload::Unknown { kind, body: data },
    })
}

fn parse_identification(body: &[u8]) -> Result<Identification, WireError> {
    let mut r = Reader::new(body, "identification payload");
    Ok(Identification {
        id_type: r.u8()?,
        protocol: r.u8()?,
        port: r.u16()?,
        data: r.rest().to_vec(),
    })
}

fn parse_notification(body: &[u8]) -> Result<Notification, WireError> {
    let mut r = Reader::new(body, "notification payload");
    let doi = r.u32()?;
    let protocol = r.u8()?;
    let spi_size = usize::from(r.u8()?);
    let kind = r.u16()?;
    let spi = r.bytes(spi_size)?.to_vec();
    Ok(Notification {
        doi,
        protocol,
        spi,
        kind,
        data: r.rest().to_vec(),
    })
}

fn parse_deletion(body: &[u8]) -> Result<Deletion, WireError> {
    let mut r = Reader::new(body, "delete payload");
    let doi = r.u32()?;
    let protocol = r.u8()?;
    let spi_size = r.u8()?;
    let count = usize::from(r.u16()?);
    let size = usize::from(spi_size);
    // The SPIs fill the rest exactly; a zero size with a count would say nothing.
    if size == 0 && count != 0 || size.checked_mul(count) != Some(r.remaining()) {
        return Err(WireError::BadLength {
            what: "delete payload",
        });
    }
    let spis = (0..count)
        .map(|_| r.bytes(size).map(<[u8]>::to_vec))
        .collect::<Result<_, _>>()?;
    Ok(Deletion {
        doi,
        protocol,
        spi_size,
        spis,
    })
}
