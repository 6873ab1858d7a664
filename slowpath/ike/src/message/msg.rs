//! A whole IKE message: header and payload chain, parsed from a datagram or built for one.

use std::ops::Range;

use super::error::{EmitError, ParseError};
use super::header::{ExchangeType, Header, HEADER_LEN, MAX_MESSAGE_LEN};
use super::payload::{emit_chain, parse_chain, Chain, Payload};
use super::payload_type::PayloadType;
use super::sk::SkLayout;

/// An IKE message. When built, `header.next_payload` and `header.length` are computed by the
/// emitter (whatever they hold); when parsed, they are what was received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub header: Header,
    pub payloads: Vec<Payload>,
}

impl Message {
    pub fn new(header: Header, payloads: Vec<Payload>) -> Message {
        Message { header, payloads }
    }

    /// Parses one datagram (the UDP payload, after the non-ESP marker on port 4500). An SK or
    /// SKF payload is kept opaque: decrypt it, then `parse_payload_chain`.
    pub fn parse(raw: &[u8]) -> Result<Message, ParseError> {
        Message::parse_with_sk_range(raw).map(|(m, _)| m)
    }

    /// Like `parse`, and also gives where the SK/SKF payload's IV, ciphertext and ICV are in
    /// `raw` (see `sk_body_range`).
    pub fn parse_with_sk_range(raw: &[u8]) -> Result<(Message, Option<Range<usize>>), ParseError> {
        let header = Header::parse(raw)?;
        let chain = raw
            .get(HEADER_LEN..)
            .ok_or(ParseError::TooShort(raw.len()))?;
        let (payloads, range) = parse_chain(header.next_payload, chain, Chain::Outer)?;
        // The SPI sizes that depend on the exchange can be checked here only where the SA
        // payload is in the clear.
        if header.exchange == ExchangeType::IKE_SA_INIT {
            check_sa_spi_sizes(header.exchange, &payloads)?;
        }
        let range = range.map(|r| r.start + HEADER_LEN..r.end + HEADER_LEN);
        Ok((Message { header, payloads }, range))
    }

    /// Where the last SK or SKF payload's IV, ciphertext and ICV are in `raw`, so that the ICV
    /// is checked over the exact received octets: the integrity checksum covers
    /// `raw[..range.end - icv_len]` (RFC 7296 3.14), the AEAD associated data is
    /// `raw[..range.start]` (RFC 5282 5.1, RFC 7383 2.5.3). `None` if `raw` does not parse or
    /// has no SK/SKF payload.
    pub fn sk_body_range(raw: &[u8]) -> Option<Range<usize>> {
        Message::parse_with_sk_range(raw).ok()?.1
    }

    /// Builds the datagram: the header's Next Payload and Length, every payload's Next Payload
    /// and length, the Last Substruc markers and counts are computed from the payloads.
    pub fn emit(&self) -> Result<Vec<u8>, EmitError> {
        let mut out = Vec::with_capacity(512);
        self.header.emit_into(&mut out);
        let first = emit_chain(&mut out, &self.payloads, Chain::Outer)?;
        if out.len() > MAX_MESSAGE_LEN {
            return Err(EmitError::TooLong { what: "message" });
        }
        let length =
            u32::try_from(out.len()).map_err(|_| EmitError::TooLong { what: "message" })?;
        if let Some(b) = out.get_mut(16) {
            *b = first.0;
        }
        if let Some(slot) = out.get_mut(24..HEADER_LEN) {
            slot.copy_from_slice(&length.to_be_bytes());
        }
        Ok(out)
    }

    /// Lays out a message whose last payload is SK, with `outer` cleartext payloads before it
    /// (usually none), an SK body of `sk_body_len` octets (IV, padded ciphertext and ICV, as
    /// long as the crypto module will make them) and `inner_first_payload` (from
    /// `emit_payload_chain`) as the SK payload's Next Payload.
    pub fn emit_with_sk(
        header: &Header,
        outer: &[Payload],
        inner_first_payload: PayloadType,
        sk_body_len: usize,
    ) -> Result<SkLayout, EmitError> {
        if sk_body_len > MAX_MESSAGE_LEN {
            return Err(EmitError::TooLong { what: "SK payload" });
        }
        let sk = Payload::Sk {
            iv_ciphertext_icv: vec![0; sk_body_len],
            inner_first_payload,
        };
        Message::layout(header, outer, sk, sk_body_len)
    }

    /// Lays out one fragment (RFC 7383): a message whose only payload is SKF. The first
    /// fragment carries the inner chain's first type, the others `NO_NEXT_PAYLOAD`.
    pub fn emit_with_skf(
        header: &Header,
        inner_first_payload: PayloadType,
        fragment_number: u16,
        total_fragments: u16,
        body_len: usize,
    ) -> Result<SkLayout, EmitError> {
        if fragment_number == 0 || fragment_number > total_fragments {
            return Err(EmitError::Inconsistent("SKF fragment numbering"));
        }
        if body_len > MAX_MESSAGE_LEN {
            return Err(EmitError::TooLong {
                what: "SKF payload",
            });
        }
        let skf = Payload::Skf {
            fragment_number,
            total_fragments,
            data: vec![0; body_len],
            inner_first_payload,
        };
        Message::layout(header, &[], skf, body_len)
    }

    fn layout(
        header: &Header,
        outer: &[Payload],
        last: Payload,
        body_len: usize,
    ) -> Result<SkLayout, EmitError> {
        let mut payloads = outer.to_vec();
        payloads.push(last);
        let bytes = Message {
            header: *header,
            payloads,
        }
        .emit()?;
        let body = bytes.len() - body_len..bytes.len();
        Ok(SkLayout { bytes, body })
    }

    /// The SK payload's opaque body and inner first payload type, if the message has one.
    pub fn sk(&self) -> Option<(&[u8], PayloadType)> {
        match self.payloads.last() {
            Some(Payload::Sk {
                iv_ciphertext_icv,
                inner_first_payload,
            }) => Some((iv_ciphertext_icv, *inner_first_payload)),
            _ => None,
        }
    }

    /// Whether the message ends with SK or SKF, i.e. needs decrypting.
    pub fn is_encrypted(&self) -> bool {
        self.payloads.last().is_some_and(Payload::is_encrypted)
    }
}

/// Checks every proposal of every SA payload against the exchange (see
/// `Proposal::check_spi_for_exchange`); `Message::parse` does it for IKE_SA_INIT.
pub fn check_sa_spi_sizes(exchange: ExchangeType, payloads: &[Payload]) -> Result<(), ParseError> {
    for p in payloads {
        if let Payload::Sa(proposals) = p {
            for prop in proposals {
                prop.check_spi_for_exchange(exchange)?;
            }
        }
    }
    Ok(())
}
