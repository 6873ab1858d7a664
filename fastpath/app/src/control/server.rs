//! The socket side: accepts connections, turns requests into worker commands, and streams
//! SA events to subscribers. Runs on ordinary threads beside the main lcore.

use super::command::{Command, Inbox, Reply, Request};
use crate::config::{parse_sa, parse_sp};
use crate::stats::{SharedStats, StatsSnapshot};
use crate::tables::owner;
use esp::counters::DropReason;
use esp::lcore::EventQueue;
use esp::sa::{Direction, SaEventKind, SaId};
use esp::spd::{Policy, PolicyId};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The schema version this side speaks.
pub const VERSION: u64 = 1;

/// What the control side reaches of the running fast path.
pub struct Control {
    pub inboxes: Vec<Inbox>,
    pub events: Vec<EventQueue>,
    pub stats: Vec<Arc<SharedStats>>,
    /// Static port facts (id, role, MAC) for `ports`.
    pub ports: Vec<Value>,
    pub stop: Arc<AtomicBool>,
    /// Where the sync thread sends snapshot batches (`sync_subscribe`).
    pub sync_subscribers: super::sync::SyncSubscribers,
    pub sync_counters: Arc<super::sync::SyncCounters>,
    /// The node's own addresses as the workers have them (`local_add` / `local_del`).
    pub locals: Mutex<Vec<std::net::IpAddr>>,
}

/// A client of the event stream.
struct Subscriber {
    stream: UnixStream,
    /// `subscribe {"activity_ms": N}`: every N ms, the inbound SAs that received since the
    /// last report and when (dead peer detection without polling every SA).
    activity: Option<Duration>,
    last_report: std::time::Instant,
}

type Subscribers = Arc<Mutex<Vec<Subscriber>>>;

/// Listens on `path` until `stop`; returns the listener and event-pump threads.
pub fn spawn(path: &Path, control: Control) -> std::io::Result<Vec<JoinHandle<()>>> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    listener.set_nonblocking(true)?;
    let control = Arc::new(control);
    let subscribers: Subscribers = Arc::default();
    let pump = {
        let (control, subscribers) = (Arc::clone(&control), Arc::clone(&subscribers));
        std::thread::Builder::new()
            .name("ctl-events".into())
            .spawn(move || pump_events(&control, &subscribers))?
    };
    let path: PathBuf = path.to_path_buf();
    let accept = std::thread::Builder::new()
        .name("ctl-accept".into())
        .spawn(move || {
            while !control.stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (control, subscribers) =
                            (Arc::clone(&control), Arc::clone(&subscribers));
                        let _ = std::thread::Builder::new()
                            .name("ctl-client".into())
                            .spawn(move || serve(stream, &control, &subscribers));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            let _ = std::fs::remove_file(&path);
        })?;
    Ok(vec![accept, pump])
}

/// One client: a request per line, a reply per line.
fn serve(stream: UnixStream, control: &Control, subscribers: &Subscribers) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    while !control.stop.load(Ordering::Relaxed) {
        match reader.read_line(&mut line) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(_) => return,
        }
        let request: Result<Value, _> = serde_json::from_str(line.trim());
        line.clear();
        let (id, reply) = match request {
            Ok(req) => {
                let id = req.get("id").cloned().unwrap_or(Value::Null);
                let op = req.get("op").and_then(Value::as_str);
                if op == Some("subscribe") || op == Some("sync_subscribe") {
                    // The confirmation goes out before the stream can start.
                    let stream = out.try_clone();
                    let msg = match &stream {
                        Ok(_) => {
                            json!({"v": VERSION, "id": id, "ok": true, "result": "subscribed"})
                        }
                        Err(e) => {
                            json!({"v": VERSION, "id": id, "ok": false, "error": e.to_string()})
                        }
                    };
                    if writeln!(out, "{msg}").is_err() {
                        return;
                    }
                    let Ok(s) = stream else { continue };
                    if op == Some("subscribe") {
                        let activity = req
                            .get("activity_ms")
                            .and_then(Value::as_u64)
                            .filter(|ms| *ms > 0)
                            .map(|ms| Duration::from_millis(ms.max(10)));
                        subscribers
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(Subscriber {
                                stream: s,
                                activity,
                                last_report: std::time::Instant::now(),
                            });
                        continue;
                    }
                    // The sync stream owns the connection from here (non-blocking writes).
                    if let Ok(sub) = super::sync::SyncSubscriber::new(s) {
                        control
                            .sync_subscribers
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(sub);
                    }
                    return;
                }
                (id, handle(control, &req))
            }
            Err(e) => (Value::Null, Err(format!("not JSON: {e}"))),
        };
        let msg = match reply {
            Ok(result) => json!({"v": VERSION, "id": id, "ok": true, "result": result}),
            Err(error) => json!({"v": VERSION, "id": id, "ok": false, "error": error}),
        };
        if writeln!(out, "{msg}").is_err() {
            return;
        }
    }
}

/// Carries out one request.
pub fn handle(control: &Control, req: &Value) -> Result<Value, String> {
    if let Some(v) = req.get("v").and_then(Value::as_u64) {
        if v != VERSION {
            return Err(format!(
                "schema version {v} is not spoken here (this is {VERSION})"
            ));
        }
    }
    let op = req
        .get("op")
        .and_then(Value::as_str)
        .ok_or("missing \"op\"")?;
    let n = control.inboxes.len();
    match op {
        "sa_add" => {
            let line = req
                .get("line")
                .and_then(Value::as_str)
                .ok_or("sa_add wants \"line\"")?;
            let words = statement_words(line, "sa");
            let (id, config) = parse_sa(&words)?;
            let owner_w = owner(id, n);
            let replies = broadcast(control, |_| Command::AddSa {
                id,
                config: Box::new(config.clone()),
                owner: owner_w,
            })?;
            match &replies[owner_w] {
                Reply::Done => Ok(json!({"sa": id.0, "worker": owner_w})),
                Reply::Failed(e) => Err(e.clone()),
                r => Err(format!("unexpected reply {r:?}")),
            }
        }
        "sa_del" => {
            let id = SaId(u32_field(req, "sa")?);
            let replies = broadcast(control, |_| Command::DelSa { id })?;
            if replies.iter().any(|r| matches!(r, Reply::Done)) {
                Ok(json!({"sa": id.0}))
            } else {
                Err(format!("no SA {}", id.0))
            }
        }
        "sa_get" => {
            let id = SaId(u32_field(req, "sa")?);
            let replies = broadcast(control, |_| Command::GetSa { id })?;
            replies
                .into_iter()
                .find_map(|r| match r {
                    Reply::Sa(info) => Some(json!(info)),
                    _ => None,
                })
                .ok_or(format!("no SA {}", id.0))
        }
        "sa_list" => {
            let mut all = Vec::new();
            for r in broadcast(control, |_| Command::ListSa)? {
                if let Reply::Sas(v) = r {
                    all.extend(v);
                }
            }
            all.sort_by_key(|s| s.id);
            Ok(json!(all))
        }
        "sp_add" => {
            let line = req
                .get("line")
                .and_then(Value::as_str)
                .ok_or("sp_add wants \"line\"")?;
            let sp = parse_sp(&statement_words(line, "sp"))?;
            let policy = Policy {
                priority: sp.priority,
                selector: sp.selector,
                action: sp.action,
            };
            let ids: Vec<u32> = broadcast(control, |_| Command::AddSp {
                direction: sp.direction,
                policy,
            })?
            .into_iter()
            .filter_map(|r| match r {
                Reply::SpAdded(id) => Some(id.0),
                _ => None,
            })
            .collect();
            // Every worker holds the same SPD, built by the same sequence of changes.
            if ids.len() != n || ids.iter().any(|i| *i != ids[0]) {
                return Err(format!("workers disagree on the new policy's id: {ids:?}"));
            }
            Ok(json!({"policy": ids[0]}))
        }
        "sp_del" => {
            let direction = direction_field(req)?;
            let id = PolicyId(u32_field(req, "policy")?);
            let replies = broadcast(control, |_| Command::DelSp { direction, id })?;
            match replies.into_iter().find(|r| !matches!(r, Reply::Done)) {
                None => Ok(json!({"policy": id.0})),
                Some(Reply::Failed(e)) => Err(e),
                Some(r) => Err(format!("unexpected reply {r:?}")),
            }
        }
        "sp_list" => {
            let direction = direction_field(req)?;
            let first = control.inboxes.first().ok_or("no workers")?;
            match ask(first, Command::ListSp { direction })? {
                Reply::Sps(v) => Ok(json!(v)),
                r => Err(format!("unexpected reply {r:?}")),
            }
        }
        "sa_activate" | "sa_deactivate" => {
            let id = match req.get("sa") {
                Some(Value::String(s)) if s == "all" => None,
                None => None,
                Some(_) => Some(SaId(u32_field(req, "sa")?)),
            };
            let replies = if op == "sa_activate" {
                let oseq_shift = req
                    .get("oseq_shift")
                    .and_then(Value::as_u64)
                    .ok_or("sa_activate wants \"oseq_shift\"")?;
                let generation = req
                    .get("generation")
                    .and_then(Value::as_u64)
                    .and_then(|g| u16::try_from(g).ok())
                    .ok_or("sa_activate wants \"generation\" (0..65535)")?;
                broadcast(control, |_| Command::Activate {
                    id,
                    oseq_shift,
                    generation,
                })?
            } else {
                broadcast(control, |_| Command::Deactivate { id })?
            };
            let n: usize = replies
                .iter()
                .map(|r| if let Reply::Count(c) = r { *c } else { 0 })
                .sum();
            Ok(json!({"sas": n}))
        }
        "stats" => {
            let mut total = StatsSnapshot::default();
            for s in &control.stats {
                total.add(&s.read());
            }
            let drops: serde_json::Map<String, Value> = DropReason::ALL
                .iter()
                .map(|r| (r.name().to_string(), total.esp.drops_of(*r).into()))
                .collect();
            let p = &total.port;
            Ok(json!({
                "workers": n, "rx_packets": p.rx_packets, "rx_bytes": p.rx_bytes, "tx_packets": p.tx_packets,
                "tx_bytes": p.tx_bytes, "tx_full": p.tx_full, "exception": p.exception, "bypassed": p.bypassed,
                "to_node": p.to_node, "from_node": p.from_node,
                "encrypted": total.esp.encrypted, "decrypted": total.esp.decrypted, "dummy": total.esp.dummy, "drops": drops,
            }))
        }
        "ports" => {
            // The static facts, and each port's link as the driver has it now.
            let mut ports = control.ports.clone();
            for p in &mut ports {
                let link = p
                    .get("port")
                    .and_then(Value::as_u64)
                    .and_then(|id| u16::try_from(id).ok())
                    .and_then(|id| dpdk::ethdev::link_of(id).ok());
                p["link_up"] = json!(link.as_ref().map(|l| l.up));
                p["speed_mbps"] = json!(link.as_ref().map(|l| l.speed_mbps));
            }
            Ok(json!(ports))
        }
        "locals" => Ok(json!(*control
            .locals
            .lock()
            .unwrap_or_else(|e| e.into_inner()))),
        "local_add" | "local_del" => {
            let addr: std::net::IpAddr = req
                .get("addr")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
                .ok_or(format!("{op} wants \"addr\": an IP address"))?;
            // Held across the broadcast so that two changes cannot interleave.
            let mut locals = control.locals.lock().unwrap_or_else(|e| e.into_inner());
            let present = locals.contains(&addr);
            let changed = match (op, present) {
                ("local_add", false) => {
                    locals.push(addr);
                    true
                }
                ("local_del", true) => {
                    locals.retain(|a| *a != addr);
                    true
                }
                _ => false,
            };
            if changed {
                let set: Arc<[std::net::IpAddr]> = locals.clone().into();
                broadcast(control, |_| Command::SetLocals(Arc::clone(&set)))?;
            }
            Ok(json!({"changed": changed, "locals": *locals}))
        }
        "port_mac" => {
            let port = u16::try_from(u32_field(req, "port")?).map_err(|_| "port: 0..65535")?;
            let mac = match req.get("mac") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(crate::config::parse_mac(s)?),
                Some(_) => return Err("mac: a string or null".into()),
            };
            for r in broadcast(control, |_| Command::SetSourceMac { port, mac })? {
                if let Reply::Failed(e) = r {
                    return Err(e);
                }
            }
            Ok(json!({"port": port, "mac": mac.map(crate::neighbour::format_mac)}))
        }
        "sa_sync" => {
            let records = req
                .get("sync")
                .and_then(Value::as_array)
                .ok_or("sa_sync wants \"sync\": [records]")?;
            let snaps: Vec<_> = records
                .iter()
                .map(super::sync::from_json)
                .collect::<Option<_>>()
                .ok_or("a sync record is malformed")?;
            let snaps = Arc::new(snaps);
            let replies = broadcast(control, |_| Command::ApplySnapshots(Arc::clone(&snaps)))?;
            let n: usize = replies
                .iter()
                .map(|r| if let Reply::Count(c) = r { *c } else { 0 })
                .sum();
            Ok(json!({"applied": n, "records": snaps.len()}))
        }
        "sync_stats" => {
            let c = &control.sync_counters;
            Ok(json!({
                "drained": c.drained.load(Ordering::Relaxed), "coalesced": c.coalesced.load(Ordering::Relaxed),
                "sent": c.sent.load(Ordering::Relaxed), "batches": c.batches.load(Ordering::Relaxed),
            }))
        }
        other => Err(format!("unknown op {other:?}")),
    }
}

/// The words of a statement, without its keyword if the line has it.
fn statement_words<'a>(line: &'a str, keyword: &str) -> Vec<&'a str> {
    let words: Vec<&str> = line
        .split('#')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    match words.first() {
        Some(w) if *w == keyword => words[1..].to_vec(),
        _ => words,
    }
}

fn u32_field(req: &Value, name: &str) -> Result<u32, String> {
    req.get(name)
        .and_then(Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or(format!("wants \"{name}\" (a number)"))
}

fn direction_field(req: &Value) -> Result<Direction, String> {
    match req.get("dir").and_then(Value::as_str) {
        Some("in") => Ok(Direction::Inbound),
        Some("out") => Ok(Direction::Outbound),
        _ => Err("wants \"dir\": \"in\" or \"out\"".into()),
    }
}

/// Sends one command to one worker and waits (bounded) for its answer.
fn ask(inbox: &Inbox, command: Command) -> Result<Reply, String> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    inbox
        .push(Request { command, reply: tx })
        .map_err(|_| "worker inbox full".to_string())?;
    rx.recv_timeout(Duration::from_secs(2))
        .map_err(|_| "worker did not answer (stopped?)".to_string())
}

/// Sends a command to every worker (in order) and collects their answers.
fn broadcast(control: &Control, make: impl Fn(usize) -> Command) -> Result<Vec<Reply>, String> {
    control
        .inboxes
        .iter()
        .enumerate()
        .map(|(w, inbox)| ask(inbox, make(w)))
        .collect()
}

/// Moves SA events from the workers' queues to every subscriber, and the inbound SAs'
/// last-received times to the subscribers that asked for them, until stopped.
fn pump_events(control: &Control, subscribers: &Subscribers) {
    while !control.stop.load(Ordering::Relaxed) {
        let mut lines = Vec::new();
        for q in &control.events {
            while let Some(ev) = q.pop() {
                let kind = match ev.kind {
                    SaEventKind::SoftLifetime => "soft_lifetime",
                    SaEventKind::HardLifetime => "hard_lifetime",
                    SaEventKind::SequenceOverflow => "sequence_overflow",
                };
                lines.push(json!({"v": VERSION, "event": kind, "sa": ev.sa.0, "spi": format!("{:#010x}", ev.spi)}).to_string());
            }
        }
        let now = std::time::Instant::now();
        let due = {
            let subs = subscribers.lock().unwrap_or_else(|e| e.into_inner());
            subs.iter()
                .any(|s| s.activity.is_some_and(|p| now - s.last_report >= p))
        };
        // Asked of the workers outside the lock: a slow answer must not hold up the stream.
        let inbound = if due {
            inbound_activity(control)
        } else {
            Vec::new()
        };
        let mut subs = subscribers.lock().unwrap_or_else(|e| e.into_inner());
        subs.retain_mut(|s| {
            let mut ok = lines.iter().all(|l| writeln!(s.stream, "{l}").is_ok());
            if let Some(period) = s.activity {
                if due && now - s.last_report >= period {
                    let since = now - s.last_report;
                    let sas: Vec<&Value> = inbound
                        .iter()
                        .filter(|a| {
                            a["idle_ms"]
                                .as_u64()
                                .is_some_and(|i| u128::from(i) <= since.as_millis())
                        })
                        .collect();
                    let line = json!({"v": VERSION, "event": "sa_activity", "sas": sas});
                    ok = ok && writeln!(s.stream, "{line}").is_ok();
                    s.last_report = now;
                }
            }
            ok
        });
        drop(subs);
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Each inbound SA's last-received time (the worker's clock) and how long ago that was.
fn inbound_activity(control: &Control) -> Vec<Value> {
    let Ok(replies) = broadcast(control, |_| Command::ListSa) else {
        return Vec::new();
    };
    replies
        .into_iter()
        .filter_map(|r| if let Reply::Sas(v) = r { Some(v) } else { None })
        .flatten()
        .filter(|sa| sa.direction == "in" && sa.packets > 0)
        .map(|sa| json!({"sa": sa.id, "spi": sa.spi, "last_used_ns": sa.last_used_ns, "idle_ms": sa.idle_ms, "packets": sa.packets}))
        .collect()
}
