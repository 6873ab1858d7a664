//! Our half of a pending key exchange as plain bytes, so that it can be exported (HA) and
//! rebuilt on another node; the private value comes from the caller's randomness source.

use crate::crypto::dh::KeyExchange;
use crate::crypto::keys::SecretBytes;
use crate::crypto::CryptoError;
use crate::rng::{random_vec, RngSource};
use zeroize::Zeroizing;

#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct DhPrivate {
    pub group: u16,
    #[serde(with = "crate::crypto::secret_serde")]
    pub private: SecretBytes,
    pub public: Vec<u8>,
}

impl std::fmt::Debug for DhPrivate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DhPrivate {{ group: {} }}", self.group)
    }
}

impl DhPrivate {
    pub fn generate(group: u16, rng: &mut dyn RngSource) -> Result<DhPrivate, CryptoError> {
        let raw = Zeroizing::new(random_vec(rng, KeyExchange::private_len(group)?));
        let kx = KeyExchange::from_private(group, &raw)?;
        Ok(DhPrivate {
            group,
            private: kx.private_bytes()?,
            public: kx.public_value().to_vec(),
        })
    }

    /// g^ir with the peer's KE data (validated by the crypto module).
    pub fn shared(&self, peer: &[u8]) -> Result<SecretBytes, CryptoError> {
        KeyExchange::from_private(self.group, &self.private)?.compute_shared(peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::transform::{CURVE25519, ECP_256, MODP_1024};
    use crate::rng::TestRng;

    #[test]
    fn agree() {
        let mut rng = TestRng::new(5);
        for g in [MODP_1024, ECP_256, CURVE25519] {
            let a = DhPrivate::generate(g, &mut rng).unwrap();
            let b = DhPrivate::generate(g, &mut rng).unwrap();
            assert_eq!(*a.shared(&b.public).unwrap(), *b.shared(&a.public).unwrap());
            assert!(a.shared(&[1, 2, 3]).is_err());
        }
    }
}
