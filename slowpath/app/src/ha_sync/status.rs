//! What `slowpath-ctl ha` shows of the sync: the core's status with each path's name and
//! addresses, the counters of the I/O around it, and how old each SA's seqnum snapshot is.

use hasync::{BulkStatus, Counters, PeerState, SyncStatus};
use serde::Serialize;
use std::time::Duration;

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

/// Rows of `SnapshotLags::oldest` at most: the reply stays small with 100,000 tunnels.
pub const LAG_ROWS: usize = 1000;

/// The newest seqnum snapshot of one CHILD SA side: held (standby) or last offered (active).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotLag {
    /// `0x` and 8 hex digits.
    pub spi: String,
    /// `in` or `out`.
    pub direction: &'static str,
    pub age_ms: u64,
}

/// How old the seqnum snapshots of this node's CHILD SAs are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SnapshotLags {
    /// The oldest newest-snapshot over every side that has one (none: no snapshot yet).
    pub max_ms: Option<u64>,
    /// CHILD SA sides (two per CHILD SA) and those without any snapshot (no traffic yet).
    pub sides: usize,
    pub without_snapshot: usize,
    /// The sides with a snapshot, oldest first, at most `LAG_ROWS`.
    pub oldest: Vec<SnapshotLag>,
}

impl SnapshotLags {
    /// `sides`: each CHILD SA side as (SPI, inbound); `taken_at`: when its newest snapshot
    /// was taken in (relayed or applied), if there is one.
    pub fn new(
        sides: impl Iterator<Item = (u32, bool)>,
        taken_at: impl Fn(u32, bool) -> Option<Duration>,
        now: Duration,
    ) -> SnapshotLags {
        let mut out = SnapshotLags::default();
        let mut ages = Vec::new();
        for (spi, inbound) in sides {
            out.sides += 1;
            match taken_at(spi, inbound) {
                Some(at) => ages.push((now.saturating_sub(at).as_millis() as u64, spi, inbound)),
                None => out.without_snapshot += 1,
            }
        }
        ages.sort_unstable_by(|a, b| b.cmp(a));
        out.max_ms = ages.first().map(|a| a.0);
        out.oldest = ages
            .into_iter()
            .take(LAG_ROWS)
            .map(|(age_ms, spi, inbound)| SnapshotLag {
                spi: format!("{spi:#010x}"),
                direction: if inbound { "in" } else { "out" },
                age_ms,
            })
            .collect();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lags_oldest_first_capped_and_counted() {
        let now = Duration::from_secs(100);
        // Side (spi, inbound) took its snapshot `spi` ms ago; SPI 0 never had one.
        let taken = |spi: u32, _| (spi != 0).then(|| now - Duration::from_millis(spi.into()));
        let sides = [(5, true), (0, false), (2_000, false), (7, true)];
        let l = SnapshotLags::new(sides.into_iter(), taken, now);
        assert_eq!((l.max_ms, l.sides, l.without_snapshot), (Some(2_000), 4, 1));
        let rows: Vec<(&str, &str, u64)> = l
            .oldest
            .iter()
            .map(|r| (r.spi.as_str(), r.direction, r.age_ms))
            .collect();
        assert_eq!(
            rows,
            [
                ("0x000007d0", "out", 2_000),
                ("0x00000007", "in", 7),
                ("0x00000005", "in", 5)
            ]
        );
        let many = (1..=LAG_ROWS as u32 + 5).map(|s| (s, true));
        let l = SnapshotLags::new(many, taken, now);
        assert_eq!((l.sides, l.oldest.len()), (LAG_ROWS + 5, LAG_ROWS));
        assert_eq!(l.oldest[0].age_ms, LAG_ROWS as u64 + 5);
        let none = SnapshotLags::new(std::iter::empty(), taken, now);
        assert_eq!(none, SnapshotLags::default());
    }
}
