//! The table on a node of an HA pair. A standby's CHILD SAs are those of the IKE SAs the
//! active node synced: they go into the fast path as `standby` (inactive) as soon as they
//! arrive, and leave when they are gone from the engine. They are matched by their SPIs,
//! which both nodes know, never by a node-local id. A takeover activates them all under a new
//! IV generation; a demotion makes them inactive again.

use std::collections::{BTreeSet, HashSet};

use ike::action::{ChildId, ChildRef, ChildSaInfo, IkeSaId};
use ipc::fastpath::{Request, SaCount, SeqRecord, SyncApplied};
use ipc::{Direction, SaTarget};

use super::{call, fp_id, Expected, FastpathOps, SaTable};

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

    /// The IV generation replays activate under from now on (see the field).
    pub fn set_replay_generation(&mut self, generation: Option<u16>) {
        self.replay_generation = generation;
    }

    pub fn is_standby(&self) -> bool {
        self.standby
    }

    /// Makes the table hold exactly `want` (the engine's installed CHILD SAs), by SPIs: a
    /// CHILD SA that moved to another IKE SA (an IKE SA rekey) keeps its fast path SAs.
    /// Walks the whole table: for role changes and the end of a bulk sync.
    pub fn follow(&mut self, fp: &mut dyn FastpathOps, want: Vec<Expected>) -> Followed {
        let scope: Vec<_> = self.children.keys().copied().collect();
        self.follow_within(fp, scope, want)
    }

    /// As `follow`, for the IKE SAs `sas` only (those a batch of synced records changed or
    /// removed): `want` is their installed CHILD SAs. Costs what those IKE SAs hold, not what
    /// the table holds, so that a bulk sync of n IKE SAs costs O(n), not O(n²).
    pub fn follow_sas(
        &mut self,
        fp: &mut dyn FastpathOps,
        sas: &BTreeSet<IkeSaId>,
        want: Vec<Expected>,
    ) -> Followed {
        let scope = sas
            .iter()
            .flat_map(|&sa| self.entries_of(sa).map(|e| (e.sa, e.child)))
            .collect();
        self.follow_within(fp, scope, want)
    }

    /// The entries of `scope` that `want` lacks go; each of `want` is found by its SPIs
    /// anywhere in the table (and moved under its IKE SA and CHILD id) or installed.
    fn follow_within(
        &mut self,
        fp: &mut dyn FastpathOps,
        scope: Vec<(IkeSaId, ChildId)>,
        want: Vec<Expected>,
    ) -> Followed {
        let mut out = Followed::default();
        let wanted: HashSet<(u32, u32)> = want
            .iter()
            .map(|(info, _)| (info.child.spi_in, info.child.spi_out))
            .collect();
        for key in scope {
            let Some(e) = self.children.get(&key) else {
                continue;
            };
            let spis = (e.spi_in, e.spi_out);
            if wanted.contains(&spis) {
                continue;
            }
            let child = ChildRef {
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
        // Those not held go in together (shared batches), after the moves.
        let mut fresh: Vec<(&ChildSaInfo, Option<u32>)> = Vec::new();
        let mut fresh_spis = HashSet::new();
        let mut again = Vec::new();
        for (info, window) in &want {
            let c = &info.child;
            let held = self
                .entries_by_spi(c.spi_in, Direction::In)
                .find(|e| e.spi_out == c.spi_out)
                .map(|e| (e.sa, e.child));
            match held {
                Some(key) if key == (c.sa, c.id) => {}
                Some(key) => self.rehome(key, (c.sa, c.id)),
                // The same SPIs again: moved once installed, as one at a time would be.
                None if !fresh_spis.insert((c.spi_in, c.spi_out)) => again.push(c),
                None => fresh.push((info, *window)),
            }
        }
        for ((info, _), r) in fresh.iter().zip(self.install_many(fp, &fresh)) {
            match r {
                Ok(()) => out.installed.push((info.child.spi_in, info.child.spi_out)),
                Err(err) => out.errors.push(err),
            }
        }
        for c in again {
            let held = self
                .entries_by_spi(c.spi_in, Direction::In)
                .find(|e| e.spi_out == c.spi_out)
                .map(|e| (e.sa, e.child));
            if let Some(key) = held.filter(|k| *k != (c.sa, c.id)) {
                self.rehome(key, (c.sa, c.id));
            }
        }
        out
    }

    /// An entry is now known under another IKE SA or CHILD id; the outbound policies it
    /// kept aside (a crypto group's inactive member) go with it.
    fn rehome(&mut self, from: (IkeSaId, ChildId), to: (IkeSaId, ChildId)) {
        let parked = self.parked.remove(&from);
        let Some(mut e) = self.remove_entry(from) else {
            return;
        };
        (e.sa, e.child) = to;
        self.insert_entry(e);
        if let Some(p) = parked {
            self.parked.insert(to, p);
        }
    }

    /// The fast path SA of ours with this SPI and direction.
    pub fn fp_id_of(&self, spi: u32, dir: Direction) -> Option<u32> {
        let e = self.entries_by_spi(spi, dir).next()?;
        Some(match dir {
            Direction::In => e.sa_in,
            Direction::Out => e.sa_out,
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
