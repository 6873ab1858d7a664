//! A security association (RFC 4301 §4.4.2): its configuration, and the state its one writer
//! (the worker that owns it) changes per packet: sequence numbers, replay window, counters,
//! lifetimes, and the marks of its last HA snapshot.

use crate::counters::DropReason;
use crate::crypto::{Backend, CryptoError, Session, TransformKeys};
pub use crate::ident::{Direction, SaId};
use crate::replay::{ReplayError, ReplayWindow, WindowSnapshot};
use crate::snapshot::{SeqSnapshot, SyncPolicy};
use crate::spd::FlowKey;
use std::net::IpAddr;

mod selectors;
pub use selectors::Selectors;

/// RFC 4301 §4.1: tunnel mode carries whole IP packets between the two gateways' addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Tunnel { local: IpAddr, remote: IpAddr },
    Transport,
}

/// RFC 3948 UDP encapsulation (NAT traversal): the ports of the outer UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpEncap {
    pub local_port: u16,
    pub remote_port: u16,
}

/// RFC 4301 §5.1.2.1: the outer DSCP is copied from the inner header or set by the SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DscpMode {
    Copy,
    Set(u8),
}

/// RFC 4301 §8.1: the outer DF bit is copied, set or cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DfMode {
    Copy,
    Set,
    Clear,
}

/// Byte and packet lifetimes (RFC 4301 §4.4.2.1); 0 means none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lifetime {
    pub soft_bytes: u64,
    pub hard_bytes: u64,
    pub soft_packets: u64,
    pub hard_packets: u64,
}

/// Everything needed to install an SA. Its `Debug` leaves the keys out.
///
/// `repr(C)`, with the fields a packet reads first, up to the selectors (see [`Sa`]'s layout).
#[derive(Clone)]
#[repr(C)]
pub struct SaConfig {
    pub spi: u32,
    /// Anti-replay window in packets (inbound); 0 disables anti-replay.
    pub replay_window: u32,
    /// RFC 4304 extended sequence numbers.
    pub esn: bool,
    pub direction: Direction,
    pub df: DfMode,
    /// TTL / hop limit of the outer header in tunnel mode.
    pub outer_ttl: u8,
    /// False on an HA standby: installed, kept in sync, but not used until activated.
    pub active: bool,
    pub backend: Backend,
    pub dscp: DscpMode,
    /// The IV generation this node sends under (see [`Sa::iv_counter`]).
    pub iv_generation: u16,
    pub encap: Option<UdpEncap>,
    pub mode: Mode,
    /// Inbound: the traffic selectors the decrypted packets must match (empty: any); one
    /// pair of prefixes inline, on a line the prefetch asks for.
    pub selectors: Selectors,
    /// Read per packet only through [`Sa`]'s thresholds, which are on its hot line.
    pub lifetime: Lifetime,
    pub keys: TransformKeys,
}

impl SaConfig {
    /// A tunnel-mode SA with the defaults an operator would expect: no ESN, a 1024-packet
    /// window, no lifetimes, DSCP and DF copied, outer TTL 64, active.
    pub fn tunnel(
        spi: u32,
        direction: Direction,
        local: IpAddr,
        remote: IpAddr,
        keys: TransformKeys,
    ) -> Self {
        SaConfig {
            spi,
            direction,
            mode: Mode::Tunnel { local, remote },
            keys,
            backend: Backend::Auto,
            esn: false,
            replay_window: 1024,
            encap: None,
            lifetime: Lifetime::default(),
            dscp: DscpMode::Copy,
            df: DfMode::Copy,
            outer_ttl: 64,
            selectors: Selectors::default(),
            iv_generation: 0,
            active: true,
        }
    }
}

impl std::fmt::Debug for SaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaConfig")
            .field("spi", &format_args!("{:#x}", self.spi))
            .field("direction", &self.direction)
            .field("mode", &self.mode)
            .field("enc", &self.keys.enc)
            .field("integ", &self.keys.integ)
            .field("esn", &self.esn)
            .field("replay_window", &self.replay_window)
            .field("encap", &self.encap)
            .field("lifetime", &self.lifetime)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

/// Where an SA is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaState {
    Active,
    /// HA standby: receives snapshots, processes nothing.
    Standby,
    /// Hard lifetime reached or sequence numbers exhausted: drops everything.
    Expired,
}

/// What an SA tells the control plane (through the lcore's event queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaEventKind {
    /// Soft lifetime reached: rekey now (raised once).
    SoftLifetime,
    /// Hard lifetime reached: the SA no longer passes traffic.
    HardLifetime,
    /// Sequence numbers exhausted (32-bit without ESN): the SA stopped sending; rekey.
    SequenceOverflow,
}

/// An event about one SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaEvent {
    pub sa: SaId,
    pub spi: u32,
    pub kind: SaEventKind,
}

/// Per-SA traffic counters (inner bytes, as lifetimes count them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaCounters {
    pub packets: u64,
    pub bytes: u64,
    pub drops: [u64; DropReason::ALL.len()],
}

/// Where the window's inline ring starts in an SA: the bytes before it are the hot line, the
/// outer template and the window's top and size, which a packet of either direction reads
/// (its line of the ring it asks for a stage later, [`Sa::prefetch_replay`]).
const RING_AT: usize = std::mem::offset_of!(Sa, window) + ReplayWindow::RING_AT;

/// Where the configuration starts in an SA.
const CONFIG_AT: usize = std::mem::offset_of!(Sa, config);

/// The end of the configuration's bytes that an outbound packet reads: up to the first bytes
/// of its mode (the variant, and the address family of a tunnel's local end).
const OUTBOUND_CONFIG_END: usize = CONFIG_AT + std::mem::offset_of!(SaConfig, mode) + 2;

/// The same for an inbound packet: on to the end of the selectors (a pair of prefixes
/// inline, or the list's pointer).
const INBOUND_CONFIG_END: usize =
    CONFIG_AT + std::mem::offset_of!(SaConfig, selectors) + std::mem::size_of::<Selectors>();

/// The byte ranges of an SA that a packet of `direction` reads before its session, which
/// [`Sa::prefetch`] asks for: the head up to the ring, and the configuration's per-packet
/// fields (the ring's lines lie between them).
const fn hot_spans(direction: Direction) -> [(usize, usize); 2] {
    let config_end = match direction {
        Direction::Outbound => OUTBOUND_CONFIG_END,
        Direction::Inbound => INBOUND_CONFIG_END,
    };
    [(0, RING_AT), (CONFIG_AT, config_end)]
}

/// How many lines [`hot_spans`] covers.
const fn hot_lines(direction: Direction) -> usize {
    let [(a, b), (c, d)] = hot_spans(direction);
    (b - 1) / 64 - a / 64 + 1 + (d - 1) / 64 - c / 64 + 1
}

/// Where the session starts in an SA.
const SESSION_AT: usize = std::mem::offset_of!(Sa, session);

/// The line a stage ahead of the keys reads to learn their kind and size: with the
/// multi-buffer backend, the GCM key's size, which also holds the session's tags; otherwise
/// the session's keys' first line.
#[cfg(feature = "ipsec-mb")]
const KEY_KIND_AT: usize = SESSION_AT + Session::KEYS_AT + ipsec_mb::GcmKey::SIZE_AT;
#[cfg(not(feature = "ipsec-mb"))]
const KEY_KIND_AT: usize = SESSION_AT + Session::KEYS_AT;

// A packet reads 3 lines of an outbound SA and 4 of an inbound one before its session, and an
// inbound one a line of its ring (the layout map in the tests prints each field's line). The
// ring starts on a line, so that a window of 1024 takes two lines of its own and shares none.
const _: () = assert!(
    hot_lines(Direction::Outbound) <= 3
        && hot_lines(Direction::Inbound) <= 4
        && RING_AT.is_multiple_of(64)
);
// The ring lies between the two spans: a packet does not ask for all of its lines.
const _: () = assert!(RING_AT + crate::replay::INLINE_WINDOW as usize / 8 <= CONFIG_AT);

/// Bits of the IV counter left for the sequence number: the top 16 carry the generation.
pub const IV_SEQ_BITS: u32 = 48;

/// The state every packet of an SA reads and writes, in one cache line: sequence number,
/// counters, the thresholds that stand for the lifetimes, and the flags.
#[repr(C, align(64))]
struct Hot {
    /// Outbound: the last sequence number used (0: none yet).
    oseq: u64,
    /// Packets and inner bytes accepted (lifetimes count these).
    packets: u64,
    bytes: u64,
    /// When the last packet was accepted (ns, the caller's clock): for dead peer detection.
    last_used_ns: u64,
    /// While `packets` stays below this and `bytes` (with the packet) below `watch_bytes`, no
    /// lifetime limit can be reached: the limits, cold in the configuration, are read only
    /// past one of them (see [`watch`]).
    watch_packets: u64,
    watch_bytes: u64,
    generation: u16,
    state: SaState,
    soft_raised: bool,
    overflow_raised: bool,
    /// Noted as owing a snapshot at the end of the current burst (see `Lcore::note_snapshot`).
    snapshot_queued: bool,
}

const _: () = assert!(std::mem::size_of::<Hot>() == 64);

/// The smallest packet and byte counts at which a limit of `lifetime` not yet acted on may
/// be reached: a hard limit always, the soft one until it was raised. A hard byte limit is
/// reached when the bytes with the packet go past it, a soft one when they reach it.
fn watch(lifetime: &Lifetime, soft_raised: bool) -> (u64, u64) {
    let nonzero = |v: u64| if v == 0 { u64::MAX } else { v };
    let mut packets = nonzero(lifetime.hard_packets);
    let mut bytes = match lifetime.hard_bytes {
        0 => u64::MAX,
        hard => hard.saturating_add(1),
    };
    if !soft_raised {
        packets = packets.min(nonzero(lifetime.soft_packets));
        bytes = bytes.min(nonzero(lifetime.soft_bytes));
    }
    (packets, bytes)
}

/// One security association and its per-packet state.
///
/// The state a failover carries over (sequence numbers, window, generation, counters, state)
/// is private: the outbound sequence number and the window only move forward through the
/// methods below, since a step backward would send a (key, nonce) pair twice or let a replay
/// through (invariants 2, 3 and 4 of the design).
///
/// Laid out for 100,000 SAs (`repr(C)`, in this order): the hot line; the outer template
/// (outbound) and the anti-replay window (inbound), its ring inline; the configuration, whose
/// per-packet fields come first; the session with its key material inline; then what no packet
/// reads. [`Sa::prefetch`] asks for exactly the lines before the session that a packet of the
/// SA's direction reads but the ring's, and the session's first two.
#[repr(C, align(64))]
pub struct Sa {
    hot: Hot,
    /// Tunnel mode: the outer header, built once.
    pub outer: Option<crate::tunnel::OuterTemplate>,
    /// Inbound: the anti-replay window (its top is the highest authenticated sequence number),
    /// its ring inline up to 1024 packets.
    window: ReplayWindow,
    pub config: SaConfig,
    /// The keys, inline: on the SA's own pages, reached without a pointer.
    pub session: Session,
    pub id: SaId,
    sync_mark: SyncMark,
    /// Drops counted against this SA, by reason.
    drops: [u64; DropReason::ALL.len()],
}

impl std::fmt::Debug for Sa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sa")
            .field("id", &self.id)
            .field("config", &self.config)
            .field("state", &self.hot.state)
            .field("oseq", &self.hot.oseq)
            .field("window_top", &self.window.top())
            .field("counters", &self.counters())
            .finish_non_exhaustive()
    }
}

/// What the last snapshot carried, to know when the next one is due.
#[derive(Debug, Clone, Copy, Default)]
struct SyncMark {
    oseq: u64,
    top: u64,
    at_ns: u64,
}

/// Why the outbound sequence number was not moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SeqError {
    #[error("sequence number {to} is behind {current}: it would reuse a nonce")]
    Backward { current: u64, to: u64 },
    #[error("sequence number {to} is beyond this SA's last one, {max}")]
    BeyondMax { max: u64, to: u64 },
}

/// Why an SA could not be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SaError {
    #[error("crypto: {0}")]
    Crypto(#[from] CryptoError),
    #[error("replay window size out of range (0 or 32..=65536)")]
    BadWindow,
    #[error("SPI 0 is reserved for local use (RFC 4303 §2.1)")]
    ReservedSpi,
    #[error("tunnel endpoints must be of one address family")]
    MixedFamilies,
}

impl Sa {
    /// Prepares an SA: key schedules, window; `now_ns` starts its sync clock.
    pub fn new(id: SaId, config: SaConfig, now_ns: u64) -> Result<Sa, SaError> {
        // 1..=255 are IANA-reserved and IKE never picks them, but static labs (ipsec-secgw's
        // examples among them) use them: only 0, which never appears on the wire, is refused.
        if config.spi == 0 {
            return Err(SaError::ReservedSpi);
        }
        if let Mode::Tunnel { local, remote } = config.mode {
            if local.is_ipv4() != remote.is_ipv4() {
                return Err(SaError::MixedFamilies);
            }
        }
        let session = Session::new(&config.keys, config.backend)?;
        let window = ReplayWindow::new(config.replay_window).ok_or(SaError::BadWindow)?;
        let outer = match config.mode {
            Mode::Tunnel { local, remote } => {
                let protocol = if config.encap.is_some() {
                    crate::wire::proto::UDP
                } else {
                    crate::wire::proto::ESP
                };
                crate::tunnel::OuterTemplate::new(local, remote, config.outer_ttl, protocol)
            }
            Mode::Transport => None,
        };
        let (watch_packets, watch_bytes) = watch(&config.lifetime, false);
        Ok(Sa {
            hot: Hot {
                oseq: 0,
                packets: 0,
                bytes: 0,
                last_used_ns: now_ns,
                watch_packets,
                watch_bytes,
                generation: config.iv_generation,
                state: if config.active {
                    SaState::Active
                } else {
                    SaState::Standby
                },
                soft_raised: false,
                overflow_raised: false,
                snapshot_queued: false,
            },
            window,
            outer,
            config,
            session,
            id,
            sync_mark: SyncMark {
                at_ns: now_ns,
                ..SyncMark::default()
            },
            drops: [0; DropReason::ALL.len()],
        })
    }

    /// Asks for the lines of this SA that a packet of `direction` reads before the cipher,
    /// a stage ahead (see [`crate::sad::Sad::prefetch`]), without reading them: its lines
    /// up to the configuration's per-packet fields, the session's first line and the line
    /// that says what its keys are ([`KEY_KIND_AT`]); the key material itself is asked for
    /// once the packet's length is known ([`Session::prefetch_keys`], the second stage). `direction` is the caller's, known without
    /// reading the SA.
    #[inline(always)]
    pub fn prefetch(&self, direction: Direction) {
        for (from, to) in hot_spans(direction) {
            prefetch_span(self, from, to);
        }
        prefetch_at(self, SESSION_AT);
        prefetch_at(self, KEY_KIND_AT);
    }

    /// Inbound: asks for the line of the window's ring that accepting `seq` writes, a stage
    /// before [`Sa::replay_update`] (the second stage, beside the keys): one line of the SA
    /// for a window of up to 1024 packets, and only when `seq` leaves the top's group of 32
    /// (in order, one packet in 32).
    #[inline(always)]
    pub fn prefetch_replay(&self, seq: u64) {
        if let Some(block) = self.window.block_to_write(seq) {
            prefetch(block, 8);
        }
    }

    /// Where the SA is in its life.
    #[inline]
    pub fn state(&self) -> SaState {
        self.hot.state
    }

    /// Outbound: the last sequence number used (0: none yet).
    #[inline]
    pub fn oseq(&self) -> u64 {
        self.hot.oseq
    }

    /// Inbound: the anti-replay window, to read (it moves through [`Sa::replay_update`] and
    /// [`Sa::raise_window`], never backward).
    #[inline]
    pub fn window(&self) -> &ReplayWindow {
        &self.window
    }

    /// The SA's traffic and drop counters.
    pub fn counters(&self) -> SaCounters {
        SaCounters {
            packets: self.hot.packets,
            bytes: self.hot.bytes,
            drops: self.drops,
        }
    }

    /// When the last packet was accepted (ns, the caller's clock).
    #[inline]
    pub fn last_used_ns(&self) -> u64 {
        self.hot.last_used_ns
    }

    /// Records that a packet was accepted at `now_ns` without counting it (a dummy packet).
    #[inline]
    pub fn touch(&mut self, now_ns: u64) {
        self.hot.last_used_ns = now_ns;
    }

    /// Inbound, once the ICV checked out: marks `seq` received in the anti-replay window.
    #[inline]
    pub fn replay_update(&mut self, seq: u64) -> Result<(), ReplayError> {
        self.window.update(seq)
    }

    /// Moves the outbound sequence number forward to `to` (the next packet sends `to + 1`),
    /// for a control plane or a test that starts an SA further on. A step backward is
    /// refused: the sequence number feeds the nonce (invariant 3), and a number sent twice
    /// under one key and generation repeats a (key, nonce) pair; so is a number past
    /// [`Sa::max_seq`], which the SA must never send.
    pub fn advance_oseq(&mut self, to: u64) -> Result<(), SeqError> {
        if to < self.hot.oseq {
            return Err(SeqError::Backward {
                current: self.hot.oseq,
                to,
            });
        }
        if to > self.max_seq() {
            return Err(SeqError::BeyondMax {
                max: self.max_seq(),
                to,
            });
        }
        self.hot.oseq = to;
        Ok(())
    }

    /// Raises the inbound window to at least `snap` (a standby's synced top, or a test that
    /// starts an SA further on); never lowers it, since a lower window would accept again a
    /// packet it already refused or took (invariant 4).
    pub fn raise_window(&mut self, snap: &WindowSnapshot) {
        self.window.merge(snap);
    }

    /// The highest sequence number this SA may send: 2^32-1 without ESN (RFC 4303 §3.3.3:
    /// never cycle), and 2^48-1 with ESN, the bound of the IV counter's sequence field.
    pub fn max_seq(&self) -> u64 {
        if self.config.esn {
            (1u64 << IV_SEQ_BITS) - 1
        } else {
            u32::MAX as u64
        }
    }

    /// The next outbound sequence number, or `None` when exhausted (then an event is due).
    pub fn next_seq(&mut self) -> Option<u64> {
        if self.hot.oseq >= self.max_seq() {
            return None;
        }
        self.hot.oseq += 1;
        Some(self.hot.oseq)
    }

    /// The per-packet IV counter (invariant 3 of DESIGN.md): the top 16 bits are the
    /// activation generation, the low 48 the sequence number. Each activation of an SA on a
    /// node takes a generation neither node has used for it (the HA layer hands out even ones
    /// to one node and odd ones to the other, and raises it on every takeover), so even if both
    /// nodes send the same sequence number after a failover with a stale snapshot, their
    /// (key, nonce) pairs differ.
    pub fn iv_counter(&self, seq: u64) -> u64 {
        ((self.hot.generation as u64) << IV_SEQ_BITS) | (seq & ((1u64 << IV_SEQ_BITS) - 1))
    }

    /// The generation this SA sends under now.
    pub fn generation(&self) -> u16 {
        self.hot.generation
    }

    /// Counts a drop against this SA.
    pub fn count_drop(&mut self, reason: DropReason) {
        self.drops[reason as usize] += 1;
    }

    /// Checks the hard lifetime before a packet of `bytes` is processed; on reaching it the
    /// SA expires and an event is returned. Below the hot line's thresholds nothing else is
    /// read.
    #[inline]
    pub fn hard_limit_reached(&mut self, bytes: u64) -> Option<SaEventKind> {
        let h = &self.hot;
        if h.packets < h.watch_packets && h.bytes.saturating_add(bytes) < h.watch_bytes {
            return None;
        }
        self.hard_limit_slow(bytes)
    }

    #[cold]
    fn hard_limit_slow(&mut self, bytes: u64) -> Option<SaEventKind> {
        let lt = &self.config.lifetime;
        let over = (lt.hard_packets != 0 && self.hot.packets >= lt.hard_packets)
            || (lt.hard_bytes != 0 && self.hot.bytes + bytes > lt.hard_bytes);
        if over && self.hot.state != SaState::Expired {
            self.hot.state = SaState::Expired;
            return Some(SaEventKind::HardLifetime);
        }
        None
    }

    /// Counts a packet that went through, and returns the soft-lifetime event the first time
    /// the soft limit is crossed.
    #[inline]
    pub fn account(&mut self, bytes: u64, now_ns: u64) -> Option<SaEventKind> {
        let h = &mut self.hot;
        h.packets += 1;
        h.bytes += bytes;
        h.last_used_ns = now_ns;
        if h.packets < h.watch_packets && h.bytes < h.watch_bytes {
            return None;
        }
        self.soft_limit_slow()
    }

    #[cold]
    fn soft_limit_slow(&mut self) -> Option<SaEventKind> {
        let lt = &self.config.lifetime;
        let soft = (lt.soft_packets != 0 && self.hot.packets >= lt.soft_packets)
            || (lt.soft_bytes != 0 && self.hot.bytes >= lt.soft_bytes);
        if soft && !self.hot.soft_raised {
            self.hot.soft_raised = true;
            // From now on only the hard limits are watched.
            (self.hot.watch_packets, self.hot.watch_bytes) = watch(lt, true);
            return Some(SaEventKind::SoftLifetime);
        }
        None
    }

    /// Marks the sequence space exhausted; returns the event the first time.
    pub fn sequence_exhausted(&mut self) -> Option<SaEventKind> {
        if self.hot.overflow_raised {
            return None;
        }
        self.hot.overflow_raised = true;
        Some(SaEventKind::SequenceOverflow)
    }

    /// Whether the decrypted packet's flow is allowed by this SA's selectors.
    #[inline]
    pub fn selectors_allow(&self, flow: &FlowKey) -> bool {
        self.config.selectors.allow(flow)
    }

    /// Whether a snapshot is due: the SA moved at least its direction's `period_packets_*`
    /// since the last one, or `period_ns` passed and it moved at all (0 disables each trigger).
    pub fn snapshot_due(&self, policy: &SyncPolicy, now_ns: u64) -> bool {
        let period_packets = policy.period_packets(self.config.direction);
        if period_packets == 0 && policy.period_ns == 0 {
            return false;
        }
        let moved = self
            .hot
            .oseq
            .saturating_sub(self.sync_mark.oseq)
            .max(self.window.top().saturating_sub(self.sync_mark.top));
        if moved == 0 {
            return false;
        }
        (period_packets != 0 && moved >= period_packets)
            || (policy.period_ns != 0
                && now_ns.saturating_sub(self.sync_mark.at_ns) >= policy.period_ns)
    }

    /// The snapshot record of this SA now (does not mark it taken).
    pub fn snapshot(&self, now_ns: u64) -> SeqSnapshot {
        SeqSnapshot {
            sa: self.id,
            spi: self.config.spi,
            direction: self.config.direction,
            oseq: self.hot.oseq,
            window: self.window.snapshot(),
            generation: self.hot.generation,
            at_ns: now_ns,
        }
    }

    /// Whether the SA is noted as owing a snapshot at the end of the burst.
    #[inline]
    pub fn snapshot_queued(&self) -> bool {
        self.hot.snapshot_queued
    }

    /// Notes (or clears) that the SA owes a snapshot at the end of the burst.
    #[inline]
    pub fn set_snapshot_queued(&mut self, queued: bool) {
        self.hot.snapshot_queued = queued;
    }

    /// Records that `snap` was handed to the sync ring.
    pub fn mark_synced(&mut self, snap: &SeqSnapshot) {
        self.sync_mark = SyncMark {
            oseq: snap.oseq,
            top: snap.window.top,
            at_ns: snap.at_ns,
        };
    }

    /// Standby side: applies a synced snapshot. Sequence numbers and the window only move
    /// forward, so records that arrive late or twice change nothing: a lower `oseq` would
    /// resend numbers the old master used (invariants 2, 3), a lower window would accept
    /// replays of what it took (invariant 4).
    pub fn apply_snapshot(&mut self, snap: &SeqSnapshot) {
        self.hot.oseq = self.hot.oseq.max(snap.oseq);
        self.raise_window(&snap.window);
        self.hot.generation = self.hot.generation.max(snap.generation);
    }

    /// Takeover (invariants 2, 3, 4): outbound continues at the last synced sequence number
    /// plus `oseq_shift`, so the peer's window never sees a number the old master used; the
    /// IV generation changes to `generation`; the inbound window starts at the synced top.
    /// The shift saturates at [`Sa::max_seq`] and never lowers `oseq` (one synced past the
    /// bound stays: the SA is exhausted, and sends nothing).
    pub fn activate(&mut self, oseq_shift: u64, generation: u16) {
        if self.config.direction == Direction::Outbound {
            let shifted = self.hot.oseq.saturating_add(oseq_shift).min(self.max_seq());
            self.hot.oseq = self.hot.oseq.max(shifted);
        }
        let synced = self.window.snapshot();
        self.window.restore(&synced);
        self.hot.generation = generation;
        if self.hot.state == SaState::Standby {
            self.hot.state = SaState::Active;
        }
    }

    /// Back to standby (this node lost mastership).
    pub fn deactivate(&mut self) {
        if self.hot.state == SaState::Active {
            self.hot.state = SaState::Standby;
        }
    }

    /// The window snapshot as synced (for tests and the control socket).
    pub fn window_snapshot(&self) -> WindowSnapshot {
        self.window.snapshot()
    }
}

/// Asks for the cache line `offset` bytes into `value` (at most its last byte).
#[inline(always)]
fn prefetch_at<T>(value: &T, offset: usize) {
    let offset = offset.min(std::mem::size_of::<T>().saturating_sub(1));
    #[cfg(feature = "ipsec-mb")]
    ipsec_mb::prefetch_line((value as *const T).cast::<u8>().wrapping_add(offset));
    #[cfg(not(feature = "ipsec-mb"))]
    let _ = (value, offset);
}

/// Asks for the cache lines of bytes `from..to` of `value` (at most its last byte).
#[inline(always)]
fn prefetch_span<T>(value: &T, from: usize, to: usize) {
    let mut line = from & !63;
    while line < to {
        prefetch_at(value, line.max(from));
        line += 64;
    }
}

/// Asks for the cache lines of the first `bytes` bytes of `value` (a hint, never a fault).
#[inline(always)]
pub(crate) fn prefetch<T>(value: &T, bytes: usize) {
    #[cfg(feature = "ipsec-mb")]
    ipsec_mb::prefetch(value, bytes);
    #[cfg(not(feature = "ipsec-mb"))]
    let _ = (value, bytes);
}

#[cfg(test)]
mod tests;
