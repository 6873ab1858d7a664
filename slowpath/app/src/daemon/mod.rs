//! The slow path's one loop, driven by poll(2) and the protocol cores' deadlines. Each side
//! is a module with one job, and this loop joins them:
//! - [`vrrp`]: the interfaces, sync groups and instances, on the wire and the kernel;
//! - [`tracking`]: links, fast path ports and probes going up and down;
//! - [`ha`]: the node's active/standby role, from a sync group or by hand;
//! - IKEv2 (`crate::ike`), when the config has connections, with the HA sync to the peer
//!   node (`crate::ha_sync`) when it has an `ha` block;
//! - [`ha_sync`]: IKE's role from the listened HA group, and VRRP gated by the sync;
//! - [`northbound`]: the operator's control socket;
//! - [`metrics`]: the Prometheus page, written between two steps;
//! - [`southbound`]: the fast path's control socket.

mod error;
mod ha;
mod ha_sync;
mod metrics;
mod northbound;
mod southbound;
mod tracking;
mod vrrp;

pub use error::{DaemonError, RequestError};

use crate::config::Config;
use crate::control::ControlServer;
use crate::events::EventLog;
use crate::ike::IkeRunner;
use crate::metrics::MetricsEndpoint;
use crate::northbound::vrrp_events::VrrpEvent;
use crate::snmp::TrapSender;
use crate::sys::poll;
use ha::HaGroups;
use ha_sync::HaSyncRole;
use southbound::Southbound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracking::{TrackChange, Tracks};
use vrrp::Vrrp;

/// The longest the loop sleeps when nothing is due.
const IDLE_WAIT: Duration = Duration::from_millis(500);

pub struct Daemon {
    epoch: Instant,
    vrrp: Vrrp,
    tracks: Tracks,
    ha: HaGroups,
    ike: Option<IkeRunner>,
    /// IKE's role and the preemption gate, with an `ha` block and IKE.
    ha_sync: Option<HaSyncRole>,
    southbound: Southbound,
    control: Option<ControlServer>,
    metrics: Option<MetricsEndpoint>,
    events: EventLog,
    stop: Arc<AtomicBool>,
}

impl Daemon {
    /// Opens the sockets and builds the cores; nothing is sent until `run`.
    pub fn new(mut cfg: Config, stop: Arc<AtomicBool>) -> Result<Daemon, DaemonError> {
        let epoch = Instant::now();
        if !cfg.ike.is_empty() {
            ha_sync::gate_preemption(&mut cfg);
        }
        let vrrp = Vrrp::open(&cfg)?;
        let tracks = Tracks::build(&cfg.tracks, vrrp.interface_names())?;
        let ha = HaGroups::from_config(&cfg.ha_groups);
        let control = match &cfg.control {
            Some(path) => {
                Some(
                    ControlServer::bind(path).map_err(|source| DaemonError::Control {
                        path: path.clone(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        let metrics = match cfg.metrics {
            Some(addr) => Some(
                MetricsEndpoint::start(addr, &stop)
                    .map_err(|source| DaemonError::Metrics { addr, source })?,
            ),
            None => None,
        };
        if let Some(m) = &metrics {
            tracing::info!(addr = %m.local_addr(), "metrics at http://{}/metrics", m.local_addr());
        }
        let seqnum = cfg.ha.as_ref().map(|ha| ha.seqnum);
        let mut southbound = Southbound::new(cfg.fastpath.as_deref(), seqnum);
        southbound.forget_leftovers(&cfg.vrrp);
        southbound.keep_settings(epoch.elapsed());
        let ike = if cfg.ike.is_empty() {
            None
        } else {
            Some(IkeRunner::new(
                cfg.ike.clone(),
                cfg.fastpath.as_deref(),
                epoch.elapsed(),
                cfg.ha.as_ref(),
            )?)
        };
        let ha_sync = ike.as_ref().and_then(|_| HaSyncRole::new(&cfg));
        let traps = TrapSender::new(&cfg.snmp).map_err(DaemonError::Snmp)?;
        Ok(Daemon {
            epoch,
            vrrp,
            tracks,
            ha,
            ike,
            ha_sync,
            southbound,
            control,
            metrics,
            events: EventLog::with_traps(traps),
            stop,
        })
    }

    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// Runs until stopped; then steps down gracefully (priority 0, addresses removed).
    pub fn run(&mut self) -> Result<(), DaemonError> {
        let now = self.now();
        // Tracks that start down are applied before the first advert.
        let down: Vec<String> = self.tracks.down().map(str::to_string).collect();
        for name in down {
            self.vrrp.track_update(now, &name, false);
        }
        self.vrrp.startup(now);
        self.step();
        while !self.stop.load(Ordering::Relaxed) {
            let wait = self.next_wait();
            let mut fds: Vec<i32> = self.vrrp.fds().chain(self.tracks.fds()).collect();
            if let Some(c) = &self.control {
                fds.extend(c.fds());
            }
            if let Some(i) = &self.ike {
                fds.extend(i.fds());
            }
            fds.extend(self.metrics.as_ref().map(MetricsEndpoint::fd));
            poll::readable(&fds, wait).map_err(DaemonError::Poll)?;
            let now = self.now();
            self.vrrp.receive(now);
            for change in self.tracks.receive_probes(now) {
                self.track_changed(now, change);
            }
            self.serve_control();
            self.serve_metrics();
            self.step();
        }
        let now = self.now();
        self.vrrp.shutdown(now);
        if let Some(i) = self.ike.as_mut() {
            i.shutdown(now);
        }
        self.step();
        self.vrrp.remove_vmacs();
        Ok(())
    }

    /// The time until the earliest deadline of anything.
    fn next_wait(&self) -> Duration {
        let now = self.now();
        [
            self.vrrp.next_deadline(),
            self.ike.as_ref().and_then(IkeRunner::next_deadline),
            self.tracks.next_deadline(),
            self.southbound.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .fold(now + IDLE_WAIT, Duration::min)
        .saturating_sub(now)
    }

    /// Fires timers, checks tracks, and carries out everything the cores asked for.
    fn step(&mut self) {
        let now = self.now();
        // Before IKE: a replay after the fast path's restart must find the knobs in force.
        self.southbound.keep_settings(now);
        let southbound = &mut self.southbound;
        for change in self.tracks.check(now, || southbound.port_links()) {
            self.track_changed(now, change);
        }
        self.vrrp.poll(now);
        let southbound = &mut self.southbound;
        self.vrrp
            .carry_out(now, &mut self.events, &mut |c| southbound.apply(c));
        let states = self.vrrp.groups().iter().map(|g| (g.name(), g.state()));
        self.ha.follow(now, states, &mut self.events);
        if let Some(i) = self.ike.as_mut() {
            if let Some(h) = &self.ha_sync {
                h.follow_role(now, &self.ha, i);
            }
            i.step(now);
            if let Some(h) = self.ha_sync.as_mut() {
                h.gate(now, &self.ha, i, &mut self.vrrp, &mut self.events);
            }
        }
        self.collect_ike_events(now);
        self.events.reap();
        self.events.poll_traps(now.as_millis());
        let pending = self.events.take_pending();
        if let Some(c) = &mut self.control {
            c.publish(&pending);
        }
    }

    /// A track went up or down: the groups weigh it, and a VRRP interface's socket follows
    /// its carrier.
    fn track_changed(&mut self, now: Duration, change: TrackChange) {
        if let Some(ifname) = &change.interface {
            self.vrrp.link_changed(ifname, change.up);
        }
        self.vrrp.track_update(now, &change.name, change.up);
        let event = VrrpEvent::Track {
            track: change.name,
            up: change.up,
        };
        self.events.record(now.as_millis(), &event);
    }

    fn collect_ike_events(&mut self, now: Duration) {
        let Some(i) = self.ike.as_mut() else { return };
        for ev in i.events() {
            let kind = ev["event"].as_str().unwrap_or("ike").to_string();
            self.events.push(now.as_millis(), &kind, ev);
        }
    }
}
