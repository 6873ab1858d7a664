//! IKE SA and Child SA keying material (RFC 7296 2.14, 2.17, 2.18).

use super::error::{CryptoError, Result};
use super::prf::{prf_plus, Prf};
use super::transform::Suite;
use zeroize::Zeroizing;

/// Secret bytes that are wiped on drop.
pub type SecretBytes = Zeroizing<Vec<u8>>;

/// The seven IKE SA secrets, in prf+ order. Debug shows lengths only; no `PartialEq`,
/// so that keys are not compared in variable time by accident.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct IkeKeys {
    #[serde(with = "crate::crypto::secret_serde")]
    pub sk_d: SecretBytes,
    /// Empty for AEAD ciphers.
    #[serde(with = "crate::crypto::secret_serde")]
    pub sk_ai: SecretBytes,
    #[serde(with = "crate::crypto::secret_serde")]
    pub sk_ar: SecretBytes,
    /// Cipher key followed by the salt for AES-GCM (RFC 5282).
    #[serde(with = "crate::crypto::secret_serde")]
    pub sk_ei: SecretBytes,
    #[serde(with = "crate::crypto::secret_serde")]
    pub sk_er: SecretBytes,
    #[serde(with = "crate::crypto::secret_serde")]
    pub sk_pi: SecretBytes,
    #[serde(with = "crate::crypto::secret_serde")]
    pub sk_pr: SecretBytes,
}

impl std::fmt::Debug for IkeKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "IkeKeys {{ sk_d: {}B, sk_a: {}B, sk_e: {}B, sk_p: {}B }}",
            self.sk_d.len(),
            self.sk_ai.len(),
            self.sk_ei.len(),
            self.sk_pi.len()
        )
    }
}

/// The keys of one Child SA pair, in KEYMAT order (RFC 7296 2.17). Debug shows lengths only.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct ChildKeys {
    /// Initiator-to-responder encryption key (with the 4-byte salt for AES-GCM, RFC 4106).
    #[serde(with = "crate::crypto::secret_serde")]
    pub encr_i: SecretBytes,
    /// Initiator-to-responder integrity key; empty for AEAD.
    #[serde(with = "crate::crypto::secret_serde")]
    pub integ_i: SecretBytes,
    #[serde(with = "crate::crypto::secret_serde")]
    pub encr_r: SecretBytes,
    #[serde(with = "crate::crypto::secret_serde")]
    pub integ_r: SecretBytes,
}

impl std::fmt::Debug for ChildKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ChildKeys {{ encr: {}B, integ: {}B }}",
            self.encr_i.len(),
            self.integ_i.len()
        )
    }
}

/// SKEYSEED = prf(Ni | Nr, g^ir) (RFC 7296 2.14).
pub fn skeyseed(prf: Prf, ni: &[u8], nr: &[u8], g_ir: &[u8]) -> Result<SecretBytes> {
    let key = Zeroizing::new([ni, nr].concat());
    prf.compute(&key, g_ir)
}

/// SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) (RFC 7296 2.18), with the old SA's PRF.
pub fn rekey_skeyseed(
    old_prf: Prf,
    old_sk_d: &[u8],
    g_ir_new: &[u8],
    ni: &[u8],
    nr: &[u8],
) -> Result<SecretBytes> {
    old_prf.compute_parts(old_sk_d, &[g_ir_new, ni, nr])
}

/// Keys of a new IKE SA from IKE_SA_INIT.
pub fn derive_ike_keys(
    suite: &Suite,
    ni: &[u8],
    nr: &[u8],
    shared_secret: &[u8],
    spi_i: [u8; 8],
    spi_r: [u8; 8],
) -> Result<IkeKeys> {
    let prf = suite.prf()?;
    let seed = skeyseed(prf, ni, nr, shared_secret)?;
    expand_ike_keys(suite, &seed, ni, nr, spi_i, spi_r)
}

/// Keys of the IKE SA that replaces an old one through CREATE_CHILD_SA (RFC 7296 2.18).
///
/// `old_prf` and `old_sk_d` are the old SA's; `suite` (and its PRF, used for prf+) is the
/// new SA's; the SPIs are the new ones from the proposals, the nonces those of the exchange.
#[allow(clippy::too_many_arguments)]
pub fn derive_rekeyed_ike_keys(
    suite: &Suite,
    old_prf: Prf,
    old_sk_d: &[u8],
    shared_secret: &[u8],
    ni: &[u8],
    nr: &[u8],
    spi_i: [u8; 8],
    spi_r: [u8; 8],
) -> Result<IkeKeys> {
    let seed = rekey_skeyseed(old_prf, old_sk_d, shared_secret, ni, nr)?;
    expand_ike_keys(suite, &seed, ni, nr, spi_i, spi_r)
}

/// {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr).
fn expand_ike_keys(
    suite: &Suite,
    skeyseed: &[u8],
    ni: &[u8],
    nr: &[u8],
    spi_i: [u8; 8],
    spi_r: [u8; 8],
) -> Result<IkeKeys> {
    let prf = suite.prf()?;
    let e = suite.encr_info()?.keymat_len();
    let a = suite.integ_info()?.map_or(0, |i| i.key_len);
    let p = prf.key_len();
    let seed = [ni, nr, &spi_i, &spi_r].concat();
    let km = prf_plus(prf, skeyseed, &seed, 3 * p + 2 * a + 2 * e)?;
    let mut rest = &km[..];
    let mut take = |n: usize| {
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Zeroizing::new(head.to_vec())
    };
    Ok(IkeKeys {
        sk_d: take(p),
        sk_ai: take(a),
        sk_ar: take(a),
        sk_ei: take(e),
        sk_er: take(e),
        sk_pi: take(p),
        sk_pr: take(p),
    })
}

/// KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr), cut into the Child SA keys (RFC 7296 2.17).
///
/// `shared_secret` is the D-H result of a CREATE_CHILD_SA with KE payloads (PFS); `None`
/// for the Child SA of IKE_AUTH or one created without a new key exchange.
pub fn derive_child_keys(
    prf: Prf,
    sk_d: &[u8],
    shared_secret: Option<&[u8]>,
    ni: &[u8],
    nr: &[u8],
    child_suite: &Suite,
) -> Result<ChildKeys> {
    let e = child_suite.encr_info()?.keymat_len();
    let a = child_suite.integ_info()?.map_or(0, |i| i.key_len);
    if sk_d.is_empty() {
        return Err(CryptoError::BadLength {
            what: "SK_d",
            expected: prf.key_len(),
            got: 0,
        });
    }
    let seed = Zeroizing::new([shared_secret.unwrap_or(&[]), ni, nr].concat());
    let km = prf_plus(prf, sk_d, &seed, 2 * (e + a))?;
    let (encr_i, rest) = km.split_at(e);
    let (integ_i, rest) = rest.split_at(a);
    let (encr_r, integ_r) = rest.split_at(e);
    Ok(ChildKeys {
        encr_i: Zeroizing::new(encr_i.to_vec()),
        integ_i: Zeroizing::new(integ_i.to_vec()),
        encr_r: Zeroizing::new(encr_r.to_vec()),
        integ_r: Zeroizing::new(integ_r.to_vec()),
    })
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
