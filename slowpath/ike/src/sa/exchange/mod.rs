//! The exchanges (RFC 7296 1.2-1.4), one file each, as `impl IkeSa` blocks: building our
//! requests, answering the peer's, and taking the answers to ours. What a request of ours
//! needs to remember until its answer is in `core::Pending`.

pub mod create_child_sa;
pub mod ike_auth;
pub mod ike_rekey;
pub mod ike_sa_init;
pub mod informational;
pub mod init_data;
pub mod message_id_sync;
pub mod mid_sync_state;

use crate::action::ChildId;

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
