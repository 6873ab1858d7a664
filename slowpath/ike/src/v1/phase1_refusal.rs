//! A phase 1 refused by the peer: an Informational in clear while phase 1 is not done (RFC
//! 2408 3.14.1), sent before the peer had keys or with keys it could not trust, as a wrong
//! pre-shared key makes them. The first error notification closes the SA at once, with its
//! reason, rather than leaving it to wait for its setup timeout, as strongSwan does: the
//! message names the SA by its cookies, ours random, so only a peer that saw our messages
//! can send it. Status types and malformed messages are dropped as `unprotected`.

use super::isakmp_sa::{IsakmpSa, V1Ctx};
use super::wire::{self, notify_type, Header, Payload};
use crate::action::{Action, DownReason, DropReason, Event};
use crate::message::NotifyType;

/// An Informational in clear for `sa`, whose phase 1 is not done.
pub fn on_message(sa: &mut IsakmpSa, ctx: &mut V1Ctx, header: &Header, body: &[u8]) {
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
    let reason = reason(kind);
    sa.close(reason, ctx.now);
    // `close` tells the end of an SA that was up; this one never was, but its caller should
    // know why the negotiation ended, as IKEv2's does.
    sa.push(Action::IkeSaDown {
        sa: sa.id,
        conn: sa.config.name.clone(),
        reason,
    });
}

/// Why the peer refused phase 1, by its error notification.
fn reason(kind: u16) -> DownReason {
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
