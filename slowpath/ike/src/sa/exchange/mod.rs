//! The exchanges (RFC 7296 1.2-1.4), one file each, as `impl IkeSa` blocks: building our
//! requests, answering the peer's, and taking the answers to ours. What a request of ours
//! needs to remember until its answer is in `Pending` (plain data: HA exports it).

pub mod create_child_sa;
pub mod ike_auth;
pub mod ike_rekey;
pub mod ike_sa_init;
pub mod informational;
pub mod init_data;
pub mod message_id_sync;
pub mod mid_sync_state;

use crate::action::ChildId;
use crate::config::Mode;
use crate::crypto::transform::Suite;
use crate::message::TrafficSelector;
use crate::sa::core::SaCore;
use crate::sa::dh::DhPrivate;

/// Work queued until the window is free (we send one request at a time).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Task {
    CreateChild { config: String },
    RekeyChild(ChildId),
    DeleteChild(ChildId),
    RekeyIke,
    DeleteIke,
    Dpd,
}

/// What a request in flight needs when its answer comes.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Pending {
    IkeAuth {
        child: Option<ChildRequest>,
        vip_requested: bool,
    },
    CreateChild(ChildRequest),
    RekeyIke(IkeRekeyRequest),
    Informational(InfoRequest),
}

/// A CHILD SA we asked for (new, or a rekey of `rekey`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ChildRequest {
    pub config: String,
    pub spi_in: u32,
    pub ni: Vec<u8>,
    pub dh: Option<DhPrivate>,
    pub rekey: Option<ChildId>,
    pub mode: Mode,
    pub tsi: Vec<TrafficSelector>,
    pub tsr: Vec<TrafficSelector>,
    pub suites: Vec<Suite>,
    /// The peer's rekey of the same CHILD SA that we answered meanwhile (RFC 7296 2.8.1).
    pub collision: Option<ChildCollision>,
    pub ke_retries: u8,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ChildCollision {
    /// The CHILD SA we made answering the peer (a shadow until resolved).
    pub peer_child: ChildId,
    pub peer_ni: Vec<u8>,
    pub our_nr: Vec<u8>,
}

/// An IKE SA rekey we asked for.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct IkeRekeyRequest {
    pub spi_i: u64,
    pub ni: Vec<u8>,
    pub dh: DhPrivate,
    pub suites: Vec<Suite>,
    #[serde(deserialize_with = "crate::sa::record::one_collision_deep")]
    pub collision: Option<Box<IkeCollision>>,
    pub ke_retries: u8,
}

/// The peer's IKE SA rekey that we answered while ours was in flight.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct IkeCollision {
    pub core: SaCore,
    pub peer_ni: Vec<u8>,
    pub our_nr: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum InfoRequest {
    /// An empty INFORMATIONAL: liveness check.
    Dpd,
    DeleteChildren(Vec<ChildId>),
    DeleteIke,
}

/// RFC 7296 2.8.1: of two simultaneous rekeys, the SA made by the exchange that carried the
/// lowest of the four nonces is redundant. True when that is our exchange.
pub fn ours_is_redundant(our_ni: &[u8], peer_nr: &[u8], peer_ni: &[u8], our_nr: &[u8]) -> bool {
    our_ni.min(peer_nr) < peer_ni.min(our_nr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_nonce_loses() {
        assert!(ours_is_redundant(&[1], &[9], &[5], &[6]));
        assert!(ours_is_redundant(&[9], &[1], &[5], &[6]));
        assert!(!ours_is_redundant(&[5], &[6], &[1], &[9]));
        assert!(!ours_is_redundant(&[5], &[6], &[9], &[1]));
    }
}
