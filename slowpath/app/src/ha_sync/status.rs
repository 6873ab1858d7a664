//! What `slowpath-ctl ha` shows of the sync: the core's status with each path's name and
//! addresses, and the counters of the I/O around it.

use hasync::{BulkStatus, Counters, PeerState, SyncStatus};
use serde::Serialize;

/// The I/O layer's own counters (the core counts the protocol's).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LinkCounters {
    /// Records the core's queue refused, kept aside for a later flush.
    pub held: u64,
    /// Records dropped because the aside map was full (the next bulk sync carries them).
    pub dropped_pending_full: u64,
    pub send_errors: u64,
    /// Datagrams from an address that is not the path's peer, dropped unread.
    pub foreign_source: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathView {
    pub name: String,
    pub local: String,
    pub peer: String,
    /// Its socket is bound (an address not yet on the node is tried again every second).
    pub bound: bool,
    pub up: bool,
    pub last_heard_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncView {
    pub node: u8,
    pub peer: PeerState,
    /// The peer's bulk sync has completed on the current stream.
    pub in_sync: bool,
    pub paths: Vec<PathView>,
    pub queued_records: usize,
    pub pending_records: usize,
    pub chunks_in_flight: usize,
    pub bulk: BulkStatus,
    pub counters: Counters,
    pub link: LinkCounters,
}

impl SyncView {
    pub fn new(
        s: SyncStatus,
        paths: &[PathView],
        link: &LinkCounters,
        pending_records: usize,
    ) -> SyncView {
        let paths = paths
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let core = s.paths.iter().find(|c| usize::from(c.id) == i);
                PathView {
                    up: core.is_some_and(|c| c.up),
                    last_heard_ms: core.and_then(|c| c.last_heard_ms),
                    ..p.clone()
                }
            })
            .collect();
        SyncView {
            node: s.node,
            peer: s.peer,
            in_sync: s.in_sync,
            paths,
            queued_records: s.queued_records,
            pending_records,
            chunks_in_flight: s.chunks_in_flight,
            bulk: s.bulk,
            counters: s.counters,
            link: link.clone(),
        }
    }
}
