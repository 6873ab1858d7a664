//! The IKEv1 engine's ISAKMP SAs by next deadline (IKEv2's `DeadlineIndex`) and by peer
//! address, so that the caller's timer, the timers that are due and a reauthentication's
//! predecessor are found without looking at every SA. The engine updates an SA's entries
//! after every call that went through it (`keep`) and removes them when it goes (`forget`).

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use super::IsakmpSa;
use crate::action::IkeSaId;
use crate::engine::deadlines::DeadlineIndex;

/// What the indexes hold of one SA.
#[derive(Debug, Clone, Copy)]
struct Held {
    deadline: Option<Duration>,
    peer: IpAddr,
}

#[derive(Debug, Default)]
pub(super) struct Indexes {
    deadlines: DeadlineIndex,
    by_peer: BTreeSet<(IpAddr, IkeSaId)>,
    held: HashMap<IkeSaId, Held>,
}

impl Indexes {
    /// SA `sa` stays: its entries as it is now.
    pub fn keep(&mut self, sa: &IsakmpSa) {
        let new = Held {
            deadline: sa.deadline(),
            peer: sa.remote.ip(),
        };
        let old = self.held.insert(sa.id, new);
        self.deadlines
            .update(sa.id, old.and_then(|h| h.deadline), new.deadline);
        if old.map(|h| h.peer) != Some(new.peer) {
            if let Some(h) = old {
                self.by_peer.remove(&(h.peer, sa.id));
            }
            self.by_peer.insert((new.peer, sa.id));
        }
    }

    /// SA `id` is gone (or taken out to be merged).
    pub fn forget(&mut self, id: IkeSaId) {
        if let Some(h) = self.held.remove(&id) {
            self.deadlines.update(id, h.deadline, None);
            self.by_peer.remove(&(h.peer, id));
        }
    }

    /// The earliest deadline of all.
    pub fn first(&self) -> Option<Duration> {
        self.deadlines.first()
    }

    /// The SAs whose deadline is `now` or earlier.
    pub fn due(&self, now: Duration) -> Vec<IkeSaId> {
        self.deadlines.due(now)
    }

    /// The SAs with peer `ip`.
    pub fn with_peer(&self, ip: IpAddr) -> impl Iterator<Item = IkeSaId> + '_ {
        self.by_peer
            .range((ip, IkeSaId::MIN)..=(ip, IkeSaId::MAX))
            .map(|(_, id)| *id)
    }

    /// Panics unless the indexes hold exactly what a look at every SA finds: in tests and
    /// debug builds, each time they are read.
    #[cfg(any(test, debug_assertions))]
    pub fn check<'a>(&self, sas: impl Iterator<Item = &'a IsakmpSa>) {
        let mut scanned = Vec::new();
        let mut peers = BTreeSet::new();
        for sa in sas {
            scanned.extend(sa.deadline().map(|t| (t, sa.id)));
            peers.insert((sa.remote.ip(), sa.id));
        }
        scanned.sort_unstable();
        let indexed: Vec<(Duration, IkeSaId)> = self.deadlines.entries().collect();
        assert_eq!(indexed, scanned, "IKEv1 deadline index out of step");
        assert_eq!(self.by_peer, peers, "IKEv1 index by peer out of step");
    }
}
