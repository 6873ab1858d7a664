//! The operator's IKE requests: what the IKE SAs, CHILD SAs, pools and counters are, and
//! initiate, terminate, rekey and flush (everything, or only what is half-open), each
//! answered as a typed reply of `northbound::ike_status`.

use std::time::Duration;

use ike::action::{ChildId, IkeSaId};
use ike::ha::HaRole;
use ipc::slowpath::{Request as OperatorRequest, TerminateTarget};
use serde::Serialize;
use serde_json::{json, Value};

use super::error::IkeRequestError;
use super::render::{child_sa_status, ike_sa_status, pool_status};
use super::IkeRunner;
use crate::ike::program::get_sa;
use crate::northbound::ike_status::{
    ChildFastpath, ChildSaStatus, FastpathSaCounters, FastpathSaStatus, HalfOpenFlushed,
    IkeCounters, IkeSaStatus, Initiated, PoolStatus, Rekeying, Terminated,
};
use ike::v1::engine::is_v1_id;

fn reply(r: impl Serialize) -> Result<Value, IkeRequestError> {
    Ok(serde_json::to_value(r)?)
}

impl IkeRunner {
    /// An operator request; `None` when it is not an IKE one.
    pub fn handle(
        &mut self,
        now: Duration,
        request: &OperatorRequest,
    ) -> Option<Result<Value, IkeRequestError>> {
        let r = match request {
            OperatorRequest::IkeSas => reply(self.ike_sas(now)),
            OperatorRequest::ChildSas { ike_sa } => reply(self.child_sas(now, *ike_sa)),
            OperatorRequest::Initiate { conn, child } => {
                self.initiate(now, conn, child.as_deref()).and_then(reply)
            }
            OperatorRequest::Terminate(which) => self.terminate(now, which).and_then(reply),
            OperatorRequest::Rekey { ike_sa, child } => {
                self.rekey(now, *ike_sa, *child).and_then(reply)
            }
            OperatorRequest::Flush => self.flush(now).and_then(reply),
            OperatorRequest::FlushHalfOpen => self.flush_half_open(now).and_then(reply),
            OperatorRequest::Pools => reply(self.pools()),
            OperatorRequest::IkeCounters => reply(self.counters()),
            OperatorRequest::CryptoGroups => reply(self.crypto_groups(now)),
            OperatorRequest::CryptoGroup { name } => self
                .crypto_group(now, name)
                .ok_or_else(|| IkeRequestError::NoGroup(name.clone()))
                .and_then(reply),
            OperatorRequest::CryptoGroupSwitchover { name } => {
                self.crypto_group_switchover(now, name).and_then(reply)
            }
            _ => return None,
        };
        Some(r)
    }

    pub fn ike_sas(&self, now: Duration) -> Vec<IkeSaStatus> {
        let v2 = self.engine.status(now).into_iter().map(|s| (s, 2));
        let v1 = self.v1.status(now).into_iter().map(|s| (s, 1));
        v2.chain(v1)
            .map(|(s, version)| IkeSaStatus {
                version,
                ..ike_sa_status(&s)
            })
            .collect()
    }

    /// Every CHILD SA (of one IKE SA, with `only`), with its fast path SAs and their counters.
    pub fn child_sas(&mut self, now: Duration, only: Option<IkeSaId>) -> Vec<ChildSaStatus> {
        let mut out = Vec::new();
        for s in self
            .engine
            .status(now)
            .into_iter()
            .chain(self.v1.status(now))
        {
            if only.is_some_and(|o| o != s.id) {
                continue;
            }
            for c in &s.children {
                let mut status = child_sa_status(&s, c);
                status.fastpath = self.child_fastpath(s.id, c.id);
                out.push(status);
            }
        }
        out
    }

    /// A CHILD SA's fast path ids, and their counters when a real fast path is behind.
    fn child_fastpath(&mut self, sa: IkeSaId, child: ChildId) -> Option<ChildFastpath> {
        let e = self.table.get(sa, child)?;
        let mut fp = ChildFastpath {
            sa_in: e.sa_in,
            sa_out: e.sa_out,
            policies_in: e.policies_in.len(),
            policies_out: e.policies_out.len(),
            inbound: None,
            outbound: None,
        };
        if self.fp.is_real() {
            fp.inbound = Some(self.fastpath_sa(fp.sa_in));
            fp.outbound = Some(self.fastpath_sa(fp.sa_out));
        }
        Some(fp)
    }

    fn fastpath_sa(&mut self, id: u32) -> FastpathSaStatus {
        match get_sa(self.fp.as_mut(), id) {
            Ok(i) => FastpathSaStatus::Counters(FastpathSaCounters {
                packets: i.packets,
                bytes: i.bytes,
                oseq: i.oseq,
                window_top: i.window_top,
                idle_ms: i.idle_ms,
                state: i.state,
                drops: i.drops,
            }),
            Err(error) => FastpathSaStatus::Error { error },
        }
    }

    fn initiate(
        &mut self,
        now: Duration,
        conn: &str,
        child: Option<&str>,
    ) -> Result<Initiated, IkeRequestError> {
        let c = self
            .conns
            .iter()
            .find(|c| c.name == conn)
            .ok_or_else(|| IkeRequestError::NoConn(conn.to_string()))?;
        if let Some(ch) = child {
            if !c.children.iter().any(|n| n == ch) {
                return Err(IkeRequestError::NoChild {
                    conn: conn.to_string(),
                    child: ch.to_string(),
                });
            }
        }
        let id = if self.v1.has_conn(conn) {
            self.v1.initiate(now, &mut self.rng, conn)
        } else {
            self.engine.initiate(now, &mut self.rng, conn, child)
        }
        .ok_or_else(|| IkeRequestError::CannotInitiate(conn.to_string()))?;
        self.drain(now);
        Ok(Initiated { ike_sa: id })
    }

    fn terminate(
        &mut self,
        now: Duration,
        which: &TerminateTarget,
    ) -> Result<Terminated, IkeRequestError> {
        let ids: Vec<IkeSaId> = match which {
            TerminateTarget::IkeSa { ike_sa } => vec![*ike_sa],
            TerminateTarget::Conn { conn } => self
                .engine
                .status(now)
                .iter()
                .chain(self.v1.status(now).iter())
                .filter(|s| s.config == *conn)
                .map(|s| s.id)
                .collect(),
        };
        let done: Vec<IkeSaId> = ids
            .into_iter()
            .filter(|id| {
                if is_v1_id(*id) {
                    self.v1.delete_sa(now, &mut self.rng, *id)
                } else {
                    self.engine.delete_ike(now, &mut self.rng, *id)
                }
            })
            .collect();
        self.drain(now);
        if done.is_empty() {
            return Err(IkeRequestError::NoIkeSa);
        }
        Ok(Terminated { terminated: done })
    }

    /// Every IKE SA; refused on a standby (which would delete nothing, see `Standby`).
    fn flush(&mut self, now: Duration) -> Result<Terminated, IkeRequestError> {
        if self.engine.role() == HaRole::Standby {
            return Err(IkeRequestError::Standby);
        }
        let ids = self.engine.sa_ids();
        for id in &ids {
            self.engine.delete_ike(now, &mut self.rng, *id);
        }
        self.drain(now);
        Ok(Terminated { terminated: ids })
    }

    /// Only what never completed: half-open IKE SAs and queued new CHILD SAs.
    fn flush_half_open(&mut self, now: Duration) -> Result<HalfOpenFlushed, IkeRequestError> {
        let f = self
            .engine
            .flush_half_open(now, &mut self.rng)
            .ok_or(IkeRequestError::Standby)?;
        self.drain(now);
        self.event(
            "flushed_half_open",
            json!({
                "ike_sas": f.responder_ike_sas.len() + f.initiator_ike_sas.len(),
                "child_requests": f.child_requests,
                "child_requests_in_flight": f.child_requests_in_flight,
            }),
        );
        Ok(f)
    }

    pub fn pools(&self) -> Vec<PoolStatus> {
        self.engine.pool_views().iter().map(pool_status).collect()
    }

    fn rekey(
        &mut self,
        now: Duration,
        sa: IkeSaId,
        child: Option<u64>,
    ) -> Result<Rekeying, IkeRequestError> {
        let ok = match child {
            Some(c) => {
                let c = ChildId::try_from(c).map_err(|_| IkeRequestError::BadChildId)?;
                self.engine.rekey_child(now, &mut self.rng, sa, c)
            }
            None => self.engine.rekey_ike(now, &mut self.rng, sa),
        };
        self.drain(now);
        if !ok {
            return Err(IkeRequestError::CannotRekey);
        }
        Ok(Rekeying {
            ike_sa: sa,
            rekeying: true,
        })
    }

    pub fn counters(&self) -> IkeCounters {
        let mut c = self.engine.total_counters();
        let mut v1 = self.v1.total_counters();
        // IKEv1's half-open SAs are shown apart: they are capped by eviction, not cookies.
        let v1_half_open = std::mem::take(&mut v1.half_open);
        c.absorb(&v1);
        let s = &self.stats;
        IkeCounters {
            ike_sas: self.engine.sa_ids().len() + self.v1.sa_ids().len(),
            fastpath_child_sas: self.table.len(),
            received: s.received,
            sent: s.sent,
            send_errors: s.send_errors,
            drops: c
                .drops
                .iter()
                .map(|(r, n)| (r.name().to_string(), *n))
                .chain(
                    (s.v1_not_configured > 0)
                        .then(|| (super::v1::NOT_CONFIGURED.to_string(), s.v1_not_configured)),
                )
                .collect(),
            retransmits: c.retransmits,
            answered_from_cache: c.requests_answered_from_cache,
            half_open: c
                .half_open
                .named()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            half_open_v1: v1_half_open
                .named()
                .into_iter()
                .filter(|(k, _)| matches!(*k, "expired" | "evicted" | "current"))
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            fastpath_errors: s.fastpath_errors,
            fastpath_events: s.fastpath_events,
            fastpath_subscribed: self.sub.is_some(),
            child_install_failures: s.child_install_failures,
            quarantined_sa_ids: self.table.quarantined.len(),
            fastpath_orphans: self.table.orphans().len(),
        }
    }
}
