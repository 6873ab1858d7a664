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
        // The peer's identity first: it sets most SAs apart without a clone.
        let forgotten: Vec<IkeSaId> = self
            .sas
            .iter()
            .filter(|(other, sa)| {
                **other != id
                    && sa.remote_identity.as_ref() == Some(&pair.1)
                    && self.identities(sa).as_ref() == Some(&pair)
            })
            .map(|(other, _)| *other)
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
