//! The file's routing statements: `route PREFIX via ADDR port N` (a gateway), `route PREFIX
//! port N` (connected: the destination itself is the neighbour), and `kernel-routes on|off`
//! (the kernel's routes and neighbours mirrored through the ports' exception TAPs).

use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use toolkit::config::Words;

/// One `route` statement (the prefix's host bits are zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteSpec {
    pub addr: IpAddr,
    pub len: u8,
    /// The gateway; `None`: connected.
    pub via: Option<IpAddr>,
    pub port: u16,
}

/// `ADDR/LEN` (a bare address is a host route) with the host bits zero, as `ip route` wants.
fn route_prefix(w: &mut Words<'_>) -> Result<(IpAddr, u8), String> {
    let (addr, len) = w.next_prefix("route prefix")?;
    let key = match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)) << 96,
        IpAddr::V6(a) => u128::from(a),
    };
    if key.checked_shl(u32::from(len)).unwrap_or(0) != 0 {
        return Err(format!("route prefix {addr}/{len} has host bits set"));
    }
    Ok((addr, len))
}

/// The words after `route`.
pub fn parse_route(words: &[&str]) -> Result<RouteSpec, String> {
    let mut w = Words::new(words);
    let (addr, len) = route_prefix(&mut w)?;
    let mut via = None;
    if w.peek() == Some("via") {
        w.next("via")?;
        let gw = w.next_ip("gateway address")?;
        if gw.is_unspecified() || gw.is_multicast() {
            return Err(format!("gateway {gw} is not a unicast address"));
        }
        if gw.is_ipv4() != addr.is_ipv4() {
            return Err(format!("gateway {gw} is not of the prefix's family"));
        }
        via = Some(gw);
    }
    match w.next("`port N` (or `via ADDR port N`)")? {
        "port" => {}
        k => {
            return Err(format!(
                "route option `{k}`: want `via ADDR port N` or `port N`"
            ))
        }
    }
    let port = w.next_u16("port id")?;
    if let Some(k) = w.peek() {
        return Err(format!("unexpected `{k}` after the route's port"));
    }
    Ok(RouteSpec {
        addr,
        len,
        via,
        port,
    })
}

/// The words after `kernel-routes`.
pub fn parse_on_off(words: &[&str]) -> Result<bool, String> {
    match words {
        ["on"] => Ok(true),
        ["off"] => Ok(false),
        _ => Err("kernel-routes: want on or off".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(s: &str) -> Result<RouteSpec, String> {
        parse_route(&s.split_whitespace().collect::<Vec<_>>())
    }

    #[test]
    fn gateways_and_connected_routes_of_both_families() {
        let r = route("10.1.0.0/16 via 10.0.0.254 port 0").unwrap();
        assert_eq!(r.addr, "10.1.0.0".parse::<IpAddr>().unwrap());
        assert_eq!((r.len, r.port), (16, 0));
        assert_eq!(r.via, Some("10.0.0.254".parse().unwrap()));
        let r = route("2001:db8:1::/48 port 1").unwrap();
        assert_eq!((r.len, r.port, r.via), (48, 1, None));
        assert_eq!(route("0.0.0.0/0 port 1").unwrap().len, 0);
        assert_eq!(route("::/0 via fe80::1 port 1").unwrap().len, 0);
        assert_eq!(route("10.0.0.1/32 port 0").unwrap().len, 32);
    }

    #[test]
    fn bad_routes_say_why() {
        for (s, want) in [
            ("10.0.0.300/8 port 0", "route prefix"),
            ("10.0.0.0/33 port 0", "prefix length"),
            ("10.0.0.0/x port 0", "prefix length"),
            ("10.0.0.1/24 port 0", "host bits"),
            ("2001:db8::1/64 port 0", "host bits"),
            ("10.0.0.0/8 via 2001:db8::1 port 0", "family"),
            ("10.0.0.0/8 via port 0", "gateway address"),
            ("10.0.0.0/8 via 0.0.0.0 port 0", "not a unicast"),
            ("::/0 via ff02::1 port 0", "not a unicast"),
            ("10.0.0.0/8", "port N"),
            ("10.0.0.0/8 dev eth0", "want `via ADDR port N`"),
            ("10.0.0.0/8 port", "port id"),
            ("10.0.0.0/8 port 0 metric 5", "unexpected `metric`"),
        ] {
            let e = route(s).unwrap_err();
            assert!(e.contains(want), "{s}: `{e}` lacks `{want}`");
        }
        assert_eq!(parse_on_off(&["on"]), Ok(true));
        assert_eq!(parse_on_off(&["off"]), Ok(false));
        assert!(parse_on_off(&["yes"]).is_err());
        assert!(parse_on_off(&[]).is_err());
    }
}
