//! What names a payload (RFC 7296 3.2): its type code, which the generic payload header and
//! the IKE header carry, and for IDi/IDr and TSi/TSr the side it speaks for.

use super::code::code_point;

code_point! {
    /// Payload Type (RFC 7296 3.2; IANA "IKEv2 Payload Types").
    PayloadType(u8) {
        NO_NEXT_PAYLOAD = 0,
        SA = 33,
        KE = 34,
        IDI = 35,
        IDR = 36,
        CERT = 37,
        CERTREQ = 38,
        AUTH = 39,
        NONCE = 40,
        NOTIFY = 41,
        DELETE = 42,
        VENDOR_ID = 43,
        TSI = 44,
        TSR = 45,
        SK = 46,
        CP = 47,
        EAP = 48,
        /// RFC 6467; not parsed (kept as `Unknown`).
        GSPM = 49,
        /// RFC 7383.
        SKF = 53,
        /// RFC 8019; not parsed (kept as `Unknown`).
        PS = 54,
    }
}

impl PayloadType {
    /// The types this codec parses. Only these are "understood" in the sense of the critical
    /// bit (RFC 7296 2.5): any other type is skipped, or refused when critical.
    pub fn is_understood(self) -> bool {
        matches!(self.0, 33..=48 | 53)
    }
}

/// Which end a payload speaks for: IDi/IDr, TSi/TSr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Initiator,
    Responder,
}
