//! The table against what the fast path holds, each time the slow path (re)connects to it.
//!
//! - The slow path restarted (the fast path has SAs and policies, the table nothing): it lost
//!   the IKE state, so it cannot own them. Their ids are reserved (never a collision), and the
//!   SAs our policies protect become orphans: they carry traffic on until a new CHILD SA with
//!   the same selectors replaces them (its policies go in first and win from the moment the
//!   orphan's go: no gap), or until `ORPHAN_GRACE` has passed.
//!   When a checkpoint restored the IKE SAs, their CHILD SAs are found by SPI and taken over
//!   as they are (`adopt`): not orphans, nothing renegotiated.
//! - The fast path restarted (the table has entries the fast path lacks): each is installed
//!   again (`replay`).

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use ike::action::{ChildId, IkeSaId};
use ipc::fastpath::{Request, SaInfo, SpInfo};
use ipc::{Direction, SaMode, SpAction, SpSpec};

use super::{call, del_policy, del_sa, list_sas, FastpathOps, InstalledSp, SaTable, POLICY_BASE};

/// How long what an earlier slow path left keeps carrying traffic when nothing replaces it.
/// (A constant until the slow path's configuration has a knob for it.)
pub const ORPHAN_GRACE: Duration = Duration::from_secs(120);

/// A fast path SA that an earlier slow path installed, with the policies that protect it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    pub sa: u32,
    pub dir: Direction,
    /// Its tunnel's far end (the peer to renegotiate with), if it is a tunnel.
    pub remote: Option<IpAddr>,
    pub policies: Vec<InstalledSp>,
}

/// What a reconciliation did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Resync {
    /// CHILD SAs installed again in a fast path that had lost them.
    pub replayed: usize,
    /// CHILD SAs that could not be installed again: to delete.
    pub lost: Vec<(IkeSaId, ChildId, String)>,
    /// Orphans found this time.
    pub adopted: usize,
    /// Restored CHILD SAs (a checkpoint's) found in the fast path and taken over as they are.
    pub restored: usize,
    /// Ids found in use and reserved.
    pub reserved: usize,
    /// The peers of the orphans found this time: to negotiate with again.
    pub orphan_peers: Vec<IpAddr>,
}

/// The conns to initiate so that orphans get replaced: for each peer, the first conn (in
/// configuration order) whose remote address it is. Its INITIAL_CONTACT tells the peer to drop
/// the IKE SA it still has with the slow path that died.
pub fn restart_conns(conns: &[(String, IpAddr)], peers: &[IpAddr]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for peer in peers {
        if let Some((name, _)) = conns.iter().find(|(_, remote)| remote == peer) {
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
    }
    out
}

fn spi_of(info: &SaInfo) -> Option<u32> {
    u32::from_str_radix(info.spi.trim_start_matches("0x"), 16).ok()
}

fn list_policies(fp: &mut dyn FastpathOps, dir: Direction) -> Result<Vec<SpInfo>, String> {
    call(fp, &Request::SpList { dir })
}

/// What a policy matches, whatever it does and however it ranks.
fn same_traffic(a: &SpSpec, b: &SpSpec) -> bool {
    (a.dir, a.src, a.dst, a.proto, a.sport, a.dport)
        == (b.dir, b.src, b.dst, b.proto, b.sport, b.dport)
}

impl SaTable {
    /// Reconciles with the fast path just (re)connected to: see the module's text.
    pub fn resync(&mut self, fp: &mut dyn FastpathOps, now: Duration) -> Result<Resync, String> {
        let mut out = Resync::default();
        if !fp.is_real() {
            return Ok(out);
        }
        let sas = list_sas(fp)?;
        let mut sps = list_policies(fp, Direction::In)?;
        sps.extend(list_policies(fp, Direction::Out)?);
        let present: HashSet<(u32, Option<u32>, Direction)> = sas
            .iter()
            .map(|i| (i.id.get(), spi_of(i), i.direction))
            .collect();
        // The restored CHILD SAs first: they are ours, not orphans.
        out.restored = self.adopt(&sas, &sps);
        let has = |id: u32| sas.iter().any(|i| i.id.get() == id);
        // Under one of our ids, an SA that is not ours (another SPI): the fast path restarted
        // with the operator's own there.
        let foreign: HashSet<u32> = sas
            .iter()
            .filter(|i| {
                let ours = spi_of(i)
                    .and_then(|spi| self.lookup_fp(i.id.get(), Some(spi)))
                    .is_some_and(|(_, dir)| dir == i.direction);
                !ours
            })
            .map(|i| i.id.get())
            .collect();

        // Orphans the fast path no longer has went with it.
        let (kept, gone): (Vec<_>, Vec<_>) = std::mem::take(&mut self.orphans)
            .into_iter()
            .partition(|o| has(o.sa));
        self.orphans = kept;
        for o in gone {
            self.ids.unreserve(o.sa);
        }
        for &id in &foreign {
            if !self.ids.reserved.contains(&id) {
                self.ids.reserve(id);
                out.reserved += 1;
            }
        }
        for p in sps {
            let SpAction::Protect(sa) = p.sp.action else {
                continue;
            };
            let sa = sa.get();
            // Below the CHILD SAs' range: the operator's own; ours: already in the table.
            if p.sp.priority < POLICY_BASE
                || (self.by_fp.contains_key(&sa) && !foreign.contains(&sa))
            {
                continue;
            }
            let known = self
                .orphans
                .iter()
                .any(|o| o.dir == p.sp.dir && o.policies.iter().any(|q| q.id == p.id.0));
            if known {
                continue;
            }
            let policy = InstalledSp {
                id: p.id.0,
                spec: p.sp,
            };
            if let Some(o) = self.orphans.iter_mut().find(|o| o.sa == sa) {
                o.policies.push(policy);
                continue;
            }
            let info = sas.iter().find(|i| i.id.get() == sa);
            let remote = info.and_then(|i| match i.mode {
                SaMode::Tunnel { remote, .. } => Some(remote),
                SaMode::Transport => None,
            });
            if let Some(r) = remote.filter(|r| !out.orphan_peers.contains(r)) {
                out.orphan_peers.push(r);
            }
            self.orphans.push(Orphan {
                sa,
                dir: policy.spec.dir,
                remote,
                policies: vec![policy],
            });
            out.adopted += 1;
        }
        if out.adopted > 0 && self.orphan_deadline.is_none() {
            self.orphan_deadline = Some(now + ORPHAN_GRACE);
        }

        // Ours that the fast path lacks (both SAs gone: it restarted) go in again.
        let lost: Vec<(IkeSaId, ChildId)> = self
            .children
            .iter()
            .filter(|(_, e)| {
                !present.contains(&(e.sa_in, Some(e.spi_in), Direction::In))
                    && !present.contains(&(e.sa_out, Some(e.spi_out), Direction::Out))
            })
            .map(|(k, _)| *k)
            .collect();
        for key in lost {
            match self.replay_one(fp, key) {
                Ok(()) => out.replayed += 1,
                Err(err) => out.lost.push((key.0, key.1, err)),
            }
        }
        Ok(out)
    }

    /// The orphans still carrying traffic.
    pub fn orphans(&self) -> &[Orphan] {
        &self.orphans
    }

    /// When `expire_orphans` has something to do.
    pub fn orphan_deadline(&self) -> Option<Duration> {
        self.orphan_deadline.filter(|_| !self.orphans.is_empty())
    }

    /// Once the grace time is over, removes the orphans nobody replaced.
    pub fn expire_orphans(&mut self, fp: &mut dyn FastpathOps, now: Duration) -> Vec<String> {
        if self.orphan_deadline.is_none_or(|d| now < d) {
            return Vec::new();
        }
        self.orphan_deadline = None;
        let all = std::mem::take(&mut self.orphans);
        self.remove_orphans(fp, all)
    }

    /// A CHILD SA just installed replaces the orphans whose policies all match its own of
    /// the same direction: their policies go (the new ones, added after, take over), then
    /// their SAs.
    pub(super) fn replace_orphans(&mut self, fp: &mut dyn FastpathOps, key: (IkeSaId, ChildId)) {
        let Some(e) = self.children.get(&key) else {
            return;
        };
        let covers = |o: &super::Orphan| {
            let ours = match o.dir {
                Direction::In => &e.policies_in,
                Direction::Out => &e.policies_out,
            };
            !o.policies.is_empty()
                && o.policies
                    .iter()
                    .all(|p| ours.iter().any(|q| same_traffic(&p.spec, &q.spec)))
        };
        let (replaced, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.orphans)
            .into_iter()
            .partition(covers);
        self.orphans = kept;
        for err in self.remove_orphans(fp, replaced) {
            tracing::warn!(target: "ike", "replacing an orphan: {err}");
        }
    }

    fn remove_orphans(&mut self, fp: &mut dyn FastpathOps, orphans: Vec<Orphan>) -> Vec<String> {
        let mut errors = Vec::new();
        for o in orphans {
            for p in &o.policies {
                if let Err(err) = del_policy(fp, o.dir, p.id) {
                    errors.push(format!("sp_del {} {}: {err}", o.dir.word(), p.id));
                }
            }
            match del_sa(fp, o.sa) {
                Ok(_) => self.ids.unreserve(o.sa),
                Err(err) if err.starts_with("no SA") => self.ids.unreserve(o.sa),
                Err(err) => errors.push(format!("sa_del {}: {err}", o.sa)),
            }
            tracing::info!(target: "ike", "orphan fast path SA {} removed", o.sa);
        }
        errors
    }
}
