//! The IKEv1 engine's part in the HA sync, beside IKEv2's (`ha`): the active node sends each
//! changed ISAKMP SA as an `IsakmpSa` record (its IPsec SAs inside) before the datagrams of
//! the same step leave, and each one gone as `IsakmpSaDeleted`; the standby imports them
//! into its passive IKEv1 engine, and its table installs their IPsec SAs inactive as it does
//! IKEv2's CHILD SAs. What both engines share (a peer's address, an SA's children, its record
//! for a bulk sync) is looked up here by SA id.

use std::net::IpAddr;
use std::time::Duration;

use hasync::Record;
use ike::action::IkeSaId;
use ike::v1::engine::is_v1_id;
use ike::v1::record::IsakmpSaRecord;

use super::IkeRunner;
use crate::ike::program::Expected;

impl IkeRunner {
    /// The ISAKMP SAs that changed since the last call go to the checkpoint, and to the peer
    /// node (the gone ones as deletes; active only: a standby's changes are its imports).
    pub(super) fn offer_v1_changes(&mut self, now: Duration) {
        let changes = self.v1.take_changed();
        let offer = self.ha.is_some() && self.is_active();
        if !offer && self.checkpoint.is_none() {
            return;
        }
        let exported: Vec<IsakmpSaRecord> = changes
            .changed
            .iter()
            .filter_map(|&id| self.v1.export_sa(id, now))
            .collect();
        self.save_checkpoint(&changes.removed, &exported);
        if !offer {
            return;
        }
        let records: Vec<Record> = exported.iter().map(isakmp_record).collect();
        let Some(ha) = self.ha.as_mut() else { return };
        for (cookie_i, cookie_r) in changes.removed {
            ha.link
                .offer(Record::IsakmpSaDeleted { cookie_i, cookie_r });
        }
        for r in records {
            ha.link.offer(r);
        }
        ha.link.flush();
    }

    /// An ISAKMP SA of the active node, on the standby: held in the IKEv1 engine, its IPsec
    /// SAs installed inactive at the end of the step.
    pub(super) fn apply_isakmp_sa(&mut self, cookies: (u64, u64), state: Vec<u8>, now: Duration) {
        if let Some(seen) = self.ha.as_mut().and_then(|h| h.receiving.as_mut()) {
            seen.insert(cookies);
        }
        let imported = IsakmpSaRecord::decode(&zeroize::Zeroizing::new(state))
            .map_err(|e| e.to_string())
            .and_then(|r| self.v1.import_sa(r, now).map_err(|e| e.to_string()));
        self.hold_imported(imported, "ISAKMP SA", cookies);
    }

    /// An SA of either engine imported from a record (`what` and `keys` name it in the log):
    /// known to the runner, its CHILD SAs held at the end of the step; or counted as not
    /// applied.
    pub(super) fn hold_imported(
        &mut self,
        imported: Result<IkeSaId, String>,
        what: &str,
        (i, r): (u64, u64),
    ) {
        match imported {
            Ok(id) => {
                if let Some(info) = self.any_sa_info(id) {
                    self.ike_sas.insert(id, info);
                }
                self.hold_if_standby(id);
                self.ha_touched(id);
            }
            Err(e) => {
                if let Some(ha) = self.ha.as_mut() {
                    ha.counters.apply_errors += 1;
                }
                tracing::warn!(target: "ike", "ha: {what} {i:016x}_{r:016x}: {e}");
            }
        }
    }

    /// What the runner knows of an imported SA of either engine (no `IkeSaUp` announced it).
    pub(super) fn any_sa_info(&self, id: IkeSaId) -> Option<ike::action::IkeSaInfo> {
        if is_v1_id(id) {
            self.v1.sa(id).map(|s| s.info())
        } else {
            self.ike_sa_info(id)
        }
    }

    /// The active node deleted an ISAKMP SA: forgotten here, its IPsec SAs out at the end
    /// of the step.
    pub(super) fn apply_isakmp_sa_deleted(&mut self, (cookie_i, cookie_r): (u64, u64)) {
        if let Some(id) = self.v1.remove_sa_by_cookies(cookie_i, cookie_r) {
            self.ike_sas.remove(&id);
            self.ha_touched(id);
        }
    }

    /// Every SA of both engines, IKEv2's first.
    pub(super) fn all_sa_ids(&self) -> Vec<IkeSaId> {
        let mut ids = self.engine.sa_ids();
        ids.extend(self.v1.sa_ids());
        ids
    }

    /// The peer's address of an SA of either engine.
    pub(super) fn peer_ip(&self, id: IkeSaId) -> Option<IpAddr> {
        if is_v1_id(id) {
            self.v1.sa(id).map(|s| s.remote.ip())
        } else {
            self.engine.sa(id).map(|s| s.remote.ip())
        }
    }

    /// The installed CHILD SAs (IPsec SAs) of an SA of either engine, as the table takes them.
    pub(super) fn held_children(&self, id: IkeSaId) -> Vec<Expected> {
        if !is_v1_id(id) {
            return self.installed_children(id);
        }
        let Some(sa) = self.v1.sa(id) else {
            return Vec::new();
        };
        let encap = sa.nat_local || sa.nat_remote;
        sa.children
            .iter()
            .filter(|c| c.installed)
            .map(|c| {
                let info = c.info(id, sa.local, sa.remote, encap);
                (info, self.window_of(id, &c.config))
            })
            .collect()
    }

    /// The cookies (or SPIs) of every SA of both engines that is up.
    pub(super) fn all_sa_keys(&self) -> Vec<(u64, u64)> {
        let v2 = self
            .engine
            .sa_ids()
            .into_iter()
            .filter_map(|id| self.engine.sa(id)?.spis());
        let v1 = self
            .v1
            .sa_ids()
            .into_iter()
            .filter_map(|id| self.v1.sa(id).filter(|s| s.is_established()))
            .map(|s| s.cookies());
        v2.chain(v1).collect()
    }

    /// Forgets the SA with these SPIs or cookies, in whichever engine holds it.
    pub(super) fn remove_synced(&mut self, (i, r): (u64, u64)) -> Option<IkeSaId> {
        self.engine
            .remove_sa_by_spis(i, r)
            .or_else(|| self.v1.remove_sa_by_cookies(i, r))
    }

    /// An SA's record for the peer node (a bulk sync), of either engine.
    pub(super) fn sync_record_of(&self, id: IkeSaId, now: Duration) -> Option<Record> {
        if is_v1_id(id) {
            return self.v1.export_sa(id, now).map(|r| isakmp_record(&r));
        }
        self.record_of(id, now).map(|r| super::ha::sync_record(&r))
    }
}

/// An ISAKMP SA's record as the peer node imports it.
fn isakmp_record(r: &IsakmpSaRecord) -> Record {
    let (cookie_i, cookie_r) = r.cookies();
    Record::IsakmpSa {
        cookie_i,
        cookie_r,
        state: r.encode(),
    }
}
