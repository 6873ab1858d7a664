//! The runner's HA role: a takeover when the listened HA group becomes active, a demotion
//! when it stops being so, and what the operator sees of the sync.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use hasync::{IvGenerations, Record};
use ike::ha::HaRole;
use serde::Serialize;
use serde_json::json;

use super::ha::HaCounters;
use super::IkeRunner;
use crate::ha_sync::{SnapshotLags, SyncView};

/// `slowpath-ctl ha`: the sync as the listened HA group's node sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HaStatus {
    pub ike_role: &'static str,
    #[serde(flatten)]
    pub sync: SyncView,
    pub iv_generations: IvGenerations,
    pub snapshots: usize,
    /// Per CHILD SA side, the age of its newest seqnum snapshot: held (standby), or last
    /// offered to the sync (active).
    pub snapshot_lag: SnapshotLags,
    pub ha: HaCounters,
}

fn role_name(r: HaRole) -> &'static str {
    match r {
        HaRole::Active => "active",
        HaRole::Standby => "standby",
    }
}

impl IkeRunner {
    /// The listened HA group became active: a new IV generation, every SA activated with it
    /// and the configured oseq-shift, the engine active (timers resume, requests in flight
    /// are sent again). The event says how long it took.
    pub fn take_over(&mut self, now: Duration) {
        if self.ha.is_none() || self.engine.role() == HaRole::Active {
            return;
        }
        let start = Instant::now();
        let Some((generation, persist)) = self.next_generation("ha takeover (staying standby)")
        else {
            return;
        };
        let Some(ha) = self.ha.as_mut() else { return };
        ha.counters.takeovers += 1;
        let shift = ha.oseq_shift;
        ha.link.offer(Record::IvGenerations {
            highest: persist.highest,
        });
        let activated = match self.table.activate_all(self.fp.as_mut(), generation, shift) {
            Ok(n) => n,
            Err(e) => {
                self.stats.fastpath_errors += 1;
                tracing::warn!(target: "ike", "ha takeover: sa_activate: {e}");
                0
            }
        };
        self.engine.set_role(HaRole::Active, now, &mut self.rng);
        self.v1.set_role(HaRole::Active, now, &mut self.rng);
        self.groups_taken_over(now);
        self.start_missing_conns(now);
        self.drain(now);
        self.ha_flush(now);
        self.event(
            "ha_takeover",
            json!({
                "generation": generation, "sas_activated": activated,
                "ike_sas": self.engine.sa_ids().len(), "isakmp_sas": self.v1.sa_ids().len(),
                "child_sas": self.table.len(),
                "took_us": start.elapsed().as_micros() as u64,
            }),
        );
    }

    /// The IV generation a replay into a fast path that restarted activates under: on the
    /// active node, a new one of the HA layer's (synced to the peer, so neither node takes it
    /// again); None on a standby (a replay activates nothing) or without HA.
    pub(super) fn ha_replay_generation(&mut self) -> Option<u16> {
        if self.ha.is_none() || self.engine.role() != HaRole::Active {
            return None;
        }
        let (generation, known) = self.next_generation("fast path replay")?;
        let ha = self.ha.as_mut()?;
        ha.link.offer(Record::IvGenerations {
            highest: known.highest,
        });
        Some(generation)
    }

    /// A new IV generation of this node's, above what it saved in `ike-state-dir` (if it has
    /// one) and what the peer told it; saved there before any SA sends under it.
    fn next_generation(&mut self, why: &str) -> Option<(u16, IvGenerations)> {
        let ha = self.ha.as_mut()?;
        if let Some(highest) = self.checkpoint.as_ref().and_then(|c| c.load_generations()) {
            ha.iv.merge(&IvGenerations { highest });
        }
        let (generation, known) = match ha.iv.take_over() {
            Ok(g) => g,
            Err(e) => {
                tracing::error!(target: "ike", "{why}: {e}");
                return None;
            }
        };
        if let Some(cp) = self.checkpoint.as_mut() {
            if let Err(e) = cp.save_generations(known.highest) {
                tracing::warn!(target: "ike", "{why}: saving IV generations: {e}");
            }
        }
        Some((generation, known))
    }

    /// The listened HA group is no longer active: every SA inactive, the engine passive, the
    /// state kept (this node now receives the sync). No reload.
    pub fn demote(&mut self, now: Duration) {
        let Some(ha) = self.ha.as_mut() else { return };
        if self.engine.role() == HaRole::Standby {
            return;
        }
        let start = Instant::now();
        ha.counters.demotions += 1;
        ha.bulk = None;
        let deactivated = match self.table.deactivate_all(self.fp.as_mut()) {
            Ok(n) => n,
            Err(e) => {
                self.stats.fastpath_errors += 1;
                tracing::warn!(target: "ike", "ha demotion: sa_deactivate: {e}");
                0
            }
        };
        self.engine.set_role(HaRole::Standby, now, &mut self.rng);
        self.v1.set_role(HaRole::Standby, now, &mut self.rng);
        // From now on the table follows the synced engine: from where it stands.
        self.ha_follow();
        self.event(
            "ha_demoted",
            json!({
                "sas_deactivated": deactivated, "ike_sas": self.engine.sa_ids().len(),
                "took_us": start.elapsed().as_micros() as u64,
            }),
        );
    }

    /// The conns that say `start` and have no IKE or ISAKMP SA (a node that was standby at
    /// start).
    fn start_missing_conns(&mut self, now: Duration) {
        let have: HashSet<String> = self
            .engine
            .sa_ids()
            .into_iter()
            .filter_map(|id| self.engine.sa(id).map(|s| s.config.clone()))
            .collect();
        for name in self.engine.start_conns() {
            if !have.contains(name.as_str()) {
                self.engine.initiate(now, &mut self.rng, &name, None);
            }
        }
        let have_v1: HashSet<String> = self
            .v1
            .sa_ids()
            .into_iter()
            .filter_map(|id| self.v1.sa(id).map(|s| s.config.name.clone()))
            .collect();
        for name in self.v1.start_conns() {
            if !have_v1.contains(name.as_str()) {
                self.v1.initiate(now, &mut self.rng, &name);
            }
        }
    }

    /// Whether this node runs the HA sync, and its state for the daemon's decisions: whether
    /// the peer is up (or may be: this node started less than the sync's dead interval ago
    /// and has not heard it yet), and whether this node is in sync.
    pub fn ha_sync_state(&self) -> Option<(bool, bool)> {
        let ha = self.ha.as_ref()?;
        let waiting = ha.peer_wait_until.is_some_and(|t| ha.last_step < t);
        let peer_up = ha.link.node().is_peer_up() || waiting;
        Some((peer_up, ha.link.node().in_sync()))
    }

    pub fn ha_status(&self, now: Duration) -> Option<HaStatus> {
        let ha = self.ha.as_ref()?;
        let snapshot_lag = SnapshotLags::new(
            self.table
                .entries()
                .flat_map(|e| [(e.spi_in, true), (e.spi_out, false)]),
            |spi, inbound| ha.snapshots.get(&(spi, inbound)).map(|s| s.at),
            now,
        );
        Some(HaStatus {
            ike_role: role_name(self.engine.role()),
            sync: ha.link.view(),
            iv_generations: ha.iv.state(),
            snapshots: ha.snapshots.len(),
            snapshot_lag,
            ha: ha.counters.clone(),
        })
    }
}
