//! IKE's UDP sockets: 500 (or the conn's port) and 4500 on every local address, datagrams
//! read into the engine and the engine's datagrams sent from the socket they belong to.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use super::error::IkeError;
use super::IkeRunner;
use crate::sys::udp::bind_udp;

/// The NAT-T port (RFC 3948), bound beside 500 on every local address.
pub const NATT_PORT: u16 = 4500;
/// Datagrams read from one socket per `step`, so that a flood cannot starve the rest.
const READ_BUDGET: usize = 256;

pub(super) struct Sock {
    pub local: SocketAddr,
    pub socket: UdpSocket,
}

/// One socket per distinct local address and port of the conns (theirs, and NAT-T's).
pub(super) fn open(locals: impl Iterator<Item = SocketAddr>) -> Result<Vec<Sock>, IkeError> {
    let mut sockets: Vec<Sock> = Vec::new();
    for addr in locals {
        for port in [addr.port(), NATT_PORT] {
            let local = SocketAddr::new(addr.ip(), port);
            if sockets.iter().any(|s| s.local == local) {
                continue;
            }
            let socket = bind_udp(local).map_err(|source| IkeError::Bind { local, source })?;
            sockets.push(Sock { local, socket });
        }
    }
    Ok(sockets)
}

impl IkeRunner {
    /// Hands what every socket has (up to its budget) to the engine.
    pub(super) fn receive(&mut self, now: Duration) {
        for i in 0..self.sockets.len() {
            for _ in 0..READ_BUDGET {
                let (n, from) = match self.sockets[i].socket.recv_from(&mut self.buf) {
                    Ok(x) => x,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => {
                        // ICMP errors of earlier sends surface here; nothing to read.
                        tracing::debug!(target: "ike", "{}: {e}", self.sockets[i].local);
                        break;
                    }
                };
                self.stats.received += 1;
                let local = self.sockets[i].local;
                if super::v1::is_ikev1(local.port(), &self.buf[..n]) {
                    self.receive_v1(now, local, from, n);
                    continue;
                }
                self.engine
                    .handle_datagram(now, &mut self.rng, local, from, &self.buf[..n]);
            }
            // Carry the actions out between sockets, so that the queue stays short.
            self.drain(now);
        }
    }

    pub(super) fn send(&mut self, from: SocketAddr, to: SocketAddr, bytes: &[u8]) {
        // The engine sends from an address it was configured with or received on: ours.
        let sock = self.sockets.iter().find(|s| s.local == from);
        let Some(sock) = sock else {
            self.stats.send_errors += 1;
            tracing::warn!(target: "ike", "no socket for {from}");
            return;
        };
        match sock.socket.send_to(bytes, to) {
            Ok(_) => self.stats.sent += 1,
            Err(e) => {
                self.stats.send_errors += 1;
                tracing::debug!(target: "ike", "send {from} -> {to}: {e}");
            }
        }
    }
}
