//! The `sa` and `sp` statements of the fast path's configuration file, which `fastpath-ctl`
//! also takes on its command line: the text form of `SaSpec` and `SpSpec`. Parsing goes
//! through the same checks as the decoder; `Display` writes a statement that parses back to
//! the same spec (keys included: it is meant for files, not for logs).
//!
//! ```text
//! sa 1 out spi 0x1005 aes128gcm16 key 2b7e...cafebabe tunnel 192.0.2.1 192.0.2.2 esn window 1024
//! sa 2 in  spi 0x2005 aes128-sha1 key 2b7e... auth-key 0102... tunnel 192.0.2.1 192.0.2.2 natt 4500:4500
//! sp out protect 1 pri 10 src 198.51.100.0/24 dst 203.0.113.0/24 proto udp dport 5001
//! sp out bypass pri 1 src 0.0.0.0/0 dst 192.0.2.0/24 proto udp dport 500
//! ```
//! SA options: `esn`, `window N` (0: no anti-replay), `natt L:R`, `lifetime-bytes S:H`,
//! `lifetime-packets S:H`, `dscp copy|N`, `df copy|set|clear`, `ttl N`, `standby`.

use crate::id::SaId;
use crate::key::KeyBytes;
use crate::sa::{
    Df, Direction, Dscp, Lifetimes, Natt, SaMode, SaSpec, Transform, DEFAULT_TTL, DEFAULT_WINDOW,
};
use crate::sp::{PortRange, SpAction, SpSpec};
use ipnet::IpNet;
use std::fmt;
use toolkit::config::{parse_u64, Words};

/// The words of a statement with or without its keyword (`sa ...` or `...`).
pub fn without_keyword<'a, 'b>(words: &'b [&'a str], keyword: &str) -> &'b [&'a str] {
    match words.first() {
        Some(w) if *w == keyword => &words[1..],
        _ => words,
    }
}

fn direction(w: &str) -> Result<Direction, String> {
    Direction::from_word(w).ok_or_else(|| format!("direction `{w}`: want in or out"))
}

fn pair(s: &str) -> Result<(u64, u64), String> {
    let (a, b) = s
        .split_once(':')
        .ok_or_else(|| format!("`{s}`: want A:B"))?;
    Ok((parse_u64(a)?, parse_u64(b)?))
}

fn port(v: u64) -> Result<u16, String> {
    u16::try_from(v).map_err(|_| format!("port {v} is over 65535"))
}

/// The words of an `sa` statement after its keyword.
pub fn parse_sa(words: &[&str]) -> Result<SaSpec, String> {
    let mut w = Words::new(words);
    let id: SaId = w.next("SA id")?.parse().map_err(|e| format!("{e}"))?;
    let dir = direction(w.next("direction")?)?;
    if w.next("`spi`")? != "spi" {
        return Err("want `spi N` after the direction".into());
    }
    let spi = w.next_u32("SPI")?;
    let t = w.next("transform")?;
    let transform = Transform::from_name(t).ok_or_else(|| format!("unknown transform `{t}`"))?;
    let mut spec = SaSpec {
        id,
        dir,
        spi,
        transform,
        key: KeyBytes::default(),
        auth_key: KeyBytes::default(),
        mode: SaMode::Transport,
        esn: false,
        window: DEFAULT_WINDOW,
        natt: None,
        lifetime: Lifetimes::default(),
        dscp: Dscp::Copy,
        df: Df::Copy,
        ttl: DEFAULT_TTL,
        standby: false,
    };
    let mut mode = None;
    while let Some(option) = w.peek() {
        w.next("SA option")?;
        match option {
            "key" => spec.key = KeyBytes::from_hex(w.next("key")?)?,
            "auth-key" => spec.auth_key = KeyBytes::from_hex(w.next("auth-key")?)?,
            "tunnel" => {
                let local = w.next_ip("tunnel local address")?;
                let remote = w.next_ip("tunnel remote address")?;
                mode = Some(SaMode::Tunnel { local, remote });
            }
            "transport" => mode = Some(SaMode::Transport),
            "esn" => spec.esn = true,
            "standby" => spec.standby = true,
            "window" => spec.window = w.next_u32("window")?,
            "natt" => {
                let (l, r) = pair(w.next("natt ports")?)?;
                spec.natt = Some(Natt {
                    local_port: port(l)?,
                    remote_port: port(r)?,
                });
            }
            "lifetime-bytes" => {
                let (soft, hard) = pair(w.next("lifetime-bytes")?)?;
                spec.lifetime.soft_bytes = soft;
                spec.lifetime.hard_bytes = hard;
            }
            "lifetime-packets" => {
                let (soft, hard) = pair(w.next("lifetime-packets")?)?;
                spec.lifetime.soft_packets = soft;
                spec.lifetime.hard_packets = hard;
            }
            "dscp" => {
                spec.dscp = match w.next("dscp")? {
                    "copy" => Dscp::Copy,
                    v => Dscp::Set(
                        parse_u64(v)
                            .ok()
                            .and_then(|d| u8::try_from(d).ok())
                            .filter(|d| *d < 64)
                            .ok_or("dscp: want copy or 0..63")?,
                    ),
                }
            }
            "df" => {
                spec.df = match w.next("df")? {
                    "copy" => Df::Copy,
                    "set" => Df::Set,
                    "clear" => Df::Clear,
                    _ => return Err("df: want copy, set or clear".into()),
                }
            }
            "ttl" => {
                spec.ttl = parse_u64(w.next("ttl")?)
                    .ok()
                    .and_then(|t| u8::try_from(t).ok())
                    .filter(|t| *t >= 1)
                    .ok_or("ttl: want 1..255")?
            }
            k => return Err(format!("unknown SA option `{k}`")),
        }
    }
    spec.mode = mode.ok_or("missing `tunnel LOCAL REMOTE` or `transport`")?;
    spec.check().map_err(|e| e.to_string())?;
    Ok(spec)
}

fn prefix(s: &str) -> Result<IpNet, String> {
    match s.parse::<IpNet>() {
        Ok(n) => Ok(n.trunc()),
        Err(_) => s
            .parse::<std::net::IpAddr>()
            .map(IpNet::from)
            .map_err(|_| format!("`{s}` is not a prefix")),
    }
}

fn port_range(s: &str) -> Result<PortRange, String> {
    let (lo, hi) = match s.split_once(':') {
        Some((a, b)) => (parse_u64(a)?, parse_u64(b)?),
        None => {
            let p = parse_u64(s)?;
            (p, p)
        }
    };
    u16::try_from(lo)
        .ok()
        .zip(u16::try_from(hi).ok())
        .and_then(|(lo, hi)| PortRange::new(lo, hi))
        .ok_or_else(|| format!("port range `{s}` is not LO:HI within 0..65535"))
}

/// IP protocol names as operators write them (and numbers).
fn protocol(s: &str) -> Result<Option<u8>, String> {
    Ok(match s {
        "any" => None,
        "tcp" => Some(6),
        "udp" => Some(17),
        "icmp" => Some(1),
        "ipv6-icmp" | "icmp6" => Some(58),
        "esp" => Some(50),
        n => Some(u8::try_from(parse_u64(n)?).map_err(|_| format!("protocol `{n}` is over 255"))?),
    })
}

/// The words of an `sp` statement after its keyword.
pub fn parse_sp(words: &[&str]) -> Result<SpSpec, String> {
    let mut w = Words::new(words);
    let dir = direction(w.next("direction")?)?;
    let action = match w.next("action")? {
        "protect" => {
            let ids = w.next("SA id")?;
            // The fast path applies one SA per packet: a bundle is refused rather than
            // applied in part.
            if ids.contains(',') {
                return Err(
                    "SA bundles (protect A,B) are not applied by the fast path yet: protect one SA"
                        .into(),
                );
            }
            SpAction::Protect(ids.parse().map_err(|e| format!("{e}"))?)
        }
        "bypass" => SpAction::Bypass,
        "discard" => SpAction::Discard,
        a => return Err(format!("action `{a}`: want protect, bypass or discard")),
    };
    let mut priority = None;
    let (mut src, mut dst) = (None, None);
    let mut proto = None;
    let (mut sport, mut dport) = (PortRange::ANY, PortRange::ANY);
    while let Some(option) = w.peek() {
        w.next("SP option")?;
        match option {
            "pri" => priority = Some(w.next_u32("priority")?),
            "src" => src = Some(prefix(w.next("source prefix")?)?),
            "dst" => dst = Some(prefix(w.next("destination prefix")?)?),
            "proto" => proto = protocol(w.next("protocol")?)?,
            "sport" => sport = port_range(w.next("source ports")?)?,
            "dport" => dport = port_range(w.next("destination ports")?)?,
            k => return Err(format!("unknown SP option `{k}`")),
        }
    }
    let src = src.ok_or("missing `src PREFIX`")?;
    let dst = dst.ok_or("missing `dst PREFIX`")?;
    let priority = priority.ok_or("missing `pri N`")?;
    SpSpec::new(dir, action, priority, src, dst, proto, sport, dport)
}

impl fmt::Display for SaSpec {
    /// The `sa` statement, keys included.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sa {} {} spi {:#010x} {}",
            self.id, self.dir, self.spi, self.transform
        )?;
        // A null cipher has no key: an empty `key` would take the next word as its value.
        if !self.key.is_empty() {
            write!(f, " key {}", &*self.key.to_hex())?;
        }
        if !self.auth_key.is_empty() {
            write!(f, " auth-key {}", &*self.auth_key.to_hex())?;
        }
        write!(f, " {}", self.mode)?;
        if self.esn {
            f.write_str(" esn")?;
        }
        if self.window != DEFAULT_WINDOW {
            write!(f, " window {}", self.window)?;
        }
        if let Some(n) = self.natt {
            write!(f, " natt {}:{}", n.local_port, n.remote_port)?;
        }
        let l = &self.lifetime;
        if l.soft_bytes != 0 || l.hard_bytes != 0 {
            write!(f, " lifetime-bytes {}:{}", l.soft_bytes, l.hard_bytes)?;
        }
        if l.soft_packets != 0 || l.hard_packets != 0 {
            write!(f, " lifetime-packets {}:{}", l.soft_packets, l.hard_packets)?;
        }
        if let Dscp::Set(d) = self.dscp {
            write!(f, " dscp {d}")?;
        }
        match self.df {
            Df::Copy => {}
            Df::Set => f.write_str(" df set")?,
            Df::Clear => f.write_str(" df clear")?,
        }
        if self.ttl != DEFAULT_TTL {
            write!(f, " ttl {}", self.ttl)?;
        }
        if self.standby {
            f.write_str(" standby")?;
        }
        Ok(())
    }
}

impl fmt::Display for SpSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sp {} ", self.dir)?;
        match self.action {
            SpAction::Protect(id) => write!(f, "protect {id}")?,
            SpAction::Bypass => f.write_str("bypass")?,
            SpAction::Discard => f.write_str("discard")?,
        }
        write!(
            f,
            " pri {} src {} dst {}",
            self.priority, self.src, self.dst
        )?;
        if let Some(p) = self.proto {
            write!(f, " proto {p}")?;
        }
        if !self.sport.is_any() {
            write!(f, " sport {}", self.sport)?;
        }
        if !self.dport.is_any() {
            write!(f, " dport {}", self.dport)?;
        }
        Ok(())
    }
}
