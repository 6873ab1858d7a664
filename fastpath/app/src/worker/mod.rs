//! The worker lcore's poll loop, run to completion: receive a burst, classify, look up the
//! SPD/SAD, encrypt or decrypt the whole burst, frame, transmit. Nothing here allocates,
//! locks or makes a syscall per packet (the idle sleep is per empty poll, and off by default).
//! Each direction and side job has its module: [`outbound`], [`inbound`], [`exception`] (to
//! and from the kernel), [`handoff`] (between workers), [`commands`] (the control socket's
//! requests), [`fragment`] (ESP packets over the MTU) and [`transmit`].

mod commands;
mod exception;
mod fragment;
mod handoff;
mod holding;
mod inbound;
mod outbound;
mod route;
mod router;
mod transmit;
mod unreachable;

pub use handoff::Handoff;
pub use router::{ResolveRequests, Router};

use crate::config::PortRole;
use crate::control::command::Inbox;
use crate::ether;
use crate::mtu::MtuPath;
use crate::stats::{PortCounters, SharedStats};
use crate::tables::Tables;
use dpdk::ethdev::{RxQueue, TxQueue};
use dpdk::mbuf::{Mbuf, MbufBurst};
use dpdk::timer;
use esp::buf::PacketBuf;
use esp::lcore::Lcore;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Packets per receive burst. ipsec-secgw takes 32, but its crypto device carries unfinished
/// jobs over to the next burst; ours completes each burst (flushing the multi-buffer lanes),
/// and 64 packets per flush keep the lanes fuller: about 20 % more packets/s with AES-CBC +
/// HMAC-SHA1 on IMIX, and no measurable gain at 128 (A/B as in `bench/ab_fastpath.sh`).
pub const BURST: usize = 64;

/// Poll iterations between two polls of the exception (TAP) ports.
const EXCEPTION_POLL_EVERY: u32 = 16;

/// What a worker does with packets of one port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortJob {
    /// Plaintext side: outbound SPD, encrypt, send on the unprotected port.
    Protected,
    /// ESP side: decrypt, send on the protected port.
    Unprotected,
    /// The kernel's side (a TAP): what it sends goes out of the port at this index.
    Exception { of: usize },
}

impl From<PortRole> for PortJob {
    fn from(r: PortRole) -> Self {
        match r {
            PortRole::Protected => PortJob::Protected,
            PortRole::Unprotected => PortJob::Unprotected,
        }
    }
}

/// One port as a worker sees it: its own RX and TX queue, and the framing it needs.
pub struct PortIo {
    pub port: u16,
    pub job: PortJob,
    pub rx: RxQueue,
    pub tx: TxQueue,
    /// The source MAC of the frames the fast path builds (`own_mac`, or a VRRP virtual MAC).
    pub mac: [u8; 6],
    /// The MAC the port speaks with by itself (its TAP's, when it has one).
    pub own_mac: [u8; 6],
    pub peer_mac: [u8; 6],
    /// Index of this port's exception (TAP) port, if it has one.
    pub exception: Option<usize>,
    /// Never polled (a pure sink).
    pub tx_only: bool,
    /// The largest IP packet the port sends (its MTU).
    pub mtu: usize,
    /// The next hop's MAC as the resolver last saw it in the kernel's neighbour table
    /// (48 bits; 0 while unresolved, and then `peer_mac` is used).
    pub next_hop_mac: Arc<AtomicU64>,
    /// With routes: whether the port's own next hop (`peer-mac` / `next-hop`) is the default
    /// route of what its role sends.
    pub default_route: bool,
}

/// When a worker stops by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopWhen {
    /// Only when told (the stop flag).
    Told,
    /// When the input is drained: no packet for this long (pcap files, tests).
    IdleFor(Duration),
}

/// A worker and everything it owns.
pub struct Worker {
    pub index: usize,
    pub ports: Vec<PortIo>,
    /// Indices in `ports` of the protected and the unprotected port.
    pub protected: usize,
    pub unprotected: usize,
    pub tables: Tables,
    pub esp: Lcore,
    pub counters: PortCounters,
    pub shared: Arc<SharedStats>,
    pub stop: Arc<AtomicBool>,
    /// Sleep this long after a run of empty polls (0: busy-poll, the default).
    pub idle_sleep: Duration,
    pub stop_when: StopWhen,
    /// With more than one worker: the rings to the SAs' owners.
    pub handoff: Option<Handoff>,
    /// `--latency`: per-burst processing time (None: not measured).
    pub latency: Option<crate::latency::Recorder>,
    /// The node's own addresses: traffic to them (and multicast) goes to the kernel.
    pub locals: Arc<[IpAddr]>,
    /// Requests from the control socket, served between bursts.
    pub inbox: Inbox,
    /// Fragmentation, ICMP too-big and reassembly.
    pub mtu: MtuPath,
    /// With routes (static or the kernel's): send by destination (None: each port to its
    /// one next hop).
    pub router: Option<Router>,
}

/// An mbuf seen as the ESP core's packet buffer.
pub(super) struct View<'a>(&'a mut Mbuf);

impl PacketBuf for View<'_> {
    fn data(&self) -> &[u8] {
        self.0.data()
    }
    fn data_mut(&mut self) -> &mut [u8] {
        self.0.data_mut()
    }
    fn prepend(&mut self, len: usize) -> bool {
        u16::try_from(len).is_ok_and(|l| self.0.prepend(l).is_some())
    }
    fn append(&mut self, len: usize) -> bool {
        u16::try_from(len).is_ok_and(|l| self.0.append(l).is_some())
    }
    fn adj(&mut self, len: usize) -> bool {
        u16::try_from(len).is_ok_and(|l| self.0.adj(l))
    }
    fn trim(&mut self, len: usize) -> bool {
        u16::try_from(len).is_ok_and(|l| self.0.trim(l))
    }
    fn keep(&mut self, at: usize, len: usize) -> bool {
        match (u16::try_from(at), u16::try_from(len)) {
            (Ok(at), Ok(len)) => self.0.keep(at, len),
            _ => false,
        }
    }
}

/// Empty polls before the idle sleep starts (keeps bursts of traffic on the busy path).
const IDLE_POLLS_BEFORE_SLEEP: u32 = 64;

impl Worker {
    /// The poll loop; returns when stopped.
    pub fn run(mut self) -> i32 {
        let hz = timer::tsc_hz().max(1);
        let publish_every = hz / 1000;
        let mut rx = MbufBurst::<BURST>::default();
        let mut last_publish = timer::tsc();
        let mut last_packet = last_publish;
        let mut idle_streak = 0u32;
        let mut polls = 0u32;
        while !self.stop.load(Ordering::Relaxed) {
            let now = timer::tsc();
            let now_ns = timer::cycles_to_ns(now, hz);
            self.release_held(now_ns);
            let mut got = 0;
            // A TAP's receive is a read() system call: poll the kernel's side only now and then.
            polls = polls.wrapping_add(1);
            let poll_exception = polls.is_multiple_of(EXCEPTION_POLL_EVERY);
            for p in 0..self.ports.len() {
                if self.ports[p].tx_only
                    || (!poll_exception && matches!(self.ports[p].job, PortJob::Exception { .. }))
                {
                    continue;
                }
                let n = self.ports[p].rx.rx_burst(&mut rx);
                if n == 0 {
                    continue;
                }
                let t0 = match self.latency.as_mut() {
                    Some(l) => {
                        l.begin();
                        timer::tsc()
                    }
                    None => 0,
                };
                got += n;
                self.counters.rx_packets += n as u64;
                // (the two directions count their bytes in their first pass over the burst)
                if matches!(self.ports[p].job, PortJob::Exception { .. }) {
                    self.counters.rx_bytes += rx
                        .as_slice()
                        .iter()
                        .map(|m| m.pkt_len() as u64)
                        .sum::<u64>();
                }
                match self.ports[p].job {
                    PortJob::Protected => self.outbound(p, &mut rx, now_ns),
                    PortJob::Unprotected => self.inbound(p, &mut rx, now_ns),
                    PortJob::Exception { of } => self.kernel_sent(of, &mut rx, now_ns),
                }
                if let Some(l) = self.latency.as_mut() {
                    l.record(timer::tsc().wrapping_sub(t0));
                }
            }
            got += self.poll_handoff(&mut rx, now_ns);
            if got > 0 {
                idle_streak = 0;
                last_packet = now;
            } else {
                self.counters.idle_polls += 1;
                idle_streak = idle_streak.saturating_add(1);
                if let StopWhen::IdleFor(d) = self.stop_when {
                    if timer::cycles_to_ns(now - last_packet, hz) >= d.as_nanos() as u64 {
                        break;
                    }
                }
                if !self.idle_sleep.is_zero() && idle_streak > IDLE_POLLS_BEFORE_SLEEP {
                    std::thread::sleep(self.idle_sleep);
                }
            }
            if now - last_publish >= publish_every {
                self.esp.sweep_snapshots(&mut self.tables.sad, now_ns, 256);
                self.serve_commands(now_ns);
                self.mtu.reassembler.expire(now_ns);
                self.counters.mtu = self.mtu.counters();
                self.shared.publish(&self.counters, &self.esp.counters);
                last_publish = now;
            }
        }
        self.counters.mtu = self.mtu.counters();
        self.shared.publish(&self.counters, &self.esp.counters);
        0
    }
}

/// Whether a frame carries IPv4 or IPv6.
pub(super) fn is_ip(m: &Mbuf) -> bool {
    matches!(
        ether::ethertype(m.data()),
        Some(ether::ETHERTYPE_IPV4 | ether::ETHERTYPE_IPV6)
    )
}
