//! DPDK-free pieces that every process of the gateway shares: the configuration files'
//! tokenizer and `file:line: reason` errors, one duration grammar, a MAC address type, and
//! the Internet checksum.
#![forbid(unsafe_code)]

pub mod checksum;
pub mod config;
pub mod duration;
pub mod mac;

pub use config::{ConfigError, Words};
pub use mac::MacAddr;
