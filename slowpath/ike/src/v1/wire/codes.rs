//! ISAKMP / IPsec DOI code points (RFC 2407, 2408, 3706, 3947), one module per field.

/// Exchange types (RFC 2408 3.1, RFC 2409 for Quick Mode).
pub mod exchange {
    pub const BASE: u8 = 1;
    /// Main Mode.
    pub const IDENTITY_PROTECTION: u8 = 2;
    pub const AUTHENTICATION_ONLY: u8 = 3;
    pub const AGGRESSIVE: u8 = 4;
    pub const INFORMATIONAL: u8 = 5;
    pub const QUICK_MODE: u8 = 32;
    pub const NEW_GROUP_MODE: u8 = 33;
}

/// Header flags (RFC 2408 3.1).
pub mod flags {
    pub const ENCRYPTION: u8 = 1;
    pub const COMMIT: u8 = 2;
    pub const AUTH_ONLY: u8 = 4;
}

/// Next Payload values (RFC 2408 3.1, RFC 3947 for NAT-D and NAT-OA).
pub mod payload_type {
    pub const NONE: u8 = 0;
    pub const SA: u8 = 1;
    pub const PROPOSAL: u8 = 2;
    pub const TRANSFORM: u8 = 3;
    pub const KE: u8 = 4;
    pub const ID: u8 = 5;
    pub const CERT: u8 = 6;
    pub const CR: u8 = 7;
    pub const HASH: u8 = 8;
    pub const SIG: u8 = 9;
    pub const NONCE: u8 = 10;
    pub const N: u8 = 11;
    pub const D: u8 = 12;
    pub const VID: u8 = 13;
    pub const NAT_D: u8 = 20;
    pub const NAT_OA: u8 = 21;
}

/// Domains of interpretation.
pub mod doi {
    pub const ISAKMP: u32 = 0;
    /// The IPsec DOI (RFC 2407).
    pub const IPSEC: u32 = 1;
    /// The only situation spoken (RFC 2407 4.2.1).
    pub const SIT_IDENTITY_ONLY: u32 = 1;
}

/// Protocol IDs of proposals, notifications and deletes (RFC 2407 4.4.1).
pub mod protocol {
    pub const ISAKMP: u8 = 1;
    pub const IPSEC_AH: u8 = 2;
    pub const IPSEC_ESP: u8 = 3;
    pub const IPCOMP: u8 = 4;
}

/// Phase 1 transform ID (RFC 2407 4.4.2).
pub const KEY_IKE: u8 = 1;

/// Identification types (RFC 2407 4.6.2.1).
pub mod id_type {
    pub const IPV4_ADDR: u8 = 1;
    pub const FQDN: u8 = 2;
    pub const USER_FQDN: u8 = 3;
    pub const IPV4_ADDR_SUBNET: u8 = 4;
    pub const IPV6_ADDR: u8 = 5;
    pub const IPV6_ADDR_SUBNET: u8 = 6;
    pub const IPV4_ADDR_RANGE: u8 = 7;
    pub const IPV6_ADDR_RANGE: u8 = 8;
    pub const DER_ASN1_DN: u8 = 9;
    pub const DER_ASN1_GN: u8 = 10;
    pub const KEY_ID: u8 = 11;
}

/// Certificate encodings of CERT and CR (RFC 2408 3.9).
pub mod cert_encoding {
    pub const PKCS7_WRAPPED_X509: u8 = 1;
    pub const X509_SIGNATURE: u8 = 4;
    pub const CRL: u8 = 7;
}

/// Notify message types: the errors of RFC 2408 3.14.1, the IPsec DOI status types (RFC 2407
/// 4.6.3) and DPD (RFC 3706).
pub mod notify_type {
    pub const INVALID_PAYLOAD_TYPE: u16 = 1;
    pub const DOI_NOT_SUPPORTED: u16 = 2;
    pub const SITUATION_NOT_SUPPORTED: u16 = 3;
    pub const INVALID_COOKIE: u16 = 4;
    pub const INVALID_MAJOR_VERSION: u16 = 5;
    pub const INVALID_MINOR_VERSION: u16 = 6;
    pub const INVALID_EXCHANGE_TYPE: u16 = 7;
    pub const INVALID_FLAGS: u16 = 8;
    pub const INVALID_MESSAGE_ID: u16 = 9;
    pub const INVALID_PROTOCOL_ID: u16 = 10;
    pub const INVALID_SPI: u16 = 11;
    pub const INVALID_TRANSFORM_ID: u16 = 12;
    pub const ATTRIBUTES_NOT_SUPPORTED: u16 = 13;
    pub const NO_PROPOSAL_CHOSEN: u16 = 14;
    pub const BAD_PROPOSAL_SYNTAX: u16 = 15;
    pub const PAYLOAD_MALFORMED: u16 = 16;
    pub const INVALID_KEY_INFORMATION: u16 = 17;
    pub const INVALID_ID_INFORMATION: u16 = 18;
    pub const INVALID_CERT_ENCODING: u16 = 19;
    pub const INVALID_CERTIFICATE: u16 = 20;
    pub const CERT_TYPE_UNSUPPORTED: u16 = 21;
    pub const INVALID_CERT_AUTHORITY: u16 = 22;
    pub const INVALID_HASH_INFORMATION: u16 = 23;
    pub const AUTHENTICATION_FAILED: u16 = 24;
    pub const INVALID_SIGNATURE: u16 = 25;
    pub const ADDRESS_NOTIFICATION: u16 = 26;
    pub const NOTIFY_SA_LIFETIME: u16 = 27;
    pub const CERTIFICATE_UNAVAILABLE: u16 = 28;
    pub const UNSUPPORTED_EXCHANGE_TYPE: u16 = 29;
    pub const UNEQUAL_PAYLOAD_LENGTHS: u16 = 30;
    /// Status types start here (RFC 2408 3.14.1).
    pub const CONNECTED: u16 = 16384;
    pub const RESPONDER_LIFETIME: u16 = 24576;
    pub const REPLAY_STATUS: u16 = 24577;
    pub const INITIAL_CONTACT: u16 = 24578;
    pub const R_U_THERE: u16 = 36136;
    pub const R_U_THERE_ACK: u16 = 36137;

    /// Error types are below 16384; status types from there up.
    pub fn is_error(kind: u16) -> bool {
        kind < CONNECTED
    }
}
