//! The IKE statements of the slow path's configuration file: `secret`, `pool`, `conn`,
//! `child` and `ike-limits` (cookies and half-open limits, see `limits`), one per line, with strongSwan's proposal keywords so that operators recognise them.
//! The caller tokenizes the line (a double-quoted value, spaces and `#` included, arrives as
//! one word) and adds `file:line` to a refused line's reason.
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
//! ike-limits cookie-threshold 10 cookie-threshold-ip 3 block-threshold 5 init-limit-half-open 1000
//! ike-state-dir /run/slowpath/ike                        # default: off (nothing on disk)
//! crypto-group site primary gw2 secondary gw3 switchover auto hold 30s   # see crypto_group
//! ```
//!
//! `ike-state-dir` keeps each IKE SA's state (keys included, files of mode 0600) in that
//! directory, so that a slow path restarted on the same node carries its IKE SAs on.
//!
//! Durations are the toolkit's one grammar (`toolkit::duration`); `0` turns a timer off.
//! Defaults (strongSwan's where it has one): IKE rekey 4h with 10% jitter, DPD off, action
//! `clear`, retransmit 4s x 1.8 for 5 tries, start action `add` (wait for the peer or the
//! operator); CHILD rekey 1h, life 110% of rekey, jitter life - rekey (at most half the rekey
//! time). `bytes N` / `packets N` are the CHILD SA's hard limits, rekeyed at 90%.
//!
//! Names a line uses must be defined above it; they are found through index maps, so a file
//! parses in time linear in its statements.

mod auth;
mod child;
mod conn;
mod conn_v1;
#[cfg(test)]
mod conn_v1_tests;
mod crypto_group;
#[cfg(test)]
mod crypto_group_tests;
mod identity;
mod limits;
mod pool;
mod proposal;
mod secret;
mod selector;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

use ike::config::{IkeConfig, StartAction};
use ike::crypto_group::GroupConfig;
use ike::pool::PoolConfig;
use ike::responder::HalfOpenLimits;
use toolkit::config::{statements, Words};
use toolkit::ConfigError;
use zeroize::Zeroizing;

pub use proposal::{
    keyword_of, parse_proposals, EsnWords, Kind, GROUP_KEYWORDS, INTEG_KEYWORDS, PRF_KEYWORDS,
};

/// The IKE port; `encap` and NAT-T move to 4500 by themselves.
pub const IKE_PORT: u16 = 500;
/// The statements this module parses (the first word of a line).
pub const STATEMENTS: &[&str] = &[
    "secret",
    "pool",
    "conn",
    "child",
    "ike-limits",
    "ike-state-dir",
    "crypto-group",
];

/// What the fast path needs of a CHILD SA that the engine has no field for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildExtra {
    pub conn: String,
    pub child: String,
    /// The inbound SA's anti-replay window (`window N`, 0: off); the fast path's default if None.
    pub replay_window: Option<u32>,
}

/// What a connection has besides its `IkeConfig`: `conn_extras[i]` belongs to `conns[i]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnExtra {
    /// The fast path port the connection's traffic leaves by (kept for the daemon; the
    /// runner does not use it yet).
    pub fastpath_port: Option<u16>,
    /// The conn's start action, applied to the children that follow it.
    pub start: StartAction,
}

/// Every IKE statement of a file, ready for `IkeRunner::new`.
#[derive(Default, Clone)]
pub struct IkeSettings {
    pub conns: Vec<IkeConfig>,
    pub pools: Vec<PoolConfig>,
    pub conn_extras: Vec<ConnExtra>,
    pub child_extras: Vec<ChildExtra>,
    /// Cookies and half-open limits (`ike-limits`; strongSwan's defaults without one).
    pub limits: HalfOpenLimits,
    /// Where the IKE SAs' checkpoint is kept (`ike-state-dir`; none without one).
    pub state_dir: Option<std::path::PathBuf>,
    /// Redundant tunnels (`crypto-group`), in the file's order.
    pub groups: Vec<GroupConfig>,
    /// Pre-shared keys by name: only `conn ... auth psk NAME` reads them.
    secrets: HashMap<String, Zeroizing<Vec<u8>>>,
    index: Index,
}

/// Where each name defined so far is.
#[derive(Default, Clone)]
struct Index {
    /// Whether an `ike-limits` line was read.
    limits: bool,
    conns: HashMap<String, usize>,
    pools: HashSet<String>,
    /// (conn index, child name) to the child's index in `child_extras`.
    children: HashMap<(usize, String), usize>,
}

// Never print secrets (IkeConfig's own Debug hides its keys).
impl std::fmt::Debug for IkeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IkeSettings")
            .field("conns", &self.conns)
            .field("pools", &self.pools)
            .field("conn_extras", &self.conn_extras)
            .field("child_extras", &self.child_extras)
            .field("limits", &self.limits)
            .field("state_dir", &self.state_dir)
            .field("groups", &self.groups)
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
        if let Some(w) = words.iter().find(|w| w.matches('"').count() % 2 == 1) {
            return Err(format!("unterminated quote in `{w}`"));
        }
        let mut w = Words::new(words);
        match w.next("a statement")? {
            "secret" => {
                let (name, key) = secret::parse_secret(w)?;
                if self.secrets.contains_key(name) {
                    return Err(format!("secret {name} is defined twice"));
                }
                self.secrets.insert(name.to_string(), key);
            }
            "pool" => {
                let p = pool::parse_pool(w)?;
                if !self.index.pools.insert(p.name.clone()) {
                    return Err(format!("pool {} is defined twice", p.name));
                }
                self.pools.push(p);
            }
            "conn" => {
                let (c, extra) = conn::parse_conn(self, w)?;
                if self.index.conns.contains_key(&c.name) {
                    return Err(format!("conn {} is defined twice", c.name));
                }
                self.index.conns.insert(c.name.clone(), self.conns.len());
                self.conns.push(c);
                self.conn_extras.push(extra);
            }
            "child" => child::parse_child(self, w)?,
            "ike-limits" => {
                if std::mem::replace(&mut self.index.limits, true) {
                    return Err("ike-limits is given twice".into());
                }
                self.limits = limits::parse_limits(w)?;
            }
            "ike-state-dir" => {
                if self.state_dir.is_some() {
                    return Err("ike-state-dir is given twice".into());
                }
                let path = unquote(w.next("a directory")?);
                w.end()?;
                if !path.starts_with('/') {
                    return Err(format!("ike-state-dir {path}: an absolute path"));
                }
                self.state_dir = Some(path.into());
            }
            "crypto-group" => {
                let g = crypto_group::parse_group(self, w)?;
                if self.groups.iter().any(|o| o.name == g.name) {
                    return Err(format!("crypto-group {} is defined twice", g.name));
                }
                self.groups.push(g);
            }
            kw => return Err(format!("`{kw}` is not an IKE statement")),
        }
        Ok(())
    }

    /// Checks what can only be checked once every line is in: each conn has a child.
    pub fn finish(&self) -> Result<(), String> {
        match self.conns.iter().find(|c| c.children.is_empty()) {
            Some(c) => Err(format!(
                "conn {} has no child (`child NAME conn {} ...`)",
                c.name, c.name
            )),
            None => Ok(()),
        }
    }

    pub fn child_extra(&self, conn: &str, child: &str) -> Option<&ChildExtra> {
        let ci = *self.index.conns.get(conn)?;
        let i = *self.index.children.get(&(ci, child.to_string()))?;
        self.child_extras.get(i)
    }
}

/// A settings text for tests and tools: the IKE statements alone, errors at `<text>:line`.
pub fn parse_text(text: &str) -> Result<IkeSettings, ConfigError> {
    const FILE: &str = "<text>";
    let mut s = IkeSettings::default();
    let mut last = 0;
    for (line, words) in statements(text) {
        last = line;
        s.parse_statement(&words)
            .map_err(|e| ConfigError::at(FILE, line, e))?;
    }
    s.finish().map_err(|e| ConfigError::at(FILE, last, e))?;
    Ok(s)
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '"') {
        return Err(format!("`{name}` is not a usable name"));
    }
    Ok(())
}

/// A value without its surrounding double quotes, if it has them.
fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}
