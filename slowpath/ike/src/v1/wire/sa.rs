//! The SA payload (RFC 2408 3.4-3.6): proposals, their transforms, and data attributes in
//! TV (basic, two octets) or TLV (variable) form.

use super::codes::{doi, payload_type};
use super::error::WireError;
use crate::message::reader::{fill_length, fit_u16, fit_u8, placeholder_u16, Reader};

/// The Attribute Format bit: set for TV, clear for TLV (RFC 2408 3.3).
const AF_TV: u16 = 0x8000;

/// An SA payload: DOI, Situation, proposals in order (several with one number are an AND).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaPayload {
    pub doi: u32,
    pub situation: u32,
    pub proposals: Vec<Proposal>,
}

/// A Proposal payload (RFC 2408 3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub number: u8,
    /// `protocol::ISAKMP` (phase 1) or `IPSEC_ESP` / `IPSEC_AH` (phase 2).
    pub protocol: u8,
    pub spi: Vec<u8>,
    pub transforms: Vec<Transform>,
}

/// A Transform payload (RFC 2408 3.6): one choice, its ID and its attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transform {
    pub number: u8,
    pub id: u8,
    pub attributes: Vec<Attribute>,
}

/// A data attribute; `kind` is the attribute class without the format bit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub kind: u16,
    pub value: AttributeValue,
}

/// The two attribute forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeValue {
    /// TV: a two-octet value in the attribute header.
    Basic(u16),
    /// TLV: a length and that many octets.
    Variable(Vec<u8>),
}

impl Attribute {
    pub fn basic(kind: u16, value: u16) -> Attribute {
        Attribute {
            kind,
            value: AttributeValue::Basic(value),
        }
    }

    pub fn variable(kind: u16, value: Vec<u8>) -> Attribute {
        Attribute {
            kind,
            value: AttributeValue::Variable(value),
        }
    }
}

/// Parses an SA payload body (after the generic header).
pub(crate) fn parse_sa(body: &[u8]) -> Result<SaPayload, WireError> {
    let mut r = Reader::new(body, "SA payload");
    let doi_value = r.u32()?;
    let situation = r.u32()?;
    if doi_value == doi::IPSEC && situation & !doi::SIT_IDENTITY_ONLY != 0 {
        return Err(WireError::UnsupportedSituation(situation));
    }
    let mut proposals = Vec::new();
    loop {
        let (next, mut p) = sub_payload(&mut r, 8, "proposal")?;
        proposals.push(parse_proposal(&mut p)?);
        match next {
            payload_type::NONE => break,
            payload_type::PROPOSAL => {}
            kind => {
                return Err(WireError::BadChain {
                    context: "SA",
                    kind,
                })
            }
        }
    }
    if !r.is_empty() {
        return Err(WireError::BadLength { what: "SA payload" });
    }
    Ok(SaPayload {
        doi: doi_value,
        situation,
        proposals,
    })
}

/// Reads a generic header whose length covers at least `min` octets; returns Next Payload and
/// a reader over the rest of that payload.
fn sub_payload<'a>(
    r: &mut Reader<'a>,
    min: usize,
    what: &'static str,
) -> Result<(u8, Reader<'a>), WireError> {
    let next = r.u8()?;
    r.reserved(1)?;
    let len = usize::from(r.u16()?);
    if len < min {
        return Err(WireError::BadLength { what });
    }
    Ok((next, r.sub(len - 4, what)?))
}

fn parse_proposal(r: &mut Reader<'_>) -> Result<Proposal, WireError> {
    let number = r.u8()?;
    let protocol = r.u8()?;
    let spi_size = usize::from(r.u8()?);
    let declared = r.u8()?;
    let spi = r.bytes(spi_size)?.to_vec();
    let mut transforms = Vec::new();
    // At least one transform follows the SPI; each says whether another follows.
    let mut more = true;
    while more {
        let (next, mut t) = sub_payload(r, 8, "transform")?;
        transforms.push(parse_transform(&mut t)?);
        more = match next {
            payload_type::NONE => false,
            payload_type::TRANSFORM => true,
            kind => {
                return Err(WireError::BadChain {
                    context: "proposal",
                    kind,
                })
            }
        };
    }
    if !r.is_empty() {
        return Err(WireError::BadLength { what: "proposal" });
    }
    if transforms.len() != usize::from(declared) {
        return Err(WireError::TransformCount {
            declared,
            found: transforms.len(),
        });
    }
    Ok(Proposal {
        number,
        protocol,
        spi,
        transforms,
    })
}

fn parse_transform(r: &mut Reader<'_>) -> Result<Transform, WireError> {
    let number = r.u8()?;
    let id = r.u8()?;
    r.reserved(2)?;
    let mut attributes = Vec::new();
    while !r.is_empty() {
        let head = r.u16().map_err(|_| WireError::AttributeOverrun(0))?;
        let kind = head & !AF_TV;
        let overrun = |_| WireError::AttributeOverrun(kind);
        let value = if head & AF_TV != 0 {
            AttributeValue::Basic(r.u16().map_err(overrun)?)
        } else {
            let len = usize::from(r.u16().map_err(overrun)?);
            AttributeValue::Variable(r.bytes(len).map_err(overrun)?.to_vec())
        };
        attributes.push(Attribute { kind, value });
    }
    Ok(Transform {
        number,
        id,
        attributes,
    })
}

/// Appends an SA payload body.
pub(crate) fn encode_sa(sa: &SaPayload, out: &mut Vec<u8>) -> Result<(), WireError> {
    if sa.proposals.is_empty() {
        return Err(WireError::BadLength {
            what: "SA without proposals",
        });
    }
    out.extend_from_slice(&sa.doi.to_be_bytes());
    out.extend_from_slice(&sa.situation.to_be_bytes());
    for (i, p) in sa.proposals.iter().enumerate() {
        let last = i + 1 == sa.proposals.len();
        let start = out.len();
        out.push(if last { 0 } else { payload_type::PROPOSAL });
        out.push(0);
        let at = placeholder_u16(out);
        out.push(p.number);
        out.push(p.protocol);
        out.push(fit_u8(p.spi.len(), "proposal SPI")?);
        if p.transforms.is_empty() {
            return Err(WireError::TransformCount {
                declared: 0,
                found: 0,
            });
        }
        out.push(fit_u8(p.transforms.len(), "transforms")?);
        out.extend_from_slice(&p.spi);
        for (j, t) in p.transforms.iter().enumerate() {
            encode_transform(t, j + 1 == p.transforms.len(), out)?;
        }
        fill_length(out, at, start, "proposal")?;
    }
    Ok(())
}

fn encode_transform(t: &Transform, last: bool, out: &mut Vec<u8>) -> Result<(), WireError> {
    let start = out.len();
    out.push(if last { 0 } else { payload_type::TRANSFORM });
    out.push(0);
    let at = placeholder_u16(out);
    out.extend_from_slice(&[t.number, t.id, 0, 0]);
    for a in &t.attributes {
        if a.kind & AF_TV != 0 {
            return Err(WireError::BadAttribute("attribute class over 0x7fff"));
        }
        match &a.value {
            AttributeValue::Basic(v) => {
                out.extend_from_slice(&(a.kind | AF_TV).to_be_bytes());
                out.extend_from_slice(&v.to_be_bytes());
            }
            AttributeValue::Variable(v) => {
                out.extend_from_slice(&a.kind.to_be_bytes());
                out.extend_from_slice(&fit_u16(v.len(), "attribute value")?.to_be_bytes());
                out.extend_from_slice(v);
            }
        }
    }
    fill_length(out, at, start, "transform")?;
    Ok(())
}
