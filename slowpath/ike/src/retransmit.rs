//! Request retransmission (RFC 7296 2.1): the requester alone retransmits, with exponential
//! back-off, and gives the IKE SA up once the tries are spent. The datagrams are kept exactly
//! as first sent (the responder recognises a retransmission by its message ID).

use std::time::Duration;

/// Retransmission settings, as strongSwan's `retransmit_timeout`, `retransmit_base` and
/// `retransmit_tries`: try `n` (0 for the first sending) waits `timeout * base^n`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetransmitConfig {
    pub timeout: Duration,
    pub base: f64,
    /// Retransmissions after the first sending; once they are spent and the last wait is
    /// over, the peer is dead.
    pub tries: u32,
}

impl Default for RetransmitConfig {
    fn default() -> Self {
        RetransmitConfig {
            timeout: Duration::from_secs(4),
            base: 1.8,
            tries: 5,
        }
    }
}

impl RetransmitConfig {
    /// How long to wait after sending try `n`.
    pub fn wait(&self, n: u32) -> Duration {
        let factor = self.base.max(1.0).powi(n.min(64) as i32);
        Duration::try_from_secs_f64(self.timeout.as_secs_f64() * factor).unwrap_or(Duration::MAX)
    }
}

/// One request in flight: its datagrams (several when fragmented) and when to send again.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Retransmit {
    pub datagrams: Vec<Vec<u8>>,
    /// Sendings so far (1 after the first).
    pub sent: u32,
    pub deadline: Duration,
}

/// What a passed deadline means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    NotYet,
    /// Send the datagrams again.
    Resend,
    /// Tries spent: the peer is dead.
    GiveUp,
}

impl Retransmit {
    /// A request sent for the first time at `now`.
    pub fn new(datagrams: Vec<Vec<u8>>, now: Duration, cfg: &RetransmitConfig) -> Retransmit {
        Retransmit {
            datagrams,
            sent: 1,
            deadline: now.saturating_add(cfg.wait(0)),
        }
    }

    /// Checks the deadline; on `Resend` the next deadline is already set.
    pub fn on_timer(&mut self, now: Duration, cfg: &RetransmitConfig) -> Expiry {
        if now < self.deadline {
            return Expiry::NotYet;
        }
        if self.sent > cfg.tries {
            return Expiry::GiveUp;
        }
        self.deadline = now.saturating_add(cfg.wait(self.sent));
        self.sent += 1;
        Expiry::Resend
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_then_give_up() {
        let cfg = RetransmitConfig {
            timeout: Duration::from_secs(1),
            base: 2.0,
            tries: 2,
        };
        let s = Duration::from_secs;
        let mut r = Retransmit::new(vec![vec![1]], s(0), &cfg);
        assert_eq!(r.deadline, s(1));
        assert_eq!(r.on_timer(s(0), &cfg), Expiry::NotYet);
        assert_eq!(r.on_timer(s(1), &cfg), Expiry::Resend);
        assert_eq!(r.deadline, s(3));
        assert_eq!(r.on_timer(s(3), &cfg), Expiry::Resend);
        assert_eq!(r.deadline, s(7));
        assert_eq!(r.on_timer(s(6), &cfg), Expiry::NotYet);
        assert_eq!(r.on_timer(s(7), &cfg), Expiry::GiveUp);
        assert_eq!(r.sent, 3);
    }

    #[test]
    fn huge_values_saturate() {
        let cfg = RetransmitConfig {
            timeout: Duration::from_secs(u64::MAX / 4),
            base: 1e300,
            tries: 100,
        };
        assert_eq!(cfg.wait(100), Duration::MAX);
    }
}
