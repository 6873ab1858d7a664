//! The table on a node of an HA pair. A standby's CHILD SAs are those of the IKE SAs the
//! active node synced: they go into the fast path as `standby` (inactive) as soon as they
//! arrive, and leave when they are gone from the engine. They are matched by their SPIs,
//! which both nodes know, never by a node-local id. A takeover activates them all under a new
//! IV generation; a demotion makes them inactive again.

use std::collections::{HashMap, HashSet};

use ipc::fastpath::{Request, SaCount, SeqRecord, SyncApplied};
use ipc::{Direction, SaTarget};

use super::{call, fp_id, ChildEntry, Expected, FastpathOps, SaTable};

/// What following the engine changed in the fast path.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Followed {
    pub installed: Vec<(u32, u32)>,
    pub removed: Vec<(u32, u32)>,
    pub errors: Vec<String>,
}

impl SaTable {
    /// From now on, CHILD SAs go into the fast path inactive (`true`) or active.
    pub fn set_standby(&mut self, standby: bool) {
        self.standby = standby;
    }

    pub fn is_standby(&self) -> bool {
        self.standby
    }

    /// Makes the table hold exactly `want` (the engine's installed CHILD SAs), by SPIs: a
    /// CHILD SA that moved to another IKE SA (an IKE SA rekey) keeps its fast path SAs.
    pub fn follow(&mut self, fp: &mut dyn FastpathOps, want: Vec<Expected>) -> Followed {
        let mut out = Followed::default();
        let wanted: HashMap<(u32, u32), usize> = want
            .iter()
            .enumerate()
            .map(|(i, (info, _))| ((info.child.spi_in, info.child.spi_out), i))
            .collect();
        let mut have = HashSet::new();
        let keys: Vec<_> = self.children.keys().copied().collect();
        for key in keys {
            let Some(e) = self.children.get(&key) else {
                continue;
            };
            let spis = (e.spi_in, e.spi_out);
            match wanted.get(&spis) {
                Some(&i) => {
                    have.insert(spis);
                    let c = &want[i].0.child;
                    if (c.sa, c.id) != key {
                        self.rehome(key, (c.sa, c.id));
                    }
                }
                None => {
                    let child = ike::action::ChildRef {
                        sa: key.0,
                        id: key.1,
                        spi_in: spis.0,
                        spi_out: spis.1,
                    };
                    if let Err(err) = self.remove(fp, &child) {
                        out.errors.push(err);
                    }
                    out.removed.push(spis);
                }
            }
        }
        for (info, window) in &want {
            let spis = (info.child.spi_in, info.child.spi_out);
            if have.contains(&spis) {
                continue;
            }
            match self.install(fp, info, *window) {
                Ok(_) => out.installed.push(spis),
                Err(err) => out.errors.push(err),
            }
        }
        out
    }

    /// An entry is now known under another IKE SA or CHILD id.
    fn rehome(
        &mut self,
        from: (ike::action::IkeSaId, ike::action::ChildId),
        to: (ike::action::IkeSaId, ike::action::ChildId),
    ) {
        let Some(mut e) = self.children.remove(&from) else {
            return;
        };
        (e.sa, e.child) = to;
        self.by_fp.insert(e.sa_in, (e.sa, e.child, Direction::In));
        self.by_fp.insert(e.sa_out, (e.sa, e.child, Direction::Out));
        self.children.insert(to, e);
    }

    /// The fast path SA of ours with this SPI and direction.
    pub fn fp_id_of(&self, spi: u32, dir: Direction) -> Option<u32> {
        self.children.values().find_map(|e: &ChildEntry| match dir {
            Direction::In => (e.spi_in == spi).then_some(e.sa_in),
            Direction::Out => (e.spi_out == spi).then_some(e.sa_out),
        })
    }

    /// Seqnum records of the active node, already mapped to our fast path ids: applied with
    /// `sa_sync`, and kept for a replay.
    pub fn apply_synced(
        &mut self,
        fp: &mut dyn FastpathOps,
        records: Vec<SeqRecord>,
    ) -> Result<(), String> {
        if records.is_empty() {
            return Ok(());
        }
        self.note_synced(&records);
        call::<SyncApplied>(fp, &Request::SaSync { sync: records }).map(|_| ())
    }

    /// Takeover: every SA active, outbound ones `oseq_shift` beyond their last synced number,
    /// all under `generation`. How many the fast path activated.
    pub fn activate_all(
        &mut self,
        fp: &mut dyn FastpathOps,
        generation: u16,
        oseq_shift: u64,
    ) -> Result<usize, String> {
        self.standby = false;
        for e in self.children.values_mut() {
            e.generation = generation;
        }
        let request = Request::SaActivate {
            sa: SaTarget::All,
            oseq_shift: Some(oseq_shift),
            generation,
        };
        call::<SaCount>(fp, &request).map(|c| c.sas)
    }

    /// Demotion: every SA inactive, kept.
    pub fn deactivate_all(&mut self, fp: &mut dyn FastpathOps) -> Result<usize, String> {
        self.standby = true;
        call::<SaCount>(fp, &Request::SaDeactivate { sa: SaTarget::All }).map(|c| c.sas)
    }
}

/// A fast path id as the requests name it (for callers building `SeqRecord`s).
pub fn sa_id(id: u32) -> Result<ipc::SaId, String> {
    fp_id(id)
}
