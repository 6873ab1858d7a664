//! A security association as the processes hand it to each other: everything the fast path
//! needs to install one direction of a CHILD SA (RFC 4301 4.4.2), with its keys. A value of
//! `SaSpec` is always valid: the decoder and the statement parser both go through
//! `SaSpec::check`, so a fast path never sees a spec it would have to refuse for its shape.

use crate::id::SaId;
use crate::key::KeyBytes;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// The largest anti-replay window the fast path keeps (bits of its bitmap).
pub const MAX_REPLAY_WINDOW: u32 = 1 << 16;
/// The smallest one besides 0 (no anti-replay): RFC 4303 3.4.3 asks for at least 32.
pub const MIN_REPLAY_WINDOW: u32 = 32;

/// Which way an SA carries traffic, seen from this gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    pub fn word(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }

    pub fn from_word(w: &str) -> Option<Direction> {
        match w {
            "in" => Some(Direction::In),
            "out" => Some(Direction::Out),
            _ => None,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// The ESP transforms the fast path implements, by strongSwan's ESP proposal keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Transform {
    #[serde(rename = "aes128gcm16")]
    Aes128Gcm16,
    #[serde(rename = "aes256gcm16")]
    Aes256Gcm16,
    #[serde(rename = "aes128-sha1")]
    Aes128Sha1,
    #[serde(rename = "aes256-sha1")]
    Aes256Sha1,
    #[serde(rename = "aes128-sha256")]
    Aes128Sha256,
    #[serde(rename = "aes256-sha256")]
    Aes256Sha256,
    #[serde(rename = "null-sha1")]
    NullSha1,
    #[serde(rename = "null-sha256")]
    NullSha256,
}

impl Transform {
    pub const ALL: [Transform; 8] = [
        Transform::Aes128Gcm16,
        Transform::Aes256Gcm16,
        Transform::Aes128Sha1,
        Transform::Aes256Sha1,
        Transform::Aes128Sha256,
        Transform::Aes256Sha256,
        Transform::NullSha1,
        Transform::NullSha256,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Transform::Aes128Gcm16 => "aes128gcm16",
            Transform::Aes256Gcm16 => "aes256gcm16",
            Transform::Aes128Sha1 => "aes128-sha1",
            Transform::Aes256Sha1 => "aes256-sha1",
            Transform::Aes128Sha256 => "aes128-sha256",
            Transform::Aes256Sha256 => "aes256-sha256",
            Transform::NullSha1 => "null-sha1",
            Transform::NullSha256 => "null-sha256",
        }
    }

    pub fn from_name(name: &str) -> Option<Transform> {
        Transform::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The encryption key's length in bytes; for GCM, the key and its 4-byte salt
    /// (RFC 4106 8.1), as IKE derives them.
    pub fn key_len(self) -> usize {
        match self {
            Transform::Aes128Gcm16 => 20,
            Transform::Aes256Gcm16 => 36,
            Transform::Aes128Sha1 | Transform::Aes128Sha256 => 16,
            Transform::Aes256Sha1 | Transform::Aes256Sha256 => 32,
            Transform::NullSha1 | Transform::NullSha256 => 0,
        }
    }

    /// The integrity key's length in bytes (0: a combined-mode cipher).
    pub fn auth_key_len(self) -> usize {
        match self {
            Transform::Aes128Gcm16 | Transform::Aes256Gcm16 => 0,
            Transform::Aes128Sha1 | Transform::Aes256Sha1 | Transform::NullSha1 => 20,
            Transform::Aes128Sha256 | Transform::Aes256Sha256 | Transform::NullSha256 => 32,
        }
    }

    pub fn is_aead(self) -> bool {
        self.auth_key_len() == 0
    }
}

impl fmt::Display for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Tunnel mode with this gateway's address first (an inbound SA's packets are addressed to
/// `local`), or transport mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SaMode {
    Tunnel { local: IpAddr, remote: IpAddr },
    Transport,
}

impl fmt::Display for SaMode {
    /// As the `sa` statement says it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaMode::Tunnel { local, remote } => write!(f, "tunnel {local} {remote}"),
            SaMode::Transport => f.write_str("transport"),
        }
    }
}

/// UDP encapsulation (RFC 3948): this side's port, then the peer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Natt {
    pub local_port: u16,
    pub remote_port: u16,
}

/// Soft and hard lifetimes in bytes and packets (RFC 4301 4.4.2.1); 0 means none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Lifetimes {
    #[serde(default)]
    pub soft_bytes: u64,
    #[serde(default)]
    pub hard_bytes: u64,
    #[serde(default)]
    pub soft_packets: u64,
    #[serde(default)]
    pub hard_packets: u64,
}

impl Lifetimes {
    pub fn is_none(&self) -> bool {
        *self == Lifetimes::default()
    }
}

/// The outer header's DSCP: copied from the inner packet, or set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dscp {
    #[default]
    Copy,
    Set(u8),
}

/// The outer DF bit (RFC 4301 8.1): copied, set or cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Df {
    #[default]
    Copy,
    Set,
    Clear,
}

/// The outer TTL when none is given.
pub const DEFAULT_TTL: u8 = 64;
/// The replay window when none is given.
pub const DEFAULT_WINDOW: u32 = 1024;

/// One direction of a CHILD SA, as installed in a fast path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedSaSpec")]
pub struct SaSpec {
    pub id: SaId,
    pub dir: Direction,
    pub spi: u32,
    pub transform: Transform,
    pub key: KeyBytes,
    #[serde(default, skip_serializing_if = "KeyBytes::is_empty")]
    pub auth_key: KeyBytes,
    pub mode: SaMode,
    #[serde(default)]
    pub esn: bool,
    /// Inbound anti-replay window in packets (0: none).
    pub window: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub natt: Option<Natt>,
    #[serde(default, skip_serializing_if = "Lifetimes::is_none")]
    pub lifetime: Lifetimes,
    #[serde(default)]
    pub dscp: Dscp,
    #[serde(default)]
    pub df: Df,
    pub ttl: u8,
    /// Installed inactive: an HA standby's copy, activated at takeover.
    #[serde(default)]
    pub standby: bool,
}

/// What the decoder reads before `SaSpec::check` has passed it.
#[derive(Deserialize)]
struct UncheckedSaSpec {
    id: SaId,
    dir: Direction,
    spi: u32,
    transform: Transform,
    key: KeyBytes,
    #[serde(default)]
    auth_key: KeyBytes,
    mode: SaMode,
    #[serde(default)]
    esn: bool,
    #[serde(default)]
    window: Option<u32>,
    #[serde(default)]
    natt: Option<Natt>,
    #[serde(default)]
    lifetime: Lifetimes,
    #[serde(default)]
    dscp: Dscp,
    #[serde(default)]
    df: Df,
    #[serde(default)]
    ttl: Option<u8>,
    #[serde(default)]
    standby: bool,
}

impl TryFrom<UncheckedSaSpec> for SaSpec {
    type Error = SpecError;
    fn try_from(u: UncheckedSaSpec) -> Result<SaSpec, SpecError> {
        let spec = SaSpec {
            id: u.id,
            dir: u.dir,
            spi: u.spi,
            transform: u.transform,
            key: u.key,
            auth_key: u.auth_key,
            mode: u.mode,
            esn: u.esn,
            window: u.window.unwrap_or(DEFAULT_WINDOW),
            natt: u.natt,
            lifetime: u.lifetime,
            dscp: u.dscp,
            df: u.df,
            ttl: u.ttl.unwrap_or(DEFAULT_TTL),
            standby: u.standby,
        };
        spec.check()?;
        Ok(spec)
    }
}

/// Why an SA description is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("SPI 0 is reserved (RFC 4303 2.1)")]
    SpiZero,
    #[error("key is {got} bytes; {transform} wants {want}")]
    KeyLength {
        transform: Transform,
        got: usize,
        want: usize,
    },
    #[error("auth-key is {got} bytes; {transform} wants {want}")]
    AuthKeyLength {
        transform: Transform,
        got: usize,
        want: usize,
    },
    #[error("tunnel endpoints must be of one address family")]
    MixedFamilies,
    #[error("tunnel endpoint {0} is not a unicast address")]
    NotUnicast(IpAddr),
    #[error("window {0}: want 0 (none) or {MIN_REPLAY_WINDOW}..{MAX_REPLAY_WINDOW}")]
    Window(u32),
    #[error("lifetime-{0}: the soft limit is above the hard one")]
    SoftAboveHard(&'static str),
    #[error("dscp {0}: want 0..63")]
    Dscp(u8),
    #[error("ttl 0: want 1..255")]
    TtlZero,
    #[error("natt port 0")]
    NattPortZero,
}

/// An address that can be a tunnel's endpoint: not unspecified, multicast or broadcast.
pub fn is_unicast(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => !(v.is_unspecified() || v.is_multicast() || v.is_broadcast()),
        IpAddr::V6(v) => !(v.is_unspecified() || v.is_multicast()),
    }
}

impl SaSpec {
    /// Refuses what no fast path could install (lengths, families, ranges).
    pub fn check(&self) -> Result<(), SpecError> {
        // 1..255 are reserved by IANA too, but static lab peers use them (DPDK's
        // ipsec-secgw samples take SPI 5): only 0, which never goes on the wire, is refused.
        if self.spi == 0 {
            return Err(SpecError::SpiZero);
        }
        let t = self.transform;
        if self.key.len() != t.key_len() {
            return Err(SpecError::KeyLength {
                transform: t,
                got: self.key.len(),
                want: t.key_len(),
            });
        }
        if self.auth_key.len() != t.auth_key_len() {
            return Err(SpecError::AuthKeyLength {
                transform: t,
                got: self.auth_key.len(),
                want: t.auth_key_len(),
            });
        }
        if let SaMode::Tunnel { local, remote } = self.mode {
            if local.is_ipv4() != remote.is_ipv4() {
                return Err(SpecError::MixedFamilies);
            }
            for a in [local, remote] {
                if !is_unicast(a) {
                    return Err(SpecError::NotUnicast(a));
                }
            }
        }
        if self.window != 0 && !(MIN_REPLAY_WINDOW..=MAX_REPLAY_WINDOW).contains(&self.window) {
            return Err(SpecError::Window(self.window));
        }
        let l = &self.lifetime;
        if l.hard_bytes != 0 && l.soft_bytes > l.hard_bytes {
            return Err(SpecError::SoftAboveHard("bytes"));
        }
        if l.hard_packets != 0 && l.soft_packets > l.hard_packets {
            return Err(SpecError::SoftAboveHard("packets"));
        }
        if let Dscp::Set(d) = self.dscp {
            if d > 63 {
                return Err(SpecError::Dscp(d));
            }
        }
        if self.ttl == 0 {
            return Err(SpecError::TtlZero);
        }
        if let Some(n) = self.natt {
            if n.local_port == 0 || n.remote_port == 0 {
                return Err(SpecError::NattPortZero);
            }
        }
        Ok(())
    }
}
