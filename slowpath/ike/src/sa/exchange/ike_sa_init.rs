//! IKE_SA_INIT (RFC 7296 1.2): proposals, key exchange, nonces, NAT detection, and the
//! retries a responder may ask for (COOKIE, INVALID_KE_PAYLOAD).

use std::net::SocketAddr;

use crate::action::{DownReason, DropReason, Event};
use crate::config::{AuthConfig, IkeConfig};
use crate::crypto::auth::scheme::OUR_HASH_ALGORITHMS;
use crate::crypto::keys::derive_ike_keys;
use crate::crypto::proposal::{KeMode, Selected};
use crate::message::{
    parse_invalid_ke_data, signature_hash_algorithms_data, CertEncoding, DhGroup, ExchangeType,
    Flags, HashAlgorithm, Header, Message, NotifyType, Payload, Payloads, ProtocolId,
    MAX_COOKIE_LEN,
};
use crate::retransmit::Retransmit;
use crate::rng::random_vec;
use crate::sa::core::SaCore;
use crate::sa::ctx::Ctx;
use crate::sa::dh::DhPrivate;
use crate::sa::exchange::init_data::InitExchange;
use crate::sa::ike_sa::{IkeSa, IkeState};
use crate::sa::{nat, proposals};

/// Our nonce size: at least half the PRF key size of every PRF we have (RFC 7296 2.10).
pub const NONCE_LEN: usize = 32;
/// COOKIE and INVALID_KE_PAYLOAD retries before giving up.
const MAX_INIT_RETRIES: u8 = 4;

/// SIGNATURE_HASH_ALGORITHMS (RFC 7427 4) data.
fn hash_algorithms_notify() -> Payload {
    let algs: Vec<HashAlgorithm> = OUR_HASH_ALGORITHMS
        .iter()
        .map(|h| HashAlgorithm(*h))
        .collect();
    Payload::notify(
        NotifyType::SIGNATURE_HASH_ALGORITHMS,
        signature_hash_algorithms_data(&algs),
    )
}

/// A CERTREQ naming our trust anchors by the SHA-1 of their public keys (RFC 7296 3.7).
pub(crate) fn cert_request(cfg: &IkeConfig) -> Option<Payload> {
    let AuthConfig::PubKey(pk) = &cfg.auth else {
        return None;
    };
    let mut data = Vec::new();
    for ca in &pk.trust_anchors {
        let der = ca.public_key().ok()?.public_key_to_der().ok()?;
        data.extend_from_slice(&openssl::sha::sha1(&der));
    }
    Some(Payload::CertReq {
        encoding: CertEncoding::X509_SIGNATURE,
        data,
    })
}

fn peer_hash_algorithms(p: &[Payload]) -> Vec<u16> {
    p.find_notify(NotifyType::SIGNATURE_HASH_ALGORITHMS)
        .and_then(|n| crate::message::parse_signature_hash_algorithms(n.data).ok())
        .map(|v| v.into_iter().map(|h| h.0).collect())
        .unwrap_or_default()
}

impl IkeSa {
    /// Starts (or restarts) as initiator: fresh SPI, nonce and key exchange.
    pub(crate) fn start_initiator(&mut self, ctx: &mut Ctx) {
        let Some(cfg) = ctx.config(&self.config) else {
            return self.close(ctx, DownReason::LocalError);
        };
        let Some(group) = cfg.ike_proposals.iter().find_map(|s| s.dh) else {
            return self.close(ctx, DownReason::LocalError);
        };
        let Ok(dh) = DhPrivate::generate(group, ctx.rng) else {
            return self.close(ctx, DownReason::LocalError);
        };
        self.init = Some(InitExchange {
            spi_i: ctx.ike_spi(),
            spi_r: 0,
            ni: random_vec(ctx.rng, NONCE_LEN),
            nr: Vec::new(),
            dh: Some(dh),
            cookie: None,
            request: Vec::new(),
            response: Vec::new(),
            retransmit: None,
            retries: 0,
        });
        self.state = IkeState::SaInitSent;
        self.nat.forced = cfg.force_encap;
        if self.first_child.is_none() && !cfg.children.is_empty() {
            let mut starting = cfg
                .children
                .iter()
                .filter(|c| c.start_action == crate::config::StartAction::Start);
            let first = starting.next().unwrap_or(&cfg.children[0]);
            self.first_child = Some(first.name.clone());
            for c in starting {
                self.tasks.push_back(super::Task::CreateChild {
                    config: c.name.clone(),
                });
            }
        }
        self.send_init_request(ctx, &cfg);
    }

    fn send_init_request(&mut self, ctx: &mut Ctx, cfg: &IkeConfig) {
        let fake = cfg.force_encap.then(|| random_vec(ctx.rng, 20));
        let (local, remote) = (self.local, self.remote);
        let Some(init) = self.init.as_mut() else {
            return;
        };
        let Some(dh) = &init.dh else { return };
        let mut p = Vec::new();
        if let Some(c) = &init.cookie {
            // "MUST be the first payload" of the retried request (2.6).
            p.push(Payload::notify(NotifyType::COOKIE, c.clone()));
        }
        p.push(Payload::Sa(proposals::offer(
            ProtocolId::IKE,
            &[],
            &cfg.ike_proposals,
            true,
        )));
        p.push(Payload::Ke {
            group: DhGroup(dh.group),
            data: dh.public.clone(),
        });
        p.push(Payload::Nonce(init.ni.clone()));
        p.extend(nat::notifies(init.spi_i, 0, local, remote, fake));
        if cfg.fragment_size.is_some() {
            p.push(Payload::notify(
                NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
                vec![],
            ));
        }
        p.push(hash_algorithms_notify());
        let header = Header::new(
            init.spi_i,
            0,
            ExchangeType::IKE_SA_INIT,
            Flags {
                initiator: true,
                ..Flags::default()
            },
            0,
        );
        let Ok(bytes) = Message::new(header, p).emit() else {
            return self.close(ctx, DownReason::LocalError);
        };
        init.request = bytes.clone();
        init.retransmit = Some(Retransmit::new(
            vec![bytes.clone()],
            ctx.now,
            &cfg.retransmit,
        ));
        self.send(&[bytes]);
    }

    /// An IKE_SA_INIT message for this SA: our request's answer, or (responder) the peer's
    /// request again.
    pub(crate) fn on_ike_sa_init(
        &mut self,
        ctx: &mut Ctx,
        local: SocketAddr,
        remote: SocketAddr,
        raw: &[u8],
        msg: &Message,
    ) {
        let h = msg.header;
        match (self.state, h.is_response()) {
            (IkeState::SaInitSent, true) if h.message_id == 0 => {
                self.on_init_response(ctx, local, remote, raw, msg)
            }
            (IkeState::HalfOpen, false) => {
                let same = self.init.as_ref().is_some_and(|i| i.request == raw);
                if same {
                    let resp = self.init.as_ref().map(|i| i.response.clone());
                    self.counters.requests_answered_from_cache += 1;
                    self.send(&resp.into_iter().collect::<Vec<_>>());
                } else {
                    self.dropped(DropReason::OldRequest);
                }
            }
            _ => self.dropped(DropReason::WrongState),
        }
    }

    fn on_init_response(
        &mut self,
        ctx: &mut Ctx,
        local: SocketAddr,
        remote: SocketAddr,
        raw: &[u8],
        msg: &Message,
    ) {
        let Some(cfg) = ctx.config(&self.config) else {
            return self.close(ctx, DownReason::LocalError);
        };
        let p = msg.payloads.as_slice();
        let Some(init) = self.init.as_mut() else {
            return;
        };
        if msg.header.spi_i != init.spi_i || msg.header.flags.initiator {
            return self.dropped(DropReason::BadFlags);
        }
        if let Some(c) = p.find_notify(NotifyType::COOKIE) {
            if init.retries >= MAX_INIT_RETRIES
                || c.data.is_empty()
                || c.data.len() > MAX_COOKIE_LEN
            {
                return self.dropped(DropReason::BadCookie);
            }
            init.retries += 1;
            init.cookie = Some(c.data.to_vec());
            self.event(Event::CookieRequested);
            return self.send_init_request(ctx, &cfg);
        }
        if let Some(n) = p.find_notify(NotifyType::INVALID_KE_PAYLOAD) {
            let group = parse_invalid_ke_data(n.data).map(|g| g.0).ok();
            let offered = group.filter(|g| cfg.ike_proposals.iter().any(|s| s.dh == Some(*g)));
            let current = init.dh.as_ref().map(|d| d.group);
            match offered {
                Some(g) if Some(g) != current && init.retries < MAX_INIT_RETRIES => {
                    let Ok(dh) = DhPrivate::generate(g, ctx.rng) else {
                        return self.close(ctx, DownReason::LocalError);
                    };
                    init.retries += 1;
                    init.dh = Some(dh);
                    self.event(Event::InvalidKeRetry { group: g });
                    return self.send_init_request(ctx, &cfg);
                }
                _ => return self.close(ctx, DownReason::PeerError(NotifyType::INVALID_KE_PAYLOAD)),
            }
        }
        if let Some(e) = p.error_notify() {
            let reason = match e.notify_type {
                NotifyType::NO_PROPOSAL_CHOSEN => DownReason::NoProposalChosen,
                t => DownReason::PeerError(t),
            };
            self.event(Event::PeerNotify(e.notify_type));
            return self.close(ctx, reason);
        }
        // Anything wrong from here may be a forgery: drop it and wait for the real answer.
        let Some(dh) = init.dh.clone() else { return };
        let spi_r = msg.header.spi_r;
        let sel = p.sa().and_then(|sa| {
            proposals::check_answer(
                sa,
                ProtocolId::IKE,
                &cfg.ike_proposals,
                KeMode::Payload(dh.group),
            )
        });
        let (Some(sel), Some((group, ke)), Some(nr)) = (sel, p.ke(), p.nonce()) else {
            return self.dropped(DropReason::Malformed);
        };
        if spi_r == 0 || group.0 != dh.group {
            return self.dropped(DropReason::Malformed);
        }
        let keys = dh.shared(ke).ok().and_then(|g_ir| {
            derive_ike_keys(
                &sel.suite,
                &init.ni,
                nr,
                &g_ir,
                init.spi_i.to_be_bytes(),
                spi_r.to_be_bytes(),
            )
            .ok()
        });
        let Some(keys) = keys else {
            return self.dropped(DropReason::Malformed);
        };
        init.spi_r = spi_r;
        init.nr = nr.to_vec();
        init.response = raw.to_vec();
        init.retransmit = None;
        init.dh = None;
        let core = SaCore {
            spi_i: init.spi_i,
            spi_r,
            initiator: true,
            suite: sel.suite,
            keys,
            ni: init.ni.clone(),
            nr: nr.to_vec(),
            seal_counter: 0,
            next_request: 1,
            outstanding: None,
            peer_next_request: 0,
            last_response: None,
        };
        if let Some(found) = nat::detect(p, core.spi_i, spi_r, local, remote) {
            self.nat.local_behind_nat = found.local_behind_nat;
            self.nat.remote_behind_nat = found.remote_behind_nat;
            if found.any() {
                self.event(Event::NatDetected {
                    local_behind_nat: found.local_behind_nat,
                    remote_behind_nat: found.remote_behind_nat,
                });
            }
        }
        self.peer_fragmentation =
            cfg.fragment_size.is_some() && p.has_notify(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED);
        self.peer_hash_algorithms = peer_hash_algorithms(p);
        self.core = Some(core);
        self.float_if_nat();
        self.send_auth_request(ctx);
    }

    /// A responder's new SA from an IKE_SA_INIT request that passed the stateless checks
    /// (`Responder`): answers it and waits for IKE_AUTH. `None` if the key exchange fails.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new_responder(
        id: u64,
        ctx: &mut Ctx,
        cfg: &IkeConfig,
        local: SocketAddr,
        remote: SocketAddr,
        raw: &[u8],
        msg: &Message,
        sel: &Selected,
    ) -> Option<IkeSa> {
        let p = msg.payloads.as_slice();
        let (group, ke) = p.ke()?;
        let ni = p.nonce()?.to_vec();
        let spi_i = msg.header.spi_i;
        let dh = DhPrivate::generate(group.0, ctx.rng).ok()?;
        let g_ir = dh.shared(ke).ok()?;
        let nr = random_vec(ctx.rng, NONCE_LEN);
        let spi_r = ctx.ike_spi();
        let keys = derive_ike_keys(
            &sel.suite,
            &ni,
            &nr,
            &g_ir,
            spi_i.to_be_bytes(),
            spi_r.to_be_bytes(),
        )
        .ok()?;
        let mut sa = IkeSa::blank(id, &cfg.name, local, remote, ctx.now);
        sa.nat.forced = cfg.force_encap;
        if let Some(found) = nat::detect(p, spi_i, 0, local, remote) {
            sa.nat.local_behind_nat = found.local_behind_nat;
            sa.nat.remote_behind_nat = found.remote_behind_nat;
        }
        let peer_nat_t = p.has_notify(NotifyType::NAT_DETECTION_SOURCE_IP);
        sa.peer_fragmentation =
            cfg.fragment_size.is_some() && p.has_notify(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED);
        sa.peer_hash_algorithms = peer_hash_algorithms(p);
        let mut out = vec![
            Payload::Sa(vec![proposals::accepted(sel, ProtocolId::IKE, &[])]),
            Payload::Ke {
                group,
                data: dh.public.clone(),
            },
            Payload::Nonce(nr.clone()),
        ];
        if peer_nat_t {
            let fake = cfg.force_encap.then(|| random_vec(ctx.rng, 20));
            out.extend(nat::notifies(spi_i, spi_r, local, remote, fake));
        }
        if sa.peer_fragmentation {
            out.push(Payload::notify(
                NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
                vec![],
            ));
        }
        out.push(hash_algorithms_notify());
        out.extend(cert_request(cfg));
        let header = Header::new(
            spi_i,
            spi_r,
            ExchangeType::IKE_SA_INIT,
            Flags {
                initiator: false,
                version: false,
                response: true,
            },
            0,
        );
        let bytes = Message::new(header, out).emit().ok()?;
        sa.init = Some(InitExchange {
            spi_i,
            spi_r,
            ni: ni.clone(),
            nr: nr.clone(),
            dh: None,
            cookie: None,
            request: raw.to_vec(),
            response: bytes.clone(),
            retransmit: None,
            retries: 0,
        });
        sa.core = Some(SaCore {
            spi_i,
            spi_r,
            initiator: false,
            suite: sel.suite,
            keys,
            ni,
            nr,
            seal_counter: 0,
            next_request: 0,
            outstanding: None,
            peer_next_request: 1,
            // IKE_SA_INIT retransmissions are answered from `init.response`.
            last_response: None,
        });
        sa.state = IkeState::HalfOpen;
        sa.half_open_expire = Some(ctx.now + ctx.half_open_timeout);
        sa.send(&[bytes]);
        Some(sa)
    }
}
