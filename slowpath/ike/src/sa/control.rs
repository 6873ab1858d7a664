//! What the caller asks of an IKE SA: new, rekeyed and deleted CHILD SAs, IKE SA rekey and
//! delete, and the fast path's observations (traffic seen, lifetimes reached).

use std::time::Duration;

use crate::action::{ChildId, DownReason};
use crate::sa::child_sa::ChildState;
use crate::sa::ctx::Ctx;
use crate::sa::exchange::Task;
use crate::sa::ike_sa::{IkeSa, IkeState};

impl IkeSa {
    /// A new initiator for connection `config`; `child` picks the CHILD SA of IKE_AUTH
    /// (default: the connection's `start` children).
    pub fn new_initiator(
        id: u64,
        ctx: &mut Ctx,
        config: &str,
        child: Option<&str>,
    ) -> Option<IkeSa> {
        let cfg = ctx.config(config)?;
        let mut sa = IkeSa::blank(id, config, cfg.local_addr, cfg.remote_addr, ctx.now);
        sa.first_child = child.map(str::to_string);
        sa.start_initiator(ctx);
        Some(sa)
    }

    /// Another CHILD SA of config `name` on this IKE SA.
    pub fn create_child(&mut self, ctx: &mut Ctx, name: &str) {
        self.tasks.push_back(Task::CreateChild {
            config: name.to_string(),
        });
        self.kick(ctx);
    }

    /// Rekeys a CHILD SA now (e.g. the fast path's soft lifetime).
    pub fn rekey_child(&mut self, ctx: &mut Ctx, id: ChildId) -> bool {
        let ok = self
            .child(id)
            .is_some_and(|c| c.state == ChildState::Installed);
        if ok && !self.tasks.contains(&Task::RekeyChild(id)) {
            self.tasks.push_back(Task::RekeyChild(id));
            self.kick(ctx);
        }
        ok
    }

    /// The fast path's hard lifetime: remove now, tell the peer.
    pub fn expire_child(&mut self, ctx: &mut Ctx, id: ChildId) {
        self.expire(id);
        self.kick(ctx);
    }

    pub fn delete_child(&mut self, ctx: &mut Ctx, id: ChildId) -> bool {
        let ok = self.child(id).is_some();
        if ok && !self.tasks.contains(&Task::DeleteChild(id)) {
            self.tasks.push_back(Task::DeleteChild(id));
            self.kick(ctx);
        }
        ok
    }

    pub fn rekey_ike(&mut self, ctx: &mut Ctx) {
        if self.state == IkeState::Established && !self.tasks.contains(&Task::RekeyIke) {
            self.tasks.push_back(Task::RekeyIke);
            self.kick(ctx);
        }
    }

    /// Deletes the IKE SA (and so its CHILD SAs), after what is in flight.
    pub fn delete(&mut self, ctx: &mut Ctx) {
        match self.state {
            IkeState::Established => {
                if !self.tasks.contains(&Task::DeleteIke) {
                    self.tasks.push_back(Task::DeleteIke);
                }
                self.kick(ctx);
            }
            IkeState::Deleting | IkeState::Closed => {}
            _ => self.close(ctx, DownReason::Deleted),
        }
    }

    /// ESP arrived on one of our CHILD SAs at `at`: the peer is alive, no DPD needed.
    pub fn traffic_received(&mut self, at: Duration) {
        self.last_heard = self.last_heard.max(at);
    }

    /// Traffic needs this connection (DPD action hold, or start action trap).
    pub fn on_traffic_needs_sa(&mut self, ctx: &mut Ctx) {
        if self.state == IkeState::Held {
            self.start_initiator(ctx);
        }
    }
}
