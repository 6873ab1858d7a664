//! The one duration grammar of every configuration file and control command.
//!
//! A duration is one or more `<number><unit>` terms written together, summed:
//!
//! | unit | meaning                          |
//! |------|----------------------------------|
//! | `d`  | days (86,400 s)                  |
//! | `h`  | hours                            |
//! | `m`  | minutes                          |
//! | `s`  | seconds                          |
//! | `cs` | centiseconds (VRRP's own unit)   |
//! | `ms` | milliseconds                     |
//! | `us` | microseconds                     |
//!
//! Examples: `1h10m`, `150cs`, `1s500ms`, `100ms`, `2d`. Numbers are decimal digits only.
//! A bare number is refused ("wants a unit": `90` could be seconds or milliseconds), except
//! `0`, which is the same in every unit and is how configurations say "never" (`rekey 0`).
//! Every duration is at most [`MAX`] (ten years): no timer needs more, and adding it to an
//! `Instant` can never overflow. Arithmetic is checked, so an overlong term is an error,
//! never a panic or a wrapped value.

use std::time::Duration;

/// The longest duration the grammar accepts: ten years of 365 days.
pub const MAX: Duration = Duration::from_secs(10 * 365 * 86_400);

const EXAMPLES: &str = "100ms, 150cs, 30s, 10m, 1h10m, 2d";

/// Parses a duration of the grammar above; the error is a reason without file or line.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(format!("an empty duration ({EXAMPLES})"));
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{s}` wants a unit ({EXAMPLES})"));
    }
    let bad = || format!("`{s}` is not a duration ({EXAMPLES})");
    let too_long = || format!("`{s}` is over ten years");
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| too_long())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(|b| !b.is_ascii_digit()).count();
        let (unit, tail) = rest.split_at(unit_len);
        rest = tail;
        let term = match unit {
            "d" => n.checked_mul(86_400).map(Duration::from_secs),
            "h" => n.checked_mul(3_600).map(Duration::from_secs),
            "m" => n.checked_mul(60).map(Duration::from_secs),
            "s" => Some(Duration::from_secs(n)),
            "cs" => n.checked_mul(10).map(Duration::from_millis),
            "ms" => Some(Duration::from_millis(n)),
            "us" => Some(Duration::from_micros(n)),
            _ => return Err(bad()),
        };
        total = term
            .and_then(|t| total.checked_add(t))
            .filter(|t| *t <= MAX)
            .ok_or_else(too_long)?;
    }
    Ok(total)
}
