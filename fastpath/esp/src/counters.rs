//! Drop reasons and per-lcore counters. Each worker owns its counters (no sharing on the hot
//! path); readers sum them.

/// Why a packet was dropped. The names follow the RFC 4303 / RFC 4301 auditable events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DropReason {
    /// No SA for the SPI (and destination): RFC 4303 §3.4.2.
    UnknownSpi,
    /// The ICV did not check out: §3.4.4.
    IcvFailure,
    /// Already received (inside the window).
    Replay,
    /// Left of the anti-replay window.
    OutsideWindow,
    /// Padding bytes are not 1, 2, 3, ... (RFC 4303 §2.4) or the pad length overruns.
    BadPadding,
    /// Shorter than the headers, IV, trailer and ICV, or not a whole number of blocks.
    TooShort,
    /// The decrypted packet does not match the SA's traffic selectors (RFC 4301 §5.2).
    PolicyMismatch,
    /// The outbound sequence number would cycle (no ESN) or exceed what the IV scheme allows.
    SequenceOverflow,
    /// The SA's hard byte or packet lifetime has passed.
    HardLifetime,
    /// The SA is installed but not active (HA standby).
    SaInactive,
    /// Not an IP packet we can parse (malformed headers).
    Malformed,
    /// The inner next header is not IPv4/IPv6 in tunnel mode, or the payload is unusable.
    BadNextHeader,
    /// The TTL / hop limit ran out while forwarding.
    TtlExceeded,
    /// No headroom or tailroom for the ESP headers and trailer.
    NoRoom,
    /// RFC 6040: outer CE with a Not-ECT inner packet.
    EcnDrop,
    /// The policy says discard.
    PolicyDiscard,
    /// The SPD has no entry for the packet (RFC 4301: discard by default).
    NoPolicy,
}

impl DropReason {
    /// Every reason, in counter order.
    pub const ALL: [DropReason; 17] = [
        DropReason::UnknownSpi,
        DropReason::IcvFailure,
        DropReason::Replay,
        DropReason::OutsideWindow,
        DropReason::BadPadding,
        DropReason::TooShort,
        DropReason::PolicyMismatch,
        DropReason::SequenceOverflow,
        DropReason::HardLifetime,
        DropReason::SaInactive,
        DropReason::Malformed,
        DropReason::BadNextHeader,
        DropReason::TtlExceeded,
        DropReason::NoRoom,
        DropReason::EcnDrop,
        DropReason::PolicyDiscard,
        DropReason::NoPolicy,
    ];

    /// A stable name for counters and logs.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::UnknownSpi => "unknown_spi",
            DropReason::IcvFailure => "icv_failure",
            DropReason::Replay => "replay",
            DropReason::OutsideWindow => "outside_window",
            DropReason::BadPadding => "bad_padding",
            DropReason::TooShort => "too_short",
            DropReason::PolicyMismatch => "policy_mismatch",
            DropReason::SequenceOverflow => "sequence_overflow",
            DropReason::HardLifetime => "hard_lifetime",
            DropReason::SaInactive => "sa_inactive",
            DropReason::Malformed => "malformed",
            DropReason::BadNextHeader => "bad_next_header",
            DropReason::TtlExceeded => "ttl_exceeded",
            DropReason::NoRoom => "no_room",
            DropReason::EcnDrop => "ecn_drop",
            DropReason::PolicyDiscard => "policy_discard",
            DropReason::NoPolicy => "no_policy",
        }
    }
}

/// Counters of one lcore: drops by reason, and what went through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LcoreCounters {
    pub drops: [u64; DropReason::ALL.len()],
    pub encrypted: u64,
    pub decrypted: u64,
    /// Dummy packets (next header 59): accepted by the window, then discarded.
    pub dummy: u64,
}

impl LcoreCounters {
    /// Counts one drop.
    pub fn drop(&mut self, reason: DropReason) {
        self.drops[reason as usize] += 1;
    }

    /// Drops counted for `reason`.
    pub fn drops_of(&self, reason: DropReason) -> u64 {
        self.drops[reason as usize]
    }

    /// Adds another lcore's counters (for readers that sum per-lcore copies).
    pub fn add(&mut self, other: &LcoreCounters) {
        for (a, b) in self.drops.iter_mut().zip(other.drops.iter()) {
            *a += b;
        }
        self.encrypted += other.encrypted;
        self.decrypted += other.decrypted;
        self.dummy += other.dummy;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_index_their_own_slot() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
        let mut c = LcoreCounters::default();
        c.drop(DropReason::Replay);
        let mut total = LcoreCounters::default();
        total.add(&c);
        total.add(&c);
        assert_eq!(total.drops_of(DropReason::Replay), 2);
        assert_eq!(total.drops_of(DropReason::IcvFailure), 0);
    }
}
