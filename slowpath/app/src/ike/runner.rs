//! The IKE engine driven over UDP for the daemon: one socket per local address and port (500
//! and 4500), the engine's timers, its CHILD SAs programmed into the fast path (`program`),
//! the fast path's lifetime events fed back (`rekey_child`, `expire_child`), and its per-SA
//! idle times fed to DPD (`traffic_received`). Everything is non-blocking except the fast
//! path's control requests, which are bounded by its client.
//!
//! The daemon polls `fds()`, calls `step(now)` when one is readable or `next_deadline()` has
//! come, hands operator requests to `handle`, and puts `events()` in its event log.

use std::collections::{BTreeMap, HashMap};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ike::action::{Action, ChildId, ChildSaInfo, DownReason, Event, IkeSaId, IkeSaInfo};
use ike::config::{Identity, Mode};
use ike::crypto::transform::*;
use ike::engine::{Engine, EngineSettings};
use ike::message::{IdType, TrafficSelector};
use ike::rng_openssl::OpenSslRng;
use ike::sa::IkeSaStatus;
use serde_json::{json, Value};

use super::config::{
    keyword_of, ChildExtra, IkeSettings, GROUP_KEYWORDS, INTEG_KEYWORDS, PRF_KEYWORDS,
};
use super::program::{
    get_sa, list_sas, range_to_prefixes, restart_conns, transform_of, FastpathOps, LogOnly,
    SaTable, SyncFeed,
};
use crate::fastpath::FastpathClient;
use ipc::fastpath::{Event as FastpathEvent, Request, SaInfo};
use ipc::slowpath::{Request as OperatorRequest, TerminateTarget};

/// The NAT-T port (RFC 3948), bound beside 500 on every local address.
pub const NATT_PORT: u16 = 4500;
/// Datagrams read from one socket per `step`, so that a flood cannot starve the rest.
const READ_BUDGET: usize = 256;
/// How often dropped datagrams are summed up in one event.
const DROP_REPORT: Duration = Duration::from_secs(10);
/// How long after losing it the fast path's event stream is asked for again.
/// Short: a fast path that restarted gets its SAs again (`resync`) before the peer notices.
const RESUBSCRIBE: Duration = Duration::from_secs(1);
/// Events kept for `events()` when the daemon does not collect them.
const MAX_PENDING: usize = 4096;
/// Above this many SAs to look at, DPD reads `sa_list` once instead of `sa_get` for each.
const SA_GET_MAX: usize = 16;

struct Sock {
    local: SocketAddr,
    socket: UdpSocket,
}

/// The fast path's `subscribe` stream: lifetime events, one JSON line each.
struct Subscription {
    stream: UnixStream,
    buf: Vec<u8>,
}

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
}

pub struct IkeRunner {
    engine: Engine,
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
}

impl IkeRunner {
    /// Binds the sockets (500 and 4500 on each conn's local address), opens the fast path
    /// (or only logs what it would be told), and initiates the conns that say `start`.
    pub fn new(
        ike: IkeSettings,
        fastpath: Option<&Path>,
        now: Duration,
    ) -> Result<IkeRunner, String> {
        let mut rng = OpenSslRng;
        let unix_now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let settings = EngineSettings {
            unix_epoch_offset: unix_now - now.as_secs() as i64,
            ..EngineSettings::default()
        };
        let mut sockets: Vec<Sock> = Vec::new();
        for c in &ike.conns {
            for port in [c.local_addr.port(), NATT_PORT] {
                let local = SocketAddr::new(c.local_addr.ip(), port);
                if sockets.iter().any(|s| s.local == local) {
                    continue;
                }
                let socket = bind_udp(local).map_err(|e| format!("ike: bind {local}: {e}"))?;
                sockets.push(Sock { local, socket });
            }
        }
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
        let dpd_period = conns
            .iter()
            .filter(|c| !c.dpd.is_zero())
            .map(|c| (c.dpd / 2).max(Duration::from_secs(1)))
            .min();
        let fp: Box<dyn FastpathOps> = match fastpath {
            Some(p) => Box::new(FastpathClient::new(p)),
            None => Box::new(LogOnly::default()),
        };
        let engine = Engine::new(ike.conns, ike.pools, settings, &mut rng, now);
        let mut r = IkeRunner {
            engine,
            rng,
            sockets,
            fp,
            fp_path: fastpath.map(Path::to_path_buf),
            sub: None,
            resubscribe_at: fastpath.map(|_| now),
            table: SaTable::default(),
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
        };
        r.subscribe(now);
        let started = r.engine.start(now, &mut r.rng);
        for id in started {
            tracing::info!(target: "ike", "initiating IKE SA {id}");
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
        v
    }

    /// When `step` is next needed even if nothing is readable.
    pub fn next_deadline(&self) -> Option<Duration> {
        let mut d = self.engine.poll_timeout();
        let mut consider = |x: Option<Duration>| {
            if let Some(x) = x {
                d = Some(d.map_or(x, |d| d.min(x)));
            }
        };
        if self.dpd_period.is_some() && self.fp.is_real() && !self.table.is_empty() {
            consider(Some(self.next_dpd_poll));
        }
        if self.sub.is_none() {
            consider(self.resubscribe_at);
        }
        consider(self.sync.next_deadline());
        consider(self.table.orphan_deadline());
        if !self.drops.is_empty() {
            consider(Some(self.drops_reported_at + DROP_REPORT));
        }
        d
    }

    /// Reads what is readable, fires due timers, carries out every action; never blocks
    /// (but for the fast path's bounded replies).
    pub fn step(&mut self, now: Duration) {
        self.receive(now);
        self.read_subscription(now);
        self.sync.poll(now, &mut self.table);
        if self.sub.is_none() && self.resubscribe_at.is_some_and(|t| t <= now) {
            self.subscribe(now);
        }
        for err in self.table.expire_orphans(self.fp.as_mut(), now) {
            tracing::warn!(target: "ike", "removing orphans: {err}");
        }
        self.poll_dpd(now);
        if self.engine.poll_timeout().is_some_and(|t| t <= now) {
            self.engine.handle_timeout(now, &mut self.rng);
        }
        self.drain(now);
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

    /// An operator request; `None` when it is not an IKE one.
    pub fn handle(
        &mut self,
        now: Duration,
        request: &OperatorRequest,
    ) -> Option<Result<Value, String>> {
        let r = match request {
            OperatorRequest::IkeSas => Ok(Value::Array(
                self.engine.status(now).iter().map(ike_sa_json).collect(),
            )),
            OperatorRequest::ChildSas { ike_sa } => Ok(self.child_sas(now, *ike_sa)),
            OperatorRequest::Initiate { conn, child } => {
                self.op_initiate(now, conn, child.as_deref())
            }
            OperatorRequest::Terminate(which) => self.op_terminate(now, which),
            OperatorRequest::Rekey { ike_sa, child } => self.op_rekey(now, *ike_sa, *child),
            OperatorRequest::Flush => {
                let ids = self.engine.sa_ids();
                for id in &ids {
                    self.engine.delete_ike(now, &mut self.rng, *id);
                }
                self.drain(now);
                Ok(json!({ "terminated": ids }))
            }
            OperatorRequest::IkeCounters => Ok(self.counters()),
            _ => return None,
        };
        Some(r)
    }

    fn op_initiate(
        &mut self,
        now: Duration,
        conn: &str,
        child: Option<&str>,
    ) -> Result<Value, String> {
        let c = self
            .conns
            .iter()
            .find(|c| c.name == conn)
            .ok_or(format!("no conn {conn}"))?;
        if let Some(ch) = child {
            if !c.children.iter().any(|n| n == ch) {
                return Err(format!("conn {conn} has no child {ch}"));
            }
        }
        let id = self
            .engine
            .initiate(now, &mut self.rng, conn, child)
            .ok_or(format!("conn {conn} cannot initiate (no remote address?)"))?;
        self.drain(now);
        Ok(json!({ "ike_sa": id }))
    }

    fn op_terminate(&mut self, now: Duration, which: &TerminateTarget) -> Result<Value, String> {
        let ids: Vec<IkeSaId> = match which {
            TerminateTarget::IkeSa { ike_sa } => vec![*ike_sa],
            TerminateTarget::Conn { conn } => self
                .engine
                .status(now)
                .iter()
                .filter(|s| s.config == *conn)
                .map(|s| s.id)
                .collect(),
        };
        let done: Vec<IkeSaId> = ids
            .into_iter()
            .filter(|id| self.engine.delete_ike(now, &mut self.rng, *id))
            .collect();
        self.drain(now);
        if done.is_empty() {
            return Err("no such IKE SA".into());
        }
        Ok(json!({ "terminated": done }))
    }

    fn op_rekey(&mut self, now: Duration, sa: u64, child: Option<u64>) -> Result<Value, String> {
        let ok = match child {
            Some(c) => {
                let c = ChildId::try_from(c).map_err(|_| "child: a CHILD SA id")?;
                self.engine.rekey_child(now, &mut self.rng, sa, c)
            }
            None => self.engine.rekey_ike(now, &mut self.rng, sa),
        };
        self.drain(now);
        if ok {
            Ok(json!({ "ike_sa": sa, "rekeying": true }))
        } else {
            Err("no such SA, or it cannot be rekeyed now".into())
        }
    }

    fn counters(&self) -> Value {
        let c = self.engine.total_counters();
        let drops: BTreeMap<&str, u64> = c.drops.iter().map(|(r, n)| (r.name(), *n)).collect();
        let s = &self.stats;
        json!({
            "ike_sas": self.engine.sa_ids().len(),
            "fastpath_child_sas": self.table.len(),
            "received": s.received,
            "sent": s.sent,
            "send_errors": s.send_errors,
            "drops": drops,
            "retransmits": c.retransmits,
            "answered_from_cache": c.requests_answered_from_cache,
            "fastpath_errors": s.fastpath_errors,
            "fastpath_events": s.fastpath_events,
            "fastpath_subscribed": self.sub.is_some(),
            "child_install_failures": s.child_install_failures,
            "quarantined_sa_ids": self.table.quarantined.len(),
            "fastpath_orphans": self.table.orphans().len(),
        })
    }

    fn child_sas(&mut self, now: Duration, only: Option<u64>) -> Value {
        let mut out = Vec::new();
        for s in self.engine.status(now) {
            if only.is_some_and(|o| o != s.id) {
                continue;
            }
            for c in &s.children {
                let mut v = json!({
                    "ike_sa": s.id,
                    "conn": s.config,
                    "child": c.id,
                    "name": c.config,
                    "state": format!("{:?}", c.state),
                    "spi_in": format!("{:#010x}", c.spi_in),
                    "spi_out": format!("{:#010x}", c.spi_out),
                    "mode": match c.mode { Mode::Tunnel => "tunnel", Mode::Transport => "transport" },
                    "transform": transform_of(&c.suite).map_or("?", |t| t.name()),
                    "esn": c.suite.esn.unwrap_or(false),
                    "pfs": c.suite.dh.map(group_name),
                    "local_ts": c.local_ts.iter().map(ts_string).collect::<Vec<_>>(),
                    "remote_ts": c.remote_ts.iter().map(ts_string).collect::<Vec<_>>(),
                    "rekey_in_s": c.rekey_in.map(|d| d.as_secs()),
                    "expire_in_s": c.expire_in.map(|d| d.as_secs()),
                });
                if let Some(e) = self.table.get(s.id, c.id).cloned() {
                    let mut fp = json!({
                        "sa_in": e.sa_in, "sa_out": e.sa_out,
                        "policies_in": e.policies_in.len(), "policies_out": e.policies_out.len(),
                    });
                    if self.fp.is_real() {
                        for (k, id) in [("in", e.sa_in), ("out", e.sa_out)] {
                            fp[k] = match get_sa(self.fp.as_mut(), id) {
                                Ok(i) => json!({
                                    "packets": i.packets, "bytes": i.bytes, "oseq": i.oseq,
                                    "window_top": i.window_top, "idle_ms": i.idle_ms,
                                    "state": i.state, "drops": i.drops,
                                }),
                                Err(err) => json!({ "error": err }),
                            };
                        }
                    }
                    v["fastpath"] = fp;
                }
                out.push(v);
            }
        }
        Value::Array(out)
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
    }

    fn window_of(&self, sa: IkeSaId, child: &str) -> Option<u32> {
        let conn = self.conn_of(sa)?;
        self.extras
            .iter()
            .find(|e| e.conn == conn && e.child == child)
            .and_then(|e| e.replay_window)
    }

    fn receive(&mut self, now: Duration) {
        for i in 0..self.sockets.len() {
            for _ in 0..READ_BUDGET {
                let (n, from) = match self.sockets[i].socket.recv_from(&mut self.buf) {
                    Ok(x) => x,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => {
                        // ICMP errors of earlier sends surface here; nothing to read.
                        tracing::debug!(target: "ike", "{}: {e}", self.sockets[i].local);
                        break;
                    }
                };
                self.stats.received += 1;
                let local = self.sockets[i].local;
                self.engine
                    .handle_datagram(now, &mut self.rng, local, from, &self.buf[..n]);
            }
            // Carry the actions out between sockets, so that the queue stays short.
            self.drain(now);
        }
    }

    /// Carries out every action, then deletes the CHILD SAs the fast path refused (and what
    /// that asks for), a few rounds at most.
    fn drain(&mut self, now: Duration) {
        for _ in 0..8 {
            while let Some(a) = self.engine.poll_action() {
                self.carry_out(a);
            }
            if self.to_delete.is_empty() {
                return;
            }
            for (sa, child) in std::mem::take(&mut self.to_delete) {
                self.engine.delete_child(now, &mut self.rng, sa, child);
            }
        }
    }

    fn send(&mut self, from: SocketAddr, to: SocketAddr, bytes: &[u8]) {
        // The engine sends from an address it was configured with or received on: ours.
        let sock = self.sockets.iter().find(|s| s.local == from);
        let Some(sock) = sock else {
            self.stats.send_errors += 1;
            tracing::warn!(target: "ike", "no socket for {from}");
            return;
        };
        match sock.socket.send_to(bytes, to) {
            Ok(_) => self.stats.sent += 1,
            Err(e) => {
                self.stats.send_errors += 1;
                tracing::debug!(target: "ike", "send {from} -> {to}: {e}");
            }
        }
    }

    fn carry_out(&mut self, a: Action) {
        match a {
            Action::Send { from, to, bytes } => self.send(from, to, &bytes),
            Action::IkeSaUp(info) => {
                self.event(
                    "ike_up",
                    json!({
                        "ike_sa": info.sa, "conn": info.config, "initiator": info.initiator,
                        "spi_i": format!("{:#018x}", info.spi_i), "spi_r": format!("{:#018x}", info.spi_r),
                        "local": info.local.to_string(), "remote": info.remote.to_string(),
                        "remote_id": identity_string(&info.remote_id),
                        "virtual_ip": info.virtual_ip.map(|a| a.to_string()),
                    }),
                );
                self.ike_sas.insert(info.sa, info);
            }
            Action::IkeSaDown { sa, reason } => {
                let conn = self.conn_of(sa);
                self.ike_sas.remove(&sa);
                // Children the engine did not take down one by one go with their IKE SA.
                let left: Vec<_> = self
                    .table
                    .entries()
                    .filter(|e| e.sa == sa)
                    .map(|e| ike::action::ChildRef {
                        sa,
                        id: e.child,
                        spi_in: e.spi_in,
                        spi_out: e.spi_out,
                    })
                    .collect();
                for c in left {
                    self.remove_child(&c, DownReason::IkeSaDown);
                }
                self.event(
                    "ike_down",
                    json!({ "ike_sa": sa, "conn": conn, "reason": format!("{reason:?}") }),
                );
            }
            Action::ChildSaUp(info) => {
                let window = self.window_of(info.child.sa, &info.config);
                match self.table.install(self.fp.as_mut(), &info, window) {
                    Ok(e) => {
                        let (sa_in, sa_out) = (e.sa_in, e.sa_out);
                        self.event("child_up", child_json(&info, sa_in, sa_out));
                    }
                    Err(err) => self.install_failed(&info, &err),
                }
            }
            Action::ChildSaRekeyed {
                old,
                new,
                defer_outbound,
            } => {
                let window = self.window_of(new.child.sa, &new.config);
                let was_absent = self.table.get(new.child.sa, new.child.id).is_none();
                match self
                    .table
                    .rekey(self.fp.as_mut(), &old, &new, window, defer_outbound)
                {
                    Ok(()) => {}
                    Err(err)
                        if was_absent && self.table.get(new.child.sa, new.child.id).is_none() =>
                    {
                        self.install_failed(&new, &err);
                        return;
                    }
                    Err(err) => {
                        self.stats.fastpath_errors += 1;
                        tracing::warn!(target: "ike", "rekey of {}/{}: {err}", old.sa, old.id);
                    }
                }
                let e = self.table.get(new.child.sa, new.child.id);
                let (sa_in, sa_out) = e.map_or((0, 0), |e| (e.sa_in, e.sa_out));
                let mut v = child_json(&new, sa_in, sa_out);
                v["old_child"] = json!(old.id);
                v["old_spi_in"] = json!(format!("{:#010x}", old.spi_in));
                v["old_spi_out"] = json!(format!("{:#010x}", old.spi_out));
                self.event("child_rekeyed", v);
            }
            Action::ChildSaDown { child, reason } => self.remove_child(&child, reason),
            Action::Event { sa, event } => match event {
                Event::Dropped(r) => *self.drops.entry(r.name()).or_default() += 1,
                Event::DpdSent => tracing::debug!(target: "ike", "IKE SA {sa:?}: DPD sent"),
                Event::Retransmitted { message_id, sent } => {
                    tracing::debug!(target: "ike", "IKE SA {sa:?}: retransmit of {message_id} ({sent})")
                }
                other => self.event(
                    "ike_event",
                    json!({ "ike_sa": sa, "what": format!("{other:?}") }),
                ),
            },
        }
    }

    fn install_failed(&mut self, info: &ChildSaInfo, err: &str) {
        self.stats.child_install_failures += 1;
        self.stats.fastpath_errors += 1;
        self.event(
            "child_install_failed",
            json!({ "ike_sa": info.child.sa, "child": info.child.id, "name": info.config, "error": err }),
        );
        self.to_delete.push((info.child.sa, info.child.id));
    }

    fn remove_child(&mut self, child: &ike::action::ChildRef, reason: DownReason) {
        let e = self.table.get(child.sa, child.id).cloned();
        if let Err(err) = self.table.remove(self.fp.as_mut(), child) {
            self.stats.fastpath_errors += 1;
            tracing::warn!(target: "ike", "removing CHILD SA {}/{}: {err}", child.sa, child.id);
        }
        if let Some(e) = &e {
            self.last_used.remove(&e.sa_in);
        }
        self.event(
            "child_down",
            json!({
                "ike_sa": child.sa, "child": child.id, "name": e.as_ref().map(|e| e.config.clone()),
                "spi_in": format!("{:#010x}", child.spi_in), "spi_out": format!("{:#010x}", child.spi_out),
                "reason": format!("{reason:?}"),
            }),
        );
    }

    fn subscribe(&mut self, now: Duration) {
        let Some(path) = self.fp_path.clone() else {
            return;
        };
        let r = (|| -> std::io::Result<UnixStream> {
            let mut s = UnixStream::connect(&path)?;
            let request = Request::Subscribe { activity_ms: None };
            writeln!(s, "{}", *ipc::wire::encode_request(0, &request))?;
            s.set_nonblocking(true)?;
            Ok(s)
        })();
        match r {
            Ok(stream) => {
                self.sub = Some(Subscription {
                    stream,
                    buf: Vec::new(),
                });
                self.resubscribe_at = None;
                self.resync(now);
            }
            Err(e) => {
                tracing::warn!(target: "ike", "fast path events {}: {e}", path.display());
                self.resubscribe_at = Some(now + RESUBSCRIBE);
            }
        }
    }

    /// A fast path (re)connected: the table reconciled with it (`program::reconcile`); what
    /// could not go in again is deleted, and the peers of what an earlier slow path left are
    /// negotiated with again.
    fn resync(&mut self, now: Duration) {
        let r = match self.table.resync(self.fp.as_mut(), now) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(target: "ike", "reconciling with the fast path: {e}");
                return;
            }
        };
        for (sa, child, err) in &r.lost {
            tracing::warn!(target: "ike", "CHILD SA {sa}/{child} not installed again: {err}");
            self.to_delete.push((*sa, *child));
        }
        let conns: Vec<_> = self
            .conns
            .iter()
            .map(|c| (c.name.clone(), c.remote))
            .collect();
        for name in restart_conns(&conns, &r.orphan_peers) {
            self.engine.initiate(now, &mut self.rng, &name, None);
        }
        self.event(
            "fastpath_resync",
            json!({ "replayed": r.replayed, "lost": r.lost.len(), "orphans": r.adopted,
                    "reserved": r.reserved, "synced": self.sync.is_connected() }),
        );
    }

    fn read_subscription(&mut self, now: Duration) {
        let Some(sub) = self.sub.as_mut() else {
            return;
        };
        let mut chunk = [0u8; 4096];
        let mut lost = false;
        loop {
            match sub.stream.read(&mut chunk) {
                Ok(0) => {
                    lost = true;
                    break;
                }
                Ok(n) => sub.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    lost = true;
                    break;
                }
            }
            if sub.buf.len() > 1 << 20 {
                // No line of the fast path is that long.
                lost = true;
                break;
            }
        }
        let mut lines = Vec::new();
        while let Some(i) = sub.buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = sub.buf.drain(..=i).collect();
            lines.push(line);
        }
        if lost {
            tracing::warn!(target: "ike", "fast path event stream lost; asking again in {RESUBSCRIBE:?}");
            self.sub = None;
            self.resubscribe_at = Some(now + RESUBSCRIBE);
        }
        for l in lines {
            // The subscription's own reply is not an event: it does not parse as one.
            if let Ok(event) = serde_json::from_slice::<FastpathEvent>(&l) {
                self.fastpath_event(now, event);
            }
        }
    }

    /// One event of the fast path's stream.
    fn fastpath_event(&mut self, now: Duration, event: FastpathEvent) {
        let (kind, id, spi) = match event {
            FastpathEvent::SoftLifetime { sa, spi } => ("soft_lifetime", sa, spi),
            FastpathEvent::SequenceOverflow { sa, spi } => ("sequence_overflow", sa, spi),
            FastpathEvent::HardLifetime { sa, spi } => ("hard_lifetime", sa, spi),
            FastpathEvent::SaActivity { .. } => return,
        };
        let id = id.get();
        self.stats.fastpath_events += 1;
        let spi = u32::from_str_radix(spi.trim_start_matches("0x"), 16).ok();
        let Some((e, dir)) = self.table.lookup_fp(id, spi) else {
            tracing::debug!(target: "ike", "fast path {kind} for SA {id}, not one of ours");
            return;
        };
        let (sa, child) = (e.sa, e.child);
        let ok = if kind == "hard_lifetime" {
            self.engine.expire_child(now, &mut self.rng, sa, child)
        } else {
            self.engine.rekey_child(now, &mut self.rng, sa, child)
        };
        self.event(
            "fastpath_lifetime",
            json!({ "what": kind, "fastpath_sa": id, "dir": dir.word(), "ike_sa": sa, "child": child, "acted": ok }),
        );
        self.drain(now);
    }

    /// DPD needs to know whether ESP arrives: the fast path's inbound SAs' last use.
    fn poll_dpd(&mut self, now: Duration) {
        let Some(period) = self.dpd_period else {
            return;
        };
        if now < self.next_dpd_poll || !self.fp.is_real() {
            return;
        }
        self.next_dpd_poll = now + period;
        let wanted: Vec<(u32, IkeSaId)> = self
            .table
            .entries()
            .filter(|e| {
                self.conn_of(e.sa)
                    .and_then(|c| self.conns.iter().find(|x| x.name == c))
                    .is_some_and(|c| !c.dpd.is_zero())
            })
            .map(|e| (e.sa_in, e.sa))
            .collect();
        if wanted.is_empty() {
            return;
        }
        let infos: Vec<SaInfo> = if wanted.len() > SA_GET_MAX {
            match list_sas(self.fp.as_mut()) {
                Ok(all) => all,
                Err(e) => {
                    self.stats.fastpath_errors += 1;
                    tracing::debug!(target: "ike", "sa_list: {e}");
                    Vec::new()
                }
            }
        } else {
            let mut v = Vec::new();
            for (id, _) in &wanted {
                match get_sa(self.fp.as_mut(), *id) {
                    Ok(i) => v.push(i),
                    Err(e) => {
                        self.stats.fastpath_errors += 1;
                        tracing::debug!(target: "ike", "sa_get {id}: {e}");
                    }
                }
            }
            v
        };
        for i in infos {
            let (id, used, idle) = (i.id.get(), i.last_used_ns, i.idle_ms);
            let Some(&(_, sa)) = wanted.iter().find(|(w, _)| *w == id) else {
                continue;
            };
            let before = self.last_used.insert(id, used);
            let packets = i.packets;
            if packets > 0 && before.is_some_and(|b| b != used) {
                let at = now.saturating_sub(Duration::from_millis(idle));
                self.engine.traffic_received(sa, at);
            }
        }
    }
}

/// A non-blocking UDP socket on `local`. An address this host does not have (yet: a VRRP
/// virtual address on the backup) is bound with IP_FREEBIND, with a warning: it receives once
/// the address is here.
fn bind_udp(local: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = match UdpSocket::bind(local) {
        Ok(s) => s,
        Err(e) if e.kind() == ErrorKind::AddrNotAvailable => {
            tracing::warn!(target: "ike", "{local} is not an address of this host (yet): bound with IP_FREEBIND");
            let s = socket2::Socket::new(
                socket2::Domain::for_address(local),
                socket2::Type::DGRAM,
                Some(socket2::Protocol::UDP),
            )?;
            if local.is_ipv6() {
                s.set_only_v6(true)?;
                s.set_freebind_ipv6(true)?;
            } else {
                s.set_freebind(true)?;
            }
            s.bind(&local.into())?;
            s.into()
        }
        Err(e) => return Err(e),
    };
    socket.set_nonblocking(true)?;
    Ok(socket)
}

fn child_json(info: &ChildSaInfo, sa_in: u32, sa_out: u32) -> Value {
    json!({
        "ike_sa": info.child.sa, "child": info.child.id, "name": info.config,
        "spi_in": format!("{:#010x}", info.child.spi_in), "spi_out": format!("{:#010x}", info.child.spi_out),
        "fastpath_sa_in": sa_in, "fastpath_sa_out": sa_out,
        "mode": match info.mode { Mode::Tunnel => "tunnel", Mode::Transport => "transport" },
        "transform": transform_of(&info.suite).map_or("?", |t| t.name()), "esn": info.esn,
        "local": info.local_addr.to_string(), "remote": info.remote_addr.to_string(),
        "local_ts": info.local_ts.iter().map(ts_string).collect::<Vec<_>>(),
        "remote_ts": info.remote_ts.iter().map(ts_string).collect::<Vec<_>>(),
        "natt": info.encap.map(|e| format!("{}:{}", e.local_port, e.remote_port)),
    })
}

fn ike_sa_json(s: &IkeSaStatus) -> Value {
    json!({
        "ike_sa": s.id, "conn": s.config, "state": format!("{:?}", s.state), "initiator": s.initiator,
        "spi_i": format!("{:#018x}", s.spi_i), "spi_r": format!("{:#018x}", s.spi_r),
        "local": s.local.to_string(), "remote": s.remote.to_string(),
        "remote_id": s.remote_id.as_ref().map(identity_string),
        "proposal": s.suite.as_ref().map(suite_name),
        "nat_local": s.nat_local, "nat_remote": s.nat_remote,
        "established_s": s.established_for.map(|d| d.as_secs()),
        "rekey_in_s": s.rekey_in.map(|d| d.as_secs()),
        "virtual_ip": s.virtual_ip.map(|a| a.to_string()),
        "children": s.children.len(),
        "retransmits": s.counters.retransmits,
    })
}

/// An identity as an operator writes it (`fqdn:`, `email:`, an address, or a DN's text).
pub fn identity_string(id: &Identity) -> String {
    match id.id_type {
        IdType::FQDN => format!("fqdn:{}", String::from_utf8_lossy(&id.data)),
        IdType::RFC822_ADDR => format!("email:{}", String::from_utf8_lossy(&id.data)),
        IdType::IPV4_ADDR | IdType::IPV6_ADDR => ike::message::id_addr(id.id_type, &id.data)
            .map_or_else(|| hex::encode(&id.data), |a| a.to_string()),
        IdType::DER_ASN1_DN => match openssl::x509::X509Name::from_der(&id.data) {
            Ok(n) => {
                let parts: Vec<String> = n
                    .entries()
                    .map(|e| {
                        let k = e.object().nid().short_name().unwrap_or("?");
                        let v = e.data().to_string().unwrap_or_else(|_| "?".to_string());
                        format!("{k}={v}")
                    })
                    .collect();
                format!("dn:{}", parts.join(", "))
            }
            Err(_) => format!("dn:{}", hex::encode(&id.data)),
        },
        t => format!("{t}:{}", hex::encode(&id.data)),
    }
}

/// A traffic selector as a prefix (or range), with `[proto/ports]` when it has them.
pub fn ts_string(t: &TrafficSelector) -> String {
    let nets = range_to_prefixes(t.start_addr, t.end_addr);
    let mut s = match nets.as_slice() {
        [(a, l)] => format!("{a}/{l}"),
        _ => format!("{}-{}", t.start_addr, t.end_addr),
    };
    if t.ip_protocol != 0 {
        s.push_str(&format!("[{}", t.ip_protocol));
        if (t.start_port, t.end_port) != (0, 65535) {
            if t.start_port == t.end_port {
                s.push_str(&format!("/{}", t.start_port));
            } else {
                s.push_str(&format!("/{}-{}", t.start_port, t.end_port));
            }
        }
        s.push(']');
    }
    s
}

fn group_name(g: u16) -> String {
    match keyword_of(GROUP_KEYWORDS, g) {
        Some(k) => k.into(),
        None if g == ECP_521 => "ecp521".into(),
        None => format!("group{g}"),
    }
}

/// A suite in strongSwan's proposal keywords.
pub fn suite_name(s: &Suite) -> String {
    let mut parts = vec![match (s.encr, s.encr_key_bits) {
        (ENCR_AES_GCM_16, b) => format!("aes{b}gcm16"),
        (ENCR_AES_CBC, b) => format!("aes{b}"),
        (e, b) => format!("encr{e}/{b}"),
    }];
    if let Some(i) = s.integ {
        parts.push(keyword_of(INTEG_KEYWORDS, i).map_or(format!("integ{i}"), String::from));
    }
    if let Some(p) = s.prf {
        parts.push(keyword_of(PRF_KEYWORDS, p).map_or(format!("prf{p}"), String::from));
    }
    if let Some(g) = s.dh {
        parts.push(group_name(g));
    }
    if s.esn == Some(true) {
        parts.push("esn".into());
    }
    parts.join("-")
}

/// Whether `a` is one of this host's addresses that a test may bind (loopback).
#[cfg(test)]
fn can_bind(a: std::net::IpAddr) -> bool {
    UdpSocket::bind(SocketAddr::new(a, 500)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ike::config::parse_text;

    /// An operator's request as it arrives on the socket: its op and fields.
    fn operator(op: &str, mut fields: Value) -> OperatorRequest {
        fields["op"] = json!(op);
        serde_json::from_value(fields).unwrap()
    }

    #[test]
    fn names_for_operators() {
        let s = Suite {
            encr: ENCR_AES_CBC,
            encr_key_bits: 128,
            integ: Some(AUTH_HMAC_SHA1_96),
            prf: Some(PRF_HMAC_SHA1),
            dh: Some(MODP_1024),
            esn: None,
        };
        assert_eq!(suite_name(&s), "aes128-sha1-prfsha1-modp1024");
        let gcm = Suite {
            encr: ENCR_AES_GCM_16,
            encr_key_bits: 256,
            integ: None,
            prf: Some(PRF_HMAC_SHA2_384),
            dh: Some(CURVE25519),
            esn: Some(true),
        };
        assert_eq!(suite_name(&gcm), "aes256gcm16-prfsha384-curve25519-esn");
        assert_eq!(group_name(ECP_521), "ecp521");
        assert_eq!(group_name(99), "group99");
        assert_eq!(identity_string(&Identity::fqdn("gw")), "fqdn:gw");
        assert_eq!(
            identity_string(&Identity::ip("192.0.2.1".parse().unwrap())),
            "192.0.2.1"
        );
        let mut b = openssl::x509::X509NameBuilder::new().unwrap();
        b.append_entry_by_text("C", "CH").unwrap();
        b.append_entry_by_text("CN", "gw1").unwrap();
        let dn = Identity::dn(b.build().to_der().unwrap());
        assert_eq!(identity_string(&dn), "dn:C=CH, CN=gw1");
        let t = TrafficSelector::new(
            6,
            (443, 443),
            "10.0.0.1".parse().unwrap(),
            "10.0.0.6".parse().unwrap(),
        );
        assert_eq!(ts_string(&t), "10.0.0.1-10.0.0.6[6/443]");
        let t =
            TrafficSelector::from_prefix("10.1.0.0".parse().unwrap(), 16, 0, (0, 65535)).unwrap();
        assert_eq!(ts_string(&t), "10.1.0.0/16");
    }

    #[test]
    fn binds_an_address_not_here_yet() {
        // TEST-NET-3: on no interface of a test machine (a VRRP address on the backup).
        let s = bind_udp("203.0.113.77:0".parse().unwrap()).unwrap();
        assert_eq!(s.local_addr().unwrap().ip().to_string(), "203.0.113.77");
    }

    const INITIATOR: &str = "
secret k psk \"loopback test secret\"
conn to-b local 127.0.0.1 remote 127.0.0.2 local-id fqdn:a.test remote-id fqdn:b.test auth psk k ike aes128gcm16-prfsha256-ecp256 retransmit 1s tries 3 start
child net conn to-b local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128gcm16-esn replay-window 512
";
    const RESPONDER: &str = "
secret k psk \"loopback test secret\"
conn from-a local 127.0.0.2 remote any local-id fqdn:b.test remote-id fqdn:a.test auth psk k ike aes128gcm16-prfsha256-ecp256,aes128-sha1-modp2048
child net conn from-a local-ts 10.2.0.0/16 remote-ts 10.1.0.0/16 esp aes128gcm16-esn,aes128-sha1
";

    fn kinds(evs: &[Value]) -> Vec<String> {
        evs.iter()
            .map(|e| e["event"].as_str().unwrap_or("").to_string())
            .collect()
    }

    /// Steps both until `done` holds or 10 s pass, with a real clock and real sockets.
    fn run_until(
        epoch: Instant,
        a: &mut IkeRunner,
        b: &mut IkeRunner,
        ea: &mut Vec<Value>,
        eb: &mut Vec<Value>,
        done: impl Fn(&[Value], &[Value]) -> bool,
    ) -> bool {
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            let now = epoch.elapsed();
            let mut fds = a.fds();
            fds.extend(b.fds());
            let next = [a.next_deadline(), b.next_deadline()]
                .into_iter()
                .flatten()
                .min()
                .map_or(Duration::from_millis(50), |d| d.saturating_sub(now))
                .min(Duration::from_millis(50));
            crate::sys::poll::readable(&fds, next).unwrap();
            let now = epoch.elapsed();
            a.step(now);
            b.step(now);
            ea.extend(a.events());
            eb.extend(b.events());
            if done(ea, eb) {
                return true;
            }
        }
        false
    }

    #[test]
    fn two_runners_over_loopback_udp() {
        let (ia, ib): (std::net::IpAddr, std::net::IpAddr) =
            ("127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap());
        if !can_bind(ia) || !can_bind(ib) {
            println!("skipped: cannot bind UDP port 500 on 127.0.0.1 and 127.0.0.2 (not root, or in use)");
            return;
        }
        let epoch = Instant::now();
        let sb = parse_text(RESPONDER).unwrap();
        let sa = parse_text(INITIATOR).unwrap();
        let mut b = match IkeRunner::new(sb, None, epoch.elapsed()) {
            Ok(r) => r,
            Err(e) => {
                println!("skipped: {e}");
                return;
            }
        };
        let mut a = match IkeRunner::new(sa, None, epoch.elapsed()) {
            Ok(r) => r,
            Err(e) => {
                println!("skipped: {e}");
                return;
            }
        };
        assert_eq!(a.fds().len(), 2, "500 and 4500 on one address");
        let (mut ea, mut eb) = (Vec::new(), Vec::new());
        let up = |e: &[Value]| e.iter().any(|v| v["event"] == "child_up");
        assert!(
            run_until(epoch, &mut a, &mut b, &mut ea, &mut eb, |x, y| up(x)
                && up(y)),
            "no CHILD SA within 10 s: initiator {:?}, responder {:?}",
            kinds(&ea),
            kinds(&eb)
        );
        assert!(kinds(&ea).contains(&"ike_up".to_string()));
        let ca = ea
            .iter()
            .find(|v| v["event"] == "child_up")
            .unwrap()
            .clone();
        let cb = eb
            .iter()
            .find(|v| v["event"] == "child_up")
            .unwrap()
            .clone();
        assert_eq!(ca["spi_in"], cb["spi_out"]);
        assert_eq!(ca["spi_out"], cb["spi_in"]);
        assert_eq!(ca["transform"], "aes128gcm16");
        assert_eq!(ca["esn"], true);
        assert_eq!(ca["local_ts"], json!(["10.1.0.0/16"]));
        assert_eq!(cb["local_ts"], json!(["10.2.0.0/16"]));

        // What an operator sees.
        let now = epoch.elapsed();
        let sas = a
            .handle(now, &operator("ike_sas", json!({})))
            .unwrap()
            .unwrap();
        assert_eq!(sas.as_array().unwrap().len(), 1);
        assert_eq!(sas[0]["state"], "Established");
        assert_eq!(sas[0]["proposal"], "aes128gcm16-prfsha256-ecp256");
        assert_eq!(
            b.handle(now, &operator("ike_sas", json!({})))
                .unwrap()
                .unwrap()[0]["remote_id"],
            "fqdn:a.test"
        );
        let children = a
            .handle(now, &operator("child_sas", json!({})))
            .unwrap()
            .unwrap();
        assert_eq!(children[0]["fastpath"]["sa_in"], 1);
        assert_eq!(children[0]["fastpath"]["policies_out"], 1);
        let counters = a
            .handle(now, &operator("ike_counters", json!({})))
            .unwrap()
            .unwrap();
        assert_eq!(counters["fastpath_child_sas"], 1);
        assert!(counters["sent"].as_u64().unwrap() >= 2);
        assert!(
            a.handle(now, &OperatorRequest::Instances).is_none(),
            "VRRP's ops are not IKE's"
        );
        assert!(a
            .handle(now, &operator("initiate", json!({"conn": "nope"})))
            .unwrap()
            .is_err());
        assert!(a
            .handle(
                now,
                &operator("initiate", json!({"conn": "to-b", "child": "nope"}))
            )
            .unwrap()
            .is_err());
        assert!(a
            .handle(now, &operator("terminate", json!({"ike_sa": 99})))
            .unwrap()
            .is_err());

        // An operator's rekey of the CHILD SA: both sides install the new pair.
        let sa_id = sas[0]["ike_sa"].as_u64().unwrap();
        let child = children[0]["child"].as_u64().unwrap();
        let r = a
            .handle(
                now,
                &operator("rekey", json!({"ike_sa": sa_id, "child": child})),
            )
            .unwrap();
        assert!(r.is_ok(), "{r:?}");
        let rekeyed = |e: &[Value]| e.iter().any(|v| v["event"] == "child_rekeyed");
        let down = |e: &[Value]| e.iter().any(|v| v["event"] == "child_down");
        assert!(
            run_until(epoch, &mut a, &mut b, &mut ea, &mut eb, |x, y| rekeyed(x)
                && rekeyed(y)
                && down(x)
                && down(y)),
            "no rekey: initiator {:?}, responder {:?}",
            kinds(&ea),
            kinds(&eb)
        );
        let now = epoch.elapsed();
        assert_eq!(
            a.handle(now, &operator("child_sas", json!({})))
                .unwrap()
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(a.table.len(), 1);
        assert_eq!(b.table.len(), 1);

        // Terminate by conn name: both sides lose the IKE SA and its CHILD SA.
        let r = a
            .handle(now, &operator("terminate", json!({"conn": "to-b"})))
            .unwrap();
        assert!(r.is_ok(), "{r:?}");
        let ike_down = |e: &[Value]| e.iter().any(|v| v["event"] == "ike_down");
        assert!(
            run_until(epoch, &mut a, &mut b, &mut ea, &mut eb, |x, y| ike_down(x)
                && ike_down(y)),
            "no delete: initiator {:?}, responder {:?}",
            kinds(&ea),
            kinds(&eb)
        );
        assert!(a.table.is_empty() && b.table.is_empty());
        assert!(a.engine.sa_ids().is_empty() && b.engine.sa_ids().is_empty());

        // Once more, and a polite shutdown.
        let r = a
            .handle(
                epoch.elapsed(),
                &operator("initiate", json!({"conn": "to-b"})),
            )
            .unwrap();
        assert!(r.is_ok(), "{r:?}");
        let ups = |e: &[Value]| e.iter().filter(|v| v["event"] == "child_up").count() == 2;
        assert!(run_until(
            epoch,
            &mut a,
            &mut b,
            &mut ea,
            &mut eb,
            |x, y| ups(x) && ups(y)
        ));
        a.shutdown(epoch.elapsed());
        assert!(a.table.is_empty());
        ea.extend(a.events());
        assert!(run_until(
            epoch,
            &mut a,
            &mut b,
            &mut ea,
            &mut eb,
            |_, y| y.iter().filter(|v| v["event"] == "ike_down").count() == 2
        ));
        assert!(b.table.is_empty());
    }

    /// A fast path on a Unix socket that answers as the real one does (every line checked by
    /// its own parser), keeps the SAs and policies it is given, and streams events.
    struct FakeFastpath {
        path: std::path::PathBuf,
        state: std::sync::Arc<std::sync::Mutex<FakeState>>,
        stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    }

    #[derive(Default)]
    struct FakeState {
        /// id -> (direction, SPI)
        sas: BTreeMap<u32, (ipc::Direction, u32)>,
        /// (direction, policy id) -> protected SA
        policies: BTreeMap<(ipc::Direction, u32), u32>,
        next_policy: u32,
        last_used: u64,
        subscribers: Vec<UnixStream>,
        ops: Vec<String>,
    }

    impl FakeState {
        fn answer(&mut self, req: &Request) -> Result<Value, String> {
            self.ops.push(req.op().to_string());
            match req {
                Request::SaAdd { sa } => {
                    let (id, c) = fastpath::control::convert::sa_config(sa);
                    if self.sas.contains_key(&id.0) {
                        return Err(format!("SA {} exists", id.0));
                    }
                    self.sas.insert(id.0, (sa.dir, c.spi));
                    Ok(json!({"sa": id.0, "worker": 0}))
                }
                Request::SaDel { sa } => {
                    let id = sa.get();
                    self.sas
                        .remove(&id)
                        .map(|_| json!({"sa": id}))
                        .ok_or(format!("no SA {id}"))
                }
                Request::SpAdd { sp } => {
                    let ipc::SpAction::Protect(sa) = sp.action else {
                        return Err("not protect".into());
                    };
                    let sa = sa.get();
                    if !self.sas.contains_key(&sa) {
                        return Err(format!("protects a missing SA {sa}"));
                    }
                    self.next_policy += 1;
                    self.policies.insert((sp.dir, self.next_policy), sa);
                    Ok(json!({"policy": self.next_policy}))
                }
                Request::SpDel { dir, policy } => self
                    .policies
                    .remove(&(*dir, policy.0))
                    .map(|_| json!({"policy": policy}))
                    .ok_or("no policy".into()),
                Request::SaGet { sa } => {
                    let id = sa.get();
                    let (dir, spi) = *self.sas.get(&id).ok_or(format!("no SA {id}"))?;
                    // Traffic all the time.
                    self.last_used += 1_000_000;
                    let info = ipc::fastpath::SaInfo {
                        id: *sa,
                        worker: 0,
                        spi: format!("{spi:#010x}"),
                        direction: dir,
                        mode: ipc::SaMode::Transport,
                        transform: "aes128gcm16".into(),
                        backend: "fake".into(),
                        state: ipc::fastpath::SaState::Active,
                        esn: false,
                        natt: None,
                        oseq: 5,
                        window_top: 5,
                        window_size: 1024,
                        packets: 5,
                        bytes: 500,
                        drops: Default::default(),
                        soft_bytes: 0,
                        hard_bytes: 0,
                        soft_packets: 0,
                        hard_packets: 0,
                        last_used_ns: self.last_used,
                        idle_ms: 0,
                        iv_generation: 0,
                    };
                    serde_json::to_value(info).map_err(|e| e.to_string())
                }
                o => Err(format!("unknown op {:?}", o.op())),
            }
        }
    }

    impl FakeFastpath {
        fn start(name: &str) -> FakeFastpath {
            use std::io::BufRead;
            use std::sync::atomic::Ordering;
            let path =
                std::env::temp_dir().join(format!("fake-fp-{name}-{}.sock", std::process::id()));
            let _ = std::fs::remove_file(&path);
            let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
            listener.set_nonblocking(true).unwrap();
            let state: std::sync::Arc<std::sync::Mutex<FakeState>> = Default::default();
            let stop: std::sync::Arc<std::sync::atomic::AtomicBool> = Default::default();
            let (st, sp) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                while !sp.load(Ordering::Relaxed) {
                    let Ok((stream, _)) = listener.accept() else {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    };
                    let (st, sp) = (st.clone(), sp.clone());
                    std::thread::spawn(move || {
                        stream
                            .set_read_timeout(Some(Duration::from_millis(50)))
                            .unwrap();
                        let mut out = stream.try_clone().unwrap();
                        let mut r = std::io::BufReader::new(stream);
                        let mut line = String::new();
                        while !sp.load(Ordering::Relaxed) {
                            match r.read_line(&mut line) {
                                Ok(0) => return,
                                Ok(_) => {}
                                Err(_) => continue,
                            }
                            let (id, req) =
                                ipc::wire::decode_request::<Request>(line.trim()).unwrap();
                            line.clear();
                            let mut s = st.lock().unwrap();
                            if let Request::Subscribe { .. } = req {
                                let ok = ipc::wire::Reply::ok(id, &"subscribed");
                                writeln!(out, "{}", ok.line()).unwrap();
                                s.subscribers.push(out.try_clone().unwrap());
                                continue;
                            }
                            let reply = match s.answer(&req) {
                                Ok(v) => ipc::wire::Reply::ok(id, &v).line(),
                                Err(e) => ipc::wire::Reply::refused(id, e).line(),
                            };
                            drop(s);
                            if writeln!(out, "{reply}").is_err() {
                                return;
                            }
                        }
                    });
                }
            });
            FakeFastpath { path, state, stop }
        }

        fn push_event(&self, kind: &str, sa: u32) {
            let mut s = self.state.lock().unwrap();
            let spi = s.sas.get(&sa).map_or(0, |x| x.1);
            let line =
                json!({"v": ipc::VERSION, "event": kind, "sa": sa, "spi": format!("{spi:#010x}")})
                    .to_string();
            s.subscribers.retain_mut(|w| writeln!(w, "{line}").is_ok());
        }

        fn counts(&self) -> (usize, usize) {
            let s = self.state.lock().unwrap();
            (s.sas.len(), s.policies.len())
        }
    }

    impl Drop for FakeFastpath {
        fn drop(&mut self) {
            self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
            let _ = std::fs::remove_file(&self.path);
        }
    }

    #[test]
    fn fast_path_lifetimes_drive_rekey_and_expiry() {
        let (ia, ib): (std::net::IpAddr, std::net::IpAddr) =
            ("127.0.0.3".parse().unwrap(), "127.0.0.4".parse().unwrap());
        if !can_bind(ia) || !can_bind(ib) {
            println!("skipped: cannot bind UDP port 500 on 127.0.0.3 and 127.0.0.4 (not root, or in use)");
            return;
        }
        let fake = FakeFastpath::start("lifetimes");
        let epoch = Instant::now();
        let sa = parse_text(
            &INITIATOR
                .replace("127.0.0.1", "127.0.0.3")
                .replace("127.0.0.2", "127.0.0.4")
                .replace(" start", " dpd 2s start"),
        )
        .unwrap();
        let sb = parse_text(&RESPONDER.replace("127.0.0.2", "127.0.0.4")).unwrap();
        let mut b = IkeRunner::new(sb, None, epoch.elapsed()).unwrap();
        let mut a = IkeRunner::new(sa, Some(&fake.path), epoch.elapsed()).unwrap();
        assert_eq!(a.fds().len(), 3, "two UDP sockets and the event stream");
        let (mut ea, mut eb) = (Vec::new(), Vec::new());
        let count = |e: &[Value], k: &str| e.iter().filter(|v| v["event"] == k).count();
        assert!(
            run_until(epoch, &mut a, &mut b, &mut ea, &mut eb, |x, y| count(
                x, "child_up"
            ) == 1
                && count(y, "child_up") == 1),
            "initiator {:?}, responder {:?}",
            kinds(&ea),
            kinds(&eb)
        );
        assert_eq!(fake.counts(), (2, 2), "two SAs and a policy each way");
        let up = ea
            .iter()
            .find(|v| v["event"] == "child_up")
            .unwrap()
            .clone();
        let out_sa = up["fastpath_sa_out"].as_u64().unwrap() as u32;
        // The fast path's counters show through child_sas.
        let cs = a
            .handle(epoch.elapsed(), &operator("child_sas", json!({})))
            .unwrap()
            .unwrap();
        assert_eq!(cs[0]["fastpath"]["in"]["packets"], 5, "{cs}");

        // Soft lifetime of the outbound SA: a rekey; the old pair goes once it is done.
        fake.push_event("soft_lifetime", out_sa);
        assert!(
            run_until(epoch, &mut a, &mut b, &mut ea, &mut eb, |x, y| count(
                x,
                "child_rekeyed"
            ) == 1
                && count(y, "child_rekeyed") == 1
                && count(x, "child_down") == 1),
            "initiator {:?}, responder {:?}",
            kinds(&ea),
            kinds(&eb)
        );
        assert!(ea
            .iter()
            .any(|v| v["event"] == "fastpath_lifetime" && v["acted"] == true));
        assert_eq!(fake.counts(), (2, 2), "the new pair only");
        let new = ea
            .iter()
            .find(|v| v["event"] == "child_rekeyed")
            .unwrap()
            .clone();
        let new_in = new["fastpath_sa_in"].as_u64().unwrap() as u32;

        // DPD reads the inbound SA's use from the fast path.
        assert!(run_until(
            epoch,
            &mut a,
            &mut b,
            &mut ea,
            &mut eb,
            |_, _| fake.state.lock().unwrap().ops.iter().any(|o| o == "sa_get")
        ));

        // Hard lifetime: the CHILD SA is deleted on both sides, and from the fast path.
        fake.push_event("hard_lifetime", new_in);
        assert!(
            run_until(epoch, &mut a, &mut b, &mut ea, &mut eb, |x, y| count(
                x,
                "child_down"
            ) == 2
                && count(y, "child_down") == 2),
            "initiator {:?}, responder {:?}",
            kinds(&ea),
            kinds(&eb)
        );
        assert_eq!(fake.counts(), (0, 0));
        // An event for an SA that is no longer ours is ignored.
        fake.push_event("soft_lifetime", out_sa);
        for _ in 0..10 {
            std::thread::sleep(Duration::from_millis(20));
            a.step(epoch.elapsed());
            ea.extend(a.events());
        }
        assert_eq!(count(&ea, "fastpath_lifetime"), 2, "{:?}", kinds(&ea));
        a.shutdown(epoch.elapsed());
        assert_eq!(fake.counts(), (0, 0));
        assert_eq!(
            a.handle(epoch.elapsed(), &operator("ike_counters", json!({})))
                .unwrap()
                .unwrap()["fastpath_errors"],
            0
        );
    }
}
