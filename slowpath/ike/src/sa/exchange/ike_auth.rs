//! IKE_AUTH (RFC 7296 1.2, 2.15): identities and AUTH both ways, the first CHILD SA, and
//! (RFC 7296 2.19) a virtual IP through the configuration payload.

use std::net::{IpAddr, Ipv4Addr};

use crate::action::{DownReason, Event};
use crate::config::{IkeConfig, Mode};
use crate::crypto::auth::signed_octets;
use crate::message::{
    rest_of_id_payload, CfgType, CpAttrType, CpAttribute, ExchangeType, IdType, NotifyType,
    Payload, Payloads, ProtocolId, Side, TrafficSelector,
};
use crate::sa::auth::{our_auth, verify_peer};
use crate::sa::core::{ChildRequest, InfoRequest, Pending};
use crate::sa::ctx::Ctx;
use crate::sa::ike_sa::{IkeSa, IkeState};
use crate::sa::proposals;
use crate::timers::{deadline, jittered};

/// The selector of one address.
pub(crate) fn host_ts(addr: IpAddr) -> TrafficSelector {
    TrafficSelector::new(0, (0, 0xffff), addr, addr)
}

impl IkeSa {
    /// Whether another IKE SA of ours, up or being authenticated, is with the same peer
    /// address under the same local identity. INITIAL_CONTACT says that this IKE SA is the
    /// only one between the two identities (RFC 7296 2.4): sent beside another one, it has
    /// the peer drop that other one (strongSwan destroys it without a delete, so our side
    /// would keep it and its CHILD SAs, unanswered).
    fn peer_has_another(&self, ctx: &Ctx, cfg: &IkeConfig) -> bool {
        ctx.others_with_peer(self.remote.ip()).any(|s| {
            s.id != self.id
                && matches!(s.state, IkeState::AuthSent | IkeState::Established)
                && (s.config == cfg.name
                    || ctx
                        .config(&s.config)
                        .is_some_and(|c| c.local_id == cfg.local_id))
        })
    }

    /// The initiator's IKE_AUTH request, right after IKE_SA_INIT.
    pub(crate) fn send_auth_request(&mut self, ctx: &mut Ctx) {
        let (Some(cfg), Some(core), Some(init)) =
            (ctx.config(&self.config), &self.core, &self.init)
        else {
            return self.close(ctx, DownReason::LocalError);
        };
        let Ok(prf) = core.suite.prf() else {
            return self.close(ctx, DownReason::LocalError);
        };
        let idi = cfg.local_id.payload_body();
        let auth = signed_octets(prf, &init.request, &init.nr, &core.keys.sk_pi, &idi)
            .ok()
            .and_then(|octets| our_auth(&cfg, prf, &octets, &self.peer_hash_algorithms));
        let Some((certs, auth)) = auth else {
            return self.close(ctx, DownReason::LocalError);
        };
        let mut p = vec![Payload::Id {
            kind: Side::Initiator,
            id_type: cfg.local_id.id_type,
            data: cfg.local_id.data.clone(),
        }];
        p.extend(certs);
        p.extend(super::ike_sa_init::cert_request(&cfg));
        if let Some(r) = &cfg.remote_id {
            p.push(Payload::Id {
                kind: Side::Responder,
                id_type: r.id_type,
                data: r.data.clone(),
            });
        }
        p.push(auth);
        if cfg.initial_contact && !self.peer_has_another(ctx, &cfg) {
            p.push(Payload::notify(NotifyType::INITIAL_CONTACT, vec![]));
        }
        p.extend(super::message_id_sync::support_notify(ctx));
        let vip_requested = cfg.virtual_ip.request;
        if vip_requested {
            p.push(Payload::Cp {
                cfg_type: CfgType::CFG_REQUEST,
                attributes: vec![
                    CpAttribute::request(CpAttrType::INTERNAL_IP4_ADDRESS),
                    CpAttribute::request(CpAttrType::INTERNAL_IP4_DNS),
                ],
            });
        }
        let child = self
            .first_child
            .clone()
            .and_then(|name| self.child_offer(ctx, &cfg, &name, None, true));
        if let Some(req) = &child {
            p.extend(child_payloads(req, true));
        }
        self.state = IkeState::AuthSent;
        self.start_request(
            ctx,
            ExchangeType::IKE_AUTH,
            p,
            Pending::IkeAuth {
                child,
                vip_requested,
            },
        );
    }

    /// What we propose for a CHILD SA of config `name` (a rekey of `rekey` keeps its
    /// selectors). `in_auth`: no key exchange, the IKE nonces are used.
    pub(crate) fn child_offer(
        &mut self,
        ctx: &mut Ctx,
        cfg: &IkeConfig,
        name: &str,
        rekey: Option<u32>,
        in_auth: bool,
    ) -> Option<ChildRequest> {
        let child = cfg.child(name)?;
        let suites = cfg.child_suites(child);
        let group = if in_auth {
            None
        } else {
            suites.first().and_then(|s| s.dh)
        };
        let dh = match group {
            Some(g) => Some(super::super::dh::DhPrivate::generate(g, ctx.rng).ok()?),
            None => None,
        };
        let (tsi, tsr) = match rekey.and_then(|id| self.child(id)) {
            Some(old) => (old.local_ts.clone(), old.remote_ts.clone()),
            None => {
                let tsi = match self.virtual_ip {
                    Some(v) => vec![host_ts(v)],
                    // Until the responder gives us an address, any of ours.
                    None if cfg.virtual_ip.request => vec![TrafficSelector::any(false)],
                    None => child.local_ts.clone(),
                };
                (tsi, child.remote_ts.clone())
            }
        };
        Some(ChildRequest {
            config: name.to_string(),
            spi_in: ctx.esp_spi(),
            ni: if in_auth {
                Vec::new()
            } else {
                crate::rng::random_vec(ctx.rng, super::ike_sa_init::NONCE_LEN)
            },
            dh,
            rekey,
            mode: child.mode,
            tsi,
            tsr,
            suites,
            collision: None,
            ke_retries: 0,
        })
    }

    /// The responder's side of IKE_AUTH.
    pub(crate) fn on_auth_request(&mut self, ctx: &mut Ctx, message_id: u32, p: &[Payload]) {
        let fail = |sa: &mut IkeSa, ctx: &mut Ctx| {
            let n = [Payload::notify(NotifyType::AUTHENTICATION_FAILED, vec![])];
            sa.respond(ctx, None, ExchangeType::IKE_AUTH, message_id, &n);
            sa.close(ctx, DownReason::AuthenticationFailed);
        };
        let (Some(core), Some(init)) = (self.core.clone(), self.init.clone()) else {
            return;
        };
        let (Some((idi_type, idi)), Ok(prf)) = (p.id(Side::Initiator), core.suite.prf()) else {
            return fail(self, ctx);
        };
        let Some(cfg) = self.select_responder_config(ctx, (idi_type, idi), p.id(Side::Responder))
        else {
            return fail(self, ctx);
        };
        let idi_body = rest_of_id_payload(idi_type, idi);
        let ok = signed_octets(prf, &init.request, &init.nr, &core.keys.sk_pi, &idi_body)
            .is_ok_and(|o| verify_peer(&cfg, prf, &o, p, (idi_type, idi), ctx.unix_time));
        if !ok {
            return fail(self, ctx);
        }
        self.config = cfg.name.clone();
        self.remote_identity = Some(crate::config::Identity {
            id_type: idi_type,
            data: idi.to_vec(),
        });
        let idr = cfg.local_id.payload_body();
        let auth = signed_octets(prf, &init.response, &init.ni, &core.keys.sk_pr, &idr)
            .ok()
            .and_then(|o| our_auth(&cfg, prf, &o, &self.peer_hash_algorithms));
        let Some((certs, auth)) = auth else {
            return fail(self, ctx);
        };
        let mut out = vec![Payload::Id {
            kind: Side::Responder,
            id_type: cfg.local_id.id_type,
            data: cfg.local_id.data.clone(),
        }];
        out.extend(certs);
        out.push(auth);
        self.note_peer_mid_sync(p);
        out.extend(super::message_id_sync::support_notify(ctx));
        let mut vip_failed = false;
        if let Some((CfgType::CFG_REQUEST, attrs)) = p.cp() {
            match self.lease_vip(ctx, &cfg, attrs) {
                Some(reply) => out.push(reply),
                None => {
                    vip_failed = attrs
                        .iter()
                        .any(|a| a.attr_type == CpAttrType::INTERNAL_IP4_ADDRESS)
                }
            }
        }
        let mut child = None;
        if p.sa().is_some() {
            if vip_failed {
                out.push(Payload::notify(
                    NotifyType::INTERNAL_ADDRESS_FAILURE,
                    vec![],
                ));
            } else {
                match self.negotiate_child(ctx, &cfg, p, &init.ni, &init.nr, true, None) {
                    Ok((id, payloads)) => {
                        child = Some(id);
                        out.extend(payloads);
                    }
                    Err((n, data)) => {
                        let name = cfg
                            .children
                            .first()
                            .map(|c| c.name.clone())
                            .unwrap_or_default();
                        self.event(Event::ChildFailed {
                            config: name,
                            notify: n,
                        });
                        out.push(Payload::notify(n, data));
                    }
                }
            }
        }
        self.initial_contact = p.has_notify(NotifyType::INITIAL_CONTACT);
        // Up, and the CHILD SA in the fast path, before the answer goes out: the initiator
        // may send on it as soon as the answer arrives.
        self.established(ctx, &cfg);
        if let Some(id) = child {
            self.install_child(id);
        }
        self.respond(ctx, None, ExchangeType::IKE_AUTH, message_id, &out);
    }

    /// The connection for the identities of IKE_AUTH: one whose addresses fit, whose remote
    /// identity is the peer's (or any), and whose local one is what the peer asked for.
    fn select_responder_config(
        &self,
        ctx: &Ctx,
        idi: (IdType, &[u8]),
        idr: Option<(IdType, &[u8])>,
    ) -> Option<std::sync::Arc<IkeConfig>> {
        let fits = |c: &IkeConfig| {
            c.matches_addresses(self.local, self.remote)
                && c.remote_id.as_ref().is_none_or(|r| r.matches(idi.0, idi.1))
                && idr.is_none_or(|(t, d)| c.local_id.matches(t, d))
        };
        let current = ctx.config(&self.config).filter(|c| fits(c));
        current.or_else(|| ctx.configs.iter().find(|c| fits(c)).cloned())
    }

    /// Leases an address for a CFG_REQUEST; the CFG_REPLY, or `None` if none was asked for or
    /// none is free.
    fn lease_vip(
        &mut self,
        ctx: &mut Ctx,
        cfg: &IkeConfig,
        attrs: &[CpAttribute],
    ) -> Option<Payload> {
        if !attrs
            .iter()
            .any(|a| a.attr_type == CpAttrType::INTERNAL_IP4_ADDRESS)
        {
            return None;
        }
        let pool_name = cfg.virtual_ip.pool.clone()?;
        let identity = self.remote_identity.clone()?;
        let pool = ctx.pools.get_mut(&pool_name)?;
        let addr = pool.acquire(&identity, self.id)?;
        self.virtual_ip = Some(IpAddr::V4(addr));
        self.vip_pool = Some(pool_name);
        Some(Payload::Cp {
            cfg_type: CfgType::CFG_REPLY,
            attributes: pool.reply_attributes(addr),
        })
    }

    /// The initiator's side: the answer to IKE_AUTH.
    pub(crate) fn on_auth_response(&mut self, ctx: &mut Ctx, pending: Pending, p: &[Payload]) {
        let Pending::IkeAuth { child, .. } = pending else {
            return;
        };
        let (Some(cfg), Some(core), Some(init)) = (
            ctx.config(&self.config),
            self.core.clone(),
            self.init.clone(),
        ) else {
            return self.close(ctx, DownReason::LocalError);
        };
        if p.auth().is_none() {
            let reason = match p.error_notify().map(|n| n.notify_type) {
                Some(NotifyType::AUTHENTICATION_FAILED) | None => DownReason::AuthenticationFailed,
                Some(t) => DownReason::PeerError(t),
            };
            return self.close(ctx, reason);
        }
        let (Some((idr_type, idr)), Ok(prf)) = (p.id(Side::Responder), core.suite.prf()) else {
            return self.close(ctx, DownReason::AuthenticationFailed);
        };
        let id_ok = cfg
            .remote_id
            .as_ref()
            .is_none_or(|r| r.matches(idr_type, idr));
        let idr_body = rest_of_id_payload(idr_type, idr);
        let ok = id_ok
            && signed_octets(prf, &init.response, &init.ni, &core.keys.sk_pr, &idr_body)
                .is_ok_and(|o| verify_peer(&cfg, prf, &o, p, (idr_type, idr), ctx.unix_time));
        if !ok {
            // RFC 7296 2.21.2: tell the responder, which considers the SA up, and go.
            let p = vec![
                Payload::notify(NotifyType::AUTHENTICATION_FAILED, vec![]),
                super::ike_rekey::delete_ike(),
            ];
            self.start_request(
                ctx,
                ExchangeType::INFORMATIONAL,
                p,
                Pending::Informational(InfoRequest::DeleteIke),
            );
            return self.close(ctx, DownReason::AuthenticationFailed);
        }
        self.remote_identity = Some(crate::config::Identity {
            id_type: idr_type,
            data: idr.to_vec(),
        });
        self.note_peer_mid_sync(p);
        if let Some((CfgType::CFG_REPLY, attrs)) = p.cp() {
            self.virtual_ip = attrs
                .iter()
                .find(|a| a.attr_type == CpAttrType::INTERNAL_IP4_ADDRESS)
                .and_then(CpAttribute::as_ipv4)
                .filter(|a| *a != Ipv4Addr::UNSPECIFIED)
                .map(IpAddr::V4);
        }
        self.established(ctx, &cfg);
        if let Some(req) = child {
            match p.error_notify() {
                Some(n) => self.event(Event::ChildFailed {
                    config: req.config.clone(),
                    notify: n.notify_type,
                }),
                None => match self.finish_child(ctx, &cfg, &req, p, &init.ni, &init.nr) {
                    Ok(id) => self.install_child(id),
                    Err(n) => self.event(Event::ChildFailed {
                        config: req.config.clone(),
                        notify: n,
                    }),
                },
            }
        }
    }

    /// Both sides, once IKE_AUTH is over.
    fn established(&mut self, ctx: &mut Ctx, cfg: &IkeConfig) {
        self.state = IkeState::Established;
        self.established_at = Some(ctx.now);
        self.half_open_expire = None;
        self.init = None;
        self.rekey_at = deadline(ctx.now, jittered(cfg.rekey_time, cfg.rekey_jitter, ctx.rng));
        self.keepalive_at = self
            .nat
            .local_behind_nat
            .then(|| ctx.now + crate::sa::ike_sa::KEEPALIVE_INTERVAL);
        self.ike_sa_up();
    }
}

/// SA, TSi, TSr (and the mode notify) of a CHILD SA request; for CREATE_CHILD_SA the nonce
/// and KE follow the SA payload.
pub(crate) fn child_payloads(req: &ChildRequest, in_auth: bool) -> Vec<Payload> {
    let mut p = Vec::new();
    if req.mode == Mode::Transport {
        p.push(Payload::notify(NotifyType::USE_TRANSPORT_MODE, vec![]));
    }
    p.push(Payload::notify(
        NotifyType::ESP_TFC_PADDING_NOT_SUPPORTED,
        vec![],
    ));
    p.push(Payload::Sa(proposals::offer(
        ProtocolId::ESP,
        &req.spi_in.to_be_bytes(),
        &req.suites,
        !in_auth,
    )));
    if !in_auth {
        p.push(Payload::Nonce(req.ni.clone()));
        if let Some(dh) = &req.dh {
            p.push(Payload::Ke {
                group: crate::message::DhGroup(dh.group),
                data: dh.public.clone(),
            });
        }
    }
    p.push(Payload::Ts {
        kind: Side::Initiator,
        selectors: req.tsi.clone(),
        unknown: vec![],
    });
    p.push(Payload::Ts {
        kind: Side::Responder,
        selectors: req.tsr.clone(),
        unknown: vec![],
    });
    p
}
