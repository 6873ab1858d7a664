//! Outbound policies held back and moved (crypto groups): the CHILD SAs of a held IKE SA go
//! in with their inbound policies only, their outbound ones kept aside (`parked`); a move
//! puts one member's parked policies in and takes the other's out. Each move's requests
//! travel in one `batch`, which each fast path worker carries out in one visit between two
//! bursts: no packet sees both members' policies gone, or a moment without either.

use ike::action::IkeSaId;
use ipc::fastpath::{PolicyAdded, Request, MAX_BATCH};
use ipc::{Direction, PolicyId, SpSpec};

use super::install::typed;
use super::{ChildKey, FastpathOps, InstalledSp, SaTable};

/// One group's move: the outbound policies of `to`'s CHILD SAs go in, `from`'s come out.
#[derive(Debug, Clone, Default)]
pub struct Move {
    pub from: Vec<IkeSaId>,
    pub to: Vec<IkeSaId>,
}

/// A policy change of a move, and whose it is.
enum Change {
    Add(ChildKey, SpSpec),
    Del(ChildKey, InstalledSp),
}

impl Change {
    fn request(&self) -> Request {
        match self {
            Change::Add(_, sp) => Request::SpAdd { sp: sp.clone() },
            Change::Del(_, p) => Request::SpDel {
                dir: Direction::Out,
                policy: PolicyId(p.id),
            },
        }
    }
}

impl SaTable {
    /// Whether the CHILD SAs of `sa` installed from now on keep their outbound policies
    /// aside.
    pub fn hold(&mut self, sa: IkeSaId, held: bool) {
        if held {
            self.held.insert(sa);
        } else {
            self.held.remove(&sa);
        }
    }

    /// How many outbound policies of `sa`'s CHILD SAs are in the fast path, and how many
    /// are kept aside.
    pub fn outbound_policies(&self, sa: IkeSaId) -> (usize, usize) {
        self.entries_of(sa).fold((0, 0), |(on, off), e| {
            let parked = self.parked.get(&(e.sa, e.child)).map_or(0, Vec::len);
            (on + e.policies_out.len(), off + parked)
        })
    }

    /// Carries out each move (the `to` SAs no longer held, the `from` ones held), each in one
    /// batch (several moves share one when they fit); each move's outcome, in order. A move
    /// of more than `MAX_BATCH` policies is split, and so not one step.
    pub fn steer(&mut self, fp: &mut dyn FastpathOps, moves: &[Move]) -> Vec<Result<(), String>> {
        let mut outcomes = vec![Ok(()); moves.len()];
        let mut batch: Vec<(usize, Change)> = Vec::new();
        for (i, m) in moves.iter().enumerate() {
            let changes = self.changes(m);
            if batch.len() + changes.len() > MAX_BATCH {
                self.send_changes(fp, std::mem::take(&mut batch), &mut outcomes);
            }
            batch.extend(changes.into_iter().map(|c| (i, c)));
        }
        self.send_changes(fp, batch, &mut outcomes);
        outcomes
    }

    /// A move's changes, additions first; its SAs' hold set as it will be.
    fn changes(&mut self, m: &Move) -> Vec<Change> {
        let mut v = Vec::new();
        for sa in &m.to {
            self.held.remove(sa);
            let keys: Vec<ChildKey> = self.entries_of(*sa).map(|e| (e.sa, e.child)).collect();
            for key in keys {
                for sp in self.parked.remove(&key).unwrap_or_default() {
                    v.push(Change::Add(key, sp));
                }
            }
        }
        for sa in &m.from {
            self.held.insert(*sa);
            let keys: Vec<ChildKey> = self.entries_of(*sa).map(|e| (e.sa, e.child)).collect();
            for key in keys {
                if let Some(e) = self.children.get_mut(&key) {
                    for p in std::mem::take(&mut e.policies_out) {
                        v.push(Change::Del(key, p));
                    }
                }
            }
        }
        v
    }

    /// Sends changes (in batches of `MAX_BATCH`) and records what the fast path did: a
    /// policy added is the entry's, one removed is kept aside; a refusal leaves it where it
    /// was and fails its move.
    fn send_changes(
        &mut self,
        fp: &mut dyn FastpathOps,
        changes: Vec<(usize, Change)>,
        outcomes: &mut [Result<(), String>],
    ) {
        if changes.is_empty() {
            return;
        }
        let requests: Vec<Request> = changes.iter().map(|(_, c)| c.request()).collect();
        let results = fp.call_batch(&requests);
        let missing: Result<serde_json::Value, String> = Err("no answer in the batch".into());
        for (k, (i, change)) in changes.into_iter().enumerate() {
            let r = results.get(k).unwrap_or(&missing);
            let failed = match change {
                Change::Add(key, spec) => match typed::<PolicyAdded>(r, "sp_add") {
                    Ok(added) => {
                        if let Some(e) = self.children.get_mut(&key) {
                            e.policies_out.push(InstalledSp {
                                id: added.policy.0,
                                spec,
                            });
                        }
                        None
                    }
                    Err(err) => {
                        self.parked.entry(key).or_default().push(spec);
                        Some(format!("sp_add out: {err}"))
                    }
                },
                Change::Del(key, p) => match r {
                    Ok(_) => {
                        self.parked.entry(key).or_default().push(p.spec);
                        None
                    }
                    Err(err) => {
                        let id = p.id;
                        if let Some(e) = self.children.get_mut(&key) {
                            e.policies_out.push(p);
                        }
                        Some(format!("sp_del out {id}: {err}"))
                    }
                },
            };
            if let (Some(err), Some(o)) = (failed, outcomes.get_mut(i)) {
                if o.is_ok() {
                    *o = Err(err);
                }
            }
        }
    }
}
