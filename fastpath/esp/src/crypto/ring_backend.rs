//! ring backend: AES-GCM only (ring has no AES-CBC).

use super::{gcm_aad, CryptoError, EncAlg, Frame, Session, TransformKeys};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM};

pub(super) struct Keys(LessSafeKey);

impl Keys {
    pub(super) fn new(k: &TransformKeys) -> Result<Keys, CryptoError> {
        let (alg, n) = match k.enc {
            EncAlg::AesGcm16_128 => (&AES_128_GCM, 16),
            EncAlg::AesGcm16_256 => (&AES_256_GCM, 32),
            _ => return Err(CryptoError::Unsupported),
        };
        let key = UnboundKey::new(alg, &k.enc_key[..n]).map_err(|_| CryptoError::BadKeyLength)?;
        Ok(Keys(LessSafeKey::new(key)))
    }

    pub(super) fn seal(
        &self,
        s: &Session,
        f: Frame,
        esp: &mut [u8],
        esn_hi: Option<u32>,
    ) -> Result<(), CryptoError> {
        let nonce = Nonce::assume_unique_for_key(s.gcm_nonce(esp));
        let (aad, n) = gcm_aad(esp, esn_hi);
        let (head, icv) = esp.split_at_mut(f.icv);
        let tag = self
            .0
            .seal_in_place_separate_tag(nonce, Aad::from(&aad[..n]), &mut head[f.ct..])
            .map_err(|_| CryptoError::BadLength)?;
        icv.copy_from_slice(tag.as_ref());
        Ok(())
    }

    pub(super) fn open(
        &self,
        s: &Session,
        f: Frame,
        esp: &mut [u8],
        esn_hi: Option<u32>,
    ) -> Result<(), CryptoError> {
        let nonce = Nonce::assume_unique_for_key(s.gcm_nonce(esp));
        let (aad, n) = gcm_aad(esp, esn_hi);
        // ciphertext || ICV is exactly what open_in_place expects.
        self.0
            .open_in_place(nonce, Aad::from(&aad[..n]), &mut esp[f.ct..])
            .map(|_| ())
            .map_err(|_| CryptoError::IcvMismatch)
    }
}
