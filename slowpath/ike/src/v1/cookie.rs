//! The responder cookie of RFC 2408 2.5.3: a keyed hash of the two parties' addresses, the
//! initiator cookie and a local secret, so that a later message's responder cookie can be
//! checked with no state: one we never made is told from one of an SA that has gone.
//!
//! cookie = HMAC-SHA-256(secret, IPi | IPr | CKY-I), first 8 octets. The RFC also names the
//! ports: they are left out because an SA's ports move during its life (the float to 4500
//! of RFC 3947, a NAT's new mapping), and the check must still hold then; the addresses
//! and the initiator cookie already make the cookie depend on the parties and the SA.
//!
//! Unique per SA: SAs are found by the cookie pair, the initiator cookie first, and it is
//! in the hash, so two SAs share a responder cookie only by a 2^-64 chance with
//! different initiator cookies, which tells them apart anyway. The one peer reusing an
//! initiator cookie from one address gets the same responder cookie: that is the repeat of
//! its first message, which the engine finds as such.
//!
//! The secret changes every `secret_lifetime` (IKEv2's cookie secret's, `HalfOpenLimits`);
//! the previous one still verifies, so a cookie is checkable for one to two lifetimes.
//! An SA keeps its cookie for its whole life: it is found by lookup, the secret only
//! classifies messages for SAs that are gone.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use openssl::memcmp;

use crate::crypto::keys::SecretBytes;
use crate::crypto::prf::Prf;
use crate::rng::{random_vec, RngSource};

/// Octets of a cookie secret.
const SECRET_LEN: usize = 32;

/// The responder's cookie secrets: the current one, and the one before it.
pub struct CookieSecrets {
    current: SecretBytes,
    previous: Option<SecretBytes>,
    rotate_at: Duration,
    lifetime: Duration,
}

impl std::fmt::Debug for CookieSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CookieSecrets {{ rotate_at: {:?} }}", self.rotate_at)
    }
}

impl CookieSecrets {
    pub fn new(rng: &mut dyn RngSource, now: Duration, lifetime: Duration) -> CookieSecrets {
        CookieSecrets {
            current: SecretBytes::new(random_vec(rng, SECRET_LEN)),
            previous: None,
            rotate_at: now + lifetime,
            lifetime,
        }
    }

    /// A new secret once the current one has lived its lifetime (the current one stays
    /// valid as the previous).
    pub fn rotate(&mut self, rng: &mut dyn RngSource, now: Duration) {
        if now < self.rotate_at {
            return;
        }
        let next = SecretBytes::new(random_vec(rng, SECRET_LEN));
        self.previous = Some(std::mem::replace(&mut self.current, next));
        self.rotate_at = now + self.lifetime;
    }

    /// Our responder cookie for an SA with `icookie` between `local` and `remote`.
    pub fn make(&self, local: SocketAddr, remote: SocketAddr, icookie: [u8; 8]) -> [u8; 8] {
        cookie(&self.current, local.ip(), remote.ip(), icookie)
    }

    /// Whether `rcookie` is one we made (with the current or the previous secret) for an SA
    /// with `icookie` between these addresses.
    pub fn verifies(
        &self,
        local: SocketAddr,
        remote: SocketAddr,
        icookie: [u8; 8],
        rcookie: [u8; 8],
    ) -> bool {
        [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .any(|s| memcmp::eq(&cookie(s, local.ip(), remote.ip(), icookie), &rcookie))
    }
}

fn octets(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn cookie(secret: &[u8], local: IpAddr, remote: IpAddr, icookie: [u8; 8]) -> [u8; 8] {
    let mut out = [0u8; 8];
    // HMAC with a 32-octet key cannot fail short of OpenSSL being unusable; a zero cookie
    // then verifies nothing (a first message's rcookie is zero and never checked).
    if let Ok(mac) =
        Prf::HmacSha256.compute_parts(secret, &[&octets(remote), &octets(local), &icookie])
    {
        out.copy_from_slice(&mac[..8]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::TestRng;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_cookie_names_its_parties_and_initiator_cookie() {
        let mut rng = TestRng::new(1);
        let s = CookieSecrets::new(&mut rng, Duration::ZERO, Duration::from_secs(10));
        let (l, r) = (addr("192.0.2.1:500"), addr("192.0.2.2:500"));
        let c = s.make(l, r, [1; 8]);
        assert_ne!(c, [0; 8]);
        assert!(s.verifies(l, r, [1; 8], c));
        // The ports move with NAT-T: the cookie still holds on 4500.
        assert!(s.verifies(addr("192.0.2.1:4500"), addr("192.0.2.2:4500"), [1; 8], c));
        assert!(!s.verifies(l, addr("192.0.2.3:500"), [1; 8], c));
        assert!(!s.verifies(addr("192.0.2.9:500"), r, [1; 8], c));
        assert!(!s.verifies(l, r, [2; 8], c));
        assert!(!s.verifies(l, r, [1; 8], [0; 8]));
        // Another initiator cookie, another responder cookie.
        assert_ne!(s.make(l, r, [2; 8]), c);
        let v6 = (addr("[2001:db8::1]:500"), addr("[2001:db8::2]:500"));
        assert!(s.verifies(v6.0, v6.1, [1; 8], s.make(v6.0, v6.1, [1; 8])));
        // Another node's secret: nothing of ours verifies there.
        let other = CookieSecrets::new(&mut rng, Duration::ZERO, Duration::from_secs(10));
        assert!(!other.verifies(l, r, [1; 8], c));
    }

    #[test]
    fn the_previous_secret_verifies_for_one_more_lifetime() {
        let mut rng = TestRng::new(2);
        let life = Duration::from_secs(10);
        let mut s = CookieSecrets::new(&mut rng, Duration::ZERO, life);
        let (l, r) = (addr("192.0.2.1:500"), addr("192.0.2.2:500"));
        let c = s.make(l, r, [7; 8]);
        s.rotate(&mut rng, Duration::from_secs(9));
        assert_eq!(s.make(l, r, [7; 8]), c, "not yet rotated");
        s.rotate(&mut rng, Duration::from_secs(10));
        assert_ne!(s.make(l, r, [7; 8]), c, "a new secret");
        assert!(
            s.verifies(l, r, [7; 8], c),
            "the grace of the previous secret"
        );
        s.rotate(&mut rng, Duration::from_secs(19));
        assert!(s.verifies(l, r, [7; 8], c));
        s.rotate(&mut rng, Duration::from_secs(20));
        assert!(!s.verifies(l, r, [7; 8], c), "two rotations later");
    }
}
