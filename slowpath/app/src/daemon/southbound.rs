//! The daemon's side of the fast path's control socket: which virtual addresses are the
//! node's own (`local_add` / `local_del`), which MAC a port sends from (`port_mac`), the
//! ports' links for tracking, and the `ha` block's seqnum knobs (`sync_settings`), the only
//! place they are set. A fast path that is not there is logged, never fatal.

use super::tracking::PortLink;
use super::vrrp::AddressChange;
use crate::config::VrrpConfig;
use crate::fastpath::FastpathClient;
use ipc::fastpath::SyncSettings;
use std::path::Path;
use std::time::Duration;

/// How often the fast path's knobs are compared with the `ha` block's. A fast path that
/// restarted has its command line's until then. While it does not answer, every step of the
/// daemon asks, before IKE's: a restart replay that follows a reconnection finds the
/// configured shift in force.
const SETTINGS_CHECK: Duration = Duration::from_millis(200);

pub(super) struct Southbound {
    client: Option<FastpathClient>,
    /// The `ha` block's seqnum knobs, kept in force in the fast path (none without `ha`:
    /// the fast path's command line rules).
    sync_settings: Option<SyncSettings>,
    next_settings_check: Duration,
    /// The last check found no fast path: the next step checks again, due or not.
    fastpath_absent: bool,
}

impl Southbound {
    /// No client when the config names no fast path.
    pub fn new(path: Option<&Path>, sync_settings: Option<SyncSettings>) -> Southbound {
        Southbound {
            client: path.map(FastpathClient::new),
            sync_settings,
            next_settings_check: Duration::ZERO,
            fastpath_absent: false,
        }
    }

    /// Sends the `ha` block's knobs to a fast path that does not have them: at the first
    /// connection and after every restart of the fast path.
    pub fn keep_settings(&mut self, now: Duration) {
        let (Some(fp), Some(want)) = (self.client.as_mut(), self.sync_settings) else {
            return;
        };
        if now < self.next_settings_check && !self.fastpath_absent {
            return;
        }
        self.next_settings_check = now + SETTINGS_CHECK;
        self.fastpath_absent = false;
        match fp.sync_settings() {
            Ok(have) if have == want => {}
            Ok(_) => match fp.set_sync_settings(want) {
                Ok(workers) => {
                    tracing::info!("fast path: ha seqnum knobs sent to {workers} workers")
                }
                Err(e) => tracing::warn!("fast path sync_settings: {e}"),
            },
            Err(e) => {
                tracing::debug!("fast path sync_stats: {e}");
                self.fastpath_absent = true;
            }
        }
    }

    /// When the knobs are to be checked next, if they are kept at all.
    pub fn next_deadline(&self) -> Option<Duration> {
        (self.client.is_some() && self.sync_settings.is_some()).then_some(self.next_settings_check)
    }

    /// What a previous run that was killed left in the fast path is not ours until elected
    /// again.
    pub fn forget_leftovers(&mut self, vrrp: &[VrrpConfig]) {
        let Some(fp) = self.client.as_mut() else {
            return;
        };
        for v in vrrp {
            for a in &v.instance.virtual_addresses {
                if let Err(e) = fp.local(*a, false) {
                    tracing::warn!("fast path: {e}");
                }
            }
            if let Some(p) = v.fastpath_port {
                let _ = fp.port_mac(p, None);
            }
        }
    }

    /// Becoming master: in accept mode the virtual addresses are the node's own, and a
    /// `vmac` instance's port sends from the virtual MAC. Leaving master undoes both.
    pub fn apply(&mut self, change: &AddressChange) {
        let Some(fp) = self.client.as_mut() else {
            return;
        };
        if change.accept {
            for a in &change.addrs {
                match fp.local(*a, change.own) {
                    Err(e) if change.own => tracing::warn!("fast path local_add {a}: {e}"),
                    _ => {}
                }
            }
        }
        let Some(port) = change.fastpath_port else {
            return;
        };
        if !change.own {
            let _ = fp.port_mac(port, None);
        } else if let Some(mac) = change.port_mac {
            if let Err(e) = fp.port_mac(port, Some(mac)) {
                tracing::warn!("fast path port_mac {port}: {e}");
            }
        }
    }

    /// The fast path's ports and whether each has its link; none when it does not answer.
    pub fn port_links(&mut self) -> Vec<PortLink> {
        let Some(fp) = self.client.as_mut() else {
            return Vec::new();
        };
        match fp.ports() {
            Ok(ports) => ports
                .iter()
                .filter_map(|p| {
                    Some(PortLink {
                        port: p.port.into(),
                        up: p.link_up?,
                    })
                })
                .collect(),
            Err(e) => {
                tracing::debug!("fast path ports: {e}");
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipc::fastpath::{Request, SyncSettingsApplied, SyncStats};
    use ipc::server::LineServer;
    use ipc::wire::{decode_request, Reply};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::thread::JoinHandle;
    use std::time::Instant;

    /// A control socket that keeps knobs as a fast path does, from `start` on, and logs the
    /// `sync_settings` it is sent.
    struct KnobServer {
        stop: Arc<AtomicBool>,
        thread: Option<JoinHandle<()>>,
        sent: Arc<Mutex<Vec<SyncSettings>>>,
    }

    impl KnobServer {
        fn start(path: &Path, start: SyncSettings) -> KnobServer {
            let mut server = LineServer::bind(path).unwrap();
            let stop = Arc::new(AtomicBool::new(false));
            let sent = Arc::new(Mutex::new(Vec::new()));
            let (halt, log) = (Arc::clone(&stop), Arc::clone(&sent));
            let thread = std::thread::spawn(move || {
                let mut in_force = start;
                while !halt.load(Ordering::Relaxed) {
                    for (client, line) in server.poll(Instant::now()) {
                        let (id, request) = decode_request::<Request>(&line).unwrap();
                        let reply = match request {
                            Request::SyncStats => Reply::ok(
                                id,
                                &SyncStats {
                                    settings: in_force,
                                    ..SyncStats::default()
                                },
                            ),
                            Request::SyncSettings(s) => {
                                in_force = s;
                                log.lock().unwrap().push(s);
                                let workers = 2;
                                Reply::ok(
                                    id,
                                    &SyncSettingsApplied {
                                        settings: s,
                                        workers,
                                    },
                                )
                            }
                            r => Reply::refused(id, format!("unexpected {}", r.op())),
                        };
                        server.send(client, &reply.line());
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            });
            KnobServer {
                stop,
                thread: Some(thread),
                sent,
            }
        }

        fn sent(&self) -> Vec<SyncSettings> {
            self.sent.lock().unwrap().clone()
        }
    }

    impl Drop for KnobServer {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }

    #[test]
    fn the_ha_knobs_go_to_each_fast_path_that_lacks_them() {
        let path = std::env::temp_dir().join(format!("sb-knobs-{}.sock", std::process::id()));
        let want = SyncSettings {
            period_packets_inbound: 1000,
            period_packets_outbound: 10_000,
            period_time_ms: 0,
            oseq_shift: 1 << 20,
        };
        let fp = KnobServer::start(&path, SyncSettings::default());
        let mut sb = Southbound::new(Some(&path), Some(want));
        let mut now = Duration::ZERO;
        sb.keep_settings(now);
        assert_eq!(fp.sent(), [want], "sent at the first connection");
        assert_eq!(sb.next_deadline(), Some(SETTINGS_CHECK));
        for _ in 0..3 {
            now += SETTINGS_CHECK;
            sb.keep_settings(now);
        }
        assert_eq!(fp.sent(), [want], "not again while in force");
        // The fast path restarts with its command line's knobs, between two checks.
        drop(fp);
        let fp = KnobServer::start(&path, SyncSettings::default());
        sb.keep_settings(now);
        assert!(fp.sent().is_empty(), "not before the check is due");
        now += SETTINGS_CHECK;
        sb.keep_settings(now);
        assert_eq!(fp.sent(), [want], "sent again to the new fast path");
        // A check finds it gone: the very next step that reaches it sends, due or not.
        drop(fp);
        now += SETTINGS_CHECK;
        sb.keep_settings(now);
        let fp = KnobServer::start(&path, SyncSettings::default());
        sb.keep_settings(now);
        assert_eq!(fp.sent(), [want], "sent at once after an absence");
        drop(fp);
        // Without an `ha` block the fast path's own knobs rule: nothing is sent or polled.
        let fp = KnobServer::start(&path, SyncSettings::default());
        let mut plain = Southbound::new(Some(&path), None);
        plain.keep_settings(Duration::ZERO);
        assert!(fp.sent().is_empty());
        assert_eq!(plain.next_deadline(), None);
        drop(fp);
        let _ = std::fs::remove_file(&path);
    }
}
