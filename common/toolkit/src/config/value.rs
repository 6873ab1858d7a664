//! Parsers of single values; each error is a reason without file or line.

use std::net::IpAddr;

/// A decimal or `0x` hexadecimal number, checked: never wrapped or truncated.
pub fn parse_u64(s: &str) -> Result<u64, String> {
    let (digits, radix) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => (h, 16),
        None => (s, 10),
    };
    let valid = |b: u8| {
        if radix == 16 {
            b.is_ascii_hexdigit()
        } else {
            b.is_ascii_digit()
        }
    };
    if digits.is_empty() || !digits.bytes().all(valid) {
        return Err(format!("`{s}` is not a number"));
    }
    u64::from_str_radix(digits, radix).map_err(|_| format!("`{s}` is over {}", u64::MAX))
}

fn parse_narrow<T: TryFrom<u64>>(s: &str, max: u64) -> Result<T, String> {
    let n = parse_u64(s)?;
    T::try_from(n).map_err(|_| format!("`{s}` is over {max}"))
}

pub fn parse_u32(s: &str) -> Result<u32, String> {
    parse_narrow(s, u32::MAX.into())
}

pub fn parse_u16(s: &str) -> Result<u16, String> {
    parse_narrow(s, u16::MAX.into())
}

pub fn parse_u8(s: &str) -> Result<u8, String> {
    parse_narrow(s, u8::MAX.into())
}

pub fn parse_ip(s: &str) -> Result<IpAddr, String> {
    s.parse().map_err(|_| format!("`{s}` is not an IP address"))
}

/// `ADDR:PORT`, `[ADDR6]:PORT` (a listening address).
pub fn parse_socket_addr(s: &str) -> Result<std::net::SocketAddr, String> {
    s.parse()
        .map_err(|_| format!("`{s}` is not ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)"))
}

/// `ADDR/LEN`, or `ADDR` alone for a host (LEN 32 or 128). Host bits are kept as written.
pub fn parse_prefix(s: &str) -> Result<(IpAddr, u8), String> {
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr = parse_ip(a)?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        Some(l) => Some(l)
            .filter(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|l| l.parse::<u8>().ok())
            .filter(|l| *l <= max)
            .ok_or(format!("`{s}`: the prefix length is 0 to {max}"))?,
        None => max,
    };
    Ok((addr, len))
}

/// Bytes in hexadecimal: an optional `0x`, pairs of digits, `:` allowed between pairs.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let bad = || format!("`{s}` is not hex (0x0102…, 01:02:…)");
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    let mut out = Vec::with_capacity(digits.len() / 2);
    for group in digits.split(':') {
        let g = group.as_bytes();
        if g.is_empty() || g.len() % 2 != 0 {
            return Err(bad());
        }
        for pair in g.chunks_exact(2) {
            let hi = (pair[0] as char).to_digit(16).ok_or_else(bad)?;
            let lo = (pair[1] as char).to_digit(16).ok_or_else(bad)?;
            out.push((hi << 4 | lo) as u8);
        }
    }
    Ok(out)
}
