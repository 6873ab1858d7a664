//! Timer arithmetic on the caller's clock: deadlines are absolute `Duration`s since the
//! caller's epoch, so they can be exported and compared on another node with the same clock.

use std::time::Duration;

use crate::rng::{random_u64, RngSource};

/// `base` shortened by a random amount up to `jitter` (as strongSwan's rand_time): both
/// peers configured alike then rarely rekey at the same instant.
pub fn jittered(base: Duration, jitter: Duration, rng: &mut dyn RngSource) -> Duration {
    let j = jitter.min(base).as_millis() as u64;
    if j == 0 {
        return base;
    }
    base - Duration::from_millis(random_u64(rng) % (j + 1))
}

/// The earlier of two optional deadlines.
pub fn earliest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// A deadline `after` from `now`, or none when `after` is zero (disabled).
pub fn deadline(now: Duration, after: Duration) -> Option<Duration> {
    (!after.is_zero()).then(|| now.saturating_add(after))
}

/// Whether an optional deadline has passed.
pub fn due(deadline: Option<Duration>, now: Duration) -> bool {
    deadline.is_some_and(|d| d <= now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::TestRng;

    #[test]
    fn jitter_bounds() {
        let mut rng = TestRng::new(9);
        let base = Duration::from_secs(100);
        for _ in 0..100 {
            let t = jittered(base, Duration::from_secs(10), &mut rng);
            assert!(t <= base && t >= Duration::from_secs(90));
        }
        assert_eq!(jittered(base, Duration::ZERO, &mut rng), base);
        assert!(jittered(Duration::from_secs(1), Duration::from_secs(5), &mut rng) <= base);
    }

    #[test]
    fn deadlines() {
        let s = Duration::from_secs;
        assert_eq!(earliest(Some(s(3)), Some(s(2))), Some(s(2)));
        assert_eq!(earliest(None, Some(s(2))), Some(s(2)));
        assert_eq!(earliest(None, None), None);
        assert_eq!(deadline(s(1), Duration::ZERO), None);
        assert_eq!(deadline(s(1), s(2)), Some(s(3)));
        assert!(due(Some(s(1)), s(1)) && !due(Some(s(2)), s(1)) && !due(None, s(1)));
    }
}
