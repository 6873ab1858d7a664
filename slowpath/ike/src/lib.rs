//! IKEv2 protocol core: no I/O, time is an input.
//!
//! `message` and `crypto` are the codec and the cryptography; `sa` the IKE SA and CHILD SA
//! state machines (one file per exchange in `sa::exchange`); `responder` the stateless
//! handling of IKE_SA_INIT (cookies, limits); `half_open` the table of half-open SAs; `engine` the caller's entry point (`ha` its role in an HA pair); `crypto_group` the redundant tunnels (primary and secondary) of one traffic; `config`, `action`,
//! `pool`, `timers`, `retransmit` and `rng` what they say; `esp_spis` the inbound ESP SPIs both versions pick from. `v1` is IKEv1 (RFC 2407-2409): its codec,
//! key material and exchanges, on the same crypto.

#![forbid(unsafe_code)]
pub mod action;
pub mod config;
pub mod crypto;
pub mod crypto_group;
pub mod engine;
pub mod esp_spis;
pub mod ha;
pub mod half_open;
pub mod message;
pub mod pool;
pub mod responder;
pub mod retransmit;
pub mod rng;
pub mod rng_openssl;
pub mod sa;
pub mod timers;
pub mod v1;

#[cfg(test)]
mod tests;
