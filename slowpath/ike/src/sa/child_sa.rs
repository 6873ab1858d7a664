//! One CHILD SA pair (RFC 7296 1.3, 2.17): SPIs both ways, selectors, transform and keys.

use std::net::SocketAddr;
use std::time::Duration;

use crate::action::{ChildId, ChildRef, ChildSaInfo, IkeSaId, UdpEncap};
use crate::config::{Lifetimes, Mode};
use crate::crypto::keys::ChildKeys;
use crate::crypto::transform::Suite;
use crate::message::TrafficSelector;

/// Where a CHILD SA is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ChildState {
    Installed,
    /// We sent a rekey request for it.
    Rekeying,
    /// A rekey replaced it; waiting for its delete (ours or the peer's).
    Rekeyed,
    /// We sent a delete for it.
    Deleting,
    /// Negotiated but not installed: the redundant side of a rekey collision, or waiting for
    /// that collision to be resolved.
    Shadow,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ChildSa {
    pub id: ChildId,
    pub config: String,
    pub state: ChildState,
    /// Whether the fast path has it (a shadow never does).
    pub installed: bool,
    pub spi_in: u32,
    pub spi_out: u32,
    pub mode: Mode,
    pub suite: Suite,
    pub keys: ChildKeys,
    /// Whether we initiated the exchange that made it: the KEYMAT's first half is then our
    /// outbound key (RFC 7296 2.17).
    pub initiator: bool,
    pub local_ts: Vec<TrafficSelector>,
    pub remote_ts: Vec<TrafficSelector>,
    pub lifetimes: Lifetimes,
    pub created_at: Duration,
    pub rekey_at: Option<Duration>,
    pub expire_at: Option<Duration>,
    /// The CHILD SA this one replaced (until the rekey is over).
    pub replaces: Option<ChildId>,
}

impl ChildSa {
    pub fn child_ref(&self, sa: IkeSaId) -> ChildRef {
        ChildRef {
            sa,
            id: self.id,
            spi_in: self.spi_in,
            spi_out: self.spi_out,
        }
    }

    /// What the fast path needs; `local`/`remote` are the IKE SA's current addresses and
    /// `encap` says whether ESP goes in UDP.
    pub fn info(
        &self,
        sa: IkeSaId,
        local: SocketAddr,
        remote: SocketAddr,
        encap: bool,
    ) -> ChildSaInfo {
        let k = &self.keys;
        let (encr_out, integ_out, encr_in, integ_in) = if self.initiator {
            (&k.encr_i, &k.integ_i, &k.encr_r, &k.integ_r)
        } else {
            (&k.encr_r, &k.integ_r, &k.encr_i, &k.integ_i)
        };
        ChildSaInfo {
            child: self.child_ref(sa),
            config: self.config.clone(),
            mode: self.mode,
            local_addr: local.ip(),
            remote_addr: remote.ip(),
            local_ts: self.local_ts.clone(),
            remote_ts: self.remote_ts.clone(),
            suite: self.suite,
            esn: self.suite.esn.unwrap_or(false),
            encr_key_in: encr_in.clone(),
            integ_key_in: integ_in.clone(),
            encr_key_out: encr_out.clone(),
            integ_key_out: integ_out.clone(),
            soft_bytes: self.lifetimes.rekey_bytes,
            hard_bytes: self.lifetimes.life_bytes,
            soft_packets: self.lifetimes.rekey_packets,
            hard_packets: self.lifetimes.life_packets,
            rekey_at: self.rekey_at,
            expire_at: self.expire_at,
            encap: encap.then_some(UdpEncap {
                local_port: local.port(),
                remote_port: remote.port(),
            }),
        }
    }
}
