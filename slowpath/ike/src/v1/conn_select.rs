//! The responder's choice of a connection. A Main Mode's first message names no identity:
//! the connection is picked by addresses and by the authentication method of the peer's
//! transforms, and checked against the initiator's identity once it is decrypted (MM5),
//! where another connection of the same addresses and pre-shared key may take the SA over
//! (RFC 2409 5.4: a PSK Main Mode is keyed by the peer's address, so only a connection
//! with the same key can; with signatures, any that signs). An Aggressive Mode's first
//! message carries the identity: the connection is the one whose remote identity is the
//! peer's, among those that say `aggressive`. A connection names its peer's identity or
//! takes any (`remote-id` left out, `%any`): one that names it is preferred.

use std::net::SocketAddr;
use std::sync::Arc;

use super::isakmp_sa::{IsakmpSa, Phase1State, V1Ctx};
use super::wire::{self, exchange, notify_type, Header, Identification, Payload, SaPayload};
use super::{auth, auth_refusal, phase1};
use crate::action::DropReason;
use crate::config::{AuthConfig, Identity, IkeConfig};
use crate::message::IdType;

/// Why a first message got no SA: counted as `reason`, and told to the peer with `notify`
/// (in clear: no keys yet) when it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub reason: DropReason,
    pub notify: Option<u16>,
}

impl Refusal {
    /// No connection of these addresses: silence, as for a Main Mode.
    pub const NO_CONFIG: Refusal = Refusal {
        reason: DropReason::NoConfig,
        notify: None,
    };
    pub const MALFORMED: Refusal = Refusal {
        reason: DropReason::Malformed,
        notify: None,
    };
    /// An Aggressive Mode for connections that do not say `aggressive`.
    pub const AGGRESSIVE: Refusal = Refusal {
        reason: DropReason::AggressiveRefused,
        notify: Some(notify_type::NO_PROPOSAL_CHOSEN),
    };
    /// No connection takes the peer's identity.
    pub const IDENTITY: Refusal = Refusal {
        reason: DropReason::IdMismatch,
        notify: Some(notify_type::INVALID_ID_INFORMATION),
    };
    /// None of the peer's phase 1 transforms is one of ours.
    pub const PROPOSAL: Refusal = Refusal {
        reason: DropReason::NoConfig,
        notify: Some(notify_type::NO_PROPOSAL_CHOSEN),
    };
}

/// Whether connection `c` runs Aggressive Mode.
pub fn is_aggressive(c: &IkeConfig) -> bool {
    c.v1().is_some_and(|v| v.aggressive)
}

/// How well `c` takes a peer that says `id`: 0 when it names that identity, 1 when it
/// takes any, `None` when it names another.
fn identity_rank(c: &IkeConfig, id: &Identification) -> Option<u8> {
    match &c.remote_id {
        // As the authentication compares it: a DN as an X.509 name (strongSwan encodes its
        // DN with PrintableStrings where our `dn:` has UTF8Strings).
        Some(want) => {
            let peer = Identity {
                id_type: IdType(id.id_type),
                data: id.data.clone(),
            };
            auth::is_remote_id(want, &peer).then_some(0)
        }
        None => Some(1),
    }
}

/// Main Mode's first message, which offers the transforms of `offered`: the first connection
/// of these addresses that runs Main Mode and takes one of them. Each transform names its
/// authentication method, so a PSK peer lands on a PSK connection and a signing one on a
/// connection of its signature method, whatever their order.
pub fn for_main_mode(
    configs: &[Arc<IkeConfig>],
    local: SocketAddr,
    remote: SocketAddr,
    offered: &SaPayload,
) -> Option<Arc<IkeConfig>> {
    configs
        .iter()
        .filter(|c| c.matches_addresses(local, remote) && !is_aggressive(c))
        .find(|c| phase1::select(c, offered).is_some())
        .cloned()
}

/// The SA payload of a first message (`header` and its payload chain `body`).
pub fn offered_sa(header: &Header, body: &[u8]) -> Option<SaPayload> {
    wire::parse_payloads(header.next_payload, body)
        .ok()?
        .into_iter()
        .find_map(|p| match p {
            Payload::Sa(s) => Some(s),
            _ => None,
        })
}

/// Aggressive Mode's first message, from a peer that says `id`: the connections that may
/// answer it, best first.
pub fn for_aggressive(
    configs: &[Arc<IkeConfig>],
    local: SocketAddr,
    remote: SocketAddr,
    id: &Identification,
) -> Result<Vec<Arc<IkeConfig>>, Refusal> {
    let by_address: Vec<&Arc<IkeConfig>> = configs
        .iter()
        .filter(|c| c.matches_addresses(local, remote))
        .collect();
    if by_address.is_empty() {
        return Err(Refusal::NO_CONFIG);
    }
    let taking_id: Vec<(u8, &Arc<IkeConfig>)> = by_address
        .into_iter()
        .filter_map(|c| Some((identity_rank(c, id)?, c)))
        .collect();
    if taking_id.is_empty() {
        return Err(Refusal::IDENTITY);
    }
    let mut fitting: Vec<(u8, &Arc<IkeConfig>)> = taking_id
        .into_iter()
        .filter(|(_, c)| is_aggressive(c))
        .collect();
    if fitting.is_empty() {
        // A connection takes this peer, but in Main Mode only.
        return Err(Refusal::AGGRESSIVE);
    }
    // Stable: among equals, the order of the configuration file.
    fitting.sort_by_key(|(rank, _)| *rank);
    Ok(fitting.into_iter().map(|(_, c)| c.clone()).collect())
}

/// Whether the keys derived under connection `a` hold for `b` too: SKEYID of a PSK is
/// keyed by the PSK, that of signatures by the nonces and D-H alone.
fn same_skeyid(a: &IkeConfig, b: &IkeConfig) -> bool {
    match (&a.auth, &b.auth) {
        (AuthConfig::Psk(x), AuthConfig::Psk(y)) => x[..] == y[..],
        (AuthConfig::PubKey(_), AuthConfig::PubKey(_)) => true,
        _ => false,
    }
}

/// MM5: the connection for identity `id`, given `current` (picked by addresses) and the
/// phase 1 transform negotiated under it: `current` if it takes `id`, else the best one of
/// the same addresses and keys (the same PSK, or signatures) that runs Main Mode and offers
/// that transform.
pub fn for_identity(
    configs: &[Arc<IkeConfig>],
    current: &Arc<IkeConfig>,
    (local, remote): (SocketAddr, SocketAddr),
    negotiated: &wire::Phase1Transform,
    id: &Identification,
) -> Option<Arc<IkeConfig>> {
    if identity_rank(current, id).is_some() {
        return Some(current.clone());
    }
    let offers = |c: &IkeConfig| {
        let chosen = phase1::offer(c);
        phase1::accept_choice(c, &single(&chosen, negotiated)).is_some()
    };
    configs
        .iter()
        .filter(|c| {
            c.matches_addresses(local, remote)
                && !is_aggressive(c)
                && same_skeyid(c, current)
                && offers(c)
        })
        .filter_map(|c| Some((identity_rank(c, id)?, c)))
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, c)| c.clone())
}

/// An SA payload of `template`'s shape holding `transform` alone (what `accept_choice` reads).
fn single(template: &wire::SaPayload, transform: &wire::Phase1Transform) -> wire::SaPayload {
    let mut sa = template.clone();
    if let Some(p) = sa.proposals.first_mut() {
        p.transforms = vec![transform.to_transform(1)];
    }
    sa
}

/// Responder, MM5: decrypts the identity (the IV chain is not moved: Main Mode checks the
/// HASH next) and makes sure the SA's connection takes it, switching to a better one where
/// it may. False when none does: the peer is told INVALID_ID_INFORMATION, the SA closes
/// and the refusal is counted. A message that does not decrypt is left to Main Mode.
pub fn fit_main_mode_identity(
    sa: &mut IsakmpSa,
    ctx: &mut V1Ctx,
    configs: &[Arc<IkeConfig>],
    header: &Header,
    body: &[u8],
) -> bool {
    if sa.initiator || sa.state != Phase1State::MmKeAnswered || !header.is_encrypted() {
        return true;
    }
    let Some((id, next_iv)) = peek_identity(sa, header, body) else {
        return true;
    };
    let Some(negotiated) = sa.suite.as_ref().map(|s| s.transform.clone()) else {
        return true;
    };
    let addrs = (sa.local, sa.remote);
    match for_identity(configs, &sa.config, addrs, &negotiated, &id) {
        Some(c) => {
            sa.config = c;
            true
        }
        None => {
            // The peer's chain moved past MM5: its Informational IV starts from there.
            sa.iv = next_iv;
            let kind = notify_type::INVALID_ID_INFORMATION;
            auth_refusal::tell_and_close(sa, ctx, kind, DropReason::IdMismatch, false);
            false
        }
    }
}

/// The identity of an encrypted identity message, if it decrypts into payloads, and the IV
/// after it.
fn peek_identity(sa: &IsakmpSa, header: &Header, body: &[u8]) -> Option<(Identification, Vec<u8>)> {
    let (plain, next_iv) = sa.open_with(&sa.iv, body)?;
    let chain = wire::unpadded(header.next_payload, &plain).ok()?;
    let id = wire::parse_payloads(header.next_payload, chain)
        .ok()?
        .into_iter()
        .find_map(|p| match p {
            Payload::Id(i) => Some(i),
            _ => None,
        })?;
    Some((id, next_iv))
}

/// The refusal of a first message (`header` is its header): an Informational in clear with
/// the notification, for the initiator's cookie.
pub fn refusal_message(header: &Header, kind: u16) -> Option<Vec<u8>> {
    clear_notification(header.icookie, [0; 8], kind)
}

/// An Informational in clear under the cookies given, carrying notification `kind`.
pub fn clear_notification(icookie: [u8; 8], rcookie: [u8; 8], kind: u16) -> Option<Vec<u8>> {
    let (first, body) =
        wire::encode_payloads(&[auth_refusal::notification(icookie, rcookie, kind)]).ok()?;
    let h = Header {
        icookie,
        rcookie,
        next_payload: first,
        version: 0x10,
        exchange: exchange::INFORMATIONAL,
        flags: 0,
        message_id: 0,
        length: 0,
    };
    Some(wire::encode_message(&h, &body))
}

#[cfg(test)]
#[path = "conn_select_tests.rs"]
mod tests;
