//! A node's part in an HA pair, as the IKE core sees it: active (does everything) or standby
//! (keeps the state it is given, does nothing with it), and the knobs of a takeover.

use std::time::Duration;

/// Whether this node's IKE speaks for the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HaRole {
    /// Answers, initiates, runs timers (a node without HA is always this).
    #[default]
    Active,
    /// Passive: drops datagrams, initiates nothing, runs no timer; keeps imported state.
    Standby,
}

/// RFC 6311 and takeover settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HaSettings {
    /// Announce IKEV2_MESSAGE_ID_SYNC_SUPPORTED in IKE_AUTH, and answer a peer's sync.
    pub message_id_sync: bool,
    /// After a takeover, sync the message IDs of every IKE SA whose peer supports it.
    pub sync_at_takeover: bool,
    /// Added to our next request ID in a sync request (M1): the old active node may have
    /// used IDs after the last state we got, and a peer drops a sync whose M1 is below what
    /// it already saw (RFC 6311 5.1). The peer answers with the IDs to use.
    pub message_id_sync_margin: u32,
    /// Timers that fell due while standby fire spread over this long after a takeover,
    /// not all at once.
    pub takeover_spread: Duration,
}

impl Default for HaSettings {
    fn default() -> Self {
        HaSettings {
            message_id_sync: true,
            sync_at_takeover: true,
            message_id_sync_margin: 64,
            takeover_spread: Duration::from_secs(5),
        }
    }
}

/// Where SA `index` of `count` resumes after a takeover at `now`: evenly over `spread`.
pub fn takeover_slot(now: Duration, spread: Duration, index: usize, count: usize) -> Duration {
    let count = count.max(1) as u128;
    let nanos = spread.as_nanos() * (index as u128).min(count - 1) / count;
    now.saturating_add(Duration::from_nanos(
        u64::try_from(nanos).unwrap_or(u64::MAX),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_spread_evenly_and_start_now() {
        let s = Duration::from_secs;
        assert_eq!(takeover_slot(s(10), s(4), 0, 1), s(10));
        let slots: Vec<_> = (0..4).map(|i| takeover_slot(s(10), s(4), i, 4)).collect();
        assert_eq!(slots, vec![s(10), s(11), s(12), s(13)]);
        assert_eq!(takeover_slot(s(10), s(4), 9, 4), s(13));
        // Huge spreads saturate instead of overflowing.
        assert!(takeover_slot(s(1), Duration::MAX, 1, 2) > s(1_000_000));
    }
}
