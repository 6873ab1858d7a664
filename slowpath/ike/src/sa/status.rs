//! A snapshot of an IKE SA for operators (`swanctl --list-sas`).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::action::{ChildId, Counters};
use crate::config::{Identity, Mode};
use crate::crypto::transform::Suite;
use crate::message::TrafficSelector;
use crate::sa::child_sa::{ChildSa, ChildState};
use crate::sa::ike_sa::{IkeSa, IkeState};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildStatus {
    pub id: ChildId,
    pub config: String,
    pub state: ChildState,
    pub spi_in: u32,
    pub spi_out: u32,
    pub mode: Mode,
    pub suite: Suite,
    pub local_ts: Vec<TrafficSelector>,
    pub remote_ts: Vec<TrafficSelector>,
    /// From `now`; `None` when not scheduled.
    pub rekey_in: Option<Duration>,
    pub expire_in: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeSaStatus {
    pub id: u64,
    pub config: String,
    pub state: IkeState,
    pub spi_i: u64,
    pub spi_r: u64,
    pub initiator: bool,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub remote_id: Option<Identity>,
    pub suite: Option<Suite>,
    pub nat_local: bool,
    pub nat_remote: bool,
    pub established_for: Option<Duration>,
    pub rekey_in: Option<Duration>,
    pub virtual_ip: Option<IpAddr>,
    pub children: Vec<ChildStatus>,
    pub counters: Counters,
}

fn until(at: Option<Duration>, now: Duration) -> Option<Duration> {
    at.map(|t| t.saturating_sub(now))
}

impl IkeSa {
    pub fn status(&self, now: Duration) -> IkeSaStatus {
        let (spi_i, spi_r, initiator) = match (&self.core, &self.init) {
            (Some(c), _) => (c.spi_i, c.spi_r, c.initiator),
            (None, Some(i)) => (i.spi_i, i.spi_r, true),
            _ => (0, 0, true),
        };
        IkeSaStatus {
            id: self.id,
            config: self.config.clone(),
            state: self.state,
            spi_i,
            spi_r,
            initiator,
            local: self.local,
            remote: self.remote,
            remote_id: self.remote_identity.clone(),
            suite: self.core.as_ref().map(|c| c.suite),
            nat_local: self.nat.local_behind_nat,
            nat_remote: self.nat.remote_behind_nat,
            established_for: self.established_at.map(|t| now.saturating_sub(t)),
            rekey_in: until(self.rekey_at, now),
            virtual_ip: self.virtual_ip,
            children: self.children.iter().map(|c| c.status(now)).collect(),
            counters: self.counters.clone(),
        }
    }
}

impl ChildSa {
    /// A snapshot of the CHILD SA (an IKEv1 IPsec SA alike).
    pub fn status(&self, now: Duration) -> ChildStatus {
        ChildStatus {
            id: self.id,
            config: self.config.clone(),
            state: self.state,
            spi_in: self.spi_in,
            spi_out: self.spi_out,
            mode: self.mode,
            suite: self.suite,
            local_ts: self.local_ts.clone(),
            remote_ts: self.remote_ts.clone(),
            rekey_in: until(self.rekey_at, now),
            expire_in: until(self.expire_at, now),
        }
    }
}
