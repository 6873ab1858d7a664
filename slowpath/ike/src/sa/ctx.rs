//! What every call into an IKE SA gets from its caller: the time, randomness, the
//! configuration, the pools and the SPI allocator (SPIs are unique across the engine).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::action::IkeSaId;
use crate::config::IkeConfig;
use crate::esp_spis::EspSpis;
use crate::ha::HaSettings;
use crate::pool::Pools;
use crate::rng::{random_u64, RngSource};
use crate::sa::IkeSa;

pub struct Ctx<'a> {
    /// The caller's clock.
    pub now: Duration,
    /// Seconds since the Unix epoch, for certificate validity.
    pub unix_time: i64,
    /// How long a responder keeps an SA that never got its IKE_AUTH.
    pub half_open_timeout: Duration,
    /// RFC 6311 and takeover settings.
    pub ha: HaSettings,
    pub rng: &'a mut dyn RngSource,
    pub configs: &'a [Arc<IkeConfig>],
    pub pools: &'a mut Pools,
    pub spis: &'a mut SpiAllocator,
    /// The engine's other IKE SAs (not the one called), to look at only.
    pub others: &'a BTreeMap<IkeSaId, IkeSa>,
    /// Every IKE SA of the engine by its peer's address (the one called too).
    pub by_peer: &'a BTreeSet<(IpAddr, IkeSaId)>,
}

impl Ctx<'_> {
    pub fn config(&self, name: &str) -> Option<Arc<IkeConfig>> {
        self.configs.iter().find(|c| c.name == name).cloned()
    }

    /// The other IKE SAs with the peer at `ip`, found without looking at the rest.
    pub fn others_with_peer(&self, ip: IpAddr) -> impl Iterator<Item = &IkeSa> + '_ {
        self.by_peer
            .range((ip, IkeSaId::MIN)..=(ip, IkeSaId::MAX))
            .filter_map(|(_, id)| self.others.get(id))
    }

    pub fn ike_spi(&mut self) -> u64 {
        self.spis.ike(self.rng)
    }

    pub fn esp_spi(&mut self) -> u32 {
        self.spis.esp(self.rng)
    }
}

/// SPIs in use on this node: our IKE SPIs (how datagrams find their IKE SA) and our inbound
/// ESP SPIs (how the fast path finds its SA). The engine keeps it in step with its SAs.
#[derive(Debug, Clone, Default)]
pub struct SpiAllocator {
    pub ike: HashSet<u64>,
    /// Shared with the IKEv1 engine (`EspSpis`).
    pub esp: EspSpis,
    /// Allocated during the current call: the engine frees those no SA ended up using.
    pub fresh_ike: Vec<u64>,
    pub fresh_esp: Vec<u32>,
}

impl SpiAllocator {
    pub fn ike(&mut self, rng: &mut dyn RngSource) -> u64 {
        loop {
            let s = random_u64(rng);
            if s != 0 && self.ike.insert(s) {
                self.fresh_ike.push(s);
                return s;
            }
        }
    }

    pub fn esp(&mut self, rng: &mut dyn RngSource) -> u32 {
        let s = self.esp.take_new(rng);
        self.fresh_esp.push(s);
        s
    }
}
