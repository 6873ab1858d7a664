//! IKEv2 protocol core: no I/O, time is an input.
pub mod crypto;
pub mod message;
