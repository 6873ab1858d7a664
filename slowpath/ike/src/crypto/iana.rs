//! IANA IKEv2 numbers (RFC 7296 3.3, IANA "IKEv2 Parameters"): protocol IDs, transform
//! types and the transform IDs this implementation knows. Plain numbers, so that the PRF,
//! the suite and the message codec can all name them without importing each other.

// Security Protocol IDs (RFC 7296 3.3.1).
pub const PROTO_IKE: u8 = 1;
pub const PROTO_AH: u8 = 2;
pub const PROTO_ESP: u8 = 3;

// Transform types (RFC 7296 3.3.2).
pub const TRANSFORM_ENCR: u8 = 1;
pub const TRANSFORM_PRF: u8 = 2;
pub const TRANSFORM_INTEG: u8 = 3;
pub const TRANSFORM_DH: u8 = 4;
pub const TRANSFORM_ESN: u8 = 5;

/// Transform attribute type Key Length, in bits (RFC 7296 3.3.5).
pub const ATTR_KEY_LENGTH: u16 = 14;

// Type 1, encryption.
pub const ENCR_AES_CBC: u16 = 12;
pub const ENCR_AES_GCM_16: u16 = 20;

// Type 2, pseudorandom functions.
pub const PRF_HMAC_SHA1: u16 = 2;
pub const PRF_HMAC_SHA2_256: u16 = 5;
pub const PRF_HMAC_SHA2_384: u16 = 6;
pub const PRF_HMAC_SHA2_512: u16 = 7;

// Type 3, integrity.
pub const AUTH_NONE: u16 = 0;
pub const AUTH_HMAC_SHA1_96: u16 = 2;
pub const AUTH_HMAC_SHA2_256_128: u16 = 12;
pub const AUTH_HMAC_SHA2_384_192: u16 = 13;
pub const AUTH_HMAC_SHA2_512_256: u16 = 14;

// Type 4, key exchange (D-H) groups.
pub const DH_NONE: u16 = 0;
pub const MODP_1024: u16 = 2;
pub const MODP_2048: u16 = 14;
pub const MODP_3072: u16 = 15;
pub const ECP_256: u16 = 19;
pub const ECP_384: u16 = 20;
pub const ECP_521: u16 = 21;
pub const CURVE25519: u16 = 31;

// Type 5, extended sequence numbers.
pub const ESN_NO: u16 = 0;
pub const ESN_YES: u16 = 1;
