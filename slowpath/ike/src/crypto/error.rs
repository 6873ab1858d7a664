//! The one error type of `ike::crypto`.
//!
//! Variants say what went wrong without carrying secret material: a peer's bad
//! value is reported by its length or kind, never by its bytes.

use openssl::error::ErrorStack;
use thiserror::Error;

/// Everything that can fail in key exchange, key derivation, SK protection and AUTH.
#[derive(Debug, Error)]
pub enum CryptoError {
    /// A transform ID (of the named type) we do not implement.
    #[error("unsupported {kind} transform {id}")]
    Unsupported { kind: &'static str, id: u16 },
    /// A key length attribute that the transform does not allow.
    #[error("unsupported key length {bits} bits for {kind} transform {id}")]
    KeyLength {
        kind: &'static str,
        id: u16,
        bits: u16,
    },
    /// A key of the wrong size was handed to a cipher or MAC.
    #[error("{what}: expected {expected} bytes, got {got}")]
    BadLength {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    /// prf+ was asked for more than 255 blocks (RFC 7296 2.13).
    #[error("prf+ output of {0} bytes needs more than 255 blocks")]
    PrfPlusTooLong(usize),
    /// The peer's KE data is not a valid public value for the group.
    #[error("invalid key exchange public value for group {group}: {reason}")]
    InvalidPublicValue { group: u16, reason: &'static str },
    /// The SK payload body is too short or not a whole number of blocks.
    #[error("malformed Encrypted payload: {0}")]
    Malformed(&'static str),
    /// The ICV (CBC+HMAC) or the GCM tag did not verify.
    #[error("integrity check failed")]
    IntegrityCheckFailed,
    /// The decrypted Pad Length points outside the plaintext.
    #[error("bad padding in Encrypted payload")]
    BadPadding,
    /// AUTH data did not verify (PSK MAC or signature).
    #[error("authentication failed")]
    AuthenticationFailed,
    /// AUTH data or a key does not fit the authentication method.
    #[error("bad AUTH: {0}")]
    BadAuth(&'static str),
    /// Certificate path validation or parsing failed.
    #[error("certificate: {0}")]
    Certificate(String),
    /// An error reported by OpenSSL.
    #[error("openssl: {0}")]
    OpenSsl(#[from] ErrorStack),
}

/// Result alias for this module.
pub type Result<T, E = CryptoError> = std::result::Result<T, E>;
