//! Each worker's counters, as it last published them (the `stats` request sums the same).

use crate::stats::{SharedStats, StatsSnapshot};
use esp::counters::DropReason;
use promtext::{Encoder, Kind};
use std::io::{self, Write};
use std::sync::Arc;

type Field = fn(&StatsSnapshot) -> u64;

const COUNTERS: [(&str, &str, Field); 14] = [
    (
        "fastpath_worker_esp_dummy_total",
        "Dummy packets (next header 59) received and dropped as RFC 4303 says.",
        |s| s.esp.dummy,
    ),
    (
        "fastpath_worker_rx_packets_total",
        "Packets the worker received.",
        |s| s.port.rx_packets,
    ),
    (
        "fastpath_worker_rx_bytes_total",
        "Bytes the worker received.",
        |s| s.port.rx_bytes,
    ),
    (
        "fastpath_worker_tx_packets_total",
        "Packets the worker sent.",
        |s| s.port.tx_packets,
    ),
    (
        "fastpath_worker_tx_bytes_total",
        "Bytes the worker sent.",
        |s| s.port.tx_bytes,
    ),
    (
        "fastpath_worker_tx_full_total",
        "Packets a full TX queue did not take (freed).",
        |s| s.port.tx_full,
    ),
    (
        "fastpath_worker_bypassed_total",
        "Plaintext packets forwarded by a bypass policy.",
        |s| s.port.bypassed,
    ),
    (
        "fastpath_worker_exception_total",
        "Packets given to the kernel through the exception path.",
        |s| s.port.exception,
    ),
    (
        "fastpath_worker_exception_dropped_total",
        "Exception packets dropped for want of an exception port.",
        |s| s.port.exception_dropped,
    ),
    (
        "fastpath_worker_handed_off_total",
        "Packets handed to the worker that owns their SA.",
        |s| s.port.handed_off,
    ),
    (
        "fastpath_worker_to_node_total",
        "Decrypted packets for the node's own addresses, given to the kernel.",
        |s| s.port.to_node,
    ),
    (
        "fastpath_worker_from_node_total",
        "The node's own packets that an outbound policy protected.",
        |s| s.port.from_node,
    ),
    (
        "fastpath_worker_no_route_total",
        "Packets dropped because no route covered their destination.",
        |s| s.port.no_route,
    ),
    (
        "fastpath_worker_neighbour_unresolved_total",
        "Packets dropped because their next hop's MAC was not known.",
        |s| s.port.neighbour_unresolved,
    ),
];

pub fn write<W: Write>(e: &mut Encoder<W>, stats: &[Arc<SharedStats>]) -> io::Result<()> {
    let snaps: Vec<StatsSnapshot> = stats.iter().map(|s| s.read()).collect();
    for (name, help, field) in COUNTERS {
        let mut f = e.family(name, Kind::Counter, help)?;
        for (w, s) in snaps.iter().enumerate() {
            f.sample(&[("worker", &w)], field(s))?;
        }
    }
    let mut f = e.family(
        "fastpath_worker_esp_packets_total",
        Kind::Counter,
        "Packets through ESP: encrypted (out), decrypted (in).",
    )?;
    for (w, s) in snaps.iter().enumerate() {
        for (direction, v) in [("out", s.esp.encrypted), ("in", s.esp.decrypted)] {
            f.sample(&[("worker", &w), ("direction", &direction)], v)?;
        }
    }
    let mut f = e.family(
        "fastpath_worker_drops_total",
        Kind::Counter,
        "Packets dropped, by reason (RFC 4303 / RFC 4301 auditable events).",
    )?;
    for (w, s) in snaps.iter().enumerate() {
        for r in DropReason::ALL {
            f.sample(&[("worker", &w), ("reason", &r.name())], s.esp.drops_of(r))?;
        }
    }
    let mut f = e.family(
        "fastpath_worker_mtu_total",
        Kind::Counter,
        "Fragmentation, ICMP too-big and reassembly, by event.",
    )?;
    for (w, s) in snaps.iter().enumerate() {
        for (event, v) in s.port.mtu.named() {
            f.sample(&[("worker", &w), ("event", &event)], v)?;
        }
    }
    Ok(())
}
