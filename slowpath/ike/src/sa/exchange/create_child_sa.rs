//! CREATE_CHILD_SA (RFC 7296 1.3): new CHILD SAs, CHILD SA rekeys (REKEY_SA, optional PFS)
//! and collisions between simultaneous rekeys (2.8.1). The IKE SA rekey is in `ike_rekey`.

use crate::action::{ChildId, Event};
use crate::config::{IkeConfig, Mode};
use crate::crypto::keys::derive_child_keys;
use crate::crypto::proposal::{select, KeMode, ProposalError};
use crate::message::{
    invalid_ke_data, DhGroup, ExchangeType, NotifyType, Payload, Payloads, ProtocolId, Side,
};
use crate::rng::random_vec;
use crate::sa::child_sa::{ChildSa, ChildState};
use crate::sa::core::{ChildCollision, ChildRequest, Pending};
use crate::sa::ctx::Ctx;
use crate::sa::dh::DhPrivate;
use crate::sa::exchange::ike_auth::{child_payloads, host_ts};
use crate::sa::exchange::ike_sa_init::NONCE_LEN;
use crate::sa::exchange::{ours_is_redundant, Task};
use crate::sa::ike_sa::IkeSa;
use crate::sa::{proposals, ts};
use crate::timers::{deadline, jittered};

/// Why a CHILD SA request is refused: the notify and its data.
type Refusal = (NotifyType, Vec<u8>);

fn refuse(n: NotifyType) -> Refusal {
    (n, Vec::new())
}

impl IkeSa {
    /// The responder's choice for a CHILD SA request: config, proposal, selectors, keys.
    /// Returns the new (not yet installed) child and the answer's payloads: SA, [Nr, KE],
    /// TSi, TSr.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn negotiate_child(
        &mut self,
        ctx: &mut Ctx,
        cfg: &IkeConfig,
        p: &[Payload],
        ni: &[u8],
        nr: &[u8],
        in_auth: bool,
        rekey: Option<ChildId>,
    ) -> Result<(ChildId, Vec<Payload>), Refusal> {
        let sa = p.sa().ok_or(refuse(NotifyType::INVALID_SYNTAX))?;
        let (Some(tsi), Some(tsr)) = (p.ts(Side::Initiator), p.ts(Side::Responder)) else {
            return Err(refuse(NotifyType::TS_UNACCEPTABLE));
        };
        let ke = p.ke();
        let ke_mode = match (in_auth, ke) {
            (true, _) => KeMode::Ignore,
            (false, Some((g, _))) => KeMode::Payload(g.0),
            (false, None) => KeMode::NoPayload,
        };
        let want_transport = p.has_notify(NotifyType::USE_TRANSPORT_MODE);
        let old_config = rekey
            .and_then(|id| self.child(id))
            .map(|c| c.config.clone());
        let mut refusal = refuse(NotifyType::TS_UNACCEPTABLE);
        let mut chosen = None;
        for child in &cfg.children {
            if old_config.as_ref().is_some_and(|n| *n != child.name) {
                continue;
            }
            let remote_ts = match self.virtual_ip {
                Some(v) => vec![host_ts(v)],
                None => child.remote_ts.clone(),
            };
            let (ni_ts, nr_ts) = (
                ts::narrow(tsi, &remote_ts),
                ts::narrow(tsr, &child.local_ts),
            );
            if ni_ts.is_empty() || nr_ts.is_empty() {
                continue;
            }
            let offered = proposals::offered(sa);
            let policies = proposals::policies(ProtocolId::ESP, &cfg.child_suites(child));
            match select(&offered, &policies, ke_mode) {
                Ok(sel) => {
                    chosen = Some((child.clone(), sel, ni_ts, nr_ts));
                    break;
                }
                Err(ProposalError::InvalidKePayload { group }) => {
                    refusal = (
                        NotifyType::INVALID_KE_PAYLOAD,
                        invalid_ke_data(DhGroup(group)),
                    )
                }
                Err(ProposalError::NoProposalChosen) => {
                    if refusal.0 == NotifyType::TS_UNACCEPTABLE {
                        refusal = refuse(NotifyType::NO_PROPOSAL_CHOSEN);
                    }
                }
            }
        }
        let (child, sel, local_remote_ts, local_ts) = chosen.ok_or(refusal)?;
        let spi_out = <[u8; 4]>::try_from(sel.spi.as_slice())
            .map(u32::from_be_bytes)
            .map_err(|_| refuse(NotifyType::INVALID_SYNTAX))?;
        let (dh, shared) = match (sel.suite.dh, ke) {
            (Some(g), Some((_, data))) => {
                let dh = DhPrivate::generate(g, ctx.rng)
                    .map_err(|_| refuse(NotifyType::NO_PROPOSAL_CHOSEN))?;
                let shared = dh
                    .shared(data)
                    .map_err(|_| refuse(NotifyType::INVALID_SYNTAX))?;
                (Some(dh), Some(shared))
            }
            _ => (None, None),
        };
        let prf = self
            .core
            .as_ref()
            .and_then(|c| c.suite.prf().ok())
            .ok_or(refuse(NotifyType::NO_PROPOSAL_CHOSEN))?;
        let sk_d = self
            .core
            .as_ref()
            .map(|c| c.keys.sk_d.clone())
            .unwrap_or_default();
        let keys = derive_child_keys(
            prf,
            &sk_d,
            shared.as_ref().map(|s| s.as_slice()),
            ni,
            nr,
            &sel.suite,
        )
        .map_err(|_| refuse(NotifyType::NO_PROPOSAL_CHOSEN))?;
        let mode = if want_transport && child.mode == Mode::Transport {
            Mode::Transport
        } else {
            Mode::Tunnel
        };
        let spi_in = ctx.esp_spi();
        let id = self.alloc_child_id();
        let lt = child.lifetimes;
        self.children.push(ChildSa {
            id,
            config: child.name.clone(),
            state: ChildState::Installed,
            installed: false,
            spi_in,
            spi_out,
            mode,
            suite: sel.suite,
            keys,
            initiator: false,
            local_ts: local_ts.clone(),
            remote_ts: local_remote_ts.clone(),
            lifetimes: lt,
            created_at: ctx.now,
            rekey_at: deadline(ctx.now, jittered(lt.rekey_time, lt.jitter, ctx.rng)),
            expire_at: deadline(ctx.now, lt.life_time),
            replaces: None,
        });
        let mut out = Vec::new();
        if mode == Mode::Transport {
            out.push(Payload::notify(NotifyType::USE_TRANSPORT_MODE, vec![]));
        }
        // Our fast path does no TFC padding (RFC 7296 1.3.1): say so; the peer's is ignored.
        out.push(Payload::notify(
            NotifyType::ESP_TFC_PADDING_NOT_SUPPORTED,
            vec![],
        ));
        out.push(Payload::Sa(vec![proposals::accepted(
            &sel,
            ProtocolId::ESP,
            &spi_in.to_be_bytes(),
        )]));
        if !in_auth {
            out.push(Payload::Nonce(nr.to_vec()));
            if let Some(dh) = dh {
                out.push(Payload::Ke {
                    group: DhGroup(dh.group),
                    data: dh.public,
                });
            }
        }
        out.push(Payload::Ts {
            kind: Side::Initiator,
            selectors: local_remote_ts,
            unknown: vec![],
        });
        out.push(Payload::Ts {
            kind: Side::Responder,
            selectors: local_ts,
            unknown: vec![],
        });
        Ok((id, out))
    }

    /// The initiator's side: checks the answer to our CHILD SA request and makes the child
    /// (not yet installed).
    pub(crate) fn finish_child(
        &mut self,
        ctx: &mut Ctx,
        cfg: &IkeConfig,
        req: &ChildRequest,
        p: &[Payload],
        ni: &[u8],
        nr: &[u8],
    ) -> Result<ChildId, NotifyType> {
        let ke_mode = match (&req.dh, req.ni.is_empty()) {
            (_, true) => KeMode::Ignore,
            (Some(dh), false) => KeMode::Payload(dh.group),
            (None, false) => KeMode::NoPayload,
        };
        let sel = p
            .sa()
            .and_then(|sa| proposals::check_answer(sa, ProtocolId::ESP, &req.suites, ke_mode))
            .ok_or(NotifyType::NO_PROPOSAL_CHOSEN)?;
        let spi_out = <[u8; 4]>::try_from(sel.spi.as_slice())
            .map(u32::from_be_bytes)
            .map_err(|_| NotifyType::INVALID_SYNTAX)?;
        let (Some(tsi), Some(tsr)) = (p.ts(Side::Initiator), p.ts(Side::Responder)) else {
            return Err(NotifyType::TS_UNACCEPTABLE);
        };
        if !ts::is_subset(tsi, &req.tsi) || !ts::is_subset(tsr, &req.tsr) {
            return Err(NotifyType::TS_UNACCEPTABLE);
        }
        let shared = match (&req.dh, sel.suite.dh) {
            (Some(dh), Some(_)) => {
                let (g, data) = p.ke().ok_or(NotifyType::INVALID_SYNTAX)?;
                if g.0 != dh.group {
                    return Err(NotifyType::INVALID_SYNTAX);
                }
                Some(dh.shared(data).map_err(|_| NotifyType::INVALID_SYNTAX)?)
            }
            _ => None,
        };
        let core = self.core.as_ref().ok_or(NotifyType::INVALID_SYNTAX)?;
        let prf = core.suite.prf().map_err(|_| NotifyType::INVALID_SYNTAX)?;
        let keys = derive_child_keys(
            prf,
            &core.keys.sk_d,
            shared.as_ref().map(|s| s.as_slice()),
            ni,
            nr,
            &sel.suite,
        )
        .map_err(|_| NotifyType::NO_PROPOSAL_CHOSEN)?;
        let mode = if p.has_notify(NotifyType::USE_TRANSPORT_MODE) {
            Mode::Transport
        } else {
            Mode::Tunnel
        };
        let lt = cfg
            .child(&req.config)
            .map(|c| c.lifetimes)
            .unwrap_or_default();
        let id = self.alloc_child_id();
        self.children.push(ChildSa {
            id,
            config: req.config.clone(),
            state: ChildState::Installed,
            installed: false,
            spi_in: req.spi_in,
            spi_out,
            mode,
            suite: sel.suite,
            keys,
            initiator: true,
            local_ts: tsi.to_vec(),
            remote_ts: tsr.to_vec(),
            lifetimes: lt,
            created_at: ctx.now,
            rekey_at: deadline(ctx.now, jittered(lt.rekey_time, lt.jitter, ctx.rng)),
            expire_at: deadline(ctx.now, lt.life_time),
            replaces: req.rekey,
        });
        Ok(id)
    }

    /// Sends a CREATE_CHILD_SA request for a new child of config `name`, or to rekey `rekey`.
    pub(crate) fn send_create_child(
        &mut self,
        ctx: &mut Ctx,
        name: &str,
        rekey: Option<ChildId>,
    ) -> bool {
        let Some(cfg) = ctx.config(&self.config) else {
            return false;
        };
        let Some(req) = self.child_offer(ctx, &cfg, name, rekey, false) else {
            self.event(Event::ChildFailed {
                config: name.to_string(),
                notify: NotifyType::NO_PROPOSAL_CHOSEN,
            });
            return false;
        };
        self.send_child_request(ctx, req)
    }

    fn send_child_request(&mut self, ctx: &mut Ctx, req: ChildRequest) -> bool {
        let mut p = Vec::new();
        if let Some(old) = req.rekey.and_then(|id| self.child_mut(id)) {
            old.state = ChildState::Rekeying;
            p.push(Payload::notify_with_spi(
                ProtocolId::ESP,
                old.spi_in.to_be_bytes().to_vec(),
                NotifyType::REKEY_SA,
                vec![],
            ));
        }
        p.extend(child_payloads(&req, false));
        self.start_request(
            ctx,
            ExchangeType::CREATE_CHILD_SA,
            p,
            Pending::CreateChild(req),
        )
    }

    /// The peer's CREATE_CHILD_SA request.
    pub(crate) fn on_create_child_request(
        &mut self,
        ctx: &mut Ctx,
        message_id: u32,
        p: &[Payload],
    ) {
        let Some(cfg) = ctx.config(&self.config) else {
            return;
        };
        let answer = |sa: &mut IkeSa, ctx: &mut Ctx, out: &[Payload]| {
            sa.respond(ctx, None, ExchangeType::CREATE_CHILD_SA, message_id, out)
        };
        if p.sa()
            .is_some_and(|sa| sa.iter().any(|x| x.protocol == ProtocolId::IKE))
        {
            return self.on_ike_rekey_request(ctx, &cfg, message_id, p);
        }
        let Some(ni) = p.nonce().map(<[u8]>::to_vec) else {
            return answer(
                self,
                ctx,
                &[Payload::notify(NotifyType::INVALID_SYNTAX, vec![])],
            );
        };
        let rekey = match p.find_notify(NotifyType::REKEY_SA) {
            None => None,
            Some(n) => {
                let spi = <[u8; 4]>::try_from(n.spi).ok().map(u32::from_be_bytes);
                let old = spi.and_then(|s| self.children.iter().find(|c| c.spi_out == s));
                match old.map(|c| (c.id, c.state)) {
                    None => {
                        let n = Payload::notify_with_spi(
                            ProtocolId::ESP,
                            n.spi.to_vec(),
                            NotifyType::CHILD_SA_NOT_FOUND,
                            vec![],
                        );
                        return answer(self, ctx, &[n]);
                    }
                    Some((id, ChildState::Installed | ChildState::Rekeying)) => Some(id),
                    Some(_) => {
                        return answer(
                            self,
                            ctx,
                            &[Payload::notify(NotifyType::TEMPORARY_FAILURE, vec![])],
                        );
                    }
                }
            }
        };
        let nr = random_vec(ctx.rng, NONCE_LEN);
        // The new SA goes into the fast path before the answer goes out: the peer may send
        // on it as soon as the answer arrives.
        match self.negotiate_child(ctx, &cfg, p, &ni, &nr, false, rekey) {
            Err((n, data)) => answer(self, ctx, &[Payload::notify(n, data)]),
            Ok((id, out)) => {
                let Some(old) = rekey else {
                    self.install_child(id);
                    return answer(self, ctx, &out);
                };
                if let Some(c) = self.our_rekey_of(old) {
                    // Both sides rekey the same SA: decided when our answer comes.
                    *c = Some(ChildCollision {
                        peer_child: id,
                        peer_ni: ni,
                        our_nr: nr,
                    });
                    if let Some(ch) = self.child_mut(id) {
                        ch.state = ChildState::Shadow;
                    }
                    return answer(self, ctx, &out);
                }
                if let Some(ch) = self.child_mut(id) {
                    ch.replaces = Some(old);
                }
                self.install_child_for_peer_rekey(id);
                self.retire_child(old);
                answer(self, ctx, &out);
            }
        }
    }

    /// The collision slot of our rekey of `old`, if one is in flight.
    fn our_rekey_of(&mut self, old: ChildId) -> Option<&mut Option<ChildCollision>> {
        match self.core.as_mut()?.outstanding.as_mut()?.pending {
            Pending::CreateChild(ref mut req) if req.rekey == Some(old) => Some(&mut req.collision),
            _ => None,
        }
    }

    /// `old` was replaced: no more rekeys or deletes of ours are queued for it; its delete
    /// (ours or the peer's) removes it.
    fn retire_child(&mut self, old: ChildId) {
        self.tasks.retain(|t| *t != Task::RekeyChild(old));
        if let Some(c) = self.child_mut(old) {
            c.state = ChildState::Rekeyed;
            c.rekey_at = None;
        }
    }

    /// The answer to our CREATE_CHILD_SA request for a CHILD SA.
    pub(crate) fn on_create_child_response(
        &mut self,
        ctx: &mut Ctx,
        req: ChildRequest,
        p: &[Payload],
    ) {
        let Some(cfg) = ctx.config(&self.config) else {
            return;
        };
        if let Some(e) = p.error_notify() {
            let n = e.notify_type;
            if n == NotifyType::INVALID_KE_PAYLOAD && req.ke_retries < 2 {
                let group = crate::message::parse_invalid_ke_data(e.data)
                    .ok()
                    .map(|g| g.0);
                if let Some(g) = group.filter(|g| req.suites.iter().any(|s| s.dh == Some(*g))) {
                    if let Ok(dh) = DhPrivate::generate(g, ctx.rng) {
                        let mut again = req;
                        again.dh = Some(dh);
                        again.ke_retries += 1;
                        again.collision = None;
                        self.send_child_request(ctx, again);
                        return;
                    }
                }
            }
            return self.child_request_failed(ctx, req, n);
        }
        let Some(nr) = p.nonce().map(<[u8]>::to_vec) else {
            return self.child_request_failed(ctx, req, NotifyType::INVALID_SYNTAX);
        };
        let id = match self.finish_child(ctx, &cfg, &req, p, &req.ni, &nr) {
            Ok(id) => id,
            Err(n) => return self.child_request_failed(ctx, req, n),
        };
        let Some(old) = req.rekey else {
            return self.install_child(id);
        };
        match req.collision {
            None => {
                self.install_child(id);
                self.retire_child(old);
                self.tasks.push_front(Task::DeleteChild(old));
            }
            Some(c) => {
                let lost = ours_is_redundant(&req.ni, &nr, &c.peer_ni, &c.our_nr);
                self.event(Event::RekeyCollision {
                    ike: false,
                    we_won: !lost,
                });
                if lost {
                    // Ours is redundant: we delete it; the peer deletes the old one.
                    if let Some(ch) = self.child_mut(id) {
                        ch.state = ChildState::Shadow;
                        ch.replaces = None;
                    }
                    if let Some(ch) = self.child_mut(c.peer_child) {
                        ch.replaces = Some(old);
                    }
                    self.install_child(c.peer_child);
                    self.retire_child(old);
                    self.tasks.push_front(Task::DeleteChild(id));
                } else {
                    // The peer's is redundant and the peer deletes it; we delete the old one.
                    self.install_child(id);
                    if let Some(ch) = self.child_mut(c.peer_child) {
                        ch.state = ChildState::Shadow;
                    }
                    self.retire_child(old);
                    self.tasks.push_front(Task::DeleteChild(old));
                }
            }
        }
    }

    pub(crate) fn child_request_failed(&mut self, ctx: &mut Ctx, req: ChildRequest, n: NotifyType) {
        self.event(Event::ChildFailed {
            config: req.config.clone(),
            notify: n,
        });
        if let Some(old) = req.rekey {
            if let Some(c) = req.collision {
                // Only the peer's rekey went through: it replaces the old SA.
                if let Some(ch) = self.child_mut(c.peer_child) {
                    ch.replaces = Some(old);
                }
                self.install_child(c.peer_child);
                self.retire_child(old);
            } else if let Some(ch) = self.child_mut(old) {
                // Try again later (or let the hard lifetime end it).
                ch.state = ChildState::Installed;
                ch.rekey_at = Some(ctx.now + std::time::Duration::from_secs(30));
            }
        }
    }
}
