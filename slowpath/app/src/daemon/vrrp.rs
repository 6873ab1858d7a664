//! The VRRP side of the daemon: the interfaces VRRP speaks on, the sync groups and where each
//! of their instances lives, adverts and gratuitous ARPs / NAs on the wire, and the virtual
//! addresses on the kernel's interfaces. The `vrrp` core decides; this carries out.

use super::error::DaemonError;
use super::tracking::link_track;
use crate::config::{Config, VrrpConfig};
use crate::events::EventLog;
use crate::netif;
use crate::northbound::vrrp_events::VrrpEvent;
use crate::northbound::vrrp_status::{GroupStatus, InstanceStatus, InterfaceStatus};
use crate::status;
use crate::sys::packet::{Direction, PacketSocket};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};
use vrrp::{Action, Group, Instance, State};

/// An interface's place in `Vrrp::interfaces`: several instances share one interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct InterfaceId(usize);

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
    interface: InterfaceId,
    /// The macvlan holding the virtual MAC, for `vmac` instances.
    vmac: Option<String>,
    fastpath_port: Option<u16>,
    ipv6: bool,
    /// Our own address on the interface: the adverts' source.
    primary: IpAddr,
}

/// A sync group: the core, and where each of its instances lives (`members[i]` is the place
/// of `core.instances()[i]`; both are built together and never reordered).
pub(super) struct SyncGroup {
    core: Group,
    members: Vec<Member>,
}

impl SyncGroup {
    fn placed(&self) -> impl Iterator<Item = (&Instance, &Member)> {
        self.core.instances().iter().zip(&self.members)
    }

    pub fn name(&self) -> &str {
        self.core.name()
    }

    pub fn state(&self) -> vrrp::GroupState {
        self.core.state()
    }

    /// The operator's switchover: this node steps down and stays backup for `hold`.
    pub fn force_backup(&mut self, now: Duration, hold: Duration) {
        self.core.force_backup(now, hold);
    }
}

/// What an instance's move into or out of Master asks of the fast path (the kernel's
/// addresses are seen to here).
pub(super) struct AddressChange {
    /// True when becoming master, false when leaving it.
    pub own: bool,
    pub addrs: Vec<IpAddr>,
    /// Accept mode: the node takes the virtual addresses as its own.
    pub accept: bool,
    pub fastpath_port: Option<u16>,
    /// The virtual MAC the port sends from while master (`vmac` instances).
    pub port_mac: Option<[u8; 6]>,
}

pub(super) struct Vrrp {
    interfaces: Vec<Interface>,
    groups: Vec<SyncGroup>,
}

impl Vrrp {
    /// Opens the interfaces' sockets and builds the groups; nothing is sent yet.
    pub fn open(cfg: &Config) -> Result<Vrrp, DaemonError> {
        let mut interfaces: Vec<Interface> = Vec::new();
        let mut groups = Vec::new();
        for gc in &cfg.groups {
            let mut instances = Vec::new();
            let mut members = Vec::new();
            for name in &gc.instances {
                let v = cfg.vrrp.iter().find(|v| v.instance.name == *name).ok_or(
                    DaemonError::NoInstance {
                        group: gc.name.clone(),
                        instance: name.clone(),
                    },
                )?;
                let interface = match interfaces.iter().position(|i| i.name == v.interface) {
                    Some(i) => InterfaceId(i),
                    None => {
                        interfaces.push(open_interface(&v.interface)?);
                        InterfaceId(interfaces.len() - 1)
                    }
                };
                let (instance, member) = place(v, interface)?;
                instances.push(instance);
                members.push(member);
            }
            groups.push(SyncGroup {
                core: Group::new(gc.name.clone(), instances),
                members,
            });
        }
        Ok(Vrrp { interfaces, groups })
    }

    pub fn interface_names(&self) -> impl Iterator<Item = &str> {
        self.interfaces.iter().map(|i| i.name.as_str())
    }

    pub fn groups(&self) -> &[SyncGroup] {
        &self.groups
    }

    pub fn group_mut(&mut self, name: &str) -> Option<&mut SyncGroup> {
        self.groups.iter_mut().find(|g| g.name() == name)
    }

    pub fn startup(&mut self, now: Duration) {
        self.groups.iter_mut().for_each(|g| g.core.startup(now));
    }

    /// Steps down gracefully: priority 0 adverts, then the addresses go at the next step.
    pub fn shutdown(&mut self, now: Duration) {
        self.groups.iter_mut().for_each(|g| g.core.shutdown(now));
    }

    /// Removes the macvlans made for `vmac` instances.
    pub fn remove_vmacs(&self) {
        for m in self.groups.iter().flat_map(|g| &g.members) {
            if let Some(v) = &m.vmac {
                netif::remove_link(v);
            }
        }
    }

    pub fn next_deadline(&self) -> Option<Duration> {
        self.groups
            .iter()
            .filter_map(|g| g.core.next_deadline())
            .min()
    }

    pub fn fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.interfaces
            .iter()
            .filter_map(|i| i.socket.as_ref().map(AsRawFd::as_raw_fd))
    }

    /// Fires the groups' timers.
    pub fn poll(&mut self, now: Duration) {
        self.groups.iter_mut().for_each(|g| g.core.poll(now));
    }

    pub fn track_update(&mut self, now: Duration, track: &str, up: bool) {
        for g in &mut self.groups {
            g.core.track_update(now, track, up);
        }
    }

    /// An interface's carrier came or went. A TAP that was removed and made again has a new
    /// index: a new socket, and the macvlans that went with it are made again.
    pub fn link_changed(&mut self, ifname: &str, up: bool) {
        let Some(ifi) = self.interfaces.iter().position(|i| i.name == ifname) else {
            return;
        };
        let iface = &mut self.interfaces[ifi];
        iface.socket = if up { reopen(&iface.name) } else { None };
        if !up {
            return;
        }
        for g in &self.groups {
            for (inst, m) in g.placed() {
                let Some(v) = m.vmac.as_ref().filter(|_| m.interface == InterfaceId(ifi)) else {
                    continue;
                };
                let vmac = vrrp::wire::virtual_mac(inst.config().vrid, m.ipv6);
                if let Err(e) = netif::ensure_vmac(ifname, v, vmac) {
                    tracing::warn!("{v}: {e}");
                }
            }
        }
    }

    /// Reads every frame waiting on the interfaces and hands adverts to their instances.
    pub fn receive(&mut self, now: Duration) {
        let mut buf = [0u8; 2048];
        for ifi in 0..self.interfaces.len() {
            while let Some(rx) = self.next_advert(InterfaceId(ifi), &mut buf) {
                let ipv6 = rx.src_ip.is_ipv6();
                let target = self.groups.iter().enumerate().find_map(|(g, group)| {
                    group
                        .placed()
                        .position(|(inst, m)| {
                            m.interface == InterfaceId(ifi)
                                && m.ipv6 == ipv6
                                && inst.config().vrid == rx.advert.vrid
                        })
                        .map(|i| (g, i))
                });
                match target {
                    Some((g, i)) => self.groups[g].core.receive_member(i, now, &rx),
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

    /// The next well-formed advert from others on an interface; malformed ones are counted.
    fn next_advert(
        &mut self,
        ifi: InterfaceId,
        buf: &mut [u8],
    ) -> Option<vrrp::wire::ReceivedAdvert> {
        let iface = &mut self.interfaces[ifi.0];
        loop {
            let (n, dir) = match iface.socket.as_ref()?.recv(buf) {
                Ok(Some(x)) => x,
                Ok(None) => return None,
                Err(e) => {
                    // The interface went away; the link track reopens it when it is back.
                    tracing::warn!("{}: {e}", iface.name);
                    iface.socket = None;
                    return None;
                }
            };
            if dir == Direction::Outgoing {
                continue;
            }
            match vrrp::wire::parse_advert_frame(buf.get(..n)?) {
                Ok(rx) => {
                    iface.received += 1;
                    return Some(rx);
                }
                Err(vrrp::wire::ParseError::NotVrrp) => {}
                Err(e) => *iface.drops.entry(e.counter_name()).or_default() += 1,
            }
        }
    }

    /// Carries out what the cores asked for: frames on the wire and addresses on the
    /// interfaces here; what the fast path must learn goes to `fastpath`.
    pub fn carry_out(
        &mut self,
        now: Duration,
        events: &mut EventLog,
        fastpath: &mut impl FnMut(&AddressChange),
    ) {
        for g in &mut self.groups {
            while let Some((index, action)) = g.core.poll_action() {
                let (Some(inst), Some(m)) = (g.core.instances().get(index), g.members.get(index))
                else {
                    continue;
                };
                let iface = &self.interfaces[m.interface.0];
                carry_out(inst, m, iface, action, now, events, fastpath);
            }
        }
    }

    pub fn instance_statuses(&self, now: Duration) -> Vec<InstanceStatus> {
        self.groups
            .iter()
            .flat_map(|g| g.placed().map(move |(inst, m)| (g, inst, m)))
            .map(|(g, inst, m)| {
                let at = status::Placement {
                    primary_address: m.primary,
                    interface: self.interfaces[m.interface.0].name.clone(),
                    group: g.name().to_string(),
                    vmac_interface: m.vmac.clone(),
                };
                status::instance(inst, at, now)
            })
            .collect()
    }

    pub fn group_statuses(&self) -> Vec<GroupStatus> {
        self.groups
            .iter()
            .map(|g| GroupStatus {
                name: g.name().to_string(),
                state: status::group_state(g.state()),
                instances: g
                    .core
                    .instances()
                    .iter()
                    .map(|i| i.config().name.clone())
                    .collect(),
            })
            .collect()
    }

    pub fn interface_statuses(&self) -> Vec<InterfaceStatus> {
        self.interfaces
            .iter()
            .map(|i| InterfaceStatus {
                name: i.name.clone(),
                mac: netif::format_mac(&i.mac),
                received: i.received,
                drops: i.drops.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            })
            .collect()
    }
}

/// Builds one instance and its place: its own address, its macvlan, and the implicit track
/// of its interface's carrier.
fn place(v: &VrrpConfig, interface: InterfaceId) -> Result<(Instance, Member), DaemonError> {
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
        .map_err(|source| DaemonError::Vmac {
            instance: v.instance.name.clone(),
            source,
        })?;
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
    let member = Member {
        interface,
        vmac,
        fastpath_port: v.fastpath_port,
        ipv6,
        primary,
    };
    Ok((Instance::new(ic, primary), member))
}

/// One action of one instance.
fn carry_out(
    inst: &Instance,
    m: &Member,
    iface: &Interface,
    action: Action,
    now: Duration,
    events: &mut EventLog,
    fastpath: &mut impl FnMut(&AddressChange),
) {
    let at = now.as_millis();
    let cfg = inst.config();
    let name = &cfg.name;
    let vmac = vrrp::wire::virtual_mac(cfg.vrid, m.ipv6);
    match action {
        Action::SendAdvert(advert) => {
            let frame = vrrp::wire::build_advert_frame(vmac, m.primary, &advert);
            if let Some(Err(e)) = iface.socket.as_ref().map(|s| s.send(&frame)) {
                tracing::warn!("vrrp {name}: advert on {}: {e}", iface.name);
            }
        }
        Action::Announce { addresses } => {
            // The MAC the kernel answers ARP/ND with for these addresses.
            let mac = if m.vmac.is_some() { vmac } else { iface.mac };
            for a in addresses {
                let frame = match (a, m.primary) {
                    (IpAddr::V4(v4), _) => vrrp::wire::build_gratuitous_arp(mac, v4),
                    (IpAddr::V6(v6), IpAddr::V6(ll)) => {
                        vrrp::wire::build_unsolicited_na(mac, ll, v6)
                    }
                    (IpAddr::V6(_), IpAddr::V4(_)) => continue,
                };
                for _ in 0..cfg.garp_count.max(1) {
                    if let Some(s) = &iface.socket {
                        let _ = s.send(&frame);
                    }
                }
            }
        }
        Action::StateChanged { from, to, reason } => {
            if to == State::Master || from == State::Master {
                let change = AddressChange {
                    own: to == State::Master,
                    addrs: cfg.virtual_addresses.clone(),
                    accept: cfg.accept_mode || cfg.priority == 255,
                    fastpath_port: m.fastpath_port,
                    port_mac: m.vmac.as_ref().map(|_| vmac),
                };
                // The kernel answers for the addresses on the macvlan, or on the interface.
                let dev = m.vmac.as_deref().unwrap_or(&iface.name);
                for a in &change.addrs {
                    let done = if change.own {
                        netif::add_address(dev, *a)
                    } else {
                        netif::del_address(dev, *a)
                    };
                    if let Err(e) = done {
                        tracing::warn!("{e}");
                    }
                }
                fastpath(&change);
            }
            // Stamped once the addresses are in place: failover figures count from here.
            let event = VrrpEvent::VrrpState {
                instance: name.clone(),
                vrid: cfg.vrid,
                from: status::instance_state(from),
                to: status::instance_state(to),
                reason: status::reason_name(&reason),
            };
            events.record(at, &event);
        }
        Action::SplitBrain { other_master } => {
            let event = VrrpEvent::SplitBrain {
                instance: name.clone(),
                other_master,
            };
            events.record(at, &event);
        }
        Action::SplitBrainResolved => {
            let event = VrrpEvent::SplitBrainResolved {
                instance: name.clone(),
            };
            events.record(at, &event);
        }
    }
}

fn open_socket(name: &str) -> Result<PacketSocket, DaemonError> {
    // The VRRP groups' multicast MACs (224.0.0.18 and ff02::12).
    let groups = [[0x01, 0x00, 0x5e, 0, 0, 0x12], [0x33, 0x33, 0, 0, 0, 0x12]];
    let ifindex = netif::ifindex(name).map_err(|source| DaemonError::Interface {
        name: name.to_string(),
        source,
    })?;
    PacketSocket::open(ifindex, &groups).map_err(|source| DaemonError::Socket {
        name: name.to_string(),
        source,
    })
}

fn reopen(name: &str) -> Option<PacketSocket> {
    open_socket(name).map_err(|e| tracing::warn!("{e}")).ok()
}

fn open_interface(name: &str) -> Result<Interface, DaemonError> {
    let mac = netif::mac(name).map_err(|source| DaemonError::Interface {
        name: name.to_string(),
        source,
    })?;
    Ok(Interface {
        name: name.to_string(),
        socket: Some(open_socket(name)?),
        mac,
        drops: BTreeMap::new(),
        received: 0,
    })
}

/// The interface's own address; IPv6 link-local addresses appear a moment after link-up.
fn wait_for_primary(ifname: &str, ipv6: bool, vips: &[IpAddr]) -> Result<IpAddr, DaemonError> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match netif::primary_address(ifname, ipv6, vips) {
            Ok(a) => return Ok(a),
            Err(e) if Instant::now() >= deadline => return Err(DaemonError::NoPrimaryAddress(e)),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}
