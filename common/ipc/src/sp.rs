//! A security policy as the processes hand it to each other (RFC 4301 4.4.1): a selector,
//! a priority (lower is tried first) and what to do with a match.

use crate::id::SaId;
use crate::sa::Direction;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A range of ports, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "(u16, u16)", into = "(u16, u16)")]
pub struct PortRange {
    lo: u16,
    hi: u16,
}

impl PortRange {
    pub const ANY: PortRange = PortRange { lo: 0, hi: 65535 };

    pub fn new(lo: u16, hi: u16) -> Option<PortRange> {
        (lo <= hi).then_some(PortRange { lo, hi })
    }

    pub fn lo(self) -> u16 {
        self.lo
    }

    pub fn hi(self) -> u16 {
        self.hi
    }

    pub fn is_any(&self) -> bool {
        *self == PortRange::ANY
    }
}

impl Default for PortRange {
    fn default() -> Self {
        PortRange::ANY
    }
}

impl TryFrom<(u16, u16)> for PortRange {
    type Error = String;
    fn try_from((lo, hi): (u16, u16)) -> Result<PortRange, String> {
        PortRange::new(lo, hi).ok_or_else(|| format!("port range {lo}:{hi} is not LO:HI"))
    }
}

impl From<PortRange> for (u16, u16) {
    fn from(r: PortRange) -> (u16, u16) {
        (r.lo, r.hi)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}:{}", self.lo, self.hi)
        }
    }
}

/// What a matching packet meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpAction {
    Protect(SaId),
    Bypass,
    Discard,
}

/// One policy of one direction's SPD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedSpSpec")]
pub struct SpSpec {
    pub dir: Direction,
    pub action: SpAction,
    pub priority: u32,
    pub src: IpNet,
    pub dst: IpNet,
    /// The IP protocol; None: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proto: Option<u8>,
    #[serde(default, skip_serializing_if = "PortRange::is_any")]
    pub sport: PortRange,
    #[serde(default, skip_serializing_if = "PortRange::is_any")]
    pub dport: PortRange,
}

#[derive(Deserialize)]
struct UncheckedSpSpec {
    dir: Direction,
    action: SpAction,
    priority: u32,
    src: IpNet,
    dst: IpNet,
    #[serde(default)]
    proto: Option<u8>,
    #[serde(default)]
    sport: PortRange,
    #[serde(default)]
    dport: PortRange,
}

impl TryFrom<UncheckedSpSpec> for SpSpec {
    type Error = String;
    fn try_from(u: UncheckedSpSpec) -> Result<SpSpec, String> {
        SpSpec::new(
            u.dir, u.action, u.priority, u.src, u.dst, u.proto, u.sport, u.dport,
        )
    }
}

impl SpSpec {
    /// A policy; prefixes are truncated to their length; the two must be of one family.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        dir: Direction,
        action: SpAction,
        priority: u32,
        src: IpNet,
        dst: IpNet,
        proto: Option<u8>,
        sport: PortRange,
        dport: PortRange,
    ) -> Result<SpSpec, String> {
        if src.addr().is_ipv4() != dst.addr().is_ipv4() {
            return Err("src and dst must be of one address family".into());
        }
        Ok(SpSpec {
            dir,
            action,
            priority,
            src: src.trunc(),
            dst: dst.trunc(),
            proto,
            sport,
            dport,
        })
    }
}
