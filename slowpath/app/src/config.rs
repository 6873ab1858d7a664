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
//! ```
//! An instance that is in no `group` is a group of its own, named as the instance.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vrrp::{InstanceConfig, TrackRule, Version};

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
    /// Secrets, pools, IKE connections and their children.
    pub ike: crate::ike::IkeSettings,
}

/// A refused line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: 0,
            reason: e.to_string(),
        })?;
        Config::parse(&text, &file)
    }

    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        let mut last_line = 0;
        for (n, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            last_line = n + 1;
            let err = |reason: String| ConfigError {
                file: file.to_string(),
                line: n + 1,
                reason,
            };
            let words: Vec<&str> = line.split_whitespace().collect();
            match words[0] {
                "control" => cfg.control = Some(one_path(&words[1..]).map_err(err)?),
                "fastpath" => cfg.fastpath = Some(one_path(&words[1..]).map_err(err)?),
                "track" => {
                    let t = parse_track(&words[1..]).map_err(err)?;
                    if matches!(t.kind, TrackKind::FastpathPort { .. }) && cfg.fastpath.is_none() {
                        return Err(err("a port track needs `fastpath SOCKET` above".into()));
                    }
                    if cfg.tracks.iter().any(|o| o.name == t.name) {
                        return Err(err(format!("track {} is defined twice", t.name)));
                    }
                    cfg.tracks.push(t);
                }
                "vrrp" => {
                    let v = parse_vrrp(&words[1..]).map_err(err)?;
                    for r in &v.instance.tracks {
                        if !cfg.tracks.iter().any(|t| t.name == r.name) {
                            return Err(err(format!(
                                "tracks `{}`, which is not defined above",
                                r.name
                            )));
                        }
                    }
                    let clash = cfg.vrrp.iter().find(|o| {
                        o.instance.name == v.instance.name
                            || (o.interface == v.interface
                                && o.instance.vrid == v.instance.vrid
                                && is_v6(&o.instance) == is_v6(&v.instance))
                    });
                    if let Some(o) = clash {
                        return Err(err(format!(
                            "clashes with vrrp {} (same name, or same interface, VRID and family)",
                            o.instance.name
                        )));
                    }
                    cfg.vrrp.push(v);
                }
                "group" => {
                    let g = parse_group(&words[1..]).map_err(err)?;
                    for i in &g.instances {
                        if !cfg.vrrp.iter().any(|v| v.instance.name == *i) {
                            return Err(err(format!("no vrrp {i} above")));
                        }
                        if let Some(o) = cfg.groups.iter().find(|o| o.instances.contains(i)) {
                            return Err(err(format!("vrrp {i} is already in group {}", o.name)));
                        }
                    }
                    if cfg.groups.iter().any(|o| o.name == g.name)
                        || cfg.vrrp.iter().any(|v| v.instance.name == g.name)
                    {
                        return Err(err(format!("the name {} is taken", g.name)));
                    }
                    cfg.groups.push(g);
                }
                "ha-group" => {
                    let h = parse_ha_group(&words[1..]).map_err(err)?;
                    if cfg.ha_groups.iter().any(|o| o.name == h.name) {
                        return Err(err(format!("ha-group {} is defined twice", h.name)));
                    }
                    cfg.ha_groups.push(h);
                }
                w if crate::ike::IkeSettings::is_statement(w) => {
                    cfg.ike.parse_statement(&words).map_err(err)?
                }
                w => return Err(err(format!("unknown statement `{w}`"))),
            }
        }
        // Instances outside any group are a group of their own.
        for v in &cfg.vrrp {
            let name = &v.instance.name;
            if !cfg.groups.iter().any(|g| g.instances.contains(name)) {
                cfg.groups.push(GroupConfig {
                    name: name.clone(),
                    instances: vec![name.clone()],
                });
            }
        }
        for h in &cfg.ha_groups {
            if let HaSourceConfig::VrrpGroup(g) = &h.source {
                if !cfg.groups.iter().any(|o| o.name == *g) {
                    return Err(ConfigError {
                        file: file.to_string(),
                        line: last_line,
                        reason: format!(
                            "ha-group {} follows `{g}`, which is no group or vrrp instance",
                            h.name
                        ),
                    });
                }
            }
        }
        cfg.ike.finish().map_err(|reason| ConfigError {
            file: file.to_string(),
            line: last_line,
            reason,
        })?;
        Ok(cfg)
    }
}

fn is_v6(i: &InstanceConfig) -> bool {
    i.virtual_addresses.first().is_some_and(IpAddr::is_ipv6)
}

fn one_path(w: &[&str]) -> Result<PathBuf, String> {
    match w {
        [p] => Ok(PathBuf::from(p)),
        _ => Err("wants one path".into()),
    }
}

/// `100ms`, `1s`, `150cs` (centiseconds, VRRP's own unit).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a duration (100ms, 2s, 50cs)");
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map(|i| s.split_at(i))
        .ok_or_else(bad)?;
    let n: u64 = num.parse().map_err(|_| bad())?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "cs" => Ok(Duration::from_millis(n.saturating_mul(10))),
        "s" => Ok(Duration::from_secs(n)),
        _ => Err(bad()),
    }
}

fn number<T: std::str::FromStr>(what: &str, s: &str) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("{what}: `{s}` is not a number in range"))
}

/// Takes the value after an option word.
fn value<'a>(it: &mut std::slice::Iter<'_, &'a str>, what: &str) -> Result<&'a str, String> {
    it.next()
        .copied()
        .ok_or_else(|| format!("`{what}` wants a value"))
}

fn parse_track(w: &[&str]) -> Result<TrackConfig, String> {
    let (name, rest) = w.split_first().ok_or("track wants a name")?;
    let mut it = rest.iter();
    let kind = match it.next().copied() {
        Some("link") => TrackKind::Link {
            ifname: value(&mut it, "link")?.to_string(),
        },
        Some("port") => TrackKind::FastpathPort {
            port: number("port", value(&mut it, "port")?)?,
        },
        Some("probe") => {
            let target: IpAddr = number("probe", value(&mut it, "probe")?)?;
            let (mut interval, mut timeout) = (Duration::from_secs(1), Duration::from_secs(1));
            let (mut fail, mut rise) = (3, 2);
            while let Some(opt) = it.next() {
                match *opt {
                    "interval" => interval = parse_duration(value(&mut it, opt)?)?,
                    "timeout" => timeout = parse_duration(value(&mut it, opt)?)?,
                    "fail" => fail = number(opt, value(&mut it, opt)?)?,
                    "rise" => rise = number(opt, value(&mut it, opt)?)?,
                    o => return Err(format!("unknown probe option `{o}`")),
                }
            }
            if interval.is_zero() || timeout.is_zero() || fail == 0 || rise == 0 {
                return Err("probe interval, timeout, fail and rise must be above 0".into());
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
    if let TrackKind::Link { .. } | TrackKind::FastpathPort { .. } = kind {
        if let Some(o) = it.next() {
            return Err(format!("unexpected `{o}`"));
        }
    }
    Ok(TrackConfig {
        name: name.to_string(),
        kind,
    })
}

fn parse_vrrp(w: &[&str]) -> Result<VrrpConfig, String> {
    let (name, rest) = w.split_first().ok_or("vrrp wants a name")?;
    let mut it = rest.iter();
    let (mut interface, mut vrid, mut priority) = (None, None, 100u8);
    let mut version = Version::V3;
    let mut advert = Duration::from_secs(1);
    let (mut preempt, mut preempt_delay, mut accept) = (true, Duration::ZERO, false);
    let (mut garp_count, mut garp_rounds, mut garp_interval) = (1u32, 1u32, Duration::from_secs(1));
    let (mut vmac, mut fastpath_port) = (false, None);
    let mut addresses: Vec<IpAddr> = Vec::new();
    let mut tracks: Vec<TrackRule> = Vec::new();
    while let Some(opt) = it.next() {
        match *opt {
            "interface" => interface = Some(value(&mut it, opt)?.to_string()),
            "vrid" => vrid = Some(number::<u8>(opt, value(&mut it, opt)?)?),
            "priority" => priority = number(opt, value(&mut it, opt)?)?,
            "version" => {
                version = match value(&mut it, opt)? {
                    "2" => Version::V2,
                    "3" => Version::V3,
                    v => return Err(format!("version {v}: 2 or 3")),
                }
            }
            "advert-int" => advert = parse_duration(value(&mut it, opt)?)?,
            "no-preempt" => preempt = false,
            "preempt-delay" => preempt_delay = parse_duration(value(&mut it, opt)?)?,
            "accept" => accept = true,
            "vmac" => vmac = true,
            "garp" => garp_count = number(opt, value(&mut it, opt)?)?,
            "garp-rounds" => garp_rounds = number(opt, value(&mut it, opt)?)?,
            "garp-interval" => garp_interval = parse_duration(value(&mut it, opt)?)?,
            "fastpath-port" => fastpath_port = Some(number(opt, value(&mut it, opt)?)?),
            "address" => addresses.push(number("address", value(&mut it, opt)?)?),
            "track" => {
                let name = value(&mut it, opt)?.to_string();
                // `weight N` lowers the priority by N while down; without it, down is a fault.
                let weight = if it.as_slice().first() == Some(&"weight") {
                    it.next();
                    Some(number::<i16>("weight", value(&mut it, "weight")?)?)
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

fn parse_group(w: &[&str]) -> Result<GroupConfig, String> {
    let (name, rest) = w.split_first().ok_or("group wants a name")?;
    if rest.is_empty() {
        return Err("group NAME INSTANCE [INSTANCE...]".into());
    }
    Ok(GroupConfig {
        name: name.to_string(),
        instances: rest.iter().map(|s| s.to_string()).collect(),
    })
}

fn parse_ha_group(w: &[&str]) -> Result<HaGroupConfig, String> {
    let (name, rest) = w.split_first().ok_or("ha-group wants a name")?;
    let mut it = rest.iter();
    let source = match it.next().copied() {
        Some("vrrp-group") => HaSourceConfig::VrrpGroup(value(&mut it, "vrrp-group")?.into()),
        Some("static") => HaSourceConfig::Static(match value(&mut it, "static")? {
            "active" => HaRoleConfig::Active,
            "standby" => HaRoleConfig::Standby,
            r => return Err(format!("static {r}: active or standby")),
        }),
        _ => return Err("ha-group NAME vrrp-group GROUP | static active|standby".into()),
    };
    let mut notify = None;
    while let Some(opt) = it.next() {
        match *opt {
            "notify" => notify = Some(PathBuf::from(value(&mut it, opt)?)),
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
mod tests {
    use super::*;

    const GOOD: &str = "\
control /run/sp.sock
fastpath /run/fp.sock
track uplink link fp1
track gw probe 192.0.2.254 interval 200ms timeout 150ms fail 2 rise 1
track wan port 1
vrrp up4 interface fp1 vrid 51 priority 200 advert-int 100ms address 192.0.2.100 preempt-delay 5s vmac track gw weight 60 track uplink fastpath-port 1 garp 3 garp-rounds 2
vrrp down4 interface fp0 vrid 52 priority 200 advert-int 10cs address 10.0.0.1 accept
vrrp lone interface fp0 vrid 9 version 2 address 10.0.0.9 no-preempt
group gw-pair up4 down4
ha-group gw vrrp-group gw-pair notify /bin/true
ha-group lab static standby
";

    #[test]
    fn parses_a_whole_node() {
        let c = Config::parse(GOOD, "n.conf").unwrap();
        assert_eq!(c.control.as_deref(), Some(Path::new("/run/sp.sock")));
        assert_eq!(c.tracks.len(), 3);
        assert_eq!(c.tracks[2].kind, TrackKind::FastpathPort { port: 1 });
        assert!(matches!(
            c.tracks[1].kind,
            TrackKind::Probe {
                fail: 2,
                rise: 1,
                ..
            }
        ));
        let up = &c.vrrp[0];
        assert_eq!((up.instance.vrid, up.instance.priority), (51, 200));
        assert_eq!(up.instance.advert_interval_cs, 10);
        assert_eq!(up.instance.preempt_delay, Duration::from_secs(5));
        assert!(up.vmac && up.instance.preempt && !up.instance.accept_mode);
        assert_eq!(up.fastpath_port, Some(1));
        assert_eq!(up.instance.tracks[0].weight, Some(60));
        assert_eq!(up.instance.tracks[1].weight, None);
        assert_eq!((up.instance.garp_count, up.instance.garp_rounds), (3, 2));
        assert_eq!(c.vrrp[1].instance.advert_interval_cs, 10);
        assert!(c.vrrp[1].instance.accept_mode);
        assert_eq!(c.vrrp[2].instance.version, Version::V2);
        assert!(!c.vrrp[2].instance.preempt);
        // The lone instance got a group of its own.
        assert_eq!(c.groups.len(), 2);
        assert_eq!(c.groups[1].instances, vec!["lone".to_string()]);
        assert_eq!(
            c.ha_groups[0].source,
            HaSourceConfig::VrrpGroup("gw-pair".into())
        );
        assert_eq!(
            c.ha_groups[1].source,
            HaSourceConfig::Static(HaRoleConfig::Standby)
        );
    }

    #[test]
    fn refuses_bad_lines_with_file_line_and_reason() {
        let cases = [
            (
                "vrrp a interface x vrid 1 address 10.0.0.1 track nope",
                "not defined above",
            ),
            ("vrrp a vrid 1 address 10.0.0.1", "missing `interface"),
            ("vrrp a interface x address 10.0.0.1", "missing `vrid"),
            ("vrrp a interface x vrid 300 address 10.0.0.1", "vrid"),
            (
                "vrrp a interface x vrid 1 address 10.0.0.1 advert-int 5ms",
                "advert-int",
            ),
            (
                "vrrp a interface x vrid 1 address 10.0.0.1 version 4",
                "version 4",
            ),
            (
                "vrrp a interface x vrid 1 address 10.0.0.1 frob",
                "unknown vrrp option",
            ),
            (
                "vrrp a interface x vrid 1 address 10.0.0.one",
                "not a number",
            ),
            ("group g nothere", "no vrrp nothere"),
            ("track t probe 10.0.0.1 interval 0s", "above 0"),
            ("track t sniff", "track NAME"),
            ("track t port 1", "needs `fastpath"),
            ("ha-group h static maybe", "active or standby"),
            ("ha-group h vrrp-group ghost", "no group"),
            ("vrrp a interface x vrid 1 advert-int 1s", ""),
            ("frobnicate", "unknown statement"),
        ];
        for (line, want) in cases {
            let text = format!("# header\n{line}\n");
            let e = Config::parse(&text, "bad.conf").unwrap_err();
            assert_eq!((e.file.as_str(), e.line), ("bad.conf", 2), "{line}");
            assert!(e.reason.contains(want), "{line}: {} lacks {want}", e.reason);
        }
    }

    #[test]
    fn refuses_a_second_instance_on_the_same_vrid() {
        let text = "vrrp a interface x vrid 1 address 10.0.0.1\nvrrp b interface x vrid 1 address 10.0.0.2\n";
        let e = Config::parse(text, "f").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("clashes"));
        // The same VRID in the other family is another virtual router (RFC 5798 7.3).
        let ok = "vrrp a interface x vrid 1 address 10.0.0.1\nvrrp b interface x vrid 1 address fe80::1\n";
        assert!(Config::parse(ok, "f").is_ok());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("15cs"), Ok(Duration::from_millis(150)));
        assert_eq!(parse_duration("3s"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("3").is_err());
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("3h").is_err());
    }
}
