//! HA groups: the node's active/standby role, following a VRRP sync group or set by hand,
//! announced as events and to the operators' hook scripts.

use crate::config::{HaGroupConfig, HaRoleConfig, HaSourceConfig};
use crate::events::EventLog;
use crate::northbound::vrrp_events::VrrpEvent;
use crate::northbound::vrrp_status::HaGroupStatus;
use crate::status;
use std::path::PathBuf;
use std::time::Duration;
use vrrp::{HaEvent, HaGroup, HaRole, HaSource};

struct HaEntry {
    group: HaGroup,
    /// The operator's hook, run with the group, the old and the new role.
    notify: Option<PathBuf>,
}

impl HaEntry {
    fn announce(&self, ev: HaEvent, events: &mut EventLog) {
        let (from, to) = (status::ha_role(ev.from), status::ha_role(ev.to));
        let event = VrrpEvent::HaRole {
            ha_group: ev.group.clone(),
            from,
            to,
            reason: ev.reason,
        };
        events.record(ev.at.as_millis(), &event);
        if let Some(script) = &self.notify {
            events.run_hook(script, &[&ev.group, from.name(), to.name()]);
        }
    }
}

pub(super) struct HaGroups(Vec<HaEntry>);

impl HaGroups {
    pub fn from_config(cfg: &[HaGroupConfig]) -> HaGroups {
        HaGroups(
            cfg.iter()
                .map(|h| HaEntry {
                    group: HaGroup::new(
                        h.name.clone(),
                        match &h.source {
                            HaSourceConfig::VrrpGroup(g) => HaSource::VrrpGroup(g.clone()),
                            HaSourceConfig::Static(r) => HaSource::Static(role(*r)),
                        },
                    ),
                    notify: h.notify.clone(),
                })
                .collect(),
        )
    }

    /// Tells every HA group the sync groups' states; role changes are announced.
    pub fn follow<'a>(
        &mut self,
        now: Duration,
        groups: impl Iterator<Item = (&'a str, vrrp::GroupState)> + Clone,
        events: &mut EventLog,
    ) {
        for h in &mut self.0 {
            let changes: Vec<HaEvent> = groups
                .clone()
                .filter_map(|(name, state)| h.group.on_group_state(now, name, state))
                .collect();
            for ev in changes {
                h.announce(ev, events);
            }
        }
    }

    /// The operator sets a role by hand; None if there is no such HA group.
    pub fn set_role(
        &mut self,
        now: Duration,
        name: &str,
        role: HaRole,
        events: &mut EventLog,
    ) -> Option<HaGroupStatus> {
        let h = self.0.iter_mut().find(|h| h.group.name() == name)?;
        if let Some(ev) = h.group.set_static(now, role) {
            h.announce(ev, events);
        }
        Some(status::ha_group(&h.group, now))
    }

    /// The VRRP sync group an HA group follows, if it follows one.
    pub fn followed_group(&self, name: &str) -> Option<String> {
        let h = self.0.iter().find(|h| h.group.name() == name)?;
        match h.group.status().source {
            HaSource::VrrpGroup(g) => Some(g),
            HaSource::Static(_) => None,
        }
    }

    /// The role of the named HA group (None: no such group).
    pub fn role_of(&self, name: &str) -> Option<HaRole> {
        self.0
            .iter()
            .find(|h| h.group.name() == name)
            .map(|h| h.group.role())
    }

    pub fn statuses(&self, now: Duration) -> Vec<HaGroupStatus> {
        self.0
            .iter()
            .map(|h| status::ha_group(&h.group, now))
            .collect()
    }
}

fn role(r: HaRoleConfig) -> HaRole {
    match r {
        HaRoleConfig::Active => HaRole::Active,
        HaRoleConfig::Standby => HaRole::Standby,
    }
}
