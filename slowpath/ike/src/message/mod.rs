//! IKEv2 messages and payloads (RFC 7296 section 3): parse and build.
//!
//! No I/O and no cryptography: `Message::parse` takes a datagram and refuses anything malformed
//! with a `ParseError` (never a panic) that says what RFC 7296 wants answered; the SK payload
//! stays opaque, the crypto module decrypts it with the help of `Message::sk_body_range`, and
//! `parse_payload_chain` parses what it decrypted. Building goes the other way:
//! `emit_payload_chain` gives the plaintext to encrypt, `Message::emit_with_sk` the layout to
//! encrypt it into, `Message::emit` everything else.
//!
//! One file per job, each taking only from files named before it: `code` (IANA code
//! point newtypes), `notify_type`, `error`, `reader` (checked field access), `payload_type`
//! (type codes and sides); `header` (IKE header) and one file per payload family (`sa`, `ts`,
//! `notify`, `id`, `auth`, `cp`, `delete`, `sk`, `mid_sync`), whose parsers return the
//! fields; `payload` (generic header, the `Payload` enum, the chain); `msg` (whole
//! messages), `find` (lookups), `natt` (the port 4500 marker).

mod auth;
mod code;
mod cp;
mod delete;
mod error;
mod find;
mod header;
mod id;
mod mid_sync;
mod msg;
mod natt;
mod notify;
mod notify_type;
mod payload;
mod payload_type;
pub(crate) mod reader;
mod sa;
mod sk;
mod ts;

#[cfg(test)]
mod tests;

pub use auth::{
    digital_signature_data, parse_signature_hash_algorithms, signature_hash_algorithms_data,
    split_digital_signature, AuthMethod, CertEncoding, HashAlgorithm,
};
pub use cp::{CfgType, CpAttrType, CpAttribute};
pub use error::{EmitError, ParseError};
pub use find::{NotifyRef, Payloads};
pub use header::{ExchangeType, Flags, Header, HEADER_LEN, IKE_MAJOR_VERSION, MAX_MESSAGE_LEN};
pub use id::{id_addr, id_from_addr, rest_of_id_payload, IdType};
pub use mid_sync::{MessageIdSync, MESSAGE_ID_SYNC_LEN};
pub use msg::{check_sa_spi_sizes, Message};
pub use natt::{classify_port_4500, ike_message, with_non_esp_marker, Port4500, NON_ESP_MARKER};
pub use notify::{invalid_ke_data, parse_invalid_ke_data, MAX_COOKIE_LEN};
pub use notify_type::NotifyType;
pub use payload::{
    emit_payload_chain, parse_payload_chain, Payload, NONCE_MAX_LEN, NONCE_MIN_LEN,
    PAYLOAD_HEADER_LEN,
};
pub use payload_type::{PayloadType, Side};
pub use sa::{
    check_spi_size, AttributeValue, DhGroup, Proposal, ProtocolId, Transform, TransformAttribute,
    TransformId, TransformType, ATTR_KEY_LENGTH,
};
pub use sk::{SkLayout, SKF_FIELDS_LEN};
pub use ts::{OpaqueSelector, TrafficSelector, TsType};
