//! Quick Mode (RFC 2409 5.5): IPsec SAs under an ISAKMP SA, with and without PFS, both roles.
//!
//! ```text
//! Initiator                                   Responder
//! HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr] -->
//!                                  <-- HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr]
//! HDR*, HASH(3)                               -->
//! ```
//!
//! The commit bit (RFC 2408 3.1, RFC 2409 5.5): a responder asked for it (or setting it)
//! sends CONNECTED once the SAs are in; an initiator whose responder set it keeps the SAs
//! out of the fast path until that CONNECTED arrives. The SAs are installed through the
//! same `ChildSaUp` / `ChildSaRekeyed` actions as IKEv2's CHILD SAs.

use super::isakmp_sa::{
    Finished, IsakmpSa, QmState, QuickMode, V1Ctx, FINISHED_KEPT, SETUP_TIMEOUT,
};
use super::keymat;
use super::offers::phase2_offers;
use super::quick_mode_parts::{
    child_config, encapsulation_of, exchange_iv, ke_of, keyed_child, nonce_of, offered,
    opened_and_checked, prf_keys, with_hash,
};
use super::selectors::{id_of, ts_of, within};
use super::wire::{
    self, doi, exchange, flags, notify_type, protocol, Header, Notification, Payload,
    Phase2Transform, Proposal, SaPayload,
};
use crate::action::{Action, ChildId, DownReason, DropReason, Event};
use crate::config::{ChildConfig, Mode, StartAction};
use crate::crypto::dh::KeyExchange;
use crate::message::{NotifyType, TrafficSelector};
use crate::retransmit::{Expiry, Retransmit};
use crate::rng::random_u32;
use crate::sa::child_sa::{ChildSa, ChildState};

/// Initiator, once the ISAKMP SA is up: a Quick Mode for each child that starts at once
/// (the first child if none says so).
pub fn start_children(sa: &mut IsakmpSa, ctx: &mut V1Ctx) {
    let mut names: Vec<String> = sa
        .config
        .children
        .iter()
        .filter(|c| c.start_action == StartAction::Start)
        .map(|c| c.name.clone())
        .collect();
    if names.is_empty() {
        names.extend(sa.config.children.first().map(|c| c.name.clone()));
    }
    for n in names {
        initiate(sa, ctx, &n, None);
    }
}

fn new_message_id(sa: &IsakmpSa, ctx: &mut V1Ctx) -> u32 {
    loop {
        let m = random_u32(ctx.rng);
        if m != 0 && !sa.quick_modes.contains_key(&m) {
            return m;
        }
    }
}

/// Starts a Quick Mode for child `name` (a rekey of `replaces`); false when the SA is not
/// up or the child has nothing to offer.
pub fn initiate(sa: &mut IsakmpSa, ctx: &mut V1Ctx, name: &str, replaces: Option<ChildId>) -> bool {
    if !sa.is_established() {
        return false;
    }
    let Some(child) = child_config(sa, name).cloned() else {
        return false;
    };
    let offers = phase2_offers(&sa.config, &child).unwrap_or_default();
    let (Some(local_ts), Some(remote_ts)) = (child.local_ts.first(), child.remote_ts.first())
    else {
        return false;
    };
    if offers.is_empty() {
        return false;
    }
    let mid = new_message_id(sa, ctx);
    let spi_in = ctx.new_esp_spi();
    let encapsulation = encapsulation_of(sa, child.mode);
    let transforms = offers
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let t = Phase2Transform {
                encapsulation,
                ..o.clone()
            };
            t.to_transform(i as u8 + 1)
        })
        .collect();
    let sa_payload = SaPayload {
        doi: doi::IPSEC,
        situation: doi::SIT_IDENTITY_ONLY,
        proposals: vec![Proposal {
            number: 1,
            protocol: protocol::IPSEC_ESP,
            spi: spi_in.to_be_bytes().to_vec(),
            transforms,
        }],
    };
    let ni = ctx.nonce();
    let mut payloads = vec![Payload::Sa(sa_payload), Payload::Nonce(ni.clone())];
    // PFS when the preferred offer asks for it (all offers of a child share its group).
    let dh = match offers[0].group {
        Some(g) => match KeyExchange::generate(g) {
            Ok(d) => Some(d),
            Err(_) => return false,
        },
        None => None,
    };
    if let Some(d) = &dh {
        payloads.push(Payload::Ke(d.public_value().to_vec()));
    }
    payloads.push(Payload::Id(id_of(local_ts)));
    payloads.push(Payload::Id(id_of(remote_ts)));
    let Some((prf, a, _)) = prf_keys(sa) else {
        return false;
    };
    let Some(payloads) = with_hash(payloads, |rest| {
        keymat::quick_mode_hash1(prf, a, mid, rest)
            .ok()
            .map(|h| h.to_vec())
    }) else {
        return false;
    };
    let Some(iv) = exchange_iv(sa, mid) else {
        return false;
    };
    let h = sa.header(exchange::QUICK_MODE, 0, mid);
    let Some((msg, next_iv)) = sa.seal_with(&iv, &h, &payloads) else {
        return false;
    };
    let bytes = sa.send(msg);
    let qm = QuickMode {
        message_id: mid,
        initiator: true,
        state: QmState::Sent,
        child: child.name.clone(),
        iv: next_iv,
        ni,
        nr: Vec::new(),
        dh,
        spi_in,
        spi_out: 0,
        offers,
        chosen: None,
        local_ts: *local_ts,
        remote_ts: *remote_ts,
        commit: false,
        last_received: Vec::new(),
        last_sent: Vec::new(),
        retransmit: Some(Retransmit::new(vec![bytes], ctx.now, &sa.config.retransmit)),
        give_up_at: ctx.now + SETUP_TIMEOUT,
        replaces,
        pending: None,
    };
    sa.quick_modes.insert(mid, qm);
    true
}

/// A Quick Mode message (exchange 32) for an established SA.
pub fn on_message(sa: &mut IsakmpSa, ctx: &mut V1Ctx, raw: &[u8], header: &Header, body: &[u8]) {
    let mid = header.message_id;
    if !header.is_encrypted() || mid == 0 || !sa.is_established() {
        return sa.drop_message(DropReason::Unprotected);
    }
    if let Some(f) = sa.finished.iter().find(|f| f.message_id == mid) {
        if f.last_received == raw && !f.last_sent.is_empty() {
            let again = f.last_sent.clone();
            sa.counters.requests_answered_from_cache += 1;
            sa.send(again);
        } else {
            sa.counters.drop(DropReason::OldRequest);
        }
        return;
    }
    let Some(qm) = sa.quick_modes.get(&mid) else {
        return respond(sa, ctx, raw, header, body);
    };
    if !qm.last_received.is_empty() && qm.last_received == raw {
        let again = qm.last_sent.clone();
        sa.counters.requests_answered_from_cache += 1;
        sa.send(again);
        return;
    }
    match (qm.initiator, qm.state) {
        (true, QmState::Sent) => on_answer(sa, ctx, raw, header, body),
        (false, QmState::Answered) => on_hash3(sa, ctx, raw, header, body),
        _ => sa.drop_message(DropReason::WrongState),
    }
}

/// Responder: a new Quick Mode. Its proposal is matched against the child whose selectors
/// hold the peer's identities; our answer goes back, and the keyed SA waits for HASH(3).
fn respond(sa: &mut IsakmpSa, ctx: &mut V1Ctx, raw: &[u8], header: &Header, body: &[u8]) {
    let mid = header.message_id;
    let (Some(iv), Some((prf, a, _))) = (exchange_iv(sa, mid), prf_keys(sa)) else {
        return;
    };
    let a = a.to_vec();
    let Some((payloads, next_iv)) = opened_and_checked(sa, &iv, header, body, |got, rest| {
        keymat::quick_mode_hash1(prf, &a, mid, rest).is_ok_and(|h| h[..] == got[..])
    }) else {
        return;
    };
    let ids: Vec<_> = payloads
        .iter()
        .filter_map(|p| match p {
            Payload::Id(i) => Some(i.clone()),
            _ => None,
        })
        .collect();
    // Without identities the SA is between the two hosts (RFC 2409 5.5).
    let (peer_ts, our_ts) = match ids.as_slice() {
        [ci, cr] => (ts_of(ci), ts_of(cr)),
        [] => (
            Some(TrafficSelector::new(
                0,
                (0, 0xffff),
                sa.remote.ip(),
                sa.remote.ip(),
            )),
            Some(TrafficSelector::new(
                0,
                (0, 0xffff),
                sa.local.ip(),
                sa.local.ip(),
            )),
        ),
        _ => (None, None),
    };
    let (Some(peer_ts), Some(our_ts), Some(ni)) = (peer_ts, our_ts, nonce_of(&payloads)) else {
        return sa.drop_message(DropReason::Malformed);
    };
    let Some(Payload::Sa(offer)) = payloads.iter().find(|p| matches!(p, Payload::Sa(_))) else {
        return sa.drop_message(DropReason::Malformed);
    };
    let Some((child, proposal, tr, chosen)) = choose(sa, offer, &peer_ts, &our_ts) else {
        sa.event(Event::ChildFailed {
            config: sa.config.name.clone(),
            notify: NotifyType::NO_PROPOSAL_CHOSEN,
        });
        sa.counters.drop(DropReason::NoConfig);
        return;
    };
    let Ok(spi_out) = <[u8; 4]>::try_from(&proposal.spi[..]) else {
        return sa.drop_message(DropReason::Malformed);
    };
    let dh = match chosen.group {
        Some(g) => match KeyExchange::generate(g) {
            Ok(d) => Some(d),
            Err(_) => return,
        },
        None => None,
    };
    let peer_ke = ke_of(&payloads);
    if dh.is_some() != peer_ke.is_some() {
        return sa.drop_message(DropReason::Malformed);
    }
    let spi_in = ctx.new_esp_spi();
    let nr = ctx.nonce();
    let mut reply = vec![
        Payload::Sa(SaPayload {
            proposals: vec![Proposal {
                spi: spi_in.to_be_bytes().to_vec(),
                transforms: vec![tr],
                ..proposal
            }],
            ..offer.clone()
        }),
        Payload::Nonce(nr.clone()),
    ];
    if let Some(d) = &dh {
        reply.push(Payload::Ke(d.public_value().to_vec()));
    }
    reply.extend(ids.into_iter().map(Payload::Id));
    let Some(reply) = with_hash(reply, |rest| {
        keymat::quick_mode_hash2(prf, &a, mid, &ni, rest)
            .ok()
            .map(|h| h.to_vec())
    }) else {
        return;
    };
    // A commit bit asked for is echoed: the initiator then waits for our CONNECTED.
    let commit = header.flags & flags::COMMIT != 0;
    let h = sa.header(exchange::QUICK_MODE, header.flags & flags::COMMIT, mid);
    let Some((msg, iv_after)) = sa.seal_with(&next_iv, &h, &reply) else {
        return;
    };
    let mut qm = QuickMode {
        message_id: mid,
        initiator: false,
        state: QmState::Answered,
        child: child.name.clone(),
        iv: iv_after,
        ni,
        nr,
        dh,
        spi_in,
        spi_out: u32::from_be_bytes(spi_out),
        offers: Vec::new(),
        chosen: Some(chosen),
        local_ts: our_ts,
        remote_ts: peer_ts,
        commit,
        last_received: raw.to_vec(),
        last_sent: Vec::new(),
        retransmit: None,
        give_up_at: ctx.now + SETUP_TIMEOUT,
        replaces: None,
        pending: None,
    };
    qm.pending = keyed_child(sa, &qm, peer_ke.as_deref(), ctx.now);
    if qm.pending.is_none() {
        return sa.drop_message(DropReason::Malformed);
    }
    let bytes = sa.send(msg);
    qm.last_sent = bytes.clone();
    qm.retransmit = Some(Retransmit::new(vec![bytes], ctx.now, &sa.config.retransmit));
    sa.quick_modes.insert(mid, qm);
}

/// The first child (of this connection) whose selectors hold the peer's, and the first of
/// the peer's transforms it offers too.
fn choose(
    sa: &IsakmpSa,
    offer: &SaPayload,
    peer_ts: &TrafficSelector,
    our_ts: &TrafficSelector,
) -> Option<(ChildConfig, Proposal, wire::Transform, Phase2Transform)> {
    if offer.doi != doi::IPSEC {
        return None;
    }
    for child in &sa.config.children {
        let fits = child.remote_ts.iter().any(|t| within(peer_ts, t))
            && child.local_ts.iter().any(|t| within(our_ts, t));
        if !fits {
            continue;
        }
        let ours = phase2_offers(&sa.config, child).unwrap_or_default();
        for p in offer
            .proposals
            .iter()
            .filter(|p| p.protocol == protocol::IPSEC_ESP)
        {
            for tr in &p.transforms {
                let Ok(theirs) = Phase2Transform::from_transform(tr) else {
                    continue;
                };
                if offered(&ours, &theirs) && theirs.is_tunnel() == (child.mode == Mode::Tunnel) {
                    return Some((child.clone(), p.clone(), tr.clone(), theirs));
                }
            }
        }
    }
    None
}

/// Initiator: the responder's answer; HASH(3) goes back and the SAs go in (or wait for
/// CONNECTED when the responder set the commit bit).
fn on_answer(sa: &mut IsakmpSa, ctx: &mut V1Ctx, raw: &[u8], header: &Header, body: &[u8]) {
    let mid = header.message_id;
    let Some((prf, a, _)) = prf_keys(sa) else {
        return;
    };
    let a = a.to_vec();
    let qm = &sa.quick_modes[&mid];
    let (iv, ni) = (qm.iv.clone(), qm.ni.clone());
    let Some((payloads, next_iv)) = opened_and_checked(sa, &iv, header, body, |got, rest| {
        keymat::quick_mode_hash2(prf, &a, mid, &ni, rest).is_ok_and(|h| h[..] == got[..])
    }) else {
        return;
    };
    let chosen = payloads.iter().find_map(|p| match p {
        Payload::Sa(s) => s.proposals.first().cloned(),
        _ => None,
    });
    let Some(proposal) = chosen else {
        return sa.drop_message(DropReason::Malformed);
    };
    let tr = proposal
        .transforms
        .first()
        .and_then(|t| Phase2Transform::from_transform(t).ok());
    let spi = <[u8; 4]>::try_from(&proposal.spi[..]).ok();
    let (Some(tr), Some(spi), Some(nr)) = (tr, spi, nonce_of(&payloads)) else {
        return sa.drop_message(DropReason::Malformed);
    };
    let qm = sa.quick_modes.get_mut(&mid).expect("looked up above");
    if !offered(&qm.offers, &tr) {
        return sa.drop_message(DropReason::Malformed);
    }
    qm.spi_out = u32::from_be_bytes(spi);
    qm.nr = nr;
    qm.chosen = Some(tr);
    let peer_ke = ke_of(&payloads);
    let qm = &sa.quick_modes[&mid];
    let Some(child) = keyed_child(sa, qm, peer_ke.as_deref(), ctx.now) else {
        return sa.drop_message(DropReason::Malformed);
    };
    let Ok(h3) = keymat::quick_mode_hash3(prf, &a, mid, &qm.ni, &qm.nr) else {
        return;
    };
    let h = sa.header(exchange::QUICK_MODE, 0, mid);
    let Some((msg, iv_after)) = sa.seal_with(&next_iv, &h, &[Payload::Hash(h3.to_vec())]) else {
        return;
    };
    let bytes = sa.send(msg);
    let commit = header.flags & flags::COMMIT != 0;
    let mut qm = sa.quick_modes.remove(&mid).expect("looked up above");
    if commit {
        qm.state = QmState::AwaitConnected;
        qm.iv = iv_after;
        qm.retransmit = None;
        qm.commit = true;
        qm.pending = Some(child);
        qm.last_received = raw.to_vec();
        qm.last_sent = bytes;
        sa.quick_modes.insert(mid, qm);
        return;
    }
    remember(sa, mid, raw, bytes);
    install(sa, ctx, child);
}

/// Responder: HASH(3); the SAs go in, and CONNECTED follows if the commit bit was set.
fn on_hash3(sa: &mut IsakmpSa, ctx: &mut V1Ctx, raw: &[u8], header: &Header, body: &[u8]) {
    let mid = header.message_id;
    let Some((prf, a, _)) = prf_keys(sa) else {
        return;
    };
    let a = a.to_vec();
    let qm = &sa.quick_modes[&mid];
    let (iv, ni, nr) = (qm.iv.clone(), qm.ni.clone(), qm.nr.clone());
    let Some((_, next_iv)) = opened_and_checked(sa, &iv, header, body, |got, _| {
        keymat::quick_mode_hash3(prf, &a, mid, &ni, &nr).is_ok_and(|h| h[..] == got[..])
    }) else {
        return;
    };
    let mut qm = sa.quick_modes.remove(&mid).expect("looked up above");
    let commit = qm.commit || header.flags & flags::COMMIT != 0;
    let Some(child) = qm.pending.take() else {
        return;
    };
    let spi_in = child.spi_in;
    install(sa, ctx, child);
    let mut sent = Vec::new();
    if commit {
        // RFC 2409 5.5: the commit bit asks the responder to say when the SAs are in.
        let n = Payload::Notify(Notification {
            doi: doi::IPSEC,
            protocol: protocol::IPSEC_ESP,
            spi: spi_in.to_be_bytes().to_vec(),
            kind: notify_type::CONNECTED,
            data: Vec::new(),
        });
        let hashed = with_hash(vec![n], |rest| {
            keymat::informational_hash(prf, &a, mid, rest)
                .ok()
                .map(|h| h.to_vec())
        });
        let h = sa.header(exchange::INFORMATIONAL, 0, mid);
        if let Some((msg, _)) = hashed.and_then(|p| sa.seal_with(&next_iv, &h, &p)) {
            sent = sa.send(msg);
        }
    }
    remember(sa, mid, raw, sent);
}

/// Initiator: the responder's CONNECTED for a Quick Mode whose commit bit was set (an
/// Informational exchange on the Quick Mode's message ID and IV chain).
pub fn on_connected(sa: &mut IsakmpSa, ctx: &mut V1Ctx, header: &Header, body: &[u8]) {
    let mid = header.message_id;
    let Some((prf, a, _)) = prf_keys(sa) else {
        return;
    };
    let a = a.to_vec();
    let iv = sa.quick_modes[&mid].iv.clone();
    let Some((payloads, _)) = opened_and_checked(sa, &iv, header, body, |got, rest| {
        keymat::informational_hash(prf, &a, mid, rest).is_ok_and(|h| h[..] == got[..])
    }) else {
        return;
    };
    let connected = payloads
        .iter()
        .any(|p| matches!(p, Payload::Notify(n) if n.kind == notify_type::CONNECTED));
    if !connected {
        return sa.drop_message(DropReason::WrongState);
    }
    let mut qm = sa.quick_modes.remove(&mid).expect("checked by the caller");
    let (raw, sent) = (
        std::mem::take(&mut qm.last_received),
        std::mem::take(&mut qm.last_sent),
    );
    remember(sa, mid, &raw, sent);
    if let Some(child) = qm.pending.take() {
        install(sa, ctx, child);
    }
}

pub(super) fn remember(sa: &mut IsakmpSa, message_id: u32, raw: &[u8], sent: Vec<u8>) {
    if sa.finished.len() >= FINISHED_KEPT {
        sa.finished.remove(0);
    }
    sa.finished.push(Finished {
        message_id,
        last_received: raw.to_vec(),
        last_sent: sent,
    });
}

/// Puts a keyed IPsec SA pair into the fast path: alone, or replacing the SA of the same
/// child it rekeys (ours) or that the peer's new Quick Mode supersedes.
pub(super) fn install(sa: &mut IsakmpSa, ctx: &mut V1Ctx, mut child: ChildSa) {
    child.id = sa.next_child;
    sa.next_child += 1;
    child.installed = true;
    let old = match child.replaces {
        Some(id) => sa.children.iter().position(|c| c.id == id),
        None => sa.children.iter().position(|c| {
            c.config == child.config
                && c.state == ChildState::Installed
                && c.local_ts == child.local_ts
                && c.remote_ts == child.remote_ts
        }),
    };
    let encap = sa.nat_local || sa.nat_remote;
    let info = Box::new(child.info(sa.id, sa.local, sa.remote, encap));
    let we_rekeyed = child.replaces.is_some();
    sa.children.push(child);
    match old {
        Some(i) => {
            sa.children[i].state = ChildState::Rekeyed;
            let old_ref = sa.children[i].child_ref(sa.id);
            sa.push(Action::ChildSaRekeyed {
                old: old_ref,
                new: info,
                defer_outbound: false,
            });
            if we_rekeyed {
                // Ours to delete (RFC 2409 has no rule; strongSwan and Cisco do so).
                let old_id = sa.children[i].id;
                super::informational::delete_child(sa, ctx, old_id, DownReason::Rekeyed);
            }
        }
        None => sa.push(Action::ChildSaUp(info)),
    }
}

/// Quick Modes whose retransmissions ran out or whose time is up are given up; IPsec SAs
/// due are rekeyed (ours) or expire.
pub fn on_timer(sa: &mut IsakmpSa, ctx: &mut V1Ctx) {
    let now = ctx.now;
    let cfg = sa.config.retransmit;
    let mut resend = Vec::new();
    let mut failed = Vec::new();
    for (mid, qm) in sa.quick_modes.iter_mut() {
        if now >= qm.give_up_at {
            failed.push(*mid);
            continue;
        }
        if let Some(r) = qm.retransmit.as_mut() {
            match r.on_timer(now, &cfg) {
                Expiry::NotYet => {}
                Expiry::Resend => resend.push((*mid, r.sent, r.datagrams.clone())),
                Expiry::GiveUp => failed.push(*mid),
            }
        }
    }
    for (mid, sent, datagrams) in resend {
        sa.counters.retransmits += 1;
        for bytes in datagrams {
            sa.push(Action::Send {
                from: sa.local,
                to: sa.remote,
                bytes,
            });
        }
        sa.event(Event::Retransmitted {
            message_id: mid,
            sent,
        });
    }
    for mid in failed {
        if let Some(qm) = sa.quick_modes.remove(&mid) {
            ctx.esp_spis.remove(&qm.spi_in);
            sa.event(Event::ChildFailed {
                config: qm.child,
                notify: NotifyType::NO_PROPOSAL_CHOSEN,
            });
        }
    }
    // Any IPsec SA past its life goes; an installed one past its rekey time is rekeyed.
    let due: Vec<(ChildId, String, bool)> = sa
        .children
        .iter()
        .filter_map(|c| {
            let expired = c.expire_at.is_some_and(|t| t <= now);
            let rekey = c.state == ChildState::Installed && c.rekey_at.is_some_and(|t| t <= now);
            (expired || rekey).then(|| (c.id, c.config.clone(), expired))
        })
        .collect();
    for (id, name, expired) in due {
        if expired {
            super::informational::delete_child(sa, ctx, id, DownReason::Expired);
            continue;
        }
        if let Some(c) = sa.children.iter_mut().find(|c| c.id == id) {
            c.rekey_at = None;
            c.state = ChildState::Rekeying;
        }
        if !initiate(sa, ctx, &name, Some(id)) {
            if let Some(c) = sa.children.iter_mut().find(|c| c.id == id) {
                c.state = ChildState::Installed;
            }
        }
    }
}
