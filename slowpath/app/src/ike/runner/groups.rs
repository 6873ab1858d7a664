//! Crypto groups in the runner: each group's machine (`ike::crypto_group`) fed from what
//! the engine does to its members' IKE SAs and CHILD SAs, and its orders carried out: a
//! member's CHILD SAs go in held (no outbound policy) unless it is the active one, a move
//! shifts the outbound policies of every CHILD SA of the group in one step per worker
//! (`program::steer`), and a member down is started again. Peers declared dead and alive
//! are events for every conn, in a group or not.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

use ike::action::{DownReason, IkeSaId};
use ike::crypto_group::{Group, GroupConfig, GroupStatus, Input, Member, Output, Reason};
use ike::sa::IkeState;
use serde_json::json;

use super::IkeRunner;
use crate::ike::program::Move;

mod ha;

/// The groups, and which group and member each conn is.
#[derive(Debug, Default)]
pub(super) struct Groups {
    groups: Vec<Group>,
    by_conn: HashMap<String, (usize, Member)>,
    by_name: HashMap<String, usize>,
    /// Conns whose peer DPD declared dead, until their IKE SA is up again.
    dead: HashSet<String>,
    /// Each conn's remote address, for the events.
    peers: HashMap<String, IpAddr>,
    /// The runner's clock as of the last `drain` (actions carry no time).
    pub now: Duration,
}

impl Groups {
    pub fn new(
        configs: Vec<GroupConfig>,
        peers: impl Iterator<Item = (String, IpAddr)>,
        now: Duration,
    ) -> Groups {
        let mut g = Groups {
            now,
            peers: peers.collect(),
            ..Groups::default()
        };
        for (i, c) in configs.into_iter().enumerate() {
            g.by_conn.insert(c.primary.clone(), (i, Member::Primary));
            g.by_conn
                .insert(c.secondary.clone(), (i, Member::Secondary));
            g.by_name.insert(c.name.clone(), i);
            g.groups.push(Group::new(c, now));
        }
        g
    }

    pub fn next_deadline(&self) -> Option<Duration> {
        self.groups.iter().filter_map(Group::next_deadline).min()
    }

    pub fn status(&self, now: Duration) -> Vec<GroupStatus> {
        self.groups.iter().map(|g| g.status(now)).collect()
    }

    pub fn get(&self, name: &str) -> Option<&Group> {
        self.by_name.get(name).map(|&i| &self.groups[i])
    }

    /// Whether a conn's CHILD SAs are to go in without their outbound policies.
    pub fn holds(&self, conn: &str) -> bool {
        self.by_conn
            .get(conn)
            .is_some_and(|&(i, m)| self.groups[i].active() != m)
    }
}

impl IkeRunner {
    /// Read-only status of every group (for operators and metrics).
    pub fn crypto_groups(&self, now: Duration) -> Vec<GroupStatus> {
        self.groups.status(now)
    }

    pub(super) fn crypto_group(&self, now: Duration, name: &str) -> Option<GroupStatus> {
        self.groups.get(name).map(|g| g.status(now))
    }

    /// The operator moves a group's traffic to its other member.
    pub(super) fn crypto_group_switchover(
        &mut self,
        now: Duration,
        name: &str,
    ) -> Result<GroupStatus, super::IkeRequestError> {
        let i = *self
            .groups
            .by_name
            .get(name)
            .ok_or_else(|| super::IkeRequestError::NoGroup(name.to_string()))?;
        self.groups.groups[i].manual_switchover(now)?;
        self.apply_group_outputs(now);
        Ok(self.groups.groups[i].status(now))
    }

    /// Sets whether the CHILD SAs of `sa` about to go in are held (see `Groups::holds`).
    pub(super) fn hold_if_standby(&mut self, sa: IkeSaId) {
        if let Some(conn) = self.conn_of(sa) {
            let held = self.groups.holds(&conn);
            self.table.hold(sa, held);
        }
    }

    /// A member's CHILD SA went in: its tunnel is up.
    pub(super) fn group_child_up(&mut self, sa: IkeSaId) {
        let Some(conn) = self.conn_of(sa) else { return };
        if self.groups.dead.remove(&conn) && !self.groups.by_conn.contains_key(&conn) {
            self.peer_event("peer_alive", None, &conn);
        }
        self.group_input(&conn, Input::TunnelUp);
    }

    /// An IKE SA is going down (its CHILD SAs still in): a group moves its traffic away
    /// first, so that no packet meets the SPD without the group's policies.
    pub(super) fn group_ike_down(&mut self, sa: IkeSaId, reason: DownReason) {
        let Some(conn) = self.conn_of(sa) else { return };
        // Another IKE SA of the conn still up (a duplicate) keeps the tunnel.
        let others = self
            .ike_sas
            .values()
            .any(|i| i.sa != sa && i.config == conn);
        if reason == DownReason::PeerDead
            && self.groups.dead.insert(conn.clone())
            && !self.groups.by_conn.contains_key(&conn)
        {
            self.peer_event("peer_dead", None, &conn);
        }
        if others {
            return;
        }
        let input = if reason == DownReason::PeerDead {
            Input::PeerDead
        } else {
            Input::TunnelDown
        };
        self.group_input(&conn, input);
    }

    /// A CHILD SA of an established member could not be made or rekeyed.
    pub(super) fn group_child_failed(&mut self, sa: IkeSaId) {
        let established = self
            .engine
            .sa(sa)
            .is_some_and(|s| s.state == IkeState::Established);
        if let (true, Some(conn)) = (established, self.conn_of(sa)) {
            self.group_input(&conn, Input::RekeyFailed);
        }
    }

    fn group_input(&mut self, conn: &str, input: fn(Member) -> Input) {
        let Some(&(i, m)) = self.groups.by_conn.get(conn) else {
            return;
        };
        let now = self.groups.now;
        self.groups.groups[i].input(now, input(m));
        self.apply_group_outputs(now);
    }

    /// The groups' timers (reverts, members started again).
    pub(super) fn poll_groups(&mut self, now: Duration) {
        self.groups.now = now;
        if self.groups.next_deadline().is_some_and(|t| t <= now) {
            for g in &mut self.groups.groups {
                g.poll(now);
            }
            self.apply_group_outputs(now);
        }
    }

    /// Carries out what the groups asked for: every move in shared batches, then the rest.
    pub(super) fn apply_group_outputs(&mut self, now: Duration) {
        let mut moves = Vec::new();
        let mut moved = Vec::new();
        let mut starts = Vec::new();
        let mut restarts = Vec::new();
        let mut peers = Vec::new();
        for (i, g) in self.groups.groups.iter_mut().enumerate() {
            while let Some(o) = g.poll_output() {
                let conn = |m: Member| g.config().conn(m).to_string();
                match o {
                    Output::Steer { from, to, reason } => {
                        moved.push((i, from, to, reason));
                        moves.push((conn(from), conn(to)));
                    }
                    Output::BringUp(m) => starts.push(conn(m)),
                    Output::Restart(m) => restarts.push(conn(m)),
                    Output::PeerDead(m) => peers.push(("peer_dead", i, conn(m))),
                    Output::PeerAlive(m) => peers.push(("peer_alive", i, conn(m))),
                }
            }
        }
        for (kind, i, conn) in peers {
            let group = self.groups.groups[i].name().to_string();
            self.peer_event(kind, Some(&group), &conn);
        }
        if !moves.is_empty() {
            self.steer(&moves, &moved);
        }
        if !restarts.is_empty() || !starts.is_empty() {
            let sas = self.sas_by_conn();
            for conn in &restarts {
                for &id in sas.get(conn.as_str()).into_iter().flatten() {
                    self.engine.delete_ike(now, &mut self.rng, id);
                }
            }
            // A restarted member starts again at once; others unless on their way.
            let fresh = starts.into_iter().filter(|c| !sas.contains_key(c.as_str()));
            for conn in restarts.iter().cloned().chain(fresh) {
                self.engine.initiate(now, &mut self.rng, &conn, None);
            }
        }
    }

    /// Every live IKE SA of each conn (one pass over the engine).
    fn sas_by_conn(&self) -> HashMap<String, Vec<IkeSaId>> {
        let mut by: HashMap<String, Vec<IkeSaId>> = HashMap::new();
        for id in self.engine.sa_ids() {
            if let Some(s) = self.engine.sa(id) {
                if !matches!(s.state, IkeState::Closed | IkeState::Held) {
                    by.entry(s.config.clone()).or_default().push(id);
                }
            }
        }
        by
    }

    /// Moves each group's outbound policies between its members' IKE SAs, in shared
    /// batches, and says so; the peer node learns each group's new state.
    fn steer(&mut self, moves: &[(String, String)], moved: &[(usize, Member, Member, Reason)]) {
        let outcomes = self.move_policies(moves);
        for &(i, ..) in moved {
            self.offer_group(i);
        }
        for ((&(i, from, to, reason), (from_conn, to_conn)), r) in
            moved.iter().zip(moves).zip(outcomes)
        {
            let kind = if reason == Reason::Revert {
                "crypto_group_revert"
            } else {
                "crypto_group_switchover"
            };
            if let Err(e) = &r {
                self.stats.fastpath_errors += 1;
                tracing::warn!(target: "ike", "crypto group move: {e}");
            }
            let g = &self.groups.groups[i];
            let fields = json!({
                "group": g.name(), "from": from_conn, "to": to_conn,
                "from_member": from.word(), "to_member": to.word(), "reason": reason,
                "peer": self.peer_of(from_conn), "to_peer": self.peer_of(to_conn),
                "switchovers": g.counters().switchovers, "reverts": g.counters().reverts,
                "error": r.err(),
            });
            self.event(kind, fields);
        }
    }

    /// The outbound policies of each (from conn, to conn) move, in shared batches.
    pub(super) fn move_policies(&mut self, moves: &[(String, String)]) -> Vec<Result<(), String>> {
        let mut of_conn: HashMap<&str, Vec<IkeSaId>> = HashMap::new();
        for e in self.table.entries() {
            if let Some(info) = self.ike_sas.get(&e.sa) {
                let v = of_conn.entry(info.config.as_str()).or_default();
                if !v.contains(&e.sa) {
                    v.push(e.sa);
                }
            }
        }
        let table_moves: Vec<Move> = moves
            .iter()
            .map(|(from, to)| Move {
                from: of_conn.get(from.as_str()).cloned().unwrap_or_default(),
                to: of_conn.get(to.as_str()).cloned().unwrap_or_default(),
            })
            .collect();
        self.table.steer(self.fp.as_mut(), &table_moves)
    }

    fn peer_of(&self, conn: &str) -> Option<String> {
        self.groups.peers.get(conn).map(|a| a.to_string())
    }

    fn peer_event(&mut self, kind: &str, group: Option<&str>, conn: &str) {
        let fields = json!({ "group": group, "conn": conn, "peer": self.peer_of(conn) });
        self.event(kind, fields);
    }
}
