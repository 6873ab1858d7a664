//! Protection of the Encrypted (SK) payload: AES-CBC with HMAC (RFC 7296 3.14) and
//! AES-GCM (RFC 5282).
//!
//! The API works on raw bytes so it does not depend on the message codec. The caller
//! lays out the message up to the SK body (IKE header, any earlier payloads, the SK
//! generic payload header; for RFC 7383 fragments the Encrypted Fragment header), with
//! every length field already final (use [`SkCipher::sealed_len`]), and passes those
//! bytes as `prefix`. The SK body is `IV | ciphertext | ICV`, where the ciphertext
//! covers `inner payloads | Padding | Pad Length`.
//!
//! - CBC: IV random (RFC 7296 3.14: unpredictable); ICV = truncated HMAC over
//!   `prefix | IV | ciphertext`; it is checked before anything is decrypted.
//! - GCM: 8-byte explicit IV = a per-SA counter that must never repeat under one key;
//!   nonce = 4-byte salt | IV; AAD = `prefix` (RFC 5282 5.1).

use super::error::{CryptoError, Result};
use super::keys::IkeKeys;
use super::prf::hmac;
use super::transform::{encr_info, EncrInfo, IntegInfo, Suite, ENCR_AES_GCM_16};
use openssl::memcmp;
use openssl::rand::rand_bytes;
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher, Crypter, Mode};
use zeroize::Zeroizing;

/// One direction's SK_e (and SK_a) with the negotiated cipher.
pub struct SkCipher {
    encr: EncrInfo,
    cipher: Cipher,
    key: Zeroizing<Vec<u8>>,
    salt: Zeroizing<Vec<u8>>,
    integ: Option<(IntegInfo, Zeroizing<Vec<u8>>)>,
}

// Never print keys.
impl std::fmt::Debug for SkCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkCipher")
            .field("encr", &self.encr.id)
            .field("key_bits", &self.encr.key_bits)
            .field("integ", &self.integ.as_ref().map(|(i, _)| i.id))
            .finish_non_exhaustive()
    }
}

fn check_len(what: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(CryptoError::BadLength {
            what,
            expected,
            got,
        })
    }
}

impl SkCipher {
    /// `sk_e` is SK_ei or SK_er as derived (for GCM: key then 4-byte salt); `sk_a` is
    /// SK_ai or SK_ar (empty, with `integ_id` `None` or AUTH_NONE, for GCM).
    pub fn new(
        encr_id: u16,
        key_bits: u16,
        integ_id: Option<u16>,
        sk_e: &[u8],
        sk_a: &[u8],
    ) -> Result<Self> {
        Self::from_suite(
            &Suite {
                encr: encr_id,
                encr_key_bits: key_bits,
                integ: integ_id,
                prf: None,
                dh: None,
                esn: None,
            },
            sk_e,
            sk_a,
        )
    }

    /// As [`SkCipher::new`], with the cipher and integrity transform of `suite`.
    pub fn from_suite(suite: &Suite, sk_e: &[u8], sk_a: &[u8]) -> Result<Self> {
        let encr = encr_info(suite.encr, suite.encr_key_bits)?;
        let integ = suite.integ_info()?;
        check_len("SK_e", encr.keymat_len(), sk_e.len())?;
        check_len("SK_a", integ.map_or(0, |i| i.key_len), sk_a.len())?;
        let cipher = match (encr.id, encr.key_bits) {
            (ENCR_AES_GCM_16, 128) => Cipher::aes_128_gcm(),
            (ENCR_AES_GCM_16, 192) => Cipher::aes_192_gcm(),
            (ENCR_AES_GCM_16, _) => Cipher::aes_256_gcm(),
            (_, 128) => Cipher::aes_128_cbc(),
            (_, 192) => Cipher::aes_192_cbc(),
            (_, _) => Cipher::aes_256_cbc(),
        };
        let (key, salt) = sk_e.split_at(encr.key_len);
        Ok(SkCipher {
            encr,
            cipher,
            key: Zeroizing::new(key.to_vec()),
            salt: Zeroizing::new(salt.to_vec()),
            integ: integ.map(|i| (i, Zeroizing::new(sk_a.to_vec()))),
        })
    }

    /// IV bytes at the start of the SK body.
    pub fn iv_len(&self) -> usize {
        self.encr.iv_len
    }

    /// ICV bytes at the end of the SK body.
    pub fn icv_len(&self) -> usize {
        match &self.integ {
            Some((i, _)) => i.icv_len,
            None => self.encr.aead_icv_len,
        }
    }

    /// Padding needed after `plaintext_len` bytes so that the payloads, the padding and
    /// the Pad Length octet fill whole blocks.
    fn pad_len(&self, plaintext_len: usize) -> usize {
        let b = self.encr.block_size;
        (b - (plaintext_len + 1) % b) % b
    }

    /// Length of the SK body that [`SkCipher::seal`] produces for `plaintext_len` bytes,
    /// so the caller can write the length fields before sealing.
    pub fn sealed_len(&self, plaintext_len: usize) -> usize {
        self.iv_len() + plaintext_len + self.pad_len(plaintext_len) + 1 + self.icv_len()
    }

    /// Encrypts the inner payload chain; returns the SK body `IV | ciphertext | ICV`.
    ///
    /// `counter` is the GCM explicit IV: unique for every message sealed with this key
    /// (the caller keeps it, e.g. with the SA state that the standby mirrors). It is
    /// ignored for CBC, whose IV is random.
    pub fn seal(&self, counter: u64, prefix: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let pad = self.pad_len(plaintext.len());
        let mut padded = Zeroizing::new(Vec::with_capacity(plaintext.len() + pad + 1));
        padded.extend_from_slice(plaintext);
        padded.resize(plaintext.len() + pad, 0);
        // pad < block size <= 16.
        padded.push(pad as u8);
        let mut body = Vec::with_capacity(self.sealed_len(plaintext.len()));
        match &self.integ {
            None => {
                let iv = counter.to_be_bytes();
                let nonce = [&self.salt[..], &iv].concat();
                let mut tag = [0u8; 16];
                let ct = encrypt_aead(
                    self.cipher,
                    &self.key,
                    Some(&nonce),
                    prefix,
                    &padded,
                    &mut tag,
                )?;
                body.extend_from_slice(&iv);
                body.extend_from_slice(&ct);
                body.extend_from_slice(&tag);
            }
            Some((integ, sk_a)) => {
                let mut iv = [0u8; 16];
                rand_bytes(&mut iv)?;
                let ct = self.cbc(Mode::Encrypt, &iv, &padded)?;
                body.extend_from_slice(&iv);
                body.extend_from_slice(&ct);
                let icv = hmac(integ.digest, sk_a, &[prefix, &body])?;
                body.extend_from_slice(&icv[..integ.icv_len]);
            }
        }
        Ok(body)
    }

    /// Checks and decrypts an SK body; returns the inner payload chain without padding.
    ///
    /// `prefix` is the received message from the IKE header up to the SK body.
    pub fn open(&self, prefix: &[u8], body: &[u8]) -> Result<Vec<u8>> {
        let (iv_len, icv_len) = (self.iv_len(), self.icv_len());
        let ct_len = body
            .len()
            .checked_sub(iv_len + icv_len)
            .filter(|&n| n > 0)
            .ok_or(CryptoError::Malformed("SK body too short"))?;
        if ct_len % self.encr.block_size != 0 {
            return Err(CryptoError::Malformed(
                "ciphertext not a whole number of blocks",
            ));
        }
        let (iv, rest) = body.split_at(iv_len);
        let (ct, icv) = rest.split_at(ct_len);
        let mut padded = Zeroizing::new(match &self.integ {
            None => {
                let nonce = [&self.salt[..], iv].concat();
                decrypt_aead(self.cipher, &self.key, Some(&nonce), prefix, ct, icv)
                    .map_err(|_| CryptoError::IntegrityCheckFailed)?
            }
            Some((integ, sk_a)) => {
                let mac = hmac(integ.digest, sk_a, &[prefix, iv, ct])?;
                if !memcmp::eq(&mac[..integ.icv_len], icv) {
                    return Err(CryptoError::IntegrityCheckFailed);
                }
                self.cbc(Mode::Decrypt, iv, ct)?
            }
        });
        let pad = usize::from(*padded.last().ok_or(CryptoError::BadPadding)?);
        let len = padded
            .len()
            .checked_sub(pad + 1)
            .ok_or(CryptoError::BadPadding)?;
        padded.truncate(len);
        Ok(padded.to_vec())
    }

    /// Raw AES-CBC over whole blocks (IKE does its own padding).
    fn cbc(&self, mode: Mode, iv: &[u8], data: &[u8]) -> Result<Vec<u8>> {
        let mut c = Crypter::new(self.cipher, mode, &self.key, Some(iv))?;
        c.pad(false);
        let mut out = vec![0u8; data.len() + 16];
        let n = c.update(data, &mut out)?;
        let m = c.finalize(&mut out[n..])?;
        out.truncate(n + m);
        Ok(out)
    }
}

/// The two SK ciphers of an IKE SA: `(outbound, inbound)` for our role.
///
/// The initiator sends with SK_ei / SK_ai and receives with SK_er / SK_ar (RFC 7296 2.14).
pub fn sk_ciphers(suite: &Suite, keys: &IkeKeys, initiator: bool) -> Result<(SkCipher, SkCipher)> {
    let i = SkCipher::from_suite(suite, &keys.sk_ei, &keys.sk_ai)?;
    let r = SkCipher::from_suite(suite, &keys.sk_er, &keys.sk_ar)?;
    Ok(if initiator { (i, r) } else { (r, i) })
}

#[cfg(test)]
#[path = "sk_tests.rs"]
mod tests;
