//! The VRRP and HA cores' states as the operator sees them: the cores' types turned into the
//! plain replies of `northbound::vrrp_status`, and the names their states and reasons go by.

use crate::northbound::vrrp_status::{
    GroupState, HaGroupStatus, HaRole, InstanceState, TransitionStatus, VrrpVersion,
};
use std::time::Duration;
use vrrp::{HaGroup, HaSource, Instance, Reason};

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

pub fn instance_state(s: vrrp::State) -> InstanceState {
    match s {
        vrrp::State::Initialize => InstanceState::Initialize,
        vrrp::State::Backup => InstanceState::Backup,
        vrrp::State::Master => InstanceState::Master,
        vrrp::State::Fault => InstanceState::Fault,
    }
}

pub fn group_state(s: vrrp::GroupState) -> GroupState {
    match s {
        vrrp::GroupState::Master => GroupState::Master,
        vrrp::GroupState::Backup => GroupState::Backup,
        vrrp::GroupState::Fault => GroupState::Fault,
        vrrp::GroupState::Transition => GroupState::Transition,
    }
}

pub fn ha_role(r: vrrp::HaRole) -> HaRole {
    match r {
        vrrp::HaRole::Active => HaRole::Active,
        vrrp::HaRole::Standby => HaRole::Standby,
    }
}

pub fn vrrp_role(r: HaRole) -> vrrp::HaRole {
    match r {
        HaRole::Active => vrrp::HaRole::Active,
        HaRole::Standby => vrrp::HaRole::Standby,
    }
}

fn version(v: vrrp::wire::Version) -> VrrpVersion {
    match v {
        vrrp::wire::Version::V2 => VrrpVersion::V2,
        vrrp::wire::Version::V3 => VrrpVersion::V3,
    }
}

/// Why an instance's state changed, in the words events and replies have always used.
pub fn reason_name(r: &Reason) -> String {
    let name = match r {
        Reason::Startup => "Startup",
        Reason::Priority255Owner => "Priority255Owner",
        Reason::MasterDown => "MasterDown",
        Reason::Preempted => "Preempted",
        Reason::PriorityZeroReceived => "PriorityZeroReceived",
        Reason::Preempting => "Preempting",
        Reason::TrackDown(track) => return format!("TrackDown(\"{track}\")"),
        Reason::TrackUp => "TrackUp",
        Reason::Shutdown => "Shutdown",
        Reason::Operator => "Operator",
        Reason::Group => "Group",
    };
    name.to_string()
}

/// Where an instance lives, which the core does not know.
pub struct Placement {
    pub primary_address: std::net::IpAddr,
    pub interface: String,
    pub group: String,
    pub vmac_interface: Option<String>,
}

/// An instance: state, priorities, the master, timers (remaining, in ms), counters.
pub fn instance(
    inst: &Instance,
    at: Placement,
    now: Duration,
) -> crate::northbound::vrrp_status::InstanceStatus {
    let s = inst.status();
    crate::northbound::vrrp_status::InstanceStatus {
        vrid: s.vrid,
        version: version(s.version),
        state: instance_state(s.state),
        priority: s.configured_priority,
        effective_priority: s.effective_priority,
        master: s.master_address,
        master_priority: s.master_priority,
        advert_interval_cs: ms(s.advert_interval) / 10,
        master_adver_interval_cs: ms(s.master_adver_interval) / 10,
        skew_time_ms: ms(s.skew_time),
        master_down_interval_ms: ms(s.master_down_interval),
        next_advert_in_ms: s.next_advert_in(now).map(ms),
        master_down_in_ms: s.master_down_in(now).map(ms),
        preempt_in_ms: s.preempt_in(now).map(ms),
        hold_in_ms: s.hold_until.map(|t| ms(t.saturating_sub(now))),
        other_masters: s.other_masters.clone(),
        last_transition: s.last_transition.as_ref().map(|t| TransitionStatus {
            from: instance_state(t.from),
            to: instance_state(t.to),
            reason: reason_name(&t.reason),
            ago_ms: ms(now.saturating_sub(t.at)),
        }),
        counters: s.counters.iter().map(|(k, v)| (k.to_string(), v)).collect(),
        tracks_down: s.tracks_down,
        name: s.name,
        primary_address: at.primary_address,
        interface: at.interface,
        group: at.group,
        vmac_interface: at.vmac_interface,
    }
}

pub fn ha_group(h: &HaGroup, now: Duration) -> HaGroupStatus {
    let s = h.status();
    HaGroupStatus {
        role: ha_role(s.role),
        source: match &s.source {
            HaSource::VrrpGroup(g) => format!("vrrp-group {g}"),
            HaSource::Static(r) => format!("static {}", ha_role(*r).name()),
        },
        since_ms: ms(now.saturating_sub(s.since)),
        transitions: s.transitions,
        name: s.name,
        sync: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_keep_their_names() {
        assert_eq!(reason_name(&Reason::MasterDown), "MasterDown");
        assert_eq!(
            reason_name(&Reason::TrackDown("link:u0".into())),
            format!("{:?}", Reason::TrackDown("link:u0".into()))
        );
    }

    #[test]
    fn an_ha_group_following_a_group_starts_standby() {
        let h = HaGroup::new("node".into(), HaSource::VrrpGroup("gw".into()));
        let s = ha_group(&h, Duration::from_millis(40));
        assert_eq!(
            (s.role, s.source.as_str()),
            (HaRole::Standby, "vrrp-group gw")
        );
        assert_eq!(s.since_ms, 40);
        let h = HaGroup::new("n2".into(), HaSource::Static(vrrp::HaRole::Active));
        assert_eq!(ha_group(&h, Duration::ZERO).source, "static active");
    }
}
