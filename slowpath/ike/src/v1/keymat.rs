//! IKEv1 key material (RFC 2409 section 5 and appendix B): SKEYID for pre-shared keys and
//! signatures, SKEYID_d / _a / _e, the phase 1 encryption key, HASH_I / HASH_R, the Quick
//! Mode and Informational hashes, and the phase 2 KEYMAT.
//!
//! `prf` is the HMAC of the negotiated hash (RFC 2409 5: no PRF attribute is defined, so the
//! HMAC version of the hash is used). Nonces are the bodies of the Nonce payloads (Ni_b,
//! Nr_b), without their generic headers.

use crate::crypto::error::{CryptoError, Result};
use crate::crypto::prf::Prf;
use crate::v1::wire::hash;
use zeroize::Zeroizing;

type Secret = Zeroizing<Vec<u8>>;

/// The PRF of a phase 1 hash attribute. MD5 is decoded by the codec but has no PRF here.
pub fn prf_for_hash(hash_id: u16) -> Result<Prf> {
    match hash_id {
        hash::SHA1 => Ok(Prf::HmacSha1),
        hash::SHA2_256 => Ok(Prf::HmacSha256),
        hash::SHA2_384 => Ok(Prf::HmacSha384),
        hash::SHA2_512 => Ok(Prf::HmacSha512),
        id => Err(CryptoError::Unsupported {
            kind: "IKEv1 hash",
            id,
        }),
    }
}

/// SKEYID = prf(pre-shared-key, Ni_b | Nr_b).
pub fn skeyid_psk(prf: Prf, psk: &[u8], ni: &[u8], nr: &[u8]) -> Result<Secret> {
    prf.compute_parts(psk, &[ni, nr])
}

/// SKEYID = prf(Ni_b | Nr_b, g^xy), for signature authentication.
pub fn skeyid_sig(prf: Prf, ni: &[u8], nr: &[u8], g_xy: &[u8]) -> Result<Secret> {
    let key = Zeroizing::new([ni, nr].concat());
    prf.compute(&key, g_xy)
}

/// The keys of an ISAKMP SA.
pub struct Phase1Keys {
    pub skeyid: Secret,
    /// Derives phase 2 KEYMAT.
    pub skeyid_d: Secret,
    /// Keys the phase 2 and Informational hashes.
    pub skeyid_a: Secret,
    pub skeyid_e: Secret,
    /// The payload cipher's key, from SKEYID_e (appendix B).
    pub enc_key: Secret,
}

// Never print keys.
impl std::fmt::Debug for Phase1Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Phase1Keys")
            .field("enc_key_len", &self.enc_key.len())
            .finish_non_exhaustive()
    }
}

/// SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0),
/// SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1),
/// SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2), and the encryption key of
/// `enc_key_len` octets.
pub fn phase1_keys(
    prf: Prf,
    skeyid: &[u8],
    g_xy: &[u8],
    cky_i: &[u8; 8],
    cky_r: &[u8; 8],
    enc_key_len: usize,
) -> Result<Phase1Keys> {
    let skeyid_d = prf.compute_parts(skeyid, &[g_xy, cky_i, cky_r, &[0]])?;
    let skeyid_a = prf.compute_parts(skeyid, &[&skeyid_d, g_xy, cky_i, cky_r, &[1]])?;
    let skeyid_e = prf.compute_parts(skeyid, &[&skeyid_a, g_xy, cky_i, cky_r, &[2]])?;
    let enc_key = encryption_key(prf, &skeyid_e, enc_key_len)?;
    Ok(Phase1Keys {
        skeyid: Zeroizing::new(skeyid.to_vec()),
        skeyid_d,
        skeyid_a,
        skeyid_e,
        enc_key,
    })
}

/// Appendix B: the first `len` octets of SKEYID_e, or when it is shorter,
/// of Ka = K1 | K2 | ... with K1 = prf(SKEYID_e, 0) and Kn = prf(SKEYID_e, Kn-1).
pub fn encryption_key(prf: Prf, skeyid_e: &[u8], len: usize) -> Result<Secret> {
    if skeyid_e.len() >= len {
        return Ok(Zeroizing::new(skeyid_e[..len].to_vec()));
    }
    feedback(prf, skeyid_e, &[&[0]], &[], len)
}

/// K1 = prf(key, first), Kn = prf(key, Kn-1 | seed); K1 | K2 | ... cut to `len` octets.
fn feedback(prf: Prf, key: &[u8], first: &[&[u8]], seed: &[&[u8]], len: usize) -> Result<Secret> {
    let mut out = Zeroizing::new(Vec::with_capacity(len + prf.output_len()));
    let mut block = prf.compute_parts(key, first)?;
    out.extend_from_slice(&block);
    while out.len() < len {
        let mut parts: Vec<&[u8]> = Vec::with_capacity(seed.len() + 1);
        parts.push(&block);
        parts.extend_from_slice(seed);
        block = prf.compute_parts(key, &parts)?;
        out.extend_from_slice(&block);
    }
    out.truncate(len);
    Ok(out)
}

/// What both phase 1 hashes cover besides the identity: the public values, the cookies and
/// the body of the initiator's SA payload.
#[derive(Debug, Clone, Copy)]
pub struct Phase1Transcript<'a> {
    pub g_xi: &'a [u8],
    pub g_xr: &'a [u8],
    pub cky_i: &'a [u8; 8],
    pub cky_r: &'a [u8; 8],
    /// SAi_b: the initiator's SA payload body, as sent.
    pub sai_b: &'a [u8],
}

/// HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b).
pub fn hash_i(prf: Prf, skeyid: &[u8], t: &Phase1Transcript<'_>, idii_b: &[u8]) -> Result<Secret> {
    prf.compute_parts(skeyid, &[t.g_xi, t.g_xr, t.cky_i, t.cky_r, t.sai_b, idii_b])
}

/// HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b).
pub fn hash_r(prf: Prf, skeyid: &[u8], t: &Phase1Transcript<'_>, idir_b: &[u8]) -> Result<Secret> {
    prf.compute_parts(skeyid, &[t.g_xr, t.g_xi, t.cky_r, t.cky_i, t.sai_b, idir_b])
}

/// Quick Mode HASH(1) = prf(SKEYID_a, M-ID | the message after the HASH payload).
pub fn quick_mode_hash1(prf: Prf, skeyid_a: &[u8], message_id: u32, rest: &[u8]) -> Result<Secret> {
    prf.compute_parts(skeyid_a, &[&message_id.to_be_bytes(), rest])
}

/// Quick Mode HASH(2) = prf(SKEYID_a, M-ID | Ni_b | the message after the HASH payload).
pub fn quick_mode_hash2(
    prf: Prf,
    skeyid_a: &[u8],
    message_id: u32,
    ni_b: &[u8],
    rest: &[u8],
) -> Result<Secret> {
    prf.compute_parts(skeyid_a, &[&message_id.to_be_bytes(), ni_b, rest])
}

/// Quick Mode HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b).
pub fn quick_mode_hash3(
    prf: Prf,
    skeyid_a: &[u8],
    message_id: u32,
    ni_b: &[u8],
    nr_b: &[u8],
) -> Result<Secret> {
    prf.compute_parts(skeyid_a, &[&[0], &message_id.to_be_bytes(), ni_b, nr_b])
}

/// The Informational exchange's HASH(1) = prf(SKEYID_a, M-ID | N/D), the payloads after
/// the HASH payload (RFC 2409 5.7). The same form as Quick Mode HASH(1).
pub fn informational_hash(
    prf: Prf,
    skeyid_a: &[u8],
    message_id: u32,
    rest: &[u8],
) -> Result<Secret> {
    quick_mode_hash1(prf, skeyid_a, message_id, rest)
}

/// Phase 2 KEYMAT for one SA (one direction: the SPI is the receiver's) of `len` octets
/// (RFC 2409 5.5): KEYMAT = K1 | K2 | ..., K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI |
/// Ni_b | Nr_b), Kn = prf(SKEYID_d, Kn-1 | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b).
/// `g_qm` is the Quick Mode's shared secret when PFS is used.
#[allow(clippy::too_many_arguments)]
pub fn keymat(
    prf: Prf,
    skeyid_d: &[u8],
    g_qm: Option<&[u8]>,
    protocol: u8,
    spi: &[u8; 4],
    ni_b: &[u8],
    nr_b: &[u8],
    len: usize,
) -> Result<Secret> {
    let protocol = [protocol];
    let mut seed: Vec<&[u8]> = Vec::with_capacity(5);
    seed.extend(g_qm);
    seed.extend_from_slice(&[&protocol, spi, ni_b, nr_b]);
    feedback(prf, skeyid_d, &seed, &seed, len)
}

#[cfg(test)]
#[path = "keymat_tests.rs"]
mod tests;
