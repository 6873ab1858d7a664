//! Signature AUTH methods: RSA (1, PKCS#1 v1.5 with SHA-1, RFC 7296 3.8), ECDSA (9, 10,
//! 11, raw r | s, RFC 4754) and Digital Signature (14, RFC 7427, schemes in [`super::scheme`]).

use super::scheme::{SigHash, SigScheme};
use super::{
    AUTH_DIGITAL_SIGNATURE, AUTH_ECDSA_SHA256_P256, AUTH_ECDSA_SHA384_P384, AUTH_ECDSA_SHA512_P521,
    AUTH_RSA_SIG,
};
use crate::crypto::error::{CryptoError, Result};
use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::hash;
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef, Private, Public};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer, Verifier};

/// Curve, hash and coordinate size of the RFC 4754 methods.
pub(crate) fn ecdsa_method(method: u8) -> Option<(Nid, SigHash, usize)> {
    match method {
        AUTH_ECDSA_SHA256_P256 => Some((Nid::X9_62_PRIME256V1, SigHash::Sha256, 32)),
        AUTH_ECDSA_SHA384_P384 => Some((Nid::SECP384R1, SigHash::Sha384, 48)),
        AUTH_ECDSA_SHA512_P521 => Some((Nid::SECP521R1, SigHash::Sha512, 66)),
        _ => None,
    }
}

pub(crate) fn require_key<T>(key: &PKeyRef<T>, id: Id) -> Result<()> {
    if key.id() == id {
        Ok(())
    } else {
        Err(CryptoError::BadAuth("key type does not fit the method"))
    }
}

/// AUTH data for a signature method over the signed octets.
///
/// Method 14 uses [`SigScheme::for_key`] with no peer preference; call
/// [`sign_digital_signature`] to pick the scheme from the peer's hash list.
pub fn sign(method: u8, key: &PKey<Private>, octets: &[u8]) -> Result<Vec<u8>> {
    if let Some((curve, h, n)) = ecdsa_method(method) {
        require_key(key, Id::EC)?;
        let ec = key.ec_key()?;
        if ec.group().curve_name() != Some(curve) {
            return Err(CryptoError::BadAuth(
                "EC key on the wrong curve for the method",
            ));
        }
        let sig = EcdsaSig::sign(&hash(h.digest(), octets)?, &ec)?;
        let mut out = sig.r().to_vec_padded(n as i32)?;
        out.extend_from_slice(&sig.s().to_vec_padded(n as i32)?);
        return Ok(out);
    }
    match method {
        AUTH_RSA_SIG => {
            require_key(key, Id::RSA)?;
            raw_sign(SigScheme::RsaPkcs1(SigHash::Sha1), key, octets)
        }
        AUTH_DIGITAL_SIGNATURE => {
            let scheme = SigScheme::for_key(key, &[])
                .ok_or(CryptoError::BadAuth("no signature scheme for this key"))?;
            sign_digital_signature(scheme, key, octets)
        }
        _ => Err(CryptoError::BadAuth("not a signature method")),
    }
}

/// Method 14 AUTH data: AlgorithmIdentifier length (1 octet) | AlgorithmIdentifier |
/// signature (PKCS#1 or PSS for RSA, DER Ecdsa-Sig-Value for ECDSA).
pub fn sign_digital_signature(
    scheme: SigScheme,
    key: &PKey<Private>,
    octets: &[u8],
) -> Result<Vec<u8>> {
    require_key(key, scheme.key_id())?;
    let alg = scheme
        .algorithm_identifier()
        .ok_or(CryptoError::BadAuth("unsupported signature scheme"))?;
    let sig = raw_sign(scheme, key, octets)?;
    // Every identifier in SCHEMES is shorter than 256 octets.
    let mut out = vec![alg.len() as u8];
    out.extend_from_slice(alg);
    out.extend_from_slice(&sig);
    Ok(out)
}

fn raw_sign(scheme: SigScheme, key: &PKey<Private>, octets: &[u8]) -> Result<Vec<u8>> {
    let Some(h) = scheme.hash() else {
        // Ed25519 (RFC 8420): the octets themselves, in one shot.
        return Ok(Signer::new_without_digest(key)?.sign_oneshot_to_vec(octets)?);
    };
    let mut signer = Signer::new(h.digest(), key)?;
    if let SigScheme::RsaPss(_) = scheme {
        signer.set_rsa_padding(Padding::PKCS1_PSS)?;
        signer.set_rsa_mgf1_md(h.digest())?;
        signer.set_rsa_pss_saltlen(RsaPssSaltlen::custom(h.len() as i32))?;
    }
    signer.update(octets)?;
    Ok(signer.sign_to_vec()?)
}

/// Checks a received signature AUTH against the peer's public key.
pub fn verify(method: u8, key: &PKey<Public>, octets: &[u8], auth_data: &[u8]) -> Result<()> {
    if let Some((curve, h, n)) = ecdsa_method(method) {
        require_key(key, Id::EC)?;
        let ec = key.ec_key()?;
        if ec.group().curve_name() != Some(curve) {
            return Err(CryptoError::BadAuth(
                "EC key on the wrong curve for the method",
            ));
        }
        if auth_data.len() != 2 * n {
            return Err(CryptoError::AuthenticationFailed);
        }
        let (r, s) = auth_data.split_at(n);
        let sig =
            EcdsaSig::from_private_components(BigNum::from_slice(r)?, BigNum::from_slice(s)?)?;
        let good = sig
            .verify(&hash(h.digest(), octets)?, &ec)
            .map_err(|_| CryptoError::AuthenticationFailed)?;
        return if good {
            Ok(())
        } else {
            Err(CryptoError::AuthenticationFailed)
        };
    }
    match method {
        AUTH_RSA_SIG => {
            require_key(key, Id::RSA)?;
            raw_verify(SigScheme::RsaPkcs1(SigHash::Sha1), key, octets, auth_data)
        }
        AUTH_DIGITAL_SIGNATURE => {
            let (&len, rest) = auth_data
                .split_first()
                .ok_or(CryptoError::BadAuth("empty AUTH data"))?;
            let len = usize::from(len);
            if rest.len() < len {
                return Err(CryptoError::BadAuth(
                    "AlgorithmIdentifier overruns AUTH data",
                ));
            }
            let (alg, sig) = rest.split_at(len);
            let scheme = SigScheme::from_algorithm_identifier(alg).ok_or(CryptoError::BadAuth(
                "unknown signature AlgorithmIdentifier",
            ))?;
            require_key(key, scheme.key_id())?;
            raw_verify(scheme, key, octets, sig)
        }
        _ => Err(CryptoError::BadAuth("not a signature method")),
    }
}

fn raw_verify<T: HasPublic>(
    scheme: SigScheme,
    key: &PKey<T>,
    octets: &[u8],
    sig: &[u8],
) -> Result<()> {
    let check = || -> Result<bool, openssl::error::ErrorStack> {
        let Some(h) = scheme.hash() else {
            return Verifier::new_without_digest(key)?.verify_oneshot(sig, octets);
        };
        let mut verifier = Verifier::new(h.digest(), key)?;
        if let SigScheme::RsaPss(_) = scheme {
            verifier.set_rsa_padding(Padding::PKCS1_PSS)?;
            verifier.set_rsa_mgf1_md(h.digest())?;
            verifier.set_rsa_pss_saltlen(RsaPssSaltlen::custom(h.len() as i32))?;
        }
        verifier.update(octets)?;
        verifier.verify(sig)
    };
    // A malformed signature is an OpenSSL error, a wrong one is `false`: both fail AUTH.
    match check() {
        Ok(true) => Ok(()),
        _ => Err(CryptoError::AuthenticationFailed),
    }
}

#[cfg(test)]
#[path = "signature_tests.rs"]
mod tests;
