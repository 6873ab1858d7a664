//! The negotiated pseudorandom function (HMAC, RFC 2104 / RFC 4868) and prf+
//! (RFC 7296 2.13).

use super::error::{CryptoError, Result};
use super::iana::{PRF_HMAC_SHA1, PRF_HMAC_SHA2_256, PRF_HMAC_SHA2_384, PRF_HMAC_SHA2_512};
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use zeroize::Zeroizing;

/// An IKEv2 PRF: HMAC over one of the SHA family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Prf {
    HmacSha1,
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

impl Prf {
    /// From the IANA Transform Type 2 ID.
    pub fn from_id(id: u16) -> Result<Self> {
        match id {
            PRF_HMAC_SHA1 => Ok(Prf::HmacSha1),
            PRF_HMAC_SHA2_256 => Ok(Prf::HmacSha256),
            PRF_HMAC_SHA2_384 => Ok(Prf::HmacSha384),
            PRF_HMAC_SHA2_512 => Ok(Prf::HmacSha512),
            _ => Err(CryptoError::Unsupported { kind: "PRF", id }),
        }
    }

    /// The IANA Transform Type 2 ID.
    pub fn id(self) -> u16 {
        match self {
            Prf::HmacSha1 => PRF_HMAC_SHA1,
            Prf::HmacSha256 => PRF_HMAC_SHA2_256,
            Prf::HmacSha384 => PRF_HMAC_SHA2_384,
            Prf::HmacSha512 => PRF_HMAC_SHA2_512,
        }
    }

    /// Output bytes of one PRF call.
    pub fn output_len(self) -> usize {
        match self {
            Prf::HmacSha1 => 20,
            Prf::HmacSha256 => 32,
            Prf::HmacSha384 => 48,
            Prf::HmacSha512 => 64,
        }
    }

    /// The "preferred key length" that sizes SK_d, SK_pi and SK_pr (RFC 7296 2.14):
    /// for HMAC, the output length (RFC 4868 2.1.2).
    pub fn key_len(self) -> usize {
        self.output_len()
    }

    pub fn digest(self) -> MessageDigest {
        match self {
            Prf::HmacSha1 => MessageDigest::sha1(),
            Prf::HmacSha256 => MessageDigest::sha256(),
            Prf::HmacSha384 => MessageDigest::sha384(),
            Prf::HmacSha512 => MessageDigest::sha512(),
        }
    }

    /// prf(key, data).
    pub fn compute(self, key: &[u8], data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        hmac(self.digest(), key, &[data])
    }

    /// `prf(key, parts[0] | parts[1] | ...)`, without building the concatenation.
    pub fn compute_parts(self, key: &[u8], parts: &[&[u8]]) -> Result<Zeroizing<Vec<u8>>> {
        hmac(self.digest(), key, parts)
    }
}

/// HMAC with a key of any length (longer than a block is hashed, shorter is zero-padded).
pub(crate) fn hmac(md: MessageDigest, key: &[u8], parts: &[&[u8]]) -> Result<Zeroizing<Vec<u8>>> {
    // HMAC pads short keys with zeros, so an empty key is the same as one zero byte;
    // OpenSSL refuses a zero-length raw key.
    let key = if key.is_empty() { &[0u8][..] } else { key };
    let pkey = PKey::hmac(key)?;
    let mut signer = Signer::new(md, &pkey)?;
    for part in parts {
        signer.update(part)?;
    }
    Ok(Zeroizing::new(signer.sign_to_vec()?))
}

/// prf+(K, S) = T1 | T2 | ... truncated to `len` bytes, where
/// T1 = prf(K, S | 0x01) and Tn = prf(K, Tn-1 | S | n) (RFC 7296 2.13).
///
/// The counter is one octet, so at most 255 blocks can be produced.
pub fn prf_plus(prf: Prf, key: &[u8], seed: &[u8], len: usize) -> Result<Zeroizing<Vec<u8>>> {
    let blocks = len.div_ceil(prf.output_len());
    if blocks > 255 {
        return Err(CryptoError::PrfPlusTooLong(len));
    }
    let mut out = Zeroizing::new(Vec::with_capacity(blocks * prf.output_len()));
    let mut prev: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::new());
    for n in 1..=blocks {
        // n <= 255 was checked above.
        let counter = [n as u8];
        prev = prf.compute_parts(key, &[&prev, seed, &counter])?;
        out.extend_from_slice(&prev);
    }
    out.truncate(len);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    // RFC 4231 test case 2 (short key "Jefe"), and RFC 2202 test case 2 for SHA-1.
    #[test]
    fn hmac_known_answers() {
        let data = b"what do ya want for nothing?";
        assert_eq!(
            *Prf::HmacSha1.compute(b"Jefe", data).unwrap(),
            h("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
        );
        assert_eq!(
            *Prf::HmacSha256.compute(b"Jefe", data).unwrap(),
            h("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
        assert_eq!(
            *Prf::HmacSha384.compute(b"Jefe", data).unwrap(),
            h(
                "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e\
               8e2240ca5e69e2c78b3239ecfab21649"
            )
        );
        assert_eq!(
            *Prf::HmacSha512.compute(b"Jefe", data).unwrap(),
            h(
                "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
               9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
            )
        );
    }

    // RFC 4231 test case 6: a 131-byte key, longer than the block, is hashed first.
    #[test]
    fn hmac_long_key() {
        let key = [0xaau8; 131];
        assert_eq!(
            *Prf::HmacSha256
                .compute(
                    &key,
                    b"Test Using Larger Than Block-Size Key - Hash Key First"
                )
                .unwrap(),
            h("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        );
    }

    #[test]
    fn empty_key_is_zero_padded() {
        let a = Prf::HmacSha256.compute(b"", b"x").unwrap();
        let b = Prf::HmacSha256.compute(&[0u8; 64], b"x").unwrap();
        assert_eq!(*a, *b);
    }

    #[test]
    fn ids_round_trip() {
        for p in [
            Prf::HmacSha1,
            Prf::HmacSha256,
            Prf::HmacSha384,
            Prf::HmacSha512,
        ] {
            assert_eq!(Prf::from_id(p.id()).unwrap(), p);
            assert_eq!(p.compute(b"k", b"d").unwrap().len(), p.output_len());
        }
        assert!(Prf::from_id(4).is_err()); // AES128_XCBC: not implemented
    }

    // prf+ computed block by block by hand, independently of the loop above.
    #[test]
    fn prf_plus_by_hand() {
        let (k, s) = (b"key".as_slice(), b"seed".as_slice());
        let p = Prf::HmacSha1;
        let t1 = p.compute(k, &[s, &[1]].concat()).unwrap();
        let t2 = p.compute(k, &[&t1[..], s, &[2]].concat()).unwrap();
        let t3 = p.compute(k, &[&t2[..], s, &[3]].concat()).unwrap();
        let expect = [&t1[..], &t2[..], &t3[..]].concat();
        for len in [0, 1, 19, 20, 21, 40, 41, 60] {
            assert_eq!(*prf_plus(p, k, s, len).unwrap(), expect[..len]);
        }
    }

    #[test]
    fn prf_plus_block_limit() {
        assert_eq!(
            prf_plus(Prf::HmacSha1, b"k", b"s", 255 * 20).unwrap().len(),
            5100
        );
        assert!(matches!(
            prf_plus(Prf::HmacSha1, b"k", b"s", 255 * 20 + 1),
            Err(CryptoError::PrfPlusTooLong(5101))
        ));
    }
}
