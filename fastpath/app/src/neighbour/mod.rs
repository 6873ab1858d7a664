//! Next-hop resolution from the kernel's neighbour table. The kernel holds the node's
//! addresses on the exception TAPs and does ARP/ND through them (the fast path carries those
//! frames); a resolver thread on the control side reads the table once through netlink, then
//! hears its changes as they happen, and publishes each next hop's MAC to the workers through
//! an atomic. While an entry is missing or unusable it sends one UDP datagram to the next hop
//! through the TAP now and then, which makes the kernel solicit it.

pub mod netlink;

// The control socket prints MACs from here.

use netlink::{Neighbour, NeighbourSocket};
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use toolkit::mac::MacAddr;

/// How long a receive waits before the thread looks at its stop flag again.
const RECEIVE_TIMEOUT: Duration = Duration::from_millis(100);
/// Between two solicitations of an unresolved next hop.
const SOLICIT_EVERY: Duration = Duration::from_millis(500);
/// Time for the dump to answer before the first solicitation.
const FIRST_SOLICIT_AFTER: Duration = Duration::from_millis(100);

/// A kernel network interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub index: u32,
}

/// One next hop to keep resolved.
pub struct NextHop {
    /// The kernel interface (the port's exception TAP) it is reached through.
    pub interface: Interface,
    pub addr: IpAddr,
    /// Where workers read the MAC (0 while unresolved).
    pub mac: Arc<AtomicU64>,
}

/// Why the resolver could not start.
#[derive(Debug, thiserror::Error)]
pub enum ResolverError {
    #[error("netlink socket for the neighbour table: {0}")]
    Netlink(#[source] io::Error),
    #[error("starting the neighbour resolver thread: {0}")]
    Spawn(#[source] io::Error),
}

/// The kernel interface whose MAC is `mac` (a net_tap's kernel side has the port's MAC).
pub fn interface_by_mac(mac: [u8; 6]) -> Option<Interface> {
    let want = MacAddr::from(mac).to_string();
    std::fs::read_dir("/sys/class/net")
        .ok()?
        .flatten()
        .find_map(|e| {
            let addr = std::fs::read_to_string(e.path().join("address")).ok()?;
            if addr.trim() != want {
                return None;
            }
            let index = std::fs::read_to_string(e.path().join("ifindex")).ok()?;
            Some(Interface {
                name: e.file_name().to_string_lossy().into_owned(),
                index: index.trim().parse().ok()?,
            })
        })
}

/// Makes the kernel solicit `addr` on `ifname`: a one-byte datagram to the discard port.
pub(crate) fn solicit(ifname: &str, addr: IpAddr) {
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

/// The next hops and whether each has a usable entry now.
struct Resolver {
    hops: Vec<NextHop>,
    resolved: Vec<bool>,
}

impl Resolver {
    /// Takes what the kernel reported about one entry. An entry that went away or became
    /// unusable leaves the last MAC in place until the kernel resolves it again.
    fn learn(&mut self, n: &Neighbour) {
        for (h, resolved) in self.hops.iter().zip(&mut self.resolved) {
            if h.interface.index != n.ifindex || h.addr != n.addr {
                continue;
            }
            *resolved = n.mac.is_some();
            if let Some(mac) = n.mac {
                let old = h.mac.swap(mac.to_u64(), Ordering::Relaxed);
                if old != mac.to_u64() {
                    tracing::info!("next hop {} on {} is {mac}", h.addr, h.interface.name);
                }
            }
        }
    }

    fn solicit_unresolved(&self) {
        for (h, _) in self.hops.iter().zip(&self.resolved).filter(|(_, r)| !**r) {
            solicit(&h.interface.name, h.addr);
        }
    }
}

/// Keeps every next hop resolved until `stop`: a dump of the table, then its events.
pub fn spawn_resolver(
    hops: Vec<NextHop>,
    stop: Arc<AtomicBool>,
) -> Result<Option<JoinHandle<()>>, ResolverError> {
    if hops.is_empty() {
        return Ok(None);
    }
    let mut socket = NeighbourSocket::open(RECEIVE_TIMEOUT).map_err(ResolverError::Netlink)?;
    socket.request_dump().map_err(ResolverError::Netlink)?;
    let mut resolver = Resolver {
        resolved: vec![false; hops.len()],
        hops,
    };
    let thread = std::thread::Builder::new()
        .name("neighbours".into())
        .spawn(move || {
            let mut next_solicit = Instant::now() + FIRST_SOLICIT_AFTER;
            while !stop.load(Ordering::Relaxed) {
                match socket.receive() {
                    Ok(entries) => entries.iter().for_each(|n| resolver.learn(n)),
                    Err(e) if is_timeout(&e) => {}
                    // The socket's buffer overflowed and events were lost: read it all again.
                    Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                        if let Err(e) = socket.request_dump() {
                            tracing::warn!("neighbour table dump: {e}");
                        }
                    }
                    Err(e) => {
                        tracing::warn!("neighbour events: {e}");
                        std::thread::sleep(RECEIVE_TIMEOUT);
                    }
                }
                if Instant::now() >= next_solicit {
                    resolver.solicit_unresolved();
                    next_solicit = Instant::now() + SOLICIT_EVERY;
                }
            }
        })
        .map_err(ResolverError::Spawn)?;
    Ok(Some(thread))
}

pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac_from(v: u64) -> [u8; 6] {
        MacAddr::from_u64(v).octets()
    }

    fn hop(index: u32, addr: &str) -> NextHop {
        NextHop {
            interface: Interface {
                name: format!("tap{index}"),
                index,
            },
            addr: addr.parse().unwrap(),
            mac: Arc::default(),
        }
    }

    #[test]
    fn an_entry_resolves_the_hop_of_its_interface_and_address_only() {
        let mut r = Resolver {
            hops: vec![hop(7, "192.0.2.2"), hop(8, "192.0.2.2")],
            resolved: vec![false; 2],
        };
        let entry = |ifindex, addr: &str, mac: Option<[u8; 6]>| Neighbour {
            ifindex,
            addr: addr.parse().unwrap(),
            mac: mac.map(MacAddr),
        };
        r.learn(&entry(7, "192.0.2.9", Some([9; 6])));
        r.learn(&entry(9, "192.0.2.2", Some([9; 6])));
        assert_eq!(r.resolved, [false, false]);
        r.learn(&entry(8, "192.0.2.2", Some([2, 0, 0, 0, 0, 0x0b])));
        assert_eq!(r.resolved, [false, true]);
        assert_eq!(r.hops[0].mac.load(Ordering::Relaxed), 0);
        let mac = mac_from(r.hops[1].mac.load(Ordering::Relaxed));
        assert_eq!(mac, [2, 0, 0, 0, 0, 0x0b]);
        // FAILED or deleted: solicited again, the last MAC kept meanwhile.
        r.learn(&entry(8, "192.0.2.2", None));
        assert_eq!(r.resolved, [false, false]);
        let kept = mac_from(r.hops[1].mac.load(Ordering::Relaxed));
        assert_eq!(kept, [2, 0, 0, 0, 0, 0x0b]);
    }
}
