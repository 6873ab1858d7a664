//! Tracked objects (Cisco's `track`): links, fast path ports and reachability probes, and
//! the implicit track of each VRRP interface's carrier. This module decides when one goes up
//! or down; the daemon tells the VRRP groups.

use super::error::DaemonError;
use crate::config::{TrackConfig, TrackKind};
use crate::netif;
use crate::northbound::vrrp_status::{ProbeStatus, TrackStatus};
use crate::probe::{Pinger, ProbeState};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

/// How often link carriers are read (they have no deadline of their own).
const LINK_CHECK: Duration = Duration::from_millis(50);

/// The implicit track of an interface's carrier.
pub(super) fn link_track(ifname: &str) -> String {
    format!("link:{ifname}")
}

struct Track {
    name: String,
    up: bool,
    link: Option<String>,
    /// A fast path port whose link is tracked.
    port: Option<u16>,
    probe: Option<(ProbeState, Pinger)>,
    changes: u64,
    /// The implicit track of a VRRP interface's carrier.
    vrrp_interface: bool,
}

/// A track that went up or down.
pub(super) struct TrackChange {
    pub name: String,
    pub up: bool,
    /// The VRRP interface whose carrier this is: its socket follows the carrier.
    pub interface: Option<String>,
}

impl Track {
    fn set(&mut self, up: bool) -> TrackChange {
        self.up = up;
        self.changes += 1;
        TrackChange {
            name: self.name.clone(),
            up,
            interface: self.link.clone().filter(|_| self.vrrp_interface),
        }
    }
}

/// A fast path port's link, as the fast path reports it.
pub(super) struct PortLink {
    pub port: u64,
    pub up: bool,
}

pub(super) struct Tracks {
    list: Vec<Track>,
    last_link_check: Duration,
}

impl Tracks {
    /// The configured tracks, then one per VRRP interface for its carrier.
    pub fn build<'a>(
        cfg: &[TrackConfig],
        vrrp_interfaces: impl Iterator<Item = &'a str>,
    ) -> Result<Tracks, DaemonError> {
        let mut list = Vec::new();
        for (i, t) in cfg.iter().enumerate() {
            let (mut link, mut port, mut probe) = (None, None, None);
            match &t.kind {
                TrackKind::Link { ifname } => link = Some(ifname.clone()),
                TrackKind::FastpathPort { port: p } => port = Some(*p),
                TrackKind::Probe {
                    target,
                    interval,
                    timeout,
                    fail,
                    rise,
                } => {
                    // Tells this daemon's probes apart from others' on the same host.
                    let ident = (std::process::id() as u16) ^ (i as u16).wrapping_mul(0x9e37);
                    let pinger =
                        Pinger::new(*target, ident).map_err(|source| DaemonError::Probe {
                            track: t.name.clone(),
                            source,
                        })?;
                    probe = Some((ProbeState::new(*interval, *timeout, *fail, *rise), pinger));
                }
            }
            list.push(Track {
                name: t.name.clone(),
                up: link.as_deref().is_none_or(netif::carrier),
                link,
                port,
                probe,
                changes: 0,
                vrrp_interface: false,
            });
        }
        for ifname in vrrp_interfaces {
            list.push(Track {
                name: link_track(ifname),
                up: netif::carrier(ifname),
                link: Some(ifname.to_string()),
                port: None,
                probe: None,
                changes: 0,
                vrrp_interface: true,
            });
        }
        Ok(Tracks {
            list,
            last_link_check: Duration::ZERO,
        })
    }

    /// The tracks that are down, to apply before the first advert.
    pub fn down(&self) -> impl Iterator<Item = &str> {
        self.list.iter().filter(|t| !t.up).map(|t| t.name.as_str())
    }

    pub fn next_deadline(&self) -> Option<Duration> {
        self.list
            .iter()
            .flat_map(|t| {
                let probe = t.probe.as_ref().map(|(p, _)| p.next_deadline());
                let link = (t.link.is_some() || t.port.is_some())
                    .then_some(self.last_link_check + LINK_CHECK);
                probe.into_iter().chain(link)
            })
            .min()
    }

    pub fn fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.list
            .iter()
            .filter_map(|t| t.probe.as_ref().map(|(_, p)| p.as_raw_fd()))
    }

    /// The probes' answers that arrived.
    pub fn receive_probes(&mut self, now: Duration) -> Vec<TrackChange> {
        let mut changes = Vec::new();
        for t in &mut self.list {
            let Some((state, pinger)) = &mut t.probe else {
                continue;
            };
            let verdicts: Vec<bool> = pinger
                .replies()
                .into_iter()
                .filter_map(|seq| state.on_reply(now, seq))
                .collect();
            changes.extend(verdicts.into_iter().map(|up| t.set(up)));
        }
        changes
    }

    /// Reads the links when it is time, sends the probes that are due and times out the
    /// others. `port_links` asks the fast path, only when a port is tracked.
    pub fn check(
        &mut self,
        now: Duration,
        port_links: impl FnOnce() -> Vec<PortLink>,
    ) -> Vec<TrackChange> {
        let check_links = now >= self.last_link_check + LINK_CHECK;
        if check_links {
            self.last_link_check = now;
        }
        let ports = if check_links && self.list.iter().any(|t| t.port.is_some()) {
            port_links()
        } else {
            Vec::new()
        };
        let mut changes = Vec::new();
        for t in &mut self.list {
            let mut verdict = None;
            if let (Some(ifname), true) = (&t.link, check_links) {
                let up = netif::carrier(ifname);
                if up != t.up {
                    verdict = Some(up);
                }
            }
            if let (Some(port), true) = (t.port, check_links) {
                // A fast path that does not answer counts as the port being down.
                let up = ports.iter().any(|p| p.port == u64::from(port) && p.up);
                if up != t.up {
                    verdict = Some(up);
                }
            }
            if let Some((state, pinger)) = &mut t.probe {
                let (send, changed) = state.poll(now);
                if let Some(seq) = send {
                    if let Err(e) = pinger.send(seq) {
                        tracing::debug!("track {}: {e}", t.name);
                    }
                }
                verdict = verdict.or(changed);
            }
            if let Some(up) = verdict {
                changes.push(t.set(up));
            }
        }
        changes
    }

    pub fn statuses(&self) -> Vec<TrackStatus> {
        self.list
            .iter()
            .map(|t| TrackStatus {
                name: t.name.clone(),
                up: t.up,
                link: t.link.clone(),
                port: t.port,
                probe: t.probe.as_ref().map(|(p, _)| ProbeStatus {
                    sent: p.sent,
                    answered: p.answered,
                }),
                changes: t.changes,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(name: &str, kind: TrackKind) -> TrackConfig {
        TrackConfig {
            name: name.into(),
            kind,
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_missing_link_starts_down_and_a_vrrp_interface_has_its_own_track() {
        let cfg = [track(
            "uplink",
            TrackKind::Link {
                ifname: "no-such-if0".into(),
            },
        )];
        let t = Tracks::build(&cfg, ["no-such-if1"].into_iter()).unwrap();
        let down: Vec<&str> = t.down().collect();
        assert_eq!(down, ["uplink", "link:no-such-if1"]);
        assert_eq!(t.next_deadline(), Some(LINK_CHECK));
    }

    #[test]
    fn a_port_follows_the_fast_path_and_is_down_when_it_does_not_answer() {
        let cfg = [track("p1", TrackKind::FastpathPort { port: 1 })];
        let mut t = Tracks::build(&cfg, std::iter::empty()).unwrap();
        let up = || {
            vec![
                PortLink { port: 0, up: false },
                PortLink { port: 1, up: true },
            ]
        };
        // Up at start: no change when the fast path agrees.
        assert!(t.check(ms(50), up).is_empty());
        // Not asked again before the next link check is due.
        assert!(t.check(ms(60), || panic!("asked too early")).is_empty());
        let changes = t.check(ms(100), Vec::new);
        assert_eq!(changes.len(), 1);
        assert_eq!((changes[0].name.as_str(), changes[0].up), ("p1", false));
        assert_eq!(changes[0].interface, None);
        let changes = t.check(ms(150), up);
        assert!(changes[0].up);
        let s = &t.statuses()[0];
        assert_eq!((s.up, s.port, s.changes), (true, Some(1), 2));
    }

    #[test]
    fn the_fast_path_is_not_asked_when_no_port_is_tracked() {
        let mut t = Tracks::build(&[], ["no-such-if2"].into_iter()).unwrap();
        assert!(t.check(ms(50), || panic!("no port is tracked")).is_empty());
        assert_eq!(t.statuses()[0].link.as_deref(), Some("no-such-if2"));
    }
}
