//! AUTH payloads (RFC 7296 2.15, RFC 7427): ours from the configuration, and checking the
//! peer's, with its certificate chain when signatures are used.

use crate::config::{AuthConfig, IkeConfig};
use crate::crypto::auth::cert::{from_der, matches_id, public_key, verify_chain};
use crate::crypto::auth::{
    psk_auth_for_octets, sign_digital_signature, verify, verify_psk_auth, SigScheme,
};
use crate::crypto::prf::Prf;
use crate::message::{AuthMethod, CertEncoding, IdType, Payload, PayloadType, Payloads};

/// Our CERT payloads (end entity first) and AUTH payload over `octets`.
pub fn our_auth(
    cfg: &IkeConfig,
    prf: Prf,
    octets: &[u8],
    peer_hashes: &[u16],
) -> Option<(Vec<Payload>, Payload)> {
    match &cfg.auth {
        AuthConfig::Psk(psk) => {
            let data = psk_auth_for_octets(prf, psk, octets).ok()?;
            Some((
                Vec::new(),
                Payload::Auth {
                    method: AuthMethod::SHARED_KEY_MIC,
                    data,
                },
            ))
        }
        AuthConfig::PubKey(pk) => {
            let scheme = SigScheme::for_key(&pk.private_key, peer_hashes)?;
            let data = sign_digital_signature(scheme, &pk.private_key, octets).ok()?;
            let certs = pk
                .cert_chain
                .iter()
                .filter_map(|c| c.to_der().ok())
                .map(|data| Payload::Cert {
                    encoding: CertEncoding::X509_SIGNATURE,
                    data,
                })
                .collect();
            Some((
                certs,
                Payload::Auth {
                    method: AuthMethod::DIGITAL_SIGNATURE,
                    data,
                },
            ))
        }
    }
}

/// Checks the peer's AUTH over `octets`; with signatures, first the chain of its CERT
/// payloads up to our trust anchors at `unix_time`, and that the certificate names `id`.
pub fn verify_peer(
    cfg: &IkeConfig,
    prf: Prf,
    octets: &[u8],
    payloads: &[Payload],
    id: (IdType, &[u8]),
    unix_time: i64,
) -> bool {
    let Some((method, data)) = payloads.auth() else {
        return false;
    };
    match &cfg.auth {
        AuthConfig::Psk(psk) => {
            method == AuthMethod::SHARED_KEY_MIC && verify_psk_auth(prf, psk, octets, data).is_ok()
        }
        AuthConfig::PubKey(pk) => {
            if method == AuthMethod::SHARED_KEY_MIC {
                return false;
            }
            let certs: Vec<_> = payloads
                .of_type(PayloadType::CERT)
                .filter_map(|p| match p {
                    Payload::Cert { encoding, data }
                        if *encoding == CertEncoding::X509_SIGNATURE =>
                    {
                        from_der(data).ok()
                    }
                    _ => None,
                })
                .collect();
            let Some((leaf, intermediates)) = certs.split_first() else {
                return false;
            };
            verify_chain(leaf, intermediates, &pk.trust_anchors, unix_time).is_ok()
                && matches_id(leaf, id.0 .0, id.1)
                && public_key(leaf).is_ok_and(|key| verify(method.0, &key, octets, data).is_ok())
        }
    }
}
