//! `ha` statements: this node's part in a pair that syncs its IKE and IPsec state. Both
//! nodes' files are the same but for `ha node-id`; each node picks its own side of every
//! sync path from it.
//!
//! ```text
//! ha node-id 1                                     # 1 or 2: the only line that differs
//! ha listen-ha-group gw                            # the ha-group IKE follows
//! ha path dedicated 10.77.0.1 10.77.0.2            # node 1's address, node 2's address
//! ha path lan 192.168.10.1 192.168.10.2 port 1794  # port optional, default 1794
//! ha sync-key-file /etc/ipsec-gw/sync.key          # or: ha sync-key "a passphrase"
//! ha sync-period-time 10s                          # default 10s, 0 disables
//! ha sync-period-packets 2                         # default 2, 0 disables
//! ha oseq-shift 65536                              # default 65536, 1 to 2^32
//! ha replay-interval inbound 1000 outbound 1000    # overrides sync-period-packets
//! ```
//! `sync-period-time 0` with `sync-period-packets 0` (or a `replay-interval` of zeros) is
//! allowed: no seqnum record is taken, and a takeover relies on `oseq-shift` alone.

use ipc::fastpath::SyncSettings;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;
use toolkit::config::{self, Words};
use zeroize::Zeroizing;

/// The sync protocol's UDP port when a path names none.
pub const DEFAULT_SYNC_PORT: u16 = 1794;
/// The shortest sync key: below this a passphrase is guessable offline.
pub const MIN_SYNC_KEY_BYTES: usize = 16;
/// The longest key file (`/dev/zero` is refused unread).
pub const MAX_SYNC_KEY_FILE_BYTES: u64 = 4096;

/// Which of the pair this node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeId {
    One,
    Two,
}

impl NodeId {
    pub fn number(self) -> u8 {
        match self {
            NodeId::One => 1,
            NodeId::Two => 2,
        }
    }
}

/// One sync path, as this node sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncPath {
    pub name: String,
    /// Node 1's address and node 2's, as written.
    pub addresses: [IpAddr; 2],
    pub port: u16,
    /// This node's side of the path, from its node id.
    pub local: IpAddr,
    /// The other node's side.
    pub peer: IpAddr,
}

/// The secret both nodes derive their sync keys from; zeroized when dropped, never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct SyncKey(Zeroizing<Vec<u8>>);

impl SyncKey {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SyncKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} sync key bytes>", self.0.len())
    }
}

/// The whole `ha` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaConfig {
    pub node_id: NodeId,
    /// The `ha-group` whose role IKE follows (6WIND's `listen-ha-group`).
    pub listen_ha_group: String,
    /// At least two (losing one loses nothing); every one carries every message.
    pub paths: Vec<SyncPath>,
    pub sync_key: SyncKey,
    /// The seqnum knobs, as the fast path takes them (`sync_settings`).
    pub seqnum: SyncSettings,
}

/// The `ha` lines so far; checked as a whole once every line is in.
#[derive(Debug, Default)]
pub(super) struct HaDraft {
    /// The first `ha` line: where a missing setting is reported.
    first_line: usize,
    node_id: Option<NodeId>,
    listen_ha_group: Option<(usize, String)>,
    /// Each path with the line it is on.
    paths: Vec<(usize, String, [IpAddr; 2], u16)>,
    sync_key: Option<SyncKey>,
    period_time: Option<Duration>,
    period_packets: Option<u64>,
    replay_interval: Option<(u64, u64)>,
    oseq_shift: Option<u64>,
}

/// Sets a setting given once only.
fn once<T>(slot: &mut Option<T>, value: T, what: &str) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("`ha {what}` is given twice"));
    }
    *slot = Some(value);
    Ok(())
}

impl HaDraft {
    /// One `ha` statement (the words after `ha`), at `line`.
    pub(super) fn statement(&mut self, line: usize, mut w: Words) -> Result<(), String> {
        if self.first_line == 0 {
            self.first_line = line;
        }
        let what = w.next("an ha setting")?;
        match what {
            "node-id" => {
                let id = match w.next(what)? {
                    "1" => NodeId::One,
                    "2" => NodeId::Two,
                    n => return Err(format!("node-id {n}: 1 or 2")),
                };
                once(&mut self.node_id, id, what)?;
            }
            "listen-ha-group" => {
                let g = w.next("an ha-group")?.to_string();
                once(&mut self.listen_ha_group, (line, g), what)?;
            }
            "path" => self.path(line, &mut w)?,
            "sync-key" | "sync-key-file" => {
                if self.sync_key.is_some() {
                    return Err("one sync key: `ha sync-key` or `ha sync-key-file`, once".into());
                }
                self.sync_key = Some(if what == "sync-key" {
                    passphrase(w.next("a passphrase")?)?
                } else {
                    read_key_file(Path::new(unquote(w.next("a key file")?)))?
                });
            }
            "sync-period-time" => {
                let d = w.next_duration(what)?;
                let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
                // Below 1 ms would round to 0, which disables the trigger.
                if ms > SyncSettings::MAX_PERIOD_TIME_MS || (ms == 0 && !d.is_zero()) {
                    return Err("sync-period-time: 1ms to 1d, or 0 to disable".into());
                }
                once(&mut self.period_time, d, what)?;
            }
            "sync-period-packets" => {
                let n = w.next_u64(what)?;
                once(&mut self.period_packets, n, what)?;
            }
            "oseq-shift" => {
                let n = w.next_u64(what)?;
                if !(1..=SyncSettings::MAX_OSEQ_SHIFT).contains(&n) {
                    return Err(format!(
                        "oseq-shift: 1 to {} (2^32)",
                        SyncSettings::MAX_OSEQ_SHIFT
                    ));
                }
                once(&mut self.oseq_shift, n, what)?;
            }
            "replay-interval" => {
                let (mut inbound, mut outbound) = (None, None);
                while let Some(dir) = w.next_opt() {
                    match dir {
                        "inbound" => {
                            once(&mut inbound, w.next_u64(dir)?, "replay-interval inbound")?
                        }
                        "outbound" => {
                            once(&mut outbound, w.next_u64(dir)?, "replay-interval outbound")?
                        }
                        d => return Err(format!("replay-interval: unexpected `{d}`")),
                    }
                }
                let (Some(i), Some(o)) = (inbound, outbound) else {
                    return Err("ha replay-interval inbound N outbound M".into());
                };
                once(&mut self.replay_interval, (i, o), what)?;
            }
            s => return Err(format!("unknown ha setting `{s}`")),
        }
        w.end()
    }

    /// `path NAME NODE1-ADDRESS NODE2-ADDRESS [port N]`
    fn path(&mut self, line: usize, w: &mut Words) -> Result<(), String> {
        let name = w.next("a path name")?;
        let a = [
            w.next_ip("node 1's address")?,
            w.next_ip("node 2's address")?,
        ];
        let port = match w.next_opt() {
            None => DEFAULT_SYNC_PORT,
            Some("port") => w.next_u16("port")?,
            Some(o) => return Err(format!("unknown path option `{o}`")),
        };
        if port == 0 {
            return Err("port: 1 to 65535".into());
        }
        if a[0].is_ipv4() != a[1].is_ipv4() {
            return Err(format!(
                "path {name}: {} and {} are of two families",
                a[0], a[1]
            ));
        }
        if a[0] == a[1] {
            return Err(format!("path {name}: both nodes have {}", a[0]));
        }
        if let Some(bad) = a.iter().find(|x| x.is_unspecified() || x.is_multicast()) {
            return Err(format!("path {name}: {bad} is no node's address"));
        }
        for (_, other, addresses, _) in &self.paths {
            if other == name {
                return Err(format!("path {name} is defined twice"));
            }
            if *addresses == a {
                return Err(format!("path {name} has the addresses of path {other}"));
            }
        }
        self.paths.push((line, name.to_string(), a, port));
        Ok(())
    }

    /// The block as a whole, or the line and reason of what is wrong with it. `ha_groups`
    /// tells whether an ha-group of that name is defined.
    pub(super) fn finish(
        self,
        is_ha_group: impl Fn(&str) -> bool,
    ) -> Result<Option<HaConfig>, (usize, String)> {
        if self.first_line == 0 {
            return Ok(None);
        }
        let at_first = |what: &str| (self.first_line, format!("the ha block lacks `ha {what}`"));
        let node_id = self.node_id.ok_or_else(|| at_first("node-id 1|2"))?;
        let (group_line, group) = self
            .listen_ha_group
            .ok_or_else(|| at_first("listen-ha-group HA-GROUP"))?;
        if !is_ha_group(&group) {
            return Err((group_line, format!("listen-ha-group: no ha-group {group}")));
        }
        match self.paths.as_slice() {
            [] => return Err(at_first("path NAME NODE1-ADDRESS NODE2-ADDRESS")),
            [(line, name, ..)] => {
                return Err((
                    *line,
                    format!(
                        "path {name} is the only sync path: give at least two \
                         (e.g. a dedicated link and the inside LAN), so that losing one \
                         loses nothing"
                    ),
                ))
            }
            _ => {}
        }
        let sync_key = self
            .sync_key
            .ok_or_else(|| at_first("sync-key \"PASSPHRASE\"` or `ha sync-key-file PATH"))?;
        let defaults = SyncSettings::default();
        let packets = self.period_packets;
        let (inbound, outbound) = self.replay_interval.unwrap_or((
            packets.unwrap_or(defaults.period_packets_inbound),
            packets.unwrap_or(defaults.period_packets_outbound),
        ));
        let seqnum = SyncSettings {
            period_packets_inbound: inbound,
            period_packets_outbound: outbound,
            period_time_ms: self
                .period_time
                .map_or(defaults.period_time_ms, |d| d.as_millis() as u64),
            oseq_shift: self.oseq_shift.unwrap_or(defaults.oseq_shift),
        };
        let own = match node_id {
            NodeId::One => 0,
            NodeId::Two => 1,
        };
        let paths = self
            .paths
            .into_iter()
            .map(|(_, name, addresses, port)| SyncPath {
                name,
                addresses,
                port,
                local: addresses[own],
                peer: addresses[1 - own],
            })
            .collect();
        Ok(Some(HaConfig {
            node_id,
            listen_ha_group: group,
            paths,
            sync_key,
            seqnum,
        }))
    }
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// A passphrase as written (quoted when it has spaces). The error never quotes it.
fn passphrase(word: &str) -> Result<SyncKey, String> {
    if word.starts_with('"') && (word.len() < 2 || !word.ends_with('"')) {
        return Err("sync-key: unterminated quote".into());
    }
    key(unquote(word).as_bytes().to_vec(), "sync-key")
}

/// A key file's bytes as they are (a random key need not be text).
fn read_key_file(path: &Path) -> Result<SyncKey, String> {
    let what = format!("sync-key-file {}", path.display());
    let bytes = config::read_bounded_bytes(path, MAX_SYNC_KEY_FILE_BYTES)
        .map_err(|e| format!("{what}: {}", e.reason))?;
    key(bytes, &what)
}

fn key(bytes: Vec<u8>, what: &str) -> Result<SyncKey, String> {
    let bytes = Zeroizing::new(bytes);
    if bytes.len() < MIN_SYNC_KEY_BYTES {
        return Err(format!(
            "{what}: a sync key has at least {MIN_SYNC_KEY_BYTES} bytes"
        ));
    }
    Ok(SyncKey(bytes))
}

#[cfg(test)]
mod tests;
