//! HA takeover of one IKE SA: the state came from the old active node, deadlines on the same
//! clock. What fell due while this node was standby fires at the SA's slot instead of at
//! once; the request in flight goes again with its message ID (the peer answers it, or
//! replays its cached answer); an IKE_SA_INIT we can no longer retransmit is dropped, not left
//! half-open.

use std::time::Duration;

use crate::action::DownReason;
use crate::retransmit::Retransmit;
use crate::sa::ctx::Ctx;
use crate::sa::ike_sa::{IkeSa, IkeState};

/// A deadline that passed while standby moves to `at`.
fn resume(deadline: &mut Option<Duration>, now: Duration, at: Duration) {
    if deadline.is_some_and(|d| d <= now) {
        *deadline = Some(at);
    }
}

/// A request in flight goes again by `at`, with at least one try left: the old node may
/// have spent them on a peer that answered it instead.
fn resend_by(r: &mut Retransmit, at: Duration, tries: u32) {
    r.deadline = r.deadline.min(at);
    r.sent = r.sent.min(tries);
}

impl IkeSa {
    /// This node now speaks for the SA; `at` is its slot. With `sync`, an RFC 6311 exchange
    /// runs first where the peer supports it. Closes what cannot be carried on.
    pub(crate) fn take_over(&mut self, ctx: &mut Ctx, at: Duration, sync: bool) {
        let now = ctx.now;
        let Some(cfg) = ctx.config(&self.config) else {
            return self.close(ctx, DownReason::LocalError);
        };
        let tries = cfg.retransmit.tries;
        if self.state == IkeState::SaInitSent {
            let resumable = self
                .init
                .as_ref()
                .is_some_and(|i| i.dh.is_some() && i.retransmit.is_some());
            if !resumable {
                return self.close(ctx, DownReason::Timeout);
            }
        }
        if let Some(r) = self.init.as_mut().and_then(|i| i.retransmit.as_mut()) {
            resend_by(r, at, tries);
        }
        if let Some(o) = self.core.as_mut().and_then(|c| c.outstanding.as_mut()) {
            resend_by(&mut o.retransmit, at, tries);
        }
        for r in &mut self.retiring {
            if let Some(o) = r.core.outstanding.as_mut() {
                resend_by(&mut o.retransmit, at, tries);
            }
        }
        resume(&mut self.rekey_at, now, at);
        resume(&mut self.keepalive_at, now, at);
        for c in &mut self.children {
            resume(&mut c.rekey_at, now, at);
            resume(&mut c.expire_at, now, at);
        }
        // Nothing was heard while standby: a DPD that fell due goes at the slot.
        let dpd = cfg.dpd.interval;
        if !dpd.is_zero() && self.last_heard.saturating_add(dpd) <= now {
            self.last_heard = at.saturating_sub(dpd);
        }
        // A sync the old node had in flight is its own: ours starts afresh, or not at all.
        self.mid_sync.request = None;
        if sync {
            self.start_message_id_sync(ctx, at);
        }
    }
}
