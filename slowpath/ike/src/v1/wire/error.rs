//! Why an ISAKMP message could not be parsed, decoded or built.

use super::notify_type;
use crate::message::{EmitError, ParseError};

/// Why a received IKEv1 message, payload chain or transform was refused (or one of ours could
/// not be built). Every variant has a stable `counter_name()` for the drop counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Shorter than the 28-octet ISAKMP header.
    #[error("datagram of {0} octets is shorter than the ISAKMP header")]
    TooShort(usize),
    /// Major version other than 1 (RFC 2408 3.1: 0x10 for ISAKMP).
    #[error("ISAKMP version {0:#04x} is not 1.x")]
    BadVersion(u8),
    /// Over `MAX_MESSAGE_LEN`, in the header's Length or in the datagram.
    #[error("message of {0} octets is over the size limit")]
    TooLarge(usize),
    /// The header's Length is not the datagram's size.
    #[error("header length {header} is not the datagram's {datagram} octets")]
    LengthMismatch { header: u32, datagram: usize },
    /// A structure runs past the end of what contains it.
    #[error("truncated {what}")]
    Truncated { what: &'static str },
    /// A length field below the structure's fixed part, or octets left over.
    #[error("bad length of {what}")]
    BadLength { what: &'static str },
    /// A Next Payload value that cannot appear where it does (a proposal or transform in the
    /// message chain, anything but a proposal after a proposal, ...).
    #[error("next payload {kind} in a {context} chain")]
    BadChain { context: &'static str, kind: u8 },
    /// A proposal whose "# of transforms" is not the number of transforms it holds.
    #[error("proposal says {declared} transforms, holds {found}")]
    TransformCount { declared: u8, found: usize },
    /// A data attribute whose value runs past its transform.
    #[error("data attribute {0} runs past its transform")]
    AttributeOverrun(u16),
    /// Situation bits other than SIT_IDENTITY_ONLY (RFC 2407 4.2): labeled SAs are not spoken.
    #[error("situation {0:#x} is not supported")]
    UnsupportedSituation(u32),
    /// An attribute class the typed decoding does not know (the transform must be refused).
    #[error("unknown attribute class {0}")]
    UnknownAttribute(u16),
    /// An attribute with the wrong format (basic for variable or the reverse), a value out of
    /// range, a repeated or a missing attribute.
    #[error("bad attribute: {0}")]
    BadAttribute(&'static str),
    /// An algorithm, transform or method this implementation refuses (DES, unknown IDs).
    #[error("unsupported {what} {id}")]
    Unsupported { what: &'static str, id: u16 },
    /// A field too large for its width when building.
    #[error("{what} too long for its length field")]
    TooLong { what: &'static str },
}

impl WireError {
    /// A stable name for counters and logs.
    pub fn counter_name(&self) -> &'static str {
        match self {
            WireError::TooShort(_) => "v1_too_short",
            WireError::BadVersion(_) => "v1_bad_version",
            WireError::TooLarge(_) => "v1_too_large",
            WireError::LengthMismatch { .. } => "v1_length_mismatch",
            WireError::Truncated { .. } => "v1_truncated",
            WireError::BadLength { .. } => "v1_bad_length",
            WireError::BadChain { .. } => "v1_bad_chain",
            WireError::TransformCount { .. } => "v1_transform_count",
            WireError::AttributeOverrun(_) => "v1_attribute_overrun",
            WireError::UnsupportedSituation(_) => "v1_unsupported_situation",
            WireError::UnknownAttribute(_) => "v1_unknown_attribute",
            WireError::BadAttribute(_) => "v1_bad_attribute",
            WireError::Unsupported { .. } => "v1_unsupported",
            WireError::TooLong { .. } => "v1_too_long",
        }
    }

    /// The RFC 2408 3.14.1 notify message type that describes the error, for an answer the
    /// caller may send (only inside an authenticated exchange; otherwise drop and count).
    pub fn notify_type(&self) -> u16 {
        match self {
            WireError::BadVersion(_) => notify_type::INVALID_MAJOR_VERSION,
            WireError::BadChain { .. } => notify_type::INVALID_PAYLOAD_TYPE,
            WireError::TransformCount { .. } => notify_type::BAD_PROPOSAL_SYNTAX,
            WireError::UnsupportedSituation(_) => notify_type::SITUATION_NOT_SUPPORTED,
            WireError::UnknownAttribute(_) | WireError::AttributeOverrun(_) => {
                notify_type::ATTRIBUTES_NOT_SUPPORTED
            }
            WireError::Unsupported { .. } | WireError::BadAttribute(_) => {
                notify_type::NO_PROPOSAL_CHOSEN
            }
            WireError::LengthMismatch { .. } => notify_type::UNEQUAL_PAYLOAD_LENGTHS,
            WireError::TooShort(_)
            | WireError::TooLarge(_)
            | WireError::Truncated { .. }
            | WireError::BadLength { .. }
            | WireError::TooLong { .. } => notify_type::PAYLOAD_MALFORMED,
        }
    }
}

// The shared field reader and writer (crate::message::reader) speak the IKEv2 error types;
// they only ever produce these two variants.
impl From<ParseError> for WireError {
    fn from(e: ParseError) -> Self {
        match e {
            ParseError::Truncated { what } => WireError::Truncated { what },
            ParseError::BadLength { what } => WireError::BadLength { what },
            _ => WireError::BadLength { what: "field" },
        }
    }
}

impl From<EmitError> for WireError {
    fn from(e: EmitError) -> Self {
        match e {
            EmitError::TooLong { what } | EmitError::TooMany { what } => {
                WireError::TooLong { what }
            }
            _ => WireError::TooLong { what: "payload" },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_names_are_distinct() {
        let all = [
            WireError::TooShort(0),
            WireError::BadVersion(0x20),
            WireError::TooLarge(0),
            WireError::LengthMismatch {
                header: 0,
                datagram: 0,
            },
            WireError::Truncated { what: "" },
            WireError::BadLength { what: "" },
            WireError::BadChain {
                context: "",
                kind: 0,
            },
            WireError::TransformCount {
                declared: 0,
                found: 1,
            },
            WireError::AttributeOverrun(0),
            WireError::UnsupportedSituation(2),
            WireError::UnknownAttribute(0),
            WireError::BadAttribute(""),
            WireError::Unsupported { what: "", id: 0 },
            WireError::TooLong { what: "" },
        ];
        let mut names: Vec<_> = all.iter().map(|e| e.counter_name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert!(all.iter().all(|e| e.notify_type() < 16384));
    }

    #[test]
    fn reader_errors_convert() {
        assert_eq!(
            WireError::from(ParseError::Truncated { what: "x" }),
            WireError::Truncated { what: "x" }
        );
        assert_eq!(
            WireError::from(EmitError::TooMany { what: "y" }),
            WireError::TooLong { what: "y" }
        );
    }
}
