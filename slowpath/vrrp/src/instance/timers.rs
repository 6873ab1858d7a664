//! The RFC timer formulas, exact to the nanosecond (keepalived uses microseconds; RFC 5798 states
//! them in centiseconds, a coarser rounding of the same values).

use crate::wire::Version;
use std::time::Duration;

/// One centisecond, the unit of VRRPv3 intervals.
pub const CENTISECOND: Duration = Duration::from_millis(10);

/// An interval in centiseconds as a Duration (0 is taken as 1: a zero interval would spin).
pub fn centiseconds(cs: u16) -> Duration {
    CENTISECOND * u32::from(cs.max(1))
}

/// Skew_Time. v3 (RFC 5798 §6.1): ((256 - Priority) * Master_Adver_Interval) / 256;
/// v2 (RFC 3768 §6.1): (256 - Priority) / 256 seconds.
pub fn skew_time(version: Version, priority: u8, master_adver_interval: Duration) -> Duration {
    let weight = 256 - u128::from(priority);
    let base = match version {
        Version::V3 => master_adver_interval.as_nanos(),
        Version::V2 => Duration::from_secs(1).as_nanos(),
    };
    Duration::from_nanos((base * weight / 256) as u64)
}

/// Master_Down_Interval: (3 * Master_Adver_Interval) + Skew_Time.
pub fn master_down_interval(
    version: Version,
    priority: u8,
    master_adver_interval: Duration,
) -> Duration {
    master_adver_interval * 3 + skew_time(version, priority, master_adver_interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_formulas() {
        let one_s = Duration::from_secs(1);
        // v3, priority 100, 1 s: skew = 156/256 s = 609.375 ms.
        assert_eq!(
            skew_time(Version::V3, 100, one_s),
            Duration::from_micros(609_375)
        );
        assert_eq!(
            master_down_interval(Version::V3, 100, one_s),
            Duration::from_micros(3_609_375)
        );
        // v3 scales with the interval.
        assert_eq!(
            skew_time(Version::V3, 100, one_s * 2),
            Duration::from_micros(1_218_750)
        );
        // v2 does not: always (256 - p)/256 s.
        assert_eq!(
            skew_time(Version::V2, 100, one_s * 2),
            Duration::from_micros(609_375)
        );
        assert_eq!(
            master_down_interval(Version::V2, 100, one_s * 2),
            Duration::from_micros(6_609_375)
        );
        // Priority 255 has the smallest skew.
        assert_eq!(
            skew_time(Version::V3, 255, one_s),
            Duration::from_micros(3_906) + Duration::from_nanos(250)
        );
        assert_eq!(centiseconds(0), CENTISECOND);
        assert_eq!(centiseconds(4095), Duration::from_millis(40_950));
    }
}
