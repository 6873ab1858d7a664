//! The sizes that follow from the IANA IKEv2 transform numbers (RFC 7296 3.3.2, in
//! [`super::iana`], re-exported here), plus [`Suite`]: one negotiated choice per type.

use super::error::{CryptoError, Result};
use super::prf::Prf;
use openssl::hash::MessageDigest;

pub use super::iana::*;

/// What an encryption transform (with its key length) needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncrInfo {
    pub id: u16,
    pub key_bits: u16,
    /// Cipher key bytes.
    pub key_len: usize,
    /// Salt bytes appended to the key in the keying material (RFC 5282, RFC 4106).
    pub salt_len: usize,
    /// Alignment of Payloads | Padding | Pad Length.
    pub block_size: usize,
    /// IV bytes sent in the SK payload.
    pub iv_len: usize,
    /// Tag bytes of an AEAD cipher; 0 for CBC, whose ICV comes from the integrity transform.
    pub aead_icv_len: usize,
}

impl EncrInfo {
    /// Bytes taken from prf+ for this cipher: key, then salt.
    pub fn keymat_len(&self) -> usize {
        self.key_len + self.salt_len
    }

    /// Combined mode: no separate integrity transform.
    pub fn is_aead(&self) -> bool {
        self.aead_icv_len != 0
    }
}

/// Looks an encryption transform up; AES needs its Key Length attribute.
pub fn encr_info(id: u16, key_bits: u16) -> Result<EncrInfo> {
    let key_len = match key_bits {
        128 | 192 | 256 => usize::from(key_bits / 8),
        _ => {
            return Err(CryptoError::KeyLength {
                kind: "encryption",
                id,
                bits: key_bits,
            })
        }
    };
    match id {
        ENCR_AES_CBC => Ok(EncrInfo {
            id,
            key_bits,
            key_len,
            salt_len: 0,
            block_size: 16,
            iv_len: 16,
            aead_icv_len: 0,
        }),
        // RFC 5282: 4-byte salt, 8-byte explicit IV, no alignment, 16-byte ICV.
        ENCR_AES_GCM_16 => Ok(EncrInfo {
            id,
            key_bits,
            key_len,
            salt_len: 4,
            block_size: 1,
            iv_len: 8,
            aead_icv_len: 16,
        }),
        _ => Err(CryptoError::Unsupported {
            kind: "encryption",
            id,
        }),
    }
}

/// What an integrity transform needs: HMAC with a truncated output.
#[derive(Clone, Copy)]
pub struct IntegInfo {
    pub id: u16,
    pub key_len: usize,
    pub icv_len: usize,
    pub digest: MessageDigest,
}

impl std::fmt::Debug for IntegInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntegInfo")
            .field("id", &self.id)
            .field("key_len", &self.key_len)
            .field("icv_len", &self.icv_len)
            .finish()
    }
}

/// Looks an integrity transform up (RFC 2404, RFC 4868: key = full digest size).
pub fn integ_info(id: u16) -> Result<IntegInfo> {
    let (key_len, icv_len, digest) = match id {
        AUTH_HMAC_SHA1_96 => (20, 12, MessageDigest::sha1()),
        AUTH_HMAC_SHA2_256_128 => (32, 16, MessageDigest::sha256()),
        AUTH_HMAC_SHA2_384_192 => (48, 24, MessageDigest::sha384()),
        AUTH_HMAC_SHA2_512_256 => (64, 32, MessageDigest::sha512()),
        _ => {
            return Err(CryptoError::Unsupported {
                kind: "integrity",
                id,
            })
        }
    };
    Ok(IntegInfo {
        id,
        key_len,
        icv_len,
        digest,
    })
}

/// Sizes of a key exchange group's KE data and shared secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DhInfo {
    pub group: u16,
    /// Length of the Key Exchange Data in the KE payload.
    pub public_len: usize,
    /// Length of g^ir.
    pub shared_len: usize,
}

/// Looks a D-H group up.
pub fn dh_info(group: u16) -> Result<DhInfo> {
    let (public_len, shared_len) = match group {
        MODP_1024 => (128, 128),
        MODP_2048 => (256, 256),
        MODP_3072 => (384, 384),
        // RFC 5903: x | y, the shared secret is x alone.
        ECP_256 => (64, 32),
        ECP_384 => (96, 48),
        ECP_521 => (132, 66),
        CURVE25519 => (32, 32),
        _ => {
            return Err(CryptoError::Unsupported {
                kind: "D-H group",
                id: group,
            })
        }
    };
    Ok(DhInfo {
        group,
        public_len,
        shared_len,
    })
}

/// One negotiated choice per transform type, for an IKE SA or a Child SA.
///
/// `integ` is `None` for AEAD ciphers; `prf` is `None` for Child SAs; `dh` is
/// `None` when no key exchange was negotiated (a Child SA without PFS);
/// `esn` is `None` for IKE SAs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Suite {
    pub encr: u16,
    pub encr_key_bits: u16,
    pub integ: Option<u16>,
    pub prf: Option<u16>,
    pub dh: Option<u16>,
    pub esn: Option<bool>,
}

impl Suite {
    pub fn encr_info(&self) -> Result<EncrInfo> {
        encr_info(self.encr, self.encr_key_bits)
    }

    /// The integrity transform, `None` for AEAD; refuses AEAD with integrity and CBC without.
    pub fn integ_info(&self) -> Result<Option<IntegInfo>> {
        let aead = self.encr_info()?.is_aead();
        match (aead, self.integ) {
            (true, None | Some(AUTH_NONE)) => Ok(None),
            (false, Some(id)) if id != AUTH_NONE => integ_info(id).map(Some),
            (true, Some(id)) | (false, Some(id)) => Err(CryptoError::Unsupported {
                kind: "integrity (with this cipher)",
                id,
            }),
            (false, None) => Err(CryptoError::Unsupported {
                kind: "integrity (missing for a non-AEAD cipher)",
                id: AUTH_NONE,
            }),
        }
    }

    /// The PRF; an IKE SA suite must have one.
    pub fn prf(&self) -> Result<Prf> {
        match self.prf {
            Some(id) => Prf::from_id(id),
            None => Err(CryptoError::Unsupported {
                kind: "PRF (missing)",
                id: 0,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let gcm = encr_info(ENCR_AES_GCM_16, 256).unwrap();
        assert_eq!(
            (gcm.keymat_len(), gcm.iv_len, gcm.aead_icv_len),
            (36, 8, 16)
        );
        assert!(gcm.is_aead());
        let cbc = encr_info(ENCR_AES_CBC, 128).unwrap();
        assert_eq!((cbc.keymat_len(), cbc.block_size), (16, 16));
        assert!(!cbc.is_aead());
        assert_eq!(integ_info(AUTH_HMAC_SHA2_384_192).unwrap().icv_len, 24);
        assert_eq!(dh_info(ECP_384).unwrap().public_len, 96);
        assert_eq!(dh_info(MODP_3072).unwrap().shared_len, 384);
    }

    #[test]
    fn rejects_unknown() {
        assert!(encr_info(ENCR_AES_CBC, 0).is_err());
        assert!(encr_info(ENCR_AES_CBC, 512).is_err());
        assert!(encr_info(3, 128).is_err()); // 3DES
        assert!(integ_info(1).is_err()); // HMAC-MD5-96
        assert!(dh_info(5).is_err());
    }

    #[test]
    fn suite_integ_consistency() {
        let mut s = Suite {
            encr: ENCR_AES_GCM_16,
            encr_key_bits: 128,
            integ: None,
            prf: Some(PRF_HMAC_SHA2_256),
            dh: Some(ECP_256),
            esn: None,
        };
        assert!(s.integ_info().unwrap().is_none());
        s.integ = Some(AUTH_HMAC_SHA1_96);
        assert!(s.integ_info().is_err());
        s.encr = ENCR_AES_CBC;
        assert_eq!(s.integ_info().unwrap().unwrap().icv_len, 12);
        s.integ = None;
        assert!(s.integ_info().is_err());
    }
}
