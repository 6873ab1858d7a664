//! The trap sender: every event with a notification in our MIB goes to every configured
//! receiver, as one datagram on a non-blocking UDP socket. A full socket buffer or an
//! unreachable receiver costs one counted failure, never a wait: the daemon's loops run on.
//! Each receiver has its own rate limit (`limit`): what it holds back is counted per
//! receiver, and each run of suppression is logged once it is over.
//!
//! For SNMPv3 the slow path is the authoritative engine of what it sends (RFC 3414 2.3):
//! its engine ID (per receiver if configured, else one from the host name), its boots
//! (one more at each start when a boots file is configured, else 1) and its time (seconds
//! since start). Keys are localised once, at start.

use super::limit::{Suppressed, TokenBucket};
use super::message::{self, UsmUser, V3Stamp};
use super::mib;
use super::usm::AuthProtocol;
use crate::config::{SnmpConfig, TrapAuth, TrapSecurity};
use serde_json::Value as Json;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

/// RFC 3411 engine ID format 4 (text) under our enterprise number, 32473.
const ENGINE_ID_PREFIX: [u8; 5] = [0x80, 0x00, 0x7e, 0xd9, 0x04];
/// An engine ID is at most 32 bytes: 27 of text after the prefix.
const ENGINE_ID_TEXT: usize = 27;
/// snmpEngineBoots stops here (RFC 3414 2.2.2): a receiver then needs new keys.
const MAX_BOOTS: u32 = 0x7fff_ffff;

enum Security {
    V2c { community: Vec<u8> },
    V3 { user: UsmUser, engine_id: Vec<u8> },
}

struct Receiver {
    to: SocketAddr,
    security: Security,
    bucket: TokenBucket,
    sent: u64,
    failed: u64,
}

/// A receiver as `slowpath-ctl traps` and the metrics page show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrapReceiverStatus {
    pub to: SocketAddr,
    /// `v2c`, or `v3` and the user.
    pub security: String,
    pub rate_per_second: u32,
    pub burst: u32,
    pub sent: u64,
    pub failed: u64,
    /// Traps the rate limit held back, since start.
    pub suppressed: u64,
    /// True while a run of suppression is under way.
    pub suppressing: bool,
}

/// A run of suppression that is over, for the log and the event stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuppressionEnded {
    pub to: SocketAddr,
    pub run: Suppressed,
}

pub struct TrapSender {
    receivers: Vec<Receiver>,
    socket4: Option<UdpSocket>,
    socket6: Option<UdpSocket>,
    epoch: Instant,
    boots: u32,
    /// request-id and msgID: one counter, positive.
    next_id: i32,
    /// RFC 3826's 64-bit salt: random at start, one more per encrypted message.
    salt: u64,
    pub sent: u64,
    pub failed: u64,
}

impl TrapSender {
    /// The sender for the configured receivers; None when there are none. Fails when the
    /// boots file cannot be read or written, or no socket can be opened.
    pub fn new(cfg: &SnmpConfig) -> std::io::Result<Option<TrapSender>> {
        if cfg.targets.is_empty() {
            return Ok(None);
        }
        let default_engine = default_engine_id();
        let receivers = cfg
            .targets
            .iter()
            .map(|t| Receiver {
                to: t.to,
                bucket: TokenBucket::new(t.rate, Duration::ZERO),
                sent: 0,
                failed: 0,
                security: match &t.security {
                    TrapSecurity::V2c { community } => Security::V2c {
                        community: community.as_bytes().to_vec(),
                    },
                    TrapSecurity::V3(u) => {
                        let engine_id = u
                            .engine_id
                            .clone()
                            .unwrap_or_else(|| default_engine.clone());
                        let auth = match u.auth {
                            TrapAuth::Sha1 => AuthProtocol::Sha1,
                            TrapAuth::Sha256 => AuthProtocol::Sha256,
                        };
                        let user = UsmUser::new(
                            &u.user,
                            auth,
                            u.auth_pass.as_bytes(),
                            u.priv_pass.as_bytes(),
                            &engine_id,
                        );
                        Security::V3 { user, engine_id }
                    }
                },
            })
            .collect::<Vec<_>>();
        let open = |any: &str| -> std::io::Result<UdpSocket> {
            let s = UdpSocket::bind(any)?;
            s.set_nonblocking(true)?;
            Ok(s)
        };
        let socket4 = match receivers.iter().any(|r| r.to.is_ipv4()) {
            true => Some(open("0.0.0.0:0")?),
            false => None,
        };
        let socket6 = match receivers.iter().any(|r| r.to.is_ipv6()) {
            true => Some(open("[::]:0")?),
            false => None,
        };
        let boots = match &cfg.boots_file {
            Some(path) => next_boots(path)?,
            None => 1,
        };
        let mut random = [0u8; 12];
        openssl::rand::rand_bytes(&mut random).map_err(std::io::Error::other)?;
        let salt = u64::from_be_bytes(random[..8].try_into().unwrap_or_default());
        let next_id = (u32::from_be_bytes(random[8..].try_into().unwrap_or_default()) >> 1) as i32;
        tracing::info!(
            "snmp: {} trap receivers, engine boots {boots}, default engine id {}",
            receivers.len(),
            hex::encode(&default_engine)
        );
        Ok(Some(TrapSender {
            receivers,
            socket4,
            socket6,
            epoch: Instant::now(),
            boots,
            next_id,
            salt,
            sent: 0,
            failed: 0,
        }))
    }

    /// Sends the event's notification to every receiver, if its kind has one.
    pub fn notify(&mut self, event: &Json) {
        self.notify_at(event, self.epoch.elapsed());
    }

    /// `notify` at `since` the sender's start (tests pass their own clock).
    pub fn notify_at(&mut self, event: &Json, since: Duration) {
        let Some(n) = mib::notification_of(event) else {
            return;
        };
        let uptime_cs = (since.as_millis() / 10) as u32;
        let engine_time = since.as_secs().min(u64::from(MAX_BOOTS)) as u32;
        let id = self.take_id();
        let pdu = message::trap_pdu(id, uptime_cs, &n.notification.oid(), &n.varbinds);
        for i in 0..self.receivers.len() {
            if !self.receivers[i].bucket.admit(since) {
                continue;
            }
            let bytes = match &self.receivers[i].security {
                Security::V2c { community } => message::v2c_message(community, &pdu),
                Security::V3 { user, engine_id } => {
                    self.salt = self.salt.wrapping_add(1);
                    let stamp = V3Stamp {
                        msg_id: id,
                        engine_id,
                        boots: self.boots,
                        time: engine_time,
                        salt: self.salt,
                    };
                    message::v3_message(user, &stamp, &pdu)
                }
            };
            self.send(i, &bytes, n.notification.name());
        }
    }

    /// The runs of suppression that are over (each receiver's bucket full again), each
    /// logged once.
    pub fn suppression_ended(&mut self) -> Vec<SuppressionEnded> {
        self.suppression_ended_at(self.epoch.elapsed())
    }

    pub fn suppression_ended_at(&mut self, since: Duration) -> Vec<SuppressionEnded> {
        let mut ended = Vec::new();
        for r in &mut self.receivers {
            if let Some(run) = r.bucket.ended(since) {
                let rate = r.bucket.rate();
                tracing::warn!(
                    "snmp: {} traps to {} suppressed over {} ms by the rate limit ({}/s burst {}); none since",
                    run.count,
                    r.to,
                    run.last.saturating_sub(run.first).as_millis(),
                    rate.per_second,
                    rate.burst
                );
                ended.push(SuppressionEnded { to: r.to, run });
            }
        }
        ended
    }

    /// Every receiver's limit and counters.
    pub fn statuses(&self) -> Vec<TrapReceiverStatus> {
        self.receivers
            .iter()
            .map(|r| TrapReceiverStatus {
                to: r.to,
                security: match &r.security {
                    Security::V2c { .. } => "v2c".to_string(),
                    Security::V3 { user, .. } => {
                        format!("v3 user {}", String::from_utf8_lossy(&user.name))
                    }
                },
                rate_per_second: r.bucket.rate().per_second,
                burst: r.bucket.rate().burst,
                sent: r.sent,
                failed: r.failed,
                suppressed: r.bucket.suppressed_total,
                suppressing: r.bucket.suppressing(),
            })
            .collect()
    }

    fn take_id(&mut self) -> i32 {
        let id = self.next_id;
        self.next_id = if id == i32::MAX { 1 } else { id + 1 };
        id
    }

    fn send(&mut self, i: usize, bytes: &[u8], what: &str) {
        let to = self.receivers[i].to;
        let socket = if to.is_ipv4() {
            &self.socket4
        } else {
            &self.socket6
        };
        let Some(socket) = socket else { return };
        match socket.send_to(bytes, to) {
            Ok(_) => {
                self.sent += 1;
                self.receivers[i].sent += 1;
            }
            Err(e) => {
                self.failed += 1;
                self.receivers[i].failed += 1;
                if e.kind() != ErrorKind::WouldBlock || self.failed.is_power_of_two() {
                    tracing::warn!("snmp: {what} to {to}: {e} ({} failed)", self.failed);
                }
            }
        }
    }
}

/// This start's snmpEngineBoots: the file's number plus one, written back before any trap
/// goes out (through a new file renamed over the old, so a crash leaves one or the other).
fn next_boots(path: &Path) -> std::io::Result<u32> {
    let last = match std::fs::read_to_string(path) {
        Ok(s) => s.trim().parse::<u32>().map_err(|e| {
            std::io::Error::new(ErrorKind::InvalidData, format!("{}: {e}", path.display()))
        })?,
        Err(e) if e.kind() == ErrorKind::NotFound => 0,
        Err(e) => return Err(e),
    };
    let boots = last.saturating_add(1).min(MAX_BOOTS);
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, format!("{boots}\n"))?;
    std::fs::rename(&tmp, path)?;
    Ok(boots)
}

/// Our enterprise's prefix and the host name (so two nodes of a pair differ).
fn default_engine_id() -> Vec<u8> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host = host.trim();
    let mut id = ENGINE_ID_PREFIX.to_vec();
    id.extend(host.bytes().take(ENGINE_ID_TEXT));
    if host.is_empty() {
        id.extend_from_slice(b"ipsec-gw");
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TrapTarget;
    use serde_json::json;
    use std::time::Duration;
    use zeroize::Zeroizing;

    #[test]
    fn boots_count_up_from_the_file_across_starts() {
        let dir = std::env::temp_dir().join(format!("snmp-boots-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("boots");
        let _ = std::fs::remove_file(&path);
        assert_eq!(next_boots(&path).unwrap(), 1);
        assert_eq!(next_boots(&path).unwrap(), 2);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "2\n");
        std::fs::write(&path, "junk").unwrap();
        assert!(next_boots(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_default_engine_id_is_rfc3411_text_format() {
        let id = default_engine_id();
        assert_eq!(id[..5], ENGINE_ID_PREFIX);
        assert!((6..=32).contains(&id.len()), "{id:02x?}");
    }

    /// A v2c receiver on a local socket gets one trap per notifying event, and none for
    /// an event our MIB has no notification for.
    #[test]
    fn events_reach_a_receiver_as_traps() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let cfg = SnmpConfig {
            targets: vec![TrapTarget {
                to: rx.local_addr().unwrap(),
                security: TrapSecurity::V2c {
                    community: Zeroizing::new("public".into()),
                },
                rate: Default::default(),
            }],
            boots_file: None,
        };
        let mut tx = TrapSender::new(&cfg).unwrap().unwrap();
        tx.notify(&json!({"event": "track", "track": "t", "up": true}));
        tx.notify(&json!({"event": "ha_role", "ha_group": "lab", "from": "standby", "to": "active", "reason": "r"}));
        assert_eq!((tx.sent, tx.failed), (1, 0));
        let mut buf = [0u8; 1500];
        let n = rx.recv(&mut buf).unwrap();
        let got = &buf[..n];
        let community = [4, 6, b'p', b'u', b'b', b'l', b'i', b'c'];
        assert!(got.windows(8).any(|w| w == community));
        // The notification's OID, ipsecGwHaRoleChange (...32473.1.0.9), is in snmpTrapOID.0.
        let oid = [6, 11, 0x2b, 6, 1, 4, 1, 0x81, 0xfd, 0x59, 1, 0, 9];
        assert!(got.windows(oid.len()).any(|w| w == oid), "{got:02x?}");
    }

    /// A storm at one instant: each receiver gets its burst, the rest is counted per
    /// receiver, and the run is reported once the bucket has filled up again.
    #[test]
    fn a_storm_is_cut_to_each_receivers_burst() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let cfg = SnmpConfig {
            targets: vec![TrapTarget {
                to: rx.local_addr().unwrap(),
                security: TrapSecurity::V2c {
                    community: Zeroizing::new("public".into()),
                },
                rate: crate::config::TrapRate {
                    per_second: 10,
                    burst: 3,
                },
            }],
            boots_file: None,
        };
        let mut tx = TrapSender::new(&cfg).unwrap().unwrap();
        let event = json!({"event": "ha_sync_down", "reason": "r"});
        let at = Duration::from_secs(1);
        for _ in 0..20 {
            tx.notify_at(&event, at);
        }
        let s = &tx.statuses()[0];
        assert_eq!((s.sent, s.suppressed, s.suppressing), (3, 17, true));
        assert_eq!(
            (s.rate_per_second, s.burst, s.security.as_str()),
            (10, 3, "v2c")
        );
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 1500];
        for _ in 0..3 {
            rx.recv(&mut buf).unwrap();
        }
        rx.set_nonblocking(true).unwrap();
        assert!(rx.recv(&mut buf).is_err(), "only the burst went out");
        // Three tokens take 300 ms at 10/s.
        assert!(tx
            .suppression_ended_at(at + Duration::from_millis(200))
            .is_empty());
        let ended = tx.suppression_ended_at(at + Duration::from_millis(300));
        assert_eq!(ended.len(), 1);
        assert_eq!((ended[0].to, ended[0].run.count), (cfg.targets[0].to, 17));
        assert!(!tx.statuses()[0].suppressing);
        assert_eq!(tx.statuses()[0].suppressed, 17, "the count stays");
    }
}
