//! INITIAL_CONTACT received (RFC 7296 2.4): the peer holds no IKE SA between the two
//! identities but the new one. Ours beside it are dead on its side (it rebooted, or dropped
//! them without a delete that reached us): kept, their CHILD SAs would take traffic the peer
//! drops as an unknown SPI until our DPD gave up on them.

use std::time::Duration;

use super::Engine;
use crate::action::{DownReason, IkeSaId};
use crate::config::Identity;
use crate::rng::RngSource;
use crate::sa::IkeSa;

impl Engine {
    /// Closes, without a delete the peer would not know, every other IKE SA between the
    /// identities of SA `id`.
    pub(super) fn drop_forgotten(&mut self, id: IkeSaId, now: Duration, rng: &mut dyn RngSource) {
        let Some(pair) = self.sas.get(&id).and_then(|sa| self.identities(sa)) else {
            return;
        };
        // Only the SAs with the peer's identity (the index), then ours to match too.
        let forgotten: Vec<IkeSaId> = self
            .by_identity
            .get(&pair.1)
            .into_iter()
            .flatten()
            .filter(|other| **other != id)
            .filter(|other| {
                self.sas
                    .get(other)
                    .is_some_and(|sa| self.identities(sa).as_ref() == Some(&pair))
            })
            .copied()
            .collect();
        for other in forgotten {
            if let Some(mut sa) = self.sas.remove(&other) {
                sa.close(&mut self.ctx(now, rng), DownReason::Forgotten);
                self.after(other, sa);
            }
        }
    }

    /// Our identity (its connection's) and the peer's authenticated one.
    fn identities(&self, sa: &IkeSa) -> Option<(Identity, Identity)> {
        let remote = sa.remote_identity.clone()?;
        let cfg = self.configs.iter().find(|c| c.name == sa.config)?;
        Some((cfg.local_id.clone(), remote))
    }
}
