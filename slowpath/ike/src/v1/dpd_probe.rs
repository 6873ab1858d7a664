//! Our side of RFC 3706 on an ISAKMP SA: the `Dpd` state machine started when the SA comes
//! up (with the conn's `dpd` knobs, if the peer sent the DPD vendor ID), its R-U-THEREs sent
//! as encrypted Informationals, the peer's R-U-THEREs answered and its ACKs checked, and
//! the SA taken down (with its IPsec SAs) when the peer stops answering.

use std::time::Duration;

use super::dpd::{seq_data, Dpd, DpdError, DpdStep};
use super::informational;
use super::isakmp_sa::{IsakmpSa, V1Ctx};
use super::vendor::{self, Vendor};
use super::wire::{doi, notify_type, protocol, Notification, Payload};
use crate::action::{DownReason, DropReason, Event};
use crate::config::DpdAction;

/// Whether the peer's vendor IDs announce RFC 3706 DPD.
pub fn peer_speaks_dpd(payloads: &[Payload]) -> bool {
    payloads
        .iter()
        .any(|p| matches!(p, Payload::VendorId(v) if vendor::recognize(v) == Some(Vendor::Dpd)))
}

/// The SA is up: its DPD starts now, numbered from a random first sequence number.
pub fn start(sa: &mut IsakmpSa, ctx: &mut V1Ctx) {
    let timing = sa
        .config
        .v1()
        .and_then(|v| v.dpd_timing(sa.config.dpd.interval));
    let supports = sa.dpd.peer_supports();
    sa.dpd = Dpd::new(timing, ctx.now, ctx.rng);
    sa.dpd.set_peer_supports(supports);
}

/// Sends the R-U-THERE that is due, or takes the SA down when the peer did not answer.
/// True when the peer was found dead.
pub fn on_timer(sa: &mut IsakmpSa, ctx: &mut V1Ctx) -> bool {
    if !sa.is_established() || sa.reauth.retired {
        return false;
    }
    match sa.dpd.poll(ctx.now) {
        DpdStep::Wait => false,
        DpdStep::Send(seq) => {
            let probe = notification(sa, notify_type::R_U_THERE, seq);
            if informational::send(sa, ctx, vec![probe]) {
                sa.event(Event::DpdSent);
            }
            false
        }
        DpdStep::Dead => {
            sa.close(DownReason::PeerDead, ctx.now);
            true
        }
    }
}

/// What a conn does once its peer is found dead: `restart` initiates again at once; `hold`
/// and `clear` leave it down (IKEv1 has no trap to initiate on traffic).
pub fn restarts(sa: &IsakmpSa) -> bool {
    sa.config.dpd.action == DpdAction::Restart && !sa.config.remote_addr.ip().is_unspecified()
}

/// A DPD notification in an authenticated Informational: an R-U-THERE is answered with the
/// same sequence number, an ACK must carry the one we sent.
pub fn on_notify(sa: &mut IsakmpSa, ctx: &mut V1Ctx, n: &Notification) {
    let result = match n.kind {
        notify_type::R_U_THERE => sa.dpd.on_r_u_there(&n.data, ctx.now).map(|seq| {
            let ack = notification(sa, notify_type::R_U_THERE_ACK, seq);
            informational::send(sa, ctx, vec![ack]);
        }),
        notify_type::R_U_THERE_ACK => sa.dpd.on_ack(&n.data, ctx.now),
        _ => Ok(()),
    };
    if let Err(e) = result {
        sa.drop_message(drop_reason(e));
    }
}

fn drop_reason(e: DpdError) -> DropReason {
    match e {
        DpdError::BadLength => DropReason::Malformed,
        DpdError::UnexpectedAck => DropReason::UnexpectedResponse,
        DpdError::Replayed => DropReason::OldRequest,
    }
}

/// An R-U-THERE or its ACK (RFC 3706 5: protocol ISAKMP, SPI = CKY-I | CKY-R).
fn notification(sa: &IsakmpSa, kind: u16, seq: u32) -> Payload {
    Payload::Notify(Notification {
        doi: doi::IPSEC,
        protocol: protocol::ISAKMP,
        spi: [sa.icookie, sa.rcookie].concat(),
        kind,
        data: seq_data(seq).to_vec(),
    })
}

/// Authenticated inbound traffic of the SA (an IKE message, or ESP on its IPsec SAs).
pub fn on_inbound(sa: &mut IsakmpSa, at: Duration) {
    sa.dpd.on_inbound(at);
}

/// Whether the engine must restart this SA's conn: it just closed as dead.
pub fn died(sa: &IsakmpSa) -> bool {
    sa.is_closed() && sa.dpd.is_dead()
}
