//! What the VRRP side announces to the operator's subscribers and event log: one variant
//! per kind, named in the `event` field, with plain data as the other fields.

use super::vrrp_status::{HaRole, InstanceState};
use serde::Serialize;
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum VrrpEvent {
    /// An instance changed state (addresses already taken or given up).
    VrrpState {
        instance: String,
        vrid: u8,
        from: InstanceState,
        to: InstanceState,
        reason: String,
    },
    /// Another master heard while master.
    SplitBrain {
        instance: String,
        other_master: IpAddr,
    },
    SplitBrainResolved {
        instance: String,
    },
    /// An HA group's role changed.
    HaRole {
        ha_group: String,
        from: HaRole,
        to: HaRole,
        reason: String,
    },
    /// A tracked object went up or down.
    Track {
        track: String,
        up: bool,
    },
    /// The operator made this node step down in a group.
    Switchover {
        group: String,
        hold_ms: u64,
    },
}

impl VrrpEvent {
    /// The kind, as the `event` field names it.
    pub fn kind(&self) -> &'static str {
        match self {
            VrrpEvent::VrrpState { .. } => "vrrp_state",
            VrrpEvent::SplitBrain { .. } => "split_brain",
            VrrpEvent::SplitBrainResolved { .. } => "split_brain_resolved",
            VrrpEvent::HaRole { .. } => "ha_role",
            VrrpEvent::Track { .. } => "track",
            VrrpEvent::Switchover { .. } => "switchover",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_keep_their_kinds_and_fields() {
        let cases = [
            (
                VrrpEvent::VrrpState {
                    instance: "up".into(),
                    vrid: 51,
                    from: InstanceState::Backup,
                    to: InstanceState::Master,
                    reason: "MasterDown".into(),
                },
                json!({"event": "vrrp_state", "instance": "up", "vrid": 51, "from": "backup",
                       "to": "master", "reason": "MasterDown"}),
            ),
            (
                VrrpEvent::SplitBrain {
                    instance: "up".into(),
                    other_master: "192.0.2.2".parse().unwrap(),
                },
                json!({"event": "split_brain", "instance": "up", "other_master": "192.0.2.2"}),
            ),
            (
                VrrpEvent::SplitBrainResolved {
                    instance: "up".into(),
                },
                json!({"event": "split_brain_resolved", "instance": "up"}),
            ),
            (
                VrrpEvent::HaRole {
                    ha_group: "node".into(),
                    from: HaRole::Standby,
                    to: HaRole::Active,
                    reason: "static Active".into(),
                },
                json!({"event": "ha_role", "ha_group": "node", "from": "standby",
                       "to": "active", "reason": "static Active"}),
            ),
            (
                VrrpEvent::Track {
                    track: "link:u0".into(),
                    up: false,
                },
                json!({"event": "track", "track": "link:u0", "up": false}),
            ),
            (
                VrrpEvent::Switchover {
                    group: "gw".into(),
                    hold_ms: 3000,
                },
                json!({"event": "switchover", "group": "gw", "hold_ms": 3000}),
            ),
        ];
        for (event, want) in cases {
            let got = serde_json::to_value(&event).unwrap();
            assert_eq!(got["event"], json!(event.kind()));
            assert_eq!(got, want);
        }
    }
}
