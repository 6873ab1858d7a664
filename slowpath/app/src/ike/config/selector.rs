//! Traffic selectors: `local-ts` and `remote-ts` lists.

use ike::config::IkeConfig;
use ike::message::TrafficSelector;
use toolkit::config::{parse_ip, parse_prefix, parse_u16, parse_u8};

fn parse_port(s: &str) -> Result<u16, String> {
    parse_u16(s).map_err(|e| format!("port: {e}"))
}

/// Comma-separated selectors: `10.1.0.0/16`, `192.0.2.7`, `10.0.0.1-10.0.0.9`, `dynamic`
/// (the conn's own address; any address of its family when it asks for a virtual IP),
/// each with an optional `[PROTO]`, `[PROTO/PORT]` or `[PROTO/LO-HI]`.
pub(super) fn parse_ts_list(s: &str, conn: &IkeConfig) -> Result<Vec<TrafficSelector>, String> {
    let mut out = Vec::new();
    for item in s.split(',') {
        let (addr, proto) = match item.split_once('[') {
            Some((a, p)) => (
                a,
                Some(
                    p.strip_suffix(']')
                        .ok_or(format!("`{item}`: unterminated ["))?,
                ),
            ),
            None => (item, None),
        };
        let (ip_protocol, ports) = match proto {
            None => (0, (0, 65535)),
            Some(p) => parse_ts_proto(p)?,
        };
        let ts = if addr == "dynamic" {
            let local = conn.local_addr.ip();
            if conn.virtual_ip.request {
                let any = TrafficSelector::any(local.is_ipv6());
                TrafficSelector::new(ip_protocol, ports, any.start_addr, any.end_addr)
            } else {
                TrafficSelector::new(ip_protocol, ports, local, local)
            }
        } else if let Some((a, b)) = addr.split_once('-') {
            let (a, b) = (parse_ip(a)?, parse_ip(b)?);
            if a.is_ipv4() != b.is_ipv4() || a > b {
                return Err(format!("`{addr}` is not a range of one family"));
            }
            TrafficSelector::new(ip_protocol, ports, a, b)
        } else {
            let (a, len) = parse_prefix(addr)?;
            TrafficSelector::from_prefix(a, len, ip_protocol, ports)
                .ok_or(format!("`{addr}` is not a prefix"))?
        };
        out.push(ts);
    }
    Ok(out)
}

fn parse_ts_proto(p: &str) -> Result<(u8, (u16, u16)), String> {
    let (proto, port) = match p.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (p, None),
    };
    let proto = match proto {
        "" | "any" => 0,
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        "icmp6" | "ipv6-icmp" => 58,
        "sctp" => 132,
        n => parse_u8(n).map_err(|e| format!("protocol: {e}"))?,
    };
    let ports = match port {
        None | Some("" | "any" | "%any") => (0, 65535),
        Some(r) => {
            let (lo, hi) = match r.split_once('-') {
                Some((a, b)) => (parse_port(a)?, parse_port(b)?),
                None => {
                    let n = parse_port(r)?;
                    (n, n)
                }
            };
            if lo > hi {
                return Err(format!("port range {r} is backwards"));
            }
            if proto == 0 {
                return Err("ports need a protocol ([tcp/80])".into());
            }
            (lo, hi)
        }
    };
    Ok((proto, ports))
}
