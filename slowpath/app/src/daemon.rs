//! The slow path's one loop: VRRP groups, tracking, HA groups and the control socket,
//! driven by poll(2) and the protocol cores' deadlines. The cores decide; this carries out.

use crate::config::{Config, HaRoleConfig, HaSourceConfig, TrackKind};
use crate::control::{ControlServer, Incoming};
use crate::events::EventLog;
use crate::fastpath::FastpathClient;
use crate::netif;
use crate::probe::{Pinger, ProbeState};
use crate::sys::packet::{Direction, PacketSocket};
use crate::sys::poll;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vrrp::{Action, Group, HaGroup, HaRole, HaSource, Instance, State};

/// How often link carriers are read (they have no deadline of their own).
const LINK_CHECK: Duration = Duration::from_millis(50);

/// One kernel interface VRRP speaks on.
struct Interface {
    name: String,
    /// None while the interface is gone (a fast path restarting removes its TAP).
    socket: Option<PacketSocket>,
    mac: [u8; 6],
    /// Frames refused before they reached an instance, by reason.
    drops: BTreeMap<&'static str, u64>,
    received: u64,
}

/// Where one instance lives and how its results are carried out.
struct Member {
    group: usize,
    index: usize,
    interface: usize,
    vmac: Option<String>,
    fastpath_port: Option<u16>,
    ipv6: bool,
    /// Our own address on the interface: the adverts' source.
    primary: IpAddr,
}

struct Track {
    name: String,
    up: bool,
    link: Option<String>,
    /// A fast path port whose link is tracked.
    port: Option<u16>,
    probe: Option<(ProbeState, Pinger)>,
    changes: u64,
}

struct HaEntry {
    group: HaGroup,
    notify: Option<std::path::PathBuf>,
}

pub struct Daemon {
    epoch: Instant,
    interfaces: Vec<Interface>,
    groups: Vec<Group>,
    group_names: Vec<String>,
    members: Vec<Member>,
    tracks: Vec<Track>,
    ha: Vec<HaEntry>,
    fastpath: Option<FastpathClient>,
    control: Option<ControlServer>,
    events: EventLog,
    last_link_check: Duration,
    stop: Arc<AtomicBool>,
    /// IKEv2, when the config has connections.
    ike: Option<crate::ike::IkeRunner>,
}

impl Daemon {
    /// Opens the sockets and builds the cores; nothing is sent until `run`.
    pub fn new(cfg: Config, stop: Arc<AtomicBool>) -> Result<Daemon, String> {
        let epoch = Instant::now();
        let mut interfaces: Vec<Interface> = Vec::new();
        let mut members = Vec::new();
        let mut groups = Vec::new();
        let mut group_names = Vec::new();
        for (g, gc) in cfg.groups.iter().enumerate() {
            let mut instances = Vec::new();
            for (index, name) in gc.instances.iter().enumerate() {
                let v = cfg
                    .vrrp
                    .iter()
                    .find(|v| v.instance.name == *name)
                    .ok_or(format!("group {}: no vrrp {name}", gc.name))?;
                let interface = match interfaces.iter().position(|i| i.name == v.interface) {
                    Some(i) => i,
                    None => {
                        interfaces.push(open_interface(&v.interface)?);
                        interfaces.len() - 1
                    }
                };
                let ipv6 = v
                    .instance
                    .virtual_addresses
                    .first()
                    .is_some_and(IpAddr::is_ipv6);
                let primary = wait_for_primary(&v.interface, ipv6, &v.instance.virtual_addresses)?;
                let vmac = if v.vmac {
                    let name = netif::vmac_name(v.instance.vrid, ipv6);
                    netif::ensure_vmac(
                        &v.interface,
                        &name,
                        vrrp::wire::virtual_mac(v.instance.vrid, ipv6),
                    )
                    .map_err(|e| format!("vrrp {}: {e}", v.instance.name))?;
                    Some(name)
                } else {
                    None
                };
                // Left over from a previous run that was killed: not ours until elected.
                for a in &v.instance.virtual_addresses {
                    let _ = netif::del_address(vmac.as_deref().unwrap_or(&v.interface), *a);
                }
                // An instance whose interface loses its carrier (or vanishes) is in Fault.
                let mut ic = v.instance.clone();
                ic.tracks.push(vrrp::TrackRule {
                    name: link_track(&v.interface),
                    weight: None,
                });
                instances.push(Instance::new(ic, primary));
                members.push(Member {
                    group: g,
                    index,
                    interface,
                    vmac,
                    fastpath_port: v.fastpath_port,
                    ipv6,
                    primary,
                });
            }
            groups.push(Group::new(gc.name.clone(), instances));
            group_names.push(gc.name.clone());
        }
        let mut tracks = Vec::new();
        for (i, t) in cfg.tracks.iter().enumerate() {
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
                    let ident = (std::process::id() as u16) ^ (i as u16).wrapping_mul(0x9e37);
                    let pinger = Pinger::new(*target, ident)
                        .map_err(|e| format!("track {}: {e}", t.name))?;
                    probe = Some((ProbeState::new(*interval, *timeout, *fail, *rise), pinger));
                }
            }
            let up = link.as_deref().is_none_or(netif::carrier);
            tracks.push(Track {
                name: t.name.clone(),
                up,
                link,
                port,
                probe,
                changes: 0,
            });
        }
        for i in &interfaces {
            tracks.push(Track {
                name: link_track(&i.name),
                up: netif::carrier(&i.name),
                link: Some(i.name.clone()),
                port: None,
                probe: None,
                changes: 0,
            });
        }
        let ha = cfg
            .ha_groups
            .iter()
            .map(|h| HaEntry {
                group: HaGroup::new(
                    h.name.clone(),
                    match &h.source {
                        HaSourceConfig::VrrpGroup(g) => HaSource::VrrpGroup(g.clone()),
                        HaSourceConfig::Static(r) => HaSource::Static(role(*r)),
                    },
                ),
                notify: h.notify.clone(),
            })
            .collect();
        let control = match &cfg.control {
            Some(p) => {
                Some(ControlServer::bind(p).map_err(|e| format!("control {}: {e}", p.display()))?)
            }
            None => None,
        };
        let mut fastpath = cfg.fastpath.as_deref().map(FastpathClient::new);
        if let Some(fp) = fastpath.as_mut() {
            // What a previous run that was killed left in the fast path is not ours until
            // elected again.
            for v in &cfg.vrrp {
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
        let ike = if cfg.ike.is_empty() {
            None
        } else {
            Some(crate::ike::IkeRunner::new(
                cfg.ike.clone(),
                cfg.fastpath.as_deref(),
                epoch.elapsed(),
            )?)
        };
        Ok(Daemon {
            ike,
            epoch,
            interfaces,
            groups,
            group_names,
            members,
            tracks,
            ha,
            fastpath,
            control,
            events: EventLog::default(),
            last_link_check: Duration::ZERO,
            stop,
        })
    }

    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// Runs until stopped; then steps down gracefully (priority 0, addresses removed).
    pub fn run(&mut self) -> Result<(), String> {
        let now = self.now();
        // Tracks that start down are applied before the first advert.
        for t in 0..self.tracks.len() {
            if !self.tracks[t].up {
                let name = self.tracks[t].name.clone();
                for g in &mut self.groups {
                    g.track_update(now, &name, false);
                }
            }
        }
        for g in &mut self.groups {
            g.startup(now);
        }
        self.step();
        while !self.stop.load(Ordering::Relaxed) {
            let wait = self.next_wait();
            let mut fds: Vec<i32> = self
                .interfaces
                .iter()
                .filter_map(|i| i.socket.as_ref().map(AsRawFd::as_raw_fd))
                .collect();
            fds.extend(
                self.tracks
                    .iter()
                    .filter_map(|t| t.probe.as_ref().map(|p| p.1.as_raw_fd())),
            );
            if let Some(c) = &self.control {
                fds.extend(c.fds());
            }
            if let Some(i) = &self.ike {
                fds.extend(i.fds());
            }
            poll::readable(&fds, wait).map_err(|e| format!("poll: {e}"))?;
            self.receive_frames();
            self.receive_probes();
            self.serve_control();
            self.step();
        }
        let now = self.now();
        for g in &mut self.groups {
            g.shutdown(now);
        }
        if let Some(i) = self.ike.as_mut() {
            i.shutdown(now);
        }
        self.step();
        for m in &self.members {
            if let Some(v) = &m.vmac {
                netif::remove_link(v);
            }
        }
        Ok(())
    }

    /// The time until the earliest deadline of anything.
    fn next_wait(&self) -> Duration {
        let now = self.now();
        let mut next = now + Duration::from_millis(500);
        for g in &self.groups {
            if let Some(d) = g.next_deadline() {
                next = next.min(d);
            }
        }
        if let Some(d) = self.ike.as_ref().and_then(|i| i.next_deadline()) {
            next = next.min(d);
        }
        for t in &self.tracks {
            if let Some((p, _)) = &t.probe {
                next = next.min(p.next_deadline());
            }
            if t.link.is_some() || t.port.is_some() {
                next = next.min(self.last_link_check + LINK_CHECK);
            }
        }
        next.saturating_sub(now)
    }

    /// Fires timers, checks tracks, and carries out everything the cores asked for.
    fn step(&mut self) {
        let now = self.now();
        self.check_tracks(now);
        for g in &mut self.groups {
            g.poll(now);
        }
        for gi in 0..self.groups.len() {
            while let Some((index, action)) = self.groups[gi].poll_action() {
                self.carry_out(gi, index, action);
            }
        }
        self.update_ha(now);
        if let Some(i) = self.ike.as_mut() {
            i.step(now);
        }
        self.collect_ike_events(now);
        self.events.reap();
        let pending = self.events.take_pending();
        if let Some(c) = &mut self.control {
            c.publish(&pending);
        }
    }

    fn member(&self, group: usize, index: usize) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| m.group == group && m.index == index)
    }

    fn carry_out(&mut self, group: usize, index: usize, action: Action) {
        let at = self.now().as_millis();
        let Some(m) = self.member(group, index) else {
            return;
        };
        let (ifi, vmac_if, fp_port, ipv6, primary) = (
            m.interface,
            m.vmac.clone(),
            m.fastpath_port,
            m.ipv6,
            m.primary,
        );
        let inst = &self.groups[group].instances()[index];
        let name = inst.config().name.clone();
        let vrid = inst.config().vrid;
        let accept = inst.config().accept_mode || inst.config().priority == 255;
        let vmac = vrrp::wire::virtual_mac(vrid, ipv6);
        let iface = &self.interfaces[ifi];
        match action {
            Action::SendAdvert(advert) => {
                let frame = vrrp::wire::build_advert_frame(vmac, primary, &advert);
                if let Some(Err(e)) = iface.socket.as_ref().map(|s| s.send(&frame)) {
                    tracing::warn!("vrrp {name}: advert on {}: {e}", iface.name);
                }
            }
            Action::Announce { addresses } => {
                // The MAC the kernel answers ARP/ND with for these addresses.
                let mac = if vmac_if.is_some() { vmac } else { iface.mac };
                let count = inst.config().garp_count.max(1);
                for a in addresses {
                    let frame = match (a, primary) {
                        (IpAddr::V4(v4), _) => vrrp::wire::build_gratuitous_arp(mac, v4),
                        (IpAddr::V6(v6), IpAddr::V6(ll)) => {
                            vrrp::wire::build_unsolicited_na(mac, ll, v6)
                        }
                        (IpAddr::V6(_), IpAddr::V4(_)) => continue,
                    };
                    for _ in 0..count {
                        if let Some(s) = &iface.socket {
                            let _ = s.send(&frame);
                        }
                    }
                }
            }
            Action::StateChanged { from, to, reason } => {
                let addrs = inst.config().virtual_addresses.clone();
                let dev = vmac_if.clone().unwrap_or_else(|| iface.name.clone());
                if to == State::Master {
                    self.own_addresses(&dev, &addrs, accept, fp_port.zip(vmac_if.map(|_| vmac)));
                } else if from == State::Master {
                    self.release_addresses(&dev, &addrs, accept, fp_port);
                }
                self.events.push(
                    at,
                    "vrrp_state",
                    json!({"instance": name, "vrid": vrid, "from": state_name(from), "to": state_name(to), "reason": format!("{reason:?}")}),
                );
            }
            Action::SplitBrain { other_master } => self.events.push(
                at,
                "split_brain",
                json!({"instance": name, "other_master": other_master.to_string()}),
            ),
            Action::SplitBrainResolved => {
                self.events
                    .push(at, "split_brain_resolved", json!({"instance": name}))
            }
        }
    }

    /// Becoming master: the virtual addresses on the interface (the kernel answers for them),
    /// in the fast path's own addresses (accept mode), and its port sending from the vMAC.
    fn own_addresses(
        &mut self,
        dev: &str,
        addrs: &[IpAddr],
        accept: bool,
        port_vmac: Option<(u16, [u8; 6])>,
    ) {
        for a in addrs {
            if let Err(e) = netif::add_address(dev, *a) {
                tracing::warn!("{e}");
            }
        }
        let Some(fp) = self.fastpath.as_mut() else {
            return;
        };
        if accept {
            for a in addrs {
                if let Err(e) = fp.local(*a, true) {
                    tracing::warn!("fast path local_add {a}: {e}");
                }
            }
        }
        if let Some((port, mac)) = port_vmac {
            if let Err(e) = fp.port_mac(port, Some(mac)) {
                tracing::warn!("fast path port_mac {port}: {e}");
            }
        }
    }

    fn release_addresses(&mut self, dev: &str, addrs: &[IpAddr], accept: bool, port: Option<u16>) {
        for a in addrs {
            if let Err(e) = netif::del_address(dev, *a) {
                tracing::warn!("{e}");
            }
        }
        let Some(fp) = self.fastpath.as_mut() else {
            return;
        };
        if accept {
            for a in addrs {
                let _ = fp.local(*a, false);
            }
        }
        if let Some(port) = port {
            let _ = fp.port_mac(port, None);
        }
    }

    fn collect_ike_events(&mut self, now: Duration) {
        let Some(i) = self.ike.as_mut() else { return };
        for ev in i.events() {
            let kind = ev["event"].as_str().unwrap_or("ike").to_string();
            self.events.push(now.as_millis(), &kind, ev);
        }
    }

    fn update_ha(&mut self, now: Duration) {
        for h in 0..self.ha.len() {
            let mut changes = Vec::new();
            for (g, group) in self.groups.iter().enumerate() {
                if let Some(ev) =
                    self.ha[h]
                        .group
                        .on_group_state(now, &self.group_names[g], group.state())
                {
                    changes.push(ev);
                }
            }
            for ev in changes {
                self.ha_event(h, ev);
            }
        }
    }

    fn ha_event(&mut self, h: usize, ev: vrrp::HaEvent) {
        let (from, to) = (role_name(ev.from), role_name(ev.to));
        self.events.push(
            ev.at.as_millis(),
            "ha_role",
            json!({"ha_group": ev.group, "from": from, "to": to, "reason": ev.reason}),
        );
        if let Some(script) = self.ha[h].notify.clone() {
            self.events.run_hook(&script, &[&ev.group, from, to]);
        }
    }

    fn receive_frames(&mut self) {
        let now = self.now();
        let mut buf = [0u8; 2048];
        for ifi in 0..self.interfaces.len() {
            while let Some(socket) = &self.interfaces[ifi].socket {
                let got = socket.recv(&mut buf);
                let (n, dir) = match got {
                    Ok(Some(x)) => x,
                    Ok(None) => break,
                    Err(e) => {
                        // The interface went away; the link track reopens it when it is back.
                        tracing::warn!("{}: {e}", self.interfaces[ifi].name);
                        self.interfaces[ifi].socket = None;
                        break;
                    }
                };
                if dir == Direction::Outgoing {
                    continue;
                }
                let rx = match vrrp::wire::parse_advert_frame(&buf[..n]) {
                    Ok(rx) => rx,
                    Err(vrrp::wire::ParseError::NotVrrp) => continue,
                    Err(e) => {
                        *self.interfaces[ifi]
                            .drops
                            .entry(e.counter_name())
                            .or_default() += 1;
                        continue;
                    }
                };
                self.interfaces[ifi].received += 1;
                let ipv6 = rx.src_ip.is_ipv6();
                let target = self.members.iter().find(|m| {
                    m.interface == ifi
                        && m.ipv6 == ipv6
                        && self.groups[m.group].instances()[m.index].config().vrid == rx.advert.vrid
                });
                match target {
                    Some(m) => {
                        let (g, i) = (m.group, m.index);
                        self.groups[g].receive_member(i, now, &rx);
                    }
                    None => {
                        *self.interfaces[ifi]
                            .drops
                            .entry("vrid_mismatch")
                            .or_default() += 1
                    }
                }
            }
        }
    }

    fn receive_probes(&mut self) {
        let now = self.now();
        for t in &mut self.tracks {
            if let Some((state, pinger)) = &mut t.probe {
                for seq in pinger.replies() {
                    if let Some(up) = state.on_reply(now, seq) {
                        t.up = up;
                        t.changes += 1;
                        let name = t.name.clone();
                        for g in &mut self.groups {
                            g.track_update(now, &name, up);
                        }
                        self.events.push(
                            now.as_millis(),
                            "track",
                            json!({"track": name, "up": up}),
                        );
                    }
                }
            }
        }
    }

    fn check_tracks(&mut self, now: Duration) {
        let check_links = now >= self.last_link_check + LINK_CHECK;
        if check_links {
            self.last_link_check = now;
        }
        let mut reopened = Vec::new();
        // The fast path's view of its ports' links, when a track needs it.
        let mut port_links: Vec<(u64, bool)> = Vec::new();
        if check_links && self.tracks.iter().any(|t| t.port.is_some()) {
            if let Some(fp) = self.fastpath.as_mut() {
                match fp.request(json!({"op": "ports"})) {
                    Ok(Value::Array(ports)) => {
                        port_links = ports
                            .iter()
                            .filter_map(|p| Some((p["port"].as_u64()?, p["link_up"].as_bool()?)))
                            .collect()
                    }
                    Ok(_) => {}
                    Err(e) => tracing::debug!("fast path ports: {e}"),
                }
            }
        }
        for t in &mut self.tracks {
            let mut verdict = None;
            if let (Some(ifname), true) = (&t.link, check_links) {
                let up = netif::carrier(ifname);
                if up != t.up {
                    verdict = Some(up);
                }
            }
            if let (Some(port), true) = (t.port, check_links) {
                // A fast path that does not answer counts as the port being down.
                let up = port_links.iter().any(|&(p, up)| p == u64::from(port) && up);
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
                t.up = up;
                t.changes += 1;
                if let Some(ifi) = self
                    .interfaces
                    .iter()
                    .position(|i| link_track(&i.name) == t.name)
                {
                    // A TAP that was removed and made again has a new index: a new socket,
                    // and the macvlans that went with it are made again.
                    let i = &mut self.interfaces[ifi];
                    i.socket = if up { reopen(&i.name) } else { None };
                    if up {
                        reopened.push(ifi);
                    }
                }
                for g in &mut self.groups {
                    g.track_update(now, &t.name, up);
                }
                self.events
                    .push(now.as_millis(), "track", json!({"track": t.name, "up": up}));
            }
        }
        for ifi in reopened {
            for m in self.members.iter().filter(|m| m.interface == ifi) {
                if let Some(v) = &m.vmac {
                    let vrid = self.groups[m.group].instances()[m.index].config().vrid;
                    let parent = &self.interfaces[ifi].name;
                    if let Err(e) =
                        netif::ensure_vmac(parent, v, vrrp::wire::virtual_mac(vrid, m.ipv6))
                    {
                        tracing::warn!("{v}: {e}");
                    }
                }
            }
        }
    }

    fn serve_control(&mut self) {
        let Some(c) = self.control.as_mut() else {
            return;
        };
        let incoming = c.poll();
        for Incoming { client, request } in incoming {
            let (id, result) = match request {
                Ok(req) => {
                    let id = req.get("id").cloned().unwrap_or(Value::Null);
                    if req.get("op").and_then(Value::as_str) == Some("subscribe") {
                        if let Some(c) = self.control.as_mut() {
                            c.reply(client, id, Ok(json!("subscribed")));
                            c.subscribe(client);
                        }
                        continue;
                    }
                    (id, self.handle(&req))
                }
                Err(e) => (Value::Null, Err(e)),
            };
            if let Some(c) = self.control.as_mut() {
                c.reply(client, id, result);
            }
        }
    }

    /// One operator request.
    fn handle(&mut self, req: &Value) -> Result<Value, String> {
        if let Some(v) = req.get("v").and_then(Value::as_u64) {
            if v != crate::control::VERSION {
                return Err(format!("schema v{v} is not spoken here (v1)"));
            }
        }
        let now = self.now();
        let op = req
            .get("op")
            .and_then(Value::as_str)
            .ok_or("wants \"op\"")?;
        if let Some(r) = self.ike.as_mut().and_then(|i| i.handle(now, op, req)) {
            self.collect_ike_events(now);
            return r;
        }
        match op {
            "instances" => Ok(Value::Array(
                self.members
                    .iter()
                    .map(|m| {
                        let inst = &self.groups[m.group].instances()[m.index];
                        let mut v = crate::status::instance(inst, now);
                        v["primary_address"] = json!(m.primary.to_string());
                        v["interface"] = json!(self.interfaces[m.interface].name);
                        v["group"] = json!(self.group_names[m.group]);
                        v["vmac_interface"] = json!(m.vmac);
                        v
                    })
                    .collect(),
            )),
            "groups" => Ok(Value::Array(
                self.groups
                    .iter()
                    .zip(&self.group_names)
                    .map(|(g, n)| {
                        json!({"name": n, "state": format!("{:?}", g.state()),
                               "instances": g.instances().iter().map(|i| i.config().name.clone()).collect::<Vec<_>>()})
                    })
                    .collect(),
            )),
            "ha_groups" => Ok(Value::Array(
                self.ha
                    .iter()
                    .map(|h| crate::status::ha_group(&h.group, now))
                    .collect(),
            )),
            "interfaces" => Ok(Value::Array(
                self.interfaces
                    .iter()
                    .map(|i| json!({"name": i.name, "mac": netif::format_mac(&i.mac), "received": i.received, "drops": i.drops}))
                    .collect(),
            )),
            "tracks" => Ok(Value::Array(
                self.tracks
                    .iter()
                    .map(|t| {
                        let probe = t.probe.as_ref().map(|(p, _)| json!({"sent": p.sent, "answered": p.answered}));
                        json!({"name": t.name, "up": t.up, "link": t.link, "port": t.port, "probe": probe, "changes": t.changes})
                    })
                    .collect(),
            )),
            "events" => Ok(Value::Array(self.events.recent())),
            "switchover" => {
                // The named VRRP group (or the one behind an HA group) steps down on this node.
                let name = req.get("group").and_then(Value::as_str).ok_or("wants \"group\"")?;
                let hold = Duration::from_millis(
                    req.get("hold_ms").and_then(Value::as_u64).unwrap_or(60_000),
                );
                let g = self.group_index(name).ok_or(format!("no group {name}"))?;
                let was = self.groups[g].state();
                self.groups[g].force_backup(now, hold);
                self.events.push(now.as_millis(), "switchover", json!({"group": name, "hold_ms": hold.as_millis() as u64}));
                Ok(json!({"group": name, "was": format!("{was:?}")}))
            }
            "ha_set" => {
                let name = req.get("ha_group").and_then(Value::as_str).ok_or("wants \"ha_group\"")?;
                let r = match req.get("role").and_then(Value::as_str) {
                    Some("active") => HaRole::Active,
                    Some("standby") => HaRole::Standby,
                    _ => return Err("wants \"role\": active or standby".into()),
                };
                let h = self.ha.iter().position(|h| h.group.status().name == name).ok_or(format!("no ha-group {name}"))?;
                if let Some(ev) = self.ha[h].group.set_static(now, r) {
                    self.ha_event(h, ev);
                }
                Ok(crate::status::ha_group(&self.ha[h].group, now))
            }
            other => Err(format!("unknown op {other:?}")),
        }
    }

    /// A VRRP group by name, or the VRRP group an HA group follows.
    fn group_index(&self, name: &str) -> Option<usize> {
        self.group_names.iter().position(|n| n == name).or_else(|| {
            let h = self.ha.iter().find(|h| h.group.status().name == name)?;
            match &h.group.status().source {
                HaSource::VrrpGroup(g) => self.group_names.iter().position(|n| n == g),
                HaSource::Static(_) => None,
            }
        })
    }
}

/// The implicit track of an interface's carrier.
fn link_track(ifname: &str) -> String {
    format!("link:{ifname}")
}

fn open_socket(name: &str) -> std::io::Result<PacketSocket> {
    // The VRRP groups' multicast MACs (224.0.0.18 and ff02::12).
    let groups = [[0x01, 0x00, 0x5e, 0, 0, 0x12], [0x33, 0x33, 0, 0, 0, 0x12]];
    PacketSocket::open(netif::ifindex(name)?, &groups)
}

fn reopen(name: &str) -> Option<PacketSocket> {
    open_socket(name)
        .map_err(|e| tracing::warn!("interface {name}: {e}"))
        .ok()
}

fn open_interface(name: &str) -> Result<Interface, String> {
    let mac = netif::mac(name).map_err(|e| format!("interface {name}: {e}"))?;
    let socket = open_socket(name).map_err(|e| format!("interface {name}: {e}"))?;
    Ok(Interface {
        name: name.to_string(),
        socket: Some(socket),
        mac,
        drops: BTreeMap::new(),
        received: 0,
    })
}

/// The interface's own address; IPv6 link-local addresses appear a moment after link-up.
fn wait_for_primary(ifname: &str, ipv6: bool, vips: &[IpAddr]) -> Result<IpAddr, String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match netif::primary_address(ifname, ipv6, vips) {
            Ok(a) => return Ok(a),
            Err(e) if Instant::now() >= deadline => return Err(e.to_string()),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn role(r: HaRoleConfig) -> HaRole {
    match r {
        HaRoleConfig::Active => HaRole::Active,
        HaRoleConfig::Standby => HaRole::Standby,
    }
}

pub fn role_name(r: HaRole) -> &'static str {
    match r {
        HaRole::Active => "active",
        HaRole::Standby => "standby",
    }
}

pub fn state_name(s: State) -> &'static str {
    match s {
        State::Initialize => "initialize",
        State::Backup => "backup",
        State::Master => "master",
        State::Fault => "fault",
    }
}
