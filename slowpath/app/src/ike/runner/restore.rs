//! The IKE SAs kept across a restart of the slow path (`ike-state-dir`): after each engine
//! call, the records that changed go to the checkpoint before the call's datagrams leave;
//! at start, every record is imported, its CHILD SAs found again in the fast path.

use std::collections::BTreeSet;
use std::time::Duration;

use ike::action::{IkeSaId, IkeSaInfo};
use ike::config::Identity;
use ike::message::IdType;
use ike::sa::IkeSaRecord;
use serde_json::json;

use super::checkpoint::Checkpoint;
use super::IkeRunner;
use crate::ike::program::Expected;

/// How far an imported IKE SA's AEAD explicit IV counter jumps: a record is written before
/// the messages sealed with its counter leave, so this only covers a write that failed.
pub(super) const SEAL_COUNTER_SHIFT: u64 = 1 << 20;

impl IkeRunner {
    /// Writes what changed since the last call to the checkpoint (nothing without one).
    pub(super) fn save_checkpoint(&mut self, removed: &[(u64, u64)], records: &[IkeSaRecord]) {
        let Some(cp) = self.checkpoint.as_mut() else {
            return;
        };
        for &spis in removed {
            if let Err(e) = cp.remove(spis) {
                tracing::warn!(target: "ike", "checkpoint: removing {spis:x?}: {e}");
            }
        }
        for record in records {
            if let Err(e) = cp.write(record) {
                let spis = record.spis();
                tracing::warn!(target: "ike", "checkpoint: writing IKE SA {spis:x?}: {e}");
            }
        }
    }

    /// Imports every record of the checkpoint; their CHILD SAs wait for the fast path's
    /// reconciliation (`SaTable::expect`). The connections that got an IKE SA back.
    pub(super) fn restore(&mut self, now: Duration) -> BTreeSet<String> {
        let mut restored = BTreeSet::new();
        let Some(mut cp) = self.checkpoint.take() else {
            return restored;
        };
        let loaded = match cp.load() {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(target: "ike", "checkpoint: reading: {e}");
                self.checkpoint = Some(cp);
                return restored;
            }
        };
        let mut stale = loaded.stale;
        let mut expected = Vec::new();
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
                        stale += 1;
                        continue;
                    }
                };
            let Some(sa) = self.engine.sa(id) else {
                continue;
            };
            restored.insert(sa.config.clone());
            expected.extend(self.installed_children(id));
            if let Some(info) = self.ike_sa_info(id) {
                self.ike_sas.insert(id, info);
            }
        }
        self.checkpoint = Some(cp);
        let children = expected.len();
        self.table.expect(expected);
        self.event(
            "ike_restored",
            json!({ "ike_sas": self.ike_sas.len(), "child_sas": children, "stale": stale }),
        );
        restored
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
