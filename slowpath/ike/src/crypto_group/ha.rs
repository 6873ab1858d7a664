//! A group in an HA pair: the active node says which member carries the traffic, and the
//! standby's group takes it as its own (no move of its own, no output), so that its
//! fast path holds the same member's policies aside and a takeover carries on from there.
//! After a takeover the new active node tells its group which tunnels are up.

use std::time::Duration;

use super::{Group, Member, Revert, Tunnel};

/// What the active node's group says of itself to the standby.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncedState {
    pub active: Member,
    /// The traffic moved to the secondary because the primary failed (`auto` reverts it).
    pub revertible: bool,
    pub switchovers: u64,
    pub reverts: u64,
}

impl Group {
    pub fn synced_state(&self) -> SyncedState {
        SyncedState {
            active: self.active,
            revertible: self.revertible,
            switchovers: self.counters.switchovers,
            reverts: self.counters.reverts,
        }
    }

    /// The standby takes the active node's state; the member that was active before, if
    /// that changed (the caller moves the policies).
    pub fn adopt(&mut self, s: SyncedState) -> Option<Member> {
        let before = self.active;
        self.active = s.active;
        self.revertible = s.revertible && s.active == Member::Secondary;
        self.counters.switchovers = s.switchovers;
        self.counters.reverts = s.reverts;
        self.pending = None;
        self.revert_at = None;
        (before != s.active).then_some(before)
    }

    /// After a takeover: which members' tunnels the synced state brought up. The active
    /// member's tunnel being down is a failure as any other (the traffic moves if it can);
    /// a revertible group whose primary is up starts its hold.
    pub fn taken_over(&mut self, now: Duration, up: [bool; 2]) {
        for m in [Member::Primary, Member::Secondary] {
            let s = &mut self.members[m.index()];
            if up[m.index()] {
                s.tunnel = Tunnel::Up;
                s.since = now;
                s.retry_at = None;
            }
        }
        let active = self.active;
        if !up[active.index()] {
            self.failed(active, super::Reason::TunnelDown, now);
        }
        if self.revertible && self.active == Member::Secondary && up[Member::Primary.index()] {
            if let Revert::After(hold) = self.config.revert {
                self.revert_at = Some(now + hold);
            }
        }
    }
}
