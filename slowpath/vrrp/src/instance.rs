//! One virtual router: the RFC 5798 §6.4 state machine, with tracking, preempt delay, operator
//! switchover and split-brain reporting. No I/O: the caller passes the time, feeds parsed adverts,
//! fires timers with `poll` at `next_deadline`, and drains `poll_action`.

mod action;
mod config;
mod counters;
mod group_link;
mod receive;
mod status;
pub(crate) mod timers;

pub use action::{Action, Reason, State, Transition};
pub use config::{InstanceConfig, InvalidInstance};
pub use counters::Counters;
pub use status::InstanceStatus;

use crate::track::TrackSet;
use crate::wire::{virtual_mac, Advert, ParseError};
use group_link::GroupLink;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Duration;
use timers::{centiseconds, master_down_interval, skew_time};

/// What the Master_Down_Timer means when it fires: the reason we give for becoming master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DownCause {
    /// No advert was heard for Master_Down_Interval.
    MasterDown,
    /// The master sent priority 0; the timer was cut to Skew_Time.
    PriorityZero,
    /// We discarded a live lower-priority master's adverts (Preempt_Mode).
    Preempting,
}

impl DownCause {
    fn reason(self) -> Reason {
        match self {
            DownCause::MasterDown => Reason::MasterDown,
            DownCause::PriorityZero => Reason::PriorityZeroReceived,
            DownCause::Preempting => Reason::Preempting,
        }
    }
}

/// Another master heard while we are master, until it goes quiet.
#[derive(Debug, Clone)]
struct OtherMaster {
    addr: IpAddr,
    /// When we stop counting it as a master: its Master_Down_Interval after its last advert.
    quiet_at: Duration,
}

#[derive(Debug)]
pub struct Instance {
    cfg: InstanceConfig,
    primary: IpAddr,
    state: State,
    tracks: TrackSet,
    group: GroupLink,
    /// Master_Adver_Interval: ours until a v3 master's advert says otherwise.
    master_adver_interval: Duration,
    /// The master as last heard while backup (address, priority).
    master: Option<(IpAddr, u8)>,
    adver_at: Option<Duration>,
    master_down_at: Option<Duration>,
    down_cause: DownCause,
    preempt_at: Option<Duration>,
    hold_until: Option<Duration>,
    /// Next announcement round and how many remain after it.
    garp: Option<(Duration, u32)>,
    others: Vec<OtherMaster>,
    actions: VecDeque<Action>,
    counters: Counters,
    last_transition: Option<Transition>,
}

impl Instance {
    /// A virtual router in Initialize. `primary_address` is our advert source: the interface's
    /// IPv4 address, or its IPv6 link-local address. The configuration should have passed
    /// `validate`; an invalid one never panics but behaves as its fields say.
    pub fn new(cfg: InstanceConfig, primary_address: IpAddr) -> Self {
        let tracks = TrackSet::new(&cfg.tracks);
        let master_adver_interval = centiseconds(cfg.advert_interval_cs);
        Instance {
            cfg,
            primary: primary_address,
            state: State::Initialize,
            tracks,
            group: GroupLink::default(),
            master_adver_interval,
            master: None,
            adver_at: None,
            master_down_at: None,
            down_cause: DownCause::MasterDown,
            preempt_at: None,
            hold_until: None,
            garp: None,
            others: Vec::new(),
            actions: VecDeque::new(),
            counters: Counters::default(),
            last_transition: None,
        }
    }

    /// Initialize -> Master for the address owner (priority 255), else Backup; Fault when a
    /// tracked object without weight is already down. Does nothing unless in Initialize.
    pub fn startup(&mut self, now: Duration) {
        if self.state == State::Initialize {
            self.leave_idle(now, Reason::Startup);
        }
    }

    /// A master sends priority 0 so that a backup takes over after its Skew_Time; then
    /// Initialize, every timer stopped.
    pub fn shutdown(&mut self, now: Duration) {
        if self.state == State::Initialize {
            return;
        }
        self.give_up_master(now);
        self.set_state(now, State::Initialize, Reason::Shutdown);
        self.stop_timers();
        self.group.ready = None;
    }

    /// Fires the timers that are due at `now`.
    pub fn poll(&mut self, now: Duration) {
        match self.state {
            State::Master => {
                if self.adver_at.is_some_and(|t| t <= now) {
                    self.send_advert(now, self.effective_priority());
                }
                if let Some((at, left)) = self.garp {
                    if at <= now {
                        self.announce();
                        self.garp = (left > 1).then(|| (now + self.cfg.garp_interval, left - 1));
                    }
                }
                let before = self.others.len();
                self.others.retain(|o| o.quiet_at > now);
                if before > 0 && self.others.is_empty() {
                    self.group.defer_since = None;
                    self.actions.push_back(Action::SplitBrainResolved);
                }
            }
            State::Backup => {
                if self.master_down_at.is_some_and(|t| t <= now) {
                    self.master_down_fired(now);
                }
            }
            State::Initialize | State::Fault => {}
        }
    }

    /// The earliest time `poll` has something to do.
    pub fn next_deadline(&self) -> Option<Duration> {
        let garp = self.garp.map(|(t, _)| t);
        let quiet = self.others.iter().map(|o| o.quiet_at).min();
        [self.adver_at, self.master_down_at, garp, quiet]
            .into_iter()
            .flatten()
            .min()
    }

    /// The next output, oldest first.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// A tracked object went down or came back. Unknown names are ignored. Before `startup`
    /// only the state is recorded.
    pub fn track_update(&mut self, now: Duration, track: &str, up: bool) {
        let was_faulty = self.faulty();
        let was_priority = self.effective_priority();
        if !self.tracks.set(&self.cfg.tracks, track, up) || self.state == State::Initialize {
            return;
        }
        let priority = self.effective_priority();
        if !was_faulty && self.faulty() {
            self.enter_fault(now, Reason::TrackDown(track.to_string()));
        } else if was_faulty && !self.faulty() {
            self.leave_idle(now, Reason::TrackUp);
        } else if priority != was_priority {
            match self.state {
                // Tell the backups at once: one that now outranks us starts preempting.
                State::Master => self.send_advert(now, priority),
                // Back to 255: the owner preempts always.
                State::Backup if priority == 255 && !self.held(now) => {
                    self.want_master(now, Reason::TrackUp)
                }
                _ => {}
            }
        }
    }

    /// Operator switchover: a master sends priority 0 and becomes backup; in any state we do not
    /// become master again before `now + hold` (the peer takes over meanwhile). A zero hold just
    /// steps down.
    pub fn force_backup(&mut self, now: Duration, hold: Duration) {
        self.hold_until = Some(now + hold);
        if self.state == State::Master {
            self.step_down(now, Reason::Operator);
        }
        // A group member that was only waiting for its group looks again when the hold ends.
        let was_ready = self.group.ready.take().is_some();
        if was_ready && self.state == State::Backup && self.master_down_at.is_none() {
            self.master_down_at = Some(now + hold);
        }
    }

    /// Counts a frame `parse_advert_frame` refused (the I/O layer picks the instance).
    pub fn count_parse_error(&mut self, e: ParseError) {
        self.counters.count_parse_error(e);
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn config(&self) -> &InstanceConfig {
        &self.cfg
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn primary_address(&self) -> IpAddr {
        self.primary
    }

    /// The source MAC of our adverts and announcements (RFC 5798 §7.3).
    pub fn virtual_mac(&self) -> [u8; 6] {
        virtual_mac(self.cfg.vrid, self.primary.is_ipv6())
    }

    /// The priority we advertise: configured, lowered by down tracked objects.
    pub fn effective_priority(&self) -> u8 {
        self.tracks
            .effective_priority(&self.cfg.tracks, self.cfg.priority.max(1))
    }

    pub fn status(&self) -> InstanceStatus {
        let priority = self.effective_priority();
        let (master_address, master_priority) = match self.state {
            State::Master => (Some(self.primary), Some(priority)),
            _ => (self.master.map(|m| m.0), self.master.map(|m| m.1)),
        };
        InstanceStatus {
            name: self.cfg.name.clone(),
            vrid: self.cfg.vrid,
            version: self.cfg.version,
            state: self.state,
            configured_priority: self.cfg.priority,
            effective_priority: priority,
            master_address,
            master_priority,
            advert_interval: self.advert_interval(),
            master_adver_interval: self.master_adver_interval,
            skew_time: self.skew_time(),
            master_down_interval: self.master_down_interval(),
            next_advert_at: self.adver_at,
            master_down_at: self.master_down_at,
            preempt_at: self.preempt_at,
            hold_until: self.hold_until,
            tracks_down: self.tracks.down_names(&self.cfg.tracks),
            other_masters: self.others.iter().map(|o| o.addr).collect(),
            counters: self.counters.clone(),
            last_transition: self.last_transition.clone(),
        }
    }

    // --- timers and formulas -------------------------------------------------------------

    /// Our Advertisement_Interval.
    fn advert_interval(&self) -> Duration {
        centiseconds(self.cfg.advert_interval_cs)
    }

    fn skew_time(&self) -> Duration {
        skew_time(
            self.cfg.version,
            self.effective_priority(),
            self.master_adver_interval,
        )
    }

    fn master_down_interval(&self) -> Duration {
        master_down_interval(
            self.cfg.version,
            self.effective_priority(),
            self.master_adver_interval,
        )
    }

    fn held(&self, now: Duration) -> bool {
        self.hold_until.is_some_and(|h| now < h)
    }

    fn faulty(&self) -> bool {
        self.group.fault || self.tracks.fault(&self.cfg.tracks).is_some()
    }

    fn stop_timers(&mut self) {
        self.adver_at = None;
        self.master_down_at = None;
        self.preempt_at = None;
        self.garp = None;
    }

    // --- outputs ---------------------------------------------------------------------------

    fn advert(&self, priority: u8) -> Advert {
        Advert {
            version: self.cfg.version,
            vrid: self.cfg.vrid,
            priority,
            max_advert_interval_cs: self.cfg.advert_interval_cs,
            addresses: self.cfg.virtual_addresses.clone(),
            auth_type: 0,
        }
    }

    /// Queues an advert and, as a master, restarts the Adver_Timer.
    fn send_advert(&mut self, now: Duration, priority: u8) {
        self.actions
            .push_back(Action::SendAdvert(self.advert(priority)));
        self.counters.adverts_sent += 1;
        if priority == 0 {
            self.counters.priority_zero_sent += 1;
        } else {
            self.adver_at = Some(now + self.advert_interval());
        }
    }

    fn announce(&mut self) {
        self.actions.push_back(Action::Announce {
            addresses: self.cfg.virtual_addresses.clone(),
        });
    }

    fn set_state(&mut self, now: Duration, to: State, reason: Reason) {
        let from = self.state;
        self.state = to;
        match to {
            State::Master => self.counters.became_master += 1,
            State::Backup => self.counters.became_backup += 1,
            State::Fault => self.counters.became_fault += 1,
            State::Initialize => {}
        }
        self.last_transition = Some(Transition {
            from,
            to,
            reason: reason.clone(),
            at: now,
        });
        self.actions
            .push_back(Action::StateChanged { from, to, reason });
        if from == State::Master && !self.others.is_empty() {
            // We are no longer master: whoever is left is the only one.
            self.others.clear();
            self.actions.push_back(Action::SplitBrainResolved);
        }
        self.group.defer_since = None;
    }

    // --- transitions -----------------------------------------------------------------------

    /// RFC 5798 §6.4.1 (and §6.4.2 "transition to Master"): advert, announcements, Adver_Timer.
    fn become_master(&mut self, now: Duration, reason: Reason) {
        self.set_state(now, State::Master, reason);
        self.master_down_at = None;
        self.preempt_at = None;
        self.master = None;
        self.group.ready = None;
        self.send_advert(now, self.effective_priority());
        self.announce();
        let rounds = self.cfg.garp_rounds;
        self.garp = (rounds > 1).then(|| (now + self.cfg.garp_interval, rounds - 1));
    }

    /// To Backup with Master_Adver_Interval `mai` and a fresh Master_Down_Timer.
    fn become_backup(&mut self, now: Duration, reason: Reason, mai: Duration) {
        self.set_state(now, State::Backup, reason);
        self.adver_at = None;
        self.garp = None;
        self.master_adver_interval = mai;
        self.reset_master_down(now, DownCause::MasterDown);
    }

    fn reset_master_down(&mut self, now: Duration, cause: DownCause) {
        let after = match cause {
            DownCause::PriorityZero => self.skew_time(),
            _ => self.master_down_interval(),
        };
        self.master_down_at = Some(now + after);
        self.down_cause = cause;
        self.group.ready = None;
    }

    /// A master gives up: priority 0 tells the backups to take over after Skew_Time.
    fn give_up_master(&mut self, now: Duration) {
        if self.state == State::Master {
            self.send_advert(now, 0);
        }
    }

    /// Master -> Backup on our own initiative (operator, group).
    fn step_down(&mut self, now: Duration, reason: Reason) {
        self.give_up_master(now);
        self.become_backup(now, reason, self.advert_interval());
    }

    fn enter_fault(&mut self, now: Duration, reason: Reason) {
        if matches!(self.state, State::Fault | State::Initialize) {
            return;
        }
        self.give_up_master(now);
        self.set_state(now, State::Fault, reason);
        self.stop_timers();
        self.group.ready = None;
    }

    /// From Initialize or Fault: Fault again if still faulty, else the owner to Master and
    /// the others to Backup.
    fn leave_idle(&mut self, now: Duration, reason: Reason) {
        if let Some(track) = self.tracks.fault(&self.cfg.tracks) {
            let track = track.to_string();
            if self.state == State::Initialize {
                self.set_state(now, State::Fault, Reason::TrackDown(track));
            }
            return;
        }
        if self.group.fault {
            if self.state == State::Initialize {
                self.set_state(now, State::Fault, Reason::Group);
            }
            return;
        }
        let owner = self.effective_priority() == 255 && !self.held(now);
        if owner && !self.group.grouped {
            let reason = if self.state == State::Initialize {
                Reason::Priority255Owner
            } else {
                reason
            };
            self.become_master(now, reason);
            return;
        }
        self.become_backup(now, reason, self.advert_interval());
        if owner {
            self.group.ready = Some(Reason::Priority255Owner);
        }
    }

    /// Master_Down_Timer fired (RFC 5798 §6.4.2).
    fn master_down_fired(&mut self, now: Duration) {
        self.master_down_at = None;
        if let Some(h) = self.hold_until.filter(|h| now < *h) {
            // The operator asked us to stay backup: look again when the hold ends.
            self.master_down_at = Some(h);
            return;
        }
        self.want_master(now, self.down_cause.reason());
    }

    /// Alone we become master; in a sync group we wait for the group to move all together.
    fn want_master(&mut self, now: Duration, reason: Reason) {
        if self.group.grouped {
            self.group.ready = Some(reason);
        } else {
            self.become_master(now, reason);
        }
    }
}

#[cfg(test)]
mod tests;
