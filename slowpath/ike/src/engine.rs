//! The caller's entry point: all IKE SAs of a node, found by our SPI, fed datagrams and time,
//! and one queue of actions. No I/O, no clock, no threads: the caller passes `now` (its own
//! monotonic clock) and a randomness source to every call, sends what `poll_action` gives, and
//! calls `handle_timeout` at `poll_timeout`.

pub(crate) mod deadlines;
mod initial_contact;
mod records;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::action::{Action, ChildId, Counters, DropReason, IkeSaId};
use crate::config::{Identity, IkeConfig};
use crate::esp_spis::EspSpis;
use crate::ha::{HaRole, HaSettings};
use crate::half_open::{HalfOpenTable, ShrinkWhenSparse};
use crate::message::{with_non_esp_marker, ExchangeType, Message};
use crate::pool::{Pool, PoolConfig, Pools};
use crate::responder::{HalfOpenLimits, InitDecision, Responder};
use crate::rng::RngSource;
use crate::sa::export::IkeSaExport;
use crate::sa::ike_sa::NATT_PORT;
use crate::sa::{Ctx, IkeSa, IkeSaStatus, IkeState, SpiAllocator};
use deadlines::DeadlineIndex;

mod operator;
mod role;
pub use operator::{HalfOpenFlush, LeaseView, PoolView};
pub use records::Changes;

/// Node-wide settings.
#[derive(Debug, Clone, Default)]
pub struct EngineSettings {
    /// Cookies, half-open limits and timeout.
    pub limits: HalfOpenLimits,
    /// Unix time (seconds) at the caller's `now` = 0, for certificate validity.
    pub unix_epoch_offset: i64,
}

/// Which keys of the maps an SA holds, to update them after each call.
#[derive(Debug, Clone, Default)]
struct Held {
    ike: Vec<u64>,
    esp: Vec<u32>,
    half_open: Option<(IpAddr, u64)>,
    /// The IKE SA's SPIs (what its record is known by).
    spis: Option<(u64, u64)>,
    /// Its entry in `deadlines` (none on a standby).
    deadline: Option<Duration>,
    /// Its peer's address, its entry in `by_peer`.
    peer: Option<IpAddr>,
    /// The peer's authenticated identity, its entry in `by_identity`.
    identity: Option<Identity>,
}

/// Everything of an engine, for the HA peer.
#[derive(Debug, Clone)]
pub struct EngineExport {
    pub sas: Vec<IkeSaExport>,
    pub pools: Pools,
    pub next_id: IkeSaId,
    pub responder: Responder,
}

pub struct Engine {
    configs: Vec<Arc<IkeConfig>>,
    settings: EngineSettings,
    pools: Pools,
    sas: BTreeMap<IkeSaId, IkeSa>,
    by_spi: HashMap<u64, IkeSaId>,
    half_open: HalfOpenTable,
    held: HashMap<IkeSaId, Held>,
    deadlines: DeadlineIndex,
    by_peer: BTreeSet<(IpAddr, IkeSaId)>,
    /// The SAs by the peer's authenticated identity (INITIAL_CONTACT closes its others).
    by_identity: HashMap<Identity, BTreeSet<IkeSaId>>,
    spis: SpiAllocator,
    responder: Responder,
    actions: VecDeque<Action>,
    counters: Counters,
    next_id: IkeSaId,
    role: HaRole,
    ha: HaSettings,
    /// SAs whose record changed since `take_changed`, and records gone (by SPIs).
    changed: BTreeSet<IkeSaId>,
    removed: Vec<(u64, u64)>,
}

impl Engine {
    pub fn new(
        configs: Vec<IkeConfig>,
        pools: Vec<PoolConfig>,
        settings: EngineSettings,
        rng: &mut dyn RngSource,
        now: Duration,
    ) -> Engine {
        Engine {
            configs: configs.into_iter().map(Arc::new).collect(),
            responder: Responder::new(settings.limits, rng, now),
            settings,
            pools: pools
                .into_iter()
                .map(|p| (p.name.clone(), Pool::new(p)))
                .collect(),
            sas: BTreeMap::new(),
            by_spi: HashMap::new(),
            half_open: HalfOpenTable::default(),
            held: HashMap::new(),
            deadlines: DeadlineIndex::default(),
            by_peer: BTreeSet::new(),
            by_identity: HashMap::new(),
            spis: SpiAllocator::default(),
            actions: VecDeque::new(),
            counters: Counters::default(),
            next_id: 1,
            role: HaRole::Active,
            ha: HaSettings::default(),
            changed: BTreeSet::new(),
            removed: Vec::new(),
        }
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Messages dropped before they reached an SA, plus what closed SAs counted.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Everything counted since the start: the engine's, closed SAs' and live SAs' counters,
    /// and the half-open SAs now.
    pub fn total_counters(&self) -> Counters {
        let mut total = self.counters.clone();
        for sa in self.sas.values() {
            total.absorb(&sa.counters);
        }
        total.half_open.current = self.half_open.len() as u64;
        total
    }

    /// Entries the engine's lookup tables have room for: what they hold in memory, which
    /// falls again once a flood's half-open SAs are gone.
    pub fn table_capacity(&self) -> usize {
        self.half_open.capacity()
            + self.by_spi.capacity()
            + self.held.capacity()
            + self.spis.ike.capacity()
            + self.spis.esp.capacity()
    }

    /// The inbound ESP SPIs of the node (a handle on the set): the IKEv1 engine picks from it
    /// too (`V1Engine::share_esp_spis`).
    pub fn esp_spis(&self) -> EspSpis {
        self.spis.esp.clone()
    }

    pub fn sa(&self, id: IkeSaId) -> Option<&IkeSa> {
        self.sas.get(&id)
    }

    pub fn sa_ids(&self) -> Vec<IkeSaId> {
        self.sas.keys().copied().collect()
    }

    pub fn pools(&self) -> &Pools {
        &self.pools
    }

    pub fn status(&self, now: Duration) -> Vec<IkeSaStatus> {
        self.sas.values().map(|s| s.status(now)).collect()
    }

    /// When `handle_timeout` is next needed (never, on a standby).
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.passive() {
            return None;
        }
        #[cfg(any(test, debug_assertions))]
        self.check_indexes();
        self.deadlines.first()
    }

    /// The connections a daemon initiates when it loads its configuration: those with a
    /// peer address and a CHILD SA with start action `Start`.
    pub fn start_conns(&self) -> Vec<String> {
        self.configs
            .iter()
            .filter(|c| c.starts_at_load())
            .map(|c| c.name.clone())
            .collect()
    }

    /// Initiates every connection of `start_conns`.
    pub fn start(&mut self, now: Duration, rng: &mut dyn RngSource) -> Vec<IkeSaId> {
        self.start_conns()
            .iter()
            .filter_map(|n| self.initiate(now, rng, n, None))
            .collect()
    }

    /// Starts connection `config` as initiator; `child` names the CHILD SA for IKE_AUTH.
    pub fn initiate(
        &mut self,
        now: Duration,
        rng: &mut dyn RngSource,
        config: &str,
        child: Option<&str>,
    ) -> Option<IkeSaId> {
        if self.passive() {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        let sa = IkeSa::new_initiator(id, &mut self.ctx(now, rng), config, child)?;
        self.after(id, sa);
        Some(id)
    }

    fn unix_time(&self, now: Duration) -> i64 {
        self.settings
            .unix_epoch_offset
            .saturating_add(now.as_secs() as i64)
    }

    /// Runs `f` on SA `id` with a context, then collects its output and keys. Not on a
    /// standby (which changes nothing but by import).
    pub fn with_sa(
        &mut self,
        id: IkeSaId,
        now: Duration,
        rng: &mut dyn RngSource,
        f: impl FnOnce(&mut IkeSa, &mut Ctx),
    ) -> bool {
        if self.passive() {
            return false;
        }
        let Some(mut sa) = self.sas.remove(&id) else {
            return false;
        };
        f(&mut sa, &mut self.ctx(now, rng));
        let initial_contact = std::mem::take(&mut sa.initial_contact);
        self.after(id, sa);
        if initial_contact {
            self.drop_forgotten(id, now, rng);
        }
        true
    }

    /// What an SA's handlers may reach of the engine besides the SA itself (which the
    /// caller has taken out of `sas`).
    fn ctx<'a>(&'a mut self, now: Duration, rng: &'a mut dyn RngSource) -> Ctx<'a> {
        Ctx {
            now,
            unix_time: self.unix_time(now),
            half_open_timeout: self.settings.limits.half_open_timeout,
            ha: self.ha,
            rng,
            configs: &self.configs,
            pools: &mut self.pools,
            spis: &mut self.spis,
            others: &self.sas,
            by_peer: &self.by_peer,
        }
    }

    /// Moves the SA's actions to ours, updates the SPI maps, keeps or forgets it.
    fn after(&mut self, id: IkeSaId, mut sa: IkeSa) {
        while let Some(a) = sa.poll_action() {
            self.actions.push_back(a);
        }
        let mut old = self.held.remove(&id).unwrap_or_default();
        for s in &old.ike {
            if self.by_spi.get(s) == Some(&id) {
                self.by_spi.remove(s);
            }
            self.spis.ike.remove(s);
        }
        for s in &old.esp {
            self.spis.esp.remove(s);
        }
        if let Some(k) = old.half_open {
            self.half_open.remove(&k);
        }
        let keep = !sa.is_closed();
        let same_identity = keep && old.identity == sa.remote_identity;
        let new = if keep {
            Held {
                ike: sa.local_spis(),
                esp: sa.esp_spis(),
                half_open: (sa.state == IkeState::HalfOpen)
                    .then(|| sa.init.as_ref().map(|i| (sa.remote.ip(), i.spi_i)))
                    .flatten(),
                spis: sa.spis(),
                deadline: self.deadline_of(&sa),
                peer: Some(sa.remote.ip()),
                // The held one when it is the same: no copy per call.
                identity: if same_identity {
                    old.identity.take()
                } else {
                    sa.remote_identity.clone()
                },
            }
        } else {
            Held::default()
        };
        self.deadlines.update(id, old.deadline, new.deadline);
        if old.peer != new.peer {
            if let Some(ip) = old.peer {
                self.by_peer.remove(&(ip, id));
            }
            if let Some(ip) = new.peer {
                self.by_peer.insert((ip, id));
            }
        }
        if !same_identity {
            if let Some(who) = old.identity {
                if let Some(ids) = self.by_identity.get_mut(&who) {
                    ids.remove(&id);
                    if ids.is_empty() {
                        self.by_identity.remove(&who);
                    }
                }
            }
            if let Some(who) = &new.identity {
                self.by_identity.entry(who.clone()).or_default().insert(id);
            }
        }
        self.note_change(id, old.spis, new.spis);
        for s in &new.ike {
            self.by_spi.insert(*s, id);
            self.spis.ike.insert(*s);
        }
        for s in &new.esp {
            self.spis.esp.insert(*s);
        }
        if let Some(k) = new.half_open {
            self.half_open.insert(k, id);
        }
        for s in std::mem::take(&mut self.spis.fresh_ike) {
            if !self.by_spi.contains_key(&s) {
                self.spis.ike.remove(&s);
            }
        }
        for s in std::mem::take(&mut self.spis.fresh_esp) {
            if !new.esp.contains(&s) {
                self.spis.esp.remove(&s);
            }
        }
        if keep {
            self.held.insert(id, new);
            self.sas.insert(id, sa);
        } else {
            // What it counted stays in the totals after it is gone.
            self.counters.absorb(&sa.counters);
            self.by_spi.shrink_when_sparse();
            self.held.shrink_when_sparse();
            self.spis.ike.shrink_when_sparse();
            self.spis.esp.shrink_when_sparse();
        }
    }

    fn drop_datagram(&mut self, r: DropReason) {
        self.counters.drop(r);
        self.actions.push_back(Action::Event {
            sa: None,
            event: crate::action::Event::Dropped(r),
        });
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
        let raw = match crate::message::ike_message(local.port(), datagram) {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(r) => return self.drop_datagram(r),
        };
        if self.passive() {
            return self.drop_datagram(DropReason::Standby);
        }
        let Ok((msg, range)) = Message::parse_with_sk_range(raw) else {
            return self.drop_datagram(DropReason::Malformed);
        };
        let h = msg.header;
        if h.exchange == ExchangeType::IKE_SA_INIT && h.is_request() && h.spi_r == 0 {
            if let Some(id) = self.half_open.get(&(remote.ip(), h.spi_i)) {
                self.with_sa(id, now, rng, |sa, ctx| {
                    sa.on_datagram(ctx, local, remote, raw, &msg, range)
                });
                return;
            }
            return self.new_responder(now, rng, local, remote, raw, &msg);
        }
        // The sender's I flag says which SPI is ours.
        let ours = if h.flags.initiator { h.spi_r } else { h.spi_i };
        let Some(&id) = self.by_spi.get(&ours) else {
            return self.drop_datagram(DropReason::UnknownSpi);
        };
        self.with_sa(id, now, rng, |sa, ctx| {
            sa.on_datagram(ctx, local, remote, raw, &msg, range)
        });
    }

    fn new_responder(
        &mut self,
        now: Duration,
        rng: &mut dyn RngSource,
        local: SocketAddr,
        remote: SocketAddr,
        raw: &[u8],
        msg: &Message,
    ) {
        let counts = (self.half_open.len(), self.half_open.at_address(remote.ip()));
        match self.responder.check(
            now,
            rng,
            &self.configs,
            counts,
            local,
            remote,
            msg,
            &mut self.counters.half_open,
        ) {
            InitDecision::Drop(r) => self.drop_datagram(r),
            InitDecision::Reply(bytes) => {
                let bytes = if local.port() == NATT_PORT {
                    with_non_esp_marker(&bytes)
                } else {
                    bytes
                };
                self.actions.push_back(Action::Send {
                    from: local,
                    to: remote,
                    bytes,
                });
            }
            InitDecision::Accept { config, selected } => {
                let id = self.next_id;
                let mut ctx = self.ctx(now, rng);
                match IkeSa::new_responder(
                    id, &mut ctx, &config, local, remote, raw, msg, &selected,
                ) {
                    Some(sa) => {
                        self.next_id += 1;
                        self.after(id, sa);
                    }
                    None => {
                        self.spis.fresh_ike.clear();
                        self.drop_datagram(DropReason::Malformed);
                    }
                }
            }
        }
    }

    /// Runs every timer that is due.
    pub fn handle_timeout(&mut self, now: Duration, rng: &mut dyn RngSource) {
        if self.passive() {
            return;
        }
        #[cfg(any(test, debug_assertions))]
        self.check_indexes();
        for id in self.deadlines.due(now) {
            let mut expired = false;
            self.with_sa(id, now, rng, |sa, ctx| {
                let half_open = sa.state == IkeState::HalfOpen;
                sa.on_timer(ctx);
                expired = half_open && sa.is_closed();
            });
            self.counters.half_open.expired += u64::from(expired);
        }
    }

    pub fn create_child(
        &mut self,
        now: Duration,
        rng: &mut dyn RngSource,
        sa: IkeSaId,
        config: &str,
    ) -> bool {
        self.with_sa(sa, now, rng, |s, ctx| s.create_child(ctx, config))
    }

    /// Rekeys a CHILD SA now (the fast path's soft lifetime, or the operator).
    pub fn rekey_child(
        &mut self,
        now: Duration,
        rng: &mut dyn RngSource,
        sa: IkeSaId,
        child: ChildId,
    ) -> bool {
        let mut ok = false;
        self.with_sa(sa, now, rng, |s, ctx| ok = s.rekey_child(ctx, child));
        ok
    }

    /// The fast path's hard lifetime of a CHILD SA.
    pub fn expire_child(
        &mut self,
        now: Duration,
        rng: &mut dyn RngSource,
        sa: IkeSaId,
        child: ChildId,
    ) -> bool {
        self.with_sa(sa, now, rng, |s, ctx| s.expire_child(ctx, child))
    }

    pub fn delete_child(
        &mut self,
        now: Duration,
        rng: &mut dyn RngSource,
        sa: IkeSaId,
        child: ChildId,
    ) -> bool {
        let mut ok = false;
        self.with_sa(sa, now, rng, |s, ctx| ok = s.delete_child(ctx, child));
        ok
    }

    pub fn rekey_ike(&mut self, now: Duration, rng: &mut dyn RngSource, sa: IkeSaId) -> bool {
        self.with_sa(sa, now, rng, |s, ctx| s.rekey_ike(ctx))
    }

    pub fn delete_ike(&mut self, now: Duration, rng: &mut dyn RngSource, sa: IkeSaId) -> bool {
        self.with_sa(sa, now, rng, |s, ctx| s.delete(ctx))
    }

    /// ESP was received on a CHILD SA of `sa` at `at` (no DPD needed while traffic flows).
    pub fn traffic_received(&mut self, sa: IkeSaId, at: Duration) {
        let Some(s) = self.sas.get_mut(&sa) else {
            return;
        };
        s.traffic_received(at);
        // A later DPD deadline.
        let new = self.deadline_of(&self.sas[&sa]);
        if let Some(h) = self.held.get_mut(&sa) {
            self.deadlines.update(sa, h.deadline, new);
            h.deadline = new;
        }
    }

    /// Traffic needs connection `config`: held SAs of it initiate again; if it has none,
    /// a new one starts.
    pub fn on_traffic_needs_sa(
        &mut self,
        now: Duration,
        rng: &mut dyn RngSource,
        config: &str,
    ) -> Option<IkeSaId> {
        let existing: Vec<(IkeSaId, IkeState)> = self
            .sas
            .iter()
            .filter(|(_, s)| s.config == config)
            .map(|(id, s)| (*id, s.state))
            .collect();
        if let Some((id, _)) = existing.iter().find(|(_, st)| *st == IkeState::Held) {
            let id = *id;
            self.with_sa(id, now, rng, |s, ctx| s.on_traffic_needs_sa(ctx));
            return Some(id);
        }
        match existing.first() {
            Some((id, _)) => Some(*id),
            None => self.initiate(now, rng, config, None),
        }
    }

    /// Everything, for the HA peer (drain `poll_action` first).
    pub fn export(&self) -> EngineExport {
        EngineExport {
            sas: self.sas.values().map(IkeSa::export).collect(),
            pools: self.pools.clone(),
            next_id: self.next_id,
            responder: self.responder.clone(),
        }
    }

    /// Takes over an exported engine's SAs (see `IkeSa::import` for `seal_counter_shift`)
    /// and its cookie secrets; the limits stay this node's own configuration.
    pub fn import(&mut self, export: EngineExport, seal_counter_shift: u64) {
        self.pools = export.pools;
        self.next_id = self.next_id.max(export.next_id);
        self.responder = Responder {
            config: self.responder.config,
            ..export.responder
        };
        for x in export.sas {
            let sa = IkeSa::import(x, seal_counter_shift);
            let id = sa.id;
            self.after(id, sa);
        }
    }
}
