//! The IKEv1 engine's timers, found through its deadline index (a gateway holds 100,000
//! ISAKMP SAs, nearly all idle): retransmissions, lifetimes, Quick Mode rekeys, DPD probes
//! (and `dpd-action restart` of a dead peer's conn), reauthentication by a new Main Mode, and
//! the step that merges a reauthenticating SA with the one it replaces once it is up.

use std::time::Duration;

use super::{IsakmpSa, V1Ctx, V1Engine};
use crate::action::{Action, Event, IkeSaId};
use crate::rng::RngSource;
use crate::v1::{dpd_probe, informational, main_mode, quick_mode, reauth};

impl V1Engine {
    /// What an exchange may reach of the engine besides its SA.
    pub(super) fn ctx<'a>(&'a mut self, now: Duration, rng: &'a mut dyn RngSource) -> V1Ctx<'a> {
        V1Ctx::new(now, rng, &mut self.esp_spis, self.unix_epoch_offset)
    }

    /// When `handle_timeout` is next needed (never on an HA standby: its SAs wait for the
    /// takeover).
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.ha.is_passive() {
            return None;
        }
        #[cfg(any(test, debug_assertions))]
        self.indexes.check(self.sas.values());
        self.indexes.first()
    }

    /// Runs every timer that is due.
    pub fn handle_timeout(&mut self, now: Duration, rng: &mut dyn RngSource) {
        if self.ha.is_passive() {
            return;
        }
        #[cfg(any(test, debug_assertions))]
        self.indexes.check(self.sas.values());
        for id in self.indexes.due(now) {
            let mut restart = None;
            let was_half_open = self.is_half_open(id);
            self.with_sa(id, now, rng, |sa, ctx| {
                sa.on_timer(now);
                if sa.is_established() {
                    quick_mode::on_timer(sa, ctx);
                    if dpd_probe::on_timer(sa, ctx) && dpd_probe::restarts(sa) {
                        restart = Some(sa.config.name.clone());
                    }
                }
            });
            self.count_expired(was_half_open, id);
            if let Some(conn) = restart {
                self.initiate(now, rng, &conn);
            }
            self.start_reauth(now, rng, id);
        }
    }

    /// ESP arrived at `at` on an IPsec SA of ISAKMP SA `id`: the peer is alive.
    pub fn traffic_received(&mut self, id: IkeSaId, at: Duration) {
        if let Some(sa) = self.sas.get_mut(&id) {
            dpd_probe::on_inbound(sa, at);
            self.indexes.keep(sa);
        }
    }

    /// Starts the new Main Mode that reauthenticates SA `id`, if that is due.
    fn start_reauth(&mut self, now: Duration, rng: &mut dyn RngSource, id: IkeSaId) {
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        if !sa.reauth.due(sa.is_established(), now) {
            return;
        }
        sa.reauth.at = None;
        let config = sa.config.clone();
        self.indexes.keep(sa);
        let new_id = self.next_id;
        if let Some(mut new) = main_mode::initiate(&mut self.ctx(now, rng), new_id, config, now) {
            new.reauth.of = Some(id);
            self.next_id += 1;
            self.keep(new);
        }
    }

    /// The SA an ISAKMP SA that just came up reauthenticates: the one our new Main Mode
    /// replaces, or (the peer's new Main Mode, INITIAL-CONTACT or not, keeps the IPsec SAs)
    /// our established SA with the peer of the same conn and identity.
    fn predecessor(&self, sa: &IsakmpSa, of: Option<IkeSaId>) -> Option<IkeSaId> {
        let candidate = |id: IkeSaId| {
            self.sas.get(&id).is_some_and(|old| {
                old.is_established()
                    && !old.reauth.retired
                    && old.config.name == sa.config.name
                    && old.peer_id == sa.peer_id
            })
        };
        match of {
            Some(of) => candidate(of).then_some(of),
            // Only the peer's new Main Mode: a second SA we initiate is a tunnel of its own.
            None if sa.initiator => None,
            None => self
                .indexes
                .with_peer(sa.remote.ip())
                .find(|id| *id != sa.id && candidate(*id)),
        }
    }

    /// An SA that just came up and replaces another takes its place (`reauth::merge`): the
    /// caller hears of a rekeyed IKE SA, not of a new one; the old phase 1 is deleted (ours)
    /// or waits for the peer's delete. Returns the SA to keep.
    pub(super) fn adopt(
        &mut self,
        mut sa: IsakmpSa,
        now: Duration,
        rng: &mut dyn RngSource,
    ) -> IsakmpSa {
        if !std::mem::take(&mut sa.reauth.fresh) {
            return sa;
        }
        let of = sa.reauth.of.take();
        let ours = of.is_some();
        let Some(mut old) = self
            .predecessor(&sa, of)
            .and_then(|id| self.sas.remove(&id))
        else {
            if ours {
                // The SA it was to replace is gone: a tunnel of its own, with its children.
                quick_mode::start_children(&mut sa, &mut self.ctx(now, rng));
            }
            return sa;
        };
        let old_id = old.id;
        self.indexes.forget(old_id);
        self.indexes.forget(sa.id);
        self.unlink_cookie(old_id, old.icookie);
        self.unlink_cookie(sa.id, sa.icookie);
        self.actions.extend(old.take_actions());
        let new_id = sa.id;
        self.actions.extend(
            sa.take_actions()
                .into_iter()
                .filter(|a| !matches!(a, Action::IkeSaUp(i) if i.sa == new_id)),
        );
        let (mut merged, mut retired) = reauth::merge(old, sa, now);
        merged.event(Event::IkeSaRekeyed {
            old: retired.cookies(),
            new: merged.cookies(),
        });
        if ours {
            informational::delete_sa(&mut retired, &mut self.ctx(now, rng));
        }
        self.keep(retired);
        merged
    }
}
