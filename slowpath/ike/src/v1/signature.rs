//! Phase 1 signature authentication (RFC 2409 5.1): the SIG payload over HASH_I / HASH_R
//! for RSA (method 3) and ECDSA (9, 10, 11, RFC 4754), our CERT and CR payloads, and the
//! check of the peer's certificate, identity and signature.
//!
//! IKEv1 signs the PRF output itself, without a further digest: RSA is PKCS#1 v1.5 type 1
//! padding over the raw hash (no DigestInfo), ECDSA signs the hash as its digest and sends
//! r | s, each padded to the curve's field size. This is what strongSwan does
//! (SIGN_RSA_EMSA_PKCS1_NULL and SIGN_ECDSA_WITH_NULL) and what the captures check.
//!
//! The certificate helpers are the IKEv2 ones: the ID and certificate encoding numbers of
//! the IPsec DOI (RFC 2407 4.6.2.1, RFC 2408 3.9) are those of RFC 7296 for every type
//! used here. The clock is an input.

use super::wire::{auth_method, cert_encoding, id_type, notify_type};
use super::wire::{Identification, Payload};
use crate::crypto::auth::cert::{from_der, matches_id, public_key, subject_dn_der, verify_chain};
use crate::crypto::auth::signature::{ecdsa_method, require_key};
use crate::crypto::error::CryptoError;
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef, Private, Public};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use openssl::x509::{X509KeyUsage, X509Ref, X509};
use thiserror::Error;

/// Why signature authentication failed: each kind is its own variant, so that the exchange
/// can count it and answer with the notification that names it.
#[derive(Debug, Error)]
pub enum SigAuthError {
    /// The negotiated authentication method is not one this module signs with.
    #[error("authentication method {0} is not RSA or ECDSA signatures")]
    NotSignatureMethod(u16),
    /// A key of the wrong type or curve for the method (ours or the peer's).
    #[error("key does not fit authentication method {0}")]
    KeyDoesNotFitMethod(u16),
    /// The message holds no SIG payload.
    #[error("no SIG payload")]
    NoSignature,
    /// The message holds no X.509 (encoding 4) CERT payload.
    #[error("no X.509 CERT payload")]
    NoCertificate,
    /// A CERT payload that is not a DER certificate.
    #[error("CERT payload is not a certificate")]
    MalformedCertificate,
    /// No certificate the peer sent names its ID payload.
    #[error("identity (ID type {0}) does not match the certificate")]
    IdentityMismatch(u8),
    /// The peer's certificate expired before `now`.
    #[error("certificate expired")]
    CertificateExpired,
    /// The peer's certificate is not valid yet at `now`.
    #[error("certificate not yet valid")]
    CertificateNotYetValid,
    /// The certificate's KeyUsage allows neither digitalSignature nor nonRepudiation
    /// (RFC 4945 5.1.3.2).
    #[error("certificate key usage does not allow signing")]
    KeyUsageForbidsSigning,
    /// The peer's certificate does not chain to one of our trust anchors.
    #[error("certificate not issued by a trusted CA: {0}")]
    UntrustedCertificate(String),
    /// SIG does not verify over the hash with the certificate's key.
    #[error("signature does not verify")]
    BadSignature,
    /// OpenSSL failed on our side (not the peer's fault).
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl SigAuthError {
    /// The RFC 2408 3.14.1 notify type that tells the peer what was wrong.
    pub fn notify_type(&self) -> u16 {
        match self {
            SigAuthError::NotSignatureMethod(_) | SigAuthError::KeyDoesNotFitMethod(_) => {
                notify_type::AUTHENTICATION_FAILED
            }
            SigAuthError::NoSignature | SigAuthError::BadSignature => {
                notify_type::INVALID_SIGNATURE
            }
            SigAuthError::NoCertificate => notify_type::CERTIFICATE_UNAVAILABLE,
            SigAuthError::MalformedCertificate
            | SigAuthError::CertificateExpired
            | SigAuthError::CertificateNotYetValid
            | SigAuthError::KeyUsageForbidsSigning => notify_type::INVALID_CERTIFICATE,
            SigAuthError::IdentityMismatch(_) => notify_type::INVALID_ID_INFORMATION,
            SigAuthError::UntrustedCertificate(_) => notify_type::INVALID_CERT_AUTHORITY,
            SigAuthError::Crypto(_) => notify_type::AUTHENTICATION_FAILED,
        }
    }

    /// A stable name for the drop counter.
    pub fn counter_name(&self) -> &'static str {
        match self {
            SigAuthError::NotSignatureMethod(_) => "v1_auth_not_signature_method",
            SigAuthError::KeyDoesNotFitMethod(_) => "v1_auth_key_mismatch",
            SigAuthError::NoSignature => "v1_auth_no_sig",
            SigAuthError::NoCertificate => "v1_auth_no_cert",
            SigAuthError::MalformedCertificate => "v1_auth_bad_cert",
            SigAuthError::IdentityMismatch(_) => "v1_auth_id_mismatch",
            SigAuthError::CertificateExpired => "v1_auth_cert_expired",
            SigAuthError::CertificateNotYetValid => "v1_auth_cert_not_yet_valid",
            SigAuthError::KeyUsageForbidsSigning => "v1_auth_cert_key_usage",
            SigAuthError::UntrustedCertificate(_) => "v1_auth_untrusted_ca",
            SigAuthError::BadSignature => "v1_auth_bad_sig",
            SigAuthError::Crypto(_) => "v1_auth_crypto_error",
        }
    }
}

type Result<T> = std::result::Result<T, SigAuthError>;

/// The signature method our key proposes: RSA signatures, or the ECDSA method of its curve.
pub fn method_for_key<T: HasPublic>(key: &PKeyRef<T>) -> Option<u16> {
    match key.id() {
        Id::RSA => Some(auth_method::RSA_SIG),
        Id::EC => match key.ec_key().ok()?.group().curve_name()? {
            Nid::X9_62_PRIME256V1 => Some(auth_method::ECDSA_SHA256_P256),
            Nid::SECP384R1 => Some(auth_method::ECDSA_SHA384_P384),
            Nid::SECP521R1 => Some(auth_method::ECDSA_SHA512_P521),
            _ => None,
        },
        _ => None,
    }
}

/// Whether `method` is one of the signature methods of this module.
pub fn is_signature_method(method: u16) -> bool {
    method == auth_method::RSA_SIG || ecdsa_curve(method).is_some()
}

/// The curve and r / s size of an ECDSA method (the same numbers as IKEv2's AUTH methods).
fn ecdsa_curve(method: u16) -> Option<(Nid, usize)> {
    let method = u8::try_from(method).ok()?;
    ecdsa_method(method).map(|(curve, _, n)| (curve, n))
}

fn require_curve<T: HasPublic>(key: &PKeyRef<T>, method: u16, curve: Nid) -> Result<()> {
    require_key(key, Id::EC).map_err(|_| SigAuthError::KeyDoesNotFitMethod(method))?;
    let ec = key.ec_key().map_err(CryptoError::from)?;
    if ec.group().curve_name() == Some(curve) {
        Ok(())
    } else {
        Err(SigAuthError::KeyDoesNotFitMethod(method))
    }
}

/// SIG payload data: our signature over HASH_I (initiator) or HASH_R (responder).
pub fn sign_hash(method: u16, key: &PKey<Private>, hash: &[u8]) -> Result<Vec<u8>> {
    if let Some((curve, n)) = ecdsa_curve(method) {
        require_curve(key, method, curve)?;
        let ec = key.ec_key().map_err(CryptoError::from)?;
        let sig = EcdsaSig::sign(hash, &ec).map_err(CryptoError::from)?;
        let mut out = sig.r().to_vec_padded(n as i32).map_err(CryptoError::from)?;
        out.extend_from_slice(&sig.s().to_vec_padded(n as i32).map_err(CryptoError::from)?);
        return Ok(out);
    }
    if method != auth_method::RSA_SIG {
        return Err(SigAuthError::NotSignatureMethod(method));
    }
    require_key(key, Id::RSA).map_err(|_| SigAuthError::KeyDoesNotFitMethod(method))?;
    // No digest is set on the context: PKCS#1 v1.5 pads the hash as it is.
    let sign = || -> std::result::Result<Vec<u8>, openssl::error::ErrorStack> {
        let mut ctx = PkeyCtx::new(key)?;
        ctx.sign_init()?;
        ctx.set_rsa_padding(Padding::PKCS1)?;
        let mut out = Vec::new();
        ctx.sign_to_vec(hash, &mut out)?;
        Ok(out)
    };
    Ok(sign().map_err(CryptoError::from)?)
}

/// Checks the peer's SIG payload data over HASH_I / HASH_R with its public key.
pub fn verify_hash(method: u16, key: &PKey<Public>, hash: &[u8], sig: &[u8]) -> Result<()> {
    if let Some((curve, n)) = ecdsa_curve(method) {
        require_curve(key, method, curve)?;
        if sig.len() != 2 * n {
            return Err(SigAuthError::BadSignature);
        }
        let ec = key.ec_key().map_err(CryptoError::from)?;
        let (r, s) = sig.split_at(n);
        let good = BigNum::from_slice(r)
            .and_then(|r| Ok((r, BigNum::from_slice(s)?)))
            .and_then(|(r, s)| EcdsaSig::from_private_components(r, s))
            .and_then(|sig| sig.verify(hash, &ec));
        return match good {
            Ok(true) => Ok(()),
            _ => Err(SigAuthError::BadSignature),
        };
    }
    if method != auth_method::RSA_SIG {
        return Err(SigAuthError::NotSignatureMethod(method));
    }
    require_key(key, Id::RSA).map_err(|_| SigAuthError::KeyDoesNotFitMethod(method))?;
    let check = || -> std::result::Result<bool, openssl::error::ErrorStack> {
        let mut ctx = PkeyCtx::new(key)?;
        ctx.verify_init()?;
        ctx.set_rsa_padding(Padding::PKCS1)?;
        ctx.verify(hash, sig)
    };
    // A malformed signature is an OpenSSL error, a wrong one is `false`: both fail.
    match check() {
        Ok(true) => Ok(()),
        _ => Err(SigAuthError::BadSignature),
    }
}

/// Our CERT payloads: the end-entity certificate first, then the intermediates the peer
/// needs to reach its trust anchor.
pub fn cert_payloads(ours: &X509Ref, intermediates: &[X509]) -> Result<Vec<Payload>> {
    std::iter::once(ours)
        .chain(intermediates.iter().map(|c| &**c))
        .map(|c| {
            Ok(Payload::Cert {
                encoding: cert_encoding::X509_SIGNATURE,
                data: c.to_der().map_err(CryptoError::from)?,
            })
        })
        .collect()
}

/// CR payloads naming each CA we trust by its subject DN (RFC 2408 3.10), as the peer
/// picks the certificate it sends by them.
pub fn cert_request_payloads(trust_anchors: &[X509]) -> Result<Vec<Payload>> {
    trust_anchors
        .iter()
        .map(|ca| {
            Ok(Payload::CertReq {
                encoding: cert_encoding::X509_SIGNATURE,
                data: subject_dn_der(ca)?,
            })
        })
        .collect()
}

/// Our ID payload for certificate authentication: the certificate's subject DN.
pub fn dn_identification(ours: &X509Ref) -> Result<Identification> {
    Ok(Identification {
        id_type: id_type::DER_ASN1_DN,
        protocol: 0,
        port: 0,
        data: subject_dn_der(ours)?,
    })
}

/// What the peer sent to prove its identity: the payloads of its Main Mode 5 or 6 (whose
/// CERT payloads are read in order) and its SIG data.
#[derive(Debug, Clone, Copy)]
pub struct PeerProof<'a> {
    pub payloads: &'a [Payload],
    pub sig: &'a [u8],
}

impl<'a> PeerProof<'a> {
    /// Finds SIG and the CERT payloads among the payloads of Main Mode 5 or 6.
    pub fn from_payloads(payloads: &'a [Payload]) -> Result<PeerProof<'a>> {
        let sig = payloads
            .iter()
            .find_map(|p| match p {
                Payload::Sig(s) => Some(s.as_slice()),
                _ => None,
            })
            .ok_or(SigAuthError::NoSignature)?;
        Ok(PeerProof { payloads, sig })
    }

    /// The DER of every X.509 certificate the peer sent; other encodings are ignored.
    fn x509_ders(&self) -> impl Iterator<Item = &'a [u8]> {
        self.payloads.iter().filter_map(|p| match p {
            Payload::Cert { encoding, data } if *encoding == cert_encoding::X509_SIGNATURE => {
                Some(data.as_slice())
            }
            _ => None,
        })
    }
}

/// Authenticates the peer: the certificate that names `peer_id` must be valid at
/// `unix_time`, allow signing by its KeyUsage if it has one, chain to one of `trust_anchors` (the peer's other certificates are
/// intermediates) and hold the key that signed `hash` (the peer's HASH_I or HASH_R).
/// Returns that certificate.
pub fn verify_peer(
    method: u16,
    peer_id: &Identification,
    proof: &PeerProof<'_>,
    hash: &[u8],
    trust_anchors: &[X509],
    unix_time: i64,
) -> Result<X509> {
    if !is_signature_method(method) {
        return Err(SigAuthError::NotSignatureMethod(method));
    }
    let mut certs = proof
        .x509_ders()
        .map(|der| from_der(der).map_err(|_| SigAuthError::MalformedCertificate))
        .collect::<Result<Vec<X509>>>()?;
    if certs.is_empty() {
        return Err(SigAuthError::NoCertificate);
    }
    let leaf_at = certs
        .iter()
        .position(|c| matches_id(c, peer_id.id_type, &peer_id.data))
        .ok_or(SigAuthError::IdentityMismatch(peer_id.id_type))?;
    let leaf = certs.swap_remove(leaf_at);
    check_validity(&leaf, unix_time)?;
    if leaf.key_usage().is_some_and(|ku| {
        !ku.intersects(X509KeyUsage::DIGITAL_SIGNATURE | X509KeyUsage::NON_REPUDIATION)
    }) {
        return Err(SigAuthError::KeyUsageForbidsSigning);
    }
    verify_chain(&leaf, &certs, trust_anchors, unix_time).map_err(|e| match e {
        CryptoError::Certificate(why) => SigAuthError::UntrustedCertificate(why),
        other => SigAuthError::Crypto(other),
    })?;
    verify_hash(method, &public_key(&leaf)?, hash, proof.sig)?;
    Ok(leaf)
}

/// The leaf's own validity period, checked apart from the chain so that an expired
/// certificate is told from an untrusted one.
fn check_validity(cert: &X509Ref, unix_time: i64) -> Result<()> {
    let now = Asn1Time::from_unix(unix_time).map_err(CryptoError::from)?;
    if cert.not_after() < now {
        return Err(SigAuthError::CertificateExpired);
    }
    if cert.not_before() > now {
        return Err(SigAuthError::CertificateNotYetValid);
    }
    Ok(())
}

#[cfg(test)]
#[path = "signature_tests.rs"]
mod tests;
