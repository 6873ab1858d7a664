//! Every IKE SA's next deadline in order, so that the caller's timer and the timers that are
//! due are found without looking at every SA (a gateway holds 100,000 of them, nearly all
//! idle). The engine keeps each SA's entry here and in its `Held` in step after every call
//! that went through the SA.

use std::collections::BTreeSet;
#[cfg(any(test, debug_assertions))]
use std::collections::HashMap;
#[cfg(any(test, debug_assertions))]
use std::net::IpAddr;
use std::time::Duration;

use super::Engine;
use crate::action::IkeSaId;
#[cfg(any(test, debug_assertions))]
use crate::config::Identity;
use crate::sa::IkeSa;

#[derive(Debug, Default)]
pub(crate) struct DeadlineIndex {
    by_time: BTreeSet<(Duration, IkeSaId)>,
}

impl DeadlineIndex {
    /// SA `id`'s deadline moves from `old` to `new` (either may be none).
    pub fn update(&mut self, id: IkeSaId, old: Option<Duration>, new: Option<Duration>) {
        if old == new {
            return;
        }
        if let Some(t) = old {
            self.by_time.remove(&(t, id));
        }
        if let Some(t) = new {
            self.by_time.insert((t, id));
        }
    }

    /// The earliest deadline of all.
    pub fn first(&self) -> Option<Duration> {
        self.by_time.first().map(|(t, _)| *t)
    }

    /// The SAs whose deadline is `now` or earlier, earliest first.
    pub fn due(&self, now: Duration) -> Vec<IkeSaId> {
        self.by_time
            .iter()
            .take_while(|(t, _)| *t <= now)
            .map(|(_, id)| *id)
            .collect()
    }

    pub fn clear(&mut self) {
        self.by_time.clear();
    }

    /// Every entry in order, to check against the SAs themselves.
    #[cfg(any(test, debug_assertions))]
    pub fn entries(&self) -> impl Iterator<Item = (Duration, IkeSaId)> + '_ {
        self.by_time.iter().copied()
    }
}

impl Engine {
    /// What `sa`'s entry in the index is to be: its next deadline, none on a standby
    /// (which keeps no timers).
    pub(super) fn deadline_of(&self, sa: &IkeSa) -> Option<Duration> {
        if self.passive() {
            return None;
        }
        sa.next_deadline(&self.configs)
    }

    /// Demoted: no SA's timer runs until a takeover, which goes through every SA again.
    pub(super) fn stop_timers(&mut self) {
        self.deadlines.clear();
        for h in self.held.values_mut() {
            h.deadline = None;
        }
    }

    /// Panics unless the deadline index (and the indexes by peer and identity) hold exactly what a look at
    /// every SA finds: in tests and debug builds, each time it is read.
    #[cfg(any(test, debug_assertions))]
    pub(super) fn check_indexes(&self) {
        let mut scanned: Vec<(Duration, IkeSaId)> = self
            .sas
            .iter()
            .filter_map(|(id, sa)| Some((self.deadline_of(sa)?, *id)))
            .collect();
        scanned.sort_unstable();
        let indexed: Vec<(Duration, IkeSaId)> = self.deadlines.entries().collect();
        assert_eq!(indexed, scanned, "deadline index out of step with the SAs");
        for (id, h) in &self.held {
            let at = self.sas.get(id).and_then(|sa| self.deadline_of(sa));
            assert_eq!(h.deadline, at, "IKE SA {id}: held deadline out of step");
        }
        let peers: BTreeSet<(IpAddr, IkeSaId)> = self
            .sas
            .iter()
            .map(|(id, sa)| (sa.remote.ip(), *id))
            .collect();
        assert_eq!(
            self.by_peer, peers,
            "index by peer out of step with the SAs"
        );
        let mut identities: HashMap<Identity, BTreeSet<IkeSaId>> = HashMap::new();
        for (id, sa) in &self.sas {
            if let Some(who) = &sa.remote_identity {
                identities.entry(who.clone()).or_default().insert(*id);
            }
        }
        assert_eq!(
            self.by_identity, identities,
            "index by identity out of step with the SAs"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_one_entry_per_sa_in_deadline_order() {
        let s = Duration::from_secs;
        let mut ix = DeadlineIndex::default();
        ix.update(1, None, Some(s(5)));
        ix.update(2, None, Some(s(3)));
        ix.update(3, None, Some(s(3)));
        ix.update(4, None, None);
        assert_eq!(ix.first(), Some(s(3)));
        assert_eq!(ix.due(s(2)), Vec::<IkeSaId>::new());
        assert_eq!(ix.due(s(3)), vec![2, 3]);
        // A moved deadline leaves nothing of the old one behind.
        ix.update(2, Some(s(3)), Some(s(9)));
        ix.update(3, Some(s(3)), None);
        assert_eq!(ix.due(s(5)), vec![1]);
        assert_eq!(ix.entries().collect::<Vec<_>>(), vec![(s(5), 1), (s(9), 2)]);
        ix.update(1, Some(s(5)), Some(s(5)));
        assert_eq!(ix.entries().count(), 2);
        ix.clear();
        assert_eq!(ix.first(), None);
    }
}
