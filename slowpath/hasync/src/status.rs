//! What the node tells its caller and the operator: events, counters and a status view.

use serde::Serialize;

use crate::config::PathId;
use crate::record::Record;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncEvent {
    /// The peer is reachable and authenticated, on a new stream (a bulk sync is requested).
    PeerUp,
    PeerDown(PeerDownReason),
    PathUp(PathId),
    PathDown(PathId),
    /// A record from the peer, in the order the peer offered them.
    Apply(Record),
    /// The peer (re)joined and asks for the whole state: feed it with `bulk_offer`, then
    /// `bulk_end`. A new request (or `PeerDown`) abandons the one before.
    BulkRequested,
    /// The peer's bulk sync is complete and every record before its end has been handed out.
    InSync {
        records: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PeerDownReason {
    /// Nothing authenticated heard within the dead interval.
    DeadInterval,
    /// A chunk reached the retransmission bound.
    RetransmitBound,
    /// The peer started a new stream (it declared us down, or it restarted).
    PeerReset,
    /// The peer's record stream could not be decoded.
    StreamError,
}

/// Why a datagram was dropped unapplied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectReason {
    Truncated,
    WrongVersion,
    /// The sender field names this node or no node.
    BadSender,
    /// It does not authenticate under the sender's key (or a bad header field).
    Forged,
    Replayed,
    TooOld,
    /// From a session of the peer that has been replaced.
    StaleSession,
    /// From a stream that is not the current one (before a reset), or before the handshake.
    StaleStream,
    /// Authenticated, but its frames do not parse.
    Malformed,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RejectCounters {
    pub truncated: u64,
    pub wrong_version: u64,
    pub bad_sender: u64,
    pub forged: u64,
    pub replayed: u64,
    pub too_old: u64,
    pub stale_session: u64,
    pub stale_stream: u64,
    pub malformed: u64,
}

impl RejectCounters {
    pub fn count(&mut self, r: RejectReason) {
        let c = match r {
            RejectReason::Truncated => &mut self.truncated,
            RejectReason::WrongVersion => &mut self.wrong_version,
            RejectReason::BadSender => &mut self.bad_sender,
            RejectReason::Forged => &mut self.forged,
            RejectReason::Replayed => &mut self.replayed,
            RejectReason::TooOld => &mut self.too_old,
            RejectReason::StaleSession => &mut self.stale_session,
            RejectReason::StaleStream => &mut self.stale_stream,
            RejectReason::Malformed => &mut self.malformed,
        };
        *c += 1;
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub datagrams_sent: u64,
    pub datagrams_received: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub chunks_sent: u64,
    pub chunks_retransmitted: u64,
    /// Chunks received twice (a retransmission whose first copy arrived after all).
    pub chunks_duplicate: u64,
    /// Chunks too far ahead of the receive window, dropped.
    pub chunks_beyond_window: u64,
    pub records_offered: u64,
    /// Offered records that replaced a queued one with the same key.
    pub records_coalesced: u64,
    /// Offers refused because the queue was full.
    pub backpressure: u64,
    /// Offers made while the peer was down: dropped, the bulk sync at its return covers them.
    pub records_dropped_peer_down: u64,
    pub records_applied: u64,
    /// Bulk syncs completed, each way.
    pub bulk_syncs_received: u64,
    pub bulk_syncs_served: u64,
    pub peer_up: u64,
    pub peer_down: u64,
    pub rejected: RejectCounters,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PeerState {
    /// No authenticated datagram from the peer's current session.
    Down,
    /// Heard, handshake not complete.
    Connecting,
    Up,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PathStatus {
    pub id: PathId,
    pub up: bool,
    /// Milliseconds since something authenticated arrived on it.
    pub last_heard_ms: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BulkStatus {
    /// This node asked the peer for its state and has not had all of it yet.
    pub receiving: bool,
    pub received_records: u64,
    /// This node is feeding its state to the peer.
    pub serving: bool,
    pub served_records: u64,
}

/// A role-free view of the sync: the daemon adds the HA role around it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    pub node: u8,
    pub peer: PeerState,
    /// The peer's bulk sync has completed since the stream came up.
    pub in_sync: bool,
    pub paths: Vec<PathStatus>,
    pub queued_records: usize,
    pub chunks_in_flight: usize,
    pub bulk: BulkStatus,
    pub counters: Counters,
}
