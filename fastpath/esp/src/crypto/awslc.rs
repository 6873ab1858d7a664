//! aws-lc-rs backend: AES-GCM (aead), and AES-CBC (cipher, unpadded) with HMAC (hmac).
//! NULL encryption is left to the other backends.

use super::{ct_eq, gcm_aad, CryptoError, EncAlg, Frame, IntegAlg, Session, TransformKeys};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM};
use aws_lc_rs::cipher::{
    DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext, UnboundCipherKey, AES_128,
    AES_256,
};
use aws_lc_rs::hmac;
use aws_lc_rs::iv::FixedLength;

pub(super) enum Keys {
    Gcm(LessSafeKey),
    CbcHmac(Box<CbcHmac>),
}

pub(super) struct CbcHmac {
    enc: EncryptingKey,
    dec: DecryptingKey,
    mac: hmac::Key,
}

impl Keys {
    pub(super) fn new(k: &TransformKeys) -> Result<Keys, CryptoError> {
        let bad = |_| CryptoError::BadKeyLength;
        match k.enc {
            EncAlg::AesGcm16_128 | EncAlg::AesGcm16_256 => {
                let (alg, n) = if k.enc == EncAlg::AesGcm16_128 {
                    (&AES_128_GCM, 16)
                } else {
                    (&AES_256_GCM, 32)
                };
                let key = UnboundKey::new(alg, &k.enc_key[..n]).map_err(bad)?;
                Ok(Keys::Gcm(LessSafeKey::new(key)))
            }
            EncAlg::AesCbc128 | EncAlg::AesCbc256 => {
                let alg = if k.enc == EncAlg::AesCbc128 {
                    &AES_128
                } else {
                    &AES_256
                };
                let unbound = || UnboundCipherKey::new(alg, &k.enc_key).map_err(bad);
                let mac = match k.integ {
                    IntegAlg::HmacSha1_96 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
                    IntegAlg::HmacSha256_128 => hmac::HMAC_SHA256,
                    IntegAlg::None => return Err(CryptoError::Unsupported),
                };
                Ok(Keys::CbcHmac(Box::new(CbcHmac {
                    enc: EncryptingKey::cbc(unbound()?).map_err(bad)?,
                    dec: DecryptingKey::cbc(unbound()?).map_err(bad)?,
                    mac: hmac::Key::new(mac, &k.auth_key),
                })))
            }
            EncAlg::Null => Err(CryptoError::Unsupported),
        }
    }

    pub(super) fn seal(
        &self,
        s: &Session,
        f: Frame,
        esp: &mut [u8],
        esn_hi: Option<u32>,
    ) -> Result<(), CryptoError> {
        match self {
            Keys::Gcm(key) => {
                let nonce = Nonce::assume_unique_for_key(s.gcm_nonce(esp));
                let (aad, n) = gcm_aad(esp, esn_hi);
                let (head, icv) = esp.split_at_mut(f.icv);
                let tag = key
                    .seal_in_place_separate_tag(nonce, Aad::from(&aad[..n]), &mut head[f.ct..])
                    .map_err(|_| CryptoError::BadLength)?;
                icv.copy_from_slice(tag.as_ref());
            }
            Keys::CbcHmac(c) => {
                let (enc, mac) = (&c.enc, &c.mac);
                let iv = iv16(esp);
                if f.icv > f.ct {
                    enc.less_safe_encrypt(&mut esp[f.ct..f.icv], EncryptionContext::Iv128(iv))
                        .map_err(|_| CryptoError::BadLength)?;
                }
                let tag = icv(mac, esp, f, esn_hi);
                let n = esp.len() - f.icv;
                esp[f.icv..].copy_from_slice(&tag.as_ref()[..n]);
            }
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
        match self {
            Keys::Gcm(key) => {
                let nonce = Nonce::assume_unique_for_key(s.gcm_nonce(esp));
                let (aad, n) = gcm_aad(esp, esn_hi);
                key.open_in_place(nonce, Aad::from(&aad[..n]), &mut esp[f.ct..])
                    .map(|_| ())
                    .map_err(|_| CryptoError::IcvMismatch)
            }
            Keys::CbcHmac(c) => {
                let (dec, mac) = (&c.dec, &c.mac);
                let tag = icv(mac, esp, f, esn_hi);
                let n = esp.len() - f.icv;
                if !ct_eq(&tag.as_ref()[..n], &esp[f.icv..]) {
                    return Err(CryptoError::IcvMismatch);
                }
                let iv = iv16(esp);
                if f.icv > f.ct {
                    dec.decrypt(&mut esp[f.ct..f.icv], DecryptionContext::Iv128(iv))
                        .map_err(|_| CryptoError::BadLength)?;
                }
                Ok(())
            }
        }
    }
}

fn iv16(esp: &[u8]) -> FixedLength<16> {
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&esp[8..24]);
    FixedLength::from(iv)
}

fn icv(mac: &hmac::Key, esp: &[u8], f: Frame, esn_hi: Option<u32>) -> hmac::Tag {
    let mut ctx = hmac::Context::with_key(mac);
    ctx.update(&esp[..f.icv]);
    if let Some(hi) = esn_hi {
        ctx.update(&hi.to_be_bytes());
    }
    ctx.sign()
}

/// Plain AES-CBC, for the RFC 3602 known-answer tests.
#[cfg(test)]
pub(super) fn cbc_encrypt_raw(key: &[u8], iv: &[u8], buf: &mut [u8]) {
    let alg = if key.len() == 16 { &AES_128 } else { &AES_256 };
    let k = EncryptingKey::cbc(UnboundCipherKey::new(alg, key).unwrap()).unwrap();
    let iv: [u8; 16] = iv.try_into().unwrap();
    k.less_safe_encrypt(buf, EncryptionContext::Iv128(FixedLength::from(iv)))
        .unwrap();
}
