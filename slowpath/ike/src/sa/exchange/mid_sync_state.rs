//! The RFC 6311 message ID sync state an IKE SA keeps between messages (plain data,
//! exported by HA); the exchange itself is in `message_id_sync`.

use std::time::Duration;

use crate::message::MessageIdSync;
use crate::retransmit::Retransmit;

/// The RFC 6311 state of one IKE SA.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MidSyncState {
    /// Our sync request, from a takeover or the caller, until its answer.
    pub request: Option<MidSyncRequest>,
    /// The nonce of the last sync request we answered, and the answer: a retransmitted
    /// request gets the same one (our IDs may have moved on since).
    pub answered: Option<(u32, Vec<Vec<u8>>)>,
}

/// Our sync request: due at `due`, then sent with `values` until answered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MidSyncRequest {
    pub due: Duration,
    pub sent: Option<(MessageIdSync, Retransmit)>,
}
