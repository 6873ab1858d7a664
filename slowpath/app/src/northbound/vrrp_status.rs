//! The replies about VRRP instances, sync groups, HA groups, interfaces and tracks, and the
//! names their states go by. These names are the interface: scripts compare them as strings.

use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// A VRRP instance's state (RFC 5798 §6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceState {
    Initialize,
    Backup,
    Master,
    Fault,
}

impl InstanceState {
    pub fn name(self) -> &'static str {
        match self {
            InstanceState::Initialize => "initialize",
            InstanceState::Backup => "backup",
            InstanceState::Master => "master",
            InstanceState::Fault => "fault",
        }
    }
}

/// A sync group's overall state; capitalised, as the group replies have always spelled it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum GroupState {
    Master,
    Backup,
    Fault,
    Transition,
}

/// The node's role in an HA group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HaRole {
    Active,
    Standby,
}

impl HaRole {
    pub fn name(self) -> &'static str {
        match self {
            HaRole::Active => "active",
            HaRole::Standby => "standby",
        }
    }

    /// The role an operator names (`ha_set`), if it is one.
    pub fn from_name(name: &str) -> Option<HaRole> {
        [HaRole::Active, HaRole::Standby]
            .into_iter()
            .find(|r| r.name() == name)
    }
}

/// The VRRP version an instance speaks: RFC 3768 or RFC 5798.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum VrrpVersion {
    V2,
    V3,
}

/// The last state change of an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransitionStatus {
    pub from: InstanceState,
    pub to: InstanceState,
    pub reason: String,
    pub ago_ms: u64,
}

/// One instance (`instances`): state, priorities, the master, timers (remaining, in ms),
/// counters, and where it lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceStatus {
    pub name: String,
    pub vrid: u8,
    pub version: VrrpVersion,
    pub state: InstanceState,
    pub priority: u8,
    pub effective_priority: u8,
    pub master: Option<IpAddr>,
    pub master_priority: Option<u8>,
    pub advert_interval_cs: u64,
    pub master_adver_interval_cs: u64,
    pub skew_time_ms: u64,
    pub master_down_interval_ms: u64,
    pub next_advert_in_ms: Option<u64>,
    pub master_down_in_ms: Option<u64>,
    pub preempt_in_ms: Option<u64>,
    pub hold_in_ms: Option<u64>,
    pub tracks_down: Vec<String>,
    pub other_masters: Vec<IpAddr>,
    pub last_transition: Option<TransitionStatus>,
    pub counters: BTreeMap<String, u64>,
    /// Our own address on the interface: the adverts' source.
    pub primary_address: IpAddr,
    pub interface: String,
    pub group: String,
    pub vmac_interface: Option<String>,
}

/// One sync group (`groups`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupStatus {
    pub name: String,
    pub state: GroupState,
    pub instances: Vec<String>,
}

/// One HA group (`ha_groups`, and the answer to `ha_set`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HaGroupStatus {
    pub name: String,
    pub role: HaRole,
    /// `vrrp-group NAME` or `static ROLE`, as in the config.
    pub source: String,
    pub since_ms: u64,
    pub transitions: u64,
    /// The HA sync with the peer node, on the group IKE listens to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync: Option<crate::ike::runner::HaStatus>,
}

/// One interface VRRP speaks on (`interfaces`), and the frames refused on it by reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterfaceStatus {
    pub name: String,
    pub mac: String,
    pub received: u64,
    pub drops: BTreeMap<String, u64>,
}

/// A reachability probe's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeStatus {
    pub sent: u64,
    pub answered: u64,
}

/// One tracked object (`tracks`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackStatus {
    pub name: String,
    pub up: bool,
    pub link: Option<String>,
    pub port: Option<u16>,
    pub probe: Option<ProbeStatus>,
    pub changes: u64,
}

/// The answer to `switchover`: the group that stepped down and its state before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SwitchoverStatus {
    pub group: String,
    pub was: GroupState,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect()
    }

    #[test]
    fn instance_fields_and_names_are_unchanged() {
        let s = InstanceStatus {
            name: "up".into(),
            vrid: 51,
            version: VrrpVersion::V3,
            state: InstanceState::Master,
            priority: 100,
            effective_priority: 50,
            master: Some("10.0.0.1".parse().unwrap()),
            master_priority: None,
            advert_interval_cs: 100,
            master_adver_interval_cs: 100,
            skew_time_ms: 609,
            master_down_interval_ms: 3609,
            next_advert_in_ms: Some(12),
            master_down_in_ms: None,
            preempt_in_ms: None,
            hold_in_ms: None,
            tracks_down: vec!["link:u0".into()],
            other_masters: vec!["10.0.0.2".parse().unwrap()],
            last_transition: Some(TransitionStatus {
                from: InstanceState::Backup,
                to: InstanceState::Master,
                reason: "MasterDown".into(),
                ago_ms: 7,
            }),
            counters: BTreeMap::from([("adverts_sent".to_string(), 3)]),
            primary_address: "10.0.0.1".parse().unwrap(),
            interface: "u0".into(),
            group: "gw".into(),
            vmac_interface: None,
        };
        let v = serde_json::to_value(&s).unwrap();
        let mut want = vec![
            "name",
            "vrid",
            "version",
            "state",
            "priority",
            "effective_priority",
            "master",
            "master_priority",
            "advert_interval_cs",
            "master_adver_interval_cs",
            "skew_time_ms",
            "master_down_interval_ms",
            "next_advert_in_ms",
            "master_down_in_ms",
            "preempt_in_ms",
            "hold_in_ms",
            "tracks_down",
            "other_masters",
            "last_transition",
            "counters",
            "primary_address",
            "interface",
            "group",
            "vmac_interface",
        ];
        want.sort_unstable();
        let mut got = keys(&v);
        got.sort_unstable();
        assert_eq!(got, want);
        assert_eq!(v["state"], json!("master"));
        assert_eq!(v["version"], json!("V3"));
        assert_eq!(v["master"], json!("10.0.0.1"));
        assert_eq!(v["master_priority"], Value::Null);
        assert_eq!(v["other_masters"], json!(["10.0.0.2"]));
        assert_eq!(v["counters"]["adverts_sent"], json!(3));
        assert_eq!(
            v["last_transition"],
            json!({"from": "backup", "to": "master", "reason": "MasterDown", "ago_ms": 7})
        );
    }

    #[test]
    fn group_and_switchover_keep_the_capitalised_state() {
        let g = GroupStatus {
            name: "gw".into(),
            state: GroupState::Fault,
            instances: vec!["up".into(), "down".into()],
        };
        assert_eq!(
            serde_json::to_value(&g).unwrap(),
            json!({"name": "gw", "state": "Fault", "instances": ["up", "down"]})
        );
        let s = SwitchoverStatus {
            group: "gw".into(),
            was: GroupState::Transition,
        };
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"group": "gw", "was": "Transition"})
        );
    }

    #[test]
    fn ha_group_fields_and_role_names() {
        let h = HaGroupStatus {
            name: "node".into(),
            role: HaRole::Standby,
            source: "vrrp-group gw".into(),
            since_ms: 5,
            transitions: 2,
            sync: None,
        };
        assert_eq!(
            serde_json::to_value(&h).unwrap(),
            json!({"name": "node", "role": "standby", "source": "vrrp-group gw",
                   "since_ms": 5, "transitions": 2})
        );
        assert_eq!(HaRole::from_name("active"), Some(HaRole::Active));
        assert_eq!(HaRole::from_name("Active"), None);
    }

    #[test]
    fn interface_fields_are_unchanged() {
        let i = InterfaceStatus {
            name: "u0".into(),
            mac: "02:00:00:00:00:01".into(),
            received: 9,
            drops: BTreeMap::from([("ttl".to_string(), 1)]),
        };
        assert_eq!(
            serde_json::to_value(&i).unwrap(),
            json!({"name": "u0", "mac": "02:00:00:00:00:01", "received": 9, "drops": {"ttl": 1}})
        );
    }

    #[test]
    fn track_fields_are_unchanged() {
        let t = TrackStatus {
            name: "gw-ping".into(),
            up: false,
            link: None,
            port: Some(1),
            probe: Some(ProbeStatus {
                sent: 4,
                answered: 1,
            }),
            changes: 1,
        };
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            json!({"name": "gw-ping", "up": false, "link": null, "port": 1,
                   "probe": {"sent": 4, "answered": 1}, "changes": 1})
        );
    }

    #[test]
    fn state_names_match_what_is_serialized() {
        for s in [
            InstanceState::Initialize,
            InstanceState::Backup,
            InstanceState::Master,
            InstanceState::Fault,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.name()));
        }
        for r in [HaRole::Active, HaRole::Standby] {
            assert_eq!(serde_json::to_value(r).unwrap(), json!(r.name()));
        }
    }
}
