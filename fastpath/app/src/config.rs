//! The static configuration file: ports, SAs and SPs, for labs and tests without IKE.
//! One statement per line; `#` starts a comment. A bad line is refused with its file, line
//! number and reason, before anything starts.
//!
//! ```text
//! port 0 protected   peer-mac 02:00:00:00:00:01
//! port 1 unprotected peer-mac 02:00:00:00:00:02 exception 2   # port 2: a net_tap to the kernel
//! port 1 unprotected exception 2 next-hop 192.0.2.2            # MAC from the kernel's neighbours
//! local 192.0.2.1 10.0.1.254                                    # the node's addresses (to the kernel)
//! sa 1 out spi 0x1005 aes128gcm16 key 2b7e...cafebabe tunnel 192.0.2.1 192.0.2.2 esn window 1024
//! sa 2 in  spi 0x2005 aes128-sha1 key 2b7e... auth-key 0102... tunnel 192.0.2.1 192.0.2.2 natt 4500:4500
//! sp out protect 1 pri 10 src 198.51.100.0/24 dst 203.0.113.0/24 proto udp dport 5001
//! sp in  protect 2 pri 10 src 203.0.113.0/24 dst 198.51.100.0/24
//! sp out bypass pri 1 src 0.0.0.0/0 dst 192.0.2.0/24 proto udp dport 500
//! ```
//! Transform names are strongSwan's ESP proposal keywords: aes128gcm16, aes256gcm16,
//! aes128-sha1, aes256-sha1, aes128-sha256, aes256-sha256, null-sha1, null-sha256.

use esp::crypto::{EncAlg, IntegAlg, TransformKeys};
use esp::sa::{DfMode, Direction, DscpMode, Lifetime, Mode, SaConfig, SaId, UdpEncap};
use esp::spd::{Action, PortRange, SaBundle, Selector};
use std::fmt;
use std::net::IpAddr;
use std::path::Path;

/// The highest SA id: a SAD has a slot for every id up to its highest, so an id of 4e9 would
/// have it allocate 32 GB (found by fuzz/fuzz_targets/config_parse.rs).
pub const MAX_SA_ID: u32 = (1 << 20) - 1;

/// Which side of the gateway a port faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortRole {
    /// The plaintext side: packets from it are matched against the outbound SPD.
    Protected,
    /// The ESP side: packets from it are decrypted.
    Unprotected,
}

/// One port statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    pub port: u16,
    pub role: PortRole,
    /// The next hop's MAC address on this port (until neighbour resolution does it).
    pub peer_mac: [u8; 6],
    /// The port (a net_tap) that is this port's exception path to the kernel.
    pub exception: Option<u16>,
    /// Only send on this port, never poll it (a sink such as net_null, which would
    /// otherwise also be an endless source).
    pub tx_only: bool,
    /// The next hop on this port, whose MAC address is taken from the kernel's neighbour
    /// table (through the exception port) instead of `peer-mac`.
    pub next_hop: Option<IpAddr>,
    /// The port's MTU (the largest IP packet it sends); the driver's when not given.
    pub mtu: Option<u16>,
}

/// One SP statement.
#[derive(Debug, Clone)]
pub struct SpConfig {
    pub direction: Direction,
    pub priority: u32,
    pub selector: Selector,
    pub action: Action,
}

/// The whole file.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub ports: Vec<PortConfig>,
    /// The node's own addresses: packets to them go to the kernel (exception path).
    pub locals: Vec<IpAddr>,
    pub sas: Vec<(SaId, SaConfig)>,
    pub sps: Vec<SpConfig>,
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
    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: 0,
            reason: e.to_string(),
        })?;
        Config::parse(&text, &file)
    }

    /// Parses the text of a file named `file` (for messages).
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let err = |reason: String| ConfigError {
                file: file.to_string(),
                line: n + 1,
                reason,
            };
            match words[0] {
                "port" => cfg.ports.push(parse_port(&words[1..]).map_err(err)?),
                "local" => {
                    for w in &words[1..] {
                        cfg.locals.push(parse_ip(w).map_err(err)?);
                    }
                }
                "sa" => {
                    let (id, sa) = parse_sa(&words[1..]).map_err(err)?;
                    if cfg.sas.iter().any(|(i, _)| *i == id) {
                        return Err(err(format!("SA {} is defined twice", id.0)));
                    }
                    cfg.sas.push((id, sa));
                }
                "sp" => {
                    let sp = parse_sp(&words[1..]).map_err(err)?;
                    if let Action::Protect(b) = &sp.action {
                        for &id in b.as_slice() {
                            if !cfg.sas.iter().any(|(i, _)| i.0 == id) {
                                return Err(err(format!(
                                    "sp protects SA {id}, which is not defined above"
                                )));
                            }
                        }
                    }
                    cfg.sps.push(sp);
                }
                w => {
                    return Err(err(format!(
                        "unknown statement `{w}` (want port, local, sa or sp)"
                    )))
                }
            }
        }
        let roles = |r| cfg.ports.iter().filter(|p| p.role == r).count();
        if !cfg.ports.is_empty()
            && (roles(PortRole::Protected) != 1 || roles(PortRole::Unprotected) != 1)
        {
            let reason = "want exactly one protected and one unprotected port".to_string();
            return Err(ConfigError {
                file: file.to_string(),
                line: text.lines().count(),
                reason,
            });
        }
        // Inbound SPs also say what a decrypted packet may be: they become the SA's selectors.
        for sp in &cfg.sps {
            if let (Direction::Inbound, Action::Protect(b)) = (sp.direction, &sp.action) {
                for &id in b.as_slice() {
                    if let Some((_, sa)) = cfg.sas.iter_mut().find(|(i, _)| i.0 == id) {
                        sa.selectors.push(sp.selector);
                    }
                }
            }
        }
        Ok(cfg)
    }
}

/// Words after the keyword, consumed left to right.
struct Words<'a> {
    words: &'a [&'a str],
    at: usize,
}

impl<'a> Words<'a> {
    fn new(words: &'a [&'a str]) -> Self {
        Words { words, at: 0 }
    }
    fn next(&mut self, what: &str) -> Result<&'a str, String> {
        let w = self
            .words
            .get(self.at)
            .copied()
            .ok_or_else(|| format!("missing {what}"))?;
        self.at += 1;
        Ok(w)
    }
    fn peek(&self) -> Option<&'a str> {
        self.words.get(self.at).copied()
    }
}

fn parse_port(words: &[&str]) -> Result<PortConfig, String> {
    let mut w = Words::new(words);
    let port = parse_u16(w.next("port id")?)?;
    let role = match w.next("port role")? {
        "protected" => PortRole::Protected,
        "unprotected" => PortRole::Unprotected,
        r => return Err(format!("port role `{r}`: want protected or unprotected")),
    };
    let mut peer_mac = [0xff; 6];
    let mut exception = None;
    let mut tx_only = false;
    let mut next_hop = None;
    let mut mtu = None;
    while let Some(key) = w.peek() {
        w.at += 1;
        match key {
            "peer-mac" => peer_mac = parse_mac(w.next("MAC address")?)?,
            "tx-only" => tx_only = true,
            "next-hop" => next_hop = Some(parse_ip(w.next("next-hop address")?)?),
            "mtu" => {
                let v = parse_num(w.next("MTU")?)?;
                mtu = Some(
                    u16::try_from(v)
                        .ok()
                        .filter(|m| *m >= 576)
                        .ok_or("mtu: want 576..65535")?,
                );
            }
            "exception" => exception = Some(parse_u16(w.next("exception port id")?)?),
            k => return Err(format!("unknown port option `{k}`")),
        }
    }
    if exception == Some(port) {
        return Err("a port cannot be its own exception port".into());
    }
    Ok(PortConfig {
        port,
        role,
        peer_mac,
        exception,
        tx_only,
        next_hop,
        mtu,
    })
}

/// Parses the words of an `sa` statement after the keyword (the control socket takes the
/// same syntax as the file).
pub fn parse_sa(words: &[&str]) -> Result<(SaId, SaConfig), String> {
    let mut w = Words::new(words);
    let id = parse_num(w.next("SA id")?)?;
    let id = u32::try_from(id)
        .ok()
        .filter(|&id| id <= MAX_SA_ID)
        .map(SaId)
        .ok_or_else(|| format!("SA id {id} is over {MAX_SA_ID}"))?;
    let direction = parse_direction(w.next("direction")?)?;
    if w.next("`spi`")? != "spi" {
        return Err("want `spi N` after the direction".into());
    }
    let spi = parse_num(w.next("SPI")?)?;
    let spi = u32::try_from(spi).map_err(|_| format!("SPI {spi} does not fit in 32 bits"))?;
    let (enc, integ, key_len) = parse_transform(w.next("transform")?)?;
    let mut enc_key = Vec::new();
    let mut auth_key = Vec::new();
    let mut mode = None;
    let mut cfg_opts: Vec<(&str, &str)> = Vec::new();
    let mut esn = false;
    let mut standby = false;
    while let Some(key) = w.peek() {
        w.at += 1;
        match key {
            "key" => enc_key = parse_hex(w.next("key")?)?,
            "auth-key" => auth_key = parse_hex(w.next("auth-key")?)?,
            "tunnel" => {
                let local: IpAddr = parse_ip(w.next("tunnel local address")?)?;
                let remote: IpAddr = parse_ip(w.next("tunnel remote address")?)?;
                if local.is_ipv4() != remote.is_ipv4() {
                    return Err("tunnel endpoints must be of one address family".into());
                }
                mode = Some(Mode::Tunnel { local, remote });
            }
            "transport" => mode = Some(Mode::Transport),
            "esn" => esn = true,
            "standby" => standby = true,
            "window" | "natt" | "lifetime-bytes" | "lifetime-packets" | "dscp" | "df" | "ttl" => {
                cfg_opts.push((key, w.next(key)?));
            }
            k => return Err(format!("unknown SA option `{k}`")),
        }
    }
    if enc_key.len() != key_len {
        return Err(format!(
            "key is {} bytes; this transform wants {key_len}",
            enc_key.len()
        ));
    }
    let auth_len = match integ {
        IntegAlg::None => 0,
        IntegAlg::HmacSha1_96 => 20,
        IntegAlg::HmacSha256_128 => 32,
    };
    if auth_key.len() != auth_len {
        return Err(format!(
            "auth-key is {} bytes; this transform wants {auth_len}",
            auth_key.len()
        ));
    }
    let mode = mode.ok_or("missing `tunnel LOCAL REMOTE` or `transport`")?;
    let keys = TransformKeys {
        enc,
        integ,
        enc_key,
        auth_key,
    };
    let unspecified: IpAddr = "0.0.0.0".parse().expect("literal address");
    let mut sa = SaConfig::tunnel(spi, direction, unspecified, unspecified, keys);
    sa.mode = mode;
    sa.esn = esn;
    sa.active = !standby;
    for (key, value) in cfg_opts {
        match key {
            "window" => sa.replay_window = parse_u32(value)?,
            "natt" => {
                let (l, r) = parse_pair(value)?;
                sa.encap = Some(UdpEncap {
                    local_port: u16::try_from(l)
                        .map_err(|_| format!("natt port {l} is over 65535"))?,
                    remote_port: u16::try_from(r)
                        .map_err(|_| format!("natt port {r} is over 65535"))?,
                });
            }
            "lifetime-bytes" => {
                let (soft, hard) = parse_pair(value)?;
                sa.lifetime = Lifetime {
                    soft_bytes: soft,
                    hard_bytes: hard,
                    ..sa.lifetime
                };
            }
            "lifetime-packets" => {
                let (soft, hard) = parse_pair(value)?;
                sa.lifetime = Lifetime {
                    soft_packets: soft,
                    hard_packets: hard,
                    ..sa.lifetime
                };
            }
            "dscp" => {
                sa.dscp = match value {
                    "copy" => DscpMode::Copy,
                    v => DscpMode::Set(
                        parse_num(v)
                            .ok()
                            .filter(|d| *d < 64)
                            .ok_or("dscp: want copy or 0..63")? as u8,
                    ),
                }
            }
            "df" => {
                sa.df = match value {
                    "copy" => DfMode::Copy,
                    "set" => DfMode::Set,
                    "clear" => DfMode::Clear,
                    _ => return Err("df: want copy, set or clear".into()),
                }
            }
            _ => {
                sa.outer_ttl = parse_num(value)
                    .ok()
                    .filter(|t| (1..=255).contains(t))
                    .ok_or("ttl: want 1..255")? as u8
            }
        }
    }
    Ok((id, sa))
}

/// Parses the words of an `sp` statement after the keyword.
pub fn parse_sp(words: &[&str]) -> Result<SpConfig, String> {
    let mut w = Words::new(words);
    let direction = parse_direction(w.next("direction")?)?;
    let action = match w.next("action")? {
        "protect" => {
            let mut ids = Vec::new();
            for part in w.next("SA id")?.split(',') {
                ids.push(parse_u32(part)?);
            }
            // The SPD holds bundles, but the fast path applies one SA per packet for now:
            // refuse a bundle rather than apply only its first SA.
            if ids.len() > 1 {
                return Err(
                    "SA bundles (protect A,B) are not applied by the fast path yet: protect one SA"
                        .into(),
                );
            }
            Action::Protect(
                SaBundle::new(&ids).ok_or("protect takes 1 to 4 SA ids, comma-separated")?,
            )
        }
        "bypass" => Action::Bypass,
        "discard" => Action::Discard,
        a => return Err(format!("action `{a}`: want protect, bypass or discard")),
    };
    let mut priority = None;
    let (mut src, mut dst) = (None, None);
    let mut proto = None;
    let (mut sport, mut dport) = (PortRange::ANY, PortRange::ANY);
    while let Some(key) = w.peek() {
        w.at += 1;
        match key {
            "pri" => priority = Some(parse_u32(w.next("priority")?)?),
            "src" => src = Some(parse_net(w.next("source prefix")?)?),
            "dst" => dst = Some(parse_net(w.next("destination prefix")?)?),
            "proto" => proto = parse_proto(w.next("protocol")?)?,
            "sport" => sport = parse_range(w.next("source ports")?)?,
            "dport" => dport = parse_range(w.next("destination ports")?)?,
            k => return Err(format!("unknown SP option `{k}`")),
        }
    }
    let src = src.ok_or("missing `src PREFIX`")?;
    let dst = dst.ok_or("missing `dst PREFIX`")?;
    if src.addr().is_ipv4() != dst.addr().is_ipv4() {
        return Err("src and dst must be of one address family".into());
    }
    Ok(SpConfig {
        direction,
        priority: priority.ok_or("missing `pri N`")?,
        selector: Selector {
            src,
            dst,
            proto,
            sport,
            dport,
        },
        action,
    })
}

fn parse_direction(s: &str) -> Result<Direction, String> {
    match s {
        "in" => Ok(Direction::Inbound),
        "out" => Ok(Direction::Outbound),
        d => Err(format!("direction `{d}`: want in or out")),
    }
}

/// strongSwan's ESP proposal keywords, and the key length each wants (GCM: key + 4-byte salt).
fn parse_transform(s: &str) -> Result<(EncAlg, IntegAlg, usize), String> {
    Ok(match s {
        "aes128gcm16" => (EncAlg::AesGcm16_128, IntegAlg::None, 20),
        "aes256gcm16" => (EncAlg::AesGcm16_256, IntegAlg::None, 36),
        "aes128-sha1" => (EncAlg::AesCbc128, IntegAlg::HmacSha1_96, 16),
        "aes256-sha1" => (EncAlg::AesCbc256, IntegAlg::HmacSha1_96, 32),
        "aes128-sha256" => (EncAlg::AesCbc128, IntegAlg::HmacSha256_128, 16),
        "aes256-sha256" => (EncAlg::AesCbc256, IntegAlg::HmacSha256_128, 32),
        "null-sha1" => (EncAlg::Null, IntegAlg::HmacSha1_96, 0),
        "null-sha256" => (EncAlg::Null, IntegAlg::HmacSha256_128, 0),
        t => return Err(format!("unknown transform `{t}`")),
    })
}

fn parse_num(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    r.map_err(|_| format!("`{s}` is not a number"))
}

/// A number that must fit in 16 bits (never silently truncated).
fn parse_u16(s: &str) -> Result<u16, String> {
    u16::try_from(parse_num(s)?).map_err(|_| format!("`{s}` is over 65535"))
}

/// A number that must fit in 32 bits.
fn parse_u32(s: &str) -> Result<u32, String> {
    u32::try_from(parse_num(s)?).map_err(|_| format!("`{s}` is over 4294967295"))
}

fn parse_pair(s: &str) -> Result<(u64, u64), String> {
    let (a, b) = s
        .split_once(':')
        .ok_or_else(|| format!("`{s}`: want A:B"))?;
    Ok((parse_num(a)?, parse_num(b)?))
}

fn parse_range(s: &str) -> Result<PortRange, String> {
    let (lo, hi) = match s.split_once(':') {
        Some((a, b)) => (parse_num(a)?, parse_num(b)?),
        None => {
            let p = parse_num(s)?;
            (p, p)
        }
    };
    if lo > hi || hi > u16::MAX as u64 {
        return Err(format!("port range `{s}` is not LO:HI within 0..65535"));
    }
    Ok(PortRange {
        lo: lo as u16,
        hi: hi as u16,
    })
}

fn parse_proto(s: &str) -> Result<Option<u8>, String> {
    Ok(match s {
        "any" => None,
        "tcp" => Some(6),
        "udp" => Some(17),
        "icmp" => Some(1),
        "ipv6-icmp" | "icmp6" => Some(58),
        "esp" => Some(50),
        n => Some(u8::try_from(parse_num(n)?).map_err(|_| format!("protocol `{n}` is over 255"))?),
    })
}

fn parse_ip(s: &str) -> Result<IpAddr, String> {
    s.parse().map_err(|_| format!("`{s}` is not an IP address"))
}

fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    match s.parse::<ipnet::IpNet>() {
        Ok(n) => Ok(n.trunc()),
        Err(_) => parse_ip(s)
            .map(ipnet::IpNet::from)
            .map_err(|_| format!("`{s}` is not a prefix")),
    }
}

fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let clean: String = s.chars().filter(|c| *c != ':').collect();
    hex::decode(clean.strip_prefix("0x").unwrap_or(&clean)).map_err(|_| format!("`{s}` is not hex"))
}

pub(crate) fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    let bytes = parse_hex(s)?;
    bytes
        .try_into()
        .map_err(|_| format!("`{s}` is not a MAC address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
# a lab
port 0 protected peer-mac 02:00:00:00:00:01
port 1 unprotected peer-mac 02:00:00:00:00:02
sa 1 out spi 0x1005 aes128gcm16 key 2b7e151628aed2a6abf7158809cf4f3ccafebabe tunnel 192.0.2.1 192.0.2.2 esn window 2048
sa 2 in spi 0x2005 aes128-sha1 key 2b7e151628aed2a6abf7158809cf4f3c auth-key 0102030405060708090a0b0c0d0e0f1011121314 tunnel 192.0.2.1 192.0.2.2 natt 4500:4500 lifetime-packets 100:200 standby
sp out protect 1 pri 10 src 198.51.100.0/24 dst 203.0.113.0/24 proto udp dport 5001
sp in protect 2 pri 10 src 203.0.113.0/24 dst 198.51.100.0/24
sp out bypass pri 1 src 0.0.0.0/0 dst 192.0.2.0/24 proto udp dport 500:500
";

    #[test]
    fn parses_a_whole_lab() {
        let c = Config::parse(GOOD, "lab.conf").unwrap();
        assert_eq!(c.ports.len(), 2);
        assert_eq!(c.ports[1].peer_mac, [2, 0, 0, 0, 0, 2]);
        let (id, sa) = &c.sas[0];
        assert_eq!(*id, SaId(1));
        assert_eq!(sa.spi, 0x1005);
        assert!(sa.esn && sa.active);
        assert_eq!(sa.replay_window, 2048);
        let (_, sa2) = &c.sas[1];
        assert_eq!(
            sa2.encap,
            Some(UdpEncap {
                local_port: 4500,
                remote_port: 4500
            })
        );
        assert_eq!(sa2.lifetime.hard_packets, 200);
        assert!(!sa2.active);
        assert_eq!(
            sa2.selectors.len(),
            1,
            "the inbound SP became the SA's selector"
        );
        assert_eq!(c.sps.len(), 3);
        assert_eq!(c.sps[0].selector.proto, Some(17));
        assert_eq!(c.sps[0].selector.dport, PortRange { lo: 5001, hi: 5001 });
    }

    #[test]
    fn refuses_bad_lines_with_file_line_and_reason() {
        let cases = [
            ("sa 1 out spi 0x1005 aes128gcm16 key 00 tunnel 192.0.2.1 192.0.2.2", "key is 1 bytes"),
            ("sa 1 out spi 0x1005 aes999 key 00", "unknown transform"),
            ("sa 1 out spi 0x1005 aes128gcm16 key 2b7e151628aed2a6abf7158809cf4f3ccafebabe", "missing `tunnel"),
            ("sa 1 out spi 0x1005 aes128gcm16 key 2b7e151628aed2a6abf7158809cf4f3ccafebabe tunnel 192.0.2.1 2001:db8::1", "one address family"),
            ("sp out protect 9 pri 1 src 10.0.0.0/8 dst 10.0.0.0/8", "not defined above"),
            ("sp out bypass src 10.0.0.0/8 dst 10.0.0.0/8", "missing `pri"),
            ("sp out bypass pri 1 src 10.0.0.0/8 dst 10.0.0.0/8 dport 9:1", "port range"),
            ("sp sideways bypass pri 1", "direction"),
            ("frobnicate", "unknown statement"),
            ("sp out protect 1,2 pri 1 src 10.0.0.0/8 dst 10.0.0.0/8", "bundles"),
            ("port 65536 protected", "over 65535"),
            ("sa 1 out spi 0x1005 aes128gcm16 key 2b7e151628aed2a6abf7158809cf4f3ccafebabe tunnel 192.0.2.1 192.0.2.2 window 4294967328", "over 4294967295"),
            ("sa 1 out spi 0x1005 aes128gcm16 key 2b7e151628aed2a6abf7158809cf4f3ccafebabe tunnel 192.0.2.1 192.0.2.2 natt 70000:4500", "over 65535"),
            ("sa 4000000000 out spi 0x1005 aes999", "SA id 4000000000 is over"),
            ("port 0 inside", "port role"),
        ];
        for (line, want) in cases {
            let text = format!("# header\n{line}\n");
            let e = Config::parse(&text, "bad.conf").unwrap_err();
            assert_eq!((e.file.as_str(), e.line), ("bad.conf", 2), "{line}");
            assert!(e.reason.contains(want), "{line}: {} lacks {want}", e.reason);
            assert!(e.to_string().starts_with("bad.conf:2: "));
        }
    }
}
