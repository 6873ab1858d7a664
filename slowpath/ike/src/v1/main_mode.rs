//! Main Mode (RFC 2409 5, "identity protection") with pre-shared keys or signatures (5.1),
//! both roles:
//!
//! ```text
//! Initiator                                   Responder
//! HDR, SA                                -->
//!                                        <--  HDR, SA
//! HDR, KE, Ni [, CR] [, NAT-D, NAT-D]    -->
//!                                        <--  HDR, KE, Nr [, CR] [, NAT-D, NAT-D]
//! HDR*, IDii, HASH_I | CERT, SIG_I       -->
//!                                        <--  HDR*, IDir, HASH_R | CERT, SIG_R
//! ```
//!
//! What proves the identity (HASH, or CERT and SIG) is `auth`'s.
//!
//! The KE and nonce step and the identity step are shared with Aggressive Mode
//! (`phase1`); the NAT-D payloads and the float to port 4500 are RFC 3947's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::isakmp_sa::{IsakmpSa, Phase1Exchange, Phase1State, V1Ctx};
use super::wire::{self, exchange, payload_type, Header, Payload};
use super::{dpd_probe, phase1};
use crate::action::DropReason;
use crate::config::IkeConfig;

/// Initiator: a new ISAKMP SA and its first message (our SA offer).
pub fn initiate(
    ctx: &mut V1Ctx,
    id: u64,
    config: Arc<IkeConfig>,
    now: Duration,
) -> Option<IsakmpSa> {
    let mut icookie = [0u8; 8];
    ctx.rng.fill(&mut icookie);
    let (local, remote) = (config.local_addr, config.remote_addr);
    let mut sa = IsakmpSa::new(id, config, true, icookie, local, remote, now);
    let offer = phase1::offer(&sa.config);
    if offer.proposals.first()?.transforms.is_empty() {
        return None;
    }
    let mut payloads = vec![Payload::Sa(offer)];
    payloads.extend(phase1::our_vendor_ids());
    let (first, body) = wire::encode_payloads(&payloads).ok()?;
    let sai_b = wire::raw_payloads(first, &body).ok()?.first()?.1.to_vec();
    sa.exchange = Some(Phase1Exchange::new(sai_b));
    let h = Header {
        next_payload: first,
        ..sa.header(exchange::IDENTITY_PROTECTION, 0, 0)
    };
    sa.state = Phase1State::MmSaSent;
    sa.send_request(wire::encode_message(&h, &body), now);
    Some(sa)
}

/// Responder: the first message of a Main Mode from an unknown peer. `None` (and nothing
/// sent) when no proposal or no connection fits.
#[allow(clippy::too_many_arguments)]
pub fn respond(
    ctx: &mut V1Ctx,
    id: u64,
    config: Arc<IkeConfig>,
    local: SocketAddr,
    remote: SocketAddr,
    raw: &[u8],
    header: &Header,
    body: &[u8],
) -> Option<IsakmpSa> {
    let raw_payloads = wire::raw_payloads(header.next_payload, body).ok()?;
    let payloads = wire::parse_payloads(header.next_payload, body).ok()?;
    let sai_b = raw_payloads
        .iter()
        .find(|(k, _)| *k == payload_type::SA)?
        .1
        .to_vec();
    let offered = payloads.iter().find_map(|p| match p {
        Payload::Sa(s) => Some(s),
        _ => None,
    })?;
    let (chosen, suite) = phase1::select(&config, offered)?;
    let mut sa = IsakmpSa::new(id, config, false, header.icookie, local, remote, ctx.now);
    sa.rcookie = ctx.responder_cookie(local, remote, header.icookie);
    sa.peer_natt = phase1::peer_speaks_natt(&payloads);
    sa.dpd
        .set_peer_supports(dpd_probe::peer_speaks_dpd(&payloads));
    sa.suite = Some(suite);
    sa.exchange = Some(Phase1Exchange::new(sai_b));
    let mut reply = vec![Payload::Sa(chosen)];
    reply.extend(phase1::our_vendor_ids());
    let msg = plain_message(&sa, &reply)?;
    sa.state = Phase1State::MmSaAnswered;
    sa.send_answer(msg, raw);
    Some(sa)
}

/// A Main Mode message for an SA that exists.
pub fn on_message(
    sa: &mut IsakmpSa,
    ctx: &mut V1Ctx,
    from: (SocketAddr, SocketAddr),
    raw: &[u8],
    header: &Header,
    body: &[u8],
) {
    match (sa.state, header.is_encrypted()) {
        (Phase1State::MmSaSent, false) => on_sa_chosen(sa, ctx, header, body),
        (Phase1State::MmSaAnswered, false) => on_ke_i(sa, ctx, from, raw, header, body),
        (Phase1State::MmKeSent, false) => on_ke_r(sa, ctx, from, header, body),
        (Phase1State::MmKeAnswered, true) => on_id_i(sa, ctx, from, raw, header, body),
        (Phase1State::MmIdSent, true) => on_id_r(sa, ctx, from, header, body),
        _ => sa.drop_message(DropReason::WrongState),
    }
}

/// Initiator: the responder chose one of our transforms; our KE and nonce go out.
fn on_sa_chosen(sa: &mut IsakmpSa, ctx: &mut V1Ctx, header: &Header, body: &[u8]) {
    let Ok(payloads) = wire::parse_payloads(header.next_payload, body) else {
        return sa.drop_message(DropReason::Malformed);
    };
    let chosen = payloads.iter().find_map(|p| match p {
        Payload::Sa(s) => Some(s),
        _ => None,
    });
    let Some(suite) = chosen.and_then(|c| phase1::accept_choice(&sa.config, c)) else {
        return sa.drop_message(DropReason::Malformed);
    };
    if header.rcookie == [0; 8] {
        return sa.drop_message(DropReason::BadCookie);
    }
    sa.rcookie = header.rcookie;
    sa.suite = Some(suite);
    sa.peer_natt = phase1::peer_speaks_natt(&payloads);
    sa.dpd
        .set_peer_supports(dpd_probe::peer_speaks_dpd(&payloads));
    let Some(payloads) = ke_payloads(sa, ctx, true) else {
        return sa.drop_message(DropReason::Malformed);
    };
    let Some(msg) = plain_message(sa, &payloads) else {
        return;
    };
    sa.state = Phase1State::MmKeSent;
    sa.send_request(msg, ctx.now);
}

/// Responder: the initiator's KE and nonce; ours go back, and the keys are derived.
fn on_ke_i(
    sa: &mut IsakmpSa,
    ctx: &mut V1Ctx,
    from: (SocketAddr, SocketAddr),
    raw: &[u8],
    header: &Header,
    body: &[u8],
) {
    let Ok(payloads) = wire::parse_payloads(header.next_payload, body) else {
        return sa.drop_message(DropReason::Malformed);
    };
    if !phase1::take_peer_ke_nonce(sa, &payloads) {
        return sa.drop_message(DropReason::Malformed);
    }
    let Some(reply) = ke_payloads(sa, ctx, false) else {
        return sa.drop_message(DropReason::Malformed);
    };
    phase1::detect_nat(sa, &payloads, from);
    if phase1::derive_keys(sa).is_none() {
        return sa.drop_message(DropReason::Malformed);
    }
    let Some(msg) = plain_message(sa, &reply) else {
        return;
    };
    sa.state = Phase1State::MmKeAnswered;
    sa.send_answer(msg, raw);
}

/// Initiator: the responder's KE and nonce; the keys, then our identity and HASH_I,
/// encrypted (from port 4500 when a NAT is on the path).
fn on_ke_r(
    sa: &mut IsakmpSa,
    ctx: &mut V1Ctx,
    from: (SocketAddr, SocketAddr),
    header: &Header,
    body: &[u8],
) {
    let Ok(payloads) = wire::parse_payloads(header.next_payload, body) else {
        return sa.drop_message(DropReason::Malformed);
    };
    if !phase1::take_peer_ke_nonce(sa, &payloads) {
        return sa.drop_message(DropReason::Malformed);
    }
    phase1::detect_nat(sa, &payloads, from);
    if phase1::derive_keys(sa).is_none() {
        return sa.drop_message(DropReason::Malformed);
    }
    phase1::float_if_nat(sa);
    let Some(payloads) = phase1::id_hash_payloads(sa, true) else {
        return sa.drop_message(DropReason::Malformed);
    };
    let h = sa.header(exchange::IDENTITY_PROTECTION, 0, 0);
    let Some(msg) = sa.seal_phase1(&h, &payloads) else {
        return;
    };
    sa.state = Phase1State::MmIdSent;
    sa.send_request(msg, ctx.now);
}

/// Responder: the initiator's identity and HASH_I; if it proves the key, ours go back and
/// the ISAKMP SA is up.
fn on_id_i(
    sa: &mut IsakmpSa,
    ctx: &mut V1Ctx,
    from: (SocketAddr, SocketAddr),
    raw: &[u8],
    header: &Header,
    body: &[u8],
) {
    if !phase1::authenticate_peer(sa, ctx, from, header, body) {
        return;
    }
    let Some(reply) = phase1::id_hash_payloads(sa, false) else {
        return sa.drop_message(DropReason::Malformed);
    };
    let h = sa.header(exchange::IDENTITY_PROTECTION, 0, 0);
    let Some(msg) = sa.seal_phase1(&h, &reply) else {
        return;
    };
    sa.send_answer(msg, raw);
    phase1::established(sa, ctx);
}

/// Initiator: the responder's identity and HASH_R; the ISAKMP SA is up.
fn on_id_r(
    sa: &mut IsakmpSa,
    ctx: &mut V1Ctx,
    from: (SocketAddr, SocketAddr),
    header: &Header,
    body: &[u8],
) {
    if !phase1::authenticate_peer(sa, ctx, from, header, body) {
        return;
    }
    sa.retransmit = None;
    phase1::established(sa, ctx);
}

/// Our KE and nonce (and NAT-D), with CR payloads toward our CAs when we authenticate
/// with certificates (where strongSwan sends them, in the third and fourth messages).
fn ke_payloads(sa: &mut IsakmpSa, ctx: &mut V1Ctx, initiator: bool) -> Option<Vec<Payload>> {
    let mut out = phase1::ke_nonce_payloads(sa, ctx, initiator)?;
    out.extend(phase1::cert_request_payloads(sa)?);
    Some(out)
}

/// An unencrypted Main Mode message of `payloads`.
fn plain_message(sa: &IsakmpSa, payloads: &[Payload]) -> Option<Vec<u8>> {
    phase1::plain_message(sa, exchange::IDENTITY_PROTECTION, payloads)
}
