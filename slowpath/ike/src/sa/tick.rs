//! Time: retransmissions, half-open and retiring SAs, rekey and lifetime deadlines, DPD; and
//! the queue of requests waiting for the window.

use std::sync::Arc;
use std::time::Duration;

use crate::action::{ChildId, DownReason, Event};
use crate::config::IkeConfig;
use crate::retransmit::Expiry;
use crate::sa::child_sa::ChildState;
use crate::sa::ctx::Ctx;
use crate::sa::exchange::Task;
use crate::sa::ike_sa::{IkeSa, IkeState, KEEPALIVE_INTERVAL};
use crate::timers::{due, earliest};

impl IkeSa {
    /// The earliest deadline, for the caller's timer.
    pub fn next_deadline(&self, configs: &[Arc<IkeConfig>]) -> Option<Duration> {
        let mut d = None;
        if self.state == IkeState::SaInitSent {
            d = earliest(
                d,
                self.init
                    .as_ref()
                    .and_then(|i| i.retransmit.as_ref())
                    .map(|r| r.deadline),
            );
        }
        d = earliest(d, self.half_open_expire);
        // Our request in flight waits while a message ID sync runs (it may be resent or redone).
        if self.mid_sync.request.is_none() {
            d = earliest(
                d,
                self.core
                    .as_ref()
                    .and_then(|c| c.outstanding.as_ref())
                    .map(|o| o.retransmit.deadline),
            );
        }
        d = earliest(d, self.mid_sync_deadline());
        for r in &self.retiring {
            d = earliest(d, Some(r.expire));
            d = earliest(
                d,
                r.core.outstanding.as_ref().map(|o| o.retransmit.deadline),
            );
        }
        for r in &self.reassembly {
            d = earliest(d, Some(r.expire));
        }
        if self.state == IkeState::Established {
            d = earliest(d, self.rekey_at);
            d = earliest(d, self.keepalive_at);
            for c in &self.children {
                if c.state == ChildState::Installed {
                    d = earliest(d, c.rekey_at);
                }
                d = earliest(d, c.expire_at);
            }
            d = earliest(d, self.dpd_deadline(configs));
        }
        d
    }

    fn dpd_deadline(&self, configs: &[Arc<IkeConfig>]) -> Option<Duration> {
        let cfg = configs.iter().find(|c| c.name == self.config)?;
        let idle =
            self.core.as_ref().is_some_and(|c| c.outstanding.is_none()) && self.tasks.is_empty();
        (idle && !cfg.dpd.interval.is_zero()).then(|| self.last_heard + cfg.dpd.interval)
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx) {
        let now = ctx.now;
        let Some(cfg) = ctx.config(&self.config) else {
            return self.close(ctx, DownReason::LocalError);
        };
        if self.state == IkeState::SaInitSent {
            let mut resend = None;
            let mut give_up = false;
            if let Some(r) = self.init.as_mut().and_then(|i| i.retransmit.as_mut()) {
                match r.on_timer(now, &cfg.retransmit) {
                    Expiry::Resend => resend = Some((r.datagrams.clone(), r.sent)),
                    Expiry::GiveUp => give_up = true,
                    Expiry::NotYet => {}
                }
            }
            if give_up {
                return self.peer_dead(ctx);
            }
            if let Some((d, sent)) = resend {
                self.retransmitted(0, sent, &d);
            }
        }
        if due(self.half_open_expire, now) {
            return self.close(ctx, DownReason::Timeout);
        }
        let mut resend = None;
        let mut give_up = false;
        let syncing = self.mid_sync.request.is_some();
        if let Some(o) = self
            .core
            .as_mut()
            .and_then(|c| c.outstanding.as_mut())
            .filter(|_| !syncing)
        {
            match o.retransmit.on_timer(now, &cfg.retransmit) {
                Expiry::Resend => {
                    resend = Some((
                        o.message_id,
                        o.retransmit.sent,
                        o.retransmit.datagrams.clone(),
                    ))
                }
                Expiry::GiveUp => give_up = true,
                Expiry::NotYet => {}
            }
        }
        if give_up {
            return if self.state == IkeState::Deleting {
                self.close(ctx, DownReason::Deleted)
            } else {
                self.peer_dead(ctx)
            };
        }
        if let Some((id, sent, d)) = resend {
            self.retransmitted(id, sent, &d);
        }
        self.tick_message_id_sync(ctx, &cfg);
        if self.is_closed() {
            return;
        }
        self.tick_retiring(ctx, &cfg);
        self.reassembly.retain(|r| r.expire > now);
        if self.state == IkeState::Established {
            self.tick_established(ctx, &cfg);
        }
        self.kick(ctx);
    }

    pub(crate) fn retransmitted(&mut self, message_id: u32, sent: u32, datagrams: &[Vec<u8>]) {
        self.counters.retransmits += 1;
        self.event(Event::Retransmitted { message_id, sent });
        self.send(datagrams);
    }

    fn tick_retiring(&mut self, ctx: &mut Ctx, cfg: &IkeConfig) {
        let now = ctx.now;
        let mut resend = Vec::new();
        self.retiring.retain_mut(|r| {
            if r.expire <= now {
                return false;
            }
            match r
                .core
                .outstanding
                .as_mut()
                .map(|o| (o.message_id, o.retransmit.on_timer(now, &cfg.retransmit)))
            {
                Some((_, Expiry::GiveUp)) => false,
                Some((id, Expiry::Resend)) => {
                    if let Some(o) = &r.core.outstanding {
                        resend.push((id, o.retransmit.sent, o.retransmit.datagrams.clone()));
                    }
                    true
                }
                _ => true,
            }
        });
        for (id, sent, d) in resend {
            self.retransmitted(id, sent, &d);
        }
    }

    fn tick_established(&mut self, ctx: &mut Ctx, cfg: &IkeConfig) {
        let now = ctx.now;
        if due(self.keepalive_at, now) {
            // One 0xFF octet, without the non-ESP marker (RFC 3948 2.3).
            self.actions.push_back(crate::action::Action::Send {
                from: self.local,
                to: self.remote,
                bytes: vec![0xff],
            });
            self.keepalive_at = Some(now + KEEPALIVE_INTERVAL);
        }
        if due(self.rekey_at, now) {
            self.rekey_at = None;
            if !self.tasks.contains(&Task::RekeyIke) {
                self.tasks.push_back(Task::RekeyIke);
            }
        }
        let mut rekey: Vec<ChildId> = Vec::new();
        let mut expired: Vec<ChildId> = Vec::new();
        for c in &mut self.children {
            if c.state == ChildState::Installed && due(c.rekey_at, now) {
                c.rekey_at = None;
                rekey.push(c.id);
            }
            if due(c.expire_at, now) {
                c.expire_at = None;
                expired.push(c.id);
            }
        }
        for id in rekey {
            if !self.tasks.contains(&Task::RekeyChild(id)) {
                self.tasks.push_back(Task::RekeyChild(id));
            }
        }
        for id in expired {
            self.expire(id);
        }
        let idle =
            self.core.as_ref().is_some_and(|c| c.outstanding.is_none()) && self.tasks.is_empty();
        if idle && !cfg.dpd.interval.is_zero() && now >= self.last_heard + cfg.dpd.interval {
            self.tasks.push_back(Task::Dpd);
        }
    }

    /// Hard lifetime: out of the fast path now, and a delete to the peer.
    pub(crate) fn expire(&mut self, id: ChildId) {
        let sa = self.id;
        if let Some(c) = self.child_mut(id) {
            if c.installed {
                c.installed = false;
                let child = c.child_ref(sa);
                self.actions.push_back(crate::action::Action::ChildSaDown {
                    child,
                    reason: DownReason::Expired,
                });
            }
            self.tasks.retain(|t| *t != Task::RekeyChild(id));
            self.tasks.push_front(Task::DeleteChild(id));
        }
    }

    /// Starts queued requests while the window is free.
    pub(crate) fn kick(&mut self, ctx: &mut Ctx) {
        while self.state == IkeState::Established
            && self.mid_sync.request.is_none()
            && self.core.as_ref().is_some_and(|c| c.outstanding.is_none())
        {
            let Some(task) = self.tasks.pop_front() else {
                return;
            };
            match task {
                Task::CreateChild { config } => {
                    self.send_create_child(ctx, &config, None);
                }
                Task::RekeyChild(id) => {
                    let name = self
                        .child(id)
                        .filter(|c| c.state == ChildState::Installed)
                        .map(|c| c.config.clone());
                    if let Some(name) = name {
                        self.send_create_child(ctx, &name, Some(id));
                    }
                }
                Task::DeleteChild(id) => {
                    self.send_delete_children(ctx, vec![id]);
                }
                Task::RekeyIke => {
                    self.send_rekey_ike(ctx);
                }
                Task::DeleteIke => {
                    self.send_delete_ike(ctx);
                }
                Task::Dpd => {
                    self.send_dpd(ctx);
                }
            }
        }
    }
}
