//! `snmp-trap` statements: where the slow path sends its events as SNMP notifications
//! (`crate::snmp`), and `snmp-engine-boots-file`, where its SNMPv3 engine counts restarts.
//!
//! ```text
//! snmp-trap 192.0.2.9 v2c community public            # port 162 unless ADDR:PORT
//! snmp-trap [2001:db8::9]:1162 v3 user nms auth sha256 "auth pass" priv aes "priv pass"
//!      (one line) engine-id 0x80007ed9046777        # optional: ours, as receivers configure it
//! snmp-trap 192.0.2.9 v2c community public rate 20/s burst 40   # optional rate limit
//! snmp-engine-boots-file /var/lib/ipsec-gw/snmp-boots # optional (see the README)
//! ```
//! `auth` is `sha` (HMAC-SHA-96) or `sha256` (HMAC-SHA-256-192); `priv` is `aes`
//! (AES-128-CFB). Passphrases are at least 8 characters (RFC 3414 11.2). Each receiver
//! gets at most `rate` traps a second after a `burst` (50/s and 100 unless said): what is
//! held back beyond that is counted and summed up once the flood is over (`crate::snmp`).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use toolkit::config::Words;
use zeroize::Zeroizing;

/// The port notification receivers listen on (snmptrap).
pub const DEFAULT_TRAP_PORT: u16 = 162;
const MIN_PASSPHRASE: usize = 8;
/// RFC 3411 SnmpEngineID: 5 to 32 octets.
const ENGINE_ID_LEN: std::ops::RangeInclusive<usize> = 5..=32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapAuth {
    Sha1,
    Sha256,
}

/// How a receiver is spoken to; secrets zeroized when dropped and never shown.
#[derive(Clone, PartialEq, Eq)]
pub enum TrapSecurity {
    V2c { community: Zeroizing<String> },
    V3(UsmTarget),
}

/// An SNMPv3 receiver's user, authPriv.
#[derive(Clone, PartialEq, Eq)]
pub struct UsmTarget {
    pub user: String,
    pub auth: TrapAuth,
    pub auth_pass: Zeroizing<String>,
    pub priv_pass: Zeroizing<String>,
    /// Our engine ID as this receiver knows it; the default one otherwise.
    pub engine_id: Option<Vec<u8>>,
}

impl fmt::Debug for TrapSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrapSecurity::V2c { .. } => write!(f, "v2c <community>"),
            TrapSecurity::V3(u) => write!(
                f,
                "v3 user {} auth {:?} priv aes engine-id {:02x?}",
                u.user, u.auth, u.engine_id
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrapTarget {
    pub to: SocketAddr,
    pub security: TrapSecurity,
    /// How many traps this receiver gets at most.
    pub rate: TrapRate,
}

/// A receiver's rate limit: traps a second, and the burst above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrapRate {
    pub per_second: u32,
    pub burst: u32,
}

impl Default for TrapRate {
    /// A few hundred crypto groups switching still reach the NMS whole; 10,000 do not
    /// flood it.
    fn default() -> TrapRate {
        TrapRate {
            per_second: 50,
            burst: 100,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnmpConfig {
    pub targets: Vec<TrapTarget>,
    pub boots_file: Option<PathBuf>,
}

impl SnmpConfig {
    pub fn is_statement(kw: &str) -> bool {
        matches!(kw, "snmp-trap" | "snmp-engine-boots-file")
    }

    pub fn statement(&mut self, mut w: Words) -> Result<(), String> {
        match w.next("a statement")? {
            "snmp-trap" => {
                let t = parse_target(w)?;
                if self
                    .targets
                    .iter()
                    .any(|o| o.to == t.to && same_kind(o, &t))
                {
                    return Err(format!("snmp-trap {} is defined twice", t.to));
                }
                self.targets.push(t);
            }
            _ => {
                let path = w.next("a path")?;
                w.end()?;
                self.boots_file = Some(PathBuf::from(path));
            }
        }
        Ok(())
    }
}

/// Two v3 users may share a receiver; two targets of the same kind and user may not.
fn same_kind(a: &TrapTarget, b: &TrapTarget) -> bool {
    match (&a.security, &b.security) {
        (TrapSecurity::V2c { .. }, TrapSecurity::V2c { .. }) => true,
        (TrapSecurity::V3(x), TrapSecurity::V3(y)) => x.user == y.user,
        _ => false,
    }
}

fn parse_target(mut w: Words) -> Result<TrapTarget, String> {
    let to = parse_receiver(w.next("a receiver ADDR or ADDR:PORT")?)?;
    let mut security = match w.next("v2c or v3")? {
        "v2c" => {
            keyword(&mut w, "community")?;
            TrapSecurity::V2c {
                community: Zeroizing::new(unquote(w.next("a community")?).to_string()),
            }
        }
        "v3" => {
            keyword(&mut w, "user")?;
            let user = unquote(w.next("a user name")?).to_string();
            keyword(&mut w, "auth")?;
            let auth = match w.next("sha or sha256")? {
                "sha" => TrapAuth::Sha1,
                "sha256" => TrapAuth::Sha256,
                a => return Err(format!("auth {a}: sha or sha256")),
            };
            let auth_pass = passphrase(&mut w, "an auth passphrase")?;
            keyword(&mut w, "priv")?;
            match w.next("aes")? {
                "aes" => {}
                p => return Err(format!("priv {p}: aes (AES-128-CFB)")),
            }
            let priv_pass = passphrase(&mut w, "a priv passphrase")?;
            TrapSecurity::V3(UsmTarget {
                user,
                auth,
                auth_pass,
                priv_pass,
                engine_id: None,
            })
        }
        v => return Err(format!("{v}: v2c or v3")),
    };
    let mut rate = TrapRate::default();
    while let Some(opt) = w.next_opt() {
        match (opt, &mut security) {
            ("engine-id", TrapSecurity::V3(u)) => {
                let id = w.next_hex(opt)?;
                if !ENGINE_ID_LEN.contains(&id.len()) {
                    return Err("engine-id: 5 to 32 bytes (RFC 3411)".into());
                }
                u.engine_id = Some(id);
            }
            ("rate", _) => rate.per_second = w.next_with("rate", parse_per_second)?,
            ("burst", _) => {
                rate.burst = w.next_u32("burst")?;
                if rate.burst == 0 {
                    return Err("burst: at least 1".into());
                }
            }
            (o, _) => return Err(format!("unknown snmp-trap option `{o}`")),
        }
    }
    Ok(TrapTarget { to, security, rate })
}

/// `N/s`: traps a second, at least 1.
fn parse_per_second(s: &str) -> Result<u32, String> {
    let n = s
        .strip_suffix("/s")
        .and_then(|n| n.parse::<u32>().ok())
        .ok_or_else(|| format!("`{s}`: N/s"))?;
    if n == 0 {
        return Err("at least 1/s".into());
    }
    Ok(n)
}

/// The next word, which must be `word`.
fn keyword(w: &mut Words, word: &str) -> Result<(), String> {
    match w.next(word)? {
        w if w == word => Ok(()),
        other => Err(format!("`{other}` where `{word}` goes")),
    }
}

/// `ADDR`, `ADDR:PORT` or `[ADDR6]:PORT`.
fn parse_receiver(s: &str) -> Result<SocketAddr, String> {
    let to = match s.parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, DEFAULT_TRAP_PORT),
        Err(_) => s
            .parse::<SocketAddr>()
            .map_err(|_| format!("`{s}`: ADDR, ADDR:PORT or [ADDR6]:PORT"))?,
    };
    if to.ip().is_unspecified() || to.ip().is_multicast() || to.port() == 0 {
        return Err(format!("{to}: no receiver there"));
    }
    Ok(to)
}

fn passphrase(w: &mut Words, what: &str) -> Result<Zeroizing<String>, String> {
    let p = unquote(w.next(what)?);
    if p.len() < MIN_PASSPHRASE {
        return Err(format!("{what}: at least {MIN_PASSPHRASE} characters"));
    }
    Ok(Zeroizing::new(p.to_string()))
}

/// The tokenizer keeps a quoted word's quotes; a passphrase is what is between them.
fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<SnmpConfig, String> {
        let mut c = SnmpConfig::default();
        for (_, words) in toolkit::config::statements(line) {
            c.statement(Words::new(&words))?;
        }
        Ok(c)
    }

    #[test]
    fn v2c_and_v3_targets_parse() {
        let c = parse(
            "snmp-trap 192.0.2.9 v2c community public\n\
             snmp-trap [2001:db8::9]:1162 v3 user nms auth sha256 \"auth pass\" priv aes privpass1 engine-id 0x80007ed90401\n\
             snmp-trap 192.0.2.9:1162 v3 user ops auth sha authpass1 priv aes privpass1\n\
             snmp-engine-boots-file /var/lib/gw/boots",
        )
        .unwrap();
        assert_eq!(c.targets.len(), 3);
        assert_eq!(c.targets[0].to, "192.0.2.9:162".parse().unwrap());
        assert_eq!(
            c.targets[0].security,
            TrapSecurity::V2c {
                community: Zeroizing::new("public".into())
            }
        );
        assert_eq!(c.targets[1].to, "[2001:db8::9]:1162".parse().unwrap());
        let TrapSecurity::V3(UsmTarget {
            user,
            auth,
            auth_pass,
            priv_pass,
            engine_id,
        }) = &c.targets[1].security
        else {
            panic!("v3")
        };
        assert_eq!((user.as_str(), *auth), ("nms", TrapAuth::Sha256));
        assert_eq!(
            (auth_pass.as_str(), priv_pass.as_str()),
            ("auth pass", "privpass1")
        );
        assert_eq!(engine_id.as_deref(), Some(&[0x80, 0, 0x7e, 0xd9, 4, 1][..]));
        assert!(matches!(
            &c.targets[2].security,
            TrapSecurity::V3(UsmTarget {
                auth: TrapAuth::Sha1,
                engine_id: None,
                ..
            })
        ));
        assert_eq!(c.boots_file, Some(PathBuf::from("/var/lib/gw/boots")));
        assert!(c.targets.iter().all(|t| t.rate == TrapRate::default()));
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("public") && !shown.contains("privpass1"),
            "{shown}"
        );
    }

    #[test]
    fn a_rate_limit_is_set_per_receiver() {
        let c = parse(
            "snmp-trap 192.0.2.9 v2c community public rate 20/s burst 40\n\
             snmp-trap 192.0.2.10 v3 user nms auth sha authpass1 priv aes privpass1 burst 7 engine-id 0x80007ed90401 rate 3/s",
        )
        .unwrap();
        let rates: Vec<(u32, u32)> = c
            .targets
            .iter()
            .map(|t| (t.rate.per_second, t.rate.burst))
            .collect();
        assert_eq!(rates, [(20, 40), (3, 7)]);
        assert!(matches!(
            &c.targets[1].security,
            TrapSecurity::V3(UsmTarget {
                engine_id: Some(_),
                ..
            })
        ));
    }

    #[test]
    fn bad_targets_are_refused_with_a_reason() {
        let cases = [
            ("snmp-trap 192.0.2.9", "v2c or v3"),
            ("snmp-trap 0.0.0.0 v2c community x", "no receiver"),
            ("snmp-trap host v2c community x", "ADDR:PORT"),
            ("snmp-trap 192.0.2.9 v1 community x", "v2c or v3"),
            ("snmp-trap 192.0.2.9 v3 user u auth md5 authpass1 priv aes privpass1", "sha or sha256"),
            ("snmp-trap 192.0.2.9 v3 user u auth sha short priv aes privpass1", "at least 8"),
            ("snmp-trap 192.0.2.9 v3 user u auth sha authpass1 priv des privpass1", "aes"),
            ("snmp-trap 192.0.2.9 v3 user u auth sha authpass1 priv aes privpass1 engine-id 0102", "5 to 32"),
            ("snmp-trap 192.0.2.9 v3 user u auth sha authpass1 priv aes privpass1 boots 3", "unknown"),
            ("snmp-trap 192.0.2.9 v2c community a\nsnmp-trap 192.0.2.9:162 v2c community b", "twice"),
            ("snmp-trap 192.0.2.9 v2c community a rate 0/s", "at least 1/s"),
            ("snmp-trap 192.0.2.9 v2c community a rate 50", "N/s"),
            ("snmp-trap 192.0.2.9 v2c community a burst 0", "at least 1"),
            ("snmp-trap 192.0.2.9 v2c community a engine-id 0x80007ed90401", "unknown"),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
