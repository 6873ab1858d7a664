//! The AUTH payload: shared-key MIC (RFC 7296 2.15), signatures (RFC 7296, RFC 4754,
//! RFC 7427) and the X.509 helpers that find and check the peer's public key.

pub mod cert;
pub mod psk;
pub mod scheme;
pub mod signature;
#[cfg(test)]
pub(crate) mod test_pki;

// Authentication Method (RFC 7296 3.8, RFC 4754, RFC 7427).
pub const AUTH_RSA_SIG: u8 = 1;
pub const AUTH_SHARED_KEY_MIC: u8 = 2;
pub const AUTH_ECDSA_SHA256_P256: u8 = 9;
pub const AUTH_ECDSA_SHA384_P384: u8 = 10;
pub const AUTH_ECDSA_SHA512_P521: u8 = 11;
pub const AUTH_DIGITAL_SIGNATURE: u8 = 14;

pub use psk::{psk_auth, psk_auth_for_octets, signed_octets, verify_psk_auth};
pub use scheme::{SigHash, SigScheme};
pub use signature::{sign, sign_digital_signature, verify};
