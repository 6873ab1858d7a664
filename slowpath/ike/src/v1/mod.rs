//! IKEv1 (RFC 2407, 2408, 2409) beside IKEv2, sharing its crypto, proposals and identities.

pub mod config;
pub mod dpd;
pub mod natt;
pub mod vendor;
