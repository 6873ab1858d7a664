//! Counters a worker publishes for the main lcore: each worker counts in plain integers on
//! its own, and now and then stores them into its own atomics (one writer, relaxed stores,
//! no locks); readers sum the workers.

use esp::counters::{DropReason, LcoreCounters};
use std::sync::atomic::{AtomicU64, Ordering};

/// What a worker counts besides the ESP core's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortCounters {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// Packets the TX queue did not take (freed).
    pub tx_full: u64,
    /// Non-ESP, non-IP or node-local packets for the kernel (exception path).
    pub exception: u64,
    /// Exception packets dropped because no exception port is configured.
    pub exception_dropped: u64,
    /// Plaintext forwarded by a bypass policy.
    pub bypassed: u64,
    /// Packets handed to the worker that owns their SA (several workers).
    pub handed_off: u64,
    /// Decrypted packets for the node's own addresses, given to the kernel.
    pub to_node: u64,
    /// The node's own packets (from the kernel) that an outbound policy protected.
    pub from_node: u64,
    /// Packets dropped because the FIB had no route for their destination.
    pub no_route: u64,
    /// Packets whose next hop's MAC was not known (resolution was asked; they are held).
    pub neighbour_unresolved: u64,
    /// ICMP destination unreachable sent for packets without a route, and those the rate
    /// limit held back.
    pub icmp_unreachable_sent: u64,
    pub icmp_unreachable_rate_limited: u64,
    /// Packets held for an unresolved neighbour; sent once it resolved; dropped (pushed out
    /// of a full queue, or held too long).
    pub held: u64,
    pub held_sent: u64,
    pub held_dropped: u64,
    /// Poll iterations that found nothing, and the idle sleeps taken.
    pub idle_polls: u64,
    /// Fragmentation, ICMP too-big and reassembly.
    pub mtu: crate::mtu::MtuCounters,
}

const PORT_FIELDS: usize = 29;
const ESP_FIELDS: usize = 3 + DropReason::ALL.len();

/// One worker's published counters.
#[derive(Debug)]
pub struct SharedStats {
    port: [AtomicU64; PORT_FIELDS],
    esp: [AtomicU64; ESP_FIELDS],
}

impl Default for SharedStats {
    fn default() -> Self {
        SharedStats {
            port: std::array::from_fn(|_| AtomicU64::new(0)),
            esp: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// A consistent-enough copy of the counters (each field is exact; fields may be a poll apart).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub port: PortCounters,
    pub esp: LcoreCounters,
}

impl SharedStats {
    /// Stores the worker's counters (the worker is the only writer).
    pub fn publish(&self, port: &PortCounters, esp: &LcoreCounters) {
        let p = [
            port.rx_packets,
            port.rx_bytes,
            port.tx_packets,
            port.tx_bytes,
            port.tx_full,
            port.exception,
            port.exception_dropped,
            port.bypassed,
            port.idle_polls,
            port.mtu.fragmented,
            port.mtu.fragments_out,
            port.mtu.icmp_too_big,
            port.mtu.fragments_in,
            port.mtu.reassembled,
            port.mtu.dropped,
            port.handed_off,
            port.to_node,
            port.from_node,
            port.mtu.reassembly_timed_out,
            port.mtu.reassembly_evicted,
            port.mtu.reassembly_refused,
            port.mtu.to_kernel_fragmented,
            port.no_route,
            port.neighbour_unresolved,
            port.icmp_unreachable_sent,
            port.icmp_unreachable_rate_limited,
            port.held,
            port.held_sent,
            port.held_dropped,
        ];
        for (a, v) in self.port.iter().zip(p) {
            a.store(v, Ordering::Relaxed);
        }
        let e = [esp.encrypted, esp.decrypted, esp.dummy];
        for (a, v) in self.esp.iter().zip(e.iter().chain(esp.drops.iter())) {
            a.store(*v, Ordering::Relaxed);
        }
    }

    /// Reads what was last published.
    pub fn read(&self) -> StatsSnapshot {
        let p: [u64; PORT_FIELDS] = std::array::from_fn(|i| self.port[i].load(Ordering::Relaxed));
        let e: [u64; ESP_FIELDS] = std::array::from_fn(|i| self.esp[i].load(Ordering::Relaxed));
        let mut esp = LcoreCounters {
            encrypted: e[0],
            decrypted: e[1],
            dummy: e[2],
            ..LcoreCounters::default()
        };
        esp.drops.copy_from_slice(&e[3..]);
        StatsSnapshot {
            port: PortCounters {
                rx_packets: p[0],
                rx_bytes: p[1],
                tx_packets: p[2],
                tx_bytes: p[3],
                tx_full: p[4],
                exception: p[5],
                exception_dropped: p[6],
                bypassed: p[7],
                idle_polls: p[8],
                mtu: crate::mtu::MtuCounters {
                    fragmented: p[9],
                    fragments_out: p[10],
                    icmp_too_big: p[11],
                    fragments_in: p[12],
                    reassembled: p[13],
                    dropped: p[14],
                    reassembly_timed_out: p[18],
                    reassembly_evicted: p[19],
                    reassembly_refused: p[20],
                    to_kernel_fragmented: p[21],
                },
                handed_off: p[15],
                to_node: p[16],
                from_node: p[17],
                no_route: p[22],
                neighbour_unresolved: p[23],
                icmp_unreachable_sent: p[24],
                icmp_unreachable_rate_limited: p[25],
                held: p[26],
                held_sent: p[27],
                held_dropped: p[28],
            },
            esp,
        }
    }
}

impl PortCounters {
    /// The counters of sending by destination by the name operators read (`--json`'s
    /// `routing`, `fastpath-ctl stats`).
    pub fn routing_named(&self) -> [(&'static str, u64); 7] {
        [
            ("no_route", self.no_route),
            ("neighbour_unresolved", self.neighbour_unresolved),
            ("icmp_unreachable_sent", self.icmp_unreachable_sent),
            (
                "icmp_unreachable_rate_limited",
                self.icmp_unreachable_rate_limited,
            ),
            ("held", self.held),
            ("held_sent", self.held_sent),
            ("held_dropped", self.held_dropped),
        ]
    }
}

impl StatsSnapshot {
    /// Adds another worker's snapshot.
    pub fn add(&mut self, o: &StatsSnapshot) {
        let (a, b) = (&mut self.port, &o.port);
        a.rx_packets += b.rx_packets;
        a.rx_bytes += b.rx_bytes;
        a.tx_packets += b.tx_packets;
        a.tx_bytes += b.tx_bytes;
        a.tx_full += b.tx_full;
        a.exception += b.exception;
        a.exception_dropped += b.exception_dropped;
        a.bypassed += b.bypassed;
        a.handed_off += b.handed_off;
        a.to_node += b.to_node;
        a.from_node += b.from_node;
        a.no_route += b.no_route;
        a.neighbour_unresolved += b.neighbour_unresolved;
        a.icmp_unreachable_sent += b.icmp_unreachable_sent;
        a.icmp_unreachable_rate_limited += b.icmp_unreachable_rate_limited;
        a.held += b.held;
        a.held_sent += b.held_sent;
        a.held_dropped += b.held_dropped;
        a.idle_polls += b.idle_polls;
        a.mtu.fragmented += b.mtu.fragmented;
        a.mtu.fragments_out += b.mtu.fragments_out;
        a.mtu.icmp_too_big += b.mtu.icmp_too_big;
        a.mtu.fragments_in += b.mtu.fragments_in;
        a.mtu.reassembled += b.mtu.reassembled;
        a.mtu.dropped += b.mtu.dropped;
        a.mtu.reassembly_timed_out += b.mtu.reassembly_timed_out;
        a.mtu.reassembly_evicted += b.mtu.reassembly_evicted;
        a.mtu.reassembly_refused += b.mtu.reassembly_refused;
        a.mtu.to_kernel_fragmented += b.mtu.to_kernel_fragmented;
        self.esp.add(&o.esp);
    }

    /// Total drops over every reason.
    pub fn drops(&self) -> u64 {
        self.esp.drops.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_then_read_gives_the_same_counters() {
        let s = SharedStats::default();
        let port = PortCounters {
            rx_packets: 1,
            rx_bytes: 2,
            tx_packets: 3,
            tx_bytes: 4,
            tx_full: 5,
            exception: 6,
            exception_dropped: 7,
            bypassed: 8,
            handed_off: 19,
            to_node: 20,
            from_node: 21,
            no_route: 26,
            neighbour_unresolved: 27,
            icmp_unreachable_sent: 28,
            icmp_unreachable_rate_limited: 29,
            held: 30,
            held_sent: 31,
            held_dropped: 32,
            idle_polls: 9,
            mtu: crate::mtu::MtuCounters {
                fragmented: 13,
                fragments_out: 14,
                icmp_too_big: 15,
                fragments_in: 16,
                reassembled: 17,
                dropped: 18,
                reassembly_timed_out: 22,
                reassembly_evicted: 23,
                reassembly_refused: 24,
                to_kernel_fragmented: 25,
            },
        };
        let mut esp = LcoreCounters {
            encrypted: 10,
            decrypted: 11,
            dummy: 12,
            ..Default::default()
        };
        esp.drop(DropReason::Replay);
        s.publish(&port, &esp);
        let r = s.read();
        assert_eq!(r.port, port);
        assert_eq!(r.esp, esp);
        let mut sum = r.clone();
        sum.add(&r);
        assert_eq!(sum.port.rx_packets, 2);
        assert_eq!(sum.port.mtu.reassembly_refused, 48);
        assert_eq!(sum.port.held_dropped, 64);
        assert_eq!(
            sum.port.routing_named().map(|(_, v)| v),
            [52, 54, 56, 58, 60, 62, 64]
        );
        assert_eq!(sum.drops(), 2);
    }
}
