//! The ISAKMP message codec (RFC 2408, with the IPsec DOI of RFC 2407 and the NAT-T payloads
//! of RFC 3947): parse and build, never a panic.
//!
//! `header` (the fixed header, whole messages), `payload` (the chain and the payloads), `sa`
//! (proposals, transforms, data attributes), `attributes` (typed phase 1 / phase 2
//! transforms), `build` (encoding), `codes` (code points), `error`.
//!
//! Receiving: `parse_header` checks the datagram; an encrypted body is decrypted by
//! `v1::crypt`, cut to its payloads with `unpadded`, and parsed with `parse_payloads`;
//! `raw_payloads` and `after_first_payload` give the octets the RFC 2409 hashes cover.

mod attributes;
mod build;
mod codes;
mod error;
mod header;
mod payload;
mod sa;

#[cfg(test)]
mod tests;

pub use attributes::{
    auth_algorithm, auth_method, encapsulation, encryption, esp_transform, hash, life_type,
    phase1_attr, phase2_attr, Phase1Transform, Phase2Transform,
};
pub use build::{encode_body, encode_payloads, identification_body};
pub use codes::{
    cert_encoding, doi, exchange, flags, id_type, notify_type, payload_type, protocol, KEY_IKE,
};
pub use error::WireError;
pub use header::{encode_message, parse_header, Header, HEADER_LEN, ISAKMP_VERSION};
pub use payload::{
    after_first_payload, parse_payload, parse_payloads, raw_payloads, unpadded, Deletion,
    Identification, Notification, Payload, GENERIC_HEADER_LEN, NONCE_MAX_LEN, NONCE_MIN_LEN,
};
pub use sa::{Attribute, AttributeValue, Proposal, SaPayload, Transform};
