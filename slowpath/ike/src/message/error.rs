//! Why a message could not be parsed or built, and what RFC 7296 wants answered.

use super::notify_type::NotifyType;

/// Why a received message (or a decrypted payload chain) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Shorter than the 28-octet IKE header: not even the SPIs can be read.
    #[error("datagram of {0} octets is shorter than the IKE header")]
    TooShort(usize),
    /// Major version above 2: RFC 7296 section 2.5 says drop it and answer an unprotected
    /// INVALID_MAJOR_VERSION (the header fields can be had from `Header::peek`).
    #[error("IKE major version {0} is newer than 2")]
    UnsupportedMajorVersion(u8),
    /// Major version below 2 (IKEv1, or garbage): not ours to answer.
    #[error("IKE major version {0} is not IKEv2")]
    ObsoleteMajorVersion(u8),
    /// Over `MAX_MESSAGE_LEN`, in the header's Length or in the datagram.
    #[error("message of {0} octets is over the size limit")]
    TooLarge(usize),
    /// The header's Length (the whole message, RFC 7296 section 3.1) is not the datagram's size.
    #[error("header length {header} is not the datagram's {datagram} octets")]
    LengthMismatch { header: u32, datagram: usize },
    /// A structure runs past the end of what contains it.
    #[error("truncated {what}")]
    Truncated { what: &'static str },
    /// A length field that is impossible (too small, not what the content needs), or octets
    /// left over after a structure.
    #[error("bad length of {what}")]
    BadLength { what: &'static str },
    /// An unknown payload type with the critical bit set (RFC 7296 section 2.5).
    #[error("unsupported critical payload type {0}")]
    UnsupportedCriticalPayload(u8),
    /// Octets after the SK or SKF payload, which must be last (RFC 7296 3.14, RFC 7383 2.5).
    #[error("payload after the encrypted payload")]
    PayloadAfterSk,
    /// An SK or SKF payload inside a decrypted chain (RFC 7296 3.14).
    #[error("encrypted payload inside an encrypted payload")]
    NestedSk,
    /// Proposals not numbered 1, 2, 3... (RFC 7296 3.3.1).
    #[error("proposal number {found}, expected {expected}")]
    BadProposalNumber { expected: u8, found: u8 },
    /// An SPI size the protocol does not allow (RFC 7296 3.3.1, 3.11).
    #[error("SPI size {size} for protocol {protocol}")]
    BadSpiSize { protocol: u8, size: u8 },
    /// Nonce data outside 16..=256 octets (RFC 7296 3.9).
    #[error("nonce of {0} octets")]
    BadNonceLength(usize),
    /// Any other field out of range.
    #[error("invalid syntax: {0}")]
    InvalidSyntax(&'static str),
}

impl ParseError {
    /// The error notification RFC 7296 wants in the answer, if any. The caller must still
    /// decide whether it may answer at all: INVALID_SYNTAX "may only be returned for and in an
    /// encrypted packet if the Message ID and cryptographic checksum were valid" (3.10.1), so
    /// it only answers errors from the decrypted chain of a request whose ICV checked out;
    /// INVALID_MAJOR_VERSION and UNSUPPORTED_CRITICAL_PAYLOAD may also answer an unprotected
    /// IKE_SA_INIT request. Errors where nothing sensible can be answered (the header cannot be
    /// read, IKEv1, oversized) give `None`: drop silently.
    pub fn notify(&self) -> Option<NotifyType> {
        match self {
            ParseError::TooShort(_)
            | ParseError::ObsoleteMajorVersion(_)
            | ParseError::TooLarge(_) => None,
            ParseError::UnsupportedMajorVersion(_) => Some(NotifyType::INVALID_MAJOR_VERSION),
            ParseError::UnsupportedCriticalPayload(_) => {
                Some(NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD)
            }
            ParseError::LengthMismatch { .. }
            | ParseError::Truncated { .. }
            | ParseError::BadLength { .. }
            | ParseError::PayloadAfterSk
            | ParseError::NestedSk
            | ParseError::BadProposalNumber { .. }
            | ParseError::BadSpiSize { .. }
            | ParseError::BadNonceLength(_)
            | ParseError::InvalidSyntax(_) => Some(NotifyType::INVALID_SYNTAX),
        }
    }

    /// The value for the Notification Data of the answer: UNSUPPORTED_CRITICAL_PAYLOAD carries
    /// the one-octet payload type (RFC 7296 3.10.1); INVALID_MAJOR_VERSION carries nothing (the
    /// answer's own header says version 2).
    pub fn notify_data(&self) -> Vec<u8> {
        match self {
            ParseError::UnsupportedCriticalPayload(t) => vec![*t],
            _ => Vec::new(),
        }
    }

    /// A stable name for counters and logs.
    pub fn counter_name(&self) -> &'static str {
        match self {
            ParseError::TooShort(_) => "too_short",
            ParseError::UnsupportedMajorVersion(_) => "unsupported_major_version",
            ParseError::ObsoleteMajorVersion(_) => "obsolete_major_version",
            ParseError::TooLarge(_) => "too_large",
            ParseError::LengthMismatch { .. } => "length_mismatch",
            ParseError::Truncated { .. } => "truncated",
            ParseError::BadLength { .. } => "bad_length",
            ParseError::UnsupportedCriticalPayload(_) => "unsupported_critical_payload",
            ParseError::PayloadAfterSk => "payload_after_sk",
            ParseError::NestedSk => "nested_sk",
            ParseError::BadProposalNumber { .. } => "bad_proposal_number",
            ParseError::BadSpiSize { .. } => "bad_spi_size",
            ParseError::BadNonceLength(_) => "bad_nonce_length",
            ParseError::InvalidSyntax(_) => "invalid_syntax",
        }
    }
}

/// Why a message could not be built: a field too large for the width the wire gives it, or a
/// payload list that has no encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    /// A structure longer than its length field can say (or the whole message over
    /// `MAX_MESSAGE_LEN`).
    #[error("{what} too long for its length field")]
    TooLong { what: &'static str },
    /// More items (or a larger size) than a count field can say.
    #[error("too many {what} for their count field")]
    TooMany { what: &'static str },
    /// An SK or SKF payload that is not the last one.
    #[error("the encrypted payload is not the last one")]
    SkNotLast,
    /// An SK or SKF payload in a chain meant to be encrypted.
    #[error("encrypted payload inside the chain to encrypt")]
    NestedSk,
    /// Values that contradict each other (such as an SPI of the wrong size).
    #[error("inconsistent payload: {0}")]
    Inconsistent(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_mapping() {
        assert_eq!(ParseError::TooShort(3).notify(), None);
        assert_eq!(ParseError::ObsoleteMajorVersion(1).notify(), None);
        assert_eq!(ParseError::TooLarge(70000).notify(), None);
        assert_eq!(
            ParseError::UnsupportedMajorVersion(3).notify(),
            Some(NotifyType::INVALID_MAJOR_VERSION)
        );
        let crit = ParseError::UnsupportedCriticalPayload(99);
        assert_eq!(
            crit.notify(),
            Some(NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD)
        );
        assert_eq!(crit.notify_data(), vec![99]);
        assert_eq!(
            ParseError::PayloadAfterSk.notify(),
            Some(NotifyType::INVALID_SYNTAX)
        );
        assert_eq!(
            ParseError::InvalidSyntax("x").notify_data(),
            Vec::<u8>::new()
        );
    }

    #[test]
    fn counter_names_are_distinct() {
        let all = [
            ParseError::TooShort(0),
            ParseError::UnsupportedMajorVersion(3),
            ParseError::ObsoleteMajorVersion(1),
            ParseError::TooLarge(0),
            ParseError::LengthMismatch {
                header: 0,
                datagram: 0,
            },
            ParseError::Truncated { what: "" },
            ParseError::BadLength { what: "" },
            ParseError::UnsupportedCriticalPayload(0),
            ParseError::PayloadAfterSk,
            ParseError::NestedSk,
            ParseError::BadProposalNumber {
                expected: 1,
                found: 2,
            },
            ParseError::BadSpiSize {
                protocol: 3,
                size: 1,
            },
            ParseError::BadNonceLength(0),
            ParseError::InvalidSyntax(""),
        ];
        let mut names: Vec<_> = all.iter().map(|e| e.counter_name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
    }
}
