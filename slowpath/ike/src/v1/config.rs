//! What a `version 1` connection adds to `IkeConfig`: Aggressive Mode, the phase 1 and
//! phase 2 transforms in IKEv1's numbering (mapped from the same strongSwan proposal keywords
//! as IKEv2), the ISAKMP SA's lifetime and the RFC 3706 DPD knobs. It reads nothing of
//! `crate::config`, which holds it (`IkeVersion::V1`); a child's Quick Mode transforms,
//! which read the connection, are built in `offers`.

use std::time::Duration;

use openssl::pkey::{PKey, Private};

use super::signature::method_for_key;
use super::wire::{auth_method as method, encryption, hash, Phase1Transform};
use crate::crypto::transform::{
    Suite, ECP_256, ECP_384, ECP_521, ENCR_AES_CBC, MODP_1024, MODP_2048, MODP_3072, PRF_HMAC_SHA1,
    PRF_HMAC_SHA2_256, PRF_HMAC_SHA2_384, PRF_HMAC_SHA2_512,
};

/// RFC 2407 4.5: an ISAKMP SA proposed without a lifetime lives eight hours.
pub const DEFAULT_PHASE1_LIFE: Duration = Duration::from_secs(8 * 3600);

/// The R-U-THERE retransmissions after the first one before the peer is dead, unless
/// configured: with the retransmission wait equal to the interval, a 30 s interval declares
/// the peer dead after 150 s, strongSwan's `dpd_timeout` default.
pub const DEFAULT_DPD_RETRIES: u32 = 4;

/// When to probe the peer and when to give up (RFC 3706; StarOS `ikev1 keepalive dpd
/// interval D timeout D num-retry N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DpdTiming {
    /// Idleness (no inbound IKE or ESP) before an R-U-THERE.
    pub interval: Duration,
    /// Wait for the R-U-THERE-ACK before sending the R-U-THERE again.
    pub retransmit: Duration,
    /// Retransmissions after the first R-U-THERE; dead when the last one is unanswered.
    pub retries: u32,
}

/// The IKEv1 part of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Config {
    /// Aggressive Mode (RFC 2409 5.4) instead of Main Mode: only when configured, since it
    /// sends the identities in clear and lets a listener guess the PSK offline.
    pub aggressive: bool,
    /// From the `ike` proposals, preferred first, with the connection's authentication
    /// method and the ISAKMP SA lifetime proposed (`life`; it is reauthenticated at
    /// `IkeConfig::rekey_time`).
    pub phase1: Vec<Phase1Transform>,
    /// `dpd ... timeout D`: the R-U-THERE retransmission wait (the interval if not given).
    pub dpd_retransmit: Option<Duration>,
    /// `dpd ... retries N`.
    pub dpd_retries: u32,
}

impl V1Config {
    /// Main Mode offering `phase1`, DPD as RFC 3706 and strongSwan default it.
    pub fn main_mode(phase1: Vec<Phase1Transform>) -> V1Config {
        V1Config {
            aggressive: false,
            phase1,
            dpd_retransmit: None,
            dpd_retries: DEFAULT_DPD_RETRIES,
        }
    }

    /// The DPD timing, or None when DPD is off (`IkeConfig::dpd.interval` zero).
    pub fn dpd_timing(&self, interval: Duration) -> Option<DpdTiming> {
        (!interval.is_zero()).then(|| DpdTiming {
            interval,
            retransmit: self.dpd_retransmit.unwrap_or(interval),
            retries: self.dpd_retries,
        })
    }
}

/// IKEv1 and IKEv2 number the groups we have alike; Curve25519 has no IKEv1 number.
pub(super) fn group(dh: u16) -> Result<u16, String> {
    match dh {
        MODP_1024 | MODP_2048 | MODP_3072 | ECP_256 | ECP_384 | ECP_521 => Ok(dh),
        _ => Err(format!("D-H group {dh} has no IKEv1 number (modp, ecp)")),
    }
}

/// Phase 1 transforms from IKEv2 suites: AES-CBC, the PRF's hash (IKEv1 uses HMAC of it as
/// its PRF and for HASH_I/HASH_R), the group, then the connection's `auth_method` and `life`.
/// Duplicates (suites differing only in their integrity algorithm, which phase 1 has none
/// of) are left out.
pub fn phase1_offers(
    suites: &[Suite],
    auth_method: u16,
    life: Duration,
) -> Result<Vec<Phase1Transform>, String> {
    let mut out: Vec<Phase1Transform> = Vec::new();
    for s in suites {
        if s.encr != ENCR_AES_CBC {
            return Err("IKEv1 phase 1 has no AEAD cipher: use aes128/aes256 with sha*".into());
        }
        let hash = match s.prf {
            Some(PRF_HMAC_SHA1) => hash::SHA1,
            Some(PRF_HMAC_SHA2_256) => hash::SHA2_256,
            Some(PRF_HMAC_SHA2_384) => hash::SHA2_384,
            Some(PRF_HMAC_SHA2_512) => hash::SHA2_512,
            p => return Err(format!("PRF {p:?} has no IKEv1 hash")),
        };
        let dh = s.dh.ok_or("an IKEv1 phase 1 proposal needs a D-H group")?;
        let offer = Phase1Transform {
            encryption: encryption::AES_CBC,
            key_bits: Some(s.encr_key_bits),
            hash,
            auth_method,
            group: group(dh)?,
            life_seconds: Some(seconds(life)),
            life_kbytes: None,
        };
        if !out.contains(&offer) {
            out.push(offer);
        }
    }
    Ok(out)
}

/// A lifetime attribute's seconds (at most ten years by the grammar, so it fits).
pub(super) fn seconds(d: Duration) -> u32 {
    u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
}

/// The phase 1 authentication method of a connection from its private key
/// (`AuthConfig::private_key`): pre-shared key without one, or the signature it makes (RSA;
/// ECDSA with the hash that goes with its curve, RFC 4754).
pub fn auth_method(private_key: Option<&PKey<Private>>) -> Result<u16, String> {
    let Some(key) = private_key else {
        return Ok(method::PRE_SHARED_KEY);
    };
    method_for_key(key)
        .ok_or_else(|| "key: IKEv1 signs with RSA or ECDSA on P-256, P-384 or P-521".to_string())
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
