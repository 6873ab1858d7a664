//! IKEv1 NAT traversal (RFC 3947, and the drafts strongSwan still speaks): NAT-D hashes,
//! detection of a NAT on either side, the float to port 4500, and the UDP encapsulation
//! modes (RFC 3948) a Quick Mode proposes.

use std::net::SocketAddr;

use super::keymat::prf_for_hash;
use super::wire::encapsulation;
use crate::config::Mode;
use crate::crypto::nat::nat_detection_digest;
use crate::rng::RngSource;

/// The port IKE and ESP-in-UDP move to when a NAT is found.
pub const NAT_T_PORT: u16 = 4500;

/// The NAT-T flavour both peers announced (by vendor ID), worst to best.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum NattVersion {
    /// draft-ietf-ipsec-nat-t-ike-02 (with or without its trailing newline).
    Draft02,
    Draft03,
    Rfc3947,
}

impl NattVersion {
    /// The NAT-D payload type (the drafts used a private number).
    pub fn nat_d_payload(self) -> u8 {
        match self {
            NattVersion::Rfc3947 => 20,
            _ => 130,
        }
    }

    /// The NAT-OA payload type.
    pub fn nat_oa_payload(self) -> u8 {
        match self {
            NattVersion::Rfc3947 => 21,
            _ => 131,
        }
    }

    /// The Quick Mode encapsulation mode attribute for an SA through a NAT.
    pub fn udp_encapsulation(self, mode: Mode) -> u16 {
        match (self, mode) {
            (NattVersion::Rfc3947, Mode::Tunnel) => encapsulation::UDP_TUNNEL,
            (NattVersion::Rfc3947, Mode::Transport) => encapsulation::UDP_TRANSPORT,
            (_, Mode::Tunnel) => encapsulation::UDP_TUNNEL_DRAFT,
            (_, Mode::Transport) => encapsulation::UDP_TRANSPORT_DRAFT,
        }
    }
}

/// An encapsulation mode attribute: the IPsec mode and whether ESP goes in UDP.
pub fn parse_encapsulation(value: u16) -> Option<(Mode, bool)> {
    use encapsulation::*;
    match value {
        TUNNEL => Some((Mode::Tunnel, false)),
        TRANSPORT => Some((Mode::Transport, false)),
        UDP_TUNNEL | UDP_TUNNEL_DRAFT => Some((Mode::Tunnel, true)),
        UDP_TRANSPORT | UDP_TRANSPORT_DRAFT => Some((Mode::Transport, true)),
        _ => None,
    }
}

/// The encapsulation mode a Quick Mode proposes: UDP when a NAT was found (or `encap` forces
/// it, which shows as a NAT), plain otherwise.
pub fn encapsulation_mode(natt: Option<NattVersion>, nat: NatStatus, mode: Mode) -> u16 {
    match natt {
        Some(v) if nat.any() => v.udp_encapsulation(mode),
        _ if mode == Mode::Tunnel => encapsulation::TUNNEL,
        _ => encapsulation::TRANSPORT,
    }
}

/// Why NAT detection could not be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NattError {
    /// A phase 1 hash algorithm we do not have.
    UnknownHash(u16),
    /// Fewer than two NAT-D payloads (RFC 3947 3.2 wants the peer's and at least one own).
    MissingNatD,
    /// OpenSSL failed.
    Crypto,
}

/// HASH(CKY-I | CKY-R | IP | Port) with the negotiated phase 1 hash (RFC 3947 3.2).
pub fn nat_d_hash(
    hash: u16,
    cky_i: [u8; 8],
    cky_r: [u8; 8],
    addr: SocketAddr,
) -> Result<Vec<u8>, NattError> {
    let md = prf_for_hash(hash)
        .map_err(|_| NattError::UnknownHash(hash))?
        .digest();
    nat_detection_digest(md, cky_i, cky_r, addr.ip(), addr.port()).map_err(|_| NattError::Crypto)
}

/// The bodies of the NAT-D payloads we send, in RFC 3947's order: the peer's address (the
/// datagram's destination) first, then ours. With `fake_local` (the `encap` option) our own
/// hash is random, so that the peer sees a NAT and both sides encapsulate ESP in UDP.
pub fn our_nat_d(
    hash: u16,
    cookies: ([u8; 8], [u8; 8]),
    local: SocketAddr,
    remote: SocketAddr,
    fake_local: Option<&mut dyn RngSource>,
) -> Result<[Vec<u8>; 2], NattError> {
    let (i, r) = cookies;
    let theirs = nat_d_hash(hash, i, r, remote)?;
    let mut ours = nat_d_hash(hash, i, r, local)?;
    if let Some(rng) = fake_local {
        rng.fill(&mut ours);
    }
    Ok([theirs, ours])
}

/// Where the NATs are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NatStatus {
    /// Our address was rewritten on the way: we send keepalives and float.
    pub we_are_behind: bool,
    /// The peer's was.
    pub peer_is_behind: bool,
}

impl NatStatus {
    pub fn any(self) -> bool {
        self.we_are_behind || self.peer_is_behind
    }

    /// Whether the initiator moves IKE to port 4500 (from Main Mode's fifth or Aggressive
    /// Mode's third message, RFC 3947 4): only when both speak NAT-T and a NAT is on the path.
    pub fn float(self, natt: Option<NattVersion>) -> bool {
        natt.is_some() && self.any()
    }
}

/// Compares a peer's NAT-D bodies (in the order it sent them) with the addresses of the
/// datagram that carried them: `local` its destination, `remote` its source.
pub fn detect(
    hash: u16,
    cookies: ([u8; 8], [u8; 8]),
    received: &[&[u8]],
    local: SocketAddr,
    remote: SocketAddr,
) -> Result<NatStatus, NattError> {
    let [about_us, about_them @ ..] = received else {
        return Err(NattError::MissingNatD);
    };
    if about_them.is_empty() {
        return Err(NattError::MissingNatD);
    }
    let (i, r) = cookies;
    let ours = nat_d_hash(hash, i, r, local)?;
    let theirs = nat_d_hash(hash, i, r, remote)?;
    Ok(NatStatus {
        we_are_behind: *about_us != ours.as_slice(),
        peer_is_behind: !about_them.contains(&theirs.as_slice()),
    })
}

#[cfg(test)]
#[path = "natt_tests.rs"]
mod tests;
