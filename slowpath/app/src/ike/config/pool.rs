//! `pool NAME PREFIX|FIRST-LAST [dns A] [nbns A] [dhcp A] [subnet PREFIX]`: virtual IPs to
//! hand out (IPv4).

use std::net::{IpAddr, Ipv4Addr};

use ike::pool::PoolConfig;
use toolkit::config::{parse_prefix, Words};

use super::check_name;

fn v4(s: &str) -> Result<Ipv4Addr, String> {
    s.parse()
        .map_err(|_| format!("`{s}` is not an IPv4 address (pools are IPv4)"))
}

/// `10.3.0.0/24` (the addresses between network and broadcast) or `10.3.0.10-10.3.0.99`.
pub(super) fn parse_pool(mut w: Words) -> Result<PoolConfig, String> {
    let name = w.next("a pool name")?;
    check_name(name)?;
    let range = w.next("PREFIX|FIRST-LAST [dns A] [nbns A] [dhcp A] [subnet PREFIX]")?;
    let (first, last) = if let Some((a, b)) = range.split_once('-') {
        let (a, b) = (v4(a)?, v4(b)?);
        if a > b {
            return Err(format!("pool range {range} is backwards"));
        }
        (a, b)
    } else {
        let (addr, len) = parse_prefix(range)?;
        let IpAddr::V4(addr) = addr else {
            return Err("pools are IPv4".into());
        };
        let host = u32::MAX.checked_shr(u32::from(len)).unwrap_or(0);
        let net = u32::from(addr) & !host;
        if len >= 31 {
            (Ipv4Addr::from(net), Ipv4Addr::from(net | host))
        } else {
            (Ipv4Addr::from(net + 1), Ipv4Addr::from((net | host) - 1))
        }
    };
    let mut pool = PoolConfig {
        name: name.to_string(),
        first,
        last,
        netmask: None,
        dns: vec![],
        nbns: vec![],
        dhcp: vec![],
        subnets: vec![],
    };
    while let Some(opt) = w.next_opt() {
        match opt {
            "dns" => pool.dns.push(v4(w.next(opt)?)?),
            "nbns" => pool.nbns.push(v4(w.next(opt)?)?),
            "dhcp" => pool.dhcp.push(v4(w.next(opt)?)?),
            "subnet" => {
                let (addr, len) = w.next_prefix(opt)?;
                let IpAddr::V4(addr) = addr else {
                    return Err("subnet: IPv4".into());
                };
                let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
                pool.subnets
                    .push((Ipv4Addr::from(u32::from(addr) & mask), Ipv4Addr::from(mask)));
            }
            o => return Err(format!("unknown pool option `{o}`")),
        }
    }
    Ok(pool)
}
