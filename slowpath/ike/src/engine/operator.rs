//! What the operator asks of the engine as a whole, beyond one SA: flush the negotiations
//! that never completed, and the virtual IP pools' state.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::Engine;
use crate::action::IkeSaId;
use crate::config::Identity;
use crate::rng::RngSource;
use crate::sa::core::Pending;
use crate::sa::exchange::Task;
use crate::sa::IkeState;

/// What `flush_half_open` removed, and what it could not (the operator's reply as is).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct HalfOpenFlush {
    /// Responder IKE SAs whose IKE_AUTH never came.
    pub responder_ike_sas: Vec<IkeSaId>,
    /// Initiator IKE SAs in IKE_SA_INIT or IKE_AUTH.
    pub initiator_ike_sas: Vec<IkeSaId>,
    /// CREATE_CHILD_SA requests for new CHILD SAs, queued on established IKE SAs and not
    /// yet sent.
    pub child_requests: usize,
    /// New CHILD SA requests already sent: left to finish (the peer's answer, or the
    /// retransmission bound, ends them), since the message ID they hold cannot be taken back.
    pub child_requests_in_flight: usize,
}

/// One address of a pool held by (or kept for) a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseView {
    pub address: Ipv4Addr,
    pub identity: Identity,
    /// The IKE SA that holds it (`None`: offline, kept for the same identity).
    pub ike_sa: Option<IkeSaId>,
    /// That IKE SA's SPIs (initiator's, responder's).
    pub spis: Option<(u64, u64)>,
}

/// A virtual IP pool as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolView {
    pub name: String,
    pub first: Ipv4Addr,
    pub last: Ipv4Addr,
    pub size: u64,
    /// Addresses an IKE SA holds.
    pub leased: u64,
    /// Offline leases: no IKE SA holds them; their identity gets them back first, another
    /// one only when no address was never leased.
    pub offline: u64,
    /// Addresses a new peer can be given (never leased, or offline).
    pub free: u64,
    pub leases: Vec<LeaseView>,
}

impl Engine {
    /// Removes, on this node, the IKE SAs whose negotiation never completed (IKE_SA_INIT
    /// done or in flight, IKE_AUTH not) and the new CHILD SA requests still queued on
    /// established ones; established SAs and their CHILD SAs are untouched. A half-open SA
    /// goes without a word to the peer (nothing authenticated is there to delete). `None`
    /// on a standby, whose SAs are the active node's copies.
    pub fn flush_half_open(
        &mut self,
        now: Duration,
        rng: &mut dyn RngSource,
    ) -> Option<HalfOpenFlush> {
        if self.passive() {
            return None;
        }
        let mut out = HalfOpenFlush::default();
        let states: Vec<(IkeSaId, IkeState)> =
            self.sas.iter().map(|(id, s)| (*id, s.state)).collect();
        for (id, state) in states {
            match state {
                IkeState::HalfOpen => {
                    self.delete_ike(now, rng, id);
                    out.responder_ike_sas.push(id);
                }
                IkeState::SaInitSent | IkeState::AuthSent => {
                    self.delete_ike(now, rng, id);
                    out.initiator_ike_sas.push(id);
                }
                IkeState::Established => {
                    let (mut queued, mut in_flight) = (0, 0);
                    self.with_sa(id, now, rng, |sa, _| {
                        let before = sa.tasks.len();
                        sa.tasks.retain(|t| !matches!(t, Task::CreateChild { .. }));
                        queued = before - sa.tasks.len();
                        in_flight = usize::from(sa.core.as_ref().is_some_and(|c| {
                            matches!(
                                c.outstanding.as_ref().map(|o| &o.pending),
                                Some(Pending::CreateChild(r)) if r.rekey.is_none()
                            )
                        }));
                    });
                    out.child_requests += queued;
                    out.child_requests_in_flight += in_flight;
                }
                IkeState::Held | IkeState::Deleting | IkeState::Closed => {}
            }
        }
        Some(out)
    }

    /// Every pool, its counts and its leases (with the SPIs of the IKE SA holding each).
    pub fn pool_views(&self) -> Vec<PoolView> {
        self.pools
            .values()
            .map(|p| {
                let (first, last) = (p.config.first, p.config.last);
                let size = u64::from(u32::from(last).saturating_sub(u32::from(first))) + 1;
                let leases: Vec<LeaseView> = p
                    .leases
                    .iter()
                    .map(|(addr, l)| LeaseView {
                        address: *addr,
                        identity: l.identity.clone(),
                        ike_sa: l.sa,
                        spis: l.sa.and_then(|id| self.sas.get(&id)?.spis()),
                    })
                    .collect();
                let leased = leases.iter().filter(|l| l.ike_sa.is_some()).count() as u64;
                PoolView {
                    name: p.config.name.clone(),
                    first,
                    last,
                    size,
                    leased,
                    offline: leases.len() as u64 - leased,
                    free: size.saturating_sub(leased),
                    leases,
                }
            })
            .collect()
    }
}
