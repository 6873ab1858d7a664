//! What Main Mode and Aggressive Mode share (RFC 2409 5): the phase 1 proposal made of the
//! connection's IKE proposals, the choice of one, the KE and nonce payloads, the keys, the
//! identity and proof payloads and their check (by `auth`), NAT detection (RFC 3947 NAT-D) and the float
//! to port 4500, and what becomes of an SA once it is up.

use std::net::SocketAddr;
use std::time::Duration;

use super::auth::{self, Phase1Proof};
use super::crypt::{self, PayloadCipher};
use super::isakmp_sa::{IsakmpSa, Phase1State, Phase1Suite, V1Ctx};
use super::keymat::{self, Phase1Transcript};
use super::wire::{
    self, doi, notify_type, payload_type, protocol, Header, Notification, Payload, Phase1Transform,
    Proposal, SaPayload, KEY_IKE,
};
use super::{natt, vendor};
use crate::action::{Action, DropReason};
use crate::config::IkeConfig;
use crate::crypto::dh::KeyExchange;
use crate::crypto::transform::{self as t, Suite};
use crate::sa::ike_sa::NATT_PORT;

/// The ISAKMP SA's lifetime as we offer it.
pub fn lifetime(config: &IkeConfig) -> Duration {
    config
        .v1()
        .and_then(|v| v.phase1.first())
        .and_then(|t| t.life_seconds)
        .map_or(super::config::DEFAULT_PHASE1_LIFE, |s| {
            Duration::from_secs(u64::from(s))
        })
}

/// The connection's phase 1 transforms, preferred first.
pub fn our_transforms(config: &IkeConfig) -> Vec<Phase1Transform> {
    config.v1().map(|v| v.phase1.clone()).unwrap_or_default()
}

/// Our SA payload: one ISAKMP proposal with a transform per IKE proposal.
pub fn offer(config: &IkeConfig) -> SaPayload {
    let transforms = our_transforms(config)
        .iter()
        .enumerate()
        .map(|(i, tr)| tr.to_transform(i as u8 + 1))
        .collect();
    SaPayload {
        doi: doi::IPSEC,
        situation: doi::SIT_IDENTITY_ONLY,
        proposals: vec![Proposal {
            number: 1,
            protocol: protocol::ISAKMP,
            spi: Vec::new(),
            transforms,
        }],
    }
}

/// Whether two phase 1 transforms name the same algorithms (lifetimes aside; AES without a
/// key length is AES-128).
fn same_algorithms(a: &Phase1Transform, b: &Phase1Transform) -> bool {
    let bits = |x: &Phase1Transform| x.key_bits.unwrap_or(128);
    a.encryption == b.encryption
        && bits(a) == bits(b)
        && a.hash == b.hash
        && a.auth_method == b.auth_method
        && a.group == b.group
}

impl Phase1Suite {
    /// What the keys need of a negotiated transform; `None` for what we do not speak.
    pub fn of(transform: &Phase1Transform) -> Option<Phase1Suite> {
        let prf = keymat::prf_for_hash(transform.hash).ok()?;
        let cipher = PayloadCipher::from_phase1(transform.encryption, transform.key_bits).ok()?;
        let encr = match cipher {
            PayloadCipher::TripleDesCbc => 3,
            _ => t::ENCR_AES_CBC,
        };
        Some(Phase1Suite {
            transform: transform.clone(),
            prf,
            cipher,
            suite: Suite {
                encr,
                encr_key_bits: cipher.key_len() as u16 * 8,
                integ: None,
                prf: Some(prf.id()),
                dh: Some(transform.group),
                esn: None,
            },
        })
    }
}

/// Responder: the first of the peer's transforms that we offer too, as our answer's SA
/// payload (that transform alone, with the peer's numbers), and its suite.
pub fn select(config: &IkeConfig, offered: &SaPayload) -> Option<(SaPayload, Phase1Suite)> {
    if offered.doi != doi::IPSEC {
        return None;
    }
    let ours = our_transforms(config);
    let p = offered
        .proposals
        .iter()
        .find(|p| p.protocol == protocol::ISAKMP)?;
    for tr in p.transforms.iter().filter(|tr| tr.id == KEY_IKE) {
        let Ok(theirs) = Phase1Transform::from_transform(tr) else {
            continue;
        };
        if !ours.iter().any(|o| same_algorithms(o, &theirs)) {
            continue;
        }
        let Some(suite) = Phase1Suite::of(&theirs) else {
            continue;
        };
        let chosen = SaPayload {
            proposals: vec![Proposal {
                transforms: vec![tr.clone()],
                ..p.clone()
            }],
            ..offered.clone()
        };
        return Some((chosen, suite));
    }
    None
}

/// Initiator: the responder's choice, if it is one of our transforms.
pub fn accept_choice(config: &IkeConfig, chosen: &SaPayload) -> Option<Phase1Suite> {
    let tr = chosen.proposals.first()?.transforms.first()?;
    let theirs = Phase1Transform::from_transform(tr).ok()?;
    our_transforms(config)
        .iter()
        .any(|o| same_algorithms(o, &theirs))
        .then(|| Phase1Suite::of(&theirs))
        .flatten()
}

/// The vendor IDs we send in our first message: RFC 3947 NAT-T and RFC 3706 DPD.
pub fn our_vendor_ids() -> Vec<Payload> {
    [vendor::NATT_RFC3947, vendor::DPD]
        .into_iter()
        .map(|v| Payload::VendorId(v.to_vec()))
        .collect()
}

/// Whether the peer's vendor IDs say it speaks RFC 3947.
pub fn peer_speaks_natt(payloads: &[Payload]) -> bool {
    payloads
        .iter()
        .any(|p| matches!(p, Payload::VendorId(v) if v[..] == vendor::NATT_RFC3947))
}

/// Our KE, nonce and (when the peer speaks NAT-T) NAT-D payloads; the D-H private value and
/// what we sent are kept.
pub fn ke_nonce_payloads(
    sa: &mut IsakmpSa,
    ctx: &mut V1Ctx,
    initiator: bool,
) -> Option<Vec<Payload>> {
    let group = sa.suite.as_ref()?.transform.group;
    let dh = KeyExchange::generate(group).ok()?;
    let nonce = ctx.nonce();
    let ke = dh.public_value().to_vec();
    let x = sa.exchange.as_mut()?;
    if initiator {
        (x.g_xi, x.ni) = (ke.clone(), nonce.clone());
    } else {
        (x.g_xr, x.nr) = (ke.clone(), nonce.clone());
    }
    x.dh = Some(dh);
    let mut out = vec![Payload::Ke(ke), Payload::Nonce(nonce)];
    if sa.peer_natt {
        out.extend(natd_payloads(sa)?);
    }
    Some(out)
}

/// NAT-D of the peer's address as we send to it, then of ours (RFC 3947 3.2).
pub fn natd_payloads(sa: &IsakmpSa) -> Option<Vec<Payload>> {
    let hash = sa.suite.as_ref()?.transform.hash;
    let cookies = (sa.icookie, sa.rcookie);
    let [theirs, ours] = natt::our_nat_d(hash, cookies, sa.local, sa.remote, None).ok()?;
    Some(vec![Payload::NatD(theirs), Payload::NatD(ours)])
}

/// Takes the peer's KE and nonce; false when either is missing.
pub fn take_peer_ke_nonce(sa: &mut IsakmpSa, payloads: &[Payload]) -> bool {
    let ke = payloads.iter().find_map(|p| match p {
        Payload::Ke(k) => Some(k.clone()),
        _ => None,
    });
    let nonce = payloads.iter().find_map(|p| match p {
        Payload::Nonce(n) => Some(n.clone()),
        _ => None,
    });
    let (Some(ke), Some(nonce), Some(x)) = (ke, nonce, sa.exchange.as_mut()) else {
        return false;
    };
    if sa.initiator {
        (x.g_xr, x.nr) = (ke, nonce);
    } else {
        (x.g_xi, x.ni) = (ke, nonce);
    }
    true
}

/// RFC 3947 3.2: the first NAT-D is our address as the peer saw it, the others its own.
pub fn detect_nat(
    sa: &mut IsakmpSa,
    payloads: &[Payload],
    (local, remote): (SocketAddr, SocketAddr),
) {
    let natd: Vec<&[u8]> = payloads
        .iter()
        .filter_map(|p| match p {
            Payload::NatD(d) => Some(&d[..]),
            _ => None,
        })
        .collect();
    let Some(hash) = sa.suite.as_ref().map(|s| s.transform.hash) else {
        return;
    };
    if let Ok(nat) = natt::detect(hash, (sa.icookie, sa.rcookie), &natd, local, remote) {
        sa.nat_local = nat.we_are_behind;
        sa.nat_remote = nat.peer_is_behind;
    }
}

/// Initiator: with a NAT on the path, the rest of the SA's life is on port 4500 (RFC 3947 4).
pub fn float_if_nat(sa: &mut IsakmpSa) {
    if (sa.nat_local || sa.nat_remote) && sa.local.port() != NATT_PORT {
        sa.local.set_port(NATT_PORT);
        sa.remote.set_port(NATT_PORT);
    }
}

/// SKEYID for the negotiated method and the keys it leads to, and the first IV (RFC 2409
/// 5 and appendix B).
pub fn derive_keys(sa: &mut IsakmpSa) -> Option<()> {
    let suite = sa.suite.clone()?;
    let x = sa.exchange.as_ref()?;
    let peer = if sa.initiator { &x.g_xr } else { &x.g_xi };
    let g_xy = x.dh.as_ref()?.compute_shared(peer).ok()?;
    let method = suite.transform.auth_method;
    let skeyid = auth::skeyid(&sa.config.auth, method, suite.prf, &x.ni, &x.nr, &g_xy).ok()?;
    let keys = keymat::phase1_keys(
        suite.prf,
        &skeyid,
        &g_xy,
        &sa.icookie,
        &sa.rcookie,
        suite.cipher.key_len(),
    )
    .ok()?;
    sa.iv = crypt::initial_iv(suite.prf, &x.g_xi, &x.g_xr, suite.cipher.block_len()).ok()?;
    sa.keys = Some(keys);
    Some(())
}

/// The phase 1 proof of an SA whose keys are derived.
fn proof(sa: &IsakmpSa) -> Option<Phase1Proof<'_>> {
    let suite = sa.suite.as_ref()?;
    let keys = sa.keys.as_ref()?;
    let x = sa.exchange.as_ref()?;
    Some(Phase1Proof {
        config: &sa.config,
        method: suite.transform.auth_method,
        prf: suite.prf,
        skeyid: &keys.skeyid,
        transcript: Phase1Transcript {
            g_xi: &x.g_xi,
            g_xr: &x.g_xr,
            cky_i: &sa.icookie,
            cky_r: &sa.rcookie,
            sai_b: &x.sai_b,
        },
    })
}

/// The CR payloads that go with our KE when we authenticate with certificates.
pub fn cert_request_payloads(sa: &IsakmpSa) -> Option<Vec<Payload>> {
    auth::cert_requests(&sa.config).ok()
}

/// Our identity and proof (HASH_I or HASH_R; or CERT and SIG), plus INITIAL-CONTACT from
/// an initiator whose connection asks for it, unless it reauthenticates (the peer would drop
/// the IPsec SAs the new ISAKMP SA is to take over).
pub fn id_hash_payloads(sa: &IsakmpSa, initiator: bool) -> Option<Vec<Payload>> {
    let id = auth::our_identification(&sa.config);
    let body = wire::identification_body(&id);
    let mut out = vec![Payload::Id(id)];
    out.extend(proof(sa)?.our_payloads(initiator, &body).ok()?);
    if initiator && sa.config.initial_contact && sa.reauth.of.is_none() {
        out.push(Payload::Notify(Notification {
            doi: doi::IPSEC,
            protocol: protocol::ISAKMP,
            spi: [sa.icookie, sa.rcookie].concat(),
            kind: notify_type::INITIAL_CONTACT,
            data: Vec::new(),
        }));
    }
    Some(out)
}

/// The peer's identity message: decrypted, its proof and identity checked (certificates
/// at `ctx.unix_time`); once it is authenticated the IV chain moves on and the addresses it
/// came from (a NAT's float) are the SA's. False (dropped and counted) otherwise.
pub fn authenticate_peer(
    sa: &mut IsakmpSa,
    ctx: &mut V1Ctx,
    from: (SocketAddr, SocketAddr),
    header: &Header,
    body: &[u8],
) -> bool {
    let Some((payloads, raw_id, iv)) = open_id_hash(sa, header, body) else {
        return false;
    };
    if !verify_peer(sa, ctx, &payloads, &raw_id, sa.initiator, Some(iv)) {
        return false;
    }
    (sa.local, sa.remote) = from;
    true
}

/// Decrypts the identity message with the phase 1 IV chain: its payloads, the raw ID body
/// and the IV that follows it. Dropped and counted when it does not decrypt into payloads
/// (a wrong pre-shared key ends here).
pub fn open_id_hash(
    sa: &mut IsakmpSa,
    header: &Header,
    body: &[u8],
) -> Option<(Vec<Payload>, Vec<u8>, Vec<u8>)> {
    let iv = sa.iv.clone();
    let opened = sa.open_with(&iv, body).and_then(|(plain, next_iv)| {
        let chain = wire::unpadded(header.next_payload, &plain).ok()?;
        let raw_id = wire::raw_payloads(header.next_payload, chain)
            .ok()?
            .iter()
            .find(|(k, _)| *k == payload_type::ID)?
            .1
            .to_vec();
        let payloads = wire::parse_payloads(header.next_payload, chain).ok()?;
        Some((payloads, raw_id, next_iv))
    });
    if opened.is_none() {
        sa.drop_message(DropReason::BadIcv);
    }
    opened
}

/// Checks the peer's proof and identity, from a message sent in clear (`next_iv` None) or
/// encrypted (`next_iv`: the phase 1 IV after it, which the SA takes once the message is
/// authenticated, or refused with a word to the peer under it). A failure is counted, and
/// told to the peer with the SA closed (`auth_refusal`) or only dropped.
pub fn verify_peer(
    sa: &mut IsakmpSa,
    ctx: &mut V1Ctx,
    payloads: &[Payload],
    raw_id: &[u8],
    we_initiate: bool,
    next_iv: Option<Vec<u8>>,
) -> bool {
    let Some(proof) = proof(sa) else {
        sa.drop_message(DropReason::WrongState);
        return false;
    };
    match proof.check_peer(we_initiate, payloads, raw_id, ctx.unix_time) {
        Ok(peer) => {
            sa.peer_id = Some(peer);
            if let Some(iv) = next_iv {
                sa.iv = iv;
            }
            true
        }
        Err(e) => {
            let before = sa.iv.clone();
            let in_clear = next_iv.is_none();
            if let Some(iv) = next_iv {
                sa.iv = iv;
            }
            super::auth_refusal::refuse(sa, ctx, &e, in_clear);
            if !sa.is_closed() {
                sa.iv = before;
            }
            false
        }
    }
}

/// An unencrypted phase 1 message of `payloads` in `exchange`.
pub fn plain_message(sa: &IsakmpSa, exchange: u8, payloads: &[Payload]) -> Option<Vec<u8>> {
    let (first, body) = wire::encode_payloads(payloads).ok()?;
    let h = Header {
        next_payload: first,
        ..sa.header(exchange, 0, 0)
    };
    Some(wire::encode_message(&h, &body))
}

/// The ISAKMP SA is up: said to the caller; an initiator starts the Quick Modes of its
/// connection's children that start at once.
pub fn established(sa: &mut IsakmpSa, ctx: &mut V1Ctx) {
    sa.state = Phase1State::Established;
    sa.established_at = Some(ctx.now);
    let ours = lifetime(&sa.config);
    let theirs = sa
        .suite
        .as_ref()
        .and_then(|s| s.transform.life_seconds)
        // strongSwan proposes 0 for no limit of its own.
        .filter(|s| *s > 0)
        .map(|s| Duration::from_secs(u64::from(s)))
        .unwrap_or(ours);
    sa.expire_at = Some(ctx.now + ours.min(theirs));
    if let Some(x) = sa.exchange.as_mut() {
        // The D-H private value is of no further use.
        x.dh = None;
    }
    let info = sa.info();
    sa.push(Action::IkeSaUp(info));
    super::dpd_probe::start(sa, ctx);
    super::reauth::on_established(sa, ctx);
    // A reauthentication takes over the IPsec SAs of the SA it replaces.
    if sa.initiator && sa.reauth.of.is_none() {
        super::quick_mode::start_children(sa, ctx);
    }
}
