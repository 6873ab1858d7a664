//! The IKEv1 engine: every ISAKMP SA of a node, found by its cookies, fed datagrams and time,
//! and one queue of actions, in the same shape as the IKEv2 engine (no I/O, no clock: the
//! caller passes `now` and a randomness source, sends what `poll_action` gives and calls
//! `handle_timeout` at `poll_timeout`). Its actions are IKEv2's: the same `ChildSaUp`
//! installs an IPsec SA pair in the fast path. Its SA ids start at `FIRST_ID`, above any
//! IKEv2 engine's, so that one caller can hold both.

mod admission;
mod indexes;
mod timers;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::conn_select::{self, Refusal};
use super::isakmp_sa::{IsakmpSa, Phase1State, V1Ctx};
use super::wire::{self, exchange, HEADER_LEN};
use super::{aggressive_mode, informational, informational_received, main_mode, quick_mode};
use crate::action::{Action, ChildId, Counters, DownReason, DropReason, Event, IkeSaId};
use crate::config::IkeConfig;
use crate::esp_spis::EspSpis;
use crate::message::{ike_message, with_non_esp_marker};
use crate::rng::RngSource;
use crate::sa::ike_sa::NATT_PORT;
use crate::sa::{IkeSaStatus, IkeState};

/// The first ISAKMP SA id (2^48): IKEv2 SA ids stay below it.
pub const FIRST_ID: IkeSaId = 1 << 48;

/// Whether an SA id is one of this engine's.
pub fn is_v1_id(id: IkeSaId) -> bool {
    id >= FIRST_ID
}

pub struct V1Engine {
    configs: Vec<Arc<IkeConfig>>,
    sas: BTreeMap<IkeSaId, IsakmpSa>,
    /// SA ids by initiator cookie (the responder cookie is zero in a first message).
    by_icookie: HashMap<[u8; 8], Vec<IkeSaId>>,
    /// The node's inbound ESP SPIs, IKEv2's too once shared (`share_esp_spis`).
    esp_spis: EspSpis,
    /// The SAs by deadline and by peer.
    indexes: indexes::Indexes,
    actions: VecDeque<Action>,
    counters: Counters,
    next_id: IkeSaId,
    /// Unix time at `now` zero (certificate validity).
    unix_epoch_offset: i64,
    /// The HA role, and which SAs' records changed (`ha`).
    ha: ha::HaState,
    /// Responder cookies and the half-open cap (`admission`).
    admission: admission::Admission,
}

#[path = "ha.rs"]
mod ha;

impl V1Engine {
    /// An engine for the connections that say `version 1` (the others are IKEv2's).
    pub fn new(configs: &[IkeConfig]) -> V1Engine {
        V1Engine {
            configs: configs
                .iter()
                .filter(|c| c.v1().is_some())
                .cloned()
                .map(Arc::new)
                .collect(),
            sas: BTreeMap::new(),
            by_icookie: HashMap::new(),
            esp_spis: EspSpis::default(),
            indexes: indexes::Indexes::default(),
            actions: VecDeque::new(),
            counters: Counters::default(),
            next_id: FIRST_ID,
            unix_epoch_offset: 0,
            ha: ha::HaState::default(),
            admission: admission::Admission::default(),
        }
    }

    /// The Unix time when the caller's clock read zero (as the IKEv2 engine's settings).
    pub fn set_unix_epoch_offset(&mut self, offset: i64) {
        self.unix_epoch_offset = offset;
    }

    /// Whether connection `name` is one of ours.
    pub fn has_conn(&self, name: &str) -> bool {
        self.configs.iter().any(|c| c.name == name)
    }

    /// Whether any connection speaks IKEv1.
    pub fn has_connections(&self) -> bool {
        !self.configs.is_empty()
    }

    /// Picks inbound ESP SPIs from `spis` (the IKEv2 engine's, `Engine::esp_spis`) from now
    /// on: both engines install into one fast path, which keys its inbound SAs by SPI alone.
    /// The SPIs taken so far move there.
    pub fn share_esp_spis(&mut self, spis: EspSpis) {
        spis.absorb(&self.esp_spis);
        self.esp_spis = spis;
    }

    /// The set this engine picks inbound ESP SPIs from.
    pub fn esp_spis(&self) -> &EspSpis {
        &self.esp_spis
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Everything counted: the engine's, and its SAs'.
    pub fn total_counters(&self) -> Counters {
        let mut total = self.counters.clone();
        for sa in self.sas.values() {
            total.absorb(&sa.counters);
        }
        total.half_open.current = self.half_open() as u64;
        total
    }

    pub fn sa(&self, id: IkeSaId) -> Option<&IsakmpSa> {
        self.sas.get(&id)
    }

    pub fn sa_ids(&self) -> Vec<IkeSaId> {
        self.sas.keys().copied().collect()
    }

    /// The connections to initiate at start: a peer address and a child that starts.
    pub fn start_conns(&self) -> Vec<String> {
        self.configs
            .iter()
            .filter(|c| c.starts_at_load())
            .map(|c| c.name.clone())
            .collect()
    }

    /// Starts Main Mode for connection `config` as initiator.
    pub fn initiate(
        &mut self,
        now: Duration,
        rng: &mut dyn RngSource,
        config: &str,
    ) -> Option<IkeSaId> {
        if self.ha.is_passive() {
            return None;
        }
        let cfg = self.configs.iter().find(|c| c.name == config)?.clone();
        let id = self.next_id;
        let mut ctx = self.ctx(now, rng);
        let sa = if conn_select::is_aggressive(&cfg) {
            aggressive_mode::initiate(&mut ctx, id, cfg, now)?
        } else {
            main_mode::initiate(&mut ctx, id, cfg, now)?
        };
        self.next_id += 1;
        self.keep(sa);
        Some(id)
    }

    /// Runs `f` on SA `id`, then collects its actions and keeps or forgets it.
    fn with_sa(
        &mut self,
        id: IkeSaId,
        now: Duration,
        rng: &mut dyn RngSource,
        f: impl FnOnce(&mut IsakmpSa, &mut V1Ctx),
    ) -> bool {
        let Some(mut sa) = self.sas.remove(&id) else {
            return false;
        };
        let mut ctx = self.ctx(now, rng);
        f(&mut sa, &mut ctx);
        let sa = self.adopt(sa, now, rng);
        self.keep(sa);
        true
    }

    fn keep(&mut self, mut sa: IsakmpSa) {
        self.actions.extend(sa.take_actions());
        self.ha.note(&sa);
        self.note_half_open(&sa);
        let id = sa.id;
        if sa.is_closed() {
            self.unlink_cookie(id, sa.icookie);
            for c in &sa.children {
                self.esp_spis.remove(&c.spi_in);
            }
            self.counters.absorb(&sa.counters);
            self.indexes.forget(id);
            return;
        }
        self.indexes.keep(&sa);
        let ids = self.by_icookie.entry(sa.icookie).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
        self.sas.insert(id, sa);
    }

    /// SA `id` is no longer found by `icookie`.
    fn unlink_cookie(&mut self, id: IkeSaId, icookie: [u8; 8]) {
        if let Some(ids) = self.by_icookie.get_mut(&icookie) {
            ids.retain(|i| *i != id);
            if ids.is_empty() {
                self.by_icookie.remove(&icookie);
            }
        }
    }

    fn drop_datagram(&mut self, r: DropReason) {
        self.counters.drop(r);
        self.actions.push_back(Action::Event {
            sa: None,
            event: Event::Dropped(r),
        });
    }

    /// The SA a message with this header belongs to.
    fn find(&self, h: &wire::Header, remote: SocketAddr) -> Option<IkeSaId> {
        let ids = self.by_icookie.get(&h.icookie)?;
        ids.iter().copied().find(|id| {
            let sa = &self.sas[id];
            sa.rcookie == h.rcookie
                // The answer to our first message names the responder's cookie first.
                || (sa.initiator
                    && sa.rcookie == [0; 8]
                    && matches!(sa.state, Phase1State::MmSaSent | Phase1State::AmSent))
                // A repeat of a first message we answered.
                || (!sa.initiator && h.rcookie == [0; 8] && sa.remote.ip() == remote.ip())
        })
    }

    /// One UDP datagram received on `local` from `remote` (on port 4500 with its marker).
    pub fn handle_datagram(
        &mut self,
        now: Duration,
        rng: &mut dyn RngSource,
        local: SocketAddr,
        remote: SocketAddr,
        datagram: &[u8],
    ) {
        if self.ha.is_passive() {
            return self.drop_datagram(DropReason::Standby);
        }
        let raw = match ike_message(local.port(), datagram) {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(r) => return self.drop_datagram(r),
        };
        let Ok(h) = wire::parse_header(raw) else {
            return self.drop_datagram(DropReason::Malformed);
        };
        let body = &raw[HEADER_LEN..];
        let Some(id) = self.find(&h, remote) else {
            if h.rcookie != [0; 8] {
                return self.drop_unknown(local, remote, &h);
            }
            return self.new_responder(now, rng, local, remote, raw, &h);
        };
        // MM5 may move the SA to the connection of the initiator's identity.
        let configs = if h.exchange == exchange::IDENTITY_PROTECTION && h.is_encrypted() {
            self.configs.clone()
        } else {
            Vec::new()
        };
        self.with_sa(id, now, rng, |sa, ctx| {
            if sa.answer_repeat(raw) {
                return;
            }
            match h.exchange {
                exchange::IDENTITY_PROTECTION => {
                    if conn_select::fit_main_mode_identity(sa, ctx, &configs, &h, body) {
                        main_mode::on_message(sa, ctx, (local, remote), raw, &h, body)
                    }
                }
                exchange::AGGRESSIVE => {
                    aggressive_mode::on_message(sa, ctx, (local, remote), raw, &h, body)
                }
                exchange::QUICK_MODE => quick_mode::on_message(sa, ctx, raw, &h, body),
                exchange::INFORMATIONAL => informational_received::on_message(sa, ctx, &h, body),
                _ => sa.drop_message(DropReason::WrongState),
            }
        });
    }

    /// A first message from a peer we hold no SA with.
    fn new_responder(
        &mut self,
        now: Duration,
        rng: &mut dyn RngSource,
        local: SocketAddr,
        remote: SocketAddr,
        raw: &[u8],
        h: &wire::Header,
    ) {
        if h.message_id != 0 || h.is_encrypted() {
            return self.drop_datagram(DropReason::UnknownSpi);
        }
        let aggressive = h.exchange == exchange::AGGRESSIVE;
        if !aggressive && h.exchange != exchange::IDENTITY_PROTECTION {
            return self.drop_datagram(DropReason::WrongState);
        }
        // Before any work on the message (Aggressive Mode's D-H among it).
        if !self.room_for_responder() {
            return self.drop_datagram(DropReason::HalfOpenCap);
        }
        self.fresh_secrets(rng, now);
        let id = self.next_id;
        // Field by field: the conns are read while the context holds the SPI set.
        let mut ctx = V1Ctx::new(now, rng, &mut self.esp_spis, self.unix_epoch_offset);
        ctx.cookies = self.admission.secrets.as_ref();
        let body = &raw[HEADER_LEN..];
        let answered = if aggressive {
            aggressive_mode::respond(&mut ctx, id, &self.configs, local, remote, raw, h, body)
        } else {
            conn_select::offered_sa(h, body)
                .and_then(|offer| conn_select::for_main_mode(&self.configs, local, remote, &offer))
                .and_then(|cfg| main_mode::respond(&mut ctx, id, cfg, local, remote, raw, h, body))
                .ok_or(Refusal::NO_CONFIG)
        };
        match answered {
            Ok(mut sa) => {
                Self::admit(&mut sa, &self.admission.limits, now);
                self.next_id += 1;
                self.keep(sa);
                self.evict_over_cap(now, rng);
            }
            Err(refusal) => self.refuse(refusal, (local, remote), h),
        }
    }

    /// A first message refused: counted, and told to the peer when the refusal has a
    /// notification.
    fn refuse(
        &mut self,
        refusal: Refusal,
        (local, remote): (SocketAddr, SocketAddr),
        h: &wire::Header,
    ) {
        self.drop_datagram(refusal.reason);
        let Some(msg) = refusal
            .notify
            .and_then(|n| conn_select::refusal_message(h, n))
        else {
            return;
        };
        let bytes = if local.port() == NATT_PORT {
            with_non_esp_marker(&msg)
        } else {
            msg
        };
        self.actions.push_back(Action::Send {
            from: local,
            to: remote,
            bytes,
        });
    }

    /// Deletes an ISAKMP SA (telling the peer) with its IPsec SAs.
    pub fn delete_sa(&mut self, now: Duration, rng: &mut dyn RngSource, id: IkeSaId) -> bool {
        self.with_sa(id, now, rng, informational::delete_sa)
    }

    /// Deletes one IPsec SA pair (telling the peer).
    pub fn delete_child(
        &mut self,
        now: Duration,
        rng: &mut dyn RngSource,
        id: IkeSaId,
        child: ChildId,
    ) -> bool {
        self.remove_child(now, rng, id, child, DownReason::Deleted)
    }

    /// The fast path's hard lifetime of an IPsec SA.
    pub fn expire_child(
        &mut self,
        now: Duration,
        rng: &mut dyn RngSource,
        id: IkeSaId,
        child: ChildId,
    ) -> bool {
        self.remove_child(now, rng, id, child, DownReason::Expired)
    }

    fn remove_child(
        &mut self,
        now: Duration,
        rng: &mut dyn RngSource,
        id: IkeSaId,
        child: ChildId,
        reason: DownReason,
    ) -> bool {
        let mut ok = false;
        self.with_sa(id, now, rng, |sa, ctx| {
            ok = informational::delete_child(sa, ctx, child, reason)
        });
        ok
    }

    /// Rekeys an IPsec SA pair now with a new Quick Mode (the fast path's soft lifetime).
    pub fn rekey_child(
        &mut self,
        now: Duration,
        rng: &mut dyn RngSource,
        id: IkeSaId,
        child: ChildId,
    ) -> bool {
        let mut ok = false;
        self.with_sa(id, now, rng, |sa, ctx| {
            let name = sa
                .children
                .iter()
                .find(|c| c.id == child)
                .map(|c| c.config.clone());
            if let Some(name) = name {
                ok = quick_mode::initiate(sa, ctx, &name, Some(child));
            }
        });
        ok
    }

    /// Each ISAKMP SA as the IKEv2 engine shows its IKE SAs.
    pub fn status(&self, now: Duration) -> Vec<IkeSaStatus> {
        self.sas.values().map(|s| status_of(s, now)).collect()
    }
}

fn status_of(sa: &IsakmpSa, now: Duration) -> IkeSaStatus {
    let (spi_i, spi_r) = sa.cookies();
    let state = match sa.state {
        Phase1State::Established => IkeState::Established,
        Phase1State::Closed => IkeState::Closed,
        Phase1State::MmSaAnswered | Phase1State::MmKeAnswered | Phase1State::AmAnswered => {
            IkeState::HalfOpen
        }
        Phase1State::MmSaSent | Phase1State::AmSent => IkeState::SaInitSent,
        Phase1State::MmKeSent | Phase1State::MmIdSent => IkeState::AuthSent,
    };
    let until = |t: Option<Duration>| t.map(|t| t.saturating_sub(now));
    IkeSaStatus {
        id: sa.id,
        config: sa.config.name.clone(),
        state,
        spi_i,
        spi_r,
        initiator: sa.initiator,
        local: sa.local,
        remote: sa.remote,
        remote_id: sa.peer_id.clone(),
        suite: sa.suite.as_ref().map(|s| s.suite),
        nat_local: sa.nat_local,
        nat_remote: sa.nat_remote,
        established_for: sa.established_at.map(|t| now.saturating_sub(t)),
        rekey_in: until(sa.expire_at),
        virtual_ip: None,
        children: sa.children.iter().map(|c| c.status(now)).collect(),
        counters: sa.counters.clone(),
    }
}
