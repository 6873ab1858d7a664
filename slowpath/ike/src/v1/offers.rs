//! A child's Quick Mode transforms, from the connection and child that `crate::config` holds
//! (apart from `v1::config`, which that module holds in turn).

use super::config::{group, seconds};
use super::wire::{auth_algorithm, encapsulation, esp_transform, Phase2Transform};
use crate::config::{ChildConfig, IkeConfig, Mode};
use crate::crypto::transform::{
    AUTH_HMAC_SHA1_96, AUTH_HMAC_SHA2_256_128, AUTH_HMAC_SHA2_384_192, AUTH_HMAC_SHA2_512_256,
    ENCR_AES_CBC, ENCR_AES_GCM_16,
};

/// A child's Quick Mode transforms from its ESP suites (`IkeConfig::child_suites`): a suite
/// with a group asks for PFS, as in IKEv2's CREATE_CHILD_SA. The encapsulation is the
/// child's mode without UDP; `natt::encapsulation_mode` changes it when a NAT is found.
pub fn phase2_offers(
    conn: &IkeConfig,
    child: &ChildConfig,
) -> Result<Vec<Phase2Transform>, String> {
    let life = &child.lifetimes;
    let mut out: Vec<Phase2Transform> = Vec::new();
    for s in conn.child_suites(child) {
        let transform_id = match s.encr {
            ENCR_AES_CBC => esp_transform::AES_CBC,
            ENCR_AES_GCM_16 => esp_transform::AES_GCM_16,
            e => return Err(format!("ESP cipher {e} has no IKEv1 transform")),
        };
        let auth = match s.integ {
            None => None,
            Some(AUTH_HMAC_SHA1_96) => Some(auth_algorithm::HMAC_SHA),
            Some(AUTH_HMAC_SHA2_256_128) => Some(auth_algorithm::HMAC_SHA2_256),
            Some(AUTH_HMAC_SHA2_384_192) => Some(auth_algorithm::HMAC_SHA2_384),
            Some(AUTH_HMAC_SHA2_512_256) => Some(auth_algorithm::HMAC_SHA2_512),
            Some(i) => {
                return Err(format!(
                    "integrity {i} has no IKEv1 authentication algorithm"
                ))
            }
        };
        let offer = Phase2Transform {
            transform_id,
            key_bits: Some(s.encr_key_bits),
            auth,
            encapsulation: match child.mode {
                Mode::Tunnel => encapsulation::TUNNEL,
                Mode::Transport => encapsulation::TRANSPORT,
            },
            group: s.dh.map(group).transpose()?,
            life_seconds: (!life.life_time.is_zero()).then(|| seconds(life.life_time)),
            life_kbytes: (life.life_bytes != 0)
                .then(|| u32::try_from(life.life_bytes.div_ceil(1024)).unwrap_or(u32::MAX)),
        };
        if !out.contains(&offer) {
            out.push(offer);
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "offers_tests.rs"]
mod tests;
