//! The fast path side of IKE: the engine's CHILD SAs installed, rekeyed and removed through
//! `program`, and the fast path's `subscribe` stream, whose lifetime events (soft, hard,
//! sequence overflow) become the engine's rekeys and expiries.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use ike::action::{ChildRef, ChildSaInfo, DownReason, IkeSaId};
use ipc::fastpath::{Event as FastpathEvent, Request};
use serde_json::json;

use super::error::SubscribeError;
use super::render::{child_event, esp_spi};
use super::IkeRunner;
use crate::ike::program::restart_conns;

/// How long after losing it the fast path's event stream is asked for again.
pub(super) const RESUBSCRIBE: Duration = Duration::from_secs(1);
/// No line of the fast path is that long: a stream that has one is broken.
const MAX_LINE: usize = 1 << 20;

/// The fast path's `subscribe` stream: lifetime events, one JSON line each.
pub(super) struct Subscription {
    pub stream: UnixStream,
    buf: Vec<u8>,
}

impl Subscription {
    /// Connects and asks for the events; the stream is non-blocking from then on.
    fn open(path: &Path) -> Result<Subscription, SubscribeError> {
        let connect = || -> std::io::Result<UnixStream> {
            let mut s = UnixStream::connect(path)?;
            let request = Request::Subscribe { activity_ms: None };
            writeln!(s, "{}", *ipc::wire::encode_request(0, &request))?;
            s.set_nonblocking(true)?;
            Ok(s)
        };
        let stream = connect().map_err(|source| SubscribeError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Subscription {
            stream,
            buf: Vec::new(),
        })
    }

    /// Reads what is there and cuts it into whole lines; the lines read before a loss come
    /// with it.
    fn read_lines(&mut self) -> (Vec<Vec<u8>>, Option<SubscribeError>) {
        let mut chunk = [0u8; 4096];
        let mut lost = None;
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    lost = Some(SubscribeError::Closed);
                    break;
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    lost = Some(SubscribeError::Read(e));
                    break;
                }
            }
            if self.buf.len() > MAX_LINE {
                lost = Some(SubscribeError::LineTooLong(MAX_LINE));
                break;
            }
        }
        let mut lines = Vec::new();
        while let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
            lines.push(self.buf.drain(..=i).collect());
        }
        (lines, lost)
    }
}

impl IkeRunner {
    /// Installs a new CHILD SA in the fast path.
    pub(super) fn child_up(&mut self, info: &ChildSaInfo) {
        let window = self.window_of(info.child.sa, &info.config);
        self.hold_if_standby(info.child.sa);
        match self.table.install(self.fp.as_mut(), info, window) {
            Ok(e) => {
                let (sa_in, sa_out) = (e.sa_in, e.sa_out);
                self.event("child_up", child_event(info, sa_in, sa_out));
                self.group_child_up(info.child.sa);
            }
            Err(err) => self.install_failed(info, &err),
        }
    }

    /// Installs the new CHILD SA of a rekey and moves outbound traffic to it (see `program`).
    pub(super) fn child_rekeyed(&mut self, old: &ChildRef, new: &ChildSaInfo, defer_out: bool) {
        let window = self.window_of(new.child.sa, &new.config);
        let was_absent = self.table.get(new.child.sa, new.child.id).is_none();
        self.hold_if_standby(new.child.sa);
        match self
            .table
            .rekey(self.fp.as_mut(), old, new, window, defer_out)
        {
            Ok(()) => {}
            Err(err) if was_absent && self.table.get(new.child.sa, new.child.id).is_none() => {
                self.install_failed(new, &err);
                return;
            }
            Err(err) => {
                self.stats.fastpath_errors += 1;
                tracing::warn!(target: "ike", "rekey of {}/{}: {err}", old.sa, old.id);
            }
        }
        let e = self.table.get(new.child.sa, new.child.id);
        let (sa_in, sa_out) = e.map_or((0, 0), |e| (e.sa_in, e.sa_out));
        let mut v = child_event(new, sa_in, sa_out);
        v["old_child"] = json!(old.id);
        v["old_spi_in"] = json!(esp_spi(old.spi_in));
        v["old_spi_out"] = json!(esp_spi(old.spi_out));
        self.event("child_rekeyed", v);
    }

    /// The fast path refused a CHILD SA: the engine deletes it after the current actions.
    fn install_failed(&mut self, info: &ChildSaInfo, err: &str) {
        self.stats.child_install_failures += 1;
        self.stats.fastpath_errors += 1;
        self.event(
            "child_install_failed",
            json!({ "ike_sa": info.child.sa, "child": info.child.id, "name": info.config, "error": err }),
        );
        self.to_delete.push((info.child.sa, info.child.id));
    }

    /// The CHILD SAs the engine did not take down one by one go with their IKE SA.
    pub(super) fn remove_children_of(&mut self, sa: IkeSaId) {
        let left: Vec<_> = self
            .table
            .entries()
            .filter(|e| e.sa == sa)
            .map(|e| ChildRef {
                sa,
                id: e.child,
                spi_in: e.spi_in,
                spi_out: e.spi_out,
            })
            .collect();
        for c in left {
            self.remove_child(&c, DownReason::IkeSaDown);
        }
    }

    pub(super) fn remove_child(&mut self, child: &ChildRef, reason: DownReason) {
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
                "spi_in": esp_spi(child.spi_in), "spi_out": esp_spi(child.spi_out),
                "reason": format!("{reason:?}"),
            }),
        );
    }

    /// A fast path (re)connected: the table reconciled with it (`program::reconcile`); what
    /// could not go in again is deleted, and the peers of what an earlier slow path left are
    /// negotiated with again.
    pub(super) fn resync(&mut self, now: Duration) {
        let generation = self.ha_replay_generation();
        self.table.set_replay_generation(generation);
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
        self.install_unadopted();
        self.event(
            "fastpath_resync",
            json!({ "replayed": r.replayed, "lost": r.lost.len(), "orphans": r.adopted,
                    "restored": r.restored,
                    "reserved": r.reserved, "synced": self.sync.is_connected() }),
        );
    }

    /// Asks the fast path for its event stream (when there is a fast path); on failure, again
    /// after `RESUBSCRIBE`.
    pub(super) fn subscribe(&mut self, now: Duration) {
        let Some(path) = self.fp_path.as_deref() else {
            return;
        };
        match Subscription::open(path) {
            Ok(sub) => {
                self.sub = Some(sub);
                self.resubscribe_at = None;
                self.resync(now);
            }
            Err(e) => {
                tracing::warn!(target: "ike", "{e}; asking again in {RESUBSCRIBE:?}");
                self.resubscribe_at = Some(now + RESUBSCRIBE);
            }
        }
    }

    pub(super) fn read_subscription(&mut self, now: Duration) {
        let Some(sub) = self.sub.as_mut() else {
            return;
        };
        let (lines, lost) = sub.read_lines();
        if let Some(e) = lost {
            tracing::warn!(target: "ike", "{e}; asking again in {RESUBSCRIBE:?}");
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
        let ok = if ike::v1::engine::is_v1_id(sa) {
            if kind == "hard_lifetime" {
                self.v1.expire_child(now, &mut self.rng, sa, child)
            } else {
                self.v1.rekey_child(now, &mut self.rng, sa, child)
            }
        } else if kind == "hard_lifetime" {
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
}
