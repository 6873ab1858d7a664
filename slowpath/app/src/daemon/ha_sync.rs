//! The HA group IKE listens to (`ha listen-ha-group`) drives the IKE runner's role: its
//! becoming active is a takeover, its leaving active a demotion (no reload). And the sync
//! gates VRRP: a node that is not in sync while its peer node is up must not become master,
//! whatever its priority and preempt delay say, so every instance of the followed VRRP group
//! tracks an internal object that is down exactly then (Fault). Alone, it may be master.

use super::ha::HaGroups;
use super::vrrp::Vrrp;
use crate::config::{Config, HaSourceConfig};
use crate::events::EventLog;
use crate::ike::IkeRunner;
use crate::northbound::vrrp_events::VrrpEvent;
use std::time::Duration;
use vrrp::{HaRole, TrackRule};

/// The internal track every instance of the followed VRRP group has.
pub(super) const SYNC_TRACK: &str = "ha-sync";

/// The instances of the VRRP group that the listened HA group follows track the sync.
pub(super) fn gate_preemption(cfg: &mut Config) {
    let Some(ha) = &cfg.ha else { return };
    let followed = cfg.ha_groups.iter().find_map(|h| match &h.source {
        HaSourceConfig::VrrpGroup(g) if h.name == ha.listen_ha_group => Some(g.clone()),
        _ => None,
    });
    let Some(group) = followed else { return };
    let Some(members) = cfg.groups.iter().find(|g| g.name == group) else {
        return;
    };
    for v in &mut cfg.vrrp {
        if members.instances.contains(&v.instance.name) {
            v.instance.tracks.push(TrackRule::fault(SYNC_TRACK));
        }
    }
}

/// What the daemon keeps of the sync between steps.
pub(super) struct HaSyncRole {
    listened: String,
    /// The gate's state as VRRP last heard it.
    track_up: bool,
}

impl HaSyncRole {
    pub fn new(cfg: &Config) -> Option<HaSyncRole> {
        let ha = cfg.ha.as_ref()?;
        Some(HaSyncRole {
            listened: ha.listen_ha_group.clone(),
            track_up: true,
        })
    }

    pub fn listened(&self) -> &str {
        &self.listened
    }

    /// IKE follows the listened group's role (before IKE's step).
    pub fn follow_role(&self, now: Duration, ha: &HaGroups, ike: &mut IkeRunner) {
        match ha.role_of(&self.listened) {
            Some(HaRole::Active) => ike.take_over(now),
            _ => ike.demote(now),
        }
    }

    /// The preemption gate follows the sync (after IKE's step).
    pub fn gate(
        &mut self,
        now: Duration,
        ha: &HaGroups,
        ike: &IkeRunner,
        vrrp: &mut Vrrp,
        events: &mut EventLog,
    ) {
        let Some((peer_up, in_sync)) = ike.ha_sync_state() else {
            return;
        };
        let standby = ha.role_of(&self.listened) != Some(HaRole::Active);
        let up = !(standby && peer_up && !in_sync);
        if up == self.track_up {
            return;
        }
        self.track_up = up;
        vrrp.track_update(now, SYNC_TRACK, up);
        let event = VrrpEvent::Track {
            track: SYNC_TRACK.to_string(),
            up,
        };
        events.record(now.as_millis(), &event);
    }
}
