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
pub mod route;

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
    /// `oseq_shift` (without it, the shift in force: `sync_settings`), under IV generation
    /// `generation`. Result: `SaCount`.
    SaActivate {
        sa: SaTarget,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        oseq_shift: Option<u64>,
        generation: u16,
    },
    /// HA demotion. Result: `SaCount`.
    SaDeactivate { sa: SaTarget },
    /// A standby applies synced seqnum records. Result: `SyncApplied`.
    SaSync { sync: Vec<SeqRecord> },
    /// Result: `SyncStats`.
    SyncStats,
    /// The seqnum knobs every worker takes from now on (the slow path's `ha` block, sent
    /// at each connection). Result: `SyncSettingsApplied`.
    SyncSettings(SyncSettings),
    /// Result: `Stats`.
    Stats,
    /// Result: `Vec<PortInfo>`.
    Ports,
    /// Result: `Vec<IpAddr>`.
    Locals,
    /// Result: `Routes`: the counts always; the routes `query` selects (all by default: a
    /// FIB of a million routes wants a limit or a prefix); and the FIB's answer for each
    /// address of `query.lookup`.
    Routes(RouteQuery),
    /// Result: `NeighbourList`.
    Neighbours,
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
    /// Several requests in one round trip, carried out in order, each on its own: one
    /// refused does not stop the others. At most `MAX_BATCH`; no batch or subscription
    /// inside. Result: `Vec<BatchResult>`, one per request, in order.
    Batch { requests: Vec<Request> },
}

/// The most requests one `batch` carries (its line stays well under the line bound).
pub const MAX_BATCH: usize = 512;

/// One request's outcome inside a `batch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchResult {
    Ok(serde_json::Value),
    Refused(String),
}

impl BatchResult {
    pub fn into_result(self) -> Result<serde_json::Value, String> {
        match self {
            BatchResult::Ok(v) => Ok(v),
            BatchResult::Refused(e) => Err(e),
        }
    }
}

impl From<Result<serde_json::Value, String>> for BatchResult {
    fn from(r: Result<serde_json::Value, String>) -> Self {
        match r {
            Ok(v) => BatchResult::Ok(v),
            Err(e) => BatchResult::Refused(e),
        }
    }
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
            Request::SyncSettings(_) => "sync_settings",
            Request::Stats => "stats",
            Request::Ports => "ports",
            Request::Locals => "locals",
            Request::Routes(_) => "routes",
            Request::Neighbours => "neighbours",
            Request::LocalAdd { .. } => "local_add",
            Request::LocalDel { .. } => "local_del",
            Request::PortMac { .. } => "port_mac",
            Request::Subscribe { .. } => "subscribe",
            Request::SyncSubscribe => "sync_subscribe",
            Request::Batch { .. } => "batch",
        }
    }

    /// Why this request cannot go inside a `batch`, if it cannot.
    pub fn unbatchable(&self) -> Option<&'static str> {
        match self {
            Request::Batch { .. } => Some("a batch inside a batch"),
            Request::Subscribe { .. } | Request::SyncSubscribe => {
                Some("a subscription takes the connection over")
            }
            _ => None,
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
    /// Sending by destination: no route (and the ICMP errors sent and rate-limited),
    /// unresolved neighbours (and the packets held, sent, dropped).
    #[serde(default)]
    pub routing: BTreeMap<String, u64>,
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

/// One route of the fast path's FIB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteInfo {
    /// `ADDR/LEN`.
    pub prefix: String,
    pub port: u16,
    /// The gateway; `None`: connected (the destination is the neighbour).
    pub via: Option<IpAddr>,
    /// "static" (the file) or "kernel" (mirrored).
    pub origin: String,
}

/// Which routes `routes` lists, and which addresses it looks up (`{"op":"routes"}`: all).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RouteQuery {
    /// At most this many routes; `None`: every one selected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Only the routes inside this prefix (address, length).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<(IpAddr, u8)>,
    /// Addresses to look up as a worker would (longest prefix match).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lookup: Vec<IpAddr>,
}

/// The FIB's answer for one address: the next hop's port and gateway, or no route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteLookup {
    pub addr: IpAddr,
    /// `None`: no route.
    pub port: Option<u16>,
    /// The gateway; `None`: connected, or no route.
    pub via: Option<IpAddr>,
}

/// `routes`: the FIB, and what sending by destination counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routes {
    /// Whether packets are sent by destination (a `route` or `kernel-routes on`).
    pub enabled: bool,
    pub kernel_routes: bool,
    /// The routes the query selected, up to its limit.
    pub routes: Vec<RouteInfo>,
    /// How many routes the query selected before the limit.
    #[serde(default)]
    pub selected: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lookups: Vec<RouteLookup>,
    pub ipv4: usize,
    pub ipv6: usize,
    pub next_hops: usize,
    pub no_route: u64,
    pub neighbour_unresolved: u64,
    /// The kernel mirror's counters by name (empty without `kernel-routes on`).
    pub mirror: BTreeMap<String, u64>,
}

/// One resolved neighbour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighbourInfo {
    pub port: u16,
    pub addr: IpAddr,
    pub mac: MacAddr,
    /// "reachable": the kernel has it and workers use it (unresolved ones are not held).
    pub state: String,
}

/// `neighbours`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighbourList {
    pub neighbours: Vec<NeighbourInfo>,
    /// Who fills the table: "kernel mirror" or "resolver".
    pub source: String,
    pub neighbour_unresolved: u64,
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

/// `sync_stats`: the seqnum stream's counters, and the knobs in force.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStats {
    pub drained: u64,
    pub coalesced: u64,
    pub sent: u64,
    pub batches: u64,
    #[serde(default)]
    pub settings: SyncSettings,
    /// Whether the workers take snapshots (`fastpath --ha-sync`); without it the knobs are
    /// kept for activations but no record is taken.
    #[serde(default)]
    pub snapshots: bool,
}

/// The seqnum knobs (6WIND's `sync-period-packets`, `sync-period-time`, `oseq-shift`, with
/// Cisco's split of the packet trigger by direction). A 0 period disables that trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncSettings {
    /// Packets an inbound SA moves between two records.
    pub period_packets_inbound: u64,
    /// Packets an outbound SA moves between two records.
    pub period_packets_outbound: u64,
    /// Time after which an SA that moved gets a record.
    pub period_time_ms: u64,
    /// How far outbound sequence numbers jump at an activation that names no shift.
    pub oseq_shift: u64,
}

impl SyncSettings {
    /// The largest `oseq_shift`: a jump past 2^32 would leave a 32-bit sequence space.
    pub const MAX_OSEQ_SHIFT: u64 = 1 << 32;
    /// The longest `period_time_ms`: one day (beyond it the time trigger is a typo).
    pub const MAX_PERIOD_TIME_MS: u64 = 86_400_000;

    /// Refuses what no fast path may take: a shift of 0 or above 2^32, a period over a day.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=Self::MAX_OSEQ_SHIFT).contains(&self.oseq_shift) {
            return Err(format!(
                "oseq_shift {}: 1 to {}",
                self.oseq_shift,
                Self::MAX_OSEQ_SHIFT
            ));
        }
        if self.period_time_ms > Self::MAX_PERIOD_TIME_MS {
            return Err(format!(
                "period_time_ms {}: at most {}",
                self.period_time_ms,
                Self::MAX_PERIOD_TIME_MS
            ));
        }
        Ok(())
    }
}

impl Default for SyncSettings {
    /// 6WIND's defaults: a record every 2 packets or 10 s, a jump of 65536.
    fn default() -> Self {
        SyncSettings {
            period_packets_inbound: 2,
            period_packets_outbound: 2,
            period_time_ms: 10_000,
            oseq_shift: 65536,
        }
    }
}

/// `sync_settings`' result: the knobs now in force, and how many workers took them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncSettingsApplied {
    pub settings: SyncSettings,
    pub workers: usize,
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
