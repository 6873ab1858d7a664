//! Aggressive Mode (RFC 2409 5.4) with pre-shared keys or signatures (5.1), both roles, for
//! the connections that say `aggressive` (it sends the identities in clear, and with a PSK
//! a listener may try guesses against HASH_R offline):
//!
//! ```text
//! Initiator                                   Responder
//! HDR, SA, KE, Ni, IDii [, CR] [, VID]   -->
//!                                        <--  HDR, SA, KE, Nr [, NAT-D, NAT-D] [, CR], IDir,
//!                                               HASH_R | [CERT,] SIG_R [, VID]
//! HDR, HASH_I | [CERT,] SIG_I
//!   [, NAT-D, NAT-D]                     -->
//! ```
//!
//! With signatures the CR payloads naming our CAs ride with the identities of the first two
//! messages, as strongSwan places them. The third message goes in clear, as strongSwan sends it; an encrypted one (Cisco's) is
//! taken too, and its last block then moves the phase 1 IV on. The NAT-D payloads are in
//! the second and third messages (RFC 3947 3.2: the first has no responder cookie to hash).
//! The responder's answer goes again on its timer until HASH_I comes (the initiator answers
//! a repeat of it with its third message again). The KE of the first message is made before
//! any choice: every proposal of an `aggressive` connection has the same group (the
//! configuration refuses others). The responder picks its connection by the identity of the
//! first message (`conn_select`); Quick Mode follows as after Main Mode.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::conn_select::{self, Refusal};
use super::isakmp_sa::{IsakmpSa, Phase1Exchange, Phase1State, Phase1Suite, V1Ctx};
use super::wire::{self, exchange, payload_type, Header, Payload};
use super::{auth, phase1};
use crate::action::DropReason;
use crate::config::IkeConfig;
use crate::retransmit::Retransmit;

/// Initiator: a new ISAKMP SA and its first message.
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
    sa.aggressive = true;
    let offer = phase1::offer(&sa.config);
    // The group of the KE: the first proposal's, which is every proposal's.
    let first = phase1::our_transforms(&sa.config).first()?.clone();
    sa.suite = Some(Phase1Suite::of(&first)?);
    sa.exchange = Some(Phase1Exchange::default());
    let mut payloads = vec![Payload::Sa(offer)];
    payloads.extend(phase1::ke_nonce_payloads(&mut sa, ctx, true)?);
    payloads.push(Payload::Id(auth::our_identification(&sa.config)));
    payloads.extend(phase1::cert_request_payloads(&sa)?);
    payloads.extend(phase1::our_vendor_ids());
    let (first_kind, body) = wire::encode_payloads(&payloads).ok()?;
    sa.exchange.as_mut()?.sai_b = sa_body(first_kind, &body)?;
    let h = Header {
        next_payload: first_kind,
        ..sa.header(exchange::AGGRESSIVE, 0, 0)
    };
    sa.state = Phase1State::AmSent;
    sa.send_request(wire::encode_message(&h, &body), now);
    Some(sa)
}

/// The SA payload's body in a payload chain.
fn sa_body(first: u8, chain: &[u8]) -> Option<Vec<u8>> {
    let raw = wire::raw_payloads(first, chain).ok()?;
    Some(raw.iter().find(|(k, _)| *k == payload_type::SA)?.1.to_vec())
}

/// Responder: the first message of an Aggressive Mode from an unknown peer, answered by
/// the connection its identity picks. The refusal (nothing kept) otherwise.
#[allow(clippy::too_many_arguments)]
pub fn respond(
    ctx: &mut V1Ctx,
    id: u64,
    configs: &[Arc<IkeConfig>],
    local: SocketAddr,
    remote: SocketAddr,
    raw: &[u8],
    header: &Header,
    body: &[u8],
) -> Result<IsakmpSa, Refusal> {
    let raw_payloads =
        wire::raw_payloads(header.next_payload, body).map_err(|_| Refusal::MALFORMED)?;
    let payloads =
        wire::parse_payloads(header.next_payload, body).map_err(|_| Refusal::MALFORMED)?;
    let raw_of = |kind: u8| {
        raw_payloads
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, b)| b.to_vec())
    };
    let (Some(sai_b), Some(idi_b)) = (raw_of(payload_type::SA), raw_of(payload_type::ID)) else {
        return Err(Refusal::MALFORMED);
    };
    let offered = payloads.iter().find_map(|p| match p {
        Payload::Sa(s) => Some(s),
        _ => None,
    });
    let peer_id = payloads.iter().find_map(|p| match p {
        Payload::Id(i) => Some(i),
        _ => None,
    });
    let (Some(offered), Some(peer_id)) = (offered, peer_id) else {
        return Err(Refusal::MALFORMED);
    };
    let candidates = conn_select::for_aggressive(configs, local, remote, peer_id)?;
    let (config, chosen, suite) = candidates
        .into_iter()
        .find_map(|c| phase1::select(&c, offered).map(|(chosen, suite)| (c, chosen, suite)))
        .ok_or(Refusal::PROPOSAL)?;
    let mut sa = IsakmpSa::new(id, config, false, header.icookie, local, remote, ctx.now);
    sa.aggressive = true;
    sa.rcookie = ctx.responder_cookie(local, remote, header.icookie);
    sa.peer_natt = phase1::peer_speaks_natt(&payloads);
    sa.dpd
        .set_peer_supports(super::dpd_probe::peer_speaks_dpd(&payloads));
    sa.suite = Some(suite);
    sa.exchange = Some(Phase1Exchange {
        idi_b,
        ..Phase1Exchange::new(sai_b)
    });
    if !phase1::take_peer_ke_nonce(&mut sa, &payloads) {
        return Err(Refusal::MALFORMED);
    }
    // KE, Nr and (for a NAT-T peer) the NAT-D pair, then the keys and our identity.
    let ke_nonce = phase1::ke_nonce_payloads(&mut sa, ctx, false).ok_or(Refusal::MALFORMED)?;
    phase1::derive_keys(&mut sa).ok_or(Refusal::MALFORMED)?;
    let id_hash = phase1::id_hash_payloads(&sa, false).ok_or(Refusal::MALFORMED)?;
    let cert_requests = phase1::cert_request_payloads(&sa).ok_or(Refusal::MALFORMED)?;
    let mut reply = vec![Payload::Sa(chosen)];
    reply.extend(ke_nonce);
    reply.extend(cert_requests);
    reply.extend(id_hash);
    reply.extend(phase1::our_vendor_ids());
    let msg = plain_message(&sa, &reply).ok_or(Refusal::MALFORMED)?;
    sa.state = Phase1State::AmAnswered;
    sa.send_answer(msg, raw);
    // Unlike Main Mode's last answer, ours waits for HASH_I: it goes again until that comes.
    sa.retransmit = Some(Retransmit::new(
        sa.last_sent.clone(),
        ctx.now,
        &sa.config.retransmit,
    ));
    Ok(sa)
}

/// An Aggressive Mode message for an SA that exists.
pub fn on_message(
    sa: &mut IsakmpSa,
    ctx: &mut V1Ctx,
    from: (SocketAddr, SocketAddr),
    raw: &[u8],
    header: &Header,
    body: &[u8],
) {
    match (sa.state, header.is_encrypted()) {
        (Phase1State::AmSent, false) => on_answer(sa, ctx, from, raw, header, body),
        (Phase1State::AmAnswered, _) => on_hash_i(sa, ctx, from, header, body),
        _ => sa.drop_message(DropReason::WrongState),
    }
}

/// Initiator: the responder's choice, KE, nonce, identity and HASH_R; if HASH_R proves the
/// key, HASH_I goes back and the ISAKMP SA is up.
fn on_answer(
    sa: &mut IsakmpSa,
    ctx: &mut V1Ctx,
    from: (SocketAddr, SocketAddr),
    raw: &[u8],
    header: &Header,
    body: &[u8],
) {
    let (Ok(payloads), Ok(raw_payloads)) = (
        wire::parse_payloads(header.next_payload, body),
        wire::raw_payloads(header.next_payload, body),
    ) else {
        return sa.drop_message(DropReason::Malformed);
    };
    let chosen = payloads.iter().find_map(|p| match p {
        Payload::Sa(s) => Some(s),
        _ => None,
    });
    let our_group = sa.suite.as_ref().map(|s| s.transform.group);
    let suite = chosen
        .and_then(|c| phase1::accept_choice(&sa.config, c))
        .filter(|s| Some(s.transform.group) == our_group);
    let raw_id = raw_payloads.iter().find(|(k, _)| *k == payload_type::ID);
    let (Some(suite), Some((_, raw_id))) = (suite, raw_id) else {
        return sa.drop_message(DropReason::Malformed);
    };
    if header.rcookie == [0; 8] {
        return sa.drop_message(DropReason::BadCookie);
    }
    sa.rcookie = header.rcookie;
    sa.suite = Some(suite);
    sa.peer_natt = phase1::peer_speaks_natt(&payloads);
    sa.dpd
        .set_peer_supports(super::dpd_probe::peer_speaks_dpd(&payloads));
    let keyed = phase1::take_peer_ke_nonce(sa, &payloads) && phase1::derive_keys(sa).is_some();
    if !keyed {
        sa.drop_message(DropReason::Malformed);
    }
    // (`verify_peer` counts its own refusals, and tells the peer of those that close the SA.)
    if !keyed || !phase1::verify_peer(sa, ctx, &payloads, raw_id, true, None) {
        if !sa.is_closed() {
            // A malformed answer must not bind the SA to its cookie: the real one may come.
            sa.rcookie = [0; 8];
            sa.keys = None;
        }
        return;
    }
    phase1::detect_nat(sa, &payloads, from);
    phase1::float_if_nat(sa);
    let Some(id_hash) = phase1::id_hash_payloads(sa, true) else {
        return sa.drop_message(DropReason::Malformed);
    };
    // The proof alone: the identity went in the first message.
    let mut third: Vec<Payload> = id_hash.into_iter().filter(is_proof).collect();
    if sa.peer_natt {
        match phase1::natd_payloads(sa) {
            Some(natd) => third.extend(natd),
            None => return sa.drop_message(DropReason::Malformed),
        }
    }
    let Some(msg) = plain_message(sa, &third) else {
        return;
    };
    sa.retransmit = None;
    // A repeat of the responder's answer gets the third message again.
    sa.send_answer(msg, raw);
    phase1::established(sa, ctx);
}

/// Responder: HASH_I (in clear, or encrypted under the phase 1 IV) over the identity of the
/// first message; the ISAKMP SA is up.
fn on_hash_i(
    sa: &mut IsakmpSa,
    ctx: &mut V1Ctx,
    from: (SocketAddr, SocketAddr),
    header: &Header,
    body: &[u8],
) {
    let opened = if header.is_encrypted() {
        let iv = sa.iv.clone();
        sa.open_with(&iv, body).and_then(|(plain, next_iv)| {
            let chain = wire::unpadded(header.next_payload, &plain).ok()?;
            let payloads = wire::parse_payloads(header.next_payload, chain).ok()?;
            Some((payloads, Some(next_iv)))
        })
    } else {
        wire::parse_payloads(header.next_payload, body)
            .ok()
            .map(|p| (p, None))
    };
    let Some((payloads, next_iv)) = opened else {
        return sa.drop_message(DropReason::BadIcv);
    };
    let idi_b = sa
        .exchange
        .as_ref()
        .map(|x| x.idi_b.clone())
        .unwrap_or_default();
    let Ok(peer_id) = wire::parse_payload(payload_type::ID, &idi_b) else {
        return sa.drop_message(DropReason::Malformed);
    };
    // HASH_I (or CERT and SIG_I) is checked with the identity of the first message beside it.
    let mut checked = vec![peer_id];
    checked.extend(payloads.iter().filter(|p| is_proof(p)).cloned());
    if !phase1::verify_peer(sa, ctx, &checked, &idi_b, false, next_iv) {
        return;
    }
    phase1::detect_nat(sa, &payloads, from);
    (sa.local, sa.remote) = from;
    sa.retransmit = None;
    phase1::established(sa, ctx);
}

/// Whether a payload is part of a phase 1 proof: HASH, or CERT and SIG.
fn is_proof(p: &Payload) -> bool {
    matches!(p, Payload::Hash(_) | Payload::Cert { .. } | Payload::Sig(_))
}

/// An unencrypted Aggressive Mode message of `payloads`.
fn plain_message(sa: &IsakmpSa, payloads: &[Payload]) -> Option<Vec<u8>> {
    phase1::plain_message(sa, exchange::AGGRESSIVE, payloads)
}

#[cfg(test)]
#[path = "aggressive_mode_tests.rs"]
pub(super) mod tests;

#[cfg(test)]
#[path = "aggressive_mode_sig_tests.rs"]
mod sig_tests;
