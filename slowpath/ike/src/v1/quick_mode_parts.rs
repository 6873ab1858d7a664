//! What both roles of Quick Mode compute (RFC 2409 5.5): the transforms and suites of a
//! child, the HASH payloads, the exchange IV, the checked opening of a message, and the
//! KEYMAT of the IPsec SA pair a negotiation makes.

use std::time::Duration;

use super::crypt;
use super::isakmp_sa::{IsakmpSa, QuickMode};
use super::keymat;
use super::wire::{
    self, auth_algorithm, encapsulation, payload_type, protocol, Header, Payload, Phase2Transform,
};
use crate::action::DropReason;
use crate::config::{ChildConfig, Mode};
use crate::crypto::keys::ChildKeys;
use crate::crypto::transform::{self as t, Suite};
use crate::sa::child_sa::{ChildSa, ChildState};

pub(super) fn child_config<'a>(sa: &'a IsakmpSa, name: &str) -> Option<&'a ChildConfig> {
    sa.config.child(name)
}

/// The encapsulation mode of a child over this SA (RFC 3947 5.3 once a NAT is seen).
pub(super) fn encapsulation_of(sa: &IsakmpSa, mode: Mode) -> u16 {
    let nat = sa.nat_local || sa.nat_remote;
    match (mode, nat) {
        (Mode::Tunnel, false) => encapsulation::TUNNEL,
        (Mode::Transport, false) => encapsulation::TRANSPORT,
        (Mode::Tunnel, true) => encapsulation::UDP_TUNNEL,
        (Mode::Transport, true) => encapsulation::UDP_TRANSPORT,
    }
}

/// Whether a peer's transform is one of our offers.
pub(super) fn offered(offers: &[Phase2Transform], theirs: &Phase2Transform) -> bool {
    offers.iter().any(|o| {
        o.transform_id == theirs.transform_id
            && o.key_bits.unwrap_or(128) == theirs.key_bits.unwrap_or(128)
            && o.auth == theirs.auth
            && o.group == theirs.group
    })
}

/// The ESP suite of a negotiated transform, as the fast path takes it.
pub(super) fn suite_of(tr: &Phase2Transform) -> Suite {
    let integ = tr.auth.map(|a| match a {
        auth_algorithm::HMAC_SHA => t::AUTH_HMAC_SHA1_96,
        auth_algorithm::HMAC_SHA2_256 => t::AUTH_HMAC_SHA2_256_128,
        auth_algorithm::HMAC_SHA2_384 => t::AUTH_HMAC_SHA2_384_192,
        auth_algorithm::HMAC_SHA2_512 => t::AUTH_HMAC_SHA2_512_256,
        other => other,
    });
    Suite {
        encr: u16::from(tr.transform_id),
        encr_key_bits: tr.key_bits.unwrap_or(128),
        integ,
        prf: None,
        dh: tr.group,
        esn: Some(false),
    }
}

/// HASH(1) / HASH(2) / the Informational HASH over a payload list, then the list behind
/// the HASH payload.
pub(super) fn with_hash(
    payloads: Vec<Payload>,
    hash: impl FnOnce(&[u8]) -> Option<Vec<u8>>,
) -> Option<Vec<Payload>> {
    let (_, rest) = wire::encode_payloads(&payloads).ok()?;
    let h = hash(&rest)?;
    let mut out = vec![Payload::Hash(h)];
    out.extend(payloads);
    Some(out)
}

/// The phase 1 prf and SKEYID_a / SKEYID_d.
pub(super) fn prf_keys(sa: &IsakmpSa) -> Option<(crate::crypto::prf::Prf, &[u8], &[u8])> {
    let prf = sa.suite.as_ref()?.prf;
    let k = sa.keys.as_ref()?;
    Some((prf, &k.skeyid_a, &k.skeyid_d))
}

/// The IV of a new exchange with `message_id` (RFC 2409 appendix B).
pub fn exchange_iv(sa: &IsakmpSa, message_id: u32) -> Option<Vec<u8>> {
    let s = sa.suite.as_ref()?;
    crypt::exchange_iv(s.prf, &sa.iv, message_id, s.cipher.block_len()).ok()
}

/// Decrypts a Quick Mode message with the exchange's IV: the unpadded payload chain and the
/// IV after it.
pub(super) fn open(
    sa: &IsakmpSa,
    iv: &[u8],
    header: &Header,
    body: &[u8],
) -> Option<(Vec<u8>, Vec<u8>)> {
    let (plain, next_iv) = sa.open_with(iv, body)?;
    let chain = wire::unpadded(header.next_payload, &plain).ok()?.to_vec();
    Some((chain, next_iv))
}

/// The payloads of a Quick Mode message, checked against its HASH; `None` (dropped and
/// counted) when it does not decrypt or the HASH is wrong.
pub(super) fn opened_and_checked(
    sa: &mut IsakmpSa,
    iv: &[u8],
    header: &Header,
    body: &[u8],
    check: impl FnOnce(&[u8], &[u8]) -> bool,
) -> Option<(Vec<Payload>, Vec<u8>)> {
    let out = open(sa, iv, header, body).and_then(|(chain, next_iv)| {
        if header.next_payload != payload_type::HASH {
            return None;
        }
        let payloads = wire::parse_payloads(header.next_payload, &chain).ok()?;
        let rest = wire::after_first_payload(header.next_payload, &chain).ok()?;
        let Some(Payload::Hash(got)) = payloads.first() else {
            return None;
        };
        if !check(got, rest) {
            return None;
        }
        Some((payloads, next_iv))
    });
    if out.is_none() {
        sa.drop_message(DropReason::BadIcv);
    }
    out
}

pub(super) fn nonce_of(payloads: &[Payload]) -> Option<Vec<u8>> {
    payloads.iter().find_map(|p| match p {
        Payload::Nonce(n) => Some(n.clone()),
        _ => None,
    })
}

pub(super) fn ke_of(payloads: &[Payload]) -> Option<Vec<u8>> {
    payloads.iter().find_map(|p| match p {
        Payload::Ke(k) => Some(k.clone()),
        _ => None,
    })
}

/// The IPsec SA pair a finished negotiation makes: KEYMAT both ways (RFC 2409 5.5), with
/// the PFS secret when there was a KE.
pub(super) fn keyed_child(
    sa: &IsakmpSa,
    qm: &QuickMode,
    peer_ke: Option<&[u8]>,
    now: Duration,
) -> Option<ChildSa> {
    let chosen = qm.chosen.as_ref()?;
    let suite = suite_of(chosen);
    let encr_len = suite.encr_info().ok()?.keymat_len();
    let integ_len = suite.integ_info().ok()?.map_or(0, |i| i.key_len);
    let g_qm = match (&qm.dh, peer_ke) {
        (Some(d), Some(k)) => Some(d.compute_shared(k).ok()?),
        (None, None) => None,
        _ => return None,
    };
    let (prf, _, d) = prf_keys(sa)?;
    let key = |spi: u32| {
        keymat::keymat(
            prf,
            d,
            g_qm.as_deref().map(|g| &g[..]),
            protocol::IPSEC_ESP,
            &spi.to_be_bytes(),
            &qm.ni,
            &qm.nr,
            encr_len + integ_len,
        )
        .ok()
    };
    // The initiator-to-responder SA is the one whose SPI the responder chose.
    let (spi_resp, spi_init) = if qm.initiator {
        (qm.spi_out, qm.spi_in)
    } else {
        (qm.spi_in, qm.spi_out)
    };
    let (to_r, to_i) = (key(spi_resp)?, key(spi_init)?);
    let split = |k: &[u8]| {
        let (e, a) = k.split_at(encr_len);
        (
            zeroize::Zeroizing::new(e.to_vec()),
            zeroize::Zeroizing::new(a.to_vec()),
        )
    };
    let ((encr_i, integ_i), (encr_r, integ_r)) = (split(&to_r), split(&to_i));
    let config = child_config(sa, &qm.child)?;
    let mut lifetimes = config.lifetimes;
    if let Some(s) = chosen.life_seconds.filter(|s| *s > 0) {
        lifetimes.life_time = lifetimes.life_time.min(Duration::from_secs(u64::from(s)));
        if lifetimes.life_time.is_zero() {
            lifetimes.life_time = Duration::from_secs(u64::from(s));
        }
    }
    // The side that negotiated it rekeys it; the other keeps it until it expires or the
    // peer deletes it.
    let rekey_at =
        (qm.initiator && !lifetimes.rekey_time.is_zero()).then(|| now + lifetimes.rekey_time);
    let expire_at = (!lifetimes.life_time.is_zero()).then(|| now + lifetimes.life_time);
    Some(ChildSa {
        id: 0,
        config: qm.child.clone(),
        state: ChildState::Installed,
        installed: false,
        spi_in: qm.spi_in,
        spi_out: qm.spi_out,
        mode: config.mode,
        suite,
        keys: ChildKeys {
            encr_i,
            integ_i,
            encr_r,
            integ_r,
        },
        initiator: qm.initiator,
        local_ts: vec![qm.local_ts],
        remote_ts: vec![qm.remote_ts],
        lifetimes,
        created_at: now,
        rekey_at,
        expire_at,
        replaces: qm.replaces,
    })
}
