//! Each port's own counters, as its driver keeps them (`rte_eth_stats`), and its link.

use crate::worker::PortJob;
use dpdk::ethdev::{Port, PortStats};
use promtext::{Encoder, Kind};
use std::io::{self, Write};

/// A port the page shows.
pub struct PortSource {
    pub id: u16,
    pub job: PortJob,
    pub port: Port,
}

impl PortSource {
    fn role(&self) -> &'static str {
        match self.job {
            PortJob::Protected => "protected",
            PortJob::Unprotected => "unprotected",
            PortJob::Exception { .. } => "exception",
        }
    }
}

type Field = fn(&PortStats) -> u64;

const COUNTERS: [(&str, &str, Field); 8] = [
    (
        "fastpath_port_rx_packets_total",
        "Packets the port received.",
        |s| s.ipackets,
    ),
    (
        "fastpath_port_rx_bytes_total",
        "Bytes the port received.",
        |s| s.ibytes,
    ),
    (
        "fastpath_port_tx_packets_total",
        "Packets the port sent.",
        |s| s.opackets,
    ),
    (
        "fastpath_port_tx_bytes_total",
        "Bytes the port sent.",
        |s| s.obytes,
    ),
    (
        "fastpath_port_rx_errors_total",
        "Erroneous packets the port received.",
        |s| s.ierrors,
    ),
    (
        "fastpath_port_tx_errors_total",
        "Packets the port failed to send.",
        |s| s.oerrors,
    ),
    (
        "fastpath_port_rx_missed_total",
        "Packets the hardware dropped for want of room in an RX queue (imissed).",
        |s| s.imissed,
    ),
    (
        "fastpath_port_rx_nombuf_total",
        "RX mbuf allocation failures.",
        |s| s.rx_nombuf,
    ),
];

pub fn write<W: Write>(e: &mut Encoder<W>, ports: &[PortSource]) -> io::Result<()> {
    // Read once: every family of a port shows one moment of it.
    let read: Vec<(&PortSource, PortStats)> = ports
        .iter()
        .filter_map(|p| p.port.stats().ok().map(|s| (p, s)))
        .collect();
    for (name, help, field) in COUNTERS {
        let mut f = e.family(name, Kind::Counter, help)?;
        for (p, s) in &read {
            f.sample(&[("port", &p.id), ("role", &p.role())], field(s))?;
        }
    }
    let mut f = e.family(
        "fastpath_port_link_up",
        Kind::Gauge,
        "1 while the port's link is up.",
    )?;
    for p in ports {
        if let Ok(link) = p.port.link() {
            f.sample(&[("port", &p.id), ("role", &p.role())], link.up)?;
        }
    }
    Ok(())
}
