//! What a sync group needs of its members (see `crate::group`): readiness to become master,
//! Fault spreading, moves made by the group, and the leader's tie-break.

use super::{Instance, Reason, State};
use std::time::Duration;

/// A sync group's hold on a member (see `group`).
#[derive(Debug, Clone, Default)]
pub(super) struct GroupLink {
    /// The member is in a group: master-down and owner restoration make it ready instead of
    /// master, and the group promotes all ready members together.
    pub(super) grouped: bool,
    /// Not the group's leader: an equal-priority contest with another master is left to the
    /// leader (the whole group then moves with it) for one Master_Down_Interval.
    pub(super) defer_equal: bool,
    /// Another member is in Fault.
    pub(super) fault: bool,
    /// Ready to become master, and why.
    pub(super) ready: Option<Reason>,
    /// Since when an equal-priority contest has been deferred.
    pub(super) defer_since: Option<Duration>,
}

impl Instance {
    pub(crate) fn join_group(&mut self, defer_equal: bool) {
        self.group.grouped = true;
        self.group.defer_equal = defer_equal;
    }

    /// Ready to become master (its timer ran out, or it owns the addresses), and why.
    pub(crate) fn ready(&self) -> Option<&Reason> {
        self.group
            .ready
            .as_ref()
            .filter(|_| self.state == State::Backup)
    }

    /// In Fault because of its own tracked objects (not because of its group).
    pub(crate) fn own_fault(&self) -> bool {
        self.state != State::Initialize && self.tracks.fault(&self.cfg.tracks).is_some()
    }

    pub(crate) fn set_group_fault(&mut self, now: Duration, on: bool) {
        let was = self.faulty();
        self.group.fault = on;
        if self.state == State::Initialize || was == self.faulty() {
            return;
        }
        if on {
            self.enter_fault(now, Reason::Group);
        } else {
            self.leave_idle(now, Reason::Group);
        }
    }

    pub(crate) fn promote(&mut self, now: Duration, reason: Reason) {
        if self.state == State::Backup && !self.held(now) {
            self.become_master(now, reason);
        }
    }

    pub(crate) fn group_step_down(&mut self, now: Duration) {
        if self.state == State::Master {
            self.step_down(now, Reason::Group);
        }
    }

    pub(crate) fn is_held(&self, now: Duration) -> bool {
        self.held(now)
    }
}
