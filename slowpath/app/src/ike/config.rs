//! The IKE statements of the slow path's configuration file: `secret`, `pool`, `conn` and
//! `child`, one per line, with strongSwan's proposal keywords so that operators recognise them.
//! The caller splits a line into words (a quoted value may span several: they are joined
//! again here) and adds `file:line` to a refused line's reason.
//!
//! ```text
//! secret lab psk 0x0102030405060708090a0b0c0d0e0f10        # or psk "some text", psk-file PATH
//! pool vpn 10.3.0.0/24 dns 10.1.0.53 subnet 10.1.0.0/16     # or a range 10.3.0.10-10.3.0.99
//! conn gw2 local 192.0.2.1 remote 192.0.2.2 local-id fqdn:gw1.example remote-id fqdn:gw2.example
//!      (one line) auth psk lab ike aes128gcm16-prfsha256-ecp256,aes128-sha1-modp2048
//!      dpd 30s dpd-action restart rekey 4h jitter 10% start
//! conn roadwarriors local 192.0.2.1 remote any local-id dn:"C=CH, O=Lab, CN=gw1"
//!      (one line) auth pubkey cert /etc/gw/gw1.pem key /etc/gw/gw1.key ca /etc/gw/ca.pem
//!      ike aes256gcm16-prfsha384-curve25519 pool vpn add
//! child net conn gw2 local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16,10.4.0.0/16[tcp/443]
//!      (one line) esp aes128gcm16-esn,aes128-sha1-modp2048 rekey 1h life 1h10m replay-window 1024
//! ```
//!
//! Defaults (strongSwan's where it has one): IKE rekey 4h with 10% jitter, DPD off, action
//! `clear`, retransmit 4s x 1.8 for 5 tries, start action `add` (wait for the peer or the
//! operator); CHILD rekey 1h, life 110% of rekey, jitter life - rekey (at most half the rekey
//! time). `bytes N` / `packets N` are the CHILD SA's hard limits, rekeyed at 90%. A `#` ends
//! the line before this parser sees it: give secrets with a `#` in hex.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use ike::config::{
    AuthConfig, ChildConfig, DpdAction, DpdConfig, Identity, IkeConfig, Lifetimes, Mode,
    PubKeyAuth, RetransmitConfig, StartAction, VirtualIpConfig,
};
use ike::crypto::transform::{
    Suite, AUTH_HMAC_SHA1_96, AUTH_HMAC_SHA2_256_128, AUTH_HMAC_SHA2_384_192,
    AUTH_HMAC_SHA2_512_256, CURVE25519, ECP_256, ECP_384, ENCR_AES_CBC, ENCR_AES_GCM_16, MODP_1024,
    MODP_2048, MODP_3072, PRF_HMAC_SHA1, PRF_HMAC_SHA2_256, PRF_HMAC_SHA2_384, PRF_HMAC_SHA2_512,
};
use ike::message::TrafficSelector;
use ike::pool::PoolConfig;
use openssl::pkey::PKey;
use openssl::x509::{X509Name, X509NameBuilder};
use zeroize::Zeroizing;

/// The IKE port; `encap` and NAT-T move to 4500 by themselves.
pub const IKE_PORT: u16 = 500;
/// The statements this module parses (the first word of a line).
pub const STATEMENTS: &[&str] = &["secret", "pool", "conn", "child"];
/// More suites than this from one `ike` or `esp` list is a typo, not a policy.
const MAX_SUITES: usize = 64;

/// What the fast path needs of a CHILD SA that the engine has no field for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildExtra {
    pub conn: String,
    pub child: String,
    /// The inbound SA's anti-replay window (`window N`, 0: off); the fast path's default if None.
    pub replay_window: Option<u32>,
}

/// What a connection has besides its `IkeConfig`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnExtra {
    pub conn: String,
    /// The fast path port the connection's traffic leaves by (kept for the daemon; the
    /// runner does not use it yet).
    pub fastpath_port: Option<u16>,
    /// The conn's start action, applied to the children that follow it.
    pub start: StartAction,
}

/// A named pre-shared key.
#[derive(Clone)]
struct Secret {
    name: String,
    key: Zeroizing<Vec<u8>>,
}

/// Every IKE statement of a file, ready for `IkeRunner::new`.
#[derive(Default, Clone)]
pub struct IkeSettings {
    pub conns: Vec<IkeConfig>,
    pub pools: Vec<PoolConfig>,
    pub conn_extras: Vec<ConnExtra>,
    pub child_extras: Vec<ChildExtra>,
    secrets: Vec<Secret>,
}

// Never print secrets (IkeConfig's own Debug hides its keys).
impl std::fmt::Debug for IkeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IkeSettings")
            .field("conns", &self.conns)
            .field("pools", &self.pools)
            .field("conn_extras", &self.conn_extras)
            .field("child_extras", &self.child_extras)
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl IkeSettings {
    /// Whether a line starting with `word` is one of ours.
    pub fn is_statement(word: &str) -> bool {
        STATEMENTS.contains(&word)
    }

    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// One line, keyword included (`words[0]` is one of `STATEMENTS`). Names used by a line
    /// must be defined above it.
    pub fn parse_statement(&mut self, words: &[&str]) -> Result<(), String> {
        let tokens = join_quoted(words)?;
        let t: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let (kw, rest) = t.split_first().ok_or("empty statement")?;
        match *kw {
            "secret" => {
                let s = parse_secret(rest)?;
                if self.secrets.iter().any(|o| o.name == s.name) {
                    return Err(format!("secret {} is defined twice", s.name));
                }
                self.secrets.push(s);
            }
            "pool" => {
                let p = parse_pool(rest)?;
                if self.pools.iter().any(|o| o.name == p.name) {
                    return Err(format!("pool {} is defined twice", p.name));
                }
                self.pools.push(p);
            }
            "conn" => {
                let (c, extra) = self.parse_conn(rest)?;
                if self.conns.iter().any(|o| o.name == c.name) {
                    return Err(format!("conn {} is defined twice", c.name));
                }
                self.conns.push(c);
                self.conn_extras.push(extra);
            }
            "child" => self.parse_child(rest)?,
            w => return Err(format!("`{w}` is not an IKE statement")),
        }
        Ok(())
    }

    /// Checks what can only be checked once every line is in: each conn has a child.
    pub fn finish(&self) -> Result<(), String> {
        for c in &self.conns {
            if c.children.is_empty() {
                return Err(format!(
                    "conn {} has no child (`child NAME conn {} ...`)",
                    c.name, c.name
                ));
            }
        }
        Ok(())
    }

    pub fn child_extra(&self, conn: &str, child: &str) -> Option<&ChildExtra> {
        self.child_extras
            .iter()
            .find(|e| e.conn == conn && e.child == child)
    }

    fn parse_conn(&self, w: &[&str]) -> Result<(IkeConfig, ConnExtra), String> {
        let (name, rest) = w.split_first().ok_or("conn wants a name")?;
        check_name(name)?;
        let mut it = rest.iter();
        let (mut local, mut remote) = (None::<IpAddr>, None::<Option<IpAddr>>);
        let (mut local_id, mut remote_id) = (None, None::<Option<(Identity, Option<X509Name>)>>);
        let mut auth = None::<AuthSpec>;
        let mut ike = None;
        let mut dpd = DpdConfig {
            interval: Duration::ZERO,
            action: DpdAction::Clear,
        };
        let mut rekey = Duration::from_secs(4 * 3600);
        let mut jitter_pct = 10u32;
        let mut encap = false;
        let mut vip = VirtualIpConfig::default();
        let mut fragment = None;
        let mut retransmit = RetransmitConfig::default();
        let mut start = StartAction::None;
        let mut fastpath_port = None;
        while let Some(opt) = it.next() {
            match *opt {
                "local" => {
                    let v = value(&mut it, opt)?;
                    if v == "any" || v == "%any" {
                        return Err("local any is not supported: give this node's address".into());
                    }
                    local = Some(ip(v)?);
                }
                "remote" => {
                    let v = value(&mut it, opt)?;
                    remote = Some(if v == "any" || v == "%any" {
                        None
                    } else {
                        Some(ip(v)?)
                    });
                }
                "local-id" => local_id = Some(parse_identity(value(&mut it, opt)?)?),
                "remote-id" => {
                    let v = value(&mut it, opt)?;
                    remote_id = Some(if v == "any" || v == "%any" {
                        None
                    } else {
                        Some(parse_identity(v)?)
                    });
                }
                "auth" => auth = Some(parse_auth(&mut it)?),
                "ike" => ike = Some(parse_proposals(value(&mut it, opt)?, Kind::Ike)?.0),
                "dpd" => dpd.interval = parse_duration(value(&mut it, opt)?)?,
                "dpd-action" => {
                    dpd.action = match value(&mut it, opt)? {
                        "clear" => DpdAction::Clear,
                        "restart" => DpdAction::Restart,
                        "hold" | "trap" => DpdAction::Hold,
                        a => return Err(format!("dpd-action {a}: clear, restart or hold")),
                    }
                }
                "rekey" => rekey = parse_duration(value(&mut it, opt)?)?,
                "jitter" => jitter_pct = parse_percent(value(&mut it, opt)?)?,
                "encap" => encap = true,
                "pool" => {
                    let p = value(&mut it, opt)?;
                    if !self.pools.iter().any(|o| o.name == p) {
                        return Err(format!("pool {p} is not defined above"));
                    }
                    vip.pool = Some(p.to_string());
                }
                "vip" => vip.request = true,
                "fragment" => {
                    let n: usize = number(opt, value(&mut it, opt)?)?;
                    if !(576..=65535).contains(&n) {
                        return Err("fragment: 576 to 65535 octets".into());
                    }
                    fragment = Some(n);
                }
                "retransmit" => retransmit.timeout = parse_duration(value(&mut it, opt)?)?,
                "tries" => retransmit.tries = number(opt, value(&mut it, opt)?)?,
                "start" => start = StartAction::Start,
                "add" => start = StartAction::None,
                "trap" => start = StartAction::Trap,
                "fastpath-port" => fastpath_port = Some(number(opt, value(&mut it, opt)?)?),
                o => return Err(format!("unknown conn option `{o}`")),
            }
        }
        let local = local.ok_or("missing `local ADDRESS`")?;
        let remote = remote.ok_or("missing `remote ADDRESS|any`")?;
        let remote = match remote {
            Some(r) if r.is_ipv4() != local.is_ipv4() => {
                return Err("local and remote must be of one address family".into())
            }
            Some(r) => r,
            None if local.is_ipv4() => Ipv4Addr::UNSPECIFIED.into(),
            None => Ipv6Addr::UNSPECIFIED.into(),
        };
        if remote.is_unspecified() && start != StartAction::None {
            return Err("a conn with `remote any` can only wait (`add`)".into());
        }
        let ike_proposals =
            ike.ok_or("missing `ike PROPOSALS` (e.g. aes128gcm16-prfsha256-ecp256)")?;
        if retransmit.timeout.is_zero() {
            return Err("retransmit: above 0".into());
        }
        let auth = match auth.ok_or("missing `auth psk SECRET` or `auth pubkey ...`")? {
            AuthSpec::Psk(secret) => {
                let s = self
                    .secrets
                    .iter()
                    .find(|s| s.name == secret)
                    .ok_or(format!("secret {secret} is not defined above"))?;
                AuthConfig::Psk(s.key.clone())
            }
            AuthSpec::PubKey(p) => AuthConfig::PubKey(p),
        };
        let local_id = match (local_id, &auth) {
            (None, AuthConfig::Psk(_)) => Identity::ip(local),
            (None, AuthConfig::PubKey(p)) => cert_subject(p)?,
            (Some((id, None)), _) => id,
            // A DN that names our certificate's subject: its exact DER, so that the peer's
            // byte comparison with the certificate holds whatever string types were used.
            (Some((_, Some(dn))), AuthConfig::PubKey(p)) => {
                let subject = p.cert_chain[0].subject_name();
                if dn.try_cmp(subject).map_err(|e| e.to_string())? == std::cmp::Ordering::Equal {
                    cert_subject(p)?
                } else {
                    return Err("local-id: the DN is not the certificate's subject".into());
                }
            }
            (Some((id, Some(_))), AuthConfig::Psk(_)) => id,
        };
        let config = IkeConfig {
            name: name.to_string(),
            local_addr: SocketAddr::new(local, IKE_PORT),
            remote_addr: SocketAddr::new(remote, IKE_PORT),
            local_id,
            remote_id: remote_id.flatten().map(|(id, _)| id),
            auth,
            ike_proposals,
            esp_proposals: Vec::new(),
            children: Vec::new(),
            rekey_time: rekey,
            rekey_jitter: rekey * jitter_pct / 100,
            reauth_time: Duration::ZERO,
            dpd,
            retransmit,
            force_encap: encap,
            fragment_size: fragment,
            virtual_ip: vip,
            initial_contact: true,
        };
        let extra = ConnExtra {
            conn: name.to_string(),
            fastpath_port,
            start,
        };
        Ok((config, extra))
    }

    fn parse_child(&mut self, w: &[&str]) -> Result<(), String> {
        let (name, rest) = w.split_first().ok_or("child wants a name")?;
        check_name(name)?;
        let mut it = rest.iter();
        let mut conn = None;
        let (mut local_ts, mut remote_ts) = (None, None);
        let mut esp = None;
        let mut mode = Mode::Tunnel;
        let mut esn_flag = false;
        let (mut rekey, mut life) = (None, None);
        let (mut bytes, mut packets) = (0u64, 0u64);
        let mut replay_window = None;
        while let Some(opt) = it.next() {
            match *opt {
                "conn" => {
                    let c = value(&mut it, opt)?;
                    let i = self
                        .conns
                        .iter()
                        .position(|o| o.name == c)
                        .ok_or(format!("conn {c} is not defined above"))?;
                    conn = Some(i);
                }
                "local-ts" => local_ts = Some(value(&mut it, opt)?),
                "remote-ts" => remote_ts = Some(value(&mut it, opt)?),
                "esp" => esp = Some(parse_proposals(value(&mut it, opt)?, Kind::Esp)?),
                "mode" => {
                    mode = match value(&mut it, opt)? {
                        "tunnel" => Mode::Tunnel,
                        "transport" => Mode::Transport,
                        m => return Err(format!("mode {m}: tunnel or transport")),
                    }
                }
                "esn" => esn_flag = true,
                "rekey" => rekey = Some(parse_duration(value(&mut it, opt)?)?),
                "life" => life = Some(parse_duration(value(&mut it, opt)?)?),
                "bytes" => bytes = number(opt, value(&mut it, opt)?)?,
                "packets" => packets = number(opt, value(&mut it, opt)?)?,
                "replay-window" => {
                    let n: u32 = number(opt, value(&mut it, opt)?)?;
                    if n > 1 << 20 {
                        return Err("replay-window: at most 1048576".into());
                    }
                    replay_window = Some(n);
                }
                o => return Err(format!("unknown child option `{o}`")),
            }
        }
        let ci = conn.ok_or("missing `conn NAME`")?;
        let (esp, esn_words) = esp.ok_or("missing `esp PROPOSALS` (e.g. aes128gcm16)")?;
        let c = &self.conns[ci];
        if c.children.iter().any(|o| o.name == *name) {
            return Err(format!("conn {} already has a child {name}", c.name));
        }
        let local_ts = parse_ts_list(local_ts.ok_or("missing `local-ts`")?, c)?;
        let remote_ts = parse_ts_list(remote_ts.ok_or("missing `remote-ts`")?, c)?;
        let esn = match esn_words {
            EsnWords::Both => {
                return Err(
                    "esn and noesn together (either is fine) cannot be offered here: pick one"
                        .into(),
                )
            }
            EsnWords::Esn => true,
            EsnWords::NoEsn if esn_flag => return Err("`esn` with proposals that say noesn".into()),
            EsnWords::NoEsn | EsnWords::None => esn_flag,
        };
        let rekey_time = rekey.unwrap_or(match life {
            Some(l) => l * 9 / 10,
            None => Duration::from_secs(3600),
        });
        let life_time = life.unwrap_or(rekey_time * 11 / 10);
        if !life_time.is_zero() && rekey_time >= life_time {
            return Err("rekey must come before life".into());
        }
        let jitter = if life_time.is_zero() {
            rekey_time / 10
        } else {
            (life_time - rekey_time).min(rekey_time / 2)
        };
        let start = self.conn_extras[ci].start;
        let child = ChildConfig {
            name: name.to_string(),
            local_ts,
            remote_ts,
            mode,
            esp_proposals: esp,
            esn,
            lifetimes: Lifetimes {
                rekey_time,
                life_time,
                rekey_bytes: bytes - bytes / 10,
                life_bytes: bytes,
                rekey_packets: packets - packets / 10,
                life_packets: packets,
                jitter,
            },
            start_action: start,
        };
        let conn_name = self.conns[ci].name.clone();
        self.conns[ci].children.push(child);
        self.child_extras.push(ChildExtra {
            conn: conn_name,
            child: name.to_string(),
            replay_window,
        });
        Ok(())
    }
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '"') {
        return Err(format!("`{name}` is not a usable name"));
    }
    Ok(())
}

/// Joins the words of a quoted value (`dn:"C=CH, O=Lab"`) that the line's splitting cut.
pub fn join_quoted(words: &[&str]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut open: Option<String> = None;
    for w in words {
        match open.as_mut() {
            Some(s) => {
                s.push(' ');
                s.push_str(w);
                if s.matches('"').count() % 2 == 0 {
                    out.extend(open.take());
                }
            }
            None if w.matches('"').count() % 2 == 1 => open = Some(w.to_string()),
            None => out.push(w.to_string()),
        }
    }
    match open {
        Some(s) => Err(format!("unterminated quote in `{s}`")),
        None => Ok(out),
    }
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

fn value<'a>(it: &mut std::slice::Iter<'_, &'a str>, what: &str) -> Result<&'a str, String> {
    it.next()
        .copied()
        .ok_or_else(|| format!("`{what}` wants a value"))
}

fn number<T: std::str::FromStr>(what: &str, s: &str) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("{what}: `{s}` is not a number in range"))
}

fn ip(s: &str) -> Result<IpAddr, String> {
    s.parse().map_err(|_| format!("`{s}` is not an IP address"))
}

/// `30s`, `100ms`, `4h`, `1h10m`, `2d`; a bare number is seconds (as strongSwan's).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a duration (100ms, 30s, 10m, 4h, 1h10m, 1d)");
    if s.is_empty() {
        return Err(bad());
    }
    if let Ok(n) = s.parse::<u64>() {
        return Ok(Duration::from_secs(n));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (unit, tail) = rest.split_at(unit_len);
        rest = tail;
        let secs = |m: u64| n.checked_mul(m).map(Duration::from_secs);
        let d = match unit {
            "ms" => Some(Duration::from_millis(n)),
            "s" => secs(1),
            "m" => secs(60),
            "h" => secs(3600),
            "d" => secs(86400),
            _ => None,
        };
        total = d.and_then(|d| total.checked_add(d)).ok_or_else(bad)?;
    }
    Ok(total)
}

fn parse_percent(s: &str) -> Result<u32, String> {
    s.strip_suffix('%')
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| *n <= 100)
        .ok_or(format!("`{s}` is not a percentage (0% to 100%)"))
}

fn parse_secret(w: &[&str]) -> Result<Secret, String> {
    let (name, rest) = w.split_first().ok_or("secret wants a name")?;
    check_name(name)?;
    let key = match rest {
        ["psk", v] => parse_psk(v)?,
        ["psk-file", path] => {
            let mut bytes = std::fs::read(unquote(path))
                .map_err(|e| format!("psk-file {}: {e}", unquote(path)))?;
            while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                bytes.pop();
            }
            Zeroizing::new(bytes)
        }
        _ => return Err("secret NAME psk 0xHEX|\"text\" | secret NAME psk-file PATH".into()),
    };
    if key.is_empty() {
        return Err("an empty secret".into());
    }
    Ok(Secret {
        name: name.to_string(),
        key,
    })
}

fn parse_psk(v: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    if let Some(h) = v.strip_prefix("0x") {
        return hex::decode(h)
            .map(Zeroizing::new)
            .map_err(|_| "psk: 0x must be followed by hex digits".into());
    }
    if v.starts_with('"') {
        if v.len() < 2 || !v.ends_with('"') {
            return Err("psk: unterminated quote".into());
        }
        return Ok(Zeroizing::new(unquote(v).as_bytes().to_vec()));
    }
    Ok(Zeroizing::new(v.as_bytes().to_vec()))
}

/// `10.3.0.0/24` (the addresses between network and broadcast) or `10.3.0.10-10.3.0.99`.
fn parse_pool(w: &[&str]) -> Result<PoolConfig, String> {
    let (name, rest) = w.split_first().ok_or("pool wants a name")?;
    check_name(name)?;
    let (range, rest) = rest
        .split_first()
        .ok_or("pool NAME PREFIX|FIRST-LAST [dns A] [nbns A] [dhcp A] [subnet PREFIX]")?;
    let v4 = |s: &str| -> Result<Ipv4Addr, String> {
        s.parse()
            .map_err(|_| format!("`{s}` is not an IPv4 address (pools are IPv4)"))
    };
    let (first, last) = if let Some((a, b)) = range.split_once('-') {
        let (a, b) = (v4(a)?, v4(b)?);
        if a > b {
            return Err(format!("pool range {range} is backwards"));
        }
        (a, b)
    } else {
        let (addr, len) = parse_prefix(range)?;
        let IpAddr::V4(addr) = addr else {
            return Err("pools are IPv4".into());
        };
        let host = u32::MAX.checked_shr(u32::from(len)).unwrap_or(0);
        let net = u32::from(addr) & !host;
        if len >= 31 {
            (Ipv4Addr::from(net), Ipv4Addr::from(net | host))
        } else {
            (Ipv4Addr::from(net + 1), Ipv4Addr::from((net | host) - 1))
        }
    };
    let mut pool = PoolConfig {
        name: name.to_string(),
        first,
        last,
        netmask: None,
        dns: vec![],
        nbns: vec![],
        dhcp: vec![],
        subnets: vec![],
    };
    let mut it = rest.iter();
    while let Some(opt) = it.next() {
        match *opt {
            "dns" => pool.dns.push(v4(value(&mut it, opt)?)?),
            "nbns" => pool.nbns.push(v4(value(&mut it, opt)?)?),
            "dhcp" => pool.dhcp.push(v4(value(&mut it, opt)?)?),
            "subnet" => {
                let (addr, len) = parse_prefix(value(&mut it, opt)?)?;
                let IpAddr::V4(addr) = addr else {
                    return Err("subnet: IPv4".into());
                };
                let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
                pool.subnets
                    .push((Ipv4Addr::from(u32::from(addr) & mask), Ipv4Addr::from(mask)));
            }
            o => return Err(format!("unknown pool option `{o}`")),
        }
    }
    Ok(pool)
}

/// `ADDR/LEN` or `ADDR` (a host).
fn parse_prefix(s: &str) -> Result<(IpAddr, u8), String> {
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr = ip(a)?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        Some(l) => l
            .parse::<u8>()
            .ok()
            .filter(|l| *l <= max)
            .ok_or(format!("`{s}`: prefix length 0 to {max}"))?,
        None => max,
    };
    Ok((addr, len))
}

/// `fqdn:NAME`, `ip:ADDR`, `email:USER@DOMAIN`, `dn:"C=CH, O=Lab, CN=gw"`; without a type:
/// an address, a mail address (has `@`), a DN (has `=`), else a name. The X.509 name comes
/// back too for DNs.
fn parse_identity(s: &str) -> Result<(Identity, Option<X509Name>), String> {
    let (kind, v) = match s.split_once(':') {
        Some((k @ ("fqdn" | "ip" | "email" | "dn"), v)) => (k, unquote(v)),
        _ => {
            let v = unquote(s);
            let kind = if v.parse::<IpAddr>().is_ok() {
                "ip"
            } else if v.contains('=') {
                "dn"
            } else if v.contains('@') {
                "email"
            } else {
                "fqdn"
            };
            (kind, v)
        }
    };
    if v.is_empty() {
        return Err(format!("identity `{s}` is empty"));
    }
    Ok(match kind {
        "ip" => (Identity::ip(ip(v)?), None),
        "email" => (Identity::user_fqdn(v), None),
        "dn" => {
            let name = parse_dn(v)?;
            let der = name.to_der().map_err(|e| format!("dn {v}: {e}"))?;
            (Identity::dn(der), Some(name))
        }
        _ => (Identity::fqdn(v), None),
    })
}

/// `C=CH, O=Lab, CN=gw` (also `/`-separated); values cannot contain `,` or `/`.
fn parse_dn(s: &str) -> Result<X509Name, String> {
    let mut b = X509NameBuilder::new().map_err(|e| e.to_string())?;
    let sep = if s.contains(',') { ',' } else { '/' };
    let mut n = 0;
    for part in s.split(sep).map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or(format!("dn: `{part}` is not KEY=VALUE"))?;
        b.append_entry_by_text(k.trim(), v.trim())
            .map_err(|_| format!("dn: `{}` is not a DN attribute OpenSSL knows", k.trim()))?;
        n += 1;
    }
    if n == 0 {
        return Err(format!("dn `{s}` is empty"));
    }
    Ok(b.build())
}

enum AuthSpec {
    Psk(String),
    PubKey(PubKeyAuth),
}

/// After `auth`: `psk SECRET` or `pubkey cert FILE key FILE ca FILE [ca FILE...]`.
fn parse_auth(it: &mut std::slice::Iter<'_, &str>) -> Result<AuthSpec, String> {
    match value(it, "auth")? {
        "psk" => Ok(AuthSpec::Psk(value(it, "auth psk")?.to_string())),
        "pubkey" => {
            let (mut cert, mut key, mut cas) = (None, None, Vec::new());
            while let Some(w) = it.as_slice().first().copied() {
                if !matches!(w, "cert" | "key" | "ca") {
                    break;
                }
                it.next();
                let path = unquote(value(it, w)?);
                let pem = std::fs::read(path).map_err(|e| format!("{w} {path}: {e}"))?;
                match w {
                    "cert" => {
                        cert = Some(
                            ike::crypto::auth::cert::load_pem_chain(&pem)
                                .map_err(|e| format!("cert {path}: {e}"))?,
                        )
                    }
                    "key" => {
                        key = Some(
                            PKey::private_key_from_pem(&pem)
                                .map_err(|e| format!("key {path}: {e}"))?,
                        )
                    }
                    _ => cas.extend(
                        ike::crypto::auth::cert::load_pem_chain(&pem)
                            .map_err(|e| format!("ca {path}: {e}"))?,
                    ),
                }
            }
            let cert_chain = cert.ok_or("auth pubkey: missing `cert FILE`")?;
            let private_key = key.ok_or("auth pubkey: missing `key FILE`")?;
            if cas.is_empty() {
                return Err("auth pubkey: missing `ca FILE`".into());
            }
            let public = cert_chain[0]
                .public_key()
                .map_err(|e| format!("cert: {e}"))?;
            if !public.public_eq(&private_key) {
                return Err("auth pubkey: the key is not the certificate's".into());
            }
            Ok(AuthSpec::PubKey(PubKeyAuth {
                private_key,
                cert_chain,
                trust_anchors: cas,
            }))
        }
        a => Err(format!("auth {a}: psk or pubkey")),
    }
}

fn cert_subject(p: &PubKeyAuth) -> Result<Identity, String> {
    ike::crypto::auth::cert::subject_dn_der(&p.cert_chain[0])
        .map(Identity::dn)
        .map_err(|e| format!("cert subject: {e}"))
}

/// Comma-separated selectors: `10.1.0.0/16`, `192.0.2.7`, `10.0.0.1-10.0.0.9`, `dynamic`
/// (the conn's own address; any address of its family when it asks for a virtual IP),
/// each with an optional `[PROTO]`, `[PROTO/PORT]` or `[PROTO/LO-HI]`.
fn parse_ts_list(s: &str, conn: &IkeConfig) -> Result<Vec<TrafficSelector>, String> {
    let mut out = Vec::new();
    for item in s.split(',') {
        let (addr, proto) = match item.split_once('[') {
            Some((a, p)) => (
                a,
                Some(
                    p.strip_suffix(']')
                        .ok_or(format!("`{item}`: unterminated ["))?,
                ),
            ),
            None => (item, None),
        };
        let (ip_protocol, ports) = match proto {
            None => (0, (0, 65535)),
            Some(p) => parse_ts_proto(p)?,
        };
        let ts = if addr == "dynamic" {
            let local = conn.local_addr.ip();
            if conn.virtual_ip.request {
                let any = TrafficSelector::any(local.is_ipv6());
                TrafficSelector::new(ip_protocol, ports, any.start_addr, any.end_addr)
            } else {
                TrafficSelector::new(ip_protocol, ports, local, local)
            }
        } else if let Some((a, b)) = addr.split_once('-') {
            let (a, b) = (ip(a)?, ip(b)?);
            if a.is_ipv4() != b.is_ipv4() || a > b {
                return Err(format!("`{addr}` is not a range of one family"));
            }
            TrafficSelector::new(ip_protocol, ports, a, b)
        } else {
            let (a, len) = parse_prefix(addr)?;
            TrafficSelector::from_prefix(a, len, ip_protocol, ports)
                .ok_or(format!("`{addr}` is not a prefix"))?
        };
        out.push(ts);
    }
    Ok(out)
}

fn parse_ts_proto(p: &str) -> Result<(u8, (u16, u16)), String> {
    let (proto, port) = match p.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (p, None),
    };
    let proto = match proto {
        "" | "any" => 0,
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        "icmp6" | "ipv6-icmp" => 58,
        "sctp" => 132,
        n => number("protocol", n)?,
    };
    let ports = match port {
        None | Some("" | "any" | "%any") => (0, 65535),
        Some(r) => {
            let (lo, hi) = match r.split_once('-') {
                Some((a, b)) => (number("port", a)?, number("port", b)?),
                None => {
                    let n = number("port", r)?;
                    (n, n)
                }
            };
            if lo > hi {
                return Err(format!("port range {r} is backwards"));
            }
            if proto == 0 {
                return Err("ports need a protocol ([tcp/80])".into());
            }
            (lo, hi)
        }
    };
    Ok((proto, ports))
}

/// Which proposal list is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ike,
    Esp,
}

/// The `esn`/`noesn` keywords an ESP list carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EsnWords {
    None,
    Esn,
    NoEsn,
    Both,
}

impl EsnWords {
    fn add(self, esn: bool) -> EsnWords {
        match (self, esn) {
            (EsnWords::None | EsnWords::Esn, true) => EsnWords::Esn,
            (EsnWords::None | EsnWords::NoEsn, false) => EsnWords::NoEsn,
            _ => EsnWords::Both,
        }
    }
}

/// A comma-separated list of strongSwan proposals, each `-`-separated keywords; several
/// keywords of one type in a proposal become one suite per combination, in the order given.
pub fn parse_proposals(s: &str, kind: Kind) -> Result<(Vec<Suite>, EsnWords), String> {
    let mut suites = Vec::new();
    let mut esn = EsnWords::None;
    for p in s.split(',') {
        let (mut s, e) = parse_proposal(p, kind)?;
        if let Some(e) = e {
            esn = esn.add(e);
        }
        suites.append(&mut s);
        if suites.len() > MAX_SUITES {
            return Err(format!(
                "more than {MAX_SUITES} suites: split the proposals"
            ));
        }
    }
    Ok((suites, esn))
}

/// strongSwan's proposal keywords and their IANA transform ids: what `ike` and `esp` lists are
/// parsed with, and what the operator's views print (`keyword_of`).
pub const INTEG_KEYWORDS: &[(&str, u16)] = &[
    ("sha1", AUTH_HMAC_SHA1_96),
    ("sha256", AUTH_HMAC_SHA2_256_128),
    ("sha384", AUTH_HMAC_SHA2_384_192),
    ("sha512", AUTH_HMAC_SHA2_512_256),
];
pub const PRF_KEYWORDS: &[(&str, u16)] = &[
    ("prfsha1", PRF_HMAC_SHA1),
    ("prfsha256", PRF_HMAC_SHA2_256),
    ("prfsha384", PRF_HMAC_SHA2_384),
    ("prfsha512", PRF_HMAC_SHA2_512),
];
/// Curve25519 is also accepted as `x25519` (strongSwan's older name).
pub const GROUP_KEYWORDS: &[(&str, u16)] = &[
    ("modp1024", MODP_1024),
    ("modp2048", MODP_2048),
    ("modp3072", MODP_3072),
    ("ecp256", ECP_256),
    ("ecp384", ECP_384),
    ("curve25519", CURVE25519),
];

fn id_of(table: &[(&str, u16)], keyword: &str) -> Option<u16> {
    table.iter().find(|(k, _)| *k == keyword).map(|(_, id)| *id)
}

/// The keyword of a transform id, if the table has it.
pub fn keyword_of(table: &[(&'static str, u16)], id: u16) -> Option<&'static str> {
    table.iter().find(|(_, i)| *i == id).map(|(k, _)| *k)
}

fn parse_proposal(p: &str, kind: Kind) -> Result<(Vec<Suite>, Option<bool>), String> {
    let (mut encr, mut integ, mut prf, mut dh) = (vec![], vec![], vec![], vec![]);
    let mut esn = None;
    for t in p.split('-') {
        match t {
            "aes128" => encr.push((ENCR_AES_CBC, 128)),
            "aes256" => encr.push((ENCR_AES_CBC, 256)),
            "aes128gcm16" => encr.push((ENCR_AES_GCM_16, 128)),
            "aes256gcm16" => encr.push((ENCR_AES_GCM_16, 256)),
            "sha384" | "sha512" if kind == Kind::Esp => {
                return Err(format!(
                    "{t}: the fast path has HMAC-SHA1-96 and HMAC-SHA2-256-128 (sha1, sha256)"
                ))
            }
            _ if id_of(INTEG_KEYWORDS, t).is_some() => integ.extend(id_of(INTEG_KEYWORDS, t)),
            _ if id_of(PRF_KEYWORDS, t).is_some() => prf.extend(id_of(PRF_KEYWORDS, t)),
            "x25519" => dh.push(CURVE25519),
            _ if id_of(GROUP_KEYWORDS, t).is_some() => dh.extend(id_of(GROUP_KEYWORDS, t)),
            "esn" | "noesn" if kind == Kind::Esp => {
                let e = t == "esn";
                if esn.is_some_and(|x| x != e) {
                    return Err(format!("`{p}`: esn and noesn together: pick one"));
                }
                esn = Some(e);
            }
            "" => return Err(format!("`{p}`: an empty keyword")),
            o => return Err(format!("`{p}`: unknown proposal keyword `{o}`")),
        }
    }
    if encr.is_empty() {
        return Err(format!(
            "`{p}`: no encryption algorithm (aes128, aes128gcm16, ...)"
        ));
    }
    let aead = encr.iter().filter(|(e, _)| *e == ENCR_AES_GCM_16).count();
    if aead != 0 && aead != encr.len() {
        return Err(format!(
            "`{p}`: put AEAD and CBC ciphers in separate proposals"
        ));
    }
    let aead = aead != 0;
    if aead && !integ.is_empty() {
        return Err(format!(
            "`{p}`: an AEAD cipher takes no integrity algorithm"
        ));
    }
    if !aead && integ.is_empty() {
        return Err(format!(
            "`{p}`: a CBC cipher needs an integrity algorithm (sha1, sha256)"
        ));
    }
    let prfs: Vec<Option<u16>> = match kind {
        Kind::Esp if !prf.is_empty() => {
            return Err(format!("`{p}`: no PRF in ESP proposals"));
        }
        Kind::Esp => vec![None],
        Kind::Ike if !prf.is_empty() => prf.into_iter().map(Some).collect(),
        Kind::Ike if aead => {
            return Err(format!(
                "`{p}`: an AEAD IKE proposal needs a PRF (prfsha256, ...)"
            ))
        }
        // strongSwan: the PRF of a CBC suite follows its integrity algorithm's hash.
        Kind::Ike => {
            let mut v: Vec<Option<u16>> = Vec::new();
            for i in &integ {
                let p = Some(match *i {
                    AUTH_HMAC_SHA1_96 => PRF_HMAC_SHA1,
                    AUTH_HMAC_SHA2_256_128 => PRF_HMAC_SHA2_256,
                    AUTH_HMAC_SHA2_384_192 => PRF_HMAC_SHA2_384,
                    _ => PRF_HMAC_SHA2_512,
                });
                if !v.contains(&p) {
                    v.push(p);
                }
            }
            v
        }
    };
    if kind == Kind::Ike && dh.is_empty() {
        return Err(format!(
            "`{p}`: an IKE proposal needs a D-H group (modp2048, ecp256, ...)"
        ));
    }
    let integs: Vec<Option<u16>> = if aead {
        vec![None]
    } else {
        integ.into_iter().map(Some).collect()
    };
    let dhs: Vec<Option<u16>> = if dh.is_empty() {
        vec![None]
    } else {
        dh.into_iter().map(Some).collect()
    };
    let mut out = Vec::new();
    for &(e, bits) in &encr {
        for &i in &integs {
            for &pr in &prfs {
                for &d in &dhs {
                    let s = Suite {
                        encr: e,
                        encr_key_bits: bits,
                        integ: i,
                        prf: pr,
                        dh: d,
                        esn,
                    };
                    s.integ_info().map_err(|e| format!("`{p}`: {e}"))?;
                    out.push(s);
                    if out.len() > MAX_SUITES {
                        return Err(format!("`{p}`: more than {MAX_SUITES} combinations"));
                    }
                }
            }
        }
    }
    Ok((out, esn))
}

/// A settings file's worth of lines, for tests and tools: `#` comments, one statement a line.
pub fn parse_text(text: &str) -> Result<IkeSettings, (usize, String)> {
    let mut s = IkeSettings::default();
    let mut last = 0;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        last = n + 1;
        let words: Vec<&str> = line.split_whitespace().collect();
        s.parse_statement(&words).map_err(|e| (n + 1, e))?;
    }
    s.finish().map_err(|e| (last, e))?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ike::message::IdType;
    use std::path::Path;

    const GOOD: &str = r#"
secret lab psk 0x0102030405060708090a0b0c0d0e0f10
secret words psk "a shared secret with spaces"
pool vpn 10.3.0.0/24 dns 10.1.0.53 nbns 10.1.0.54 dhcp 10.1.0.55 subnet 10.1.0.0/16
pool small 10.4.0.10-10.4.0.20
conn gw2 local 192.0.2.1 remote 192.0.2.2 local-id fqdn:gw1.example remote-id fqdn:gw2.example auth psk lab ike aes128-sha1-modp1024,aes128gcm16-prfsha256-ecp256 dpd 30s dpd-action restart rekey 4h jitter 5% encap fragment 1280 retransmit 2s tries 3 start fastpath-port 1
child net conn gw2 local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16,10.5.0.1-10.5.0.9[tcp/443] esp aes128gcm16-esn,aes128-sha1-modp2048-esn mode tunnel rekey 1h life 1h10m bytes 1000000000 packets 1000000 replay-window 1024
child mgmt conn gw2 local-ts dynamic remote-ts 192.0.2.2[udp/1000-2000] esp aes256-sha256 mode transport
conn rw local 192.0.2.1 remote any local-id dn:"C=CH, O=Lab, CN=gw1" remote-id any auth psk words ike aes256gcm16-prfsha384-curve25519,aes256-sha256-x25519 pool vpn add
child rw conn rw local-ts 10.1.0.0/16 remote-ts 10.3.0.0/24 esp aes256gcm16
conn client local 192.0.2.9 remote 192.0.2.1 local-id email:me@example.net auth psk words ike aes128gcm16-prfsha256-ecp384-modp3072 vip trap
child c conn client local-ts dynamic remote-ts 0.0.0.0/0 esp aes128gcm16 esn
"#;

    #[test]
    fn parses_a_whole_node() {
        let s = parse_text(GOOD).unwrap();
        assert_eq!(s.conns.len(), 3);
        let gw = &s.conns[0];
        assert_eq!(gw.local_addr, "192.0.2.1:500".parse().unwrap());
        assert_eq!(gw.local_id, Identity::fqdn("gw1.example"));
        assert_eq!(gw.remote_id, Some(Identity::fqdn("gw2.example")));
        assert!(
            matches!(&gw.auth, AuthConfig::Psk(k) if k[..] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16])
        );
        // CBC: the PRF follows the integrity's hash.
        assert_eq!(gw.ike_proposals.len(), 2);
        let cbc = gw.ike_proposals[0];
        assert_eq!(
            (cbc.encr, cbc.encr_key_bits, cbc.integ, cbc.prf, cbc.dh),
            (
                ENCR_AES_CBC,
                128,
                Some(AUTH_HMAC_SHA1_96),
                Some(PRF_HMAC_SHA1),
                Some(MODP_1024)
            )
        );
        let gcm = gw.ike_proposals[1];
        assert_eq!(
            (gcm.encr, gcm.integ, gcm.prf, gcm.dh),
            (
                ENCR_AES_GCM_16,
                None,
                Some(PRF_HMAC_SHA2_256),
                Some(ECP_256)
            )
        );
        assert_eq!(
            gw.dpd,
            DpdConfig {
                interval: Duration::from_secs(30),
                action: DpdAction::Restart
            }
        );
        assert_eq!(gw.rekey_time, Duration::from_secs(4 * 3600));
        assert_eq!(gw.rekey_jitter, Duration::from_secs(720));
        assert!(gw.force_encap);
        assert_eq!(gw.fragment_size, Some(1280));
        assert_eq!(
            (gw.retransmit.timeout, gw.retransmit.tries),
            (Duration::from_secs(2), 3)
        );
        assert_eq!(s.conn_extras[0].fastpath_port, Some(1));
        let net = &gw.children[0];
        assert_eq!(net.start_action, StartAction::Start);
        assert!(net.esn);
        assert_eq!(net.remote_ts.len(), 2);
        assert_eq!(net.remote_ts[1].ip_protocol, 6);
        assert_eq!(
            (net.remote_ts[1].start_port, net.remote_ts[1].end_port),
            (443, 443)
        );
        assert_eq!(net.esp_proposals.len(), 2);
        assert_eq!(net.esp_proposals[1].dh, Some(MODP_2048));
        assert_eq!(net.esp_proposals[1].prf, None);
        assert_eq!(net.lifetimes.rekey_time, Duration::from_secs(3600));
        assert_eq!(net.lifetimes.life_time, Duration::from_secs(4200));
        assert_eq!(net.lifetimes.jitter, Duration::from_secs(600));
        assert_eq!(
            (net.lifetimes.rekey_bytes, net.lifetimes.life_bytes),
            (900_000_000, 1_000_000_000)
        );
        assert_eq!(
            (net.lifetimes.rekey_packets, net.lifetimes.life_packets),
            (900_000, 1_000_000)
        );
        assert_eq!(
            s.child_extra("gw2", "net").unwrap().replay_window,
            Some(1024)
        );
        let mgmt = &gw.children[1];
        assert_eq!(mgmt.mode, Mode::Transport);
        assert_eq!(
            mgmt.local_ts[0].start_addr,
            "192.0.2.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(mgmt.local_ts[0].end_addr, mgmt.local_ts[0].start_addr);
        assert_eq!(
            (mgmt.remote_ts[0].start_port, mgmt.remote_ts[0].end_port),
            (1000, 2000)
        );
        assert_eq!(mgmt.lifetimes.life_time, Duration::from_secs(3960));
        assert_eq!(s.child_extra("gw2", "mgmt").unwrap().replay_window, None);

        let rw = &s.conns[1];
        assert!(rw.remote_addr.ip().is_unspecified());
        assert_eq!(rw.remote_id, None);
        assert_eq!(rw.local_id.id_type, IdType::DER_ASN1_DN);
        assert_eq!(rw.virtual_ip.pool.as_deref(), Some("vpn"));
        assert_eq!(rw.children[0].start_action, StartAction::None);
        assert_eq!(rw.ike_proposals[1].prf, Some(PRF_HMAC_SHA2_256));
        assert_eq!(rw.ike_proposals[1].dh, Some(CURVE25519));
        assert!(matches!(&rw.auth, AuthConfig::Psk(k) if k[..] == *b"a shared secret with spaces"));

        let client = &s.conns[2];
        assert_eq!(client.local_id, Identity::user_fqdn("me@example.net"));
        assert!(client.virtual_ip.request);
        // Two groups in one proposal: one suite each.
        assert_eq!(client.ike_proposals.len(), 2);
        assert_eq!(client.ike_proposals[1].dh, Some(MODP_3072));
        assert_eq!(client.children[0].start_action, StartAction::Trap);
        assert_eq!(client.children[0].local_ts[0], TrafficSelector::any(false));

        let vpn = &s.pools[0];
        assert_eq!(
            (vpn.first, vpn.last),
            (Ipv4Addr::new(10, 3, 0, 1), Ipv4Addr::new(10, 3, 0, 254))
        );
        assert_eq!(vpn.dns, vec![Ipv4Addr::new(10, 1, 0, 53)]);
        assert_eq!(
            vpn.subnets,
            vec![(Ipv4Addr::new(10, 1, 0, 0), Ipv4Addr::new(255, 255, 0, 0))]
        );
        assert_eq!(
            (s.pools[1].first, s.pools[1].last),
            (Ipv4Addr::new(10, 4, 0, 10), Ipv4Addr::new(10, 4, 0, 20))
        );
        // Secrets never print.
        assert!(!format!("{s:?}").contains("shared secret"));
    }

    #[test]
    fn refuses_bad_lines_with_a_reason() {
        let head = "secret k psk 0x01\npool p 10.3.0.0/24\n";
        let conn =
            "conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128gcm16-prfsha256-ecp256";
        let cases: &[(&str, &str)] = &[
            ("secret k2 psk 0xZZ", "hex"),
            ("secret k2", "secret NAME"),
            ("secret k psk 0x02", "defined twice"),
            ("secret k2 psk \"unterminated", "unterminated"),
            ("pool q 2001:db8::/64", "IPv4"),
            ("pool q 10.0.0.9-10.0.0.1", "backwards"),
            ("pool q 10.0.0.0/24 wins 10.0.0.1", "unknown pool option"),
            ("conn c remote 192.0.2.2 auth psk k ike aes128gcm16-prfsha256-ecp256", "missing `local"),
            ("conn c local any remote 192.0.2.2 auth psk k ike aes128gcm16-prfsha256-ecp256", "local any"),
            ("conn c local 192.0.2.1 remote 2001:db8::1 auth psk k ike aes128gcm16-prfsha256-ecp256", "one address family"),
            ("conn c local 192.0.2.1 remote 192.0.2.2 ike aes128gcm16-prfsha256-ecp256", "missing `auth"),
            ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk nope ike aes128gcm16-prfsha256-ecp256", "secret nope is not defined"),
            ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k", "missing `ike"),
            ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128gcm16-ecp256", "needs a PRF"),
            ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128-sha1", "D-H group"),
            ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128-modp2048", "integrity"),
            ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128gcm16-sha1-prfsha1-modp2048", "AEAD cipher takes no"),
            ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128-aes128gcm16-sha1-modp2048", "separate proposals"),
            ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike 3des-sha1-modp2048", "unknown proposal keyword `3des`"),
            ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128-sha1-modp2048-esn", "unknown proposal keyword `esn`"),
            ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128--sha1-modp2048", "empty keyword"),
            ("conn c local 192.0.2.1 remote any auth psk k ike aes128gcm16-prfsha256-ecp256 start", "remote any"),
            ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128gcm16-prfsha256-ecp256 dpd 3x", "not a duration"),
            ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128gcm16-prfsha256-ecp256 dpd-action panic", "dpd-action"),
            ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128gcm16-prfsha256-ecp256 jitter 150%", "percentage"),
            ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128gcm16-prfsha256-ecp256 pool nope", "pool nope"),
            ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128gcm16-prfsha256-ecp256 fragment 100", "fragment"),
            ("conn c local 192.0.2.1 remote 192.0.2.2 auth psk k ike aes128gcm16-prfsha256-ecp256 frob", "unknown conn option"),
            ("conn c local 192.0.2.1 remote 192.0.2.2 auth magic k ike aes128gcm16-prfsha256-ecp256", "auth magic"),
            ("conn c local 192.0.2.1 remote 192.0.2.2 auth pubkey key /nonexistent ike aes128gcm16-prfsha256-ecp256", "/nonexistent"),
            ("conn c local 192.0.2.1 remote 192.0.2.2 local-id dn:\"C=CH, XX=y\" auth psk k ike aes128gcm16-prfsha256-ecp256", "DN attribute"),
            ("child n conn nope local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16", "conn nope"),
        ];
        for (line, want) in cases {
            let text = format!("{head}{line}\n");
            let (n, e) = parse_text(&text).err().unwrap_or((0, String::new()));
            assert_eq!(n, 3, "{line}: {e}");
            assert!(e.contains(want), "{line}: `{e}` lacks `{want}`");
        }
        let child_cases: &[(&str, &str)] = &[
            ("child n conn c remote-ts 10.0.0.0/8 esp aes128gcm16", "local-ts"),
            ("child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8", "missing `esp"),
            ("child n conn c local-ts 10.0.0.0/33 remote-ts 10.0.0.0/8 esp aes128gcm16", "prefix length"),
            ("child n conn c local-ts 10.0.0.0/8[tcp/9-1] remote-ts 10.0.0.0/8 esp aes128gcm16", "backwards"),
            ("child n conn c local-ts 10.0.0.0/8[/80] remote-ts 10.0.0.0/8 esp aes128gcm16", "need a protocol"),
            ("child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16-prfsha256", "no PRF in ESP"),
            ("child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128-sha384", "fast path"),
            ("child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16-esn,aes128gcm16-noesn", "pick one"),
            ("child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16-noesn esn", "noesn"),
            ("child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16 rekey 2h life 1h", "before life"),
            ("child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16 mode beet", "mode beet"),
            ("child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16 replay-window 99999999", "replay-window"),
            ("child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16 spice", "unknown child option"),
        ];
        for (line, want) in child_cases {
            let text = format!("{head}{conn}\n{line}\n");
            let (n, e) = parse_text(&text).err().unwrap_or((0, String::new()));
            assert_eq!(n, 4, "{line}: {e}");
            assert!(e.contains(want), "{line}: `{e}` lacks `{want}`");
        }
        // A conn without a child is refused once the file is read.
        let (_, e) = parse_text(&format!("{head}{conn}\n")).err().unwrap();
        assert!(e.contains("has no child"), "{e}");
        // The same child twice in one conn.
        let twice = format!("{head}{conn}\nchild n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16\nchild n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16\n");
        assert!(parse_text(&twice).err().unwrap().1.contains("already has"));
    }

    #[test]
    fn durations_and_quotes() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("1h10m"), Ok(Duration::from_secs(4200)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        for bad in ["", "h", "1x", "1h1", "99999999999999999999h", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(
            join_quoted(&["dn:\"C=CH,", "O=Lab,", "CN=gw\"", "x"]).unwrap(),
            vec!["dn:\"C=CH, O=Lab, CN=gw\"".to_string(), "x".into()]
        );
        assert!(join_quoted(&["\"a", "b"]).is_err());
        let (id, _) = parse_identity("192.0.2.1").unwrap();
        assert_eq!(id, Identity::ip("192.0.2.1".parse().unwrap()));
        assert_eq!(parse_identity("a@b").unwrap().0, Identity::user_fqdn("a@b"));
        assert_eq!(
            parse_identity("gw.example").unwrap().0,
            Identity::fqdn("gw.example")
        );
        assert_eq!(
            parse_identity("CN=x").unwrap().0.id_type,
            IdType::DER_ASN1_DN
        );
        // The same DN, either separator.
        assert_eq!(
            parse_identity("dn:C=CH, CN=x").unwrap().0,
            parse_identity("dn:/C=CH/CN=x").unwrap().0
        );
    }

    #[test]
    fn proposal_combinations() {
        let (s, _) = parse_proposals("aes128-aes256-sha1-sha256-modp2048", Kind::Ike).unwrap();
        // 2 ciphers x 2 integrity x 2 derived PRFs.
        assert_eq!(s.len(), 8);
        assert_eq!(
            (s[0].encr_key_bits, s[0].integ, s[0].prf),
            (128, Some(AUTH_HMAC_SHA1_96), Some(PRF_HMAC_SHA1))
        );
        let (s, esn) = parse_proposals("aes128gcm16-aes256gcm16-ecp256-noesn", Kind::Esp).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(esn, EsnWords::NoEsn);
        assert_eq!(s[1].dh, Some(ECP_256));
        assert!(parse_proposals(
            "aes128-aes256-sha1-sha256-modp1024-modp2048-modp3072-ecp256-ecp384-curve25519-prfsha1-prfsha256-prfsha384",
            Kind::Ike
        )
        .is_err());
    }

    /// A self-signed P-256 certificate and its key, in PEM files.
    fn write_pki(dir: &Path) -> (String, String) {
        use openssl::asn1::Asn1Time;
        use openssl::bn::BigNum;
        use openssl::ec::{EcGroup, EcKey};
        use openssl::hash::MessageDigest;
        use openssl::nid::Nid;
        use openssl::x509::X509;
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("C", "CH").unwrap();
        name.append_entry_by_text("O", "Lab").unwrap();
        name.append_entry_by_text("CN", "gw1").unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
            .unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(30).unwrap())
            .unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        let cert = b.build();
        let (c, k) = (dir.join("gw1.pem"), dir.join("gw1.key"));
        std::fs::write(&c, cert.to_pem().unwrap()).unwrap();
        std::fs::write(&k, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
        (c.display().to_string(), k.display().to_string())
    }

    #[test]
    fn pubkey_auth_from_files() {
        let dir = std::env::temp_dir().join(format!("slowpath-ike-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = write_pki(&dir);
        let text = format!(
            "conn c local 192.0.2.1 remote 192.0.2.2 local-id dn:\"C=CH, O=Lab, CN=gw1\" auth pubkey cert {cert} key {key} ca {cert} ike aes128gcm16-prfsha256-ecp256\n\
             conn d local 192.0.2.1 remote 192.0.2.3 auth pubkey cert {cert} key {key} ca {cert} ca {cert} ike aes128gcm16-prfsha256-ecp256\n\
             child n conn c local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16\n\
             child n conn d local-ts 10.0.0.0/8 remote-ts 10.0.0.0/8 esp aes128gcm16\n"
        );
        let s = parse_text(&text).unwrap();
        let subject = {
            let pem = std::fs::read(&cert).unwrap();
            let c = openssl::x509::X509::from_pem(&pem).unwrap();
            c.subject_name().to_der().unwrap()
        };
        // Given as text or left out: the certificate's own subject DER.
        assert_eq!(s.conns[0].local_id, Identity::dn(subject.clone()));
        assert_eq!(s.conns[1].local_id, Identity::dn(subject));
        let AuthConfig::PubKey(p) = &s.conns[1].auth else {
            panic!("pubkey")
        };
        assert_eq!(p.trust_anchors.len(), 2);
        // Another subject, or a key that is not the certificate's.
        let other = format!(
            "conn c local 192.0.2.1 remote 192.0.2.2 local-id dn:\"CN=gw9\" auth pubkey cert {cert} key {key} ca {cert} ike aes128gcm16-prfsha256-ecp256\n"
        );
        assert!(parse_text(&other)
            .err()
            .unwrap()
            .1
            .contains("not the certificate's subject"));
        let (_, key2) = {
            let d2 = dir.join("other");
            std::fs::create_dir_all(&d2).unwrap();
            write_pki(&d2)
        };
        let wrong = format!(
            "conn c local 192.0.2.1 remote 192.0.2.2 auth pubkey cert {cert} key {key2} ca {cert} ike aes128gcm16-prfsha256-ecp256\n"
        );
        assert!(parse_text(&wrong)
            .err()
            .unwrap()
            .1
            .contains("not the certificate's"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn psk_file() {
        let path = std::env::temp_dir().join(format!("slowpath-ike-psk-{}", std::process::id()));
        std::fs::write(&path, b"from a file\n").unwrap();
        let mut s = IkeSettings::default();
        let p = path.display().to_string();
        s.parse_statement(&["secret", "f", "psk-file", &p]).unwrap();
        assert_eq!(&s.secrets[0].key[..], b"from a file");
        let _ = std::fs::remove_file(&path);
        assert!(s
            .parse_statement(&["secret", "g", "psk-file", "/nonexistent/psk"])
            .unwrap_err()
            .contains("/nonexistent/psk"));
    }
}
