//! Where a PROTECT policy's first SA is in one worker's SAD. The entry that a lookup reads
//! holds it, so that an outbound packet's SA lines can be asked for straight from the SPD's
//! answer: without it, the chain of misses per packet was SPD slot -> SA id -> SA slot -> SA.
//! Positions move when the SAD changes (a removal moves its last SA into the hole); the
//! SAD's one writer, which also writes the SPD, makes its changes through [`Spd::install_sa`],
//! [`Spd::remove_sa`] and [`Spd::insert_placed`], which keep them right. The SPD notes the
//! SAD's [`Sad::layout`] it was placed against: a change made another way shows as a
//! mismatch ([`Spd::placed_against`]), and positions are then not to be used before
//! [`Spd::place_all`].

use super::{Entry, Spd};
use crate::sa::{Sa, SaConfig, SaId};
use crate::sad::{SaPos, SaRef, Sad, SadError};
use crate::spd::{Action, Policy, PolicyId};

impl Spd {
    /// Installs an SA in `sad` and points the policies it protects for at it.
    pub fn install_sa(
        &mut self,
        sad: &mut Sad,
        id: SaId,
        config: SaConfig,
        now_ns: u64,
    ) -> Result<(), SadError> {
        let placed = self.placed_against(sad);
        sad.insert(id, config, now_ns)?;
        self.place_sa(id, id.position(sad));
        self.stamp(sad, placed);
        Ok(())
    }

    /// Removes an SA from `sad`: its policies point at none, and those of the SA moved into
    /// its place at that place.
    pub fn remove_sa(&mut self, sad: &mut Sad, id: SaId) -> Option<Sa> {
        let placed = self.placed_against(sad);
        let at = sad.position(id)?;
        let sa = sad.remove(id)?;
        self.place_sa(id, SaPos::NONE);
        if let Some(moved) = sad.at(at).map(|sa| sa.id) {
            self.place_sa(moved, at);
        }
        self.stamp(sad, placed);
        Some(sa)
    }

    /// [`Spd::insert`], the policy pointed at its first SA in `sad`.
    pub fn insert_placed(&mut self, policy: Policy, sad: &Sad) -> PolicyId {
        let placed = self.placed_against(sad);
        let id = self.insert(policy);
        if let Action::Protect(b) = policy.action {
            let sa = SaId(b.first());
            self.place_sa(sa, sa.position(sad));
        }
        self.stamp(sad, placed);
        id
    }

    /// Whether the positions are those of `sad` as it is: every change to it went through
    /// this SPD since it was last placed in full.
    #[inline]
    pub fn placed_against(&self, sad: &Sad) -> bool {
        self.placed_layout == sad.layout()
    }

    /// After a change that kept the positions right: still placed if they were before it.
    fn stamp(&mut self, sad: &Sad, placed: bool) {
        if placed {
            self.placed_layout = sad.layout();
        }
    }

    /// Points every PROTECT policy whose first SA is `sa` at `at` ([`SaPos::NONE`]: the SAD
    /// holds no such SA).
    fn place_sa(&mut self, sa: SaId, at: SaPos) {
        let mut from = 0;
        while let Some(&(_, id)) = self.by_sa.range((sa.0, from)..=(sa.0, u32::MAX)).next() {
            if let Some(e) = self.entry_mut(id) {
                e.sa_at = at;
            }
            match id.checked_add(1) {
                Some(next) => from = next,
                None => break,
            }
        }
        for c in &mut self.small {
            if matches!(c.policy.action, Action::Protect(b) if b.first() == sa.0) {
                c.sa_at = at;
            }
        }
    }

    /// Points every PROTECT policy at where `sad` holds its first SA, whatever it held.
    #[cold]
    #[inline(never)]
    pub fn place_all(&mut self, sad: &Sad) {
        let placed: Vec<(u32, SaPos)> = self
            .by_sa
            .iter()
            .map(|&(sa, id)| (id, SaId(sa).position(sad)))
            .collect();
        for (id, at) in placed {
            if let Some(e) = self.entry_mut(id) {
                e.sa_at = at;
            }
        }
        for c in &mut self.small {
            if let Action::Protect(b) = c.policy.action {
                c.sa_at = SaId(b.first()).position(sad);
            }
        }
        self.placed_layout = sad.layout();
    }

    /// The first PROTECT policy (by id) whose position is not where `sad` holds its first
    /// SA, if any: for tests of the writer that keeps them right.
    pub fn misplaced(&self, sad: &Sad) -> Option<(u32, SaPos)> {
        let want = |sa: u32| SaId(sa).position(sad);
        let big = self.by_sa.iter().find_map(|&(sa, id)| {
            let e = self.entry(id)?;
            (e.sa_at != want(sa)).then_some((id, e.sa_at))
        });
        big.or_else(|| {
            self.small.iter().find_map(|c| match c.policy.action {
                Action::Protect(b) if c.sa_at != want(b.first()) => Some((c.id, c.sa_at)),
                _ => None,
            })
        })
    }

    fn entry_mut(&mut self, id: u32) -> Option<&mut Entry> {
        let loc = self.index.get(&id)?;
        let slot = self
            .groups
            .get_mut(loc.group as usize)?
            .table
            .get_mut(loc.pair)?;
        if slot.head.id == id {
            return Some(&mut slot.head);
        }
        let mut at = slot.head.next;
        loop {
            let e = self.overflow.get(at as usize)?;
            if e.id == id {
                return self.overflow.get_mut(at as usize);
            }
            at = e.next;
        }
    }
}
