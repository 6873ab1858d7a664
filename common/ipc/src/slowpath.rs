//! What is said to a slow path's control socket (the operator's `slowpath-ctl`).

use serde::{Deserialize, Serialize};

/// An HA group's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HaRole {
    Active,
    Standby,
}

/// Which IKE SAs `terminate` deletes: one by its id, or every one of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TerminateTarget {
    IkeSa { ike_sa: u64 },
    Conn { conn: String },
}

fn default_hold_ms() -> u64 {
    60_000
}

/// A request to a slow path (`"op"` names it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// VRRP instances: state, priority, master, timers, counters.
    Instances,
    /// VRRP sync groups.
    Groups,
    /// HA groups: the node's active/standby role.
    HaGroups,
    /// Interfaces and the frames refused on them.
    Interfaces,
    /// Tracked objects.
    Tracks,
    /// The recent events.
    Events,
    /// The connection then streams events.
    Subscribe,
    /// SNMP trap receivers: rate limit, traps sent, failed and suppressed.
    SnmpTraps,
    /// This node steps down from master in a VRRP group (or the one behind an HA group) and
    /// stays backup for `hold_ms`.
    Switchover {
        group: String,
        #[serde(default = "default_hold_ms")]
        hold_ms: u64,
    },
    /// The operator sets an HA group's role.
    HaSet { ha_group: String, role: HaRole },
    /// IKE SAs.
    IkeSas,
    /// CHILD SAs, with the fast path's view of each.
    ChildSas {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ike_sa: Option<u64>,
    },
    /// IKE drop counters.
    IkeCounters,
    /// Start a connection (and one of its children).
    Initiate {
        conn: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        child: Option<String>,
    },
    /// Delete IKE SAs.
    Terminate(TerminateTarget),
    /// Rekey an IKE SA, or one of its CHILD SAs.
    Rekey {
        ike_sa: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        child: Option<u64>,
    },
    /// Delete every IKE SA.
    Flush,
    /// Delete only what never completed: half-open IKE SAs and queued new CHILD SAs.
    FlushHalfOpen,
    /// Virtual IP pools: size, leased, free, and who holds which address.
    Pools,
    /// Crypto groups: active member, each member's tunnel and peer, switchovers.
    CryptoGroups,
    /// One crypto group.
    CryptoGroup { name: String },
    /// The operator moves a crypto group's traffic to its other member (which must be up).
    CryptoGroupSwitchover { name: String },
}

impl Request {
    /// The op's name on the wire (for logs and refusals).
    pub fn op(&self) -> &'static str {
        match self {
            Request::Instances => "instances",
            Request::Groups => "groups",
            Request::HaGroups => "ha_groups",
            Request::Interfaces => "interfaces",
            Request::Tracks => "tracks",
            Request::Events => "events",
            Request::Subscribe => "subscribe",
            Request::SnmpTraps => "snmp_traps",
            Request::Switchover { .. } => "switchover",
            Request::HaSet { .. } => "ha_set",
            Request::IkeSas => "ike_sas",
            Request::ChildSas { .. } => "child_sas",
            Request::IkeCounters => "ike_counters",
            Request::Initiate { .. } => "initiate",
            Request::Terminate(_) => "terminate",
            Request::Rekey { .. } => "rekey",
            Request::Flush => "flush",
            Request::FlushHalfOpen => "flush_half_open",
            Request::Pools => "pools",
            Request::CryptoGroups => "crypto_groups",
            Request::CryptoGroup { .. } => "crypto_group",
            Request::CryptoGroupSwitchover { .. } => "crypto_group_switchover",
        }
    }
}
