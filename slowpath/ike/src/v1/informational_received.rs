//! The peer's Informational messages (RFC 2408 4.8, RFC 2409 5.7), checked as
//! `informational` builds ours: its deletes of the ISAKMP SA and of IPsec SAs, its R-U-THERE
//! answered (RFC 3706); a Quick Mode's CONNECTED notification goes to the Quick Mode, and
//! a refusal in clear during phase 1 to `phase1_refusal`.

use super::crypt;
use super::isakmp_sa::{IsakmpSa, QmState, V1Ctx};
use super::keymat;
use super::wire::{
    self, notify_type, payload_type, protocol, Deletion, Header, Notification, Payload,
};
use super::{dpd_probe, phase1_refusal, quick_mode};
use crate::action::{Action, DownReason, DropReason};
use crate::sa::child_sa::ChildState;

/// An Informational message for an SA.
pub fn on_message(sa: &mut IsakmpSa, ctx: &mut V1Ctx, header: &Header, body: &[u8]) {
    let mid = header.message_id;
    if sa
        .quick_modes
        .get(&mid)
        .is_some_and(|q| q.state == QmState::AwaitConnected)
    {
        return quick_mode::on_connected(sa, ctx, header, body);
    }
    if !header.is_encrypted() && !sa.is_established() {
        return phase1_refusal::on_message(sa, ctx, header, body);
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
    dpd_probe::on_inbound(sa, ctx.now);
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
        notify_type::R_U_THERE | notify_type::R_U_THERE_ACK => dpd_probe::on_notify(sa, ctx, n),
        _ => {}
    }
}
