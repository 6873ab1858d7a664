//! The fast path restarted while the slow path lived on: every CHILD SA goes in again under
//! the same ids, SPIs and keys, so the peer notices nothing and renegotiates nothing. The
//! sequence numbers must not start again at 1 (the peer would drop them as replays) and no
//! (key, nonce) pair may repeat, so each SA goes in as `standby`, gets the newest seqnum record
//! the fast path's sync stream gave for it (`sa_sync`), and is activated as a standby node
//! takes over (DESIGN.md, invariants 2-4): outbound at the record plus `OSEQ_SHIFT`, under an
//! IV generation above any it used, inbound windows from the synced top. On a standby node
//! (`set_standby`) the SAs go in the same way but stay inactive under the generation they had:
//! the HA takeover activates them (with the generation the HA layer hands out), not the replay.

use ike::action::{ChildId, IkeSaId};
use ipc::fastpath::{Request, SaCount, SeqRecord, SyncApplied};
use ipc::{SaTarget, SpSpec};

use super::{add_policies, add_sas, call, fp_id, FastpathOps, SaTable};

/// How far outbound sequence numbers jump at a replay by default: more than the fast path
/// sends between two records of the sync stream (`sync-period-packets`, 2 by default), with
/// room for the records lost in the crash. A replay names no shift: the fast path applies the
/// one in force, the `ha oseq-shift` the slow path sent it (`sync_settings`), this otherwise.
pub const OSEQ_SHIFT: u64 = 65536;
/// Generations go up by two: a node keeps its parity (an HA pair gives one node the even
/// generations and the other the odd ones).
const GENERATION_STEP: u16 = 2;

impl SaTable {
    /// Records of the sync stream: the newest of each of our SAs is kept (one of another SA
    /// that had the id, or of an SA not ours, is not). Those of our SAs, for the HA peer.
    pub fn note_synced(&mut self, records: &[SeqRecord]) -> Vec<SeqRecord> {
        let mut ours = Vec::new();
        for r in records {
            let id = r.sa.get();
            if self.lookup_fp(id, Some(r.spi)).map(|(_, d)| d) != Some(r.dir) {
                continue;
            }
            ours.push(*r);
            let slot = self.synced.entry(id).or_insert(*r);
            let generation = slot.generation.max(r.generation);
            if (r.oseq, r.top) >= (slot.oseq, slot.top) {
                *slot = *r;
            }
            slot.generation = generation;
        }
        ours
    }

    /// The newest record of a fast path SA of ours.
    pub fn synced(&self, id: u32) -> Option<&SeqRecord> {
        self.synced.get(&id)
    }

    /// Installs one CHILD SA again (the fast path lost it): active on the active node, inactive
    /// on a standby. On a refusal, what went in is taken out and the entry leaves the table:
    /// the caller deletes the CHILD SA.
    pub(super) fn replay_one(
        &mut self,
        fp: &mut dyn FastpathOps,
        key: (IkeSaId, ChildId),
    ) -> Result<(), String> {
        let Some(mut e) = self.children.get(&key).cloned() else {
            return Ok(());
        };
        let records: Vec<SeqRecord> = [e.sa_in, e.sa_out]
            .iter()
            .filter_map(|id| self.synced.get(id).copied())
            .collect();
        let activate = !self.standby;
        let result = if let (true, Some(g)) = (activate, self.replay_generation) {
            Ok(g)
        } else if activate {
            let used = records
                .iter()
                .map(|r| r.generation)
                .fold(e.generation, u16::max);
            used.checked_add(GENERATION_STEP)
                .ok_or_else(|| "IV generations used up: the CHILD SA needs a rekey".to_string())
        } else {
            Ok(e.generation)
        };
        let sp_in: Vec<SpSpec> = e.policies_in.drain(..).map(|p| p.spec).collect();
        let sp_out: Vec<SpSpec> = e.policies_out.drain(..).map(|p| p.spec).collect();
        let mut installed = (false, false);
        let result = result.and_then(|generation| {
            add_sas(fp, &e, &mut installed, true)?;
            if !records.is_empty() {
                call::<SyncApplied>(fp, &Request::SaSync { sync: records })?;
            }
            for id in [e.sa_in, e.sa_out].into_iter().filter(|_| activate) {
                let sa = SaTarget::One(fp_id(id)?);
                let request = Request::SaActivate {
                    sa,
                    oseq_shift: None,
                    generation,
                };
                call::<SaCount>(fp, &request)?;
            }
            add_policies(fp, &mut e, sp_in, sp_out)?;
            Ok(generation)
        });
        match result {
            Ok(generation) => {
                e.generation = generation;
                self.insert_entry(e);
                Ok(())
            }
            Err(err) => {
                self.remove_entry(key);
                let _ = self.teardown(fp, &e, installed);
                Err(err)
            }
        }
    }
}
