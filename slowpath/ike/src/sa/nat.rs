//! NAT detection (RFC 7296 2.23): each side hashes the addresses it sees; a hash that does not
//! match the packet's addresses means a NAT rewrote them. strongSwan's `encap = yes` sends a
//! source hash that can never match, so the peer sees a NAT and both sides encapsulate ESP.

use std::net::SocketAddr;

use crate::crypto::nat::nat_detection_hash;
use crate::message::{NotifyType, Payload, Payloads};

/// What NAT detection found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NatState {
    /// Our address was rewritten: we send keepalives, and float to port 4500.
    pub local_behind_nat: bool,
    /// The peer's address was rewritten.
    pub remote_behind_nat: bool,
    /// We claim a NAT on purpose (`force_encap`).
    pub forced: bool,
}

impl NatState {
    /// Whether ESP must be UDP-encapsulated and IKE move to port 4500.
    pub fn any(&self) -> bool {
        self.local_behind_nat || self.remote_behind_nat || self.forced
    }
}

fn hash(spi_i: u64, spi_r: u64, addr: SocketAddr) -> Vec<u8> {
    nat_detection_hash(
        spi_i.to_be_bytes(),
        spi_r.to_be_bytes(),
        addr.ip(),
        addr.port(),
    )
    .map(|h| h.to_vec())
    .unwrap_or_default()
}

/// Our two notifies; `fake_source` replaces the source hash (forced encapsulation).
pub fn notifies(
    spi_i: u64,
    spi_r: u64,
    local: SocketAddr,
    remote: SocketAddr,
    fake_source: Option<Vec<u8>>,
) -> [Payload; 2] {
    let src = fake_source.unwrap_or_else(|| hash(spi_i, spi_r, local));
    [
        Payload::notify(NotifyType::NAT_DETECTION_SOURCE_IP, src),
        Payload::notify(
            NotifyType::NAT_DETECTION_DESTINATION_IP,
            hash(spi_i, spi_r, remote),
        ),
    ]
}

/// Checks the peer's notifies against the addresses of the packet that carried them (`local`
/// is where it arrived, `remote` where it came from); `None` when the peer sent none.
pub fn detect(
    payloads: &[Payload],
    spi_i: u64,
    spi_r: u64,
    local: SocketAddr,
    remote: SocketAddr,
) -> Option<NatState> {
    let sources: Vec<&[u8]> = payloads
        .notifies()
        .filter(|n| n.notify_type == NotifyType::NAT_DETECTION_SOURCE_IP)
        .map(|n| n.data)
        .collect();
    let dest = payloads.find_notify(NotifyType::NAT_DETECTION_DESTINATION_IP);
    if sources.is_empty() && dest.is_none() {
        return None;
    }
    let want_src = hash(spi_i, spi_r, remote);
    let want_dst = hash(spi_i, spi_r, local);
    Some(NatState {
        remote_behind_nat: !sources.contains(&want_src.as_slice()),
        local_behind_nat: dest.is_none_or(|d| d.data != want_dst.as_slice()),
        forced: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection() {
        let a: SocketAddr = "192.0.2.1:500".parse().unwrap();
        let b: SocketAddr = "198.51.100.2:500".parse().unwrap();
        let ours = notifies(1, 0, a, b, None);
        // No NAT: the receiver sees the same addresses.
        assert_eq!(detect(&ours, 1, 0, b, a), Some(NatState::default()));
        // The sender's address was rewritten.
        let nat: SocketAddr = "203.0.113.9:1024".parse().unwrap();
        let s = detect(&ours, 1, 0, b, nat).unwrap();
        assert!(s.remote_behind_nat && !s.local_behind_nat && s.any());
        // Ours was (we arrived at another address than the sender aimed at).
        let s = detect(&ours, 1, 0, "10.0.0.1:500".parse().unwrap(), a).unwrap();
        assert!(s.local_behind_nat && !s.remote_behind_nat);
        // A fake source hash looks like a NAT.
        let fake = notifies(1, 0, a, b, Some(vec![0; 20]));
        assert!(detect(&fake, 1, 0, b, a).unwrap().remote_behind_nat);
        assert_eq!(detect(&[], 1, 0, b, a), None);
        // SPIs are part of the hash.
        assert!(detect(&ours, 1, 2, b, a).unwrap().any());
    }
}
