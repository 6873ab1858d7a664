//! IKEv1 (ISAKMP, RFC 2408) datagrams share IKE's sockets: the header's major version tells
//! them from IKEv2's, and they go to the IKEv1 engine. While no connection says `version 1`,
//! they are dropped and counted (they used to reach the IKEv2 parser, which refused them
//! as an obsolete version without telling the operator why).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use super::IkeRunner;
use ike::v1::natt::NAT_T_PORT as NATT_PORT;

/// Counted in `ike_counters`' drops while no connection speaks IKEv1.
pub(super) const NOT_CONFIGURED: &str = "ikev1_not_configured";

/// Whether a datagram received on `local_port` carries an ISAKMP header of major version 1
/// (RFC 2408 3.1: the version octet at offset 17; on port 4500 behind the non-ESP marker).
pub(super) fn is_ikev1(local_port: u16, datagram: &[u8]) -> bool {
    let header = if local_port == NATT_PORT {
        match datagram.strip_prefix(&[0u8; 4]) {
            Some(rest) => rest,
            None => return false,
        }
    } else {
        datagram
    };
    header.get(17).is_some_and(|v| v >> 4 == 1)
}

impl IkeRunner {
    /// One IKEv1 datagram of `len` bytes in `self.buf`.
    pub(super) fn receive_v1(
        &mut self,
        now: Duration,
        local: SocketAddr,
        remote: SocketAddr,
        len: usize,
    ) {
        // On an HA standby the engine itself drops them (counted as `standby`).
        if !self.v1.has_connections() {
            *self.drops.entry(NOT_CONFIGURED).or_default() += 1;
            self.stats.v1_not_configured += 1;
            return;
        }
        self.v1
            .handle_datagram(now, &mut self.rng, local, remote, &self.buf[..len]);
    }

    /// Initiates the `version 1` connections that start at once, but those that got their
    /// ISAKMP SA back from `ike-state-dir` (`restored`).
    pub(super) fn start_v1(&mut self, now: Duration, restored: &BTreeSet<String>) {
        for name in self.v1.start_conns() {
            if restored.contains(&name) {
                continue;
            }
            if let Some(id) = self.v1.initiate(now, &mut self.rng, &name) {
                tracing::info!(target: "ike", "initiating ISAKMP SA {id} ({name})");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(version: u8) -> Vec<u8> {
        let mut h = vec![0u8; 28];
        h[17] = version;
        h
    }

    #[test]
    fn tells_versions_apart() {
        assert!(is_ikev1(500, &header(0x10)));
        assert!(!is_ikev1(500, &header(0x20)));
        assert!(!is_ikev1(500, &header(0x10)[..17]));
        let marked = [&[0u8; 4][..], &header(0x10)].concat();
        assert!(is_ikev1(NATT_PORT, &marked));
        // On 4500 without the marker it is ESP, not IKE.
        assert!(!is_ikev1(NATT_PORT, &header(0x10)));
        assert!(!is_ikev1(NATT_PORT, &[0xff]));
    }
}
