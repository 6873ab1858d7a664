//! The kernel interfaces VRRP speaks on: their index, MAC, addresses and carrier, and the
//! virtual addresses (and virtual-MAC macvlans) put on them while master. Rare, slow-path
//! work: it goes through /sys and iproute2.

use serde_json::Value;
use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::process::Command;
use toolkit::mac::MacAddr;

#[derive(Debug, thiserror::Error)]
pub enum NetifError {
    #[error("{0:?} is not an interface name")]
    BadName(String),
    #[error("{ifname}: {attr}: {source}")]
    Sys {
        ifname: String,
        attr: &'static str,
        source: io::Error,
    },
    #[error("{ifname}: {attr} {value:?} is not what it should be")]
    Malformed {
        ifname: String,
        attr: &'static str,
        value: String,
    },
    #[error("ip: {0}")]
    Spawn(io::Error),
    #[error("ip {args}: {stderr}")]
    Ip { args: String, stderr: String },
    #[error("ip -j addr: {0}")]
    Listing(serde_json::Error),
    #[error("{ifname} has no {family} address yet")]
    NoAddress {
        ifname: String,
        family: &'static str,
    },
}

fn sys(ifname: &str, attr: &'static str) -> Result<String, NetifError> {
    if ifname.contains('/') || ifname.is_empty() {
        return Err(NetifError::BadName(ifname.to_string()));
    }
    match std::fs::read_to_string(format!("/sys/class/net/{ifname}/{attr}")) {
        Ok(s) => Ok(s.trim().to_string()),
        Err(source) => Err(NetifError::Sys {
            ifname: ifname.to_string(),
            attr,
            source,
        }),
    }
}

/// A /sys attribute parsed, or the error that names what it held.
fn sys_parsed<T>(
    ifname: &str,
    attr: &'static str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<T, NetifError> {
    let value = sys(ifname, attr)?;
    parse(&value).ok_or_else(|| NetifError::Malformed {
        ifname: ifname.to_string(),
        attr,
        value,
    })
}

pub fn ifindex(ifname: &str) -> Result<u32, NetifError> {
    sys_parsed(ifname, "ifindex", |s| s.parse().ok())
}

pub fn mac(ifname: &str) -> Result<[u8; 6], NetifError> {
    sys_parsed(ifname, "address", parse_mac)
}

/// Whether the interface is up with a carrier (an interface that is down has none).
pub fn carrier(ifname: &str) -> bool {
    sys(ifname, "carrier").is_ok_and(|c| c == "1")
}

pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    s.parse::<MacAddr>().ok().map(MacAddr::octets)
}

pub fn format_mac(m: &[u8; 6]) -> String {
    MacAddr::from(*m).to_string()
}

/// The interface's addresses as iproute2 lists them, with their prefix lengths.
fn addresses(ifname: &str) -> Result<Vec<(IpAddr, u8)>, NetifError> {
    let out = ip_output(&["-j", "addr", "show", "dev", ifname])?;
    let v: Value = serde_json::from_slice(&out).map_err(NetifError::Listing)?;
    let mut found = Vec::new();
    for link in v.as_array().into_iter().flatten() {
        for a in link
            .get("addr_info")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let ip = a
                .get("local")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok());
            let len = a.get("prefixlen").and_then(Value::as_u64);
            if let (Some(ip), Some(len)) = (ip, len) {
                found.push((ip, len as u8));
            }
        }
    }
    Ok(found)
}

/// The address VRRP sends from: the interface's first IPv4 address that is not one of the
/// virtual ones (with a host prefix, those are ours), or its IPv6 link-local address.
pub fn primary_address(
    ifname: &str,
    ipv6: bool,
    virtual_addrs: &[IpAddr],
) -> Result<IpAddr, NetifError> {
    let addrs = addresses(ifname)?;
    let pick = addrs.iter().map(|(a, _)| *a).find(|a| match a {
        IpAddr::V4(_) => !ipv6 && !virtual_addrs.contains(a),
        IpAddr::V6(v6) => ipv6 && is_link_local(v6) && !virtual_addrs.contains(a),
    });
    pick.ok_or_else(|| NetifError::NoAddress {
        ifname: ifname.to_string(),
        family: if ipv6 { "IPv6 link-local" } else { "IPv4" },
    })
}

pub fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// Runs iproute2; its standard output, or what it said on failure.
fn ip_output(args: &[&str]) -> Result<Vec<u8>, NetifError> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(NetifError::Spawn)?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(NetifError::Ip {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

fn ip(args: &[&str]) -> Result<(), NetifError> {
    ip_output(args).map(drop)
}

/// Puts a virtual address on an interface (a host route's worth: /32 or /128, no DAD so
/// that it is usable at once).
pub fn add_address(ifname: &str, addr: IpAddr) -> Result<(), NetifError> {
    if addresses(ifname)?.iter().any(|(a, _)| *a == addr) {
        return Ok(());
    }
    match addr {
        IpAddr::V4(a) => ip(&["addr", "add", &format!("{a}/32"), "dev", ifname]),
        IpAddr::V6(a) => ip(&[
            "-6",
            "addr",
            "add",
            &format!("{a}/128"),
            "dev",
            ifname,
            "nodad",
        ]),
    }
}

pub fn del_address(ifname: &str, addr: IpAddr) -> Result<(), NetifError> {
    if !addresses(ifname)?.iter().any(|(a, _)| *a == addr) {
        return Ok(());
    }
    let len = if addr.is_ipv4() { 32 } else { 128 };
    ip(&["addr", "del", &format!("{addr}/{len}"), "dev", ifname])
}

/// A macvlan with the virtual MAC on `parent` (as keepalived's use_vmac), so that the kernel
/// answers ARP/ND for the virtual addresses with the virtual MAC. The parent then answers ARP
/// only for its own addresses (arp_ignore=1), or it would answer for the macvlan's too.
pub fn ensure_vmac(parent: &str, name: &str, vmac: [u8; 6]) -> Result<(), NetifError> {
    if sys(name, "ifindex").is_err() {
        ip(&[
            "link", "add", "link", parent, "name", name, "type", "macvlan", "mode", "private",
        ])?;
    }
    ip(&["link", "set", "dev", name, "address", &format_mac(&vmac)])?;
    // Both nodes have this MAC: a link-local address made from it fails DAD on one of them.
    // IPv6 VRRP speaks from the parent's link-local address, so the macvlan needs none.
    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/addr_gen_mode"), "1");
    ip(&["link", "set", "dev", name, "up"])?;
    // arp_announce=2: the parent's own ARP requests carry its own address as sender, not a
    // virtual one (whose owner, for the neighbours, is the virtual MAC).
    for (iface, key, val) in [
        (parent, "arp_ignore", "1"),
        (parent, "arp_announce", "2"),
        (name, "arp_ignore", "1"),
        (name, "arp_announce", "2"),
        (name, "accept_local", "1"),
    ] {
        let _ = std::fs::write(format!("/proc/sys/net/ipv4/conf/{iface}/{key}"), val);
    }
    Ok(())
}

pub fn remove_link(name: &str) {
    let _ = ip(&["link", "del", "dev", name]);
}

/// The name of the macvlan of a VRID: keepalived's `vrrp.N` scheme, with the family.
pub fn vmac_name(vrid: u8, ipv6: bool) -> String {
    format!("vrrp{}.{vrid}", if ipv6 { "6" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs() {
        assert_eq!(
            parse_mac("00:00:5e:00:01:33"),
            Some([0, 0, 0x5e, 0, 1, 0x33])
        );
        assert_eq!(parse_mac("00:00:5e:00:01"), None);
        assert_eq!(parse_mac("00:00:5e:00:01:33:44"), None);
        assert_eq!(parse_mac("zz:00:5e:00:01:33"), None);
        assert_eq!(format_mac(&[0, 0, 0x5e, 0, 2, 0xff]), "00:00:5e:00:02:ff");
    }

    #[test]
    fn loopback_is_readable_and_names_are_checked() {
        assert_eq!(ifindex("lo").unwrap(), 1);
        assert!(matches!(ifindex("../lo"), Err(NetifError::BadName(_))));
        assert!(matches!(
            ifindex("no-such-if0"),
            Err(NetifError::Sys {
                attr: "ifindex",
                ..
            })
        ));
        assert_eq!(vmac_name(51, false), "vrrp.51");
        assert_eq!(vmac_name(51, true), "vrrp6.51");
        assert!(is_link_local(&"fe80::1".parse().unwrap()));
        assert!(!is_link_local(&"2001:db8::1".parse().unwrap()));
    }
}
