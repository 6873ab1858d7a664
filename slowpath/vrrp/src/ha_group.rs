//! The node's active/standby role for the IPsec HA layer: follows a VRRP sync group (Master ->
//! Active, anything else -> Standby), or is set statically; the operator can switch between both
//! at run time (6WIND's HA groups allow both sources).

use crate::group::GroupState;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HaRole {
    Active,
    Standby,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HaSource {
    /// Follows the sync group of this name.
    VrrpGroup(String),
    /// Fixed by configuration or the operator.
    Static(HaRole),
}

/// A role change, for the HA layer (activate SAs, start or stop syncing) and the logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaEvent {
    pub group: String,
    pub from: HaRole,
    pub to: HaRole,
    pub at: Duration,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaGroupStatus {
    pub name: String,
    pub role: HaRole,
    pub source: HaSource,
    /// When the role last changed (zero before any change).
    pub since: Duration,
    pub transitions: u64,
    pub last_reason: Option<String>,
    /// The followed sync group's state as last reported.
    pub group_state: Option<GroupState>,
}

#[derive(Debug)]
pub struct HaGroup {
    name: String,
    source: HaSource,
    role: HaRole,
    since: Duration,
    transitions: u64,
    last_reason: Option<String>,
    /// Last state reported for each sync group (so that switching back to one applies at once).
    group_states: Vec<(String, GroupState)>,
}

impl HaGroup {
    /// Starts Standby when following a group (until it reports Master), else the static role.
    pub fn new(name: String, source: HaSource) -> Self {
        let role = match source {
            HaSource::Static(r) => r,
            HaSource::VrrpGroup(_) => HaRole::Standby,
        };
        HaGroup {
            name,
            source,
            role,
            since: Duration::ZERO,
            transitions: 0,
            last_reason: None,
            group_states: Vec::new(),
        }
    }

    /// A sync group's state; changes the role when this HA group follows that group. Emits only
    /// on a change of role.
    pub fn on_group_state(
        &mut self,
        now: Duration,
        group: &str,
        state: GroupState,
    ) -> Option<HaEvent> {
        match self.group_states.iter_mut().find(|(g, _)| g == group) {
            Some(e) => e.1 = state,
            None => self.group_states.push((group.to_string(), state)),
        }
        match &self.source {
            HaSource::VrrpGroup(g) if g == group => {
                let reason = format!("VRRP group {group} {state:?}");
                self.set_role(now, role_of(state), reason)
            }
            _ => None,
        }
    }

    /// Operator override: the role is fixed from now on, whatever the VRRP group does.
    pub fn set_static(&mut self, now: Duration, role: HaRole) -> Option<HaEvent> {
        self.source = HaSource::Static(role);
        self.set_role(now, role, format!("static {role:?}"))
    }

    /// Back to following a sync group; its last reported state applies at once (Standby if it
    /// never reported).
    pub fn follow_group(&mut self, now: Duration, group: &str) -> Option<HaEvent> {
        self.source = HaSource::VrrpGroup(group.to_string());
        let state = self
            .group_states
            .iter()
            .find(|(g, _)| g == group)
            .map(|e| e.1);
        let reason = match state {
            Some(s) => format!("following VRRP group {group} {s:?}"),
            None => format!("following VRRP group {group} (no state yet)"),
        };
        self.set_role(now, state.map_or(HaRole::Standby, role_of), reason)
    }

    pub fn role(&self) -> HaRole {
        self.role
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn status(&self) -> HaGroupStatus {
        let group_state = match &self.source {
            HaSource::VrrpGroup(g) => self.group_states.iter().find(|(n, _)| n == g).map(|e| e.1),
            HaSource::Static(_) => None,
        };
        HaGroupStatus {
            name: self.name.clone(),
            role: self.role,
            source: self.source.clone(),
            since: self.since,
            transitions: self.transitions,
            last_reason: self.last_reason.clone(),
            group_state,
        }
    }

    fn set_role(&mut self, now: Duration, to: HaRole, reason: String) -> Option<HaEvent> {
        if to == self.role {
            return None;
        }
        let from = self.role;
        self.role = to;
        self.since = now;
        self.transitions += 1;
        self.last_reason = Some(reason.clone());
        Some(HaEvent {
            group: self.name.clone(),
            from,
            to,
            at: now,
            reason,
        })
    }
}

/// Only a group that is master of everything makes the node active.
fn role_of(state: GroupState) -> HaRole {
    match state {
        GroupState::Master => HaRole::Active,
        GroupState::Backup | GroupState::Fault | GroupState::Transition => HaRole::Standby,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn follows_its_group_and_emits_on_change_only() {
        let mut h = HaGroup::new("ha".into(), HaSource::VrrpGroup("g".into()));
        assert_eq!(h.role(), HaRole::Standby);
        assert_eq!(h.on_group_state(t(1), "g", GroupState::Backup), None);
        assert_eq!(h.on_group_state(t(1), "other", GroupState::Master), None);
        let e = h.on_group_state(t(2), "g", GroupState::Master).unwrap();
        assert_eq!(
            (e.from, e.to, e.at, e.group.as_str()),
            (HaRole::Standby, HaRole::Active, t(2), "ha")
        );
        assert_eq!(h.on_group_state(t(3), "g", GroupState::Master), None);
        // Mixed (moving) and Fault are not active.
        let e = h.on_group_state(t(4), "g", GroupState::Transition).unwrap();
        assert_eq!(e.to, HaRole::Standby);
        assert_eq!(h.on_group_state(t(5), "g", GroupState::Fault), None);
        let s = h.status();
        assert_eq!(
            (s.transitions, s.since, s.group_state),
            (2, t(4), Some(GroupState::Fault))
        );
    }

    #[test]
    fn static_override_and_back() {
        let mut h = HaGroup::new("ha".into(), HaSource::VrrpGroup("g".into()));
        h.on_group_state(t(1), "g", GroupState::Master);
        assert_eq!(h.role(), HaRole::Active);
        let e = h.set_static(t(2), HaRole::Standby).unwrap();
        assert_eq!(e.to, HaRole::Standby);
        // The group no longer drives the role, but its state is remembered.
        assert_eq!(h.on_group_state(t(3), "g", GroupState::Backup), None);
        assert_eq!(h.on_group_state(t(4), "g", GroupState::Master), None);
        assert_eq!(h.role(), HaRole::Standby);
        assert_eq!(h.status().source, HaSource::Static(HaRole::Standby));
        let e = h.follow_group(t(5), "g").unwrap();
        assert_eq!((e.to, e.at), (HaRole::Active, t(5)));
        assert_eq!(
            h.follow_group(t(6), "never"),
            Some(HaEvent {
                group: "ha".into(),
                from: HaRole::Active,
                to: HaRole::Standby,
                at: t(6),
                reason: "following VRRP group never (no state yet)".into(),
            })
        );
    }

    #[test]
    fn static_source() {
        let mut h = HaGroup::new("ha".into(), HaSource::Static(HaRole::Active));
        assert_eq!(h.role(), HaRole::Active);
        assert_eq!(h.on_group_state(t(1), "g", GroupState::Backup), None);
        assert_eq!(h.set_static(t(2), HaRole::Active), None);
        assert_eq!(h.status().transitions, 0);
    }
}
