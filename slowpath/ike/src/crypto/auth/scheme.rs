//! Signature schemes of the Digital Signature method (RFC 7427): their DER
//! AlgorithmIdentifiers (Appendix A), the hash identifiers of the
//! SIGNATURE_HASH_ALGORITHMS notify, and our choice of scheme for a key.

use crate::crypto::error::{CryptoError, Result};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, Id, PKeyRef};

// RFC 7427 Hash Algorithm Identifiers (and RFC 8420 Identity).
pub const HASH_SHA1: u16 = 1;
pub const HASH_SHA2_256: u16 = 2;
pub const HASH_SHA2_384: u16 = 3;
pub const HASH_SHA2_512: u16 = 4;
pub const HASH_IDENTITY: u16 = 5;

/// What we announce in SIGNATURE_HASH_ALGORITHMS, in our order of preference.
pub const OUR_HASH_ALGORITHMS: [u16; 4] =
    [HASH_SHA2_256, HASH_SHA2_384, HASH_SHA2_512, HASH_IDENTITY];

/// SIGNATURE_HASH_ALGORITHMS notification data: a list of 16-bit identifiers.
pub fn encode_hash_algorithms(ids: &[u16]) -> Vec<u8> {
    ids.iter().flat_map(|id| id.to_be_bytes()).collect()
}

/// Parses SIGNATURE_HASH_ALGORITHMS notification data; unknown IDs are kept.
pub fn decode_hash_algorithms(data: &[u8]) -> Result<Vec<u16>> {
    if !data.len().is_multiple_of(2) {
        return Err(CryptoError::BadAuth("odd SIGNATURE_HASH_ALGORITHMS length"));
    }
    Ok(data
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect())
}

/// A hash of the SHA family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigHash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl SigHash {
    pub fn digest(self) -> MessageDigest {
        match self {
            SigHash::Sha1 => MessageDigest::sha1(),
            SigHash::Sha256 => MessageDigest::sha256(),
            SigHash::Sha384 => MessageDigest::sha384(),
            SigHash::Sha512 => MessageDigest::sha512(),
        }
    }

    /// The RFC 7427 Hash Algorithm Identifier.
    pub fn id(self) -> u16 {
        match self {
            SigHash::Sha1 => HASH_SHA1,
            SigHash::Sha256 => HASH_SHA2_256,
            SigHash::Sha384 => HASH_SHA2_384,
            SigHash::Sha512 => HASH_SHA2_512,
        }
    }

    /// Digest length in bytes (also the RSASSA-PSS salt length used here).
    pub(crate) fn len(self) -> usize {
        match self {
            SigHash::Sha1 => 20,
            SigHash::Sha256 => 32,
            SigHash::Sha384 => 48,
            SigHash::Sha512 => 64,
        }
    }
}

/// The signature algorithm of an RFC 7427 AUTH payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigScheme {
    RsaPkcs1(SigHash),
    /// RSASSA-PSS with MGF1 over the same hash and a salt of the hash's length.
    RsaPss(SigHash),
    Ecdsa(SigHash),
    Ed25519,
}

// RFC 7427 Appendix A (A.1 PKCS#1 1.5, A.3 ECDSA, A.4.3 RSASSA-PSS) and RFC 8420 (Ed25519).
const SHA1_WITH_RSA: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05, 0x05, 0x00,
];
const SHA256_WITH_RSA: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
];
const SHA384_WITH_RSA: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c, 0x05, 0x00,
];
const SHA512_WITH_RSA: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d, 0x05, 0x00,
];
const ECDSA_WITH_SHA1: &[u8] = &[
    0x30, 0x09, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01,
];
const ECDSA_WITH_SHA256: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
];
const ECDSA_WITH_SHA384: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03,
];
const ECDSA_WITH_SHA512: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04,
];
const ED25519: &[u8] = &[0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];

/// RSASSA-PSS AlgorithmIdentifier with hash, MGF1(hash) and salt length parameters;
/// the three variants differ only in the hash OID's last octet and the salt length.
#[rustfmt::skip]
const fn rsa_pss(hash_oid_last: u8, salt: u8) -> [u8; 67] {
    [
        0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x34,
        0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
        hash_oid_last, 0x05, 0x00,
        0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08,
        0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
        hash_oid_last, 0x05, 0x00,
        0xa2, 0x03, 0x02, 0x01, salt,
    ]
}
const PSS_SHA256: [u8; 67] = rsa_pss(0x01, 0x20);
const PSS_SHA384: [u8; 67] = rsa_pss(0x02, 0x30);
const PSS_SHA512: [u8; 67] = rsa_pss(0x03, 0x40);

const SCHEMES: [(SigScheme, &[u8]); 12] = [
    (SigScheme::RsaPkcs1(SigHash::Sha1), SHA1_WITH_RSA),
    (SigScheme::RsaPkcs1(SigHash::Sha256), SHA256_WITH_RSA),
    (SigScheme::RsaPkcs1(SigHash::Sha384), SHA384_WITH_RSA),
    (SigScheme::RsaPkcs1(SigHash::Sha512), SHA512_WITH_RSA),
    (SigScheme::RsaPss(SigHash::Sha256), &PSS_SHA256),
    (SigScheme::RsaPss(SigHash::Sha384), &PSS_SHA384),
    (SigScheme::RsaPss(SigHash::Sha512), &PSS_SHA512),
    (SigScheme::Ecdsa(SigHash::Sha1), ECDSA_WITH_SHA1),
    (SigScheme::Ecdsa(SigHash::Sha256), ECDSA_WITH_SHA256),
    (SigScheme::Ecdsa(SigHash::Sha384), ECDSA_WITH_SHA384),
    (SigScheme::Ecdsa(SigHash::Sha512), ECDSA_WITH_SHA512),
    (SigScheme::Ed25519, ED25519),
];

impl SigScheme {
    /// The DER AlgorithmIdentifier carried in the AUTH data; `None` for RSASSA-PSS with SHA-1.
    pub fn algorithm_identifier(self) -> Option<&'static [u8]> {
        SCHEMES
            .iter()
            .find(|(s, _)| *s == self)
            .map(|(_, der)| *der)
    }

    /// The scheme named by a received AlgorithmIdentifier (exact DER match).
    pub fn from_algorithm_identifier(der: &[u8]) -> Option<Self> {
        SCHEMES.iter().find(|(_, d)| *d == der).map(|(s, _)| *s)
    }

    /// The hash applied before signing; `None` for Ed25519, which signs the octets.
    pub fn hash(self) -> Option<SigHash> {
        match self {
            SigScheme::RsaPkcs1(h) | SigScheme::RsaPss(h) | SigScheme::Ecdsa(h) => Some(h),
            SigScheme::Ed25519 => None,
        }
    }

    /// The RFC 7427 hash ID this scheme uses (Identity for Ed25519).
    pub fn hash_id(self) -> u16 {
        self.hash().map_or(HASH_IDENTITY, SigHash::id)
    }

    /// Our choice for `key` among the hashes the peer announced (an empty list, when the
    /// peer sent no SIGNATURE_HASH_ALGORITHMS, allows our default): EC keys prefer the
    /// hash that matches their curve, RSA prefers SHA-256 with PKCS#1 v1.5.
    pub fn for_key<T: HasPublic>(key: &PKeyRef<T>, peer_hashes: &[u16]) -> Option<Self> {
        let ok = |h: u16| peer_hashes.is_empty() || peer_hashes.contains(&h);
        let sha2 = [SigHash::Sha256, SigHash::Sha384, SigHash::Sha512];
        match key.id() {
            Id::ED25519 => ok(HASH_IDENTITY).then_some(SigScheme::Ed25519),
            Id::RSA => sha2
                .into_iter()
                .find(|h| ok(h.id()))
                .map(SigScheme::RsaPkcs1),
            Id::EC => {
                let curve_hash = match ec_curve(key) {
                    Some(Nid::SECP384R1) => SigHash::Sha384,
                    Some(Nid::SECP521R1) => SigHash::Sha512,
                    _ => SigHash::Sha256,
                };
                std::iter::once(curve_hash)
                    .chain(sha2)
                    .find(|h| ok(h.id()))
                    .map(SigScheme::Ecdsa)
            }
            _ => None,
        }
    }

    /// The key type this scheme signs with.
    pub(crate) fn key_id(self) -> Id {
        match self {
            SigScheme::RsaPkcs1(_) | SigScheme::RsaPss(_) => Id::RSA,
            SigScheme::Ecdsa(_) => Id::EC,
            SigScheme::Ed25519 => Id::ED25519,
        }
    }
}

pub(crate) fn ec_curve<T: HasPublic>(key: &PKeyRef<T>) -> Option<Nid> {
    key.ec_key().ok().and_then(|k| k.group().curve_name())
}
