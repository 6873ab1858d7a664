//! The Encrypted payload SK (RFC 7296 3.14) and the Encrypted Fragment payload SKF (RFC 7383
//! 2.5), seen from the codec: their bodies stay opaque, and `SkLayout` lays a message out so
//! that the crypto module can fill in the IV, ciphertext and ICV in place.

use std::ops::Range;

use super::error::ParseError;
use super::reader::Reader;

/// Octets of the SKF payload before its IV: Fragment Number and Total Fragments.
pub const SKF_FIELDS_LEN: usize = 4;

/// Parses an SKF body's own fields: Fragment Number, Total Fragments, and the rest (IV,
/// ciphertext, ICV), which starts `SKF_FIELDS_LEN` octets in.
pub(crate) fn parse_skf(body: &[u8]) -> Result<(u16, u16, Vec<u8>), ParseError> {
    let mut r = Reader::new(body, "SKF payload");
    let fragment_number = r.u16()?;
    let total_fragments = r.u16()?;
    // Fragments are numbered from 1, and there cannot be more of them than the total.
    if fragment_number == 0 || total_fragments == 0 || fragment_number > total_fragments {
        return Err(ParseError::InvalidSyntax("SKF fragment numbering"));
    }
    Ok((fragment_number, total_fragments, r.rest().to_vec()))
}

/// A message laid out with a last SK (or SKF) payload whose body (IV, ciphertext, ICV) is
/// zeros to be filled in: the header's Length and every length field are already final, as
/// the integrity check and the AEAD's associated data need.
///
/// - AEAD (RFC 5282 5.1): the associated data is `aad()`, the IKE header through the SK
///   payload header (through Fragment Number and Total Fragments for SKF, RFC 7383 2.5.3);
///   write IV, ciphertext and tag into `body_mut()`.
/// - Otherwise (RFC 7296 3.14): write IV and ciphertext into `body_mut()`, then
///   `split_icv(icv_len)` gives everything the checksum covers (header to the end of the
///   ciphertext) and the ICV slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkLayout {
    pub(crate) bytes: Vec<u8>,
    pub(crate) body: Range<usize>,
}

impl SkLayout {
    /// Where IV, ciphertext and ICV go.
    pub fn body_range(&self) -> Range<usize> {
        self.body.clone()
    }

    /// The octets before the body: the AEAD associated data.
    pub fn aad(&self) -> &[u8] {
        self.bytes.get(..self.body.start).unwrap_or(&[])
    }

    pub fn body_mut(&mut self) -> &mut [u8] {
        self.bytes.get_mut(self.body.clone()).unwrap_or(&mut [])
    }

    /// What the ICV covers (everything before its last `icv_len` octets) and the ICV slot;
    /// `None` if the body is shorter than `icv_len`.
    pub fn split_icv(&mut self, icv_len: usize) -> Option<(&[u8], &mut [u8])> {
        let icv_start = self
            .body
            .end
            .checked_sub(icv_len)
            .filter(|s| *s >= self.body.start)?;
        let whole = self.bytes.get_mut(..self.body.end)?;
        let (covered, icv) = whole.split_at_mut(icv_start);
        Some((covered, icv))
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::payload::{emit_chain, parse_chain, Chain, Payload};
    use crate::message::payload_type::PayloadType;

    fn round_trip(p: Payload) -> Vec<u8> {
        let mut out = Vec::new();
        let first = emit_chain(&mut out, std::slice::from_ref(&p), Chain::Outer).unwrap();
        assert_eq!(
            parse_chain(first, &out, Chain::Outer).map(|(p, _)| p),
            Ok(vec![p])
        );
        out
    }

    #[test]
    fn sk_and_skf_round_trip() {
        let b = round_trip(Payload::Sk {
            iv_ciphertext_icv: vec![1, 2, 3],
            inner_first_payload: PayloadType::IDI,
        });
        assert_eq!(b, [35, 0, 0, 7, 1, 2, 3]);
        round_trip(Payload::Sk {
            iv_ciphertext_icv: vec![],
            inner_first_payload: PayloadType::NO_NEXT_PAYLOAD,
        });
        let b = round_trip(Payload::Skf {
            fragment_number: 2,
            total_fragments: 3,
            data: vec![9; 5],
            inner_first_payload: PayloadType::NO_NEXT_PAYLOAD,
        });
        assert_eq!(&b[..8], &[0, 0, 0, 13, 0, 2, 0, 3]);
        let (_, range) = parse_chain(PayloadType::SKF, &b, Chain::Outer).unwrap();
        assert_eq!(range, Some(8..13));
    }

    #[test]
    fn skf_numbering() {
        for (n, t, ok) in [
            (1, 1, true),
            (3, 3, true),
            (0, 1, false),
            (1, 0, false),
            (4, 3, false),
            (0, 0, false),
        ] {
            let body = [0, n, 0, t];
            assert_eq!(parse_skf(&body).is_ok(), ok, "{n}/{t}");
        }
        assert_eq!(
            parse_skf(&[0, 1, 0]),
            Err(ParseError::Truncated {
                what: "SKF payload"
            })
        );
    }

    #[test]
    fn layout_access() {
        let mut l = SkLayout {
            bytes: (0u8..10).collect(),
            body: 4..10,
        };
        assert_eq!(l.aad(), &[0, 1, 2, 3]);
        assert_eq!(l.body_mut(), &[4, 5, 6, 7, 8, 9]);
        let (covered, icv) = l.split_icv(2).unwrap();
        assert_eq!(covered, &[0, 1, 2, 3, 4, 5, 6, 7]);
        icv.copy_from_slice(&[0xee, 0xff]);
        assert_eq!(l.bytes()[8..], [0xee, 0xff]);
        assert!(l.split_icv(6).is_some());
        assert!(l.split_icv(7).is_none());
        assert_eq!(l.body_range(), 4..10);
        assert_eq!(l.into_bytes().len(), 10);
    }
}
