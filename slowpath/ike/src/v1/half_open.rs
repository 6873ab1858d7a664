//! The responder's half-open ISAKMP SAs: those whose phase 1 is not done, and among them
//! those whose peer has not yet echoed our cookie (Main Mode: no KE yet, message 3;
//! Aggressive Mode: no HASH_I yet). IKEv1 has no COOKIE round trip before state is made,
//! so a spoofed first message can claim any address: the cap is not kept by refusing an
//! address (a flood spoofing a real peer would lock it out) but by evicting the oldest SA
//! that has not echoed its cookie. A real peer answers within a round trip, so its SA is
//! only evicted when a flood brings the cap's worth of first messages in that time.

use std::collections::{BTreeSet, HashSet};

use super::isakmp_sa::{IsakmpSa, Phase1State};
use crate::action::IkeSaId;
use crate::half_open::ShrinkWhenSparse;

/// Where a responder SA stands for the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// Our cookie not yet echoed: evictable.
    NotEchoed,
    /// The peer proved its address; phase 1 not done.
    Echoed,
    /// Up, closed, or ours as initiator: not half-open.
    Other,
}

fn standing(sa: &IsakmpSa) -> Standing {
    if sa.initiator {
        return Standing::Other;
    }
    match sa.state {
        Phase1State::MmSaAnswered | Phase1State::AmAnswered => Standing::NotEchoed,
        Phase1State::MmKeAnswered => Standing::Echoed,
        _ => Standing::Other,
    }
}

#[derive(Debug, Default)]
pub struct HalfOpen {
    /// By SA id, which grows with each SA made: the first is the oldest.
    not_echoed: BTreeSet<IkeSaId>,
    echoed: HashSet<IkeSaId>,
}

impl HalfOpen {
    /// SA `sa` as it is now (after every call that went through it).
    pub fn note(&mut self, sa: &IsakmpSa) {
        match standing(sa) {
            Standing::NotEchoed => {
                self.echoed.remove(&sa.id);
                self.not_echoed.insert(sa.id);
            }
            Standing::Echoed => {
                self.not_echoed.remove(&sa.id);
                self.echoed.insert(sa.id);
            }
            Standing::Other => self.forget(sa.id),
        }
    }

    /// SA `id` is gone.
    pub fn forget(&mut self, id: IkeSaId) {
        self.not_echoed.remove(&id);
        if self.echoed.remove(&id) {
            self.echoed.shrink_when_sparse();
        }
    }

    pub fn contains(&self, id: IkeSaId) -> bool {
        self.not_echoed.contains(&id) || self.echoed.contains(&id)
    }

    /// Half-open SAs in all (the gauge).
    pub fn len(&self) -> usize {
        self.not_echoed.len() + self.echoed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The SA to evict for a new one: the oldest that has not echoed our cookie.
    pub fn oldest_not_echoed(&self) -> Option<IkeSaId> {
        self.not_echoed.first().copied()
    }
}
