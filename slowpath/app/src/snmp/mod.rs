//! SNMP notifications of the slow path's events: our MIB's traps (`mibs/IPSEC-GW-MIB.txt`)
//! sent as SNMPv2c or SNMPv3 (USM, authPriv) to every configured receiver.
//! - [`ber`]: the BER encodings;
//! - [`usm`]: keys, MACs and AES-CFB of the User-based Security Model;
//! - [`message`]: whole v2c and v3 trap messages;
//! - [`mib`]: our MIB's OIDs, and an event turned into a notification and its varbinds;
//! - [`limit`]: each receiver's rate limit, a token bucket;
//! - [`sender`]: the receivers, our engine's boots and time, a non-blocking socket.

pub mod ber;
pub mod limit;
pub mod message;
pub mod mib;
pub mod sender;
pub mod usm;

pub use sender::{TrapReceiverStatus, TrapSender};
