//! Installing CHILD SAs: each is its two SAs and its policies, sent to the fast path in one
//! `batch` (one round trip, not one per request); many CHILD SAs (a standby following a
//! batch of synced IKE SAs) share batches. Each CHILD SA's outcome is its own: one the fast
//! path refused in part has what went in taken out, and no entry.

use ike::action::ChildSaInfo;
use ipc::fastpath::{PolicyAdded, Request, SaAdded};
use ipc::{Direction, SpSpec};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{sa_spec, sp_specs, ChildEntry, FastpathOps, InstalledSp, SaTable};

/// A CHILD SA with its ids and descriptions, not yet sent.
pub(super) struct Pending {
    entry: ChildEntry,
    sp_in: Vec<SpSpec>,
    sp_out: Vec<SpSpec>,
    /// The outbound policies kept aside (a held IKE SA, `steer`), not sent.
    parked_out: Vec<SpSpec>,
}

impl Pending {
    /// In SA, out SA, in policies, out policies: the order `settle` reads the results in.
    fn requests(&self, standby: bool, out: &mut Vec<Request>) {
        for spec in [&self.entry.spec_in, &self.entry.spec_out] {
            let mut sa = spec.clone();
            sa.standby = standby;
            out.push(Request::SaAdd { sa });
        }
        for sp in self.sp_in.iter().chain(&self.sp_out) {
            out.push(Request::SpAdd { sp: sp.clone() });
        }
    }

    fn request_count(&self) -> usize {
        2 + self.sp_in.len() + self.sp_out.len()
    }
}

/// A result read as `T`, or why not.
pub(super) fn typed<T: DeserializeOwned>(r: &Result<Value, String>, op: &str) -> Result<T, String> {
    let v = r.as_ref().map_err(Clone::clone)?;
    T::deserialize(v).map_err(|e| format!("{op}: bad result: {e}"))
}

impl SaTable {
    /// Installs both SAs and their policies; on any refusal, takes back what was done.
    pub fn install(
        &mut self,
        fp: &mut dyn FastpathOps,
        info: &ChildSaInfo,
        replay_window: Option<u32>,
    ) -> Result<&ChildEntry, String> {
        let key = (info.child.sa, info.child.id);
        let pending = self.prepare(info, replay_window)?;
        self.send(fp, vec![pending]).remove(0)?;
        self.children
            .get(&key)
            .ok_or_else(|| "the entry just made is gone".to_string())
    }

    /// Installs each of `infos` (none installed yet), in shared batches; each one's outcome,
    /// in order.
    pub(super) fn install_many(
        &mut self,
        fp: &mut dyn FastpathOps,
        infos: &[(&ChildSaInfo, Option<u32>)],
    ) -> Vec<Result<(), String>> {
        let mut outcomes: Vec<Result<(), String>> = Vec::with_capacity(infos.len());
        let mut pending = Vec::new();
        // Where each pending one's outcome goes.
        let mut slots = Vec::new();
        for (info, window) in infos {
            let clash = pending
                .iter()
                .any(|p: &Pending| (p.entry.sa, p.entry.child) == (info.child.sa, info.child.id));
            let prepared = if clash {
                Err(format!(
                    "CHILD SA {}/{} is installed already",
                    info.child.sa, info.child.id
                ))
            } else {
                self.prepare(info, *window)
            };
            match prepared {
                Ok(p) => {
                    slots.push(outcomes.len());
                    outcomes.push(Ok(()));
                    pending.push(p);
                }
                Err(e) => outcomes.push(Err(e)),
            }
        }
        for (slot, r) in slots.into_iter().zip(self.send(fp, pending)) {
            outcomes[slot] = r;
        }
        outcomes
    }

    /// Ids and descriptions of a CHILD SA to install (nothing sent yet).
    fn prepare(
        &mut self,
        info: &ChildSaInfo,
        replay_window: Option<u32>,
    ) -> Result<Pending, String> {
        let key = (info.child.sa, info.child.id);
        if self.children.contains_key(&key) {
            return Err(format!("CHILD SA {}/{} is installed already", key.0, key.1));
        }
        let Some(sa_in) = self.ids.alloc() else {
            return Err("no fast path SA id left".into());
        };
        let Some(sa_out) = self.ids.alloc() else {
            self.ids.release(sa_in);
            return Err("no fast path SA id left".into());
        };
        let specs = (|| -> Result<_, String> {
            Ok((
                sa_spec(sa_in, Direction::In, info, replay_window)?,
                sa_spec(sa_out, Direction::Out, info, replay_window)?,
                sp_specs(Direction::In, sa_in, info)?,
                sp_specs(Direction::Out, sa_out, info)?,
            ))
        })();
        let (spec_in, spec_out, sp_in, sp_out) = match specs {
            Ok(s) => s,
            Err(err) => {
                self.ids.release(sa_out);
                self.ids.release(sa_in);
                return Err(err);
            }
        };
        let entry = ChildEntry {
            sa: info.child.sa,
            child: info.child.id,
            config: info.config.clone(),
            spi_in: info.child.spi_in,
            spi_out: info.child.spi_out,
            sa_in,
            sa_out,
            spec_in,
            spec_out,
            policies_in: Vec::new(),
            policies_out: Vec::new(),
            generation: 0,
        };
        let (sp_out, parked_out) = if self.held.contains(&info.child.sa) {
            (Vec::new(), sp_out)
        } else {
            (sp_out, Vec::new())
        };
        Ok(Pending {
            entry,
            sp_in,
            sp_out,
            parked_out,
        })
    }

    /// Sends every pending CHILD SA's requests in batches, then settles each; their
    /// outcomes, in order.
    fn send(&mut self, fp: &mut dyn FastpathOps, pending: Vec<Pending>) -> Vec<Result<(), String>> {
        let mut requests = Vec::with_capacity(pending.iter().map(Pending::request_count).sum());
        for p in &pending {
            p.requests(self.standby, &mut requests);
        }
        let mut results = fp.call_batch(&requests).into_iter();
        pending
            .into_iter()
            .map(|p| {
                let n = p.request_count();
                let mine: Vec<_> = results.by_ref().take(n).collect();
                self.settle(fp, p, &mine)
            })
            .collect()
    }

    /// Records what the fast path did with one CHILD SA's requests: all done, an entry;
    /// anything refused, what went in taken out and no entry.
    fn settle(
        &mut self,
        fp: &mut dyn FastpathOps,
        p: Pending,
        results: &[Result<Value, String>],
    ) -> Result<(), String> {
        let Pending {
            mut entry,
            sp_in,
            sp_out,
            parked_out,
        } = p;
        let missing: Result<Value, String> = Err("no answer in the batch".into());
        let result = |i: usize| results.get(i).unwrap_or(&missing);
        let mut first_error = None;
        let mut note = |r: Result<(), String>| {
            if let Err(e) = r {
                first_error.get_or_insert(e);
            }
        };
        let installed_in = typed::<SaAdded>(result(0), "sa_add");
        let installed_out = typed::<SaAdded>(result(1), "sa_add");
        let installed = (installed_in.is_ok(), installed_out.is_ok());
        note(installed_in.map(drop));
        note(installed_out.map(drop));
        let n_in = sp_in.len();
        for (k, spec) in sp_in.into_iter().chain(sp_out).enumerate() {
            match typed::<PolicyAdded>(result(2 + k), "sp_add") {
                Ok(added) => {
                    let sp = InstalledSp {
                        id: added.policy.0,
                        spec,
                    };
                    if k < n_in {
                        entry.policies_in.push(sp);
                    } else {
                        entry.policies_out.push(sp);
                    }
                }
                Err(e) => note(Err(e)),
            }
        }
        if let Some(err) = first_error {
            let _ = self.teardown(fp, &entry, installed);
            return Err(err);
        }
        let key = (entry.sa, entry.child);
        self.insert_entry(entry);
        if !parked_out.is_empty() {
            self.parked.insert(key, parked_out);
        }
        self.replace_orphans(fp, key);
        Ok(())
    }
}
