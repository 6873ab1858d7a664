//! The User-based Security Model's cryptography (RFC 3414): keys from passphrases,
//! localised to an engine, HMAC-SHA-96 and HMAC-SHA-256-192 (RFC 7860) for authentication,
//! and AES-128-CFB (RFC 3826) for privacy.

use aes::cipher::{AsyncStreamCipher, KeyIvInit};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The authentication protocols we send with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthProtocol {
    /// usmHMACSHAAuthProtocol: HMAC-SHA-1 cut to 12 bytes.
    Sha1,
    /// usmHMAC192SHA256AuthProtocol: HMAC-SHA-256 cut to 24 bytes.
    Sha256,
}

/// RFC 3414 A.2: the passphrase repeated over one megabyte is hashed.
const EXPANDED_BYTES: usize = 1_048_576;

impl AuthProtocol {
    /// The length of msgAuthenticationParameters: the truncated MAC.
    pub fn mac_len(self) -> usize {
        match self {
            AuthProtocol::Sha1 => 12,
            AuthProtocol::Sha256 => 24,
        }
    }

    /// Ku: the passphrase's key, before localisation (RFC 3414 A.2.2). An empty passphrase
    /// would loop forever in the RFC's code; the configuration refuses ones under 8 bytes.
    pub fn password_to_key(self, passphrase: &[u8]) -> Zeroizing<Vec<u8>> {
        match self {
            AuthProtocol::Sha1 => expand::<Sha1>(passphrase),
            AuthProtocol::Sha256 => expand::<Sha256>(passphrase),
        }
    }

    /// Kul: a key localised to an engine, H(Ku || engineID || Ku).
    pub fn localize(self, key: &[u8], engine_id: &[u8]) -> Zeroizing<Vec<u8>> {
        match self {
            AuthProtocol::Sha1 => localize::<Sha1>(key, engine_id),
            AuthProtocol::Sha256 => localize::<Sha256>(key, engine_id),
        }
    }

    /// The localised key of a passphrase for an engine.
    pub fn localized_key(self, passphrase: &[u8], engine_id: &[u8]) -> Zeroizing<Vec<u8>> {
        self.localize(&self.password_to_key(passphrase), engine_id)
    }

    /// msgAuthenticationParameters of a whole message (whose own field is still zeros).
    pub fn mac(self, key: &[u8], message: &[u8]) -> Vec<u8> {
        let mut full = match self {
            AuthProtocol::Sha1 => hmac::<Hmac<Sha1>>(key, message),
            AuthProtocol::Sha256 => hmac::<Hmac<Sha256>>(key, message),
        };
        full.truncate(self.mac_len());
        full
    }
}

fn expand<D: Digest>(passphrase: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut h = D::new();
    if !passphrase.is_empty() {
        let mut left = EXPANDED_BYTES;
        while left > 0 {
            let n = left.min(passphrase.len());
            h.update(&passphrase[..n]);
            left -= n;
        }
    }
    Zeroizing::new(h.finalize().to_vec())
}

fn localize<D: Digest>(key: &[u8], engine_id: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut h = D::new();
    h.update(key);
    h.update(engine_id);
    h.update(key);
    Zeroizing::new(h.finalize().to_vec())
}

fn hmac<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut m = <M as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    m.update(message);
    m.finalize().into_bytes().to_vec()
}

use hmac::digest::KeyInit;

/// AES-128-CFB encryption of a scoped PDU (RFC 3826 3.1.3): the key is the first 16 bytes
/// of the localised privacy key, the IV is engineBoots, engineTime (both big-endian) and
/// the 8-byte salt sent as msgPrivacyParameters. No padding: CFB keeps the length.
pub fn aes_cfb_encrypt(priv_key: &[u8], boots: u32, time: u32, salt: u64, data: &mut [u8]) {
    let mut iv = [0u8; 16];
    iv[..4].copy_from_slice(&boots.to_be_bytes());
    iv[4..8].copy_from_slice(&time.to_be_bytes());
    iv[8..].copy_from_slice(&salt.to_be_bytes());
    aes_cfb128(&priv_key[..16], &iv, data);
}

fn aes_cfb128(key: &[u8], iv: &[u8; 16], data: &mut [u8]) {
    type Enc = cfb_mode::Encryptor<aes::Aes128>;
    // The key slice is 16 bytes by construction (localised keys are 20 or 32).
    Enc::new_from_slices(key, iv)
        .expect("an AES-128 key and a 16-byte IV")
        .encrypt(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    /// RFC 3414 A.3.2: "maplesyrup" and engine ID 00..02 under SHA-1.
    #[test]
    fn rfc3414_sha1_password_to_key_vectors() {
        let ku = AuthProtocol::Sha1.password_to_key(b"maplesyrup");
        assert_eq!(*ku, hex("9fb5cc0381497b3793528939ff788d5d79145211"));
        let engine = hex("000000000000000000000002");
        let kul = AuthProtocol::Sha1.localize(&ku, &engine);
        assert_eq!(*kul, hex("6695febc9288e36282235fc7151f128497b38f3f"));
    }

    /// The same passphrase and engine under SHA-256, as net-snmp's and pysnmp's USM give it
    /// (RFC 7860 uses RFC 3414's algorithm with SHA-256).
    #[test]
    fn sha256_password_to_key_vector() {
        let engine = hex("000000000000000000000002");
        let kul = AuthProtocol::Sha256.localized_key(b"maplesyrup", &engine);
        assert_eq!(
            *kul,
            hex("8982e0e549e866db361a6b625d84cccc11162d453ee8ce3a6445c2d6776f0f8b")
        );
    }

    /// RFC 2202 test case 2 (HMAC-SHA-1) and RFC 4231 test case 2 (HMAC-SHA-256), cut.
    #[test]
    fn macs_are_the_truncated_hmacs() {
        let msg = b"what do ya want for nothing?";
        assert_eq!(
            AuthProtocol::Sha1.mac(b"Jefe", msg),
            hex("effcdf6ae5eb2fa2d27416d5")
        );
        assert_eq!(
            AuthProtocol::Sha256.mac(b"Jefe", msg),
            hex("5bdcc146bf60754e6a042426089575c75a003f089d273983")
        );
    }

    /// NIST SP 800-38A F.3.13, CFB128-AES128 encryption, first two blocks.
    #[test]
    fn aes_cfb128_matches_sp800_38a() {
        let key = hex("2b7e151628aed2a6abf7158809cf4f3c");
        let iv: [u8; 16] = hex("000102030405060708090a0b0c0d0e0f").try_into().unwrap();
        let mut data = hex("6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51");
        aes_cfb128(&key, &iv, &mut data);
        assert_eq!(
            data,
            hex("3b3fd92eb72dad20333449f8e83cfb4a c8a64537a0b3a93fcde3cdad9f1ce58b")
        );
    }

    /// RFC 3826 3.1.2.1: the IV is boots, time and salt, and the key the localised key's
    /// first 16 bytes; decrypting with that IV and key gives the scoped PDU back.
    #[test]
    fn privacy_uses_the_rfc3826_iv_and_key() {
        let kul =
            AuthProtocol::Sha256.localized_key(b"maplesyrup", &hex("000000000000000000000002"));
        let plain = b"a scoped PDU of any length, not a multiple of 16".to_vec();
        let mut sent = plain.clone();
        aes_cfb_encrypt(&kul, 7, 1234, 0x0102_0304_0506_0708, &mut sent);
        assert_ne!(sent, plain);
        let iv: [u8; 16] = hex("00000007000004d20102030405060708").try_into().unwrap();
        type Dec = cfb_mode::Decryptor<aes::Aes128>;
        let mut back = sent.clone();
        Dec::new_from_slices(&kul[..16], &iv)
            .unwrap()
            .decrypt(&mut back);
        assert_eq!(back, plain);
    }
}
