//! INFORMATIONAL (RFC 7296 1.4): deletes of CHILD SAs and of the IKE SA, and the empty
//! request that checks the peer is alive (2.4).

use crate::action::{ChildId, DownReason, Event};
use crate::message::{ExchangeType, Payload, Payloads, ProtocolId};
use crate::sa::child_sa::ChildState;
use crate::sa::core::{InfoRequest, Pending};
use crate::sa::ctx::Ctx;
use crate::sa::exchange::ike_rekey::delete_ike;
use crate::sa::ike_sa::{IkeSa, IkeState};

impl IkeSa {
    pub(crate) fn send_delete_children(&mut self, ctx: &mut Ctx, ids: Vec<ChildId>) -> bool {
        let mut spis = Vec::new();
        let mut live = Vec::new();
        for id in ids {
            if let Some(c) = self.child_mut(id) {
                spis.push(c.spi_in.to_be_bytes().to_vec());
                if c.state != ChildState::Rekeyed && c.state != ChildState::Shadow {
                    c.state = ChildState::Deleting;
                }
                live.push(id);
            }
        }
        if live.is_empty() {
            return false;
        }
        let p = vec![Payload::Delete {
            protocol: ProtocolId::ESP,
            spi_size: 4,
            spis,
        }];
        self.start_request(
            ctx,
            ExchangeType::INFORMATIONAL,
            p,
            Pending::Informational(InfoRequest::DeleteChildren(live)),
        )
    }

    pub(crate) fn send_delete_ike(&mut self, ctx: &mut Ctx) -> bool {
        self.state = IkeState::Deleting;
        self.start_request(
            ctx,
            ExchangeType::INFORMATIONAL,
            vec![delete_ike()],
            Pending::Informational(InfoRequest::DeleteIke),
        )
    }

    pub(crate) fn send_dpd(&mut self, ctx: &mut Ctx) -> bool {
        self.event(Event::DpdSent);
        self.start_request(
            ctx,
            ExchangeType::INFORMATIONAL,
            vec![],
            Pending::Informational(InfoRequest::Dpd),
        )
    }

    /// The peer's INFORMATIONAL request on the current SA.
    pub(crate) fn on_informational_request(
        &mut self,
        ctx: &mut Ctx,
        message_id: u32,
        p: &[Payload],
    ) {
        let mut ours = Vec::new();
        for (protocol, spis) in p.deletes() {
            if protocol == ProtocolId::IKE {
                self.respond(ctx, None, ExchangeType::INFORMATIONAL, message_id, &[]);
                return self.close(ctx, DownReason::DeletedByPeer);
            }
            if protocol != ProtocolId::ESP {
                continue;
            }
            for spi in spis {
                let Ok(spi) = <[u8; 4]>::try_from(spi.as_slice()).map(u32::from_be_bytes) else {
                    continue;
                };
                let Some(c) = self.children.iter().find(|c| c.spi_out == spi) else {
                    continue;
                };
                let (id, state, spi_in) = (c.id, c.state, c.spi_in);
                // Deletes that crossed: both directions go now, and the answer does not name
                // the SA again (RFC 7296 1.4.1).
                if state != ChildState::Deleting {
                    ours.push(spi_in.to_be_bytes().to_vec());
                }
                let reason = match state {
                    ChildState::Rekeyed => DownReason::Rekeyed,
                    _ => DownReason::DeletedByPeer,
                };
                self.remove_child(id, reason);
            }
        }
        let out: Vec<Payload> = if ours.is_empty() {
            Vec::new()
        } else {
            vec![Payload::Delete {
                protocol: ProtocolId::ESP,
                spi_size: 4,
                spis: ours,
            }]
        };
        self.respond(ctx, None, ExchangeType::INFORMATIONAL, message_id, &out);
    }

    /// The answer to our INFORMATIONAL request.
    pub(crate) fn on_informational_response(&mut self, ctx: &mut Ctx, req: InfoRequest) {
        match req {
            InfoRequest::Dpd => {}
            InfoRequest::DeleteIke => self.close(ctx, DownReason::Deleted),
            InfoRequest::DeleteChildren(ids) => {
                for id in ids {
                    let reason = match self.child(id).map(|c| c.state) {
                        Some(ChildState::Rekeyed) => DownReason::Rekeyed,
                        _ => DownReason::Deleted,
                    };
                    self.remove_child(id, reason);
                }
            }
        }
    }
}
