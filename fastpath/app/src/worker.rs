//! The worker lcore's poll loop, run to completion: receive a burst, classify, look up the
//! SPD/SAD, encrypt or decrypt the whole burst, frame, transmit. Nothing here allocates,
//! locks or makes a syscall per packet (the idle sleep is per empty poll, and off by default).

use crate::config::PortRole;
use crate::control::command::{apply, Command, Inbox, Reply};
use crate::ether;
use crate::mtu::{Fit, MtuPath};
use crate::stats::{PortCounters, SharedStats};
use crate::tables::owner;
use crate::tables::Tables;
use arrayvec::ArrayVec;
use dpdk::ethdev::{RxQueue, TxQueue};
use dpdk::mbuf::{Mbuf, MbufBurst};
use dpdk::ring::{RingConsumer, RingProducer};
use dpdk::timer;
use esp::buf::PacketBuf;
use esp::counters::DropReason;
use esp::inbound::{classify, decrypt_burst, flow_key, Classified};
use esp::lcore::Lcore;
use esp::outbound::encrypt_burst;
use esp::sa::SaId;
use esp::spd::{Action, Spd};
use esp::verdict::Verdict;
use esp::wire::ip::IpHeader;
use esp::wire::{proto, IKE_PORT, NAT_T_PORT};
use std::collections::HashMap;
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

/// Room for the fragments of a burst's oversized ESP packets, flushed as it fills.
const FRAGMENT_BURST: usize = 64;
/// Fragments one ESP packet can take (a 9216-byte packet over a 576-byte MTU).
const FRAGMENTS_PER_PACKET: usize = 18;

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
}

/// When a worker stops by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopWhen {
    /// Only when told (the stop flag).
    Told,
    /// When the input is drained: no packet for this long (pcap files, tests).
    IdleFor(Duration),
}

/// Rings that carry a packet to the worker that owns its SA, so that each SA has one writer
/// (its sequence numbers and replay window are exact with any number of workers).
pub struct Handoff {
    /// Producers toward each worker (outbound, inbound); `None` for this worker itself.
    pub to: Vec<Option<(RingProducer, RingProducer)>>,
    /// What other workers hand to this one (outbound, inbound).
    pub from: (RingConsumer, RingConsumer),
    /// Inbound SPI -> owning worker (this worker's copy; the control socket updates it).
    pub spi_owner: HashMap<u32, usize>,
    /// Packets waiting for the next enqueue, per worker and direction (allocated once).
    pending: Vec<(MbufBurst<BURST>, MbufBurst<BURST>)>,
}

impl Handoff {
    pub fn new(
        to: Vec<Option<(RingProducer, RingProducer)>>,
        from: (RingConsumer, RingConsumer),
        spi_owner: HashMap<u32, usize>,
    ) -> Handoff {
        let pending = (0..to.len()).map(|_| Default::default()).collect();
        Handoff {
            to,
            from,
            spi_owner,
            pending,
        }
    }

    fn workers(&self) -> usize {
        self.to.len()
    }
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
}

/// An mbuf seen as the ESP core's packet buffer.
struct View<'a>(&'a mut Mbuf);

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
}

/// Where the outbound classifier sends a packet.
enum Outbound {
    Protect(SaId),
    Bypass,
    Exception,
    Drop(DropReason),
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
                self.counters.rx_bytes += rx
                    .as_slice()
                    .iter()
                    .map(|m| m.pkt_len() as u64)
                    .sum::<u64>();
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
                self.counters.mtu = self.mtu.counters.clone();
                self.shared.publish(&self.counters, &self.esp.counters);
                last_publish = now;
            }
        }
        self.counters.mtu = self.mtu.counters.clone();
        self.shared.publish(&self.counters, &self.esp.counters);
        0
    }

    /// The kernel's frames from the TAP of port `of`: out of that port as they are, except the
    /// node's own IP traffic that an outbound policy protects (say, the answer to a ping of
    /// the gateway's inside address through the tunnel), which is encrypted as forwarded
    /// traffic is. See [`protectable_ip`] for what is never protected.
    fn kernel_sent(&mut self, of: usize, rx: &mut MbufBurst<BURST>, now_ns: u64) {
        let mut protect = MbufBurst::<BURST>::default();
        let mut as_is = MbufBurst::<BURST>::default();
        for m in rx.take_all() {
            let covered = protectable_ip(m.data()).is_some_and(|(h, ip)| {
                matches!(
                    self.tables.spd_out.lookup(&flow_key(&h, ip)),
                    Some((_, p)) if matches!(p.action, Action::Protect(_))
                )
            });
            let _ = if covered {
                protect.push(m)
            } else {
                as_is.push(m)
            };
        }
        if !as_is.is_empty() {
            self.transmit(of, &mut as_is);
        }
        if !protect.is_empty() {
            self.counters.from_node += protect.len() as u64;
            self.outbound(self.protected, &mut protect, now_ns);
        }
    }

    /// Plaintext from the protected port (or the node's own, from its kernel): SPD, encrypt,
    /// frame, send.
    fn outbound(&mut self, from: usize, rx: &mut MbufBurst<BURST>, now_ns: u64) {
        let mut enc = MbufBurst::<BURST>::default();
        let mut enc_sa = [SaId(0); BURST];
        let mut too_big = MbufBurst::<BURST>::default();
        let mut too_big_for_node = MbufBurst::<BURST>::default();
        let mut bypass = MbufBurst::<BURST>::default();
        for mut m in rx.take_all() {
            match classify_outbound(&self.tables.spd_out, &self.locals, &mut m) {
                Outbound::Protect(sa) => match self.foreign_owner(sa) {
                    Some(v) => {
                        // The owner classifies it again: give it the frame as received.
                        let _ = m.prepend(ether::HEADER_LEN as u16);
                        self.hand_off(v, false, m);
                    }
                    None => {
                        let mtu = self.ports[self.unprotected].mtu;
                        let fit = match self.tables.sad.get(sa) {
                            Some(s) => self.mtu.check(s, m.data(), mtu, &self.locals),
                            None => Fit::Fits,
                        };
                        match fit {
                            Fit::Fits | Fit::FragmentAfter => {
                                enc_sa[enc.len()] = sa;
                                let _ = enc.push(m);
                            }
                            Fit::TooBigFromNode(Some(icmp)) => {
                                let _ = too_big_for_node.push(icmp);
                            }
                            Fit::TooBig(Some(icmp)) => {
                                let _ = too_big.push(icmp);
                            }
                            Fit::TooBig(None) | Fit::TooBigFromNode(None) => {
                                self.mtu.counters.dropped += 1
                            }
                        }
                    }
                },
                Outbound::Bypass => {
                    let _ = bypass.push(m);
                }
                Outbound::Exception => self.exception(from, m),
                Outbound::Drop(reason) => self.esp.counters.drop(reason),
            }
        }
        self.flush_handoff();
        let n = enc.len();
        if n > 0 {
            let mut verdicts = [Verdict::Forward; BURST];
            {
                let mut views: ArrayVec<View<'_>, BURST> =
                    enc.as_mut_slice().iter_mut().map(View).collect();
                encrypt_burst(
                    &mut self.esp,
                    &mut self.tables.sad,
                    &mut views,
                    &enc_sa[..n],
                    &mut verdicts[..n],
                    now_ns,
                );
            }
            let mtu = self.ports[self.unprotected].mtu;
            let mut oversized = false;
            let mut i = 0;
            enc.retain(|m| {
                i += 1;
                oversized |= m.pkt_len() as usize > mtu;
                verdicts[i - 1] == Verdict::Forward
            });
            if oversized {
                self.fragment_oversized(&mut enc);
            }
            self.frame_and_send(self.unprotected, &mut enc);
        }
        if !bypass.is_empty() {
            self.counters.bypassed += bypass.len() as u64;
            self.frame_and_send(self.unprotected, &mut bypass);
        }
        if !too_big.is_empty() {
            self.frame_and_send(self.protected, &mut too_big);
        }
        if !too_big_for_node.is_empty() {
            self.give_to_kernel(self.unprotected, &mut too_big_for_node);
        }
    }

    /// Replaces each ESP packet of `enc` larger than the unprotected port's MTU by its
    /// fragments (sent at once); the others stay.
    fn fragment_oversized(&mut self, enc: &mut MbufBurst<BURST>) {
        let mtu = self.ports[self.unprotected].mtu;
        if enc.as_slice().iter().all(|m| m.pkt_len() as usize <= mtu) {
            return;
        }
        let mut keep = MbufBurst::<BURST>::default();
        let mut fragments = MbufBurst::<FRAGMENT_BURST>::default();
        for m in enc.take_all() {
            if m.pkt_len() as usize <= mtu {
                let _ = keep.push(m);
                continue;
            }
            if fragments.spare() < FRAGMENTS_PER_PACKET {
                self.frame_and_send(self.unprotected, &mut fragments);
            }
            self.mtu.fragment(m, mtu, &mut fragments);
        }
        self.frame_and_send(self.unprotected, &mut fragments);
        *enc = keep;
    }

    /// ESP (and anything else) from the unprotected port: decrypt, frame, send.
    fn inbound(&mut self, from: usize, rx: &mut MbufBurst<BURST>, now_ns: u64) {
        let mut ip = MbufBurst::<BURST>::default();
        for mut m in rx.take_all() {
            if !is_ip(&m) {
                self.exception(from, m);
                continue;
            }
            if let Some(v) = self.spi_foreign_owner(&m) {
                self.hand_off(v, true, m);
                continue;
            }
            m.adj(ether::HEADER_LEN as u16);
            let _ = ip.push(m);
        }
        self.flush_handoff();
        if ip.is_empty() {
            return;
        }
        let mut out = MbufBurst::<BURST>::default();
        let mut fragments = MbufBurst::<BURST>::default();
        self.decrypt_and_dispatch(from, &mut ip, &mut out, &mut fragments, now_ns);
        // Outer fragments: whole packets once reassembled, then decrypted like the others.
        let mut whole = MbufBurst::<BURST>::default();
        for m in fragments.take_all() {
            if let Some(w) = self.mtu.reassemble(m, now_ns) {
                let _ = whole.push(w);
            }
        }
        if !whole.is_empty() {
            let mut nested = MbufBurst::<BURST>::default();
            self.decrypt_and_dispatch(from, &mut whole, &mut out, &mut nested, now_ns);
            self.mtu.counters.dropped += nested.len() as u64;
        }
        self.frame_and_send(self.protected, &mut out);
    }

    /// Decrypts a burst of IP packets: what is forwarded goes into `out`, outer fragments into
    /// `fragments`, the rest to the kernel or away.
    fn decrypt_and_dispatch(
        &mut self,
        from: usize,
        ip: &mut MbufBurst<BURST>,
        out: &mut MbufBurst<BURST>,
        fragments: &mut MbufBurst<BURST>,
        now_ns: u64,
    ) {
        let n = ip.len();
        let mut verdicts = [Verdict::Forward; BURST];
        {
            let mut views: ArrayVec<View<'_>, BURST> =
                ip.as_mut_slice().iter_mut().map(View).collect();
            decrypt_burst(
                &mut self.esp,
                &mut self.tables.sad,
                &mut views,
                &mut verdicts[..n],
                now_ns,
            );
        }
        let mut for_node = MbufBurst::<BURST>::default();
        for (m, v) in ip.take_all().zip(verdicts) {
            match v {
                Verdict::Forward if !is_for_node(&self.locals, m.data()) => {
                    let _ = out.push(m);
                }
                Verdict::Forward => {
                    let _ = for_node.push(m);
                }
                Verdict::Exception => match plaintext_policy(&self.tables.spd_in, &self.locals, &m)
                {
                    Plaintext::ForNode => {
                        let mut m = m;
                        let _ = m.prepend(ether::HEADER_LEN as u16);
                        self.exception(from, m);
                    }
                    Plaintext::Policy(Action::Bypass) => {
                        self.counters.bypassed += 1;
                        let _ = out.push(m);
                    }
                    Plaintext::Policy(Action::Discard) => {
                        self.esp.counters.drop(DropReason::PolicyDiscard)
                    }
                    // Unprotected traffic that a protect policy covers must not pass in clear.
                    Plaintext::Policy(Action::Protect(_)) => {
                        self.esp.counters.drop(DropReason::PolicyMismatch)
                    }
                    Plaintext::NoPolicy => self.esp.counters.drop(DropReason::NoPolicy),
                },
                Verdict::Fragment => {
                    let _ = fragments.push(m);
                }
                Verdict::Dummy | Verdict::Drop(_) => {}
            }
        }
        if !for_node.is_empty() {
            self.counters.to_node += for_node.len() as u64;
            self.give_to_kernel(from, &mut for_node);
        }
    }

    /// Gives IP packets to the kernel through the TAP of port `port`, as frames to the TAP's
    /// own MAC (as Linux re-injects what it decrypted on the interface the ESP came in on).
    fn give_to_kernel<const N: usize>(&mut self, port: usize, burst: &mut MbufBurst<N>) {
        let Some(tap) = self.ports[port].exception else {
            self.counters.exception_dropped += burst.len() as u64;
            burst.clear();
            return;
        };
        frame(burst, self.ports[port].own_mac, self.ports[port].peer_mac);
        self.counters.exception += burst.len() as u64;
        self.transmit(tap, burst);
    }

    /// Carries out what the control socket asked (a few per call, so a burst of requests
    /// cannot stall the data path).
    fn serve_commands(&mut self, now_ns: u64) {
        for _ in 0..16 {
            let Some(req) = self.inbox.pop() else { return };
            let reply = match req.command {
                Command::SetLocals(locals) => {
                    self.locals = locals;
                    Reply::Done
                }
                Command::SetSourceMac { port, mac } => {
                    let mut found = false;
                    for p in self.ports.iter_mut().filter(|p| p.port == port) {
                        p.mac = mac.unwrap_or(p.own_mac);
                        found = true;
                    }
                    if found {
                        Reply::Done
                    } else {
                        Reply::Failed(format!("no port {port}"))
                    }
                }
                command => {
                    let spi_owner = self.handoff.as_mut().map(|h| &mut h.spi_owner);
                    apply(command, &mut self.tables, spi_owner, self.index, now_ns)
                }
            };
            let _ = req.reply.send(reply);
        }
    }

    /// The worker that owns `sa`, if it is not this one.
    fn foreign_owner(&self, sa: SaId) -> Option<usize> {
        let h = self.handoff.as_ref()?;
        let v = owner(sa, h.workers());
        (v != self.index).then_some(v)
    }

    /// The worker that owns the inbound SA of an ESP frame, if it is not this one.
    fn spi_foreign_owner(&self, m: &Mbuf) -> Option<usize> {
        let h = self.handoff.as_ref()?;
        let ip = m.data().get(ether::HEADER_LEN..)?;
        let outer = IpHeader::parse(ip).ok()?;
        let Classified::Esp { esp_at, .. } = classify(ip, &outer) else {
            return None;
        };
        let spi = u32::from_be_bytes(ip.get(esp_at..esp_at + 4)?.try_into().ok()?);
        let v = *h.spi_owner.get(&spi)?;
        (v != self.index).then_some(v)
    }

    /// Queues a frame for worker `v` (sent at the end of the burst).
    fn hand_off(&mut self, v: usize, inbound: bool, m: Mbuf) {
        if let Some(h) = self.handoff.as_mut() {
            let (out, inb) = &mut h.pending[v];
            let q = if inbound { inb } else { out };
            if q.push(m).is_err() {
                self.counters.tx_full += 1;
            } else {
                self.counters.handed_off += 1;
            }
        }
    }

    /// Enqueues the frames waiting for other workers; what a full ring refuses is dropped.
    fn flush_handoff(&mut self) {
        let Some(h) = self.handoff.as_mut() else {
            return;
        };
        for (v, (out, inb)) in h.pending.iter_mut().enumerate() {
            if let Some((po, pi)) = h.to[v].as_mut() {
                po.enqueue_burst(out);
                pi.enqueue_burst(inb);
            }
            self.counters.tx_full += (out.len() + inb.len()) as u64;
            out.clear();
            inb.clear();
        }
    }

    /// Processes what other workers handed to this one.
    fn poll_handoff(&mut self, rx: &mut MbufBurst<BURST>, now_ns: u64) -> usize {
        let Some(h) = self.handoff.as_mut() else {
            return 0;
        };
        let n_out = h.from.0.dequeue_burst(rx);
        if n_out > 0 {
            self.outbound(self.protected, rx, now_ns);
        }
        let Some(h) = self.handoff.as_mut() else {
            return n_out;
        };
        let n_in = h.from.1.dequeue_burst(rx);
        if n_in > 0 {
            self.inbound(self.unprotected, rx, now_ns);
        }
        n_out + n_in
    }

    /// Writes the Ethernet header for port `to` on each packet and sends them.
    fn frame_and_send<const N: usize>(&mut self, to: usize, burst: &mut MbufBurst<N>) {
        let resolved = self.ports[to].next_hop_mac.load(Ordering::Relaxed);
        let dst = if resolved != 0 {
            mac_from_u64(resolved)
        } else {
            self.ports[to].peer_mac
        };
        frame(burst, dst, self.ports[to].mac);
        self.transmit(to, burst);
    }

    /// Sends a burst on port `to`; what the queue does not take is freed and counted.
    fn transmit<const N: usize>(&mut self, to: usize, burst: &mut MbufBurst<N>) {
        let bytes: u64 = burst.as_slice().iter().map(|m| m.pkt_len() as u64).sum();
        let n = self.ports[to].tx.tx_burst(burst);
        self.counters.tx_packets += n as u64;
        self.counters.tx_bytes += bytes;
        if !burst.is_empty() {
            // (rare: the queue was full) what it did not take is not sent
            let unsent: u64 = burst.as_slice().iter().map(|m| m.pkt_len() as u64).sum();
            self.counters.tx_bytes -= unsent;
            self.counters.tx_full += burst.len() as u64;
            burst.clear();
        }
    }

    /// Hands a frame to the kernel through the port's TAP, or drops it if there is none.
    fn exception(&mut self, from: usize, m: Mbuf) {
        match self.ports[from].exception {
            Some(tap) => {
                self.counters.exception += 1;
                let mut one = MbufBurst::<BURST>::default();
                let _ = one.push(m);
                self.transmit(tap, &mut one);
            }
            None => self.counters.exception_dropped += 1,
        }
    }
}

/// Prepends an Ethernet header to each IP packet of `burst`.
fn frame<const N: usize>(burst: &mut MbufBurst<N>, dst: [u8; 6], src: [u8; 6]) {
    for m in burst.as_mut_slice() {
        let version = m.data().first().map_or(4, |b| b >> 4);
        if let Some(h) = m.prepend(ether::HEADER_LEN as u16) {
            ether::write_header(h, dst, src, version);
        }
    }
}

fn is_ip(m: &Mbuf) -> bool {
    matches!(
        ether::ethertype(m.data()),
        Some(ether::ETHERTYPE_IPV4 | ether::ETHERTYPE_IPV6)
    )
}

/// A MAC address packed in the low 48 bits of a u64 (for atomic publication).
pub fn mac_to_u64(mac: [u8; 6]) -> u64 {
    let mut b = [0u8; 8];
    b[2..].copy_from_slice(&mac);
    u64::from_be_bytes(b)
}

/// The inverse of [`mac_to_u64`].
pub fn mac_from_u64(v: u64) -> [u8; 6] {
    let b = v.to_be_bytes();
    [b[2], b[3], b[4], b[5], b[6], b[7]]
}

/// Whether the kernel should have a packet to `dst`: one of the node's addresses, or
/// multicast / broadcast (VRRP, ND, DHCP...).
fn for_node(locals: &[IpAddr], dst: IpAddr) -> bool {
    dst.is_multicast() || matches!(dst, IpAddr::V4(a) if a.is_broadcast()) || locals.contains(&dst)
}

/// Strips the Ethernet header of an IP frame and looks it up in the outbound SPD; frames
/// that are not IP or are for the node go to the kernel as they came.
fn classify_outbound(spd: &Spd, locals: &[IpAddr], m: &mut Mbuf) -> Outbound {
    if !is_ip(m) {
        return Outbound::Exception;
    }
    m.adj(ether::HEADER_LEN as u16);
    let Ok(h) = IpHeader::parse(m.data()) else {
        return Outbound::Drop(DropReason::Malformed);
    };
    if for_node(locals, h.dst(m.data())) {
        let _ = m.prepend(ether::HEADER_LEN as u16);
        return Outbound::Exception;
    }
    match spd.lookup(&flow_key(&h, m.data())) {
        Some((_, p)) => match p.action {
            Action::Protect(bundle) => Outbound::Protect(SaId(bundle.first())),
            Action::Bypass => Outbound::Bypass,
            Action::Discard => Outbound::Drop(DropReason::PolicyDiscard),
        },
        None => Outbound::Drop(DropReason::NoPolicy),
    }
}

/// What becomes of a plaintext (non-ESP) packet from the unprotected side.
enum Plaintext {
    ForNode,
    Policy(Action),
    NoPolicy,
}

fn plaintext_policy(spd: &Spd, locals: &[IpAddr], m: &Mbuf) -> Plaintext {
    let Ok(h) = IpHeader::parse(m.data()) else {
        return Plaintext::NoPolicy;
    };
    if for_node(locals, h.dst(m.data())) {
        return Plaintext::ForNode;
    }
    match spd.lookup(&flow_key(&h, m.data())) {
        Some((_, p)) => Plaintext::Policy(p.action),
        None => Plaintext::NoPolicy,
    }
}

/// Whether a decrypted packet is for the node itself (one of its unicast addresses).
fn is_for_node(locals: &[IpAddr], packet: &[u8]) -> bool {
    if locals.is_empty() {
        return false;
    }
    IpHeader::parse(packet).is_ok_and(|h| locals.contains(&h.dst(packet)))
}

/// The IP packet of a frame the kernel sends, parsed, if an outbound policy may protect it.
/// Never: what is not IP, multicast and broadcast, ESP and AH, VRRP, IKE and NAT-T on UDP
/// 500/4500 (the SAs depend on them: RFC 4301 §5.2 lets IKE bypass), and IPv6 neighbour
/// discovery.
fn protectable_ip(frame: &[u8]) -> Option<(IpHeader, &[u8])> {
    let ip = frame.get(ether::HEADER_LEN..)?;
    if !matches!(
        ether::ethertype(frame),
        Some(ether::ETHERTYPE_IPV4 | ether::ETHERTYPE_IPV6)
    ) {
        return None;
    }
    let h = IpHeader::parse(ip).ok()?;
    let dst = h.dst(ip);
    if dst.is_multicast() || matches!(dst, IpAddr::V4(a) if a.is_broadcast()) {
        return None;
    }
    let (sport, dport) = h.ports(ip);
    let may = match h.protocol {
        proto::ESP | proto::AH | proto::VRRP => false,
        proto::UDP => ![sport, dport]
            .iter()
            .any(|p| *p == IKE_PORT || *p == NAT_T_PORT),
        // Router and neighbour solicitation and advertisement, redirect (RFC 4861).
        proto::ICMPV6 => !(133..=137).contains(&sport),
        _ => true,
    };
    may.then_some((h, ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn may_protect(frame: &[u8]) -> bool {
        protectable_ip(frame).is_some()
    }

    /// An Ethernet frame with an IPv4 header (`protocol`, to `dst`) and 8 bytes of payload
    /// starting with `l4` (ports, or ICMP type and code).
    fn v4_frame(protocol: u8, dst: [u8; 4], l4: [u8; 4]) -> Vec<u8> {
        let mut f = vec![0u8; ether::HEADER_LEN];
        ether::write_header(&mut f, [1; 6], [2; 6], 4);
        let mut ip = vec![
            0x45, 0, 0, 28, 0, 0, 0, 0, 64, protocol, 0, 0, 10, 0, 2, 254,
        ];
        ip.extend_from_slice(&dst);
        let c = esp::wire::checksum::checksum(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(&l4);
        f.extend_from_slice(&[0; 4]);
        f
    }

    fn v6_frame(protocol: u8, dst: [u8; 16], l4: [u8; 4]) -> Vec<u8> {
        let mut f = vec![0u8; ether::HEADER_LEN];
        ether::write_header(&mut f, [1; 6], [2; 6], 6);
        f.extend_from_slice(&[0x60, 0, 0, 0, 0, 8, protocol, 64]);
        f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8].repeat(4));
        f.extend_from_slice(&dst);
        f.extend_from_slice(&l4);
        f.extend_from_slice(&[0; 4]);
        f
    }

    #[test]
    fn the_kernels_control_traffic_is_never_protected() {
        let peer = [10, 0, 1, 1];
        let udp = |s: u16, d: u16| {
            let (s, d) = (s.to_be_bytes(), d.to_be_bytes());
            v4_frame(proto::UDP, peer, [s[0], s[1], d[0], d[1]])
        };
        // What a policy may protect: ICMP echo, TCP, UDP on other ports.
        assert!(may_protect(&v4_frame(proto::ICMP, peer, [8, 0, 0, 0])));
        assert!(may_protect(&v4_frame(proto::TCP, peer, [0, 22, 4, 0])));
        assert!(may_protect(&udp(5000, 53)));
        // IKE and NAT-T either way, ESP, AH, VRRP.
        for (s, d) in [(500, 500), (4500, 4500), (40000, 500), (4500, 1234)] {
            assert!(!may_protect(&udp(s, d)), "udp {s} -> {d}");
        }
        for p in [proto::ESP, proto::AH, proto::VRRP] {
            assert!(!may_protect(&v4_frame(p, peer, [0; 4])));
        }
        // Multicast and broadcast.
        assert!(!may_protect(&v4_frame(
            proto::ICMP,
            [224, 0, 0, 18],
            [8, 0, 0, 0]
        )));
        assert!(!may_protect(&v4_frame(
            proto::UDP,
            [255, 255, 255, 255],
            [0, 68, 0, 67]
        )));
        // IPv6: echo may be protected, neighbour discovery (NS 135, NA 136) may not.
        let v6_peer = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
        assert!(may_protect(&v6_frame(
            proto::ICMPV6,
            v6_peer,
            [128, 0, 0, 0]
        )));
        for ty in [133, 134, 135, 136, 137] {
            assert!(!may_protect(&v6_frame(
                proto::ICMPV6,
                v6_peer,
                [ty, 0, 0, 0]
            )));
        }
        // Not IP, or cut short.
        let mut arp = v4_frame(proto::ICMP, peer, [8, 0, 0, 0]);
        arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
        assert!(!may_protect(&arp));
        let whole = v4_frame(proto::ICMP, peer, [8, 0, 0, 0]);
        for n in 0..ether::HEADER_LEN + 20 {
            assert!(!may_protect(&whole[..n]), "{n} bytes");
        }
    }

    #[test]
    fn only_the_nodes_own_unicast_addresses_are_for_it() {
        let frame = v4_frame(proto::ICMP, [10, 0, 2, 254], [8, 0, 0, 0]);
        let packet = &frame[ether::HEADER_LEN..];
        let own: IpAddr = "10.0.2.254".parse().unwrap();
        let other: IpAddr = "10.0.2.1".parse().unwrap();
        assert!(is_for_node(&[other, own], packet));
        assert!(!is_for_node(&[other], packet));
        assert!(!is_for_node(&[], packet));
        assert!(!is_for_node(&[own], &packet[..10]));
    }
}
