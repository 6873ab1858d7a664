//! The phase 1 authentication step (RFC 2409 5, 5.1), whatever the mode carries it in:
//! SKEYID for the negotiated method, our identity, our proof (the HASH_I / HASH_R payload
//! with a pre-shared key; our CERT payloads and a SIG payload over that hash with a
//! signature method), the CR payloads toward the CAs we trust, and the check of the peer's
//! proof and identity.
//!
//! Nothing here knows a message layout: Main Mode and Aggressive Mode pass the keys, the
//! transcript (public values, cookies, SAi_b), the role and the ID payload body, and place
//! the payloads where their messages want them.

use openssl::x509::X509Name;
use thiserror::Error;
use zeroize::Zeroizing;

use super::keymat::{self, Phase1Transcript};
use super::signature::{self, is_signature_method, PeerProof, SigAuthError};
use super::wire::{auth_method, Identification, Payload};
use crate::action::DropReason;
use crate::config::{AuthConfig, Identity, IkeConfig};
use crate::crypto::prf::Prf;
use crate::message::IdType;

/// Why the peer's proof (or our own) failed.
#[derive(Debug, Error)]
pub enum AuthError {
    /// The negotiated method is not the one the connection's credentials give.
    #[error("authentication method {0} does not fit the connection's credentials")]
    MethodDoesNotFit(u16),
    /// The peer's message lacks its ID or HASH payload.
    #[error("no {0} payload")]
    Missing(&'static str),
    /// HASH_I / HASH_R differs: a wrong pre-shared key, or a forged message.
    #[error("HASH does not match")]
    BadHash,
    /// The peer is authenticated, but not as the identity the connection names.
    #[error("identity is not the connection's remote-id")]
    NotTheRemoteId,
    #[error(transparent)]
    Signature(#[from] SigAuthError),
    /// OpenSSL failed on our side.
    #[error(transparent)]
    Crypto(#[from] crate::crypto::error::CryptoError),
}

impl AuthError {
    /// How the dropped message is counted.
    pub fn drop_reason(&self) -> DropReason {
        match self {
            AuthError::Missing(_) => DropReason::Malformed,
            AuthError::BadHash
            | AuthError::Signature(SigAuthError::BadSignature | SigAuthError::NoSignature) => {
                DropReason::BadIcv
            }
            AuthError::NotTheRemoteId => DropReason::NoConfig,
            AuthError::MethodDoesNotFit(_) | AuthError::Signature(_) | AuthError::Crypto(_) => {
                DropReason::AuthFailed
            }
        }
    }
}

type Secret = Zeroizing<Vec<u8>>;

/// SKEYID for the negotiated method (RFC 2409 5): prf(pre-shared-key, Ni_b | Nr_b), or
/// prf(Ni_b | Nr_b, g^xy) for signatures.
pub fn skeyid(
    auth: &AuthConfig,
    method: u16,
    prf: Prf,
    ni: &[u8],
    nr: &[u8],
    g_xy: &[u8],
) -> Result<Secret, AuthError> {
    match auth {
        AuthConfig::Psk(k) if method == auth_method::PRE_SHARED_KEY => {
            Ok(keymat::skeyid_psk(prf, k, ni, nr)?)
        }
        AuthConfig::PubKey(_) if is_signature_method(method) => {
            Ok(keymat::skeyid_sig(prf, ni, nr, g_xy)?)
        }
        _ => Err(AuthError::MethodDoesNotFit(method)),
    }
}

/// Our ID payload: the connection's local identity (for certificates, the subject DN
/// unless configured otherwise). IKEv1's ID types are numbered as IKEv2's for every type
/// an identity holds.
pub fn our_identification(config: &IkeConfig) -> Identification {
    Identification {
        id_type: config.local_id.id_type.0,
        protocol: 0,
        port: 0,
        data: config.local_id.data.clone(),
    }
}

/// CR payloads naming the CAs we trust (none with a pre-shared key): sent with the KE so
/// that the peer picks the certificate it proves itself with.
pub fn cert_requests(config: &IkeConfig) -> Result<Vec<Payload>, AuthError> {
    match &config.auth {
        AuthConfig::Psk(_) => Ok(Vec::new()),
        AuthConfig::PubKey(p) => Ok(signature::cert_request_payloads(&p.trust_anchors)?),
    }
}

/// What proves a phase 1: the connection's credentials, the negotiated method, and the
/// keys and transcript of the exchange.
pub struct Phase1Proof<'a> {
    pub config: &'a IkeConfig,
    pub method: u16,
    pub prf: Prf,
    pub skeyid: &'a [u8],
    pub transcript: Phase1Transcript<'a>,
}

impl Phase1Proof<'_> {
    /// HASH_I (`of_initiator`) or HASH_R over an ID payload body.
    pub fn hash(&self, of_initiator: bool, id_b: &[u8]) -> Result<Secret, AuthError> {
        let t = &self.transcript;
        let h = if of_initiator {
            keymat::hash_i(self.prf, self.skeyid, t, id_b)?
        } else {
            keymat::hash_r(self.prf, self.skeyid, t, id_b)?
        };
        Ok(h)
    }

    /// Our proof, to follow our ID payload (whose body is `id_b`): HASH with a pre-shared
    /// key; our certificate (and its intermediates) and SIG over the hash with a key.
    pub fn our_payloads(&self, initiator: bool, id_b: &[u8]) -> Result<Vec<Payload>, AuthError> {
        let hash = self.hash(initiator, id_b)?;
        match &self.config.auth {
            AuthConfig::Psk(_) if self.method == auth_method::PRE_SHARED_KEY => {
                Ok(vec![Payload::Hash(hash.to_vec())])
            }
            AuthConfig::PubKey(p) if is_signature_method(self.method) => {
                let (ours, intermediates) = p
                    .cert_chain
                    .split_first()
                    .ok_or(SigAuthError::NoCertificate)?;
                let mut out = signature::cert_payloads(ours, intermediates)?;
                let sig = signature::sign_hash(self.method, &p.private_key, &hash)?;
                out.push(Payload::Sig(sig));
                Ok(out)
            }
            _ => Err(AuthError::MethodDoesNotFit(self.method)),
        }
    }

    /// Checks the peer's proof among `payloads` (its ID payload's body as received is
    /// `raw_id`): the HASH, or its certificate (valid at `unix_time`, chained to our CAs,
    /// naming its ID) and SIG; then that identity against the connection's remote-id. The
    /// identity it proved.
    pub fn check_peer(
        &self,
        we_initiate: bool,
        payloads: &[Payload],
        raw_id: &[u8],
        unix_time: i64,
    ) -> Result<Identity, AuthError> {
        let id = payloads
            .iter()
            .find_map(|p| match p {
                Payload::Id(i) => Some(i),
                _ => None,
            })
            .ok_or(AuthError::Missing("ID"))?;
        let hash = self.hash(!we_initiate, raw_id)?;
        match &self.config.auth {
            AuthConfig::Psk(_) if self.method == auth_method::PRE_SHARED_KEY => {
                let got = payloads
                    .iter()
                    .find_map(|p| match p {
                        Payload::Hash(h) => Some(h),
                        _ => None,
                    })
                    .ok_or(AuthError::Missing("HASH"))?;
                if got[..] != hash[..] {
                    return Err(AuthError::BadHash);
                }
            }
            AuthConfig::PubKey(p) if is_signature_method(self.method) => {
                let proof = PeerProof::from_payloads(payloads)?;
                signature::verify_peer(
                    self.method,
                    id,
                    &proof,
                    &hash,
                    &p.trust_anchors,
                    unix_time,
                )?;
            }
            _ => return Err(AuthError::MethodDoesNotFit(self.method)),
        }
        let peer = Identity {
            id_type: IdType(id.id_type),
            data: id.data.clone(),
        };
        match &self.config.remote_id {
            Some(want) if !is_remote_id(want, &peer) => Err(AuthError::NotTheRemoteId),
            _ => Ok(peer),
        }
    }
}

/// Whether the peer's identity is the connection's remote-id. DNs compare as X.509 names:
/// strongSwan encodes an ID DN's strings as PrintableString where OpenSSL's subjects (and
/// our configured DNs) hold UTF8String.
pub(super) fn is_remote_id(want: &Identity, peer: &Identity) -> bool {
    if want.matches(peer.id_type, &peer.data) {
        return true;
    }
    let dn = IdType::DER_ASN1_DN;
    if want.id_type != dn || peer.id_type != dn {
        return false;
    }
    match (
        X509Name::from_der(&want.data),
        X509Name::from_der(&peer.data),
    ) {
        (Ok(a), Ok(b)) => a.try_cmp(&b).is_ok_and(|o| o.is_eq()),
        _ => false,
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
