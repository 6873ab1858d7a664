//! The slow path's configuration file. One statement per line; `#` starts a comment. A bad
//! line is refused with its file, line number and reason, before anything starts.
//!
//! ```text
//! control  /run/slowpath.sock
//! fastpath /run/fastpath.sock                  # optional: the fast path to tell about VIPs
//! track uplink link fp1                        # a kernel interface's carrier
//! track wan port 1                             # a fast path port's link (its driver's view)
//! track gw probe 192.0.2.254 interval 200ms timeout 200ms fail 3 rise 2
//! vrrp up4 interface fp1 vrid 51 priority 200 advert-int 100ms address 192.0.2.100
//!      (one line) preempt-delay 5s vmac accept garp 3 garp-rounds 2 garp-interval 1s
//!      track gw weight 60 track uplink fastpath-port 1
//! vrrp up6 interface fp1 vrid 51 priority 200 address fe80::51 address 2001:db8::100
//! group uplinks up4 up6                         # move together: master of all or of none
//! ha-group gw vrrp-group uplinks notify /usr/local/sbin/ha-hook
//! ha-group lab static active
//! ha node-id 1                                  # the HA sync: see `ha`
//! snmp-trap 192.0.2.9 v2c community public      # events as SNMP traps: see `snmp`
//! metrics 127.0.0.1:9465                        # Prometheus at GET /metrics (off without it)
//! ```
//! An instance that is in no `group` is a group of its own, named as the instance.
//!
//! Words, comments, quotes and durations follow the toolkit's grammar (`toolkit::config`,
//! `toolkit::duration`: `100ms`, `150cs`, `1h10m`), the same for the IKE statements.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toolkit::config::{self, Words};
use vrrp::{InstanceConfig, TrackRule, Version};

mod ha;
mod snmp;
pub use ha::{HaConfig, NodeId, SyncKey, SyncPath, DEFAULT_SYNC_PORT};
pub use snmp::{
    SnmpConfig, TrapAuth, TrapRate, TrapSecurity, TrapTarget, UsmTarget, DEFAULT_TRAP_PORT,
};

/// What a tracked object watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackKind {
    /// A kernel interface's carrier (`/sys/class/net/IF/carrier`).
    Link { ifname: String },
    /// A fast path port's link as its driver reports it (through the fast path's socket).
    FastpathPort { port: u16 },
    /// ICMP echo to an address: down after `fail` lost probes, up after `rise` answers.
    Probe {
        target: IpAddr,
        interval: Duration,
        timeout: Duration,
        fail: u32,
        rise: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackConfig {
    pub name: String,
    pub kind: TrackKind,
}

/// One VRRP instance and where it runs.
#[derive(Debug, Clone)]
pub struct VrrpConfig {
    pub instance: InstanceConfig,
    /// The kernel interface it speaks on (the fast path port's TAP, or any interface).
    pub interface: String,
    /// Put the virtual addresses on a macvlan with the virtual MAC (as keepalived's
    /// `use_vmac`), so that the kernel answers ARP/ND for them with the virtual MAC.
    pub vmac: bool,
    /// The fast path port behind `interface`: while master it sends from the virtual MAC.
    pub fastpath_port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    pub name: String,
    pub instances: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HaRoleConfig {
    Active,
    Standby,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HaSourceConfig {
    VrrpGroup(String),
    Static(HaRoleConfig),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaGroupConfig {
    pub name: String,
    pub source: HaSourceConfig,
    /// Run on every role change with arguments: group, old role, new role.
    pub notify: Option<PathBuf>,
}

/// The whole file.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub control: Option<PathBuf>,
    pub fastpath: Option<PathBuf>,
    pub tracks: Vec<TrackConfig>,
    pub vrrp: Vec<VrrpConfig>,
    /// Every instance is in exactly one group after parsing (implicit ones added).
    pub groups: Vec<GroupConfig>,
    pub ha_groups: Vec<HaGroupConfig>,
    /// The HA sync with the other node (`ha` statements), if this node has one.
    pub ha: Option<HaConfig>,
    /// Secrets, pools, IKE connections and their children.
    pub ike: crate::ike::IkeSettings,
    /// Where events are sent as SNMP notifications (`snmp-trap`), if anywhere.
    pub snmp: SnmpConfig,
    /// Where Prometheus scrapes this process (`metrics ADDRESS:PORT`), off when None.
    pub metrics: Option<std::net::SocketAddr>,
}

pub use toolkit::ConfigError;

impl Config {
    /// Reads and parses a file; one over [`config::MAX_FILE_BYTES`] is refused unread.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = config::read_bounded(path, config::MAX_FILE_BYTES)?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Parses in one pass, linear in the number of statements: names are looked up in
    /// index maps, not by scanning what came before.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        let mut names = Names::default();
        let mut last_line = 0;
        for (line, words) in config::statements(text) {
            last_line = line;
            cfg.statement(&mut names, line, &words)
                .map_err(|reason| ConfigError::at(file, line, reason))?;
        }
        cfg.close(&names)
            .map_err(|reason| ConfigError::at(file, last_line, reason))?;
        cfg.ha = std::mem::take(&mut names.ha)
            .finish(|g| names.ha_groups.contains(g))
            .map_err(|(line, reason)| ConfigError::at(file, line, reason))?;
        Ok(cfg)
    }

    fn statement(&mut self, names: &mut Names, line: usize, words: &[&str]) -> Result<(), String> {
        let mut w = Words::new(words);
        match w.next("a statement")? {
            "ha" => names.ha.statement(line, w)?,
            "control" => self.control = Some(one_path(w)?),
            "fastpath" => self.fastpath = Some(one_path(w)?),
            "metrics" => {
                if self.metrics.is_some() {
                    return Err("metrics is given twice".into());
                }
                self.metrics = Some(w.next_socket_addr("metrics")?);
                w.end()?;
            }
            "track" => {
                let t = parse_track(w)?;
                if matches!(t.kind, TrackKind::FastpathPort { .. }) && self.fastpath.is_none() {
                    return Err("a port track needs `fastpath SOCKET` above".into());
                }
                if !names.tracks.insert(t.name.clone()) {
                    return Err(format!("track {} is defined twice", t.name));
                }
                self.tracks.push(t);
            }
            "vrrp" => {
                let v = parse_vrrp(w)?;
                if let Some(r) = v
                    .instance
                    .tracks
                    .iter()
                    .find(|r| !names.tracks.contains(&r.name))
                {
                    return Err(format!("tracks `{}`, which is not defined above", r.name));
                }
                let name = v.instance.name.clone();
                let router = (v.interface.clone(), v.instance.vrid, is_v6(&v.instance));
                let clash = names
                    .vrrp
                    .get(&name)
                    .or_else(|| names.routers.get(&router))
                    .copied();
                if let Some(o) = clash {
                    return Err(format!(
                        "clashes with vrrp {} (same name, or same interface, VRID and family)",
                        self.vrrp[o].instance.name
                    ));
                }
                names.vrrp.insert(name, self.vrrp.len());
                names.routers.insert(router, self.vrrp.len());
                self.vrrp.push(v);
            }
            "group" => {
                let g = parse_group(w)?;
                for i in &g.instances {
                    if !names.vrrp.contains_key(i) {
                        return Err(format!("no vrrp {i} above"));
                    }
                    if let Some(o) = names.grouped.get(i) {
                        return Err(format!(
                            "vrrp {i} is already in group {}",
                            self.groups[*o].name
                        ));
                    }
                }
                if names.groups.contains_key(&g.name) || names.vrrp.contains_key(&g.name) {
                    return Err(format!("the name {} is taken", g.name));
                }
                for i in &g.instances {
                    names.grouped.insert(i.clone(), self.groups.len());
                }
                names.groups.insert(g.name.clone(), self.groups.len());
                self.groups.push(g);
            }
            "ha-group" => {
                let h = parse_ha_group(w)?;
                if !names.ha_groups.insert(h.name.clone()) {
                    return Err(format!("ha-group {} is defined twice", h.name));
                }
                self.ha_groups.push(h);
            }
            kw if SnmpConfig::is_statement(kw) => self.snmp.statement(Words::new(words))?,
            kw if crate::ike::IkeSettings::is_statement(kw) => self.ike.parse_statement(words)?,
            kw => return Err(format!("unknown statement `{kw}`")),
        }
        Ok(())
    }

    /// What can only be checked once every line is in.
    fn close(&mut self, names: &Names) -> Result<(), String> {
        // Instances outside any group are a group of their own.
        let mut group_names: HashSet<&str> = names.groups.keys().map(String::as_str).collect();
        for v in &self.vrrp {
            let name = &v.instance.name;
            if !names.grouped.contains_key(name) {
                group_names.insert(name);
                self.groups.push(GroupConfig {
                    name: name.clone(),
                    instances: vec![name.clone()],
                });
            }
        }
        for h in &self.ha_groups {
            if let HaSourceConfig::VrrpGroup(g) = &h.source {
                if !group_names.contains(g.as_str()) {
                    return Err(format!(
                        "ha-group {} follows `{g}`, which is no group or vrrp instance",
                        h.name
                    ));
                }
            }
        }
        self.ike.finish()
    }
}

/// The names defined so far, each with its index where a later line needs the definition.
#[derive(Default)]
struct Names {
    tracks: HashSet<String>,
    vrrp: HashMap<String, usize>,
    /// (interface, VRID, IPv6): one virtual router.
    routers: HashMap<(String, u8, bool), usize>,
    groups: HashMap<String, usize>,
    /// Instance name to the index of its group.
    grouped: HashMap<String, usize>,
    ha_groups: HashSet<String>,
    ha: ha::HaDraft,
}

fn is_v6(i: &InstanceConfig) -> bool {
    i.virtual_addresses.first().is_some_and(IpAddr::is_ipv6)
}

fn one_path(mut w: Words) -> Result<PathBuf, String> {
    let p = w.next("a path")?;
    w.end()?;
    Ok(PathBuf::from(p))
}

/// Probe misses and answers, GARPs per round and rounds: beyond this it is a typo (and a
/// burst the daemon would spend seconds sending).
const MAX_COUNT: u32 = 255;

fn count(w: &mut Words, what: &str) -> Result<u32, String> {
    let n = w.next_u32(what)?;
    if !(1..=MAX_COUNT).contains(&n) {
        return Err(format!("{what}: 1 to {MAX_COUNT}"));
    }
    Ok(n)
}

fn parse_track(mut w: Words) -> Result<TrackConfig, String> {
    let name = w.next("a track name")?;
    let kind = match w.next_opt() {
        Some("link") => TrackKind::Link {
            ifname: w.next("an interface")?.to_string(),
        },
        Some("port") => TrackKind::FastpathPort {
            port: w.next_u16("port")?,
        },
        Some("probe") => {
            let target = w.next_ip("probe")?;
            if target.is_unspecified() || target.is_multicast() {
                return Err(format!("probe: {target} answers no echo of its own"));
            }
            let (mut interval, mut timeout) = (Duration::from_secs(1), Duration::from_secs(1));
            let (mut fail, mut rise) = (3, 2);
            while let Some(opt) = w.next_opt() {
                match opt {
                    "interval" => interval = w.next_duration(opt)?,
                    "timeout" => timeout = w.next_duration(opt)?,
                    "fail" => fail = count(&mut w, opt)?,
                    "rise" => rise = count(&mut w, opt)?,
                    o => return Err(format!("unknown probe option `{o}`")),
                }
            }
            if interval.is_zero() || timeout.is_zero() {
                return Err("probe interval and timeout must be above 0".into());
            }
            TrackKind::Probe {
                target,
                interval,
                timeout,
                fail,
                rise,
            }
        }
        _ => {
            return Err(
                "track NAME link IFNAME | track NAME port N | track NAME probe ADDRESS [...]"
                    .into(),
            )
        }
    };
    w.end()?;
    Ok(TrackConfig {
        name: name.to_string(),
        kind,
    })
}

fn parse_vrrp(mut w: Words) -> Result<VrrpConfig, String> {
    let name = w.next("a vrrp name")?;
    let (mut interface, mut vrid, mut priority) = (None, None, 100u8);
    let mut version = Version::V3;
    let mut advert = Duration::from_secs(1);
    let (mut preempt, mut preempt_delay, mut accept) = (true, Duration::ZERO, false);
    let (mut garp_count, mut garp_rounds, mut garp_interval) = (1u32, 1u32, Duration::from_secs(1));
    let (mut vmac, mut fastpath_port) = (false, None);
    let mut addresses: Vec<IpAddr> = Vec::new();
    let mut tracks: Vec<TrackRule> = Vec::new();
    while let Some(opt) = w.next_opt() {
        match opt {
            "interface" => interface = Some(w.next(opt)?.to_string()),
            "vrid" => vrid = Some(w.next_u8(opt)?),
            "priority" => priority = w.next_u8(opt)?,
            "version" => {
                version = match w.next(opt)? {
                    "2" => Version::V2,
                    "3" => Version::V3,
                    v => return Err(format!("version {v}: 2 or 3")),
                }
            }
            "advert-int" => advert = w.next_duration(opt)?,
            "no-preempt" => preempt = false,
            "preempt-delay" => preempt_delay = w.next_duration(opt)?,
            "accept" => accept = true,
            "vmac" => vmac = true,
            "garp" => garp_count = count(&mut w, opt)?,
            "garp-rounds" => garp_rounds = count(&mut w, opt)?,
            "garp-interval" => garp_interval = w.next_duration(opt)?,
            "fastpath-port" => fastpath_port = Some(w.next_u16(opt)?),
            "address" => addresses.push(w.next_ip(opt)?),
            "track" => {
                let name = w.next("a track name")?.to_string();
                // `weight N` lowers the priority by N while down; without it, down is a fault.
                let weight = if w.peek() == Some("weight") {
                    w.next_opt();
                    Some(i16::from(w.next_u8("weight")?))
                } else {
                    None
                };
                tracks.push(TrackRule { name, weight });
            }
            o => return Err(format!("unknown vrrp option `{o}`")),
        }
    }
    let interface = interface.ok_or("missing `interface IFNAME`")?;
    let vrid = vrid.ok_or("missing `vrid 1..255`")?;
    let cs = advert.as_millis() / 10;
    if !advert.as_millis().is_multiple_of(10) || !(1..=4095).contains(&cs) {
        return Err("advert-int: 10ms to 40950ms, in whole centiseconds".into());
    }
    let instance = InstanceConfig {
        name: name.to_string(),
        vrid,
        version,
        priority,
        advert_interval_cs: cs as u16,
        preempt,
        preempt_delay,
        accept_mode: accept,
        virtual_addresses: addresses,
        garp_count,
        garp_rounds,
        garp_interval,
        tracks,
    };
    instance.validate().map_err(|e| e.to_string())?;
    Ok(VrrpConfig {
        instance,
        interface,
        vmac,
        fastpath_port,
    })
}

fn parse_group(mut w: Words) -> Result<GroupConfig, String> {
    let name = w.next("a group name")?;
    if w.is_empty() {
        return Err("group NAME INSTANCE [INSTANCE...]".into());
    }
    Ok(GroupConfig {
        name: name.to_string(),
        instances: w.rest().iter().map(|s| s.to_string()).collect(),
    })
}

fn parse_ha_group(mut w: Words) -> Result<HaGroupConfig, String> {
    let name = w.next("an ha-group name")?;
    let source = match w.next_opt() {
        Some("vrrp-group") => HaSourceConfig::VrrpGroup(w.next("a vrrp-group")?.into()),
        Some("static") => HaSourceConfig::Static(match w.next("a role")? {
            "active" => HaRoleConfig::Active,
            "standby" => HaRoleConfig::Standby,
            r => return Err(format!("static {r}: active or standby")),
        }),
        _ => return Err("ha-group NAME vrrp-group GROUP | static active|standby".into()),
    };
    let mut notify = None;
    while let Some(opt) = w.next_opt() {
        match opt {
            "notify" => notify = Some(PathBuf::from(w.next(opt)?)),
            o => return Err(format!("unknown ha-group option `{o}`")),
        }
    }
    Ok(HaGroupConfig {
        name: name.to_string(),
        source,
        notify,
    })
}

#[cfg(test)]
mod tests;
