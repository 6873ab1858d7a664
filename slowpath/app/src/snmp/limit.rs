//! The rate limit of one trap receiver: a token bucket, so that a flapping peer or thousands
//! of crypto groups switching at once cost the NMS at most `burst` traps at once and `rate`
//! a second after that. What it holds back is counted; a run of suppression ends when the
//! bucket has filled up again (the flood is over), and is then reported once.
//!
//! Time is passed in (`now` since the sender's start), so tests drive it with a fake clock.

pub use crate::config::TrapRate;
use std::time::Duration;

/// What the bucket counts in: a thousandth of a token, so that refills stay integral.
const MILLI: u64 = 1000;

/// A run of suppression that has ended: how many traps it held back, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suppressed {
    pub count: u64,
    pub first: Duration,
    pub last: Duration,
}

#[derive(Debug)]
pub struct TokenBucket {
    rate: TrapRate,
    milli_tokens: u64,
    refilled_at: Duration,
    /// The current run of suppression, if one is under way.
    run: Option<Suppressed>,
    pub suppressed_total: u64,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(rate: TrapRate, now: Duration) -> TokenBucket {
        TokenBucket {
            rate,
            milli_tokens: capacity(rate),
            refilled_at: now,
            run: None,
            suppressed_total: 0,
        }
    }

    pub fn rate(&self) -> TrapRate {
        self.rate
    }

    /// True while traps are being held back (a run has not ended yet).
    pub fn suppressing(&self) -> bool {
        self.run.is_some()
    }

    /// Takes a token for one trap at `now`: true to send it, false when it is suppressed.
    pub fn admit(&mut self, now: Duration) -> bool {
        self.refill(now);
        if self.milli_tokens >= MILLI {
            self.milli_tokens -= MILLI;
            return true;
        }
        self.suppressed_total += 1;
        let run = self.run.get_or_insert(Suppressed {
            count: 0,
            first: now,
            last: now,
        });
        run.count += 1;
        run.last = now;
        false
    }

    /// The run of suppression that ended by `now` (the bucket is full again), once.
    pub fn ended(&mut self, now: Duration) -> Option<Suppressed> {
        self.refill(now);
        if self.milli_tokens < capacity(self.rate) {
            return None;
        }
        self.run.take()
    }

    fn refill(&mut self, now: Duration) {
        let elapsed = now.saturating_sub(self.refilled_at);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        // micros * per_second / 1000 milli-tokens; whole milli-tokens only, the rest of the
        // time stays for the next refill.
        let per_second = u64::from(self.rate.per_second);
        if per_second == 0 {
            return;
        }
        let gained = micros.saturating_mul(per_second) / 1000;
        if gained == 0 {
            return;
        }
        let used_micros = gained * 1000 / per_second;
        self.refilled_at += Duration::from_micros(used_micros);
        self.milli_tokens = self
            .milli_tokens
            .saturating_add(gained)
            .min(capacity(self.rate));
        if self.milli_tokens == capacity(self.rate) {
            self.refilled_at = self.refilled_at.max(now);
        }
    }
}

fn capacity(rate: TrapRate) -> u64 {
    u64::from(rate.burst) * MILLI
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn bucket(per_second: u32, burst: u32) -> TokenBucket {
        TokenBucket::new(TrapRate { per_second, burst }, ms(0))
    }

    /// 10,000 groups switching at once: the burst goes out, the rest is counted.
    #[test]
    fn a_storm_sends_the_burst_and_counts_the_rest() {
        let mut b = bucket(50, 100);
        let sent = (0..10_000).filter(|_| b.admit(ms(1000))).count();
        assert_eq!(sent, 100);
        assert_eq!(b.suppressed_total, 9_900);
        assert!(b.suppressing());
        assert_eq!(b.ended(ms(1000)), None, "the bucket is empty");
    }

    /// After the burst, a steady flood gets exactly the rate through.
    #[test]
    fn a_steady_flood_gets_the_rate_through() {
        let mut b = bucket(50, 100);
        let mut sent = 0;
        // 1000 traps a second for 10 s, one every millisecond.
        for t in 0..10_000 {
            sent += usize::from(b.admit(ms(t)));
        }
        // The burst, then 50 a second for the 10 s (less the first token's 20 ms).
        assert!((100 + 499..=100 + 500).contains(&sent), "{sent}");
        assert_eq!(b.suppressed_total, 10_000 - sent as u64);
    }

    /// The run ends when the bucket is full again (burst / rate of quiet), and is reported
    /// once, with its count and span.
    #[test]
    fn suppression_ends_once_the_bucket_is_full_again() {
        let mut b = bucket(10, 5);
        for _ in 0..8 {
            b.admit(ms(100));
        }
        assert!(!b.admit(ms(150)));
        assert_eq!(b.suppressed_total, 4);
        // Five tokens take 500 ms at 10/s; 300 ms after the last trap is not enough.
        assert_eq!(b.ended(ms(450)), None);
        assert!(b.suppressing());
        // Traps are admitted again before the run ends: one token per 100 ms.
        assert!(b.admit(ms(460)));
        assert_eq!(
            b.ended(ms(650)),
            None,
            "the token taken at 460 ms is missing"
        );
        let end = b.ended(ms(700)).expect("full again");
        assert_eq!(
            end,
            Suppressed {
                count: 4,
                first: ms(100),
                last: ms(150)
            }
        );
        assert!(!b.suppressing());
        assert_eq!(b.ended(ms(5000)), None, "reported once");
        assert_eq!(b.suppressed_total, 4, "the total stays");
    }

    /// A peer flapping below the rate never loses a trap.
    #[test]
    fn traps_below_the_rate_all_go_out() {
        let mut b = bucket(2, 3);
        for i in 0..100 {
            assert!(b.admit(ms(600 * i)), "trap {i}");
        }
        assert_eq!(b.suppressed_total, 0);
        assert_eq!(b.ended(ms(60_000)), None, "nothing to report");
    }

    /// A clock that does not move (or steps back) refills nothing.
    #[test]
    fn time_standing_still_refills_nothing() {
        let mut b = bucket(1000, 1);
        assert!(b.admit(ms(5)));
        assert!(!b.admit(ms(5)));
        assert!(!b.admit(ms(4)));
        assert!(b.admit(ms(6)));
    }
}
