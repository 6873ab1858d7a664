//! Dead peer detection needs to know whether ESP arrives, which only the fast path sees: its
//! inbound SAs' last use, read every half of the shortest DPD interval, tells the engine
//! (IKEv2's, or IKEv1's for an ISAKMP SA's IPsec SAs) of traffic from each peer.

use std::collections::HashMap;
use std::time::Duration;

use ike::action::IkeSaId;
use ike::v1::engine::is_v1_id;
use ipc::fastpath::SaInfo;

use super::IkeRunner;
use crate::ike::program::{get_sa, list_sas};

/// Above this many SAs to look at, DPD reads `sa_list` once instead of `sa_get` for each.
const SA_GET_MAX: usize = 16;

/// How often the fast path is asked: every half of the shortest DPD interval, a second at
/// least; `None` when no conn does DPD.
pub(super) fn poll_period(intervals: impl Iterator<Item = Duration>) -> Option<Duration> {
    intervals
        .filter(|d| !d.is_zero())
        .map(|d| (d / 2).max(Duration::from_secs(1)))
        .min()
}

impl IkeRunner {
    /// When DPD next asks the fast path, if it has anything to ask about.
    pub(super) fn next_dpd_poll(&self) -> Option<Duration> {
        (self.dpd_period.is_some() && self.fp.is_real() && !self.table.is_empty())
            .then_some(self.next_dpd_poll)
    }

    /// Reads the inbound SAs' last use of the conns that do DPD, when it is time.
    pub(super) fn poll_dpd(&mut self, now: Duration) {
        let Some(period) = self.dpd_period else {
            return;
        };
        if now < self.next_dpd_poll || !self.fp.is_real() {
            return;
        }
        self.next_dpd_poll = now + period;
        let wanted: Vec<(u32, IkeSaId)> = self
            .table
            .entries()
            .filter(|e| {
                self.conn_of(e.sa)
                    .and_then(|c| self.conns.iter().find(|x| x.name == c))
                    .is_some_and(|c| !c.dpd.is_zero())
            })
            .map(|e| (e.sa_in, e.sa))
            .collect();
        if wanted.is_empty() {
            return;
        }
        let infos = self.read_sas(&wanted);
        // Found by SA id: a gateway's list has 100,000 of them.
        let sa_of: HashMap<u32, IkeSaId> = wanted.into_iter().collect();
        for i in infos {
            let (id, used, idle) = (i.id.get(), i.last_used_ns, i.idle_ms);
            let Some(&sa) = sa_of.get(&id) else {
                continue;
            };
            let before = self.last_used.insert(id, used);
            if i.packets > 0 && before.is_some_and(|b| b != used) {
                let at = now.saturating_sub(Duration::from_millis(idle));
                if is_v1_id(sa) {
                    self.v1.traffic_received(sa, at);
                } else {
                    self.engine.traffic_received(sa, at);
                }
            }
        }
    }

    /// The fast path's view of the `wanted` SAs: one `sa_get` each, or one `sa_list` when
    /// there are many. Those it could not read are left out.
    fn read_sas(&mut self, wanted: &[(u32, IkeSaId)]) -> Vec<SaInfo> {
        if wanted.len() > SA_GET_MAX {
            return match list_sas(self.fp.as_mut()) {
                Ok(all) => all,
                Err(e) => {
                    self.stats.fastpath_errors += 1;
                    tracing::debug!(target: "ike", "sa_list: {e}");
                    Vec::new()
                }
            };
        }
        let mut v = Vec::new();
        for (id, _) in wanted {
            match get_sa(self.fp.as_mut(), *id) {
                Ok(i) => v.push(i),
                Err(e) => {
                    self.stats.fastpath_errors += 1;
                    tracing::debug!(target: "ike", "sa_get {id}: {e}");
                }
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_at_half_the_shortest_interval() {
        let s = Duration::from_secs;
        assert_eq!(poll_period([s(0), s(0)].into_iter()), None);
        assert_eq!(poll_period([s(30), s(0), s(10)].into_iter()), Some(s(5)));
        assert_eq!(
            poll_period([Duration::from_millis(500)].into_iter()),
            Some(s(1)),
            "a second at least"
        );
    }
}
