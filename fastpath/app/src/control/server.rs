//! The socket side: one thread serves every client of the control socket (`ipc::server`),
//! turns requests into worker commands, and hands subscribers to the event pump and the
//! sync stream. Runs beside the main lcore, never on a worker.

use super::command::{Command, Reply, Which};
use super::context::{answer, ask, broadcast, Answer};
use super::convert;
use crate::stats::StatsSnapshot;
use esp::counters::DropReason;
use esp::sa::SaEventKind;
use ipc::fastpath::{
    Event, LocalsChanged, PortInfo, PortMacSet, Request, SaActivity, SaCount, SaInfo, Stats,
    SyncApplied, SyncSettingsApplied, SyncStats,
};
use ipc::server::{wait_readable, ClientId, LineServer};
use ipc::wire::{decode_request, encode_event, Reply as WireReply};
use ipc::SaTarget;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use super::context::Control;

/// A client of the event stream.
struct Subscriber {
    stream: UnixStream,
    /// `subscribe {"activity_ms": N}`: every N ms, the inbound SAs that received since the
    /// last report and when (dead peer detection without polling every SA).
    activity: Option<Duration>,
    last_report: Instant,
}

type Subscribers = Arc<Mutex<Vec<Subscriber>>>;

/// How long a write to an event subscriber may block before it is dropped.
const SUBSCRIBER_WRITE_TIMEOUT: Duration = Duration::from_millis(200);

/// Listens on `path` (mode 0600) until `stop`; returns the server and event-pump threads.
pub fn spawn(path: &Path, control: Control) -> std::io::Result<Vec<JoinHandle<()>>> {
    let server = LineServer::bind(path)?;
    let control = Arc::new(control);
    let subscribers: Subscribers = Arc::default();
    let pump = {
        let (control, subscribers) = (Arc::clone(&control), Arc::clone(&subscribers));
        std::thread::Builder::new()
            .name("ctl-events".into())
            .spawn(move || pump_events(&control, &subscribers))?
    };
    let serve = std::thread::Builder::new()
        .name("ctl-server".into())
        .spawn(move || serve(server, &control, &subscribers))?;
    Ok(vec![serve, pump])
}

/// Every client, one request at a time, until stopped.
fn serve(mut server: LineServer, control: &Control, subscribers: &Subscribers) {
    while !control.stop.load(Ordering::Relaxed) {
        // A failed poll (EINTR is not one) rests like a timeout rather than spinning.
        if wait_readable(&server.fds(), Duration::from_millis(100)).is_err() {
            std::thread::sleep(Duration::from_millis(100));
        }
        for (client, line) in server.poll(Instant::now()) {
            let (id, request) = match decode_request::<Request>(&line) {
                Ok(r) => r,
                Err(refused) => {
                    server.send(
                        client,
                        &WireReply::refused(refused.id, refused.error).line(),
                    );
                    continue;
                }
            };
            match request {
                Request::Subscribe { activity_ms } => {
                    subscribe(&mut server, client, id, |stream| {
                        stream.set_write_timeout(Some(SUBSCRIBER_WRITE_TIMEOUT))?;
                        lock(subscribers).push(Subscriber {
                            stream,
                            activity: activity_ms
                                .filter(|ms| *ms > 0)
                                .map(|ms| Duration::from_millis(ms.max(10))),
                            last_report: Instant::now(),
                        });
                        Ok(())
                    });
                }
                Request::SyncSubscribe => {
                    // The sync stream owns the connection from here (non-blocking writes).
                    subscribe(&mut server, client, id, |stream| {
                        let sub = super::sync::SyncSubscriber::new(stream)?;
                        lock(&control.sync_subscribers).push(sub);
                        Ok(())
                    });
                }
                request => {
                    let reply = match handle(control, request) {
                        Ok(result) => WireReply {
                            id,
                            ..WireReply::ok(None, &result)
                        },
                        Err(e) => WireReply::refused(id, e),
                    };
                    server.send(client, &reply.line());
                }
            }
        }
    }
}

/// Confirms a subscription, then hands the connection to `take`.
fn subscribe(
    server: &mut LineServer,
    client: ClientId,
    id: Option<u64>,
    take: impl FnOnce(UnixStream) -> std::io::Result<()>,
) {
    // The confirmation goes out before the stream can start.
    server.send(client, &WireReply::ok(id, &"subscribed").line());
    if let Some(stream) = server.detach(client) {
        if let Err(e) = take(stream) {
            tracing::warn!("control: a subscription failed: {e}");
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Carries out one request (not a subscription).
pub fn handle(control: &Control, request: Request) -> Answer {
    match request {
        r @ (Request::SaAdd { .. }
        | Request::SaDel { .. }
        | Request::SpAdd { .. }
        | Request::SpDel { .. }) => super::table::change(control, &r),
        Request::SaGet { sa } => {
            let id = convert::sa_id(sa);
            broadcast(control, |_| Command::GetSa { id })?
                .into_iter()
                .find_map(|r| match r {
                    Reply::Sa(info) => Some(answer(*info)),
                    _ => None,
                })
                .unwrap_or_else(|| Err(format!("no SA {sa}")))
        }
        Request::SaList => answer(sa_list(control)?),
        Request::SpList { dir } => {
            let direction = convert::direction(dir);
            let first = control.inboxes.first().ok_or("no workers")?;
            match ask(first, Command::ListSp { direction })? {
                Reply::Sps(v) => answer(v),
                r => Err(format!("unexpected reply {r:?}")),
            }
        }
        Request::SaActivate {
            sa,
            oseq_shift,
            generation,
        } => {
            let which = which(sa);
            let oseq_shift = oseq_shift.unwrap_or_else(|| lock(&control.sync_settings).oseq_shift);
            let replies = broadcast(control, |_| Command::Activate {
                which,
                oseq_shift,
                generation,
            })?;
            answer(SaCount {
                sas: count(&replies),
            })
        }
        Request::SaDeactivate { sa } => {
            let which = which(sa);
            let replies = broadcast(control, |_| Command::Deactivate { which })?;
            answer(SaCount {
                sas: count(&replies),
            })
        }
        Request::SaSync { sync } => {
            let snaps: Arc<Vec<_>> = Arc::new(sync.iter().map(convert::snapshot).collect());
            let replies = broadcast(control, |_| Command::ApplySnapshots(Arc::clone(&snaps)))?;
            answer(SyncApplied {
                applied: count(&replies),
                records: snaps.len(),
            })
        }
        Request::SyncStats => {
            let c = &control.sync_counters;
            answer(SyncStats {
                drained: c.drained.load(Ordering::Relaxed),
                coalesced: c.coalesced.load(Ordering::Relaxed),
                sent: c.sent.load(Ordering::Relaxed),
                batches: c.batches.load(Ordering::Relaxed),
                settings: *lock(&control.sync_settings),
                snapshots: control.snapshots,
            })
        }
        Request::SyncSettings(settings) => {
            settings.check()?;
            let policy = convert::sync_policy(&settings, control.snapshots);
            // Held across the broadcast so that two changes cannot interleave.
            let mut in_force = lock(&control.sync_settings);
            let workers = broadcast(control, |_| Command::SetSyncPolicy(policy))?
                .iter()
                .filter(|r| matches!(r, Reply::Done))
                .count();
            *in_force = settings;
            answer(SyncSettingsApplied { settings, workers })
        }
        Request::Stats => answer(stats(control)),
        Request::Ports => {
            // The static facts, and each port's link as the driver has it now.
            let ports: Vec<PortInfo> = control
                .ports
                .iter()
                .map(|p| {
                    let link = dpdk::ethdev::link_of(p.port).ok();
                    PortInfo {
                        link_up: link.as_ref().map(|l| l.up),
                        speed_mbps: link.as_ref().map(|l| l.speed_mbps),
                        ..p.clone()
                    }
                })
                .collect();
            answer(ports)
        }
        Request::Locals => answer(&*lock(&control.locals)),
        Request::Routes(query) => {
            crate::routing::route_list(control.routing.as_deref(), &totals(control), &query)
                .and_then(answer)
        }
        Request::Neighbours => answer(crate::routing::neighbour_list(
            control.routing.as_deref(),
            &totals(control),
        )),
        Request::LocalAdd { addr } | Request::LocalDel { addr } => {
            let add = matches!(request, Request::LocalAdd { .. });
            // Held across the broadcast so that two changes cannot interleave.
            let mut locals = lock(&control.locals);
            let present = locals.contains(&addr);
            let changed = add != present;
            if changed {
                if add {
                    locals.push(addr);
                } else {
                    locals.retain(|a| *a != addr);
                }
                let set: Arc<[std::net::IpAddr]> = locals.clone().into();
                broadcast(control, |_| Command::SetLocals(Arc::clone(&set)))?;
            }
            answer(LocalsChanged {
                changed,
                locals: locals.clone(),
            })
        }
        Request::PortMac { port, mac } => {
            let octets = mac.map(|m| m.octets());
            for r in broadcast(control, |_| Command::SetSourceMac { port, mac: octets })? {
                if let Reply::Failed(e) = r {
                    return Err(e);
                }
            }
            answer(PortMacSet { port, mac })
        }
        Request::Subscribe { .. } | Request::SyncSubscribe => {
            Err("a subscription takes the connection over".into())
        }
        Request::Batch { requests } => answer(super::table::batch(control, requests, handle)?),
    }
}

fn which(target: SaTarget) -> Which {
    match target {
        SaTarget::All => Which::All,
        SaTarget::One(id) => Which::One(convert::sa_id(id)),
    }
}

fn count(replies: &[Reply]) -> usize {
    replies
        .iter()
        .map(|r| if let Reply::Count(c) = r { *c } else { 0 })
        .sum()
}

fn sa_list(control: &Control) -> Result<Vec<SaInfo>, String> {
    let mut all = Vec::new();
    for r in broadcast(control, |_| Command::ListSa)? {
        if let Reply::Sas(v) = r {
            all.extend(v);
        }
    }
    all.sort_by_key(|s| s.id);
    Ok(all)
}

/// The workers' counters summed.
fn totals(control: &Control) -> StatsSnapshot {
    let mut total = StatsSnapshot::default();
    for s in &control.stats {
        total.add(&s.read());
    }
    total
}

fn stats(control: &Control) -> Stats {
    let total = totals(control);
    let p = &total.port;
    Stats {
        workers: control.inboxes.len(),
        rx_packets: p.rx_packets,
        rx_bytes: p.rx_bytes,
        tx_packets: p.tx_packets,
        tx_bytes: p.tx_bytes,
        tx_full: p.tx_full,
        exception: p.exception,
        bypassed: p.bypassed,
        to_node: p.to_node,
        from_node: p.from_node,
        encrypted: total.esp.encrypted,
        decrypted: total.esp.decrypted,
        dummy: total.esp.dummy,
        drops: DropReason::ALL
            .iter()
            .map(|r| (r.name().to_string(), total.esp.drops_of(*r)))
            .collect(),
        mtu: p
            .mtu
            .named()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        routing: p
            .routing_named()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    }
}

/// Moves SA events from the workers' queues to every subscriber, and the inbound SAs'
/// last-received times to the subscribers that asked for them, until stopped.
fn pump_events(control: &Control, subscribers: &Subscribers) {
    while !control.stop.load(Ordering::Relaxed) {
        let mut lines = Vec::new();
        for q in &control.events {
            while let Some(ev) = q.pop() {
                let (sa, spi) = match ipc::SaId::new(ev.sa.0.into()) {
                    Ok(sa) => (sa, format!("{:#010x}", ev.spi)),
                    Err(_) => continue,
                };
                let event = match ev.kind {
                    SaEventKind::SoftLifetime => Event::SoftLifetime { sa, spi },
                    SaEventKind::HardLifetime => Event::HardLifetime { sa, spi },
                    SaEventKind::SequenceOverflow => Event::SequenceOverflow { sa, spi },
                };
                lines.push(encode_event(&event));
            }
        }
        let now = Instant::now();
        let due = lock(subscribers)
            .iter()
            .any(|s| s.activity.is_some_and(|p| now - s.last_report >= p));
        // Asked of the workers outside the lock: a slow answer must not hold up the stream.
        let inbound = if due {
            inbound_activity(control)
        } else {
            Vec::new()
        };
        lock(subscribers).retain_mut(|s| {
            let mut ok = lines.iter().all(|l| writeln!(s.stream, "{l}").is_ok());
            if let Some(period) = s.activity {
                if due && now - s.last_report >= period {
                    let since = now - s.last_report;
                    let sas: Vec<SaActivity> = inbound
                        .iter()
                        .filter(|a| u128::from(a.idle_ms) <= since.as_millis())
                        .cloned()
                        .collect();
                    let line = encode_event(&Event::SaActivity { sas });
                    ok = ok && writeln!(s.stream, "{line}").is_ok();
                    s.last_report = now;
                }
            }
            ok
        });
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Each inbound SA that has received: its last-received time (the worker's clock) and how
/// long ago that was.
fn inbound_activity(control: &Control) -> Vec<SaActivity> {
    let Ok(all) = sa_list(control) else {
        return Vec::new();
    };
    all.into_iter()
        .filter(|sa| sa.direction == ipc::Direction::In && sa.packets > 0)
        .map(|sa| SaActivity {
            sa: sa.id,
            spi: sa.spi,
            last_used_ns: sa.last_used_ns,
            idle_ms: sa.idle_ms,
            packets: sa.packets,
        })
        .collect()
}
