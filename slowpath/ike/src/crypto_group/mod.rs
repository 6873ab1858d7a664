//! Crypto groups (StarOS's redundant tunnels): two connections, a primary and a secondary,
//! that protect the same traffic; one of them carries it. A group is fed what happens to its
//! members (tunnel up or down, the peer declared dead by DPD, a failed rekey, the operator's
//! switchover) and time, and says what to do: bring a member up, steer the traffic from one
//! member to the other. No I/O; the caller owns the SAs and the fast path.
//!
//! - The primary carries the traffic while it is up. When it fails (DPD, a failed rekey, its
//!   tunnel going down) and the secondary is up, the traffic moves to the secondary at once;
//!   a secondary brought up on demand takes it when its tunnel comes up. When neither is up,
//!   the failed member stays the active one and nothing carries the traffic.
//! - A member that is down and wanted (the primary always, the secondary when `always` or
//!   needed) is brought up again every `retry`, so that `auto` can revert.
//! - `switchover auto hold H`: once the primary has been up for `H` without a break, a group
//!   that moved to the secondary because of a failure goes back (a revert). A primary that
//!   flaps restarts the hold; the traffic never follows the flaps.
//! - `switchover auto do-not-revert`: the traffic stays where it went.
//! - A manual switchover moves the traffic to the other member if it is up, and is not
//!   reverted by itself.
//! - In an HA pair the standby's group takes the active node's member as its own (`ha`).

pub mod ha;
mod status;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use ha::SyncedState;
pub use status::{GroupStatus, MemberStatus};

/// How often a member that is down and wanted is brought up again, unless configured.
pub const DEFAULT_RETRY: Duration = Duration::from_secs(5);

/// One of a group's two tunnels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Member {
    Primary,
    Secondary,
}

impl Member {
    pub fn other(self) -> Member {
        match self {
            Member::Primary => Member::Secondary,
            Member::Secondary => Member::Primary,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Member::Primary => "primary",
            Member::Secondary => "secondary",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// When the secondary's tunnel is brought up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bringup {
    /// With the primary, so that a switchover finds it ready.
    Always,
    /// Only once the primary failed.
    OnDemand,
}

/// What happens once the primary is healthy again after a failure moved the traffic away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revert {
    /// Back to the primary once it has been up this long without a break.
    After(Duration),
    /// The traffic stays on the secondary.
    Never,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    pub name: String,
    /// The members' connection names.
    pub primary: String,
    pub secondary: String,
    pub bringup: Bringup,
    pub revert: Revert,
    /// How often a member that is down and wanted is brought up again.
    pub retry: Duration,
}

impl GroupConfig {
    pub fn conn(&self, m: Member) -> &str {
        match m {
            Member::Primary => &self.primary,
            Member::Secondary => &self.secondary,
        }
    }

    /// The member a connection is, if it is one of this group's.
    pub fn member_of(&self, conn: &str) -> Option<Member> {
        if conn == self.primary {
            Some(Member::Primary)
        } else if conn == self.secondary {
            Some(Member::Secondary)
        } else {
            None
        }
    }
}

/// What the caller saw happen to a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// The member's tunnel (its IKE SA and CHILD SAs) is up; after `PeerDead`, the peer
    /// answered again.
    TunnelUp(Member),
    /// The tunnel went down for another reason than a dead peer (deleted by either side).
    TunnelDown(Member),
    /// DPD (or a retransmission that ran out) declared the member's peer dead.
    PeerDead(Member),
    /// A rekey of the member's SAs failed: its tunnel cannot be relied on.
    RekeyFailed(Member),
}

/// Why the traffic moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    PeerDead,
    RekeyFailed,
    TunnelDown,
    Manual,
    /// The primary was healthy for the hold time (`auto`).
    Revert,
}

/// What the caller is to do, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Start the member's connection unless it is up or on its way.
    BringUp(Member),
    /// Take the member's tunnel down and start it again (a failed rekey).
    Restart(Member),
    /// Point the group's outbound traffic at `to`'s SAs, away from `from`'s, in one step.
    Steer {
        from: Member,
        to: Member,
        reason: Reason,
    },
    /// A member's peer was declared dead.
    PeerDead(Member),
    /// A member's peer, declared dead before, answered again.
    PeerAlive(Member),
}

/// A member's tunnel as the group knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tunnel {
    Down,
    Connecting,
    Up,
}

/// A member's peer as DPD sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Peer {
    Unknown,
    Alive,
    Dead,
}

#[derive(Debug, Clone, Copy)]
struct MemberState {
    tunnel: Tunnel,
    peer: Peer,
    /// When `tunnel` last changed.
    since: Duration,
    /// When it is next brought up again, while down and wanted.
    retry_at: Option<Duration>,
}

/// Switchovers and reverts, and when the last happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Moves away from a failed member, and manual ones.
    pub switchovers: u64,
    pub reverts: u64,
    pub peer_deaths: u64,
    pub rekey_failures: u64,
    pub last_switch: Option<Duration>,
    pub last_revert: Option<Duration>,
    pub last_reason: Option<Reason>,
}

/// Manual switchover refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("crypto group {group}: the {member} ({conn}) is not up")]
pub struct NotUp {
    pub group: String,
    pub member: &'static str,
    pub conn: String,
}

#[derive(Debug)]
pub struct Group {
    config: GroupConfig,
    active: Member,
    members: [MemberState; 2],
    /// When the traffic goes back to the primary (`auto`, after a failure).
    revert_at: Option<Duration>,
    /// Whether the last move came from a failure of the primary (and so may be reverted).
    revertible: bool,
    /// The active member failed while the other was not up: the reason the traffic moves
    /// once the other comes up.
    pending: Option<Reason>,
    counters: Counters,
    outputs: VecDeque<Output>,
}

impl Group {
    /// A group at start: the primary active, its members brought up as configured.
    pub fn new(config: GroupConfig, now: Duration) -> Group {
        let down = MemberState {
            tunnel: Tunnel::Down,
            peer: Peer::Unknown,
            since: now,
            retry_at: None,
        };
        let mut g = Group {
            config,
            active: Member::Primary,
            members: [down; 2],
            revert_at: None,
            revertible: false,
            pending: None,
            counters: Counters::default(),
            outputs: VecDeque::new(),
        };
        g.bring_up(Member::Primary, now);
        if g.config.bringup == Bringup::Always {
            g.bring_up(Member::Secondary, now);
        }
        g
    }

    pub fn config(&self) -> &GroupConfig {
        &self.config
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The member whose SAs the outbound policies point at.
    pub fn active(&self) -> Member {
        self.active
    }

    /// The member carrying the traffic: the active one, when its tunnel is up.
    pub fn carrying(&self) -> Option<Member> {
        (self.tunnel(self.active) == Tunnel::Up).then_some(self.active)
    }

    pub fn tunnel(&self, m: Member) -> Tunnel {
        self.members[m.index()].tunnel
    }

    pub fn peer(&self, m: Member) -> Peer {
        self.members[m.index()].peer
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When `poll` is next needed.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.members
            .iter()
            .filter_map(|m| m.retry_at)
            .chain(self.revert_at)
            .min()
    }

    pub fn input(&mut self, now: Duration, input: Input) {
        match input {
            Input::TunnelUp(m) => self.tunnel_up(m, now),
            Input::TunnelDown(m) => self.failed(m, Reason::TunnelDown, now),
            Input::PeerDead(m) => {
                if self.peer(m) != Peer::Dead {
                    self.counters.peer_deaths += 1;
                    self.members[m.index()].peer = Peer::Dead;
                    self.outputs.push_back(Output::PeerDead(m));
                }
                self.failed(m, Reason::PeerDead, now);
            }
            Input::RekeyFailed(m) => {
                self.counters.rekey_failures += 1;
                self.outputs.push_back(Output::Restart(m));
                self.failed(m, Reason::RekeyFailed, now);
            }
        }
    }

    /// Timers: the revert after the hold, and members brought up again.
    pub fn poll(&mut self, now: Duration) {
        if self.revert_at.is_some_and(|t| t <= now) {
            self.revert_at = None;
            if self.active == Member::Secondary && self.tunnel(Member::Primary) == Tunnel::Up {
                self.steer(Member::Primary, Reason::Revert, now);
            }
        }
        for m in [Member::Primary, Member::Secondary] {
            if self.members[m.index()].retry_at.is_some_and(|t| t <= now) {
                self.members[m.index()].retry_at = None;
                if self.tunnel(m) != Tunnel::Up && self.wanted(m) {
                    self.bring_up(m, now);
                }
            }
        }
    }

    /// The operator moves the traffic to the other member, which must be up.
    pub fn manual_switchover(&mut self, now: Duration) -> Result<Member, NotUp> {
        let to = self.active.other();
        if self.tunnel(to) != Tunnel::Up {
            return Err(NotUp {
                group: self.config.name.clone(),
                member: to.word(),
                conn: self.config.conn(to).to_string(),
            });
        }
        self.steer(to, Reason::Manual, now);
        Ok(to)
    }

    /// Whether a member that is down is to be brought up again.
    fn wanted(&self, m: Member) -> bool {
        m == Member::Primary
            || self.config.bringup == Bringup::Always
            || self.active == m
            || self.pending.is_some()
    }

    fn bring_up(&mut self, m: Member, now: Duration) {
        let s = &mut self.members[m.index()];
        if s.tunnel == Tunnel::Down {
            s.tunnel = Tunnel::Connecting;
            s.since = now;
        }
        // Until it is up, again after `retry` (a Connecting that never completes included).
        s.retry_at = Some(now + self.config.retry);
        self.outputs.push_back(Output::BringUp(m));
    }

    fn tunnel_up(&mut self, m: Member, now: Duration) {
        let s = &mut self.members[m.index()];
        if s.tunnel != Tunnel::Up {
            s.since = now;
        }
        s.tunnel = Tunnel::Up;
        s.retry_at = None;
        if std::mem::replace(&mut s.peer, Peer::Alive) == Peer::Dead {
            self.outputs.push_back(Output::PeerAlive(m));
        }
        if m == self.active {
            self.pending = None;
            return;
        }
        if let Some(reason) = self.pending.take() {
            self.steer(m, reason, now);
        } else if m == Member::Primary && self.revertible && self.revert_at.is_none() {
            if let Revert::After(hold) = self.config.revert {
                self.revert_at = Some(now + hold);
            }
        }
    }

    fn failed(&mut self, m: Member, reason: Reason, now: Duration) {
        let s = &mut self.members[m.index()];
        if s.tunnel != Tunnel::Down {
            s.since = now;
        }
        s.tunnel = Tunnel::Down;
        if m == Member::Primary {
            // A primary that flaps restarts the hold.
            self.revert_at = None;
        }
        if m == self.active {
            let other = m.other();
            if self.tunnel(other) == Tunnel::Up {
                self.steer(other, reason, now);
            } else {
                self.pending = Some(reason);
                if self.tunnel(other) == Tunnel::Down {
                    self.bring_up(other, now);
                }
            }
        }
        if self.wanted(m) && self.members[m.index()].retry_at.is_none() {
            self.members[m.index()].retry_at = Some(now + self.config.retry);
        }
    }

    fn steer(&mut self, to: Member, reason: Reason, now: Duration) {
        let from = self.active;
        self.active = to;
        self.pending = None;
        self.revert_at = None;
        self.counters.last_reason = Some(reason);
        if reason == Reason::Revert {
            self.counters.reverts += 1;
            self.counters.last_revert = Some(now);
        } else {
            self.counters.switchovers += 1;
            self.counters.last_switch = Some(now);
        }
        // Only a failure of the primary is undone by itself.
        self.revertible = to == Member::Secondary && reason != Reason::Manual;
        if self.revertible && self.tunnel(Member::Primary) == Tunnel::Up {
            if let Revert::After(hold) = self.config.revert {
                self.revert_at = Some(now + hold);
            }
        }
        self.outputs.push_back(Output::Steer { from, to, reason });
    }
}
