//! No route: the sender of a packet the fast path cannot route gets an ICMP destination
//! unreachable (v4 net unreachable, v6 no route) from the node, as from a router, at most
//! [`UNREACHABLE_PER_SECOND`] per worker (RFC 1812 §4.3.2.8, RFC 4443 §2.4(f)). The errors
//! of a burst are sent after it: toward the protected side by the FIB, or, for a decrypted
//! packet, through the outbound policy (back through the tunnel it came from). Here: the
//! rate limit and the choice of addresses; the worker's side is `route::no_route` and
//! `route::send_unreachable`.

use super::BURST;
use dpdk::mbuf::MbufBurst;
use std::net::IpAddr;

/// Errors per second and per worker, and the burst allowed after a quiet time: what Linux
/// allows by default (`icmp_ratelimit` 1 s / 1000 ms per destination, `icmp_msgs_per_sec`
/// 1000 with a burst of 50) scaled down, since a flood of unroutable packets must not turn
/// into a flood of errors through a tunnel.
pub const UNREACHABLE_PER_SECOND: u64 = 100;
pub const UNREACHABLE_BURST: u64 = 10;

const NS_PER_S: u64 = 1_000_000_000;

/// A token bucket on a caller's clock (nanoseconds): `per_second` tokens a second, at most
/// `burst` saved; starts full.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    per_second: u64,
    burst: u64,
    /// Tokens × 10⁹ (one token per 10⁹ / `per_second` ns, without division).
    scaled: u64,
    last_ns: u64,
}

impl TokenBucket {
    pub fn new(per_second: u64, burst: u64) -> TokenBucket {
        TokenBucket {
            per_second,
            burst,
            scaled: burst.saturating_mul(NS_PER_S),
            last_ns: 0,
        }
    }

    /// Takes a token if there is one at `now_ns`; a clock that goes back adds nothing.
    pub fn take(&mut self, now_ns: u64) -> bool {
        let elapsed = now_ns.saturating_sub(self.last_ns);
        self.last_ns = self.last_ns.max(now_ns);
        self.scaled = self
            .scaled
            .saturating_add(elapsed.saturating_mul(self.per_second))
            .min(self.burst.saturating_mul(NS_PER_S));
        if self.scaled >= NS_PER_S {
            self.scaled -= NS_PER_S;
            true
        } else {
            false
        }
    }
}

/// A worker's no-route errors: the bucket, and those built during the current burst.
pub struct Unreachable {
    pub bucket: TokenBucket,
    pub pending: MbufBurst<BURST>,
}

impl Default for Unreachable {
    fn default() -> Self {
        Unreachable {
            bucket: TokenBucket::new(UNREACHABLE_PER_SECOND, UNREACHABLE_BURST),
            pending: MbufBurst::default(),
        }
    }
}

/// The node's address an error to `to` comes from: of its family, the one sharing the
/// longest prefix with it (the address on the sender's side, in the usual layouts).
pub fn error_source(locals: &[IpAddr], to: IpAddr) -> Option<IpAddr> {
    let common = |a: &IpAddr| match (a, to) {
        (IpAddr::V4(a), IpAddr::V4(t)) => Some((u32::from(*a) ^ u32::from(t)).leading_zeros()),
        (IpAddr::V6(a), IpAddr::V6(t)) => Some((u128::from(*a) ^ u128::from(t)).leading_zeros()),
        _ => None,
    };
    locals
        .iter()
        .filter_map(|a| Some((common(a)?, *a)))
        .max_by_key(|(bits, _)| *bits)
        .map(|(_, a)| a)
}

/// The source address of an IP packet.
pub(super) fn source(p: &[u8]) -> Option<IpAddr> {
    match p.first()? >> 4 {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(p.get(12..16)?).ok()?)),
        6 => Some(IpAddr::from(<[u8; 16]>::try_from(p.get(8..24)?).ok()?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn bucket_gives_its_burst_then_its_rate() {
        let mut b = TokenBucket::new(100, 10);
        let t0 = 5 * NS_PER_S;
        let taken = (0..20).filter(|_| b.take(t0)).count();
        assert_eq!(taken, 10, "the burst, at once");
        assert!(!b.take(t0 + 9 * MS), "one token per 10 ms");
        assert!(b.take(t0 + 10 * MS));
        assert!(!b.take(t0 + 10 * MS));
        // Over one second at 1 kHz of demand: 100 pass.
        let mut passed = 0;
        for i in 1..=1000 {
            passed += b.take(t0 + 10 * MS + i * MS) as u32;
        }
        assert_eq!(passed, 100);
        // A long silence saves no more than the burst.
        let later = t0 + 3600 * NS_PER_S;
        assert_eq!((0..50).filter(|_| b.take(later)).count(), 10);
    }

    #[test]
    fn bucket_ignores_a_clock_going_back() {
        let mut b = TokenBucket::new(100, 1);
        assert!(b.take(NS_PER_S));
        assert!(!b.take(0), "earlier: no tokens made");
        assert!(!b.take(NS_PER_S + 5 * MS));
        assert!(b.take(NS_PER_S + 10 * MS));
    }

    #[test]
    fn the_error_comes_from_the_address_on_the_senders_side() {
        let locals: Vec<IpAddr> = ["10.0.1.254", "192.0.2.1", "2001:db8:1::1", "2001:db8:2::1"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let from = |to: &str| error_source(&locals, to.parse().unwrap()).map(|a| a.to_string());
        assert_eq!(from("10.0.1.7").as_deref(), Some("10.0.1.254"));
        assert_eq!(from("10.0.2.1").as_deref(), Some("10.0.1.254"));
        assert_eq!(from("192.0.2.77").as_deref(), Some("192.0.2.1"));
        assert_eq!(from("2001:db8:2::9").as_deref(), Some("2001:db8:2::1"));
        assert_eq!(
            error_source(&locals[..2], "2001:db8::1".parse().unwrap()),
            None
        );
        assert_eq!(error_source(&[], "10.0.0.1".parse().unwrap()), None);
    }

    #[test]
    fn source_of_both_versions_and_garbage() {
        let mut p4 = [0u8; 20];
        p4[0] = 0x45;
        p4[12..16].copy_from_slice(&[10, 0, 2, 1]);
        assert_eq!(source(&p4), Some(IpAddr::from([10, 0, 2, 1])));
        let mut p6 = [0u8; 40];
        p6[0] = 0x60;
        p6[23] = 1;
        assert_eq!(source(&p6), Some("::1".parse().unwrap()));
        assert_eq!(source(&p4[..15]), None);
        assert_eq!(source(&[0x70; 40]), None);
        assert_eq!(source(&[]), None);
    }
}
