//! The IKE SAs kept across a restart of the slow path (`ike-state-dir`): after each engine
//! call, the records that changed go to the checkpoint before the call's datagrams leave;
//! at start, every record is imported, its CHILD SAs found again in the fast path. IKEv1's
//! ISAKMP SAs go the same way, under their cookies; at start they are carried on as an HA
//! standby's takeover carries the synced ones.

use std::collections::BTreeSet;
use std::time::Duration;

use ike::action::{IkeSaId, IkeSaInfo};
use ike::config::Identity;
use ike::ha::HaRole;
use ike::message::IdType;
use ike::v1::record::IsakmpSaRecord;
use serde_json::json;

use super::checkpoint::{Checkpoint, Stored};
use super::IkeRunner;
use crate::ike::program::Expected;

/// What a restore brought back.
#[derive(Default)]
struct Restored {
    /// The connections that got an SA back.
    conns: BTreeSet<String>,
    /// Their installed CHILD SAs (IPsec SAs), for the fast path's reconciliation.
    children: Vec<Expected>,
    ike_sas: usize,
    isakmp_sas: usize,
    /// Records removed: unreadable, past their lifetime, or not importable.
    stale: usize,
}

/// How far an imported IKE SA's AEAD explicit IV counter jumps: a record is written before
/// the messages sealed with its counter leave, so this only covers a write that failed.
pub(super) const SEAL_COUNTER_SHIFT: u64 = 1 << 20;

impl IkeRunner {
    /// Writes what changed since the last call to the checkpoint (nothing without one):
    /// removals first, so that a record under keys that moved away and back is kept.
    pub(super) fn save_checkpoint<R: Stored>(&mut self, removed: &[(u64, u64)], records: &[R]) {
        let Some(cp) = self.checkpoint.as_mut() else {
            return;
        };
        for &key in removed {
            if let Err(e) = cp.remove_kind::<R>(key) {
                tracing::warn!(target: "ike", "checkpoint: removing {key:x?}{}: {e}", R::SUFFIX);
            }
        }
        for record in records {
            if let Err(e) = cp.write(record) {
                let key = record.key();
                tracing::warn!(target: "ike", "checkpoint: writing {key:x?}{}: {e}", R::SUFFIX);
            }
        }
    }

    /// Imports every record of the checkpoint, IKEv2's and IKEv1's; their CHILD SAs wait for
    /// the fast path's reconciliation (`SaTable::expect`). The connections that got an SA
    /// back.
    pub(super) fn restore(&mut self, now: Duration) -> BTreeSet<String> {
        let Some(mut cp) = self.checkpoint.take() else {
            return BTreeSet::new();
        };
        let mut out = Restored::default();
        self.restore_ike_sas(&mut cp, now, &mut out);
        self.restore_isakmp_sas(&mut cp, now, &mut out);
        self.checkpoint = Some(cp);
        let children = out.children.len();
        self.table.expect(out.children);
        self.event(
            "ike_restored",
            json!({
                "ike_sas": out.ike_sas, "isakmp_sas": out.isakmp_sas,
                "child_sas": children, "stale": out.stale,
            }),
        );
        out.conns
    }

    fn restore_ike_sas(&mut self, cp: &mut Checkpoint, now: Duration, out: &mut Restored) {
        let loaded = match cp.load() {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(target: "ike", "checkpoint: reading: {e}");
                return;
            }
        };
        out.stale += loaded.stale;
        for (record, age) in loaded.records {
            let spis = record.spis();
            let id =
                match self
                    .engine
                    .import_sa(record, now.saturating_sub(age), SEAL_COUNTER_SHIFT)
                {
                    Ok(id) => id,
                    Err(e) => {
                        tracing::warn!(target: "ike", "checkpoint: IKE SA {spis:x?}: {e}; removed");
                        let _ = cp.remove(spis);
                        out.stale += 1;
                        continue;
                    }
                };
            if self.note_restored(id, out) {
                out.ike_sas += 1;
            }
        }
    }

    /// The ISAKMP SAs, imported passive (as an HA standby holds them), then carried on as
    /// its takeover does: a Quick Mode in flight sent again, rekeys, reauthentication and DPD
    /// scheduled from the record, what fell due while down spread over a few seconds. On an
    /// HA standby they stay passive until its takeover.
    fn restore_isakmp_sas(&mut self, cp: &mut Checkpoint, now: Duration, out: &mut Restored) {
        let loaded = match cp.load_kind::<IsakmpSaRecord>() {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(target: "ike", "checkpoint: reading ISAKMP SAs: {e}");
                return;
            }
        };
        out.stale += loaded.stale;
        let role = self.v1.role();
        self.v1.set_role(HaRole::Standby, now, &mut self.rng);
        for (record, age) in loaded.records {
            let cookies = record.cookies();
            match self.v1.import_sa(record, now.saturating_sub(age)) {
                Ok(id) => {
                    if self.note_restored(id, out) {
                        out.isakmp_sas += 1;
                    }
                }
                Err(e) => {
                    tracing::warn!(target: "ike", "checkpoint: ISAKMP SA {cookies:x?}: {e}; removed");
                    let _ = cp.remove_kind::<IsakmpSaRecord>(cookies);
                    out.stale += 1;
                }
            }
        }
        self.v1.set_role(role, now, &mut self.rng);
    }

    /// An imported SA of either engine: known to the runner, its conn and CHILD SAs noted.
    fn note_restored(&mut self, id: IkeSaId, out: &mut Restored) -> bool {
        let Some(info) = self.any_sa_info(id) else {
            return false;
        };
        out.conns.insert(info.config.clone());
        out.children.extend(self.held_children(id));
        self.ike_sas.insert(id, info);
        true
    }

    /// The installed CHILD SAs of an imported IKE SA, as the table takes them.
    pub(super) fn installed_children(&self, id: IkeSaId) -> Vec<Expected> {
        let Some(sa) = self.engine.sa(id) else {
            return Vec::new();
        };
        let encap = sa.nat.any();
        sa.children
            .iter()
            .filter(|c| c.installed)
            .map(|c| {
                let info = c.info(id, sa.local, sa.remote, encap);
                let window = self.window_of(id, &c.config);
                (info, window)
            })
            .collect()
    }

    /// What the runner knows of an imported IKE SA (no `IkeSaUp` announced it).
    pub(super) fn ike_sa_info(&self, id: IkeSaId) -> Option<IkeSaInfo> {
        let sa = self.engine.sa(id)?;
        let core = sa.core.as_ref()?;
        Some(IkeSaInfo {
            sa: id,
            config: sa.config.clone(),
            spi_i: core.spi_i,
            spi_r: core.spi_r,
            initiator: core.initiator,
            local: sa.local,
            remote: sa.remote,
            remote_id: sa.remote_identity.clone().unwrap_or(Identity {
                id_type: IdType::NULL,
                data: Vec::new(),
            }),
            virtual_ip: sa.virtual_ip,
        })
    }

    /// Installs anew the restored CHILD SAs the fast path did not have.
    pub(super) fn install_unadopted(&mut self) {
        for (info, _) in self.table.take_unadopted() {
            tracing::info!(
                target: "ike",
                "restored CHILD SA {}/{} not in the fast path: installed anew",
                info.child.sa, info.child.id
            );
            self.child_up(&info);
        }
    }

    /// Opens the checkpoint directory, if one is configured; without it, nothing is kept.
    pub(super) fn open_checkpoint(dir: Option<&std::path::Path>) -> Option<Checkpoint> {
        let dir = dir?;
        match Checkpoint::open(dir) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(target: "ike", "ike-state-dir {}: {e}; IKE SAs are not kept", dir.display());
                None
            }
        }
    }
}
