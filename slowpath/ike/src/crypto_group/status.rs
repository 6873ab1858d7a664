//! A group as operators and scrapers read it: plain data, times as "ago" against the
//! caller's clock.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Bringup, Group, Member, Peer, Reason, Revert, Tunnel};

/// One member of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberStatus {
    pub conn: String,
    pub tunnel: Tunnel,
    pub peer: Peer,
    /// How long the tunnel has been in its state.
    pub since_ms: u64,
}

/// A group: which member is active, whether it carries traffic, each member's state and the
/// counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupStatus {
    pub name: String,
    pub active: Member,
    /// The active member's connection.
    pub active_conn: String,
    /// Whether the active member's tunnel is up (false: nothing carries the traffic).
    pub carrying: bool,
    pub primary: MemberStatus,
    pub secondary: MemberStatus,
    pub bringup: Bringup,
    /// The revert hold in ms; none with `do-not-revert`.
    pub revert_hold_ms: Option<u64>,
    /// When the traffic goes back to the primary, if a revert is under way.
    pub revert_in_ms: Option<u64>,
    pub switchovers: u64,
    pub reverts: u64,
    pub peer_deaths: u64,
    pub rekey_failures: u64,
    pub last_switch_ago_ms: Option<u64>,
    pub last_revert_ago_ms: Option<u64>,
    pub last_reason: Option<Reason>,
}

fn ms(d: Duration) -> u64 {
    d.as_millis().try_into().unwrap_or(u64::MAX)
}

impl Group {
    pub fn status(&self, now: Duration) -> GroupStatus {
        let member = |m: Member| {
            let s = &self.members[m.index()];
            MemberStatus {
                conn: self.config.conn(m).to_string(),
                tunnel: s.tunnel,
                peer: s.peer,
                since_ms: ms(now.saturating_sub(s.since)),
            }
        };
        let c = &self.counters;
        GroupStatus {
            name: self.config.name.clone(),
            active: self.active,
            active_conn: self.config.conn(self.active).to_string(),
            carrying: self.carrying().is_some(),
            primary: member(Member::Primary),
            secondary: member(Member::Secondary),
            bringup: self.config.bringup,
            revert_hold_ms: match self.config.revert {
                Revert::After(h) => Some(ms(h)),
                Revert::Never => None,
            },
            revert_in_ms: self.revert_at.map(|t| ms(t.saturating_sub(now))),
            switchovers: c.switchovers,
            reverts: c.reverts,
            peer_deaths: c.peer_deaths,
            rekey_failures: c.rekey_failures,
            last_switch_ago_ms: c.last_switch.map(|t| ms(now.saturating_sub(t))),
            last_revert_ago_ms: c.last_revert.map(|t| ms(now.saturating_sub(t))),
            last_reason: c.last_reason,
        }
    }
}
