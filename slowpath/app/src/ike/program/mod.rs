//! The engine's CHILD SAs as fast path state: each CHILD SA is two fast path SAs (in and out)
//! and one policy per traffic selector pair and direction (out: protect OUT_SA, in: protect
//! IN_SA), described by `spec` and sent as typed requests (`ipc::fastpath::Request`).
//! `SaTable` sends them through a `FastpathOps`, remembers which fast path SA and policy ids
//! belong to which CHILD SA, and finds the CHILD SA of a fast path SA id (its lifetime
//! events).
//!
//! A rekey installs the new pair and its policies, then removes the old outbound policies:
//! the new outbound policies have the old ones' priority and come after them, so the old SA
//! protects until the moment its policy goes and the new one from then on; no packet meets an
//! SPD without its policy. The old SAs stay (inbound traffic still in flight) until the
//! engine's `ChildSaDown` for them. When we answered the peer's rekey (`defer_outbound`), the
//! new pair is installed before our answer leaves and the old outbound policies stay: the
//! peer has the new SA only once the answer arrives, and deletes the old one after that, so
//! outbound traffic moves over with the `ChildSaDown` of the old SA.
//!
//! Each entry keeps what it installed (SA and policy descriptions), so that a fast path that
//! restarted gets the whole table again (`replay`), and a slow path that restarted finds what
//! the old one left (`reconcile`).

mod adopt;
mod install;
mod reconcile;
mod replay;
#[cfg(test)]
mod restart_tests;
mod spec;
mod standby;
#[cfg(test)]
mod standby_tests;
mod steer;
#[cfg(test)]
mod steer_scale;
#[cfg(test)]
mod steer_tests;
mod sync_feed;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use ike::action::{ChildId, ChildRef, ChildSaInfo, IkeSaId};
use ipc::client::Client;
use ipc::fastpath::{
    BatchResult, PolicyAdded, PolicyRef, Request, SaAdded, SaInfo, SaRef, MAX_BATCH,
};
use ipc::{Direction, PolicyId, SaId, SaSpec, SpSpec, MAX_SA_ID};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use adopt::Expected;
pub use reconcile::{restart_conns, Orphan, Resync, ORPHAN_GRACE};
pub use replay::OSEQ_SHIFT;
pub use spec::{range_to_prefixes, sa_spec, sp_specs, transform_of, MAX_POLICIES, POLICY_BASE};
pub use standby::{sa_id, Followed};
pub use steer::Move;
pub use sync_feed::SyncFeed;

/// The fast path's control socket, or something that answers as it does.
pub trait FastpathOps {
    /// One request; its result as the fast path gave it, or its refusal.
    fn call(&mut self, request: &Request) -> Result<Value, String>;
    /// Several requests, carried out in order, each with its own outcome (one per request,
    /// in order). A fast path that failed to answer a batch at all counts as having refused
    /// every request of it.
    fn call_batch(&mut self, requests: &[Request]) -> Vec<Result<Value, String>> {
        requests.iter().map(|r| self.call(r)).collect()
    }
    /// Whether a real fast path is behind it (`sa_get` means something).
    fn is_real(&self) -> bool {
        true
    }
}

impl FastpathOps for Client {
    fn call(&mut self, request: &Request) -> Result<Value, String> {
        Client::call(self, request).map_err(|e| e.to_string())
    }

    /// `batch` requests of at most `MAX_BATCH`: one round trip each.
    fn call_batch(&mut self, requests: &[Request]) -> Vec<Result<Value, String>> {
        let mut out = Vec::with_capacity(requests.len());
        for chunk in requests.chunks(MAX_BATCH) {
            let batch = Request::Batch {
                requests: chunk.to_vec(),
            };
            match Client::call::<_, Vec<BatchResult>>(self, &batch) {
                Ok(results) if results.len() == chunk.len() => {
                    out.extend(results.into_iter().map(BatchResult::into_result));
                }
                Ok(results) => {
                    let e = format!(
                        "batch: {} results for {} requests",
                        results.len(),
                        chunk.len()
                    );
                    out.extend(chunk.iter().map(|_| Err(e.clone())));
                }
                Err(e) => out.extend(chunk.iter().map(|_| Err(format!("batch: {e}")))),
            }
        }
        out
    }
}

impl FastpathOps for crate::fastpath::FastpathClient {
    fn call(&mut self, request: &Request) -> Result<Value, String> {
        FastpathOps::call(self.client(), request)
    }

    fn call_batch(&mut self, requests: &[Request]) -> Vec<Result<Value, String>> {
        FastpathOps::call_batch(self.client(), requests)
    }
}

/// A typed call: the result read as `T`.
pub fn call<T: DeserializeOwned>(fp: &mut dyn FastpathOps, request: &Request) -> Result<T, String> {
    let v = fp.call(request)?;
    serde_json::from_value(v).map_err(|e| format!("{}: bad result: {e}", request.op()))
}

fn fp_id(id: u32) -> Result<SaId, String> {
    SaId::new(id.into()).map_err(|e| e.to_string())
}

/// One fast path SA as it is now.
pub fn get_sa(fp: &mut dyn FastpathOps, id: u32) -> Result<SaInfo, String> {
    call(fp, &Request::SaGet { sa: fp_id(id)? })
}

/// Every fast path SA as it is now.
pub fn list_sas(fp: &mut dyn FastpathOps) -> Result<Vec<SaInfo>, String> {
    call(fp, &Request::SaList)
}

fn del_sa(fp: &mut dyn FastpathOps, id: u32) -> Result<SaRef, String> {
    call(fp, &Request::SaDel { sa: fp_id(id)? })
}

fn add_policy(fp: &mut dyn FastpathOps, sp: SpSpec) -> Result<u32, String> {
    call::<PolicyAdded>(fp, &Request::SpAdd { sp }).map(|r| r.policy.0)
}

fn del_policy(fp: &mut dyn FastpathOps, dir: Direction, policy: u32) -> Result<PolicyRef, String> {
    call(
        fp,
        &Request::SpDel {
            dir,
            policy: PolicyId(policy),
        },
    )
}

/// No fast path: every request is logged (`Debug` shows no key bytes) and answered as the
/// fast path would.
#[derive(Debug, Default)]
pub struct LogOnly {
    next_policy: u32,
}

impl FastpathOps for LogOnly {
    fn call(&mut self, request: &Request) -> Result<Value, String> {
        tracing::info!(target: "ike", "fast path (none): {request:?}");
        let result = match request {
            Request::SaAdd { sa } => serde_json::to_value(SaAdded {
                sa: sa.id,
                worker: 0,
            }),
            Request::SpAdd { .. } => {
                self.next_policy += 1;
                serde_json::to_value(PolicyAdded {
                    policy: PolicyId(self.next_policy),
                })
            }
            Request::SaDel { sa } => serde_json::to_value(SaRef { sa: *sa }),
            Request::SpDel { policy, .. } => serde_json::to_value(PolicyRef { policy: *policy }),
            _ => return Err("no fast path".into()),
        };
        result.map_err(|e| e.to_string())
    }

    fn is_real(&self) -> bool {
        false
    }
}

/// Fast path SA ids: fresh ones, then freed ones oldest first; never one found in use in the
/// fast path (`reserved`).
#[derive(Debug)]
struct IdPool {
    next: u32,
    free: VecDeque<u32>,
    reserved: BTreeSet<u32>,
}

impl Default for IdPool {
    fn default() -> Self {
        IdPool {
            next: 1,
            free: VecDeque::new(),
            reserved: BTreeSet::new(),
        }
    }
}

impl IdPool {
    fn alloc(&mut self) -> Option<u32> {
        while let Some(id) = self.free.pop_front() {
            if !self.reserved.contains(&id) {
                return Some(id);
            }
        }
        while self.next <= MAX_SA_ID {
            self.next += 1;
            if !self.reserved.contains(&(self.next - 1)) {
                return Some(self.next - 1);
            }
        }
        None
    }

    fn release(&mut self, id: u32) {
        self.free.push_back(id);
    }

    /// An id the fast path already has for one of ours (an adopted SA): in use from now on.
    fn take(&mut self, id: u32) {
        if id >= self.next {
            self.free.extend(self.next..id);
            self.next = id.saturating_add(1);
        } else {
            self.free.retain(|f| *f != id);
        }
    }

    /// An id the fast path uses for something not ours: never handed out while so.
    fn reserve(&mut self, id: u32) {
        self.reserved.insert(id);
    }

    /// A reserved id the fast path no longer uses.
    fn unreserve(&mut self, id: u32) {
        // One not reached yet comes in its turn; one passed goes back to the free list.
        if self.reserved.remove(&id) && id < self.next {
            self.free.push_back(id);
        }
    }
}

/// A policy as installed: the fast path's id and what it was told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledSp {
    pub id: u32,
    pub spec: SpSpec,
}

/// One CHILD SA in the fast path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildEntry {
    pub sa: IkeSaId,
    pub child: ChildId,
    pub config: String,
    pub spi_in: u32,
    pub spi_out: u32,
    pub sa_in: u32,
    pub sa_out: u32,
    /// What the fast path was told, kept to tell it again after it restarted.
    pub spec_in: SaSpec,
    pub spec_out: SaSpec,
    pub policies_in: Vec<InstalledSp>,
    /// Empty once a rekey moved the outbound traffic to the new SA.
    pub policies_out: Vec<InstalledSp>,
    /// The IV generation both SAs send under: raised at each replay, so that no (key, nonce)
    /// pair is used twice.
    pub generation: u16,
}

/// A CHILD SA's key: its IKE SA and its id there.
type ChildKey = (IkeSaId, ChildId);

/// Which CHILD SAs are in the fast path, under which ids.
#[derive(Debug, Default)]
pub struct SaTable {
    ids: IdPool,
    children: BTreeMap<(IkeSaId, ChildId), ChildEntry>,
    by_fp: HashMap<u32, (IkeSaId, ChildId, Direction)>,
    /// The entries of each SPI and direction (SPIs of different peers may be equal): what a
    /// standby matches synced state by.
    by_spi: HashMap<(u32, Direction), Vec<(IkeSaId, ChildId)>>,
    /// Ids whose delete the fast path did not confirm: never handed out again.
    pub quarantined: Vec<u32>,
    /// The newest seqnum record of each of our fast path SAs (the fast path's sync stream).
    synced: HashMap<u32, ipc::fastpath::SeqRecord>,
    /// What an earlier slow path left in the fast path, carrying traffic until replaced.
    orphans: Vec<Orphan>,
    /// When the orphans nobody replaced are removed.
    orphan_deadline: Option<std::time::Duration>,
    /// Restored CHILD SAs to find in the fast path (`adopt`).
    expected: Vec<Expected>,
    /// A standby node's SAs go in inactive (`standby`).
    standby: bool,
    /// On the active node of an HA pair, the IV generation a replay activates under, from
    /// the HA layer (which alone knows which generations either node took); None: each SA's
    /// own, above what it used.
    replay_generation: Option<u16>,
    /// IKE SAs whose CHILD SAs go in without their outbound policies (the standby member
    /// of a crypto group, `steer`).
    held: HashSet<IkeSaId>,
    /// The outbound policies kept aside of each CHILD SA of a held IKE SA.
    parked: HashMap<ChildKey, Vec<SpSpec>>,
}

impl SaTable {
    pub fn get(&self, sa: IkeSaId, child: ChildId) -> Option<&ChildEntry> {
        self.children.get(&(sa, child))
    }

    pub fn entries(&self) -> impl Iterator<Item = &ChildEntry> {
        self.children.values()
    }

    pub fn len(&self) -> usize {
        self.children.len()
    }

    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }

    /// The CHILD SAs of one IKE SA.
    pub fn entries_of(&self, sa: IkeSaId) -> impl Iterator<Item = &ChildEntry> {
        self.children
            .range((sa, ChildId::MIN)..=(sa, ChildId::MAX))
            .map(|(_, e)| e)
    }

    /// The CHILD SAs with this SPI in this direction (one per peer that chose it).
    pub fn entries_by_spi(&self, spi: u32, dir: Direction) -> impl Iterator<Item = &ChildEntry> {
        self.by_spi
            .get(&(spi, dir))
            .into_iter()
            .flatten()
            .filter_map(|k| self.children.get(k))
    }

    /// An entry into the table and its indexes (replacing one under the same key).
    fn insert_entry(&mut self, e: ChildEntry) {
        let key = (e.sa, e.child);
        self.remove_entry(key);
        self.by_fp.insert(e.sa_in, (e.sa, e.child, Direction::In));
        self.by_fp.insert(e.sa_out, (e.sa, e.child, Direction::Out));
        for spi in [(e.spi_in, Direction::In), (e.spi_out, Direction::Out)] {
            self.by_spi.entry(spi).or_default().push(key);
        }
        self.children.insert(key, e);
    }

    /// An entry out of the table and its indexes.
    fn remove_entry(&mut self, key: (IkeSaId, ChildId)) -> Option<ChildEntry> {
        self.parked.remove(&key);
        let e = self.children.remove(&key)?;
        self.by_fp.remove(&e.sa_in);
        self.by_fp.remove(&e.sa_out);
        for spi in [(e.spi_in, Direction::In), (e.spi_out, Direction::Out)] {
            if let Some(keys) = self.by_spi.get_mut(&spi) {
                keys.retain(|k| *k != key);
                if keys.is_empty() {
                    self.by_spi.remove(&spi);
                }
            }
        }
        Some(e)
    }

    /// The CHILD SA behind a fast path SA id, if `spi` (when given) is still that SA's.
    pub fn lookup_fp(&self, id: u32, spi: Option<u32>) -> Option<(&ChildEntry, Direction)> {
        let (sa, child, dir) = *self.by_fp.get(&id)?;
        let e = self.children.get(&(sa, child))?;
        let own = match dir {
            Direction::In => e.spi_in,
            Direction::Out => e.spi_out,
        };
        if spi.is_some_and(|s| s != own) {
            return None;
        }
        Some((e, dir))
    }

    /// `new` replaces `old`: installed first, then outbound traffic moves to it (with
    /// `defer_outbound`, only when `old` is removed). `old` stays (inbound) until `remove`.
    /// Without `old` in the table, `new` is just installed.
    pub fn rekey(
        &mut self,
        fp: &mut dyn FastpathOps,
        old: &ChildRef,
        new: &ChildSaInfo,
        replay_window: Option<u32>,
        defer_outbound: bool,
    ) -> Result<(), String> {
        self.install(fp, new, replay_window)?;
        if defer_outbound {
            return Ok(());
        }
        let mut errors = Vec::new();
        if let Some(e) = self.children.get_mut(&(old.sa, old.id)) {
            for p in std::mem::take(&mut e.policies_out) {
                if let Err(err) = del_policy(fp, Direction::Out, p.id) {
                    errors.push(format!("sp_del out {}: {err}", p.id));
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// Removes a CHILD SA's policies and SAs (nothing if it is not here).
    pub fn remove(&mut self, fp: &mut dyn FastpathOps, child: &ChildRef) -> Result<(), String> {
        let Some(e) = self.remove_entry((child.sa, child.id)) else {
            return Ok(());
        };
        self.teardown(fp, &e, (true, true))
    }

    /// Removes everything (shutdown, flush).
    pub fn remove_all(&mut self, fp: &mut dyn FastpathOps) -> Vec<String> {
        let keys: Vec<_> = self.children.keys().copied().collect();
        let mut errors = Vec::new();
        for (sa, id) in keys {
            if let Some(e) = self.children.get(&(sa, id)) {
                let r = ChildRef {
                    sa,
                    id,
                    spi_in: e.spi_in,
                    spi_out: e.spi_out,
                };
                if let Err(err) = self.remove(fp, &r) {
                    errors.push(err);
                }
            }
        }
        errors
    }

    /// Policies first (none may name a missing SA), then the SAs; ids go back to the pool
    /// once the fast path confirmed (or does not have the SA).
    fn teardown(
        &mut self,
        fp: &mut dyn FastpathOps,
        e: &ChildEntry,
        installed: (bool, bool),
    ) -> Result<(), String> {
        let mut errors = Vec::new();
        for (dir, ps) in [
            (Direction::Out, &e.policies_out),
            (Direction::In, &e.policies_in),
        ] {
            for p in ps {
                if let Err(err) = del_policy(fp, dir, p.id) {
                    errors.push(format!("sp_del {} {}: {err}", dir.word(), p.id));
                }
            }
        }
        for (id, was) in [(e.sa_out, installed.1), (e.sa_in, installed.0)] {
            self.synced.remove(&id);
            if !was {
                self.ids.release(id);
                continue;
            }
            match del_sa(fp, id) {
                Ok(_) => self.ids.release(id),
                Err(err) if err.starts_with("no SA") => self.ids.release(id),
                Err(err) => {
                    self.quarantined.push(id);
                    errors.push(format!("sa_del {id}: {err}"));
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

/// Both SAs of an entry, in then out (`standby`: inactive until `sa_activate`); `installed`
/// says which went in, for the teardown of a refusal.
fn add_sas(
    fp: &mut dyn FastpathOps,
    e: &ChildEntry,
    installed: &mut (bool, bool),
    standby: bool,
) -> Result<(), String> {
    let mut sa = e.spec_in.clone();
    sa.standby = standby;
    call::<SaAdded>(fp, &Request::SaAdd { sa })?;
    installed.0 = true;
    let mut sa = e.spec_out.clone();
    sa.standby = standby;
    call::<SaAdded>(fp, &Request::SaAdd { sa })?;
    installed.1 = true;
    Ok(())
}

/// The policies of an entry, in then out, recorded under the ids the fast path gave them.
fn add_policies(
    fp: &mut dyn FastpathOps,
    e: &mut ChildEntry,
    sp_in: Vec<SpSpec>,
    sp_out: Vec<SpSpec>,
) -> Result<(), String> {
    for spec in sp_in {
        let id = add_policy(fp, spec.clone())?;
        e.policies_in.push(InstalledSp { id, spec });
    }
    for spec in sp_out {
        let id = add_policy(fp, spec.clone())?;
        e.policies_out.push(InstalledSp { id, spec });
    }
    Ok(())
}
