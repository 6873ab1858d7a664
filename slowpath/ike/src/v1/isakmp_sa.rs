//! One ISAKMP SA (RFC 2408 2.5, RFC 2409 5): the cookie pair that names it, our role, where
//! it is in its phase 1 exchange, the negotiated phase 1 transform and keys, the CBC IV chain
//! of its encrypted messages, what it last sent (sent again when the peer repeats itself),
//! the peer's identity, its lifetime, the Quick Modes in flight by message ID and the IPsec
//! SAs they made. The exchanges are in `main_mode`, `quick_mode` and `informational`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::cookie::CookieSecrets;
use super::crypt::{self, PayloadCipher};
use super::dpd::{Dpd, DpdSnapshot};
use super::keymat::Phase1Keys;
use super::wire::Phase2Transform;
use super::wire::{self, Header, Payload};
use crate::action::{Action, ChildId, Counters, DownReason, DropReason, Event, IkeSaId, IkeSaInfo};
use crate::config::{Identity, IkeConfig};
use crate::crypto::dh::KeyExchange;
use crate::crypto::prf::Prf;
use crate::esp_spis::EspSpis;
use crate::message::with_non_esp_marker;
use crate::message::TrafficSelector;
use crate::retransmit::{Expiry, Retransmit};
use crate::rng::{random_vec, RngSource};
use crate::sa::child_sa::{ChildSa, ChildState};
use crate::sa::ike_sa::NATT_PORT;

/// Where an ISAKMP SA is, per message of RFC 2409 5 (I: initiator, R: responder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase1State {
    /// Main Mode, initiator: HDR, SA sent.
    MmSaSent,
    /// Main Mode, initiator: HDR, KE, Ni sent.
    MmKeSent,
    /// Main Mode, initiator: HDR*, IDii, HASH_I sent.
    MmIdSent,
    /// Main Mode, responder: HDR, SA answered.
    MmSaAnswered,
    /// Main Mode, responder: HDR, KE, Nr answered.
    MmKeAnswered,
    /// Aggressive Mode, initiator: HDR, SA, KE, Ni, IDii sent.
    AmSent,
    /// Aggressive Mode, responder: HDR, SA, KE, Nr, IDir, HASH_R answered.
    AmAnswered,
    Established,
    /// Gone; the engine removes it.
    Closed,
}

/// The negotiated phase 1 suite in the terms the keys need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase1Suite {
    /// The transform as negotiated (RFC 2409 appendix A numbers).
    pub transform: wire::Phase1Transform,
    pub prf: Prf,
    pub cipher: PayloadCipher,
    /// The IKEv2 suite with the same algorithms, for status output.
    pub suite: crate::crypto::transform::Suite,
}

/// The key exchange of phase 1 while it runs (its D-H private value is dropped once the
/// SA is up).
#[derive(Debug, Default)]
pub struct Phase1Exchange {
    pub dh: Option<KeyExchange>,
    /// g^xi and g^xr as sent.
    pub g_xi: Vec<u8>,
    pub g_xr: Vec<u8>,
    pub ni: Vec<u8>,
    pub nr: Vec<u8>,
    /// The initiator's SA payload body (SAi_b, in HASH_I and HASH_R).
    pub sai_b: Vec<u8>,
    /// Aggressive Mode responder: the initiator's ID payload body as it came in the first
    /// message (HASH_I covers it; the third message does not repeat it).
    pub idi_b: Vec<u8>,
}

impl Phase1Exchange {
    pub fn new(sai_b: Vec<u8>) -> Phase1Exchange {
        Phase1Exchange {
            sai_b,
            ..Phase1Exchange::default()
        }
    }
}

/// Where a Quick Mode is (RFC 2409 5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QmState {
    /// Initiator: HASH(1), SA, Ni [, KE] [, IDci, IDcr] sent.
    Sent,
    /// Responder: HASH(2), SA, Nr [, KE] [, IDci, IDcr] sent; waiting for HASH(3).
    Answered,
    /// Initiator: HASH(3) sent; the responder set the commit bit, so the IPsec SAs wait
    /// for its CONNECTED notify.
    AwaitConnected,
}

/// One Quick Mode in flight, by its message ID.
#[derive(Debug)]
pub struct QuickMode {
    pub message_id: u32,
    pub initiator: bool,
    pub state: QmState,
    /// The child configuration it negotiates.
    pub child: String,
    /// The exchange's CBC IV chain.
    pub iv: Vec<u8>,
    pub ni: Vec<u8>,
    pub nr: Vec<u8>,
    /// PFS: our D-H value and the shared secret once the peer's KE came.
    pub dh: Option<KeyExchange>,
    pub spi_in: u32,
    pub spi_out: u32,
    /// Initiator: what we offered.
    pub offers: Vec<Phase2Transform>,
    pub chosen: Option<Phase2Transform>,
    pub local_ts: TrafficSelector,
    pub remote_ts: TrafficSelector,
    /// Either side set the commit bit (RFC 2408 3.1).
    pub commit: bool,
    /// The peer's last message and our answer to it (sent again on a repeat).
    pub last_received: Vec<u8>,
    pub last_sent: Vec<u8>,
    pub retransmit: Option<Retransmit>,
    pub give_up_at: Duration,
    /// The IPsec SA it rekeys.
    pub replaces: Option<ChildId>,
    /// The keyed IPsec SA, waiting for HASH(3) or CONNECTED.
    pub pending: Option<ChildSa>,
}

impl QuickMode {
    pub fn deadline(&self) -> Duration {
        self.retransmit
            .as_ref()
            .map_or(self.give_up_at, |r| r.deadline.min(self.give_up_at))
    }
}

/// A finished Quick Mode's last exchange of messages: a repeat of the peer's last message
/// gets our last one again.
#[derive(Debug, Clone)]
pub struct Finished {
    pub message_id: u32,
    pub last_received: Vec<u8>,
    pub last_sent: Vec<u8>,
}

/// How many finished Quick Modes are remembered.
pub const FINISHED_KEPT: usize = 8;

/// What the exchanges may reach of the engine besides their SA.
pub struct V1Ctx<'a> {
    pub now: Duration,
    pub rng: &'a mut dyn RngSource,
    /// Every inbound ESP SPI the node's SAs hold, IKEv2's too (a new one is chosen outside it).
    pub esp_spis: &'a mut EspSpis,
    /// `now` as a Unix time, for certificate validity.
    pub unix_time: i64,
    /// The responder's cookie secrets (RFC 2408 2.5.3), for a first message's answer.
    pub cookies: Option<&'a CookieSecrets>,
}

impl<'a> V1Ctx<'a> {
    /// A fresh nonce (RFC 2409 5: 8 to 256 bytes).
    pub fn nonce(&mut self) -> Vec<u8> {
        random_vec(self.rng, 32)
    }

    /// The context at `now`; `unix_epoch_offset` is the Unix time at `now` zero.
    pub fn new(
        now: Duration,
        rng: &'a mut dyn RngSource,
        esp_spis: &'a mut EspSpis,
        unix_epoch_offset: i64,
    ) -> V1Ctx<'a> {
        V1Ctx {
            now,
            rng,
            esp_spis,
            unix_time: unix_epoch_offset.saturating_add(now.as_secs() as i64),
            cookies: None,
        }
    }

    /// Our responder cookie for a new SA: the keyed hash when the engine gave its secrets,
    /// else random.
    pub fn responder_cookie(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        icookie: [u8; 8],
    ) -> [u8; 8] {
        if let Some(s) = self.cookies {
            return s.make(local, remote, icookie);
        }
        let mut c = [0u8; 8];
        self.rng.fill(&mut c);
        c
    }

    /// A fresh inbound SPI (never below 256, RFC 4303 2.1).
    pub fn new_esp_spi(&mut self) -> u32 {
        self.esp_spis.take_new(self.rng)
    }
}

/// An ISAKMP SA's part in a reauthentication.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reauth {
    /// When this side starts a new Main Mode (none: not this side's, or already started).
    pub at: Option<Duration>,
    /// This SA is our new Main Mode that replaces SA `of` once it is up.
    pub of: Option<IkeSaId>,
    /// It just came up: the engine looks for the SA it replaces.
    pub fresh: bool,
    /// An old phase 1 whose IPsec SAs went to its successor: it runs no timer of its own
    /// and only waits for the peer's delete (or its lifetime).
    pub retired: bool,
}

impl Reauth {
    /// When the SA's timer is needed for its reauthentication.
    pub fn deadline(&self, established: bool) -> Option<Duration> {
        self.at.filter(|_| established && !self.retired)
    }

    /// Whether the reauthentication is due.
    pub fn due(&self, established: bool, now: Duration) -> bool {
        self.deadline(established).is_some_and(|t| t <= now)
    }
}

/// One ISAKMP SA.
pub struct IsakmpSa {
    pub id: IkeSaId,
    pub config: Arc<IkeConfig>,
    pub initiator: bool,
    pub icookie: [u8; 8],
    pub rcookie: [u8; 8],
    pub state: Phase1State,
    /// Aggressive Mode rather than Main Mode.
    pub aggressive: bool,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub suite: Option<Phase1Suite>,
    pub exchange: Option<Phase1Exchange>,
    pub keys: Option<Phase1Keys>,
    /// The IV of the next encrypted phase 1 message, then the last CBC block of phase 1
    /// (the base of every later exchange's IV).
    pub iv: Vec<u8>,
    /// The peer's last phase 1 message as received, and our answer to it: when it comes
    /// again our answer is sent again (RFC 2408 5.x retransmission by the responder).
    pub last_received: Vec<u8>,
    pub last_sent: Vec<Vec<u8>>,
    /// Our phase 1 message in flight (initiator), sent again on its timer.
    pub retransmit: Option<Retransmit>,
    pub peer_id: Option<Identity>,
    pub established_at: Option<Duration>,
    pub expire_at: Option<Duration>,
    /// When a half-done phase 1 gives up.
    pub setup_deadline: Duration,
    /// Whether a NAT is on the path (RFC 3947): on our side, on the peer's.
    pub nat_local: bool,
    pub nat_remote: bool,
    /// The peer announced RFC 3947 (or a draft of it) in its vendor IDs.
    pub peer_natt: bool,
    pub quick_modes: BTreeMap<u32, QuickMode>,
    /// The last Quick Modes done, to answer a repeat of their last message.
    pub finished: Vec<Finished>,
    pub children: Vec<ChildSa>,
    pub next_child: ChildId,
    pub counters: Counters,
    /// RFC 3706 DPD (probing starts once the SA is up, `dpd_probe`); its numbering is what
    /// the HA sync carries of it.
    pub dpd: Dpd,
    /// Its reauthentication by a new Main Mode (`reauth`).
    pub reauth: Reauth,
    actions: Vec<Action>,
}

/// How long a phase 1 or Quick Mode may take before it is given up.
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

impl IsakmpSa {
    pub fn new(
        id: IkeSaId,
        config: Arc<IkeConfig>,
        initiator: bool,
        icookie: [u8; 8],
        local: SocketAddr,
        remote: SocketAddr,
        now: Duration,
    ) -> IsakmpSa {
        IsakmpSa {
            id,
            aggressive: false,
            config,
            initiator,
            icookie,
            rcookie: [0; 8],
            state: if initiator {
                Phase1State::MmSaSent
            } else {
                Phase1State::MmSaAnswered
            },
            local,
            remote,
            suite: None,
            exchange: None,
            keys: None,
            iv: Vec::new(),
            last_received: Vec::new(),
            last_sent: Vec::new(),
            retransmit: None,
            peer_id: None,
            established_at: None,
            expire_at: None,
            setup_deadline: now + SETUP_TIMEOUT,
            nat_local: false,
            nat_remote: false,
            peer_natt: false,
            quick_modes: BTreeMap::new(),
            finished: Vec::new(),
            children: Vec::new(),
            next_child: 1,
            counters: Counters::default(),
            dpd: Dpd::resume(None, DpdSnapshot::default(), now),
            reauth: Reauth::default(),
            actions: Vec::new(),
        }
    }

    pub fn is_closed(&self) -> bool {
        self.state == Phase1State::Closed
    }

    pub fn is_established(&self) -> bool {
        self.state == Phase1State::Established
    }

    pub fn cookies(&self) -> (u64, u64) {
        (
            u64::from_be_bytes(self.icookie),
            u64::from_be_bytes(self.rcookie),
        )
    }

    /// The SA as `IkeSaUp` announces it (and a standby learns it at import).
    pub fn info(&self) -> IkeSaInfo {
        let (spi_i, spi_r) = self.cookies();
        IkeSaInfo {
            sa: self.id,
            config: self.config.name.clone(),
            spi_i,
            spi_r,
            initiator: self.initiator,
            local: self.local,
            remote: self.remote,
            remote_id: self
                .peer_id
                .clone()
                .unwrap_or_else(|| Identity::ip(self.remote.ip())),
            virtual_ip: None,
        }
    }

    pub fn take_actions(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.actions)
    }

    pub fn push(&mut self, a: Action) {
        self.actions.push(a);
    }

    pub fn event(&mut self, event: Event) {
        let sa = Some(self.id);
        self.actions.push(Action::Event { sa, event });
    }

    /// A received message dropped: counted, and told to the caller.
    pub fn drop_message(&mut self, r: DropReason) {
        self.counters.drop(r);
        self.event(Event::Dropped(r));
    }

    /// The header of a message of ours in `exchange` with `message_id`.
    pub fn header(&self, exchange: u8, flags: u8, message_id: u32) -> Header {
        Header {
            icookie: self.icookie,
            rcookie: self.rcookie,
            next_payload: 0,
            version: 0x10,
            exchange,
            flags,
            message_id,
            length: 0,
        }
    }

    /// The datagram as it leaves: with the non-ESP marker once on port 4500 (RFC 3948 2.2).
    fn framed(&self, msg: Vec<u8>) -> Vec<u8> {
        if self.local.port() == NATT_PORT {
            with_non_esp_marker(&msg)
        } else {
            msg
        }
    }

    /// Sends a message once (an answer, or a notification).
    pub fn send(&mut self, msg: Vec<u8>) -> Vec<u8> {
        let bytes = self.framed(msg);
        self.actions.push(Action::Send {
            from: self.local,
            to: self.remote,
            bytes: bytes.clone(),
        });
        bytes
    }

    /// Sends a phase 1 message of ours that the peer must answer: kept for its timer.
    pub fn send_request(&mut self, msg: Vec<u8>, now: Duration) {
        let bytes = self.send(msg);
        self.retransmit = Some(Retransmit::new(vec![bytes], now, &self.config.retransmit));
    }

    /// Sends a phase 1 answer, kept to be sent again if the peer repeats `received`.
    pub fn send_answer(&mut self, msg: Vec<u8>, received: &[u8]) {
        let bytes = self.send(msg);
        self.last_received = received.to_vec();
        self.last_sent = vec![bytes];
        self.retransmit = None;
    }

    /// Whether `raw` repeats the peer's last phase 1 message: then our answer goes again.
    pub fn answer_repeat(&mut self, raw: &[u8]) -> bool {
        if self.last_received.is_empty() || self.last_received != raw {
            return false;
        }
        self.counters.requests_answered_from_cache += 1;
        for bytes in self.last_sent.clone() {
            self.actions.push(Action::Send {
                from: self.local,
                to: self.remote,
                bytes,
            });
        }
        true
    }

    /// Encrypts a message body under the phase 1 IV chain (the chain moves on).
    pub fn seal_phase1(&mut self, header: &Header, payloads: &[Payload]) -> Option<Vec<u8>> {
        let iv = self.iv.clone();
        let (msg, next_iv) = self.seal_with(&iv, header, payloads)?;
        self.iv = next_iv;
        Some(msg)
    }

    /// Encrypts a message under `iv`: the message, and the IV after it.
    pub fn seal_with(
        &self,
        iv: &[u8],
        header: &Header,
        payloads: &[Payload],
    ) -> Option<(Vec<u8>, Vec<u8>)> {
        let suite = self.suite.as_ref()?;
        let keys = self.keys.as_ref()?;
        let (first, body) = wire::encode_payloads(payloads).ok()?;
        let h = Header {
            next_payload: first,
            flags: header.flags | wire::flags::ENCRYPTION,
            ..header.clone()
        };
        let sealed = crypt::encrypt(suite.cipher, &keys.enc_key, iv, &body).ok()?;
        Some((wire::encode_message(&h, &sealed.data), sealed.next_iv))
    }

    /// Decrypts a message body under `iv`: the plaintext (padded) and the IV after it; the
    /// caller moves its chain on only once the message is authenticated.
    pub fn open_with(&self, iv: &[u8], body: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        let suite = self.suite.as_ref()?;
        let keys = self.keys.as_ref()?;
        let plain = crypt::decrypt(suite.cipher, &keys.enc_key, iv, body).ok()?;
        Some((plain.data.to_vec(), plain.next_iv))
    }

    /// Sends the phase 1 message in flight again, or gives the SA up (setup time, lifetime,
    /// retransmissions spent).
    pub fn on_timer(&mut self, now: Duration) {
        if self.is_closed() {
            return;
        }
        if !self.is_established() && now >= self.setup_deadline {
            return self.close(DownReason::Timeout, now);
        }
        if let Some(expire) = self.expire_at {
            if now >= expire {
                return self.close(DownReason::Expired, now);
            }
        }
        let cfg = self.config.retransmit;
        if let Some(r) = self.retransmit.as_mut() {
            match r.on_timer(now, &cfg) {
                Expiry::NotYet => {}
                Expiry::Resend => {
                    let (sent, datagrams) = (r.sent, r.datagrams.clone());
                    self.counters.retransmits += 1;
                    for bytes in datagrams {
                        self.actions.push(Action::Send {
                            from: self.local,
                            to: self.remote,
                            bytes,
                        });
                    }
                    self.event(Event::Retransmitted {
                        message_id: 0,
                        sent,
                    });
                }
                Expiry::GiveUp => self.close(DownReason::PeerDead, now),
            }
        }
    }

    /// When `on_timer` is next needed.
    pub fn deadline(&self) -> Option<Duration> {
        if self.is_closed() {
            return None;
        }
        let setup = (!self.is_established()).then_some(self.setup_deadline);
        let qm = self.quick_modes.values().map(|q| q.deadline()).min();
        let children = self
            .children
            .iter()
            .flat_map(|c| {
                [
                    c.rekey_at.filter(|_| c.state == ChildState::Installed),
                    c.expire_at,
                ]
            })
            .flatten()
            .min();
        [
            setup,
            self.expire_at,
            self.retransmit.as_ref().map(|r| r.deadline),
            qm,
            children,
            // DPD's probes, only while the SA is up.
            self.dpd
                .next_deadline()
                .filter(|_| self.is_established() && !self.reauth.retired),
            self.reauth.deadline(self.is_established()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Takes the SA down: its IPsec SAs leave the fast path, then the SA itself.
    pub fn close(&mut self, reason: DownReason, _now: Duration) {
        if self.is_closed() {
            return;
        }
        let was_up = self.established_at.is_some();
        for c in std::mem::take(&mut self.children) {
            if c.installed {
                self.actions.push(Action::ChildSaDown {
                    child: c.child_ref(self.id),
                    reason: DownReason::IkeSaDown,
                });
            }
        }
        self.quick_modes.clear();
        self.retransmit = None;
        self.state = Phase1State::Closed;
        if was_up {
            self.actions.push(Action::IkeSaDown {
                sa: self.id,
                conn: self.config.name.clone(),
                reason,
            });
        }
    }
}
