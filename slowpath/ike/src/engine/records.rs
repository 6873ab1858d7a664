//! The engine's IKE SAs one by one as records (`IkeSaRecord`), for the HA peer and a local
//! checkpoint: export, import, a synced delete, and which records changed since last asked.

use std::net::IpAddr;
use std::time::Duration;

use super::Engine;
use crate::action::IkeSaId;
use crate::sa::{IkeSaRecord, IkeState, RecordError};

/// What changed since the last `take_changed`: apply `removed` first (an IKE SA rekey moves
/// its record to new SPIs: the old ones are removed, the SA is changed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// SAs whose record is not what it was (message IDs, rekeys, CHILD SAs, timers, lease).
    pub changed: Vec<IkeSaId>,
    /// Records gone, by the SPIs (initiator's, responder's) they were known by.
    pub removed: Vec<(u64, u64)>,
}

impl Engine {
    /// Called by `after` for every SA a call went through: it may have changed, and a record
    /// under other SPIs than before is gone.
    pub(super) fn note_change(
        &mut self,
        id: IkeSaId,
        old: Option<(u64, u64)>,
        new: Option<(u64, u64)>,
    ) {
        if let Some(o) = old.filter(|o| Some(*o) != new) {
            self.removed.push(o);
        }
        if new.is_some() {
            self.changed.insert(id);
        } else {
            self.changed.remove(&id);
        }
    }

    /// The SAs whose record changed, and the records gone, since the last call.
    pub fn take_changed(&mut self) -> Changes {
        let changed: Vec<IkeSaId> = std::mem::take(&mut self.changed)
            .into_iter()
            .filter(|id| self.sas.contains_key(id))
            .collect();
        Changes {
            changed,
            removed: std::mem::take(&mut self.removed),
        }
    }

    /// SA `id` as a record, its instants relative to `now` (`None`: no such SA, or one with
    /// nothing negotiated yet).
    pub fn export_sa(&self, id: IkeSaId, now: Duration) -> Option<IkeSaRecord> {
        IkeSaRecord::export(self.sas.get(&id)?, now)
    }

    /// Carries a recorded SA on here (see `IkeSaRecord::into_sa` for `seal_counter_shift`),
    /// in place of the SA with the same SPIs if there is one; its SPIs and its virtual IP's
    /// lease are held as if it had negotiated them here.
    pub fn import_sa(
        &mut self,
        record: IkeSaRecord,
        now: Duration,
        seal_counter_shift: u64,
    ) -> Result<IkeSaId, RecordError> {
        if !self.configs.iter().any(|c| c.name == record.config()) {
            return Err(RecordError::UnknownConfig(record.config().to_string()));
        }
        let mut sa = record.into_sa(now, seal_counter_shift);
        let existing = sa
            .local_spis()
            .iter()
            .find_map(|s| self.by_spi.get(s).copied());
        let id = match existing {
            Some(id) => {
                if let Some(old) = self.sas.remove(&id) {
                    self.release_lease(&old);
                }
                id
            }
            None => {
                let id = self.next_id;
                self.next_id += 1;
                id
            }
        };
        sa.id = id;
        if let (Some(pool), Some(IpAddr::V4(addr)), Some(identity)) =
            (&sa.vip_pool, sa.virtual_ip, &sa.remote_identity)
        {
            if let Some(p) = self.pools.get_mut(pool) {
                p.hold(addr, identity, id);
            }
        }
        self.after(id, sa);
        Ok(id)
    }

    /// Forgets the SA with these SPIs (deleted on the node that owns it) without a word to
    /// the peer or the fast path; its lease goes offline. The SA's handle, if there was one.
    pub fn remove_sa_by_spis(&mut self, spi_i: u64, spi_r: u64) -> Option<IkeSaId> {
        let id = [spi_i, spi_r]
            .iter()
            .filter_map(|s| self.by_spi.get(s).copied())
            .find(|id| {
                self.sas
                    .get(id)
                    .is_some_and(|sa| sa.spis() == Some((spi_i, spi_r)))
            })?;
        let mut sa = self.sas.remove(&id)?;
        self.release_lease(&sa);
        sa.state = IkeState::Closed;
        self.after(id, sa);
        Some(id)
    }

    fn release_lease(&mut self, sa: &crate::sa::IkeSa) {
        if let (Some(pool), Some(IpAddr::V4(addr))) = (&sa.vip_pool, sa.virtual_ip) {
            if let Some(p) = self.pools.get_mut(pool) {
                p.release(addr);
            }
        }
    }
}
