//! IKEv1 (RFC 2407, 2408, 2409) beside IKEv2: the ISAKMP codec, key material and payload
//! encryption, and the exchanges built on them.

pub mod auth;
pub mod config;
pub mod crypt;
pub mod dpd;
pub mod dpd_probe;
pub mod keymat;
pub mod natt;
pub mod offers;
pub mod record;
pub mod signature;
pub mod vendor;
pub mod wire;

pub mod aggressive_mode;
pub mod auth_refusal;
pub mod conn_select;
pub mod cookie;
pub mod engine;
pub mod half_open;
pub mod informational;
mod informational_received;
pub mod isakmp_sa;
pub mod main_mode;
pub mod phase1;
mod phase1_refusal;
pub mod quick_mode;
mod quick_mode_parts;
pub mod reauth;
pub mod selectors;

#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod half_open_tests;
#[cfg(test)]
mod vectors_tests;
