//! RustCrypto backend (aes-gcm, aes + cbc, hmac + sha1/sha2): every transform, one packet at a
//! time. It is the reference the other backends are cross-checked against.

use super::{ct_eq, gcm_aad, CryptoError, EncAlg, Frame, IntegAlg, Session, TransformKeys};
use aes::cipher::{
    block_padding::NoPadding, BlockCipher, BlockDecrypt, BlockDecryptMut, BlockEncrypt,
    BlockEncryptMut, InnerIvInit, KeyInit,
};
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

enum Cipher {
    Gcm128(Box<Aes128Gcm>),
    Gcm256(Box<Aes256Gcm>),
    Cbc128(Box<aes::Aes128>),
    Cbc256(Box<aes::Aes256>),
    Null,
}

/// HMAC with the ipad/opad states already absorbed; cloned per packet (no allocation).
pub(super) enum Hmacs {
    Sha1(Hmac<Sha1>),
    Sha256(Hmac<Sha256>),
}

impl Hmacs {
    pub(super) fn new(alg: IntegAlg, key: &[u8]) -> Result<Option<Hmacs>, CryptoError> {
        Ok(match alg {
            IntegAlg::None => None,
            IntegAlg::HmacSha1_96 => Some(Hmacs::Sha1(
                <Hmac<_> as Mac>::new_from_slice(key).map_err(|_| CryptoError::BadKeyLength)?,
            )),
            IntegAlg::HmacSha256_128 => Some(Hmacs::Sha256(
                <Hmac<_> as Mac>::new_from_slice(key).map_err(|_| CryptoError::BadKeyLength)?,
            )),
        })
    }

    /// The full MAC of the concatenation of `parts` into `out` (20 or 32 bytes); returns its length.
    pub(super) fn mac(&self, parts: &[&[u8]], out: &mut [u8; 32]) -> usize {
        fn run<M: Mac + Clone>(m: &M, parts: &[&[u8]], out: &mut [u8]) -> usize {
            let mut m = m.clone();
            parts.iter().for_each(|p| m.update(p));
            let tag = m.finalize().into_bytes();
            out[..tag.len()].copy_from_slice(&tag);
            tag.len()
        }
        match self {
            Hmacs::Sha1(m) => run(m, parts, out),
            Hmacs::Sha256(m) => run(m, parts, out),
        }
    }

    /// The ESP ICV (RFC 4303 §2.8): MAC of SPI..ciphertext, then SeqHi if ESN, truncated.
    fn icv(&self, esp: &[u8], f: Frame, esn_hi: Option<u32>, out: &mut [u8; 32]) {
        let hi = esn_hi.map(u32::to_be_bytes);
        let parts: [&[u8]; 2] = [&esp[..f.icv], hi.as_ref().map_or(&[][..], |h| &h[..])];
        self.mac(&parts, out);
    }
}

pub(super) struct Keys {
    cipher: Cipher,
    hmac: Option<Hmacs>,
}

fn cbc_encrypt<C: BlockCipher + BlockEncrypt + Clone>(c: &C, iv: &[u8], buf: &mut [u8]) {
    let len = buf.len();
    // Lengths are whole blocks (checked by Session::frame), so NoPadding cannot fail.
    let _ = cbc::Encryptor::<C>::inner_iv_init(c.clone(), iv.into())
        .encrypt_padded_mut::<NoPadding>(buf, len);
}

fn cbc_decrypt<C: BlockCipher + BlockDecrypt + Clone>(c: &C, iv: &[u8], buf: &mut [u8]) {
    let _ = cbc::Decryptor::<C>::inner_iv_init(c.clone(), iv.into())
        .decrypt_padded_mut::<NoPadding>(buf);
}

/// Plain AES-CBC with a 16- or 32-byte key, for the RFC 3602 known-answer tests.
#[cfg(test)]
pub(super) fn cbc_encrypt_raw(key: &[u8], iv: &[u8], buf: &mut [u8]) {
    match key.len() {
        16 => cbc_encrypt(&aes::Aes128::new(key.into()), iv, buf),
        _ => cbc_encrypt(&aes::Aes256::new(key.into()), iv, buf),
    }
}

impl Keys {
    pub(super) fn new(k: &TransformKeys) -> Result<Keys, CryptoError> {
        let e = &k.enc_key;
        let bad = |_| CryptoError::BadKeyLength;
        let cipher = match k.enc {
            EncAlg::AesGcm16_128 => {
                Cipher::Gcm128(Box::new(Aes128Gcm::new_from_slice(&e[..16]).map_err(bad)?))
            }
            EncAlg::AesGcm16_256 => {
                Cipher::Gcm256(Box::new(Aes256Gcm::new_from_slice(&e[..32]).map_err(bad)?))
            }
            EncAlg::AesCbc128 => {
                Cipher::Cbc128(Box::new(aes::Aes128::new_from_slice(e).map_err(bad)?))
            }
            EncAlg::AesCbc256 => {
                Cipher::Cbc256(Box::new(aes::Aes256::new_from_slice(e).map_err(bad)?))
            }
            EncAlg::Null => Cipher::Null,
        };
        Ok(Keys {
            cipher,
            hmac: Hmacs::new(k.integ, &k.auth_key)?,
        })
    }

    pub(super) fn seal(
        &self,
        s: &Session,
        f: Frame,
        esp: &mut [u8],
        esn_hi: Option<u32>,
    ) -> Result<(), CryptoError> {
        let (head, icv) = esp.split_at_mut(f.icv);
        let (hdr, ct) = head.split_at_mut(f.ct);
        let tag = match &self.cipher {
            Cipher::Gcm128(c) => Some(gcm_seal(&**c, s, hdr, ct, esn_hi)?),
            Cipher::Gcm256(c) => Some(gcm_seal(&**c, s, hdr, ct, esn_hi)?),
            Cipher::Cbc128(c) => {
                cbc_encrypt(&**c, &hdr[8..], ct);
                None
            }
            Cipher::Cbc256(c) => {
                cbc_encrypt(&**c, &hdr[8..], ct);
                None
            }
            Cipher::Null => None,
        };
        match (tag, &self.hmac) {
            (Some(t), _) => icv.copy_from_slice(&t),
            (None, Some(h)) => {
                let mut out = [0u8; 32];
                h.icv(esp, f, esn_hi, &mut out);
                let n = esp.len() - f.icv;
                esp[f.icv..].copy_from_slice(&out[..n]);
            }
            (None, None) => return Err(CryptoError::Unsupported),
        }
        Ok(())
    }

    pub(super) fn open(
        &self,
        s: &Session,
        f: Frame,
        esp: &mut [u8],
        esn_hi: Option<u32>,
    ) -> Result<(), CryptoError> {
        if let Some(h) = &self.hmac {
            let mut out = [0u8; 32];
            h.icv(esp, f, esn_hi, &mut out);
            if !ct_eq(&out[..esp.len() - f.icv], &esp[f.icv..]) {
                return Err(CryptoError::IcvMismatch);
            }
        }
        let (head, icv) = esp.split_at_mut(f.icv);
        let (hdr, ct) = head.split_at_mut(f.ct);
        match &self.cipher {
            Cipher::Gcm128(c) => gcm_open(&**c, s, hdr, ct, icv, esn_hi),
            Cipher::Gcm256(c) => gcm_open(&**c, s, hdr, ct, icv, esn_hi),
            Cipher::Cbc128(c) => {
                cbc_decrypt(&**c, &hdr[8..], ct);
                Ok(())
            }
            Cipher::Cbc256(c) => {
                cbc_decrypt(&**c, &hdr[8..], ct);
                Ok(())
            }
            Cipher::Null => Ok(()),
        }
    }
}

fn gcm_seal<A: AeadInPlace>(
    c: &A,
    s: &Session,
    hdr: &[u8],
    ct: &mut [u8],
    esn_hi: Option<u32>,
) -> Result<[u8; 16], CryptoError> {
    let nonce = s.gcm_nonce(hdr);
    let (aad, n) = gcm_aad(hdr, esn_hi);
    let tag = c
        .encrypt_in_place_detached(nonce[..].into(), &aad[..n], ct)
        .map_err(|_| CryptoError::BadLength)?;
    let mut t = [0u8; 16];
    t.copy_from_slice(&tag);
    Ok(t)
}

fn gcm_open<A: AeadInPlace>(
    c: &A,
    s: &Session,
    hdr: &[u8],
    ct: &mut [u8],
    icv: &[u8],
    esn_hi: Option<u32>,
) -> Result<(), CryptoError> {
    let nonce = s.gcm_nonce(hdr);
    let (aad, n) = gcm_aad(hdr, esn_hi);
    c.decrypt_in_place_detached(nonce[..].into(), &aad[..n], ct, icv.into())
        .map_err(|_| CryptoError::IcvMismatch)
}
