//! IKE_SA_INIT requests before any state exists (RFC 7296 2.6): proposal and group checks
//! answered without keeping anything, COOKIEs when too many SAs are half-open (in all or from
//! the request's source address), and, only past the cookie check, a limit of half-open SAs per
//! address and in all.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use openssl::memcmp;

use crate::action::{DropReason, HalfOpenCounters};
use crate::config::IkeConfig;
use crate::crypto::keys::SecretBytes;
use crate::crypto::prf::Prf;
use crate::crypto::proposal::{select, KeMode, ProposalError, Selected};
use crate::message::{
    invalid_ke_data, DhGroup, ExchangeType, Flags, Header, Message, NotifyType, Payload, Payloads,
    ProtocolId,
};
use crate::rng::{random_vec, RngSource};
use crate::sa::proposals;
use zeroize::Zeroizing;

/// When to ask for cookies and how many half-open SAs to keep (strongSwan's names; the
/// slow path's `ike-limits` statement sets them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HalfOpenLimits {
    /// Half-open SAs (all addresses) from which on a request must carry a valid COOKIE.
    pub cookie_threshold: usize,
    /// Half-open SAs of one source address from which on its requests must carry one.
    pub cookie_threshold_ip: usize,
    /// Half-open SAs one address may hold; a request past this is refused.
    pub block_threshold: usize,
    /// Half-open SAs all addresses may hold together.
    pub init_limit_half_open: usize,
    /// How long a half-open SA waits for its IKE_AUTH.
    pub half_open_timeout: Duration,
    /// How often the cookie secret changes (the previous one is still accepted).
    pub secret_lifetime: Duration,
}

impl Default for HalfOpenLimits {
    /// strongSwan's defaults, and a finite global cap.
    fn default() -> Self {
        HalfOpenLimits {
            cookie_threshold: 10,
            cookie_threshold_ip: 3,
            block_threshold: 5,
            init_limit_half_open: 1000,
            half_open_timeout: Duration::from_secs(30),
            secret_lifetime: Duration::from_secs(120),
        }
    }
}

impl HalfOpenLimits {
    /// Whether a request must prove its source address first. A limit that would refuse it
    /// asks for a cookie too, so that only a request from a real address is ever refused
    /// there: a spoofer who cannot read our replies never spends that address's quota.
    fn cookie_required(&self, half_open: usize, half_open_ip: usize) -> bool {
        half_open >= self.cookie_threshold.min(self.init_limit_half_open)
            || half_open_ip >= self.cookie_threshold_ip.min(self.block_threshold)
    }
}

/// The secret of one cookie generation.
#[derive(Clone)]
pub struct CookieSecret {
    pub version: u32,
    pub secret: SecretBytes,
}

impl std::fmt::Debug for CookieSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CookieSecret {{ version: {} }}", self.version)
    }
}

/// What to do with an IKE_SA_INIT request that belongs to no SA yet.
#[derive(Debug, Clone)]
pub enum InitDecision {
    /// Answer with this unprotected message (COOKIE, INVALID_KE_PAYLOAD, NO_PROPOSAL_CHOSEN).
    Reply(Vec<u8>),
    /// Make a half-open SA for this connection with this suite.
    Accept {
        config: Arc<IkeConfig>,
        selected: Selected,
    },
    Drop(DropReason),
}

#[derive(Debug, Clone)]
pub struct Responder {
    pub config: HalfOpenLimits,
    pub current: CookieSecret,
    pub previous: Option<CookieSecret>,
    pub rotate_at: Duration,
}

impl Responder {
    pub fn new(config: HalfOpenLimits, rng: &mut dyn RngSource, now: Duration) -> Responder {
        Responder {
            config,
            current: CookieSecret {
                version: 1,
                secret: Zeroizing::new(random_vec(rng, 32)),
            },
            previous: None,
            rotate_at: now + config.secret_lifetime,
        }
    }

    fn rotate(&mut self, rng: &mut dyn RngSource, now: Duration) {
        if now < self.rotate_at {
            return;
        }
        let next = CookieSecret {
            version: self.current.version.wrapping_add(1),
            secret: Zeroizing::new(random_vec(rng, 32)),
        };
        self.previous = Some(std::mem::replace(&mut self.current, next));
        self.rotate_at = now + self.config.secret_lifetime;
    }

    /// Cookie = VersionIDofSecret | Hash(Ni | IPi | SPIi | secret) (RFC 7296 2.6), the hash
    /// being HMAC-SHA-256 keyed with the secret.
    pub fn cookie(secret: &CookieSecret, ni: &[u8], ip: IpAddr, spi_i: u64) -> Vec<u8> {
        let ip = match ip {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        };
        let mac = Prf::HmacSha256
            .compute_parts(&secret.secret, &[ni, &ip, &spi_i.to_be_bytes()])
            .map(|m| m.to_vec())
            .unwrap_or_default();
        let mut out = secret.version.to_be_bytes().to_vec();
        out.extend_from_slice(&mac);
        out
    }

    fn cookie_ok(&self, got: &[u8], ni: &[u8], ip: IpAddr, spi_i: u64) -> bool {
        [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .any(|s| {
                let want = Responder::cookie(s, ni, ip, spi_i);
                want.len() == got.len() && memcmp::eq(&want, got)
            })
    }

    /// Judges a request: the cookie first (decided by the count of `remote`'s address and the
    /// global one, RFC 7296 2.6), then the limits. `half_open` counts all half-open SAs,
    /// `half_open_ip` those of `remote`'s address; cookie outcomes go to `counters`.
    #[allow(clippy::too_many_arguments)]
    pub fn check(
        &mut self,
        now: Duration,
        rng: &mut dyn RngSource,
        configs: &[Arc<IkeConfig>],
        (half_open, half_open_ip): (usize, usize),
        local: SocketAddr,
        remote: SocketAddr,
        msg: &Message,
        counters: &mut HalfOpenCounters,
    ) -> InitDecision {
        self.rotate(rng, now);
        let h = msg.header;
        let p = msg.payloads.as_slice();
        if h.is_response()
            || h.message_id != 0
            || h.spi_r != 0
            || !h.flags.initiator
            || h.spi_i == 0
        {
            return InitDecision::Drop(DropReason::Malformed);
        }
        let (Some(sa), Some((group, _)), Some(ni)) = (p.sa(), p.ke(), p.nonce()) else {
            return InitDecision::Drop(DropReason::Malformed);
        };
        let limits = self.config;
        if limits.cookie_required(half_open, half_open_ip) {
            match p.find_notify(NotifyType::COOKIE) {
                Some(c) if self.cookie_ok(c.data, ni, remote.ip(), h.spi_i) => {
                    counters.cookies_valid += 1;
                }
                got => {
                    counters.cookies_invalid += u64::from(got.is_some());
                    counters.cookies_sent += 1;
                    let cookie = Responder::cookie(&self.current, ni, remote.ip(), h.spi_i);
                    return reply(&h, NotifyType::COOKIE, cookie);
                }
            }
        }
        if half_open_ip >= limits.block_threshold {
            return InitDecision::Drop(DropReason::HalfOpenBlock);
        }
        if half_open >= limits.init_limit_half_open {
            return InitDecision::Drop(DropReason::HalfOpenCap);
        }
        let mut answer = None;
        for cfg in configs
            .iter()
            .filter(|c| c.matches_addresses(local, remote))
        {
            let policies = proposals::policies(ProtocolId::IKE, &cfg.ike_proposals);
            match select(&proposals::offered(sa), &policies, KeMode::Payload(group.0)) {
                Ok(selected) => {
                    return InitDecision::Accept {
                        config: cfg.clone(),
                        selected,
                    }
                }
                Err(ProposalError::InvalidKePayload { group }) => {
                    answer.get_or_insert((
                        NotifyType::INVALID_KE_PAYLOAD,
                        invalid_ke_data(DhGroup(group)),
                    ));
                }
                Err(ProposalError::NoProposalChosen) => {}
            }
        }
        if !configs.iter().any(|c| c.matches_addresses(local, remote)) {
            return InitDecision::Drop(DropReason::NoConfig);
        }
        let (n, data) = answer.unwrap_or((NotifyType::NO_PROPOSAL_CHOSEN, Vec::new()));
        reply(&h, n, data)
    }
}

/// An unprotected IKE_SA_INIT answer carrying one notify.
fn reply(req: &Header, n: NotifyType, data: Vec<u8>) -> InitDecision {
    let header = Header::new(
        req.spi_i,
        0,
        ExchangeType::IKE_SA_INIT,
        Flags {
            initiator: false,
            version: false,
            response: true,
        },
        0,
    );
    match Message::new(header, vec![Payload::notify(n, data)]).emit() {
        Ok(b) => InitDecision::Reply(b),
        Err(_) => InitDecision::Drop(DropReason::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::TestRng;

    #[test]
    fn cookies_verify_across_one_rotation() {
        let mut rng = TestRng::new(3);
        let cfg = HalfOpenLimits {
            secret_lifetime: Duration::from_secs(10),
            ..HalfOpenLimits::default()
        };
        let mut r = Responder::new(cfg, &mut rng, Duration::ZERO);
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let c = Responder::cookie(&r.current, &[1; 32], ip, 42);
        assert_eq!(c.len(), 36);
        assert!(r.cookie_ok(&c, &[1; 32], ip, 42));
        assert!(!r.cookie_ok(&c, &[2; 32], ip, 42));
        assert!(!r.cookie_ok(&c, &[1; 32], "192.0.2.8".parse().unwrap(), 42));
        assert!(!r.cookie_ok(&c, &[1; 32], ip, 43));
        r.rotate(&mut rng, Duration::from_secs(10));
        assert!(r.cookie_ok(&c, &[1; 32], ip, 42));
        r.rotate(&mut rng, Duration::from_secs(20));
        assert!(!r.cookie_ok(&c, &[1; 32], ip, 42));
    }

    #[test]
    fn a_limit_that_would_refuse_asks_for_a_cookie_first() {
        let l = HalfOpenLimits::default();
        assert!(!l.cookie_required(9, 2));
        assert!(l.cookie_required(10, 0));
        assert!(l.cookie_required(0, 3));
        // Thresholds above the limits: the limits still come after a cookie.
        let loose = HalfOpenLimits {
            cookie_threshold: usize::MAX,
            cookie_threshold_ip: usize::MAX,
            block_threshold: 2,
            init_limit_half_open: 7,
            ..l
        };
        assert!(!loose.cookie_required(6, 1));
        assert!(loose.cookie_required(6, 2));
        assert!(loose.cookie_required(7, 0));
    }
}
