//! Encoding payload chains: the inverse of `parse_payloads`.

use super::error::WireError;
use super::payload::{is_known, Identification, Payload, NONCE_MAX_LEN, NONCE_MIN_LEN};
use super::sa::encode_sa;
use crate::message::reader::{fill_length, fit_u16, fit_u8, placeholder_u16};

/// Encodes `payloads` as a chain; returns the type of the first one (for the header's or the
/// previous payload's Next Payload; 0 for an empty list) and the octets.
pub fn encode_payloads(payloads: &[Payload]) -> Result<(u8, Vec<u8>), WireError> {
    let mut out = Vec::new();
    for (i, p) in payloads.iter().enumerate() {
        let next = payloads.get(i + 1).map_or(0, Payload::kind);
        let start = out.len();
        out.push(next);
        out.push(0);
        let at = placeholder_u16(&mut out);
        encode_body(p, &mut out)?;
        fill_length(&mut out, at, start, "payload")?;
    }
    Ok((payloads.first().map_or(0, Payload::kind), out))
}

/// Appends the body of one payload (what follows its generic header).
pub fn encode_body(p: &Payload, out: &mut Vec<u8>) -> Result<(), WireError> {
    match p {
        Payload::Sa(sa) => encode_sa(sa, out)?,
        Payload::Nonce(d) if !(NONCE_MIN_LEN..=NONCE_MAX_LEN).contains(&d.len()) => {
            return Err(WireError::BadLength { what: "nonce" })
        }
        // A known type as Unknown would parse back as something else.
        Payload::Unknown { kind, .. } if is_known(*kind) => {
            return Err(WireError::BadChain {
                context: "unknown payload",
                kind: *kind,
            })
        }
        Payload::Ke(d)
        | Payload::Hash(d)
        | Payload::Sig(d)
        | Payload::Nonce(d)
        | Payload::VendorId(d)
        | Payload::NatD(d)
        | Payload::Unknown { body: d, .. } => out.extend_from_slice(d),
        Payload::Id(id) | Payload::NatOa(id) => encode_identification(id, out),
        Payload::Cert { encoding, data } | Payload::CertReq { encoding, data } => {
            out.push(*encoding);
            out.extend_from_slice(data);
        }
        Payload::Notify(n) => {
            out.extend_from_slice(&n.doi.to_be_bytes());
            out.push(n.protocol);
            out.push(fit_u8(n.spi.len(), "notification SPI")?);
            out.extend_from_slice(&n.kind.to_be_bytes());
            out.extend_from_slice(&n.spi);
            out.extend_from_slice(&n.data);
        }
        Payload::Delete(d) => {
            out.extend_from_slice(&d.doi.to_be_bytes());
            out.push(d.protocol);
            out.push(d.spi_size);
            out.extend_from_slice(&fit_u16(d.spis.len(), "delete SPIs")?.to_be_bytes());
            for spi in &d.spis {
                if spi.len() != usize::from(d.spi_size) || spi.is_empty() {
                    return Err(WireError::BadLength { what: "delete SPI" });
                }
                out.extend_from_slice(spi);
            }
        }
    }
    Ok(())
}

/// The body of an ID payload, as it is hashed (IDii_b / IDir_b, RFC 2409 5).
pub fn identification_body(id: &Identification) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + id.data.len());
    encode_identification(id, &mut out);
    out
}

fn encode_identification(id: &Identification, out: &mut Vec<u8>) {
    out.push(id.id_type);
    out.push(id.protocol);
    out.extend_from_slice(&id.port.to_be_bytes());
    out.extend_from_slice(&id.data);
}
