//! IKE SA rekey through CREATE_CHILD_SA (RFC 7296 1.3.2, 2.18): new SPIs and keys from the
//! old SK_d; the CHILD SAs stay (they belong to the connection, not to a key generation);
//! the old SA is deleted by the rekey's initiator. Simultaneous rekeys: 2.8.2.

use crate::action::Event;
use crate::config::IkeConfig;
use crate::crypto::keys::derive_rekeyed_ike_keys;
use crate::crypto::proposal::{select, KeMode, ProposalError};
use crate::message::{
    invalid_ke_data, DhGroup, ExchangeType, NotifyType, Payload, Payloads, ProtocolId,
};
use crate::rng::random_vec;
use crate::sa::core::{IkeCollision, IkeRekeyRequest, InfoRequest, Pending, SaCore};
use crate::sa::ctx::Ctx;
use crate::sa::dh::DhPrivate;
use crate::sa::exchange::ike_sa_init::NONCE_LEN;
use crate::sa::exchange::ours_is_redundant;
use crate::sa::ike_sa::{IkeSa, Retiring, RETIRING_TIMEOUT};
use crate::sa::proposals;
use crate::timers::{deadline, jittered};

impl IkeSa {
    pub(crate) fn send_rekey_ike(&mut self, ctx: &mut Ctx) -> bool {
        let Some(cfg) = ctx.config(&self.config) else {
            return false;
        };
        let Some(group) = self
            .core
            .as_ref()
            .and_then(|c| c.suite.dh)
            .or_else(|| cfg.ike_proposals.iter().find_map(|s| s.dh))
        else {
            return false;
        };
        let Ok(dh) = DhPrivate::generate(group, ctx.rng) else {
            return false;
        };
        let req = IkeRekeyRequest {
            spi_i: ctx.ike_spi(),
            ni: random_vec(ctx.rng, NONCE_LEN),
            dh,
            suites: cfg.ike_proposals.clone(),
            collision: None,
            ke_retries: 0,
        };
        self.send_rekey_request(ctx, req)
    }

    fn send_rekey_request(&mut self, ctx: &mut Ctx, req: IkeRekeyRequest) -> bool {
        let p = vec![
            Payload::Sa(proposals::offer(
                ProtocolId::IKE,
                &req.spi_i.to_be_bytes(),
                &req.suites,
                true,
            )),
            Payload::Nonce(req.ni.clone()),
            Payload::Ke {
                group: DhGroup(req.dh.group),
                data: req.dh.public.clone(),
            },
        ];
        self.start_request(
            ctx,
            ExchangeType::CREATE_CHILD_SA,
            p,
            Pending::RekeyIke(req),
        )
    }

    /// The peer rekeys the IKE SA.
    pub(crate) fn on_ike_rekey_request(
        &mut self,
        ctx: &mut Ctx,
        cfg: &IkeConfig,
        message_id: u32,
        p: &[Payload],
    ) {
        let refuse = |sa: &mut IkeSa, ctx: &mut Ctx, n: NotifyType, data: Vec<u8>| {
            sa.respond(
                ctx,
                None,
                ExchangeType::CREATE_CHILD_SA,
                message_id,
                &[Payload::notify(n, data)],
            )
        };
        let (Some(sa), Some((group, ke)), Some(ni)) = (p.sa(), p.ke(), p.nonce()) else {
            return refuse(self, ctx, NotifyType::INVALID_SYNTAX, vec![]);
        };
        let sel = match select(
            &proposals::offered(sa),
            &proposals::policies(ProtocolId::IKE, &cfg.ike_proposals),
            KeMode::Payload(group.0),
        ) {
            Ok(s) => s,
            Err(ProposalError::InvalidKePayload { group }) => {
                return refuse(
                    self,
                    ctx,
                    NotifyType::INVALID_KE_PAYLOAD,
                    invalid_ke_data(DhGroup(group)),
                )
            }
            Err(ProposalError::NoProposalChosen) => {
                return refuse(self, ctx, NotifyType::NO_PROPOSAL_CHOSEN, vec![])
            }
        };
        let Some(Ok(old)) = self
            .core
            .as_ref()
            .map(|c| c.suite.prf().map(|prf| (prf, c.keys.sk_d.clone())))
        else {
            return;
        };
        let (Some(peer_spi), Ok(dh)) = (
            <[u8; 8]>::try_from(sel.spi.as_slice())
                .ok()
                .map(u64::from_be_bytes),
            DhPrivate::generate(group.0, ctx.rng),
        ) else {
            return refuse(self, ctx, NotifyType::INVALID_SYNTAX, vec![]);
        };
        let nr = random_vec(ctx.rng, NONCE_LEN);
        let spi_r = ctx.ike_spi();
        let keys = dh.shared(ke).ok().and_then(|g_ir| {
            derive_rekeyed_ike_keys(
                &sel.suite,
                old.0,
                &old.1,
                &g_ir,
                ni,
                &nr,
                peer_spi.to_be_bytes(),
                spi_r.to_be_bytes(),
            )
            .ok()
        });
        let Some(keys) = keys else {
            return refuse(self, ctx, NotifyType::INVALID_SYNTAX, vec![]);
        };
        let out = [
            Payload::Sa(vec![proposals::accepted(
                &sel,
                ProtocolId::IKE,
                &spi_r.to_be_bytes(),
            )]),
            Payload::Nonce(nr.clone()),
            Payload::Ke {
                group,
                data: dh.public.clone(),
            },
        ];
        self.respond(ctx, None, ExchangeType::CREATE_CHILD_SA, message_id, &out);
        let new = new_core(
            peer_spi,
            spi_r,
            false,
            sel.suite,
            keys,
            ni.to_vec(),
            nr.clone(),
        );
        let ours_in_flight = self
            .core
            .as_mut()
            .and_then(|c| c.outstanding.as_mut())
            .and_then(|o| match &mut o.pending {
                Pending::RekeyIke(r) => Some(r),
                _ => None,
            });
        if let Some(r) = ours_in_flight {
            r.collision = Some(Box::new(IkeCollision {
                core: new,
                peer_ni: ni.to_vec(),
                our_nr: nr,
            }));
            return;
        }
        // The peer deletes the old SA (it initiated the rekey).
        self.switch_core(ctx, cfg, new, false, None);
    }

    /// The answer to our IKE SA rekey.
    pub(crate) fn on_rekey_ike_response(
        &mut self,
        ctx: &mut Ctx,
        req: IkeRekeyRequest,
        p: &[Payload],
    ) {
        let Some(cfg) = ctx.config(&self.config) else {
            return;
        };
        if let Some(e) = p.error_notify() {
            if e.notify_type == NotifyType::INVALID_KE_PAYLOAD && req.ke_retries < 2 {
                let group = crate::message::parse_invalid_ke_data(e.data)
                    .ok()
                    .map(|g| g.0);
                if let Some(g) = group.filter(|g| req.suites.iter().any(|s| s.dh == Some(*g))) {
                    if let Ok(dh) = DhPrivate::generate(g, ctx.rng) {
                        let again = IkeRekeyRequest {
                            dh,
                            ke_retries: req.ke_retries + 1,
                            collision: None,
                            ..req
                        };
                        self.send_rekey_request(ctx, again);
                        return;
                    }
                }
            }
            self.event(Event::PeerNotify(e.notify_type));
            return match req.collision {
                Some(c) => self.switch_core(ctx, &cfg, c.core, false, None),
                None => self.rekey_at = Some(ctx.now + std::time::Duration::from_secs(30)),
            };
        }
        let Some(Ok(old)) = self
            .core
            .as_ref()
            .map(|c| c.suite.prf().map(|prf| (prf, c.keys.sk_d.clone())))
        else {
            return;
        };
        let sel = p.sa().and_then(|sa| {
            proposals::check_answer(
                sa,
                ProtocolId::IKE,
                &req.suites,
                KeMode::Payload(req.dh.group),
            )
        });
        let (Some(sel), Some((group, ke)), Some(nr)) = (sel, p.ke(), p.nonce()) else {
            return self.rekey_at = Some(ctx.now + std::time::Duration::from_secs(30));
        };
        let spi_r = <[u8; 8]>::try_from(sel.spi.as_slice())
            .ok()
            .map(u64::from_be_bytes);
        let keys = dh_keys(&req, group.0, ke).and_then(|g_ir| {
            derive_rekeyed_ike_keys(
                &sel.suite,
                old.0,
                &old.1,
                &g_ir,
                &req.ni,
                nr,
                req.spi_i.to_be_bytes(),
                spi_r?.to_be_bytes(),
            )
            .ok()
        });
        let (Some(keys), Some(spi_r)) = (keys, spi_r) else {
            return self.rekey_at = Some(ctx.now + std::time::Duration::from_secs(30));
        };
        let ours = new_core(
            req.spi_i,
            spi_r,
            true,
            sel.suite,
            keys,
            req.ni.clone(),
            nr.to_vec(),
        );
        match req.collision {
            None => self.switch_core(ctx, &cfg, ours, true, None),
            Some(c) => {
                let lost = ours_is_redundant(&req.ni, nr, &c.peer_ni, &c.our_nr);
                self.event(Event::RekeyCollision {
                    ike: true,
                    we_won: !lost,
                });
                if lost {
                    // We delete our redundant SA; the peer deletes the old one.
                    self.switch_core(ctx, &cfg, c.core, false, Some((ours, true)));
                } else {
                    self.switch_core(ctx, &cfg, ours, true, Some((c.core, false)));
                }
            }
        }
    }

    /// Makes `new` the current SA. The old one retires (we delete it if `we_delete_old`), and
    /// so does `extra` (the redundant SA of a collision) with its own flag.
    fn switch_core(
        &mut self,
        ctx: &mut Ctx,
        cfg: &IkeConfig,
        new: SaCore,
        we_delete_old: bool,
        extra: Option<(SaCore, bool)>,
    ) {
        let Some(old) = self.core.replace(new) else {
            return;
        };
        let new_spis = self
            .core
            .as_ref()
            .map(|c| (c.spi_i, c.spi_r))
            .unwrap_or_default();
        self.event(Event::IkeSaRekeyed {
            old: (old.spi_i, old.spi_r),
            new: new_spis,
        });
        let expire = ctx.now + RETIRING_TIMEOUT;
        self.retiring.push(Retiring {
            core: old,
            expire,
            we_delete: we_delete_old,
        });
        if let Some((core, we_delete)) = extra {
            self.retiring.push(Retiring {
                core,
                expire,
                we_delete,
            });
        }
        self.rekey_at = deadline(ctx.now, jittered(cfg.rekey_time, cfg.rekey_jitter, ctx.rng));
        let n = self.retiring.len();
        for i in 0..n {
            let idle = self
                .retiring
                .get(i)
                .is_some_and(|r| r.we_delete && r.core.outstanding.is_none());
            if idle {
                self.start_request_on(
                    ctx,
                    Some(i),
                    ExchangeType::INFORMATIONAL,
                    vec![delete_ike()],
                    Pending::Informational(InfoRequest::DeleteIke),
                );
            }
        }
    }
}

fn dh_keys(
    req: &IkeRekeyRequest,
    group: u16,
    ke: &[u8],
) -> Option<crate::crypto::keys::SecretBytes> {
    (group == req.dh.group)
        .then(|| req.dh.shared(ke).ok())
        .flatten()
}

pub(crate) fn delete_ike() -> Payload {
    Payload::Delete {
        protocol: ProtocolId::IKE,
        spi_size: 0,
        spis: vec![],
    }
}

fn new_core(
    spi_i: u64,
    spi_r: u64,
    initiator: bool,
    suite: crate::crypto::transform::Suite,
    keys: crate::crypto::keys::IkeKeys,
    ni: Vec<u8>,
    nr: Vec<u8>,
) -> SaCore {
    SaCore {
        spi_i,
        spi_r,
        initiator,
        suite,
        keys,
        ni,
        nr,
        seal_counter: 0,
        next_request: 0,
        outstanding: None,
        peer_next_request: 0,
        last_response: None,
    }
}
