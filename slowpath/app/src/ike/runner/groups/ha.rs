//! Crypto groups in an HA pair. The active node sends each group's state (which member is
//! active) whenever it moves, and with every bulk sync; the standby's group adopts it and
//! its table moves the outbound policies as the active's did, so that the same member's
//! are held aside on both nodes and a takeover sends the traffic where it went. The CHILD
//! SAs a standby installs from synced IKE SAs are held by their group's member as there.

use std::time::Duration;

use hasync::{GroupActive, Record};
use ike::crypto_group::{Member, SyncedState};
use ike::ha::HaRole;
use ike::sa::IkeState;
use serde_json::json;

use super::IkeRunner;

/// A group's state as the record carries it.
fn record(name: &str, s: SyncedState) -> Record {
    Record::CryptoGroup(GroupActive {
        group: name.to_string(),
        secondary: s.active == Member::Secondary,
        revertible: s.revertible,
        switchovers: s.switchovers,
        reverts: s.reverts,
    })
}

impl super::Groups {
    /// Every group's state, for a bulk sync.
    pub fn sync_records(&self) -> Vec<Record> {
        self.groups
            .iter()
            .map(|g| record(g.name(), g.synced_state()))
            .collect()
    }
}

impl IkeRunner {
    /// The group's state to the peer node (active only).
    pub(super) fn offer_group(&mut self, i: usize) {
        if self.engine.role() != HaRole::Active {
            return;
        }
        let Some(g) = self.groups.groups.get(i) else {
            return;
        };
        let r = record(g.name(), g.synced_state());
        if let Some(ha) = self.ha.as_mut() {
            ha.link.offer(r);
        }
    }

    /// On the standby: the active node's group state, adopted; the policies follow it.
    pub(in crate::ike::runner) fn apply_group_record(&mut self, r: GroupActive) {
        let Some(&i) = self.groups.by_name.get(&r.group) else {
            tracing::debug!(target: "ike", "ha: crypto group {} is not configured here", r.group);
            return;
        };
        let active = if r.secondary {
            Member::Secondary
        } else {
            Member::Primary
        };
        let g = &mut self.groups.groups[i];
        let Some(before) = g.adopt(SyncedState {
            active,
            revertible: r.revertible,
            switchovers: r.switchovers,
            reverts: r.reverts,
        }) else {
            return;
        };
        let (from, to) = (g.config().conn(before), g.config().conn(active));
        let moves = [(from.to_string(), to.to_string())];
        let outcome = self.move_policies(&moves).pop().unwrap_or(Ok(()));
        if let Err(e) = &outcome {
            self.stats.fastpath_errors += 1;
            tracing::warn!(target: "ike", "ha: crypto group {} move: {e}", r.group);
        }
        let [(from, to)] = moves;
        self.event(
            "crypto_group_synced",
            json!({ "group": r.group, "from": from, "to": to, "active": active.word(),
                    "error": outcome.err() }),
        );
    }

    /// After a takeover: each group learns which of its tunnels came over up (an IKE SA
    /// established with CHILD SAs in the table); what it asks for is carried out.
    pub(in crate::ike::runner) fn groups_taken_over(&mut self, now: Duration) {
        let mut up_conns = std::collections::HashSet::new();
        for id in self.engine.sa_ids() {
            let established = self
                .engine
                .sa(id)
                .is_some_and(|s| s.state == IkeState::Established);
            if established && self.table.entries_of(id).next().is_some() {
                up_conns.extend(self.conn_of(id));
            }
        }
        for g in &mut self.groups.groups {
            let up =
                [Member::Primary, Member::Secondary].map(|m| up_conns.contains(g.config().conn(m)));
            g.taken_over(now, up);
        }
        self.apply_group_outputs(now);
    }
}
