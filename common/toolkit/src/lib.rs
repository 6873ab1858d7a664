//! DPDK-free pieces that every process of the gateway shares: the configuration files'
//! tokenizer and `file:line: reason` errors, one duration grammar, a MAC address type, the
//! Internet checksum, and the frames that announce a node (gratuitous ARP, unsolicited NA).
#![forbid(unsafe_code)]

pub mod announce;
pub mod checksum;
pub mod config;
pub mod duration;
pub mod mac;
pub mod xorshift;

pub use config::{ConfigError, Words};
pub use mac::MacAddr;
