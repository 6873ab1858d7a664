//! What happened, for operators: a bounded log of recent events, a line per event to every
//! subscriber of the control socket, SNMP notifications to the configured receivers, and
//! the operators' hook scripts on HA role changes.

use crate::northbound::vrrp_events::VrrpEvent;
use crate::snmp::{TrapReceiverStatus, TrapSender};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::path::Path;
use std::process::{Child, Command};

/// How many past events `events` shows.
const KEPT: usize = 256;

#[derive(Default)]
pub struct EventLog {
    recent: VecDeque<Value>,
    /// Events not yet written to subscribers.
    pending: Vec<Value>,
    hooks: Vec<Child>,
    /// Sends the events our MIB has notifications for, when `snmp-trap` says where.
    traps: Option<TrapSender>,
    pub hooks_run: u64,
    pub hooks_failed: u64,
}

impl EventLog {
    pub fn with_traps(traps: Option<TrapSender>) -> EventLog {
        EventLog {
            traps,
            ..EventLog::default()
        }
    }

    /// Records an event (`kind` plus fields) stamped with the daemon's clock in ms.
    pub fn push(&mut self, at_ms: u128, kind: &str, mut fields: Value) {
        fields["event"] = json!(kind);
        fields["at_ms"] = json!(at_ms as u64);
        // Wall-clock too, so that scripts can line events up with captures and kills.
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        fields["unix_ms"] = json!(unix.as_millis() as u64);
        tracing::info!(target: "event", "{fields}");
        if let Some(t) = self.traps.as_mut() {
            t.notify(&fields);
        }
        if self.recent.len() == KEPT {
            self.recent.pop_front();
        }
        self.recent.push_back(fields.clone());
        self.pending.push(fields);
    }

    /// Records one of the VRRP side's events.
    pub fn record(&mut self, at_ms: u128, event: &VrrpEvent) {
        match serde_json::to_value(event) {
            Ok(fields) => self.push(at_ms, event.kind(), fields),
            Err(e) => tracing::warn!("event {}: {e}", event.kind()),
        }
    }

    /// Each run of trap suppression that is over becomes one event (and a log line), so
    /// that the event stream says what the NMS missed.
    pub fn poll_traps(&mut self, at_ms: u128) {
        let Some(t) = self.traps.as_mut() else { return };
        for e in t.suppression_ended() {
            let fields = json!({
                "receiver": e.to.to_string(),
                "suppressed": e.run.count,
                "first_ms": e.run.first.as_millis() as u64,
                "last_ms": e.run.last.as_millis() as u64,
            });
            self.push(at_ms, "snmp_traps_suppressed", fields);
        }
    }

    /// The trap receivers' limits and counters; none without `snmp-trap`.
    pub fn trap_statuses(&self) -> Vec<TrapReceiverStatus> {
        self.traps.as_ref().map_or_else(Vec::new, |t| t.statuses())
    }

    pub fn recent(&self) -> Vec<Value> {
        self.recent.iter().cloned().collect()
    }

    pub fn take_pending(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.pending)
    }

    /// Starts an operator's hook without waiting for it (it must not stall VRRP).
    pub fn run_hook(&mut self, script: &Path, args: &[&str]) {
        self.reap();
        match Command::new(script).args(args).spawn() {
            Ok(child) => {
                self.hooks_run += 1;
                self.hooks.push(child);
            }
            Err(e) => {
                self.hooks_failed += 1;
                tracing::warn!("hook {}: {e}", script.display());
            }
        }
    }

    /// Collects finished hooks, so none stays a zombie.
    pub fn reap(&mut self) {
        let mut failed = 0;
        self.hooks.retain_mut(|c| match c.try_wait() {
            Ok(Some(status)) => {
                if !status.success() {
                    failed += 1;
                }
                false
            }
            Ok(None) => true,
            Err(_) => false,
        });
        self.hooks_failed += failed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_events_and_hands_each_out_once() {
        let mut log = EventLog::default();
        for i in 0..(KEPT + 10) {
            log.push(i as u128, "tick", json!({"i": i}));
        }
        let recent = log.recent();
        assert_eq!(recent.len(), KEPT);
        assert_eq!(recent[0]["i"], json!(10));
        assert_eq!(recent[0]["event"], json!("tick"));
        assert_eq!(log.take_pending().len(), KEPT + 10);
        assert!(log.take_pending().is_empty());
    }

    #[test]
    fn a_recorded_event_has_its_kind_and_stamps() {
        let mut log = EventLog::default();
        let ev = VrrpEvent::Track {
            track: "p1".into(),
            up: true,
        };
        log.record(42, &ev);
        let got = log.take_pending();
        assert_eq!(got.len(), 1);
        assert_eq!(
            (
                &got[0]["event"],
                &got[0]["track"],
                &got[0]["up"],
                &got[0]["at_ms"]
            ),
            (&json!("track"), &json!("p1"), &json!(true), &json!(42))
        );
        assert!(got[0]["unix_ms"].as_u64().is_some_and(|t| t > 0));
    }

    /// The hook: an event pushed to the log goes out as a trap when its kind has one.
    #[test]
    fn pushed_events_with_a_notification_go_out_as_traps() {
        use crate::config::Config;
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let text = format!(
            "snmp-trap {} v2c community public",
            rx.local_addr().unwrap()
        );
        let cfg = Config::parse(&text, "test.conf").unwrap();
        let mut log = EventLog::with_traps(TrapSender::new(&cfg.snmp).unwrap());
        log.push(1, "track", json!({"track": "t", "up": true}));
        log.push(2, "ha_sync_up", json!({}));
        let mut buf = [0u8; 1500];
        let n = rx.recv(&mut buf).unwrap();
        // snmpTrapOID.0's value: ipsecGwHaSyncUp, ...32473.1.0.10.
        let oid = [6, 11, 0x2b, 6, 1, 4, 1, 0x81, 0xfd, 0x59, 1, 0, 10];
        assert!(buf[..n].windows(oid.len()).any(|w| w == oid));
        rx.set_nonblocking(true).unwrap();
        assert!(rx.recv(&mut buf).is_err(), "one trap: `track` has none");
        assert_eq!(log.take_pending().len(), 2);
    }

    #[test]
    fn hooks_run_and_are_reaped() {
        let mut log = EventLog::default();
        log.run_hook(Path::new("/bin/false"), &["g", "standby", "active"]);
        log.run_hook(Path::new("/nonexistent/hook"), &[]);
        // The missing hook failed at once; /bin/false may already have been reaped too.
        assert_eq!(log.hooks_run, 1);
        assert!((1..=2).contains(&log.hooks_failed));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !log.hooks.is_empty() && std::time::Instant::now() < deadline {
            log.reap();
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(log.hooks_failed, 2, "/bin/false exits 1");
    }
}
