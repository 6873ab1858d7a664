//! Non-blocking UDP sockets on addresses the node may not have yet (IKE on a VRRP virtual
//! address, the HA sync on an address of a TAP that comes up later).

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};

/// A non-blocking UDP socket on `local`. An address this host does not have (yet: a VRRP
/// virtual address on the backup, the normal HA case) is bound with IP_FREEBIND: it receives
/// once the address is here.
pub fn bind_udp(local: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = match UdpSocket::bind(local) {
        Ok(s) => s,
        Err(e) if e.kind() == ErrorKind::AddrNotAvailable => {
            tracing::debug!("{local} is not an address of this host (yet): bound with IP_FREEBIND");
            let s = socket2::Socket::new(
                socket2::Domain::for_address(local),
                socket2::Type::DGRAM,
                Some(socket2::Protocol::UDP),
            )?;
            if local.is_ipv6() {
                s.set_only_v6(true)?;
                s.set_freebind_ipv6(true)?;
            } else {
                s.set_freebind(true)?;
            }
            s.bind(&local.into())?;
            s.into()
        }
        Err(e) => return Err(e),
    };
    socket.set_nonblocking(true)?;
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_an_address_not_here_yet() {
        // TEST-NET-3: on no interface of a test machine (a VRRP address on the backup).
        let s = bind_udp("203.0.113.77:0".parse().unwrap()).unwrap();
        assert_eq!(s.local_addr().unwrap().ip().to_string(), "203.0.113.77");
    }
}
