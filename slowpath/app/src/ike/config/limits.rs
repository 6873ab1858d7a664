//! `ike-limits ...`: when IKE_SA_INIT requests must carry a cookie and how many half-open IKE
//! SAs the node keeps, with strongSwan's names (charon.cookie_threshold and so on) and its
//! defaults, plus a finite global cap:
//!
//! ```text
//! ike-limits cookie-threshold 10 cookie-threshold-ip 3 block-threshold 5
//!            (one line) init-limit-half-open 1000 half-open-timeout 30s
//! ```
//!
//! A cookie threshold of 0 asks every request for a cookie. Cookies cannot be turned off: a
//! source address must prove itself before it can spend a quota, so `cookie-threshold-ip`
//! must stay below `block-threshold` and `cookie-threshold` below `init-limit-half-open`.

use std::time::Duration;

use ike::responder::HalfOpenLimits;
use toolkit::config::Words;

/// The highest count any of the thresholds takes (a half-open SA holds a few KiB).
pub const MAX_COUNT: usize = 1_000_000;
/// The longest a half-open SA may wait for its IKE_AUTH.
const MAX_HALF_OPEN_TIMEOUT: Duration = Duration::from_secs(3600);

/// A count between `min` and `MAX_COUNT`.
fn count(w: &mut Words, what: &str, min: usize) -> Result<usize, String> {
    let n = w.next_u64(what)?;
    usize::try_from(n)
        .ok()
        .filter(|n| (min..=MAX_COUNT).contains(n))
        .ok_or_else(|| format!("{what}: {min} to {MAX_COUNT}"))
}

pub(super) fn parse_limits(mut w: Words) -> Result<HalfOpenLimits, String> {
    let mut l = HalfOpenLimits::default();
    if w.is_empty() {
        return Err("ike-limits: give at least one limit (e.g. block-threshold 5)".into());
    }
    while let Some(opt) = w.next_opt() {
        match opt {
            "cookie-threshold" => l.cookie_threshold = count(&mut w, opt, 0)?,
            "cookie-threshold-ip" => l.cookie_threshold_ip = count(&mut w, opt, 0)?,
            "block-threshold" => l.block_threshold = count(&mut w, opt, 1)?,
            "init-limit-half-open" => l.init_limit_half_open = count(&mut w, opt, 1)?,
            "half-open-timeout" => {
                l.half_open_timeout = w.next_duration(opt)?;
                if l.half_open_timeout.is_zero() || l.half_open_timeout > MAX_HALF_OPEN_TIMEOUT {
                    return Err("half-open-timeout: above 0, at most 1h".into());
                }
            }
            o => return Err(format!("unknown ike-limits option `{o}`")),
        }
    }
    // Past these a spoofer could fill a quota without ever answering a cookie.
    if l.cookie_threshold_ip >= l.block_threshold {
        return Err(format!(
            "cookie-threshold-ip {} must be below block-threshold {}",
            l.cookie_threshold_ip, l.block_threshold
        ));
    }
    if l.cookie_threshold >= l.init_limit_half_open {
        return Err(format!(
            "cookie-threshold {} must be below init-limit-half-open {}",
            l.cookie_threshold, l.init_limit_half_open
        ));
    }
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::super::parse_text;
    use super::*;

    const CONN: &str = "secret k psk 0x01\n\
        conn c local 192.0.2.1 remote any auth psk k ike aes128gcm16-prfsha256-ecp256\n\
        child n conn c local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128gcm16\n";

    #[test]
    fn defaults_are_strongswans_and_each_limit_is_set() {
        assert_eq!(parse_text(CONN).unwrap().limits, HalfOpenLimits::default());
        let text = format!(
            "{CONN}ike-limits cookie-threshold 20 cookie-threshold-ip 0 block-threshold 1 \
             init-limit-half-open 50 half-open-timeout 5s\n"
        );
        let l = parse_text(&text).unwrap().limits;
        assert_eq!(
            (l.cookie_threshold, l.cookie_threshold_ip, l.block_threshold),
            (20, 0, 1)
        );
        assert_eq!(l.init_limit_half_open, 50);
        assert_eq!(l.half_open_timeout, Duration::from_secs(5));
        // What is not said keeps its default; the top of every range is taken.
        let l = parse_text(&format!(
            "ike-limits init-limit-half-open 1000000 half-open-timeout 1h\n{CONN}"
        ))
        .unwrap()
        .limits;
        assert_eq!(l.init_limit_half_open, MAX_COUNT);
        assert_eq!(l.half_open_timeout, Duration::from_secs(3600));
        assert_eq!(l.block_threshold, HalfOpenLimits::default().block_threshold);
    }

    #[test]
    fn out_of_range_and_unsafe_limits_are_refused_at_their_line() {
        let cases: &[(&str, &str)] = &[
            ("", "give at least one limit"),
            ("block-threshold 0", "block-threshold: 1 to 1000000"),
            (
                "init-limit-half-open 0",
                "init-limit-half-open: 1 to 1000000",
            ),
            ("cookie-threshold 1000001", "cookie-threshold: 0 to 1000000"),
            ("cookie-threshold-ip 18446744073709551615", "0 to 1000000"),
            ("cookie-threshold-ip -1", "not a number"),
            ("block-threshold", "missing block-threshold"),
            (
                "half-open-timeout 0",
                "half-open-timeout: above 0, at most 1h",
            ),
            (
                "half-open-timeout 61m",
                "half-open-timeout: above 0, at most 1h",
            ),
            ("half-open-timeout soon", "is not a duration"),
            ("cookies off", "unknown ike-limits option `cookies`"),
            (
                "block-threshold 3",
                "cookie-threshold-ip 3 must be below block-threshold 3",
            ),
            (
                "cookie-threshold-ip 9 block-threshold 8",
                "cookie-threshold-ip 9 must be below block-threshold 8",
            ),
            (
                "init-limit-half-open 10",
                "cookie-threshold 10 must be below init-limit-half-open 10",
            ),
            (
                "cookie-threshold 0 init-limit-half-open 5\nike-limits block-threshold 6",
                "ike-limits is given twice",
            ),
        ];
        for (opts, want) in cases {
            let text = format!("{CONN}ike-limits {opts}\n");
            let e = parse_text(&text).unwrap_err();
            let line = if opts.contains('\n') { 5 } else { 4 };
            assert_eq!(e.line, line, "{opts}: {}", e.reason);
            assert!(
                e.reason.contains(want),
                "{opts}: `{}` lacks `{want}`",
                e.reason
            );
        }
    }
}
