//! IKEv2 cryptography: transforms, key exchange, key derivation, SK payload protection, AUTH.
//!
//! No I/O and no clock: everything here works on byte slices, and anything derived
//! from a peer's data fails with [`CryptoError`] rather than panicking.

#![forbid(unsafe_code)]

pub mod auth;
pub mod dh;
pub mod error;
pub mod iana;
pub mod keys;
pub mod nat;
pub mod prf;
pub mod proposal;
pub mod secret_serde;
pub mod sk;
pub mod transform;

pub use error::CryptoError;

#[cfg(test)]
mod flow_tests;
