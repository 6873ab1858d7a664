//! The engine in an HA pair: a standby is passive (it keeps what is imported into it and
//! does nothing with it); a takeover resumes every SA where the old active node left it.

use std::time::Duration;

use super::Engine;
use crate::ha::{takeover_slot, HaRole, HaSettings};
use crate::rng::RngSource;

impl Engine {
    pub fn role(&self) -> HaRole {
        self.role
    }

    pub fn ha_settings(&self) -> HaSettings {
        self.ha
    }

    pub fn set_ha_settings(&mut self, ha: HaSettings) {
        self.ha = ha;
    }

    pub(super) fn passive(&self) -> bool {
        self.role == HaRole::Standby
    }

    /// Becomes active or standby. Standby to active is a takeover: every SA resumes (see
    /// `IkeSa::take_over`), those due spread over `takeover_spread`, and where the peer
    /// supports it and `sync_at_takeover` is set, an RFC 6311 exchange first. Demotion keeps
    /// every SA as it is; its timers stop.
    pub fn set_role(&mut self, role: HaRole, now: Duration, rng: &mut dyn RngSource) {
        let takeover = self.role == HaRole::Standby && role == HaRole::Active;
        self.role = role;
        if self.passive() {
            self.stop_timers();
        }
        if !takeover {
            return;
        }
        let ids = self.sa_ids();
        let sync = self.ha.message_id_sync && self.ha.sync_at_takeover;
        for (i, id) in ids.iter().enumerate() {
            let at = takeover_slot(now, self.ha.takeover_spread, i, ids.len());
            let mut expired = false;
            self.with_sa(*id, now, rng, |sa, ctx| {
                sa.take_over(ctx, at, sync);
                expired = sa.is_closed();
            });
            self.counters.half_open.expired += u64::from(expired);
        }
    }

    /// Runs the RFC 6311 exchange now on every SA whose peer supports it (when the caller
    /// knows the message IDs may be stale). How many started.
    pub fn sync_message_ids(&mut self, now: Duration, rng: &mut dyn RngSource) -> usize {
        let mut n = 0;
        for id in self.sa_ids() {
            self.with_sa(id, now, rng, |sa, ctx| {
                n += usize::from(sa.start_message_id_sync(ctx, now));
            });
        }
        n
    }
}
