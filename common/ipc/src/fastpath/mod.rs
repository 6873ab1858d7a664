//! What is said to a fast path's control socket, and what it answers: requests, their
//! results, the event stream and the HA seqnum stream.

use crate::id::{PolicyId, SaId, SaTarget};
use crate::sa::{Direction, SaMode, SaSpec};
use crate::sp::SpSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;
use toolkit::mac::MacAddr;

pub mod file;

/// A request to a fast path (`"op"` names it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Install an SA. Result: `SaAdded`.
    SaAdd { sa: SaSpec },
    /// Result: `SaRef`.
    SaDel { sa: SaId },
    /// Result: `SaInfo`.
    SaGet { sa: SaId },
    /// Result: `Vec<SaInfo>`, by id.
    SaList,
    /// Result: `PolicyAdded`.
    SpAdd { sp: SpSpec },
    /// Result: `PolicyRef`.
    SpDel { dir: Direction, policy: PolicyId },
    /// Result: `Vec<SpInfo>`.
    SpList { dir: Direction },
    /// HA takeover: outbound continues at the last synced sequence number plus
    /// `oseq_shift`, under IV generation `generation`. Result: `SaCount`.
    SaActivate {
        sa: SaTarget,
        oseq_shift: u64,
        generation: u16,
    },
    /// HA demotion. Result: `SaCount`.
    SaDeactivate { sa: SaTarget },
    /// A standby applies synced seqnum records. Result: `SyncApplied`.
    SaSync { sync: Vec<SeqRecord> },
    /// Result: `SyncStats`.
    SyncStats,
    /// Result: `Stats`.
    Stats,
    /// Result: `Vec<PortInfo>`.
    Ports,
    /// Result: `Vec<IpAddr>`.
    Locals,
    /// Result: `LocalsChanged`.
    LocalAdd { addr: IpAddr },
    /// Result: `LocalsChanged`.
    LocalDel { addr: IpAddr },
    /// The source MAC of a port's frames (a VRRP virtual MAC), or back to its own with
    /// `null`. Result: `PortMacSet`.
    PortMac { port: u16, mac: Option<MacAddr> },
    /// The connection then streams `Event`s. Result: the string "subscribed".
    Subscribe {
        /// Every N ms, an `sa_activity` event (dead peer detection without polling).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        activity_ms: Option<u64>,
    },
    /// The connection then streams `SyncBatch`es. Result: the string "subscribed".
    SyncSubscribe,
}

impl Request {
    /// The op's name on the wire (for logs).
    pub fn op(&self) -> &'static str {
        match self {
            Request::SaAdd { .. } => "sa_add",
            Request::SaDel { .. } => "sa_del",
            Request::SaGet { .. } => "sa_get",
            Request::SaList => "sa_list",
            Request::SpAdd { .. } => "sp_add",
            Request::SpDel { .. } => "sp_del",
            Request::SpList { .. } => "sp_list",
            Request::SaActivate { .. } => "sa_activate",
            Request::SaDeactivate { .. } => "sa_deactivate",
            Request::SaSync { .. } => "sa_sync",
            Request::SyncStats => "sync_stats",
            Request::Stats => "stats",
            Request::Ports => "ports",
            Request::Locals => "locals",
            Request::LocalAdd { .. } => "local_add",
            Request::LocalDel { .. } => "local_del",
            Request::PortMac { .. } => "port_mac",
            Request::Subscribe { .. } => "subscribe",
            Request::SyncSubscribe => "sync_subscribe",
        }
    }
}

/// `sa_add`'s result: the SA and the worker that owns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaAdded {
    pub sa: SaId,
    pub worker: usize,
}

/// `sa_del`'s result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaRef {
    pub sa: SaId,
}

/// `sp_add`'s result: the policy's id in every worker's SPD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyAdded {
    pub policy: PolicyId,
}

/// `sp_del`'s result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRef {
    pub policy: PolicyId,
}

/// `sa_activate` / `sa_deactivate`'s result: how many SAs changed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaCount {
    pub sas: usize,
}

/// An SA's state in a fast path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SaState {
    Active,
    Standby,
    Expired,
}

/// What `sa_get` / `sa_list` show of an SA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaInfo {
    pub id: SaId,
    pub worker: usize,
    /// `0x`-prefixed, as operators read SPIs.
    pub spi: String,
    pub direction: Direction,
    pub mode: SaMode,
    pub transform: String,
    pub backend: String,
    pub state: SaState,
    pub esn: bool,
    pub natt: Option<(u16, u16)>,
    /// Outbound: the last sequence number used.
    pub oseq: u64,
    /// Inbound: the highest authenticated sequence number, and the window size.
    pub window_top: u64,
    pub window_size: u32,
    pub packets: u64,
    pub bytes: u64,
    /// Drops by reason, only the reasons that counted.
    pub drops: BTreeMap<String, u64>,
    pub soft_bytes: u64,
    pub hard_bytes: u64,
    pub soft_packets: u64,
    pub hard_packets: u64,
    /// When a packet last went through (the worker's clock, ns), for dead peer detection.
    pub last_used_ns: u64,
    pub idle_ms: u64,
    pub iv_generation: u16,
}

/// What `sp_list` shows of a policy: its id and the policy itself, as data (a slow path
/// that restarted reads back what it finds installed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpInfo {
    pub id: PolicyId,
    pub sp: SpSpec,
}

/// `stats`: counters summed over the workers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub workers: usize,
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub tx_full: u64,
    pub exception: u64,
    pub bypassed: u64,
    pub to_node: u64,
    pub from_node: u64,
    pub encrypted: u64,
    pub decrypted: u64,
    pub dummy: u64,
    /// ESP drops by reason (every reason, zeros included).
    pub drops: BTreeMap<String, u64>,
    /// Fragmentation and reassembly: fragments in and out, reassembled, and what the
    /// reassembler timed out, evicted and refused.
    #[serde(default)]
    pub mtu: BTreeMap<String, u64>,
}

/// Which side of the gateway a port faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PortRole {
    /// The plaintext side: what comes in is matched against the outbound SPD.
    Protected,
    /// The ESP side: what comes in is decrypted.
    Unprotected,
}

/// `ports`: a configured port and its link as the driver has it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortInfo {
    pub port: u16,
    pub role: PortRole,
    pub exception: Option<u16>,
    pub next_hop: Option<IpAddr>,
    pub link_up: Option<bool>,
    pub speed_mbps: Option<u32>,
}

/// `local_add` / `local_del`: whether the set changed, and the set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalsChanged {
    pub changed: bool,
    pub locals: Vec<IpAddr>,
}

/// `port_mac`'s result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMacSet {
    pub port: u16,
    pub mac: Option<MacAddr>,
}

/// `sa_sync`'s result: records applied (moved an SA forward) of those given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncApplied {
    pub applied: usize,
    pub records: usize,
}

/// `sync_stats`: the seqnum stream's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStats {
    pub drained: u64,
    pub coalesced: u64,
    pub sent: u64,
    pub batches: u64,
}

/// An HA seqnum snapshot of one SA: the highest outbound sequence number used, the inbound
/// window's top and its newest 256 bits, the IV generation, and when it was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeqRecord {
    pub sa: SaId,
    pub spi: u32,
    pub dir: Direction,
    pub oseq: u64,
    pub top: u64,
    pub bits: [u64; 4],
    #[serde(rename = "gen")]
    pub generation: u16,
    pub at_ns: u64,
}

/// One message of the `sync_subscribe` stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncBatch {
    pub v: u32,
    pub sync: Vec<SeqRecord>,
}

/// An inbound SA that received since the last `sa_activity` report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaActivity {
    pub sa: SaId,
    pub spi: String,
    pub last_used_ns: u64,
    pub idle_ms: u64,
    pub packets: u64,
}

/// What the `subscribe` stream carries (`"event"` names it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    SoftLifetime { sa: SaId, spi: String },
    HardLifetime { sa: SaId, spi: String },
    SequenceOverflow { sa: SaId, spi: String },
    SaActivity { sas: Vec<SaActivity> },
}
