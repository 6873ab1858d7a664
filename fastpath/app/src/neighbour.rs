//! Next-hop resolution from the kernel's neighbour table. The kernel holds the node's
//! addresses on the exception TAPs and does ARP/ND through them (the fast path carries those
//! frames); a resolver thread on the control side reads the entries it learnt and publishes
//! each next hop's MAC to the workers through an atomic. When an entry is missing it sends one
//! UDP datagram to the next hop through the TAP, which makes the kernel solicit it.

use crate::worker::mac_to_u64;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// One next hop to keep resolved.
pub struct NextHop {
    /// The kernel interface (the port's exception TAP) it is reached through.
    pub ifname: String,
    pub addr: IpAddr,
    /// Where workers read the MAC (0 while unresolved).
    pub mac: Arc<AtomicU64>,
}

/// The name of the kernel interface whose MAC is `mac` (a net_tap's kernel side has the
/// port's MAC).
pub fn ifname_by_mac(mac: [u8; 6]) -> Option<String> {
    let want = format_mac(mac);
    std::fs::read_dir("/sys/class/net")
        .ok()?
        .flatten()
        .find_map(|e| {
            let addr = std::fs::read_to_string(e.path().join("address")).ok()?;
            (addr.trim() == want).then(|| e.file_name().to_string_lossy().into_owned())
        })
}

pub fn format_mac(m: [u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

/// Parses `ip -j neigh show` output: the link-layer address of `addr`, if the kernel has
/// a usable one (not FAILED or INCOMPLETE).
pub fn parse_neigh_json(json: &str, addr: IpAddr) -> Option<[u8; 6]> {
    let entries: Vec<serde_json::Value> = serde_json::from_str(json).ok()?;
    entries.iter().find_map(|e| {
        let dst: IpAddr = e.get("dst")?.as_str()?.parse().ok()?;
        if dst != addr {
            return None;
        }
        let states: Vec<&str> = e
            .get("state")
            .and_then(|s| s.as_array())
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        if states.iter().any(|s| *s == "FAILED" || *s == "INCOMPLETE") {
            return None;
        }
        let ll = e.get("lladdr")?.as_str()?;
        let bytes: Vec<u8> = ll
            .split(':')
            .filter_map(|b| u8::from_str_radix(b, 16).ok())
            .collect();
        bytes.try_into().ok()
    })
}

fn kernel_neighbour(ifname: &str, addr: IpAddr) -> Option<[u8; 6]> {
    let out = Command::new("ip")
        .args([
            "-j",
            "neigh",
            "show",
            "dev",
            ifname,
            "to",
            &addr.to_string(),
        ])
        .output()
        .ok()?;
    parse_neigh_json(&String::from_utf8_lossy(&out.stdout), addr)
}

/// Makes the kernel solicit `addr` on `ifname`: a one-byte datagram to the discard port.
fn solicit(ifname: &str, addr: IpAddr) {
    let bind: SocketAddr = if addr.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }
    .parse()
    .expect("literal");
    let Ok(sock) = UdpSocket::bind(bind) else {
        return;
    };
    let sock = socket2::Socket::from(sock);
    if sock.bind_device(Some(ifname.as_bytes())).is_ok() {
        let _ = sock.send_to(&[0], &SocketAddr::new(addr, 9).into());
    }
}

/// Keeps every next hop resolved until `stop`; checks twice a second.
pub fn spawn_resolver(hops: Vec<NextHop>, stop: Arc<AtomicBool>) -> Option<JoinHandle<()>> {
    if hops.is_empty() {
        return None;
    }
    let spawned = std::thread::Builder::new()
        .name("neighbours".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for h in &hops {
                    match kernel_neighbour(&h.ifname, h.addr) {
                        Some(mac) => h.mac.store(mac_to_u64(mac), Ordering::Relaxed),
                        None => solicit(&h.ifname, h.addr),
                    }
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        });
    spawned.ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::mac_from_u64;

    #[test]
    fn reads_usable_entries_only() {
        let json = r#"[{"dst":"192.0.2.2","lladdr":"02:00:00:00:00:0b","state":["REACHABLE"]},
            {"dst":"192.0.2.3","state":["FAILED"]},
            {"dst":"192.0.2.4","lladdr":"02:00:00:00:00:0c","state":["INCOMPLETE"]},
            {"dst":"2001:db8::2","lladdr":"02:00:00:00:00:0d","state":["STALE"]}]"#;
        let a = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            parse_neigh_json(json, a("192.0.2.2")),
            Some([2, 0, 0, 0, 0, 0x0b])
        );
        assert_eq!(parse_neigh_json(json, a("192.0.2.3")), None);
        assert_eq!(parse_neigh_json(json, a("192.0.2.4")), None);
        assert_eq!(
            parse_neigh_json(json, a("2001:db8::2")),
            Some([2, 0, 0, 0, 0, 0x0d])
        );
        assert_eq!(parse_neigh_json("not json", a("192.0.2.2")), None);
        let m = [0xde, 0xad, 0xbe, 0xef, 0, 1];
        assert_eq!(mac_from_u64(mac_to_u64(m)), m);
        assert_eq!(format_mac(m), "de:ad:be:ef:00:01");
    }
}
