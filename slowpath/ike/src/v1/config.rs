//! What a `version 1` connection adds to `IkeConfig`: Aggressive Mode, the phase 1 and
//! phase 2 transforms in IKEv1's numbering (mapped from the same strongSwan proposal keywords
//! as IKEv2), the ISAKMP SA's lifetime and the RFC 3706 DPD knobs.

use std::time::Duration;

use openssl::nid::Nid;
use openssl::pkey::Id;

use crate::config::{AuthConfig, IkeConfig, IkeVersion};
use crate::crypto::transform::{
    Suite, AUTH_HMAC_SHA1_96, AUTH_HMAC_SHA2_256_128, AUTH_HMAC_SHA2_384_192,
    AUTH_HMAC_SHA2_512_256, ECP_256, ECP_384, ECP_521, ENCR_AES_CBC, ENCR_AES_GCM_16, MODP_1024,
    MODP_2048, MODP_3072, PRF_HMAC_SHA1, PRF_HMAC_SHA2_256, PRF_HMAC_SHA2_384, PRF_HMAC_SHA2_512,
};

/// Phase 1 attribute values (RFC 2409 appendix A; AES RFC 3602, SHA-2 RFC 4868, ECDSA RFC 4754).
pub mod phase1 {
    pub const ENCR_AES_CBC: u16 = 7;
    pub const HASH_SHA1: u16 = 2;
    pub const HASH_SHA2_256: u16 = 4;
    pub const HASH_SHA2_384: u16 = 5;
    pub const HASH_SHA2_512: u16 = 6;
    pub const AUTH_PSK: u16 = 1;
    pub const AUTH_RSA_SIG: u16 = 3;
    pub const AUTH_ECDSA_SHA256: u16 = 9;
    pub const AUTH_ECDSA_SHA384: u16 = 10;
    pub const AUTH_ECDSA_SHA512: u16 = 11;
}

/// Phase 2 (IPsec DOI, RFC 2407 4.4.4 and 4.5; AES-GCM RFC 4106, SHA-2 RFC 4868) values.
pub mod phase2 {
    pub const ESP_AES_CBC: u8 = 12;
    pub const ESP_AES_GCM_16: u8 = 20;
    pub const AUTH_HMAC_SHA1: u16 = 2;
    pub const AUTH_HMAC_SHA2_256: u16 = 5;
    pub const AUTH_HMAC_SHA2_384: u16 = 6;
    pub const AUTH_HMAC_SHA2_512: u16 = 7;
}

/// RFC 2407 4.5: an ISAKMP SA proposed without a lifetime lives eight hours.
pub const DEFAULT_PHASE1_LIFE: Duration = Duration::from_secs(8 * 3600);

/// The R-U-THERE retransmissions after the first one before the peer is dead, unless
/// configured: with the retransmission wait equal to the interval, a 30 s interval declares
/// the peer dead after 150 s, strongSwan's `dpd_timeout` default.
pub const DEFAULT_DPD_RETRIES: u32 = 4;

/// One phase 1 transform we offer or accept; the authentication method is the connection's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phase1Offer {
    pub encryption: u16,
    pub key_bits: u16,
    pub hash: u16,
    pub group: u16,
}

/// One ESP transform of a Quick Mode (`auth` is None for AES-GCM; `pfs_group` asks for PFS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phase2Offer {
    pub transform_id: u8,
    pub key_bits: u16,
    pub auth: Option<u16>,
    pub pfs_group: Option<u16>,
}

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
    /// From the `ike` proposals, preferred first.
    pub phase1: Vec<Phase1Offer>,
    /// The connection's authentication method (RFC 2409 appendix A).
    pub auth_method: u16,
    /// The ISAKMP SA lifetime proposed; it is reauthenticated at `IkeConfig::rekey_time`.
    pub phase1_life: Duration,
    /// `dpd ... timeout D`: the R-U-THERE retransmission wait (the interval if not given).
    pub dpd_retransmit: Option<Duration>,
    /// `dpd ... retries N`.
    pub dpd_retries: u32,
}

impl V1Config {
    /// The DPD timing, or None when DPD is off (`IkeConfig::dpd.interval` zero).
    pub fn dpd_timing(&self, interval: Duration) -> Option<DpdTiming> {
        (!interval.is_zero()).then(|| DpdTiming {
            interval,
            retransmit: self.dpd_retransmit.unwrap_or(interval),
            retries: self.dpd_retries,
        })
    }
}

impl IkeConfig {
    /// The IKEv1 settings of a `version 1` connection.
    pub fn v1(&self) -> Option<&V1Config> {
        match &self.ike_version {
            IkeVersion::V1(v) => Some(v),
            IkeVersion::V2 => None,
        }
    }
}

/// IKEv1 and IKEv2 number the groups we have alike; Curve25519 has no IKEv1 number.
fn group(dh: u16) -> Result<u16, String> {
    match dh {
        MODP_1024 | MODP_2048 | MODP_3072 | ECP_256 | ECP_384 | ECP_521 => Ok(dh),
        _ => Err(format!("D-H group {dh} has no IKEv1 number (modp, ecp)")),
    }
}

/// Phase 1 transforms from IKEv2 suites: AES-CBC, the PRF's hash (IKEv1 uses HMAC of it as
/// its PRF and for HASH_I/HASH_R), the group. Duplicates (suites differing only in their
/// integrity algorithm, which phase 1 has none of) are left out.
pub fn phase1_offers(suites: &[Suite]) -> Result<Vec<Phase1Offer>, String> {
    let mut out: Vec<Phase1Offer> = Vec::new();
    for s in suites {
        if s.encr != ENCR_AES_CBC {
            return Err("IKEv1 phase 1 has no AEAD cipher: use aes128/aes256 with sha*".into());
        }
        let hash = match s.prf {
            Some(PRF_HMAC_SHA1) => phase1::HASH_SHA1,
            Some(PRF_HMAC_SHA2_256) => phase1::HASH_SHA2_256,
            Some(PRF_HMAC_SHA2_384) => phase1::HASH_SHA2_384,
            Some(PRF_HMAC_SHA2_512) => phase1::HASH_SHA2_512,
            p => return Err(format!("PRF {p:?} has no IKEv1 hash")),
        };
        let dh = s.dh.ok_or("an IKEv1 phase 1 proposal needs a D-H group")?;
        let offer = Phase1Offer {
            encryption: phase1::ENCR_AES_CBC,
            key_bits: s.encr_key_bits,
            hash,
            group: group(dh)?,
        };
        if !out.contains(&offer) {
            out.push(offer);
        }
    }
    Ok(out)
}

/// Quick Mode transforms from a child's ESP suites (`IkeConfig::child_suites`); a suite
/// with a group asks for PFS, as in IKEv2's CREATE_CHILD_SA.
pub fn phase2_offers(suites: &[Suite]) -> Result<Vec<Phase2Offer>, String> {
    let mut out: Vec<Phase2Offer> = Vec::new();
    for s in suites {
        let transform_id = match s.encr {
            ENCR_AES_CBC => phase2::ESP_AES_CBC,
            ENCR_AES_GCM_16 => phase2::ESP_AES_GCM_16,
            e => return Err(format!("ESP cipher {e} has no IKEv1 transform")),
        };
        let auth = match s.integ {
            None => None,
            Some(AUTH_HMAC_SHA1_96) => Some(phase2::AUTH_HMAC_SHA1),
            Some(AUTH_HMAC_SHA2_256_128) => Some(phase2::AUTH_HMAC_SHA2_256),
            Some(AUTH_HMAC_SHA2_384_192) => Some(phase2::AUTH_HMAC_SHA2_384),
            Some(AUTH_HMAC_SHA2_512_256) => Some(phase2::AUTH_HMAC_SHA2_512),
            Some(i) => {
                return Err(format!(
                    "integrity {i} has no IKEv1 authentication algorithm"
                ))
            }
        };
        let offer = Phase2Offer {
            transform_id,
            key_bits: s.encr_key_bits,
            auth,
            pfs_group: s.dh.map(group).transpose()?,
        };
        if !out.contains(&offer) {
            out.push(offer);
        }
    }
    Ok(out)
}

/// The phase 1 authentication method of a connection: pre-shared key, or the signature
/// its private key makes (RSA; ECDSA with the hash that goes with its curve, RFC 4754).
pub fn auth_method(auth: &AuthConfig) -> Result<u16, String> {
    let key = match auth {
        AuthConfig::Psk(_) => return Ok(phase1::AUTH_PSK),
        AuthConfig::PubKey(p) => &p.private_key,
    };
    match key.id() {
        Id::RSA => Ok(phase1::AUTH_RSA_SIG),
        Id::EC => {
            let ec = key.ec_key().map_err(|e| e.to_string())?;
            match ec.group().curve_name() {
                Some(Nid::X9_62_PRIME256V1) => Ok(phase1::AUTH_ECDSA_SHA256),
                Some(Nid::SECP384R1) => Ok(phase1::AUTH_ECDSA_SHA384),
                Some(Nid::SECP521R1) => Ok(phase1::AUTH_ECDSA_SHA512),
                c => Err(format!(
                    "ECDSA curve {c:?}: IKEv1 signs with P-256, P-384 or P-521"
                )),
            }
        }
        k => Err(format!("key type {k:?}: IKEv1 signs with RSA or ECDSA")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PubKeyAuth;
    use crate::crypto::transform::CURVE25519;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;

    fn suite(encr: u16, bits: u16, integ: Option<u16>, prf: Option<u16>, dh: Option<u16>) -> Suite {
        Suite {
            encr,
            encr_key_bits: bits,
            integ,
            prf,
            dh,
            esn: None,
        }
    }

    #[test]
    fn phase1_maps_prf_hash_and_group() {
        let offers = phase1_offers(&[
            suite(
                ENCR_AES_CBC,
                128,
                Some(AUTH_HMAC_SHA1_96),
                Some(PRF_HMAC_SHA1),
                Some(MODP_2048),
            ),
            // Same but another integrity algorithm: one phase 1 transform.
            suite(
                ENCR_AES_CBC,
                128,
                Some(AUTH_HMAC_SHA2_256_128),
                Some(PRF_HMAC_SHA1),
                Some(MODP_2048),
            ),
            suite(
                ENCR_AES_CBC,
                256,
                Some(AUTH_HMAC_SHA2_256_128),
                Some(PRF_HMAC_SHA2_256),
                Some(ECP_256),
            ),
        ])
        .unwrap();
        assert_eq!(
            offers,
            vec![
                Phase1Offer {
                    encryption: 7,
                    key_bits: 128,
                    hash: 2,
                    group: 14
                },
                Phase1Offer {
                    encryption: 7,
                    key_bits: 256,
                    hash: 4,
                    group: 19
                },
            ]
        );
    }

    #[test]
    fn phase1_refuses_what_ikev1_lacks() {
        let gcm = suite(
            ENCR_AES_GCM_16,
            128,
            None,
            Some(PRF_HMAC_SHA2_256),
            Some(ECP_256),
        );
        assert!(phase1_offers(&[gcm]).unwrap_err().contains("AEAD"));
        let x25519 = suite(
            ENCR_AES_CBC,
            128,
            Some(AUTH_HMAC_SHA1_96),
            Some(PRF_HMAC_SHA1),
            Some(CURVE25519),
        );
        assert!(phase1_offers(&[x25519])
            .unwrap_err()
            .contains("no IKEv1 number"));
        let nodh = suite(
            ENCR_AES_CBC,
            128,
            Some(AUTH_HMAC_SHA1_96),
            Some(PRF_HMAC_SHA1),
            None,
        );
        assert!(phase1_offers(&[nodh]).is_err());
    }

    #[test]
    fn phase2_maps_esp_auth_and_pfs() {
        let offers = phase2_offers(&[
            suite(ENCR_AES_GCM_16, 256, None, None, None),
            suite(
                ENCR_AES_CBC,
                128,
                Some(AUTH_HMAC_SHA2_256_128),
                None,
                Some(MODP_2048),
            ),
            suite(ENCR_AES_CBC, 128, Some(AUTH_HMAC_SHA1_96), None, None),
        ])
        .unwrap();
        assert_eq!(
            offers,
            vec![
                Phase2Offer {
                    transform_id: 20,
                    key_bits: 256,
                    auth: None,
                    pfs_group: None
                },
                Phase2Offer {
                    transform_id: 12,
                    key_bits: 128,
                    auth: Some(5),
                    pfs_group: Some(14)
                },
                Phase2Offer {
                    transform_id: 12,
                    key_bits: 128,
                    auth: Some(2),
                    pfs_group: None
                },
            ]
        );
        let pfs25519 = suite(
            ENCR_AES_CBC,
            128,
            Some(AUTH_HMAC_SHA1_96),
            None,
            Some(CURVE25519),
        );
        assert!(phase2_offers(&[pfs25519]).is_err());
    }

    #[test]
    fn auth_methods_follow_the_key() {
        assert_eq!(auth_method(&AuthConfig::psk(b"k")), Ok(phase1::AUTH_PSK));
        let pubkey = |private_key| {
            AuthConfig::PubKey(PubKeyAuth {
                private_key,
                cert_chain: vec![],
                trust_anchors: vec![],
            })
        };
        let rsa = PKey::from_rsa(Rsa::generate(1024).unwrap()).unwrap();
        assert_eq!(auth_method(&pubkey(rsa)), Ok(phase1::AUTH_RSA_SIG));
        for (nid, want) in [
            (Nid::X9_62_PRIME256V1, phase1::AUTH_ECDSA_SHA256),
            (Nid::SECP384R1, phase1::AUTH_ECDSA_SHA384),
            (Nid::SECP521R1, phase1::AUTH_ECDSA_SHA512),
        ] {
            let g = EcGroup::from_curve_name(nid).unwrap();
            let k = PKey::from_ec_key(EcKey::generate(&g).unwrap()).unwrap();
            assert_eq!(auth_method(&pubkey(k)), Ok(want));
        }
        let ed = PKey::generate_ed25519().unwrap();
        assert!(auth_method(&pubkey(ed)).is_err());
    }

    #[test]
    fn dpd_timing_defaults_to_the_interval() {
        let mut v = V1Config {
            aggressive: false,
            phase1: vec![],
            auth_method: phase1::AUTH_PSK,
            phase1_life: DEFAULT_PHASE1_LIFE,
            dpd_retransmit: None,
            dpd_retries: DEFAULT_DPD_RETRIES,
        };
        assert_eq!(v.dpd_timing(Duration::ZERO), None);
        let t = v.dpd_timing(Duration::from_secs(30)).unwrap();
        assert_eq!((t.retransmit, t.retries), (Duration::from_secs(30), 4));
        v.dpd_retransmit = Some(Duration::from_secs(5));
        assert_eq!(
            v.dpd_timing(Duration::from_secs(30)).unwrap().retransmit,
            Duration::from_secs(5)
        );
    }
}
