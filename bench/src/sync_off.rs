//! The HA snapshot policy of the benchmarks that run the ESP core alone.

use esp::snapshot::SyncPolicy;

/// Both snapshot triggers off: there is no sync consumer.
pub fn sync_off() -> SyncPolicy {
    SyncPolicy {
        period_packets_inbound: 0,
        period_packets_outbound: 0,
        period_ns: 0,
        oseq_shift: 0,
    }
}
