//! Informational exchanges (RFC 2408 4.8, RFC 2409 5.7): one protected message each way,
//! `HDR*, HASH(1), N/D`, with HASH(1) = prf(SKEYID_a, M-ID | N/D) and an IV of its own
//! from the last phase 1 block and its message ID. Deletes of the ISAKMP SA and of IPsec
//! SAs both ways; R-U-THERE answered (RFC 3706).

use super::crypt;
use super::isakmp_sa::{IsakmpSa, QmState, V1Ctx};
use super::keymat;
use super::wire::{
    self, doi, exchange, notify_type, payload_type, protocol, Deletion, Header, Notification,
    Payload,
};
use crate::action::{Action, ChildId, DownReason, DropReason, Event};
use crate::message::NotifyType;
use crate::rng::random_u32;
use crate::sa::child_sa::ChildState;

/// Sends `payloads` in a new Informational exchange under the SA's keys.
pub fn send(sa: &mut IsakmpSa, ctx: &mut V1Ctx, payloads: Vec<Payload>) -> bool {
    let (Some(suite), Some(keys)) = (sa.suite.as_ref(), sa.keys.as_ref()) else {
        return false;
    };
    let (prf, block) = (suite.prf, suite.cipher.block_len());
    let mid = loop {
        let m = random_u32(ctx.rng);
        if m != 0 && !sa.quick_modes.contains_key(&m) {
            break m;
        }
    };
    let Ok((_, rest)) = wire::encode_payloads(&payloads) else {
        return false;
    };
    let Ok(hash) = keymat::informational_hash(prf, &keys.skeyid_a, mid, &rest) else {
        return false;
    };
    let Ok(iv) = crypt::exchange_iv(prf, &sa.iv, mid, block) else {
        return false;
    };
    let mut all = vec![Payload::Hash(hash.to_vec())];
    all.extend(payloads);
    let h = sa.header(exchange::INFORMATIONAL, 0, mid);
    match sa.seal_with(&iv, &h, &all) {
        Some((msg, _)) => {
            sa.send(msg);
            true
        }
        None => false,
    }
}

/// Deletes one of our IPsec SAs: the peer is told (by our inbound SPI, RFC 2408 3.15) and
/// the fast path lets it go.
pub fn delete_child(
    sa: &mut IsakmpSa,
    ctx: &mut V1Ctx,
    child: ChildId,
    reason: DownReason,
) -> bool {
    let Some(i) = sa.children.iter().position(|c| c.id == child) else {
        return false;
    };
    let c = sa.children.remove(i);
    ctx.esp_spis.remove(&c.spi_in);
    let d = Payload::Delete(Deletion {
        doi: doi::IPSEC,
        protocol: protocol::IPSEC_ESP,
        spi_size: 4,
        spis: vec![c.spi_in.to_be_bytes().to_vec()],
    });
    if sa.is_established() {
        send(sa, ctx, vec![d]);
    }
    if c.installed {
        sa.push(Action::ChildSaDown {
            child: c.child_ref(sa.id),
            reason,
        });
    }
    true
}

/// Deletes the ISAKMP SA: the peer is told (by its cookies), and the SA with its IPsec SAs
/// goes down.
pub fn delete_sa(sa: &mut IsakmpSa, ctx: &mut V1Ctx) {
    if sa.is_established() {
        let mut payloads = Vec::new();
        for c in &sa.children {
            payloads.push(Payload::Delete(Deletion {
                doi: doi::IPSEC,
                protocol: protocol::IPSEC_ESP,
                spi_size: 4,
                spis: vec![c.spi_in.to_be_bytes().to_vec()],
            }));
        }
        for p in payloads {
            send(sa, ctx, vec![p]);
        }
        let d = Payload::Delete(Deletion {
            doi: doi::IPSEC,
            protocol: protocol::ISAKMP,
            spi_size: 16,
            spis: vec![[sa.icookie, sa.rcookie].concat()],
        });
        send(sa, ctx, vec![d]);
    }
    for c in &sa.children {
        ctx.esp_spis.remove(&c.spi_in);
    }
    sa.close(DownReason::Deleted, ctx.now);
}

/// An Informational message for an SA.
pub fn on_message(sa: &mut IsakmpSa, ctx: &mut V1Ctx, header: &Header, body: &[u8]) {
    let mid = header.message_id;
    if sa
        .quick_modes
        .get(&mid)
        .is_some_and(|q| q.state == QmState::AwaitConnected)
    {
        return super::quick_mode::on_connected(sa, ctx, header, body);
    }
    if !header.is_encrypted() && !sa.is_established() {
        return on_phase1_refusal(sa, ctx, header, body);
    }
    // Other unprotected notifications change nothing: anyone could have sent them.
    if !header.is_encrypted() || !sa.is_established() || header.next_payload != payload_type::HASH {
        return sa.drop_message(DropReason::Unprotected);
    }
    let (Some(suite), Some(keys)) = (sa.suite.as_ref(), sa.keys.as_ref()) else {
        return;
    };
    let (prf, block, a) = (suite.prf, suite.cipher.block_len(), keys.skeyid_a.clone());
    let Ok(iv) = crypt::exchange_iv(prf, &sa.iv, mid, block) else {
        return;
    };
    let checked = sa.open_with(&iv, body).and_then(|(plain, _)| {
        let chain = wire::unpadded(header.next_payload, &plain).ok()?;
        let rest = wire::after_first_payload(header.next_payload, chain).ok()?;
        let payloads = wire::parse_payloads(header.next_payload, chain).ok()?;
        let want = keymat::informational_hash(prf, &a, mid, rest).ok()?;
        matches!(payloads.first(), Some(Payload::Hash(h)) if h[..] == want[..]).then_some(payloads)
    });
    let Some(payloads) = checked else {
        return sa.drop_message(DropReason::BadIcv);
    };
    super::dpd_probe::on_inbound(sa, ctx.now);
    for p in payloads {
        match p {
            Payload::Delete(d) => on_delete(sa, ctx, &d),
            Payload::Notify(n) => on_notify(sa, ctx, &n),
            _ => {}
        }
        if sa.is_closed() {
            return;
        }
    }
}

/// An Informational in clear while phase 1 is not done: the peer refusing our proposal or
/// our proof (RFC 2408 3.14.1), before it had keys or with keys it could not trust, as a
/// wrong pre-shared key makes them. The first error notification closes the SA at once,
/// with its reason, rather than leaving it to wait for its setup timeout, as strongSwan
/// does: the message names the SA by its cookies, ours random, so only a peer that saw our
/// messages can send it. Status types and malformed messages are dropped as before.
fn on_phase1_refusal(sa: &mut IsakmpSa, ctx: &mut V1Ctx, header: &Header, body: &[u8]) {
    let error = wire::parse_payloads(header.next_payload, body)
        .ok()
        .and_then(|payloads| {
            payloads.into_iter().find_map(|p| match p {
                Payload::Notify(n) if notify_type::is_error(n.kind) => Some(n.kind),
                _ => None,
            })
        });
    let Some(kind) = error else {
        return sa.drop_message(DropReason::Unprotected);
    };
    sa.event(Event::PeerNotify(NotifyType(kind)));
    let reason = refusal_reason(kind);
    sa.close(reason, ctx.now);
    // `close` tells the end of an SA that was up; this one never was, but its caller should
    // know why the negotiation ended, as IKEv2's does.
    sa.push(Action::IkeSaDown { sa: sa.id, reason });
}

/// Why the peer refused phase 1, by its error notification.
fn refusal_reason(kind: u16) -> DownReason {
    match kind {
        notify_type::NO_PROPOSAL_CHOSEN => DownReason::NoProposalChosen,
        notify_type::AUTHENTICATION_FAILED
        | notify_type::INVALID_HASH_INFORMATION
        | notify_type::INVALID_SIGNATURE
        | notify_type::INVALID_ID_INFORMATION
        | notify_type::INVALID_CERTIFICATE
        | notify_type::INVALID_CERT_AUTHORITY
        | notify_type::CERTIFICATE_UNAVAILABLE => DownReason::AuthenticationFailed,
        other => DownReason::PeerError(NotifyType(other)),
    }
}

fn on_delete(sa: &mut IsakmpSa, ctx: &mut V1Ctx, d: &Deletion) {
    match d.protocol {
        protocol::ISAKMP => {
            let ours = [sa.icookie, sa.rcookie].concat();
            if d.spis.contains(&ours) {
                for c in &sa.children {
                    ctx.esp_spis.remove(&c.spi_in);
                }
                sa.close(DownReason::DeletedByPeer, ctx.now);
            }
        }
        protocol::IPSEC_ESP => {
            for spi in &d.spis {
                let Ok(spi) = <[u8; 4]>::try_from(&spi[..]) else {
                    continue;
                };
                let spi = u32::from_be_bytes(spi);
                // The peer names the SA by its inbound SPI: our outbound one.
                let Some(i) = sa.children.iter().position(|c| c.spi_out == spi) else {
                    continue;
                };
                let c = sa.children.remove(i);
                ctx.esp_spis.remove(&c.spi_in);
                if c.installed {
                    let reason = if c.state == ChildState::Rekeyed {
                        DownReason::Rekeyed
                    } else {
                        DownReason::DeletedByPeer
                    };
                    sa.push(Action::ChildSaDown {
                        child: c.child_ref(sa.id),
                        reason,
                    });
                }
            }
        }
        _ => {}
    }
}

fn on_notify(sa: &mut IsakmpSa, ctx: &mut V1Ctx, n: &Notification) {
    match n.kind {
        notify_type::R_U_THERE | notify_type::R_U_THERE_ACK => {
            super::dpd_probe::on_notify(sa, ctx, n)
        }
        _ => {}
    }
}
