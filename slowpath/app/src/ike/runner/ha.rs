//! The runner in an HA pair: what IKE and the fast path give the sync, and what the sync
//! gives them.
//! - Active: every changed IKE SA goes to the peer node as a record (its CHILD SAs inside),
//!   before the datagrams of the same engine call leave; every removed one as a delete; the
//!   fast path's seqnum records as snapshots keyed by SPI, direction and peer. A bulk request
//!   is answered with every IKE SA, the newest snapshots and the IV generations.
//! - Both engines: IKEv1's ISAKMP SAs travel the same way (`ha_v1`).
//! - Standby: the engine is passive; records are imported, their CHILD SAs installed in the
//!   fast path inactive (by SPI), those of a crypto group's inactive member held as on
//!   the active (`groups::ha`), snapshots applied with `sa_sync`. The standby answers a
//!   bulk request with the IV generations alone; after its own bulk sync, what the peer no
//!   longer has is dropped. IV generations are taken in whatever the role.
//! - Takeover and demotion: `ha_role`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use hasync::{IvAllocator, IvGenerations, Record, SyncEvent};
use ike::action::IkeSaId;
use ike::ha::HaRole;
use ike::sa::IkeSaRecord;
use ipc::fastpath::SeqRecord;
use ipc::Direction;
use serde::Serialize;
use serde_json::json;

use super::restore::SEAL_COUNTER_SHIFT;
use super::IkeRunner;
use crate::config::HaConfig;
use crate::ha_sync::SyncLink;
use crate::ike::program::sa_id;

/// How soon a bulk sync held up by back-pressure is fed again.
const BULK_RETRY: Duration = Duration::from_millis(5);

/// The newest seqnum snapshot of one SA side, and when it was taken in (relayed or applied).
pub(super) struct Snapshot {
    record: Record,
    pub(super) at: Duration,
}

/// Where a bulk sync being served has got to: resumed at each step under back-pressure.
pub(super) struct BulkCursor {
    sas: Vec<IkeSaId>,
    next_sa: usize,
    snapshots: Vec<Record>,
    next_snapshot: usize,
    generations_sent: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HaCounters {
    pub records_applied: u64,
    pub apply_errors: u64,
    /// Snapshots of an SA this node does not hold (yet): kept, applied once it is installed.
    pub snapshots_unmatched: u64,
    pub stale_sas_dropped: u64,
    pub takeovers: u64,
    pub demotions: u64,
}

pub(super) struct HaPart {
    pub(super) link: SyncLink,
    pub(super) iv: IvAllocator,
    pub(super) oseq_shift: u64,
    pub(super) snapshots: HashMap<(u32, bool), Snapshot>,
    pub(super) bulk: Option<BulkCursor>,
    /// The peer's bulk sync in progress (standby): the IKE SAs it brought.
    pub(super) receiving: Option<HashSet<(u64, u64)>>,
    /// The whole table follows the engine at the end of the step (a bulk sync ended).
    pub(super) follow: bool,
    /// The IKE SAs synced records changed or removed: the table follows their CHILD SAs at
    /// the end of the step.
    pub(super) touched: BTreeSet<IkeSaId>,
    pub(super) peer_up_at: Option<Duration>,
    /// Until then a node that has not heard its peer yet counts it as up (not alone): a node
    /// that just started must not take over before a bulk sync told it the IV generations.
    pub(super) peer_wait_until: Option<Duration>,
    /// When the sync was last read (the base of the retry deadlines).
    pub(super) last_step: Duration,
    pub(super) counters: HaCounters,
}

impl HaPart {
    pub fn open(cfg: &HaConfig, now: Duration) -> Result<HaPart, String> {
        let node = hasync::NodeId::new(cfg.node_id.number()).ok_or("node id 1 or 2")?;
        let link = SyncLink::open(cfg, now)?;
        let peer_wait_until = Some(now + link.dead_interval());
        Ok(HaPart {
            link,
            peer_wait_until,
            iv: IvAllocator::new(node, IvGenerations::default()),
            oseq_shift: cfg.seqnum.oseq_shift,
            snapshots: HashMap::new(),
            bulk: None,
            receiving: None,
            follow: false,
            touched: BTreeSet::new(),
            peer_up_at: None,
            last_step: now,
            counters: HaCounters::default(),
        })
    }

    pub fn link(&self) -> &SyncLink {
        &self.link
    }

    /// When the runner must step for the sync even if nothing is readable.
    pub fn next_deadline(&self) -> Duration {
        let t = self.link.next_deadline(self.last_step);
        if self.bulk.is_some() {
            t.min(self.last_step + BULK_RETRY)
        } else {
            t
        }
    }
}

impl IkeRunner {
    pub(super) fn is_active(&self) -> bool {
        self.engine.role() == HaRole::Active
    }

    /// Offers what changed to the peer node and sends it at once (active only).
    pub(super) fn offer_changes(&mut self, removed: &[(u64, u64)], records: &[IkeSaRecord]) {
        if !self.is_active() {
            return;
        }
        let Some(ha) = self.ha.as_mut() else { return };
        for &(spi_i, spi_r) in removed {
            ha.link.offer(Record::IkeSaDeleted { spi_i, spi_r });
        }
        for r in records {
            ha.link.offer(sync_record(r));
        }
        ha.link.flush();
    }

    /// The fast path's seqnum records of our SAs, to the peer node as snapshots.
    pub(super) fn relay_snapshots(&mut self, records: Vec<SeqRecord>, now: Duration) {
        if self.ha.is_none() || !self.is_active() || records.is_empty() {
            return;
        }
        let mut out = Vec::with_capacity(records.len());
        for r in records {
            let Some((e, dir)) = self.table.lookup_fp(r.sa.get(), Some(r.spi)) else {
                continue;
            };
            let Some(peer) = self.peer_ip(e.sa) else {
                continue;
            };
            out.push(Record::SeqSnapshot {
                spi: r.spi,
                inbound: dir == Direction::In,
                peer,
                oseq: r.oseq,
                window_top: r.top,
                bitmap: r.bits,
                generation: r.generation,
            });
        }
        self.prune_snapshots();
        let Some(ha) = self.ha.as_mut() else { return };
        for record in out {
            if let Record::SeqSnapshot { spi, inbound, .. } = &record {
                let key = (*spi, *inbound);
                let snap = Snapshot {
                    record: record.clone(),
                    at: now,
                };
                ha.snapshots.insert(key, snap);
            }
            ha.link.offer(record);
        }
    }

    /// Snapshots of SAs no longer in the table go, once there are more than twice as many
    /// as the table's SA sides (so the check is rare).
    fn prune_snapshots(&mut self) {
        let Some(ha) = self.ha.as_mut() else { return };
        if ha.snapshots.len() <= 4 * self.table.len() + 64 {
            return;
        }
        let live: HashSet<(u32, bool)> = self
            .table
            .entries()
            .flat_map(|e| [(e.spi_in, true), (e.spi_out, false)])
            .collect();
        ha.snapshots.retain(|k, _| live.contains(k));
    }

    /// Reads the sync paths and acts on what the peer node said.
    pub(super) fn ha_receive(&mut self, now: Duration) {
        let Some(ha) = self.ha.as_mut() else { return };
        ha.last_step = now;
        ha.link.receive(now);
        let mut events = Vec::new();
        while let Some(ev) = ha.link.poll_event() {
            events.push(ev);
        }
        self.on_sync_events(events, now);
    }

    /// One batch of the sync's events (what one read brought): the table follows the engine
    /// once, after all of them.
    pub(super) fn on_sync_events(&mut self, events: Vec<SyncEvent>, now: Duration) {
        let mut synced = Vec::new();
        for ev in events {
            self.on_sync_event(ev, now, &mut synced);
        }
        self.follow_engine(synced);
    }

    fn on_sync_event(&mut self, ev: SyncEvent, now: Duration, synced: &mut Vec<SeqRecord>) {
        let active = self.is_active();
        let Some(ha) = self.ha.as_mut() else { return };
        match ev {
            SyncEvent::Apply(Record::IvGenerations { highest }) => {
                // Whatever the role: generations the peer took are never ours to take.
                ha.counters.records_applied += 1;
                ha.iv.merge(&IvGenerations { highest });
            }
            SyncEvent::Apply(record) => {
                if active {
                    // Both nodes active (a split that is healing): ours stands.
                    return;
                }
                ha.counters.records_applied += 1;
                self.apply_record(record, now, synced);
            }
            SyncEvent::BulkRequested => {
                // A standby gives no state, but the IV generations it knows of: a peer that
                // restarted must not take one of them again.
                let mut sas = if active {
                    self.all_sa_ids()
                } else {
                    Vec::new()
                };
                sas.sort_unstable();
                let Some(ha) = self.ha.as_mut() else { return };
                let mut snapshots = Vec::new();
                if active {
                    snapshots = ha.snapshots.values().map(|s| s.record.clone()).collect();
                    snapshots.extend(self.groups.sync_records());
                }
                ha.bulk = Some(BulkCursor {
                    sas,
                    next_sa: 0,
                    snapshots,
                    next_snapshot: 0,
                    generations_sent: false,
                });
            }
            SyncEvent::PeerUp => {
                ha.peer_up_at = Some(now);
                ha.peer_wait_until = None;
                ha.receiving = (!active).then(HashSet::new);
                self.event("ha_sync_up", json!({}));
            }
            SyncEvent::PeerDown(reason) => {
                let up_ms = ha.peer_up_at.take().map(|t| (now - t).as_millis() as u64);
                ha.bulk = None;
                ha.receiving = None;
                self.event(
                    "ha_sync_down",
                    json!({ "reason": reason, "was_up_ms": up_ms }),
                );
            }
            SyncEvent::PathUp(p) | SyncEvent::PathDown(p) => {
                let up = matches!(ev, SyncEvent::PathUp(_));
                let path = ha.link.path_name(p).to_string();
                let kind = if up { "ha_path_up" } else { "ha_path_down" };
                self.event(kind, json!({ "path": path }));
            }
            SyncEvent::InSync { records } => {
                let took_ms = ha.peer_up_at.map(|t| (now - t).as_millis() as u64);
                let dropped = match ha.receiving.take() {
                    Some(seen) => self.drop_unsynced(&seen),
                    None => 0,
                };
                self.event(
                    "ha_in_sync",
                    json!({ "records": records, "took_ms": took_ms, "stale_dropped": dropped }),
                );
            }
        }
    }

    /// One record of the active node, on the standby.
    fn apply_record(&mut self, record: Record, now: Duration, synced: &mut Vec<SeqRecord>) {
        let Some(ha) = self.ha.as_mut() else { return };
        match record {
            Record::IkeSa {
                spi_i,
                spi_r,
                state,
            } => {
                if let Some(seen) = ha.receiving.as_mut() {
                    seen.insert((spi_i, spi_r));
                }
                let imported = IkeSaRecord::decode(&zeroize::Zeroizing::new(state))
                    .map_err(|e| e.to_string())
                    .and_then(|r| {
                        self.engine
                            .import_sa(r, now, SEAL_COUNTER_SHIFT)
                            .map_err(|e| e.to_string())
                    });
                self.hold_imported(imported, "IKE SA", (spi_i, spi_r));
            }
            Record::IkeSaDeleted { spi_i, spi_r } => {
                if let Some(id) = self.engine.remove_sa_by_spis(spi_i, spi_r) {
                    self.ike_sas.remove(&id);
                    self.ha_touched(id);
                }
            }
            Record::SeqSnapshot {
                spi, inbound, peer, ..
            } => {
                ha.snapshots.insert(
                    (spi, inbound),
                    Snapshot {
                        record: record.clone(),
                        at: now,
                    },
                );
                match self.seq_record(&record) {
                    Some(r) => synced.push(r),
                    None => {
                        if let Some(ha) = self.ha.as_mut() {
                            ha.counters.snapshots_unmatched += 1;
                        }
                        tracing::debug!(target: "ike", "ha: snapshot of {spi:08x} ({peer}) for no SA here (yet)");
                    }
                }
            }
            Record::IvGenerations { highest } => ha.iv.merge(&IvGenerations { highest }),
            // Leases travel inside the IKE SA records (the virtual IP is held at import).
            Record::Lease { .. } => {}
            Record::CryptoGroup(g) => self.apply_group_record(g),
            Record::IsakmpSa {
                cookie_i,
                cookie_r,
                state,
            } => self.apply_isakmp_sa((cookie_i, cookie_r), state, now),
            Record::IsakmpSaDeleted { cookie_i, cookie_r } => {
                self.apply_isakmp_sa_deleted((cookie_i, cookie_r))
            }
        }
    }

    /// The whole table follows the engine at the end of the step.
    pub(super) fn ha_follow(&mut self) {
        if let Some(ha) = self.ha.as_mut() {
            ha.follow = true;
        }
    }

    /// The CHILD SAs of this IKE SA follow the engine at the end of the step.
    pub(super) fn ha_touched(&mut self, id: IkeSaId) {
        if let Some(ha) = self.ha.as_mut() {
            ha.touched.insert(id);
        }
    }

    /// A snapshot as a `sa_sync` record of our fast path SA with that SPI, direction and peer.
    fn seq_record(&self, record: &Record) -> Option<SeqRecord> {
        let Record::SeqSnapshot {
            spi,
            inbound,
            peer,
            oseq,
            window_top,
            bitmap,
            generation,
        } = *record
        else {
            return None;
        };
        let dir = if inbound {
            Direction::In
        } else {
            Direction::Out
        };
        let e = self
            .table
            .entries_by_spi(spi, dir)
            .find(|e| self.peer_ip(e.sa) == Some(peer))?;
        let id = if inbound { e.sa_in } else { e.sa_out };
        Some(SeqRecord {
            sa: sa_id(id).ok()?,
            spi,
            dir,
            oseq,
            top: window_top,
            bits: bitmap,
            generation,
            at_ns: 0,
        })
    }

    /// After the peer's bulk sync: the IKE and ISAKMP SAs it did not bring are gone on the
    /// peer too.
    fn drop_unsynced(&mut self, seen: &HashSet<(u64, u64)>) -> usize {
        let stale: Vec<(u64, u64)> = self
            .all_sa_keys()
            .into_iter()
            .filter(|keys| !seen.contains(keys))
            .collect();
        for &keys in &stale {
            if let Some(id) = self.remove_synced(keys) {
                self.ike_sas.remove(&id);
            }
        }
        if let Some(ha) = self.ha.as_mut() {
            ha.counters.stale_sas_dropped += stale.len() as u64;
        }
        if !stale.is_empty() {
            self.ha_follow();
        }
        stale.len()
    }

    /// The standby's table follows the engine's CHILD SAs (all of them, or those of the IKE
    /// SAs the step's records touched); snapshots go to the fast path.
    fn follow_engine(&mut self, mut synced: Vec<SeqRecord>) {
        let Some(ha) = self.ha.as_mut() else { return };
        let full = std::mem::take(&mut ha.follow);
        let touched = std::mem::take(&mut ha.touched);
        if full || !touched.is_empty() {
            let sas = if full {
                self.all_sa_ids()
            } else {
                touched.iter().copied().collect()
            };
            let want = sas
                .into_iter()
                .flat_map(|id| self.held_children(id))
                .collect();
            let f = if full {
                self.table.follow(self.fp.as_mut(), want)
            } else {
                self.table.follow_sas(self.fp.as_mut(), &touched, want)
            };
            for err in &f.errors {
                self.stats.fastpath_errors += 1;
                tracing::warn!(target: "ike", "ha: fast path: {err}");
            }
            // What arrived before its SA: applied now that the SA is in.
            if let Some(ha) = self.ha.as_ref() {
                for (spi_in, spi_out) in &f.installed {
                    for key in [(*spi_in, true), (*spi_out, false)] {
                        if let Some(s) = ha.snapshots.get(&key) {
                            synced.extend(self.seq_record(&s.record));
                        }
                    }
                }
            }
            // Snapshots of SAs gone stay no longer.
            if let Some(ha) = self.ha.as_mut() {
                for (spi_in, spi_out) in &f.removed {
                    ha.snapshots.remove(&(*spi_in, true));
                    ha.snapshots.remove(&(*spi_out, false));
                }
            }
            if !f.installed.is_empty() || !f.removed.is_empty() {
                tracing::debug!(target: "ike", "ha: standby CHILD SAs +{} -{}", f.installed.len(), f.removed.len());
            }
        }
        if let Err(e) = self.table.apply_synced(self.fp.as_mut(), synced) {
            self.stats.fastpath_errors += 1;
            tracing::warn!(target: "ike", "ha: sa_sync: {e}");
        }
    }

    /// Feeds a bulk sync being served, then sends what the sync has.
    pub(super) fn ha_flush(&mut self, now: Duration) {
        self.serve_bulk(now);
        if let Some(ha) = self.ha.as_mut() {
            ha.link.flush();
        }
    }

    fn serve_bulk(&mut self, now: Duration) {
        loop {
            let Some(ha) = self.ha.as_mut() else { return };
            let Some(b) = ha.bulk.as_mut() else { return };
            if !ha.link.node().can_offer() {
                return;
            }
            let record = if b.next_sa < b.sas.len() {
                let id = b.sas[b.next_sa];
                b.next_sa += 1;
                match self.sync_record_of(id, now) {
                    Some(r) => r,
                    None => continue,
                }
            } else if b.next_snapshot < b.snapshots.len() {
                b.next_snapshot += 1;
                b.snapshots[b.next_snapshot - 1].clone()
            } else if !b.generations_sent {
                b.generations_sent = true;
                Record::IvGenerations {
                    highest: ha.iv.state().highest,
                }
            } else {
                ha.bulk = None;
                if ha.link.node_mut().bulk_end().is_ok() {
                    self.event("ha_bulk_served", json!({}));
                }
                return;
            };
            let Some(ha) = self.ha.as_mut() else { return };
            if ha.link.node_mut().bulk_offer(record).is_err() {
                // Abandoned (the peer went down or asked again): the new request restarts it.
                ha.bulk = None;
                return;
            }
        }
    }
}

/// An IKE SA's record as the peer node imports it.
pub(super) fn sync_record(r: &IkeSaRecord) -> Record {
    let (spi_i, spi_r) = r.spis();
    Record::IkeSa {
        spi_i,
        spi_r,
        state: r.encode(),
    }
}
