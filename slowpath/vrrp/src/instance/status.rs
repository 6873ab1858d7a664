//! A snapshot of an instance for the operator (CLI, logs, control socket).

use super::{Counters, State, Transition};
use crate::wire::Version;
use std::net::IpAddr;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceStatus {
    pub name: String,
    pub vrid: u8,
    pub version: Version,
    pub state: State,
    pub configured_priority: u8,
    /// After tracking weights.
    pub effective_priority: u8,
    /// Ours when master; the current master's as last seen when backup.
    pub master_address: Option<IpAddr>,
    pub master_priority: Option<u8>,
    /// Our Advertisement_Interval.
    pub advert_interval: Duration,
    /// Master_Adver_Interval (v3: learned from the master's adverts).
    pub master_adver_interval: Duration,
    pub skew_time: Duration,
    pub master_down_interval: Duration,
    /// Deadlines on the caller's clock (the `now` the methods take); see `*_in` for remaining times.
    pub next_advert_at: Option<Duration>,
    pub master_down_at: Option<Duration>,
    /// When a pending preempt delay ends.
    pub preempt_at: Option<Duration>,
    /// `force_backup` keeps us from becoming master until then.
    pub hold_until: Option<Duration>,
    pub tracks_down: Vec<String>,
    /// Other masters heard while we are master.
    pub other_masters: Vec<IpAddr>,
    pub counters: Counters,
    pub last_transition: Option<Transition>,
}

impl InstanceStatus {
    pub fn next_advert_in(&self, now: Duration) -> Option<Duration> {
        self.next_advert_at.map(|t| t.saturating_sub(now))
    }
    pub fn master_down_in(&self, now: Duration) -> Option<Duration> {
        self.master_down_at.map(|t| t.saturating_sub(now))
    }
    pub fn preempt_in(&self, now: Duration) -> Option<Duration> {
        self.preempt_at.map(|t| t.saturating_sub(now))
    }
}
