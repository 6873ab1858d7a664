//! What the state machines ask the caller to do, drained with `poll_action()`: datagrams to
//! send, SAs to install in or remove from the fast path, and events for logs and counters.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::config::{Identity, Mode};
use crate::crypto::keys::SecretBytes;
use crate::crypto::transform::Suite;
use crate::message::{NotifyType, TrafficSelector};

/// The engine's handle of one IKE SA (stable across IKE SA rekeys).
pub type IkeSaId = u64;
/// The handle of one CHILD SA within its IKE SA (a rekey makes a new one).
pub type ChildId = u32;

/// One action for the caller.
#[derive(Debug, Clone)]
pub enum Action {
    /// Send `bytes` as one UDP datagram (the non-ESP marker is already in front on port 4500).
    Send {
        from: SocketAddr,
        to: SocketAddr,
        bytes: Vec<u8>,
    },
    IkeSaUp(IkeSaInfo),
    /// The SA is gone. `conn` names its connection: the SA has left its engine by the time
    /// the caller reads this, so it cannot be looked up (an SA that never came up included).
    IkeSaDown {
        sa: IkeSaId,
        conn: String,
        reason: DownReason,
    },
    /// Install both directions.
    ChildSaUp(Box<ChildSaInfo>),
    /// Install `new` (both directions) and keep `old` inbound until its `ChildSaDown`, which
    /// follows when the delete of `old` is done. Outbound traffic moves to `new` at once,
    /// unless `defer_outbound`: then we answered the peer's rekey, and the peer installs
    /// `new` only when our answer arrives (this action comes before that answer is sent);
    /// `old` keeps sending until its `ChildSaDown` (the peer deletes it once `new` is in).
    ChildSaRekeyed {
        old: ChildRef,
        new: Box<ChildSaInfo>,
        defer_outbound: bool,
    },
    /// Remove both directions.
    ChildSaDown {
        child: ChildRef,
        reason: DownReason,
    },
    Event {
        sa: Option<IkeSaId>,
        event: Event,
    },
}

/// Which CHILD SA an action is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChildRef {
    pub sa: IkeSaId,
    pub id: ChildId,
    pub spi_in: u32,
    pub spi_out: u32,
}

/// An IKE SA that just became usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeSaInfo {
    pub sa: IkeSaId,
    pub config: String,
    pub spi_i: u64,
    pub spi_r: u64,
    pub initiator: bool,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub remote_id: Identity,
    /// The virtual IP we were given (initiator) or gave (responder).
    pub virtual_ip: Option<IpAddr>,
}

/// UDP encapsulation of ESP (RFC 3948): the ports on our side and on the peer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpEncap {
    pub local_port: u16,
    pub remote_port: u16,
}

/// Everything the fast path needs for one CHILD SA (both directions).
#[derive(Clone)]
pub struct ChildSaInfo {
    pub child: ChildRef,
    pub config: String,
    pub mode: Mode,
    /// Tunnel endpoints (and the outer addresses in transport mode).
    pub local_addr: IpAddr,
    pub remote_addr: IpAddr,
    pub local_ts: Vec<TrafficSelector>,
    pub remote_ts: Vec<TrafficSelector>,
    /// ESP transform: cipher, key size, integrity (`None` for AEAD), ESN in `esn`.
    pub suite: Suite,
    pub esn: bool,
    /// Encryption key with the salt appended for AES-GCM (RFC 4106), inbound.
    pub encr_key_in: SecretBytes,
    pub integ_key_in: SecretBytes,
    pub encr_key_out: SecretBytes,
    pub integ_key_out: SecretBytes,
    pub soft_bytes: u64,
    pub hard_bytes: u64,
    pub soft_packets: u64,
    pub hard_packets: u64,
    /// When the control plane will rekey and delete it (absolute, caller's clock).
    pub rekey_at: Option<Duration>,
    pub expire_at: Option<Duration>,
    pub encap: Option<UdpEncap>,
}

// Keys never printed.
impl std::fmt::Debug for ChildSaInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildSaInfo")
            .field("child", &self.child)
            .field("config", &self.config)
            .field("mode", &self.mode)
            .field("local_ts", &self.local_ts)
            .field("remote_ts", &self.remote_ts)
            .field("suite", &self.suite)
            .field("encap", &self.encap)
            .finish_non_exhaustive()
    }
}

/// Why an SA went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownReason {
    /// We deleted it (operator, hard lifetime, rekey done).
    Deleted,
    DeletedByPeer,
    /// Retransmissions ran out.
    PeerDead,
    AuthenticationFailed,
    NoProposalChosen,
    TsUnacceptable,
    /// The peer answered a request with this error.
    PeerError(NotifyType),
    /// Our side could not go on (a crypto or encoding failure).
    LocalError,
    /// A half-open SA that never completed.
    Timeout,
    /// Replaced by a rekey.
    Rekeyed,
    /// The IKE SA it belonged to went down.
    IkeSaDown,
    /// Hard lifetime.
    Expired,
    /// The peer set up a new IKE SA with INITIAL_CONTACT: it holds no other one between
    /// the same identities (RFC 7296 2.4), so this one was dead on its side.
    Forgotten,
}

/// Things worth a log line or a counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Dropped(DropReason),
    Retransmitted {
        message_id: u32,
        sent: u32,
    },
    NatDetected {
        local_behind_nat: bool,
        remote_behind_nat: bool,
    },
    IkeSaRekeyed {
        old: (u64, u64),
        new: (u64, u64),
    },
    /// A CHILD SA could not be made (the IKE SA stays).
    ChildFailed {
        config: String,
        notify: NotifyType,
    },
    /// A rekey collision (RFC 7296 2.8.1) was resolved; `we_won` says whose SA stays.
    RekeyCollision {
        ike: bool,
        we_won: bool,
    },
    /// The peer sent an error notify in a response.
    PeerNotify(NotifyType),
    CookieRequested,
    InvalidKeRetry {
        group: u16,
    },
    DpdSent,
    /// An RFC 6311 exchange set the message IDs: our next request's, and the peer's.
    MessageIdsSynced {
        send: u32,
        recv: u32,
    },
}

macro_rules! drop_reasons {
    ($($v:ident => $n:literal,)*) => {
        /// Why a received datagram was dropped without changing any state.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum DropReason { $($v,)* }

        impl DropReason {
            pub const ALL: &'static [DropReason] = &[$(DropReason::$v,)*];
            pub fn name(self) -> &'static str {
                match self { $(DropReason::$v => $n,)* }
            }
        }
    };
}

drop_reasons! {
    Malformed => "malformed",
    UnknownSpi => "unknown_spi",
    BadIcv => "bad_icv",
    UnexpectedResponse => "unexpected_response",
    OldRequest => "old_request",
    FutureRequest => "future_request",
    Unprotected => "unprotected",
    WrongState => "wrong_state",
    BadFlags => "bad_flags",
    BadCookie => "bad_cookie",
    // IKE_SA_INIT refused past the cookie check: the address's `block_threshold`, or the
    // global `init_limit_half_open`.
    HalfOpenBlock => "half_open_block",
    HalfOpenCap => "half_open_cap",
    NoConfig => "no_config",
    // An IKEv1 phase 1 proof refused past its hash: the peer's certificate (untrusted,
    // expired, not naming its ID) or a method its credentials do not fit.
    AuthFailed => "auth_failed",
    Fragment => "fragment",
    NotIke => "not_ike",
    // An HA standby answers nothing; its active peer does.
    Standby => "standby",
    // An RFC 6311 message ID sync that is malformed, stale or not ours to answer.
    MessageIdSync => "message_id_sync",
    // IKEv1: an Aggressive Mode for connections that do not say `aggressive`.
    AggressiveRefused => "aggressive_refused",
    // IKEv1: no connection takes the initiator's identity (INVALID_ID_INFORMATION).
    IdMismatch => "id_mismatch",
    // IKEv1: a responder cookie for no SA we hold that we never made (RFC 2408 2.5.3).
    CookieForged => "cookie_forged",
    // IKEv1: one of our responder cookies whose SA is gone (expired, evicted, deleted).
    CookieNoSa => "cookie_no_sa",
}

/// What became of IKE_SA_INIT requests that found no SA, and of the half-open SAs they made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HalfOpenCounters {
    /// COOKIE replies sent (RFC 7296 2.6); the request left no state behind.
    pub cookies_sent: u64,
    pub cookies_valid: u64,
    /// Requests whose COOKIE was forged or stale (answered with a fresh one).
    pub cookies_invalid: u64,
    /// Half-open SAs that timed out before their IKE_AUTH.
    pub expired: u64,
    /// IKEv1: half-open SAs that had not echoed our cookie, evicted at the cap for a new one.
    pub evicted: u64,
    /// Half-open SAs now (a gauge, filled in by `Engine::total_counters`).
    pub current: u64,
}

impl HalfOpenCounters {
    /// Each counter by name, for the operator.
    pub fn named(&self) -> [(&'static str, u64); 6] {
        [
            ("cookies_sent", self.cookies_sent),
            ("cookies_valid", self.cookies_valid),
            ("cookies_invalid", self.cookies_invalid),
            ("expired", self.expired),
            ("evicted", self.evicted),
            ("current", self.current),
        ]
    }

    fn absorb(&mut self, other: &HalfOpenCounters) {
        self.cookies_sent += other.cookies_sent;
        self.cookies_valid += other.cookies_valid;
        self.cookies_invalid += other.cookies_invalid;
        self.expired += other.expired;
        self.evicted += other.evicted;
        self.current += other.current;
    }
}

/// Drop counters, per reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub drops: Vec<(DropReason, u64)>,
    pub retransmits: u64,
    pub requests_answered_from_cache: u64,
    pub half_open: HalfOpenCounters,
}

impl Counters {
    pub fn drop(&mut self, r: DropReason) {
        match self.drops.iter_mut().find(|(d, _)| *d == r) {
            Some((_, n)) => *n += 1,
            None => self.drops.push((r, 1)),
        }
    }

    pub fn dropped(&self, r: DropReason) -> u64 {
        self.drops
            .iter()
            .find(|(d, _)| *d == r)
            .map_or(0, |(_, n)| *n)
    }

    pub fn total_dropped(&self) -> u64 {
        self.drops.iter().map(|(_, n)| n).sum()
    }

    /// Adds another set of counters to these (an SA's, when it closes or for a total).
    pub fn absorb(&mut self, other: &Counters) {
        for &(r, n) in &other.drops {
            match self.drops.iter_mut().find(|(d, _)| *d == r) {
                Some((_, m)) => *m += n,
                None => self.drops.push((r, n)),
            }
        }
        self.retransmits += other.retransmits;
        self.requests_answered_from_cache += other.requests_answered_from_cache;
        self.half_open.absorb(&other.half_open);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters() {
        let mut c = Counters::default();
        c.drop(DropReason::BadIcv);
        c.drop(DropReason::BadIcv);
        c.drop(DropReason::UnknownSpi);
        assert_eq!(c.dropped(DropReason::BadIcv), 2);
        assert_eq!(c.dropped(DropReason::Malformed), 0);
        assert_eq!(c.total_dropped(), 3);
        let mut total = Counters {
            retransmits: 1,
            ..Counters::default()
        };
        total.drop(DropReason::BadIcv);
        total.half_open.expired = 1;
        total.absorb(&Counters {
            retransmits: 2,
            requests_answered_from_cache: 3,
            half_open: HalfOpenCounters {
                cookies_sent: 4,
                expired: 2,
                ..HalfOpenCounters::default()
            },
            ..c.clone()
        });
        assert_eq!(total.half_open.named()[0], ("cookies_sent", 4));
        assert_eq!(total.half_open.expired, 3);
        assert_eq!(total.dropped(DropReason::BadIcv), 3);
        assert_eq!(total.dropped(DropReason::UnknownSpi), 1);
        assert_eq!(
            (total.retransmits, total.requests_answered_from_cache),
            (3, 3)
        );
        let mut names: Vec<_> = DropReason::ALL.iter().map(|d| d.name()).collect();
        names.dedup();
        assert_eq!(names.len(), DropReason::ALL.len());
    }
}
