//! The IKE engine driven over UDP for the daemon: one socket per local address and port (500
//! and 4500), the engine's timers, its CHILD SAs programmed into the fast path (`program`),
//! the fast path's lifetime events fed back (`rekey_child`, `expire_child`), and its per-SA
//! idle times fed to DPD (`traffic_received`). Everything is non-blocking except the fast
//! path's control requests, which are bounded by its client.
//!
//! The daemon polls `fds()`, calls `step(now)` when one is readable or `next_deadline()` has
//! come, hands operator requests to `handle`, and puts `events()` in its event log.
//!
//! Each job is a module: [`sockets`] (UDP in and out), [`southbound`] (the fast path: CHILD
//! SAs and its event stream), [`dpd`] (the fast path's SA activity for DPD), [`northbound`]
//! (the operator's requests), [`render`] (the forms operators read); this one joins them.

mod checkpoint;
#[cfg(test)]
mod checkpoint_tests;
mod dpd;
mod error;
mod groups;
mod ha;
mod ha_role;
mod ha_v1;
mod northbound;
mod render;
mod restore;
mod sockets;
mod southbound;
#[cfg(test)]
mod tests;
mod v1;

use std::collections::{BTreeMap, HashMap};
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ike::action::{Action, ChildId, Event, IkeSaId, IkeSaInfo};
use ike::engine::{Engine, EngineSettings};
use ike::ha::HaRole;
use ike::rng_openssl::OpenSslRng;
use ike::sa::{IkeSaRecord, IkeState};
use ike::v1::engine::{is_v1_id, V1Engine};
use serde_json::{json, Value};

pub use error::{IkeError, IkeRequestError, SubscribeError};
pub use ha::HaCounters;
pub use ha_role::HaStatus;
pub use render::{identity_string, suite_name, ts_string};
pub use sockets::NATT_PORT;

use super::config::{ChildExtra, IkeSettings};
use super::program::{FastpathOps, LogOnly, SaTable, SyncFeed};
use crate::config::HaConfig;
use crate::fastpath::FastpathClient;
use render::ike_spi;
use sockets::Sock;
use southbound::Subscription;

/// How often dropped datagrams are summed up in one event.
const DROP_REPORT: Duration = Duration::from_secs(10);
/// Events kept for `events()` when the daemon does not collect them.
const MAX_PENDING: usize = 4096;

/// What the runner knows of a connection beyond the engine.
struct ConnInfo {
    name: String,
    remote: std::net::IpAddr,
    dpd: Duration,
    children: Vec<String>,
}

#[derive(Debug, Default, Clone)]
struct Stats {
    received: u64,
    sent: u64,
    send_errors: u64,
    fastpath_errors: u64,
    fastpath_events: u64,
    child_install_failures: u64,
    /// IKEv1 datagrams while no connection says `version 1`.
    v1_not_configured: u64,
}

pub struct IkeRunner {
    engine: Engine,
    /// The `version 1` connections' ISAKMP SAs.
    v1: V1Engine,
    rng: OpenSslRng,
    sockets: Vec<Sock>,
    fp: Box<dyn FastpathOps>,
    fp_path: Option<PathBuf>,
    sub: Option<Subscription>,
    resubscribe_at: Option<Duration>,
    table: SaTable,
    /// The fast path's seqnum records, which a replay of `table` needs.
    sync: SyncFeed,
    conns: Vec<ConnInfo>,
    extras: Vec<ChildExtra>,
    /// DPD's look at the fast path's idle times: every half of the shortest DPD interval.
    dpd_period: Option<Duration>,
    next_dpd_poll: Duration,
    /// The fast path's `last_used_ns` of each inbound SA, as last seen.
    last_used: HashMap<u32, u64>,
    ike_sas: BTreeMap<IkeSaId, IkeSaInfo>,
    pending: Vec<Value>,
    drops: BTreeMap<&'static str, u64>,
    drops_reported_at: Duration,
    /// CHILD SAs the fast path refused: deleted in the engine after the current actions.
    to_delete: Vec<(IkeSaId, ChildId)>,
    stats: Stats,
    buf: Vec<u8>,
    /// Where the IKE SAs are kept across a restart (`ike-state-dir`).
    checkpoint: Option<checkpoint::Checkpoint>,
    /// The HA sync with the peer node (an `ha` block).
    ha: Option<ha::HaPart>,
    /// Redundant tunnels (`crypto-group`).
    groups: groups::Groups,
}

impl IkeRunner {
    /// Binds the sockets (500 and 4500 on each conn's local address), opens the fast path
    /// (or only logs what it would be told), and initiates the conns that say `start`. In an
    /// HA pair (`ha`) it starts standby: passive until `take_over`.
    pub fn new(
        ike: IkeSettings,
        fastpath: Option<&Path>,
        now: Duration,
        ha: Option<&HaConfig>,
    ) -> Result<IkeRunner, IkeError> {
        let mut rng = OpenSslRng;
        let unix_now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let settings = EngineSettings {
            limits: ike.limits,
            unix_epoch_offset: unix_now - now.as_secs() as i64,
        };
        let sockets = sockets::open(ike.conns.iter().map(|c| c.local_addr))?;
        let conns = ike
            .conns
            .iter()
            .map(|c| ConnInfo {
                name: c.name.clone(),
                remote: c.remote_addr.ip(),
                dpd: c.dpd.interval,
                children: c.children.iter().map(|ch| ch.name.clone()).collect(),
            })
            .collect::<Vec<_>>();
        let dpd_period = dpd::poll_period(conns.iter().map(|c| c.dpd));
        let peers = conns.iter().map(|c| (c.name.clone(), c.remote));
        let groups = groups::Groups::new(ike.groups.clone(), peers, now);
        let checkpoint = Self::open_checkpoint(ike.state_dir.as_deref());
        let fp: Box<dyn FastpathOps> = match fastpath {
            Some(p) => Box::new(FastpathClient::new(p)),
            None => Box::new(LogOnly::default()),
        };
        let mut v1 = V1Engine::new(&ike.conns);
        v1.set_unix_epoch_offset(settings.unix_epoch_offset);
        v1.set_limits(settings.limits);
        let v2_conns = ike.conns.into_iter().filter(|c| c.v1().is_none()).collect();
        let mut engine = Engine::new(v2_conns, ike.pools, settings, &mut rng, now);
        // One fast path, its inbound SAs keyed by SPI alone: both versions pick from one set.
        v1.share_esp_spis(engine.esp_spis());
        let ha = match ha {
            Some(cfg) => {
                engine.set_role(HaRole::Standby, now, &mut rng);
                v1.set_role(HaRole::Standby, now, &mut rng);
                // The message IDs a standby holds are exact: each record leaves before the
                // datagrams that move them. No RFC 6311 sync at takeover then: strongSwan
                // 5.9 cannot answer a second one on an AES-GCM IKE SA (the response's
                // message ID 0 would reuse its IV), and would drop the SA.
                engine.set_ha_settings(ike::ha::HaSettings {
                    sync_at_takeover: false,
                    ..engine.ha_settings()
                });
                Some(ha::HaPart::open(cfg, now).map_err(IkeError::HaSync)?)
            }
            None => None,
        };
        let mut table = SaTable::default();
        table.set_standby(ha.is_some());
        let mut r = IkeRunner {
            engine,
            v1,
            rng,
            sockets,
            fp,
            fp_path: fastpath.map(Path::to_path_buf),
            sub: None,
            resubscribe_at: fastpath.map(|_| now),
            table,
            sync: SyncFeed::new(fastpath, now),
            conns,
            extras: ike.child_extras,
            dpd_period,
            next_dpd_poll: now,
            last_used: HashMap::new(),
            ike_sas: BTreeMap::new(),
            pending: Vec::new(),
            drops: BTreeMap::new(),
            drops_reported_at: now,
            to_delete: Vec::new(),
            stats: Stats::default(),
            buf: vec![0u8; 65536],
            checkpoint,
            ha,
            groups,
        };
        // Restored IKE SAs first, so that the reconciliation finds their CHILD SAs.
        let restored = r.restore(now);
        r.subscribe(now);
        if r.fp_path.is_none() {
            r.install_unadopted();
        }
        // A connection that got its IKE SA back is not started again; a standby starts none.
        let standby = r.engine.role() == HaRole::Standby;
        for name in r
            .engine
            .start_conns()
            .iter()
            .filter(|n| !standby && !restored.contains(*n))
        {
            if let Some(id) = r.engine.initiate(now, &mut r.rng, name, None) {
                tracing::info!(target: "ike", "initiating IKE SA {id}");
            }
        }
        if !standby {
            r.start_v1(now, &restored);
        }
        // The groups' members, as their bring-up says (those started above are left be).
        if !standby {
            r.apply_group_outputs(now);
        }
        r.drain(now);
        Ok(r)
    }

    /// The descriptors to poll for reading: the UDP sockets and the fast path's event stream.
    pub fn fds(&self) -> Vec<RawFd> {
        let mut v: Vec<RawFd> = self.sockets.iter().map(|s| s.socket.as_raw_fd()).collect();
        if let Some(s) = &self.sub {
            v.push(s.stream.as_raw_fd());
        }
        v.extend(self.sync.fd());
        if let Some(ha) = &self.ha {
            v.extend(ha.link().fds());
        }
        v
    }

    /// When `step` is next needed even if nothing is readable.
    pub fn next_deadline(&self) -> Option<Duration> {
        [
            self.engine.poll_timeout(),
            self.v1.poll_timeout(),
            self.next_dpd_poll(),
            self.resubscribe_at.filter(|_| self.sub.is_none()),
            (!self.drops.is_empty()).then_some(self.drops_reported_at + DROP_REPORT),
            self.sync.next_deadline(),
            self.table.orphan_deadline(),
            self.ha.as_ref().map(ha::HaPart::next_deadline),
            self.groups.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Reads what is readable, fires due timers, carries out every action; never blocks
    /// (but for the fast path's bounded replies).
    pub fn step(&mut self, now: Duration) {
        self.receive(now);
        self.read_subscription(now);
        let relayed = self.sync.poll(now, &mut self.table);
        self.relay_snapshots(relayed, now);
        self.ha_receive(now);
        if self.sub.is_none() && self.resubscribe_at.is_some_and(|t| t <= now) {
            self.subscribe(now);
        }
        for err in self.table.expire_orphans(self.fp.as_mut(), now) {
            tracing::warn!(target: "ike", "removing orphans: {err}");
        }
        self.poll_dpd(now);
        self.poll_groups(now);
        if self.engine.poll_timeout().is_some_and(|t| t <= now) {
            self.engine.handle_timeout(now, &mut self.rng);
        }
        if self.v1.poll_timeout().is_some_and(|t| t <= now) {
            self.v1.handle_timeout(now, &mut self.rng);
        }
        self.drain(now);
        self.ha_flush(now);
        if !self.drops.is_empty() && now >= self.drops_reported_at + DROP_REPORT {
            let drops = std::mem::take(&mut self.drops);
            self.drops_reported_at = now;
            self.event("ike_drops", json!({ "drops": drops }));
        }
    }

    /// What happened since the last call, oldest first: `{"event": KIND, ...}`.
    pub fn events(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.pending)
    }

    /// Deletes every IKE SA (sending the deletes and waiting up to a second for the answers),
    /// then removes whatever is left from the fast path.
    pub fn shutdown(&mut self, now: Duration) {
        let start = Instant::now();
        for id in self.engine.sa_ids() {
            self.engine.delete_ike(now, &mut self.rng, id);
        }
        for id in self.v1.sa_ids() {
            self.v1.delete_sa(now, &mut self.rng, id);
        }
        self.drain(now);
        while !self.engine.sa_ids().is_empty() && start.elapsed() < Duration::from_secs(1) {
            let fds = self.fds();
            let _ = crate::sys::poll::readable(&fds, Duration::from_millis(50));
            self.receive(now + start.elapsed());
            self.drain(now + start.elapsed());
        }
        let errors = self.table.remove_all(self.fp.as_mut());
        for e in errors {
            tracing::warn!(target: "ike", "fast path at shutdown: {e}");
        }
        self.sub = None;
    }

    fn event(&mut self, kind: &str, mut fields: Value) {
        fields["event"] = json!(kind);
        tracing::debug!(target: "ike", "{fields}");
        if self.pending.len() >= MAX_PENDING {
            self.pending.remove(0);
        }
        self.pending.push(fields);
    }

    fn conn_of(&self, sa: IkeSaId) -> Option<String> {
        self.ike_sas
            .get(&sa)
            .map(|i| i.config.clone())
            .or_else(|| self.engine.sa(sa).map(|s| s.config.clone()))
            .or_else(|| self.v1.sa(sa).map(|s| s.config.name.clone()))
    }

    fn window_of(&self, sa: IkeSaId, child: &str) -> Option<u32> {
        let conn = self.conn_of(sa)?;
        self.extras
            .iter()
            .find(|e| e.conn == conn && e.child == child)
            .and_then(|e| e.replay_window)
    }

    /// Carries out every action, then deletes the CHILD SAs the fast path refused (and what
    /// that asks for), a few rounds at most.
    fn drain(&mut self, now: Duration) {
        self.groups.now = now;
        for _ in 0..8 {
            // Before the datagrams leave: the peer never sees a message ID that the peer node
            // or the disk lacks, nor uses a CHILD SA the standby does not hold.
            let changes = self.engine.take_changed();
            if self.ha.is_some() || self.checkpoint.is_some() {
                let records: Vec<IkeSaRecord> = changes
                    .changed
                    .iter()
                    .filter_map(|&id| self.record_of(id, now))
                    .collect();
                self.offer_changes(&changes.removed, &records);
                self.save_checkpoint(&changes.removed, &records);
            }
            self.offer_v1_changes(now);
            while let Some(a) = self.engine.poll_action() {
                self.carry_out(a);
            }
            while let Some(a) = self.v1.poll_action() {
                self.carry_out(a);
            }
            if self.to_delete.is_empty() {
                return;
            }
            for (sa, child) in std::mem::take(&mut self.to_delete) {
                if is_v1_id(sa) {
                    self.v1.delete_child(now, &mut self.rng, sa, child);
                } else {
                    self.engine.delete_child(now, &mut self.rng, sa, child);
                }
            }
        }
    }

    /// An IKE SA's record as it stands, for the checkpoint and the peer node. None for a
    /// half-open SA: a flood of IKE_SA_INITs must not become a flood of writes or sync
    /// records, and a peer whose IKE_AUTH finds no SA starts again.
    fn record_of(&self, id: IkeSaId, now: Duration) -> Option<IkeSaRecord> {
        if self
            .engine
            .sa(id)
            .is_none_or(|s| s.state == IkeState::HalfOpen)
        {
            return None;
        }
        self.engine.export_sa(id, now)
    }

    fn carry_out(&mut self, a: Action) {
        match a {
            Action::Send { from, to, bytes } => self.send(from, to, &bytes),
            Action::IkeSaUp(info) => {
                self.event(
                    "ike_up",
                    json!({
                        "ike_sa": info.sa, "conn": info.config, "initiator": info.initiator,
                        "spi_i": ike_spi(info.spi_i), "spi_r": ike_spi(info.spi_r),
                        "local": info.local.to_string(), "remote": info.remote.to_string(),
                        "remote_id": identity_string(&info.remote_id),
                        "virtual_ip": info.virtual_ip.map(|a| a.to_string()),
                    }),
                );
                self.ike_sas.insert(info.sa, info);
            }
            Action::IkeSaDown { sa, conn, reason } => {
                // A group moves its traffic before this SA's policies go.
                self.group_ike_down(sa, reason);
                self.ike_sas.remove(&sa);
                self.remove_children_of(sa);
                self.event(
                    "ike_down",
                    json!({ "ike_sa": sa, "conn": conn, "reason": format!("{reason:?}") }),
                );
            }
            Action::ChildSaUp(info) => self.child_up(&info),
            Action::ChildSaRekeyed {
                old,
                new,
                defer_outbound,
            } => self.child_rekeyed(&old, &new, defer_outbound),
            Action::ChildSaDown { child, reason } => self.remove_child(&child, reason),
            Action::Event { sa, event } => match event {
                Event::Dropped(r) => *self.drops.entry(r.name()).or_default() += 1,
                Event::DpdSent => tracing::debug!(target: "ike", "IKE SA {sa:?}: DPD sent"),
                Event::Retransmitted { message_id, sent } => {
                    tracing::debug!(target: "ike", "IKE SA {sa:?}: retransmit of {message_id} ({sent})")
                }
                other => {
                    self.event(
                        "ike_event",
                        json!({ "ike_sa": sa, "what": format!("{other:?}") }),
                    );
                    if let (Event::ChildFailed { .. }, Some(sa)) = (other, sa) {
                        self.group_child_failed(sa);
                    }
                }
            },
        }
    }
}
