//! What the IKEv1 engine does before a datagram reaches an SA: responder cookies made and
//! checked (`cookie`), and the cap on half-open SAs (`half_open`) with IKEv2's `ike-limits`
//! knobs: `init-limit-half-open` is the cap, `half-open-timeout` how long a responder's
//! phase 1 may take.

use std::net::SocketAddr;
use std::time::Duration;

use super::V1Engine;
use crate::action::{DownReason, DropReason, IkeSaId};
use crate::responder::HalfOpenLimits;
use crate::rng::RngSource;
use crate::v1::cookie::CookieSecrets;
use crate::v1::half_open::HalfOpen;
use crate::v1::isakmp_sa::IsakmpSa;
use crate::v1::wire::Header;

#[derive(Debug, Default)]
pub(super) struct Admission {
    pub limits: HalfOpenLimits,
    /// Made at the first responder SA (the engine is built without randomness).
    pub secrets: Option<CookieSecrets>,
    pub half_open: HalfOpen,
}

impl V1Engine {
    /// The cap and timeout of half-open SAs (the slow path's `ike-limits`).
    pub fn set_limits(&mut self, limits: HalfOpenLimits) {
        self.admission.limits = limits;
    }

    /// Half-open responder SAs now.
    pub fn half_open(&self) -> usize {
        self.admission.half_open.len()
    }

    /// A message with a responder cookie for no SA we hold: ours, of an SA that is gone
    /// (expired, evicted, deleted), or one we never made. Two HMACs at most, no state.
    pub(super) fn drop_unknown(&mut self, local: SocketAddr, remote: SocketAddr, h: &Header) {
        let ours = self
            .admission
            .secrets
            .as_ref()
            .is_some_and(|s| s.verifies(local, remote, h.icookie, h.rcookie));
        self.drop_datagram(if ours {
            DropReason::CookieNoSa
        } else {
            DropReason::CookieForged
        });
    }

    /// Whether a new responder SA may be made: below the cap, or one to evict for it.
    pub(super) fn room_for_responder(&self) -> bool {
        let a = &self.admission;
        a.half_open.len() < a.limits.init_limit_half_open
            || a.half_open.oldest_not_echoed().is_some()
    }

    /// The secrets as of `now` (made, or rotated when due).
    pub(super) fn fresh_secrets(&mut self, rng: &mut dyn RngSource, now: Duration) {
        let lifetime = self.admission.limits.secret_lifetime;
        match self.admission.secrets.as_mut() {
            Some(s) => s.rotate(rng, now),
            None => self.admission.secrets = Some(CookieSecrets::new(rng, now, lifetime)),
        }
    }

    /// A responder SA just made: given the half-open timeout.
    pub(super) fn admit(sa: &mut IsakmpSa, limits: &HalfOpenLimits, now: Duration) {
        sa.setup_deadline = now + limits.half_open_timeout;
    }

    /// Past the cap: the oldest SAs that have not echoed their cookie go, silently.
    pub(super) fn evict_over_cap(&mut self, now: Duration, rng: &mut dyn RngSource) {
        while self.admission.half_open.len() > self.admission.limits.init_limit_half_open {
            let Some(id) = self.admission.half_open.oldest_not_echoed() else {
                return;
            };
            self.admission.half_open.forget(id);
            self.counters.half_open.evicted += 1;
            self.with_sa(id, now, rng, |sa, _| sa.close(DownReason::Timeout, now));
        }
    }

    /// SA `id` leaves or changes: its place among the half-open.
    pub(super) fn note_half_open(&mut self, sa: &IsakmpSa) {
        self.admission.half_open.note(sa);
    }

    /// SA `id` timed out while half-open (`handle_timeout`): counted as IKEv2's are.
    pub(super) fn count_expired(&mut self, was_half_open: bool, id: IkeSaId) {
        if was_half_open && !self.sas.contains_key(&id) {
            self.counters.half_open.expired += 1;
        }
    }

    pub(super) fn is_half_open(&self, id: IkeSaId) -> bool {
        self.admission.half_open.contains(id)
    }
}
