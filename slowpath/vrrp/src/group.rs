//! Sync groups (keepalived's vrrp_sync_group): instances that always move together, such as the
//! uplink's and the downlink's, so that one node is master of all of them or of none.
//!
//! - A member entering Fault puts every other member in Fault too (a master sends priority 0).
//! - A member leaving Master for Backup makes the other masters step down (priority 0).
//! - A member becomes master only when every member is ready to (its Master_Down_Timer ran out,
//!   or it owns its addresses): then all move at once. As keepalived, prefer Backup to
//!   thrashing: a member that lost its master while the others still hear theirs waits.
//! - Equal-priority contests between two masters are decided on the leader (the member with the
//!   lowest VRID): without that, two nodes whose address order differs between members would
//!   each win one member, both step down, both take over again, forever.

use crate::instance::{Action, Instance, Reason, State};
use crate::wire::{ParseError, ReceivedAdvert};
use std::collections::VecDeque;
use std::time::Duration;

/// A group's overall state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupState {
    /// Every member is master.
    Master,
    /// Every member is backup (or not started).
    Backup,
    /// A member is in Fault (and so all are).
    Fault,
    /// Mixed, while the group moves.
    Transition,
}

#[derive(Debug)]
pub struct Group {
    name: String,
    members: Vec<Instance>,
    actions: VecDeque<(usize, Action)>,
    unmatched: u64,
}

impl Group {
    /// Takes the instances (not started). The leader is the one with the lowest (VRID, family).
    pub fn new(name: String, mut instances: Vec<Instance>) -> Self {
        let leader = (0..instances.len()).min_by_key(|&i| {
            let c = instances[i].config();
            (c.vrid, instances[i].primary_address().is_ipv6())
        });
        for (i, m) in instances.iter_mut().enumerate() {
            m.join_group(Some(i) != leader);
        }
        Group {
            name,
            members: instances,
            actions: VecDeque::new(),
            unmatched: 0,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn startup(&mut self, now: Duration) {
        self.members.iter_mut().for_each(|m| m.startup(now));
        self.reconcile(now);
    }

    pub fn shutdown(&mut self, now: Duration) {
        self.members.iter_mut().for_each(|m| m.shutdown(now));
        self.reconcile(now);
    }

    /// Hands the advert to the member of its VRID and family; counts it as unmatched otherwise.
    pub fn receive(&mut self, now: Duration, rx: &ReceivedAdvert) {
        match self
            .members
            .iter_mut()
            .find(|m| m.matches(&rx.advert, rx.src_ip))
        {
            Some(m) => m.receive(now, rx),
            None => self.unmatched += 1,
        }
        self.reconcile(now);
    }

    /// Hands the advert to member `index`: the I/O layer's choice when members of one group
    /// share a VRID on different interfaces (the uplink's and the downlink's VRID 51), which
    /// `receive` cannot tell apart. The member still checks VRID and family itself.
    pub fn receive_member(&mut self, index: usize, now: Duration, rx: &ReceivedAdvert) {
        match self.members.get_mut(index) {
            Some(m) => m.receive(now, rx),
            None => self.unmatched += 1,
        }
        self.reconcile(now);
    }

    pub fn poll(&mut self, now: Duration) {
        self.members.iter_mut().for_each(|m| m.poll(now));
        self.reconcile(now);
    }

    pub fn next_deadline(&self) -> Option<Duration> {
        self.members
            .iter()
            .filter_map(Instance::next_deadline)
            .min()
    }

    /// The next output, with the index of the member it is for, oldest first.
    pub fn poll_action(&mut self) -> Option<(usize, Action)> {
        self.actions.pop_front()
    }

    /// Applies to every member that tracks `track`.
    pub fn track_update(&mut self, now: Duration, track: &str, up: bool) {
        self.members
            .iter_mut()
            .for_each(|m| m.track_update(now, track, up));
        self.reconcile(now);
    }

    pub fn force_backup(&mut self, now: Duration, hold: Duration) {
        self.members
            .iter_mut()
            .for_each(|m| m.force_backup(now, hold));
        self.reconcile(now);
    }

    /// Counts a refused frame on member `index` (ignored if out of range).
    pub fn count_parse_error(&mut self, index: usize, e: ParseError) {
        if let Some(m) = self.members.get_mut(index) {
            m.count_parse_error(e);
        }
    }

    pub fn state(&self) -> GroupState {
        let all = |s: State| self.members.iter().all(|m| m.state() == s);
        if self.members.iter().any(|m| m.state() == State::Fault) {
            GroupState::Fault
        } else if !self.members.is_empty() && all(State::Master) {
            GroupState::Master
        } else if self
            .members
            .iter()
            .all(|m| matches!(m.state(), State::Backup | State::Initialize))
        {
            GroupState::Backup
        } else {
            GroupState::Transition
        }
    }

    pub fn instances(&self) -> &[Instance] {
        &self.members
    }

    /// Adverts that matched no member.
    pub fn unmatched_adverts(&self) -> u64 {
        self.unmatched
    }

    /// Applies the group rules after members moved, until no member moves any more (each
    /// pass moves members towards Fault, Backup or Master together: a few passes suffice).
    fn reconcile(&mut self, now: Duration) {
        for _ in 0..8 {
            let left_master = self.drain();
            let before: Vec<State> = self.members.iter().map(Instance::state).collect();

            let own: Vec<bool> = self.members.iter().map(Instance::own_fault).collect();
            for (i, m) in self.members.iter_mut().enumerate() {
                let others_faulty = own.iter().enumerate().any(|(j, f)| j != i && *f);
                m.set_group_fault(now, others_faulty);
            }
            if left_master {
                self.members.iter_mut().for_each(|m| m.group_step_down(now));
            } else {
                self.promote(now);
            }

            if self.members.iter().map(Instance::state).eq(before) {
                break;
            }
        }
        self.drain();
    }

    /// Promotes ready members when the whole group can be master.
    fn promote(&mut self, now: Duration) {
        let any_master = self.members.iter().any(|m| m.state() == State::Master);
        let all_willing = self
            .members
            .iter()
            .all(|m| m.state() == State::Master || (m.ready().is_some() && !m.is_held(now)));
        let any_ready = self.members.iter().any(|m| m.ready().is_some());
        if all_willing && any_ready {
            // The first ready member gives its reason; the others follow it.
            let mut reason = None;
            for m in self
                .members
                .iter_mut()
                .filter(|m| m.state() == State::Backup)
            {
                let r = match reason {
                    None => m.ready().cloned().unwrap_or(Reason::Group),
                    Some(_) => Reason::Group,
                };
                reason = Some(r.clone());
                m.promote(now, r);
            }
        } else if any_master {
            // A member is master while others are backup (not held): they join it at once.
            for m in self
                .members
                .iter_mut()
                .filter(|m| m.state() == State::Backup)
            {
                m.promote(now, Reason::Group);
            }
        }
    }

    /// Moves the members' outputs to the group queue; true when a member left Master for
    /// Backup on its own (not moved by the group).
    fn drain(&mut self) -> bool {
        let mut left_master = false;
        for (i, m) in self.members.iter_mut().enumerate() {
            while let Some(a) = m.poll_action() {
                if let Action::StateChanged {
                    from: State::Master,
                    to: State::Backup,
                    reason,
                } = &a
                {
                    left_master |= *reason != Reason::Group;
                }
                self.actions.push_back((i, a));
            }
        }
        left_master
    }
}
