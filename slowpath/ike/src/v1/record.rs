//! One ISAKMP SA as bytes for the HA peer (and a local checkpoint): what the other node needs
//! so that the peer never notices the takeover. IKEv1 message IDs are random per exchange, so
//! there is no counter to continue; what must be carried is the phase 1 keys and the IV
//! chain (RFC 2409 appendix B: every later exchange's IV derives from the last phase 1 block),
//! the DPD numbering, and the Quick Modes in flight with their own IVs, nonces, proposals and
//! SPIs. The IPsec SAs a Quick Mode made are the IKEv2 path's CHILD SAs (`sa::child_sa::ChildSa`
//! fits them: SPIs, suite, KEYMAT split into keys, selectors, lifetimes) and travel in that
//! form in `ipsec_sas`.
//!
//! Layout as `sa::record`: a version octet, then the postcard encoding. Instants are stored
//! relative to the export. Decoding refuses, never panics.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::dpd::DpdSnapshot;
use super::keymat::prf_for_hash;
use super::natt::{NatStatus, NattVersion};
use super::wire::{Phase1Transform, Phase2Transform, NONCE_MAX_LEN, NONCE_MIN_LEN};
use crate::action::ChildId;
use crate::config::Identity;
use crate::crypto::keys::SecretBytes;
use crate::message::TrafficSelector;
use crate::retransmit::Retransmit;
use crate::sa::child_sa::ChildSa;
use crate::sa::record::{decode_versioned, encode_versioned, RecordError};

/// The layout of `encode`; a record of another version is refused.
pub const ISAKMP_RECORD_VERSION: u8 = 1;
/// No honest record is that large (keys, a few Quick Modes each with a last message, a few
/// IPsec SAs).
pub const MAX_ISAKMP_RECORD_LEN: usize = 1 << 20;
/// Quick Modes in flight at once: more is a flood, not a state to copy.
pub const MAX_QUICK_MODES: usize = 64;

/// The phase 1 keys (RFC 2409 5): SKEYID_d for KEYMAT, SKEYID_a for the HASHes, SKEYID_e and
/// the cipher key derived from it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase1KeysRecord {
    #[serde(with = "crate::crypto::secret_serde")]
    pub skeyid_d: SecretBytes,
    #[serde(with = "crate::crypto::secret_serde")]
    pub skeyid_a: SecretBytes,
    #[serde(with = "crate::crypto::secret_serde")]
    pub skeyid_e: SecretBytes,
    #[serde(with = "crate::crypto::secret_serde")]
    pub enc_key: SecretBytes,
}

// Never print keys.
impl std::fmt::Debug for Phase1KeysRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Phase1Keys {{ enc_key: {} octets, .. }}",
            self.enc_key.len()
        )
    }
}

/// Where a Quick Mode in flight stands (RFC 2409 5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QuickModeStep {
    /// Initiator: message 1 sent, waiting for message 2.
    SentFirst,
    /// Responder: message 2 sent, waiting for message 3.
    SentSecond,
    /// The commit bit was set: waiting for (responder: to send) the CONNECTED notify.
    AwaitingConnected,
}

/// Our private D-H value of a PFS Quick Mode (`dh::KeyExchange::from_private` rebuilds it).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PfsRecord {
    pub group: u16,
    #[serde(with = "crate::crypto::secret_serde")]
    pub private: SecretBytes,
    /// The peer's KE, once received.
    pub peer_public: Option<Vec<u8>>,
}

impl std::fmt::Debug for PfsRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pfs {{ group: {}, .. }}", self.group)
    }
}

/// A Quick Mode in flight.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QuickModeRecord {
    /// Its message ID (random, never zero: zero is phase 1's).
    pub message_id: u32,
    /// The CBC IV of its next message (the last ciphertext block so far).
    pub iv: Vec<u8>,
    pub initiator: bool,
    pub step: QuickModeStep,
    /// The child configuration it negotiates.
    pub child: String,
    /// Ni_b and Nr_b (the responder's once known).
    pub ni: Vec<u8>,
    pub nr: Option<Vec<u8>>,
    /// Initiator: what it offered; responder: the one transform it chose.
    pub proposal: Vec<Phase2Transform>,
    /// The transform both agreed on, once known.
    pub chosen: Option<Phase2Transform>,
    /// Our inbound SPI, and the peer's once known.
    pub spi_in: u32,
    pub spi_out: Option<u32>,
    /// The selectors it negotiates: ours, the peer's.
    pub local_ts: TrafficSelector,
    pub remote_ts: TrafficSelector,
    pub pfs: Option<PfsRecord>,
    /// Either side set the commit bit.
    pub commit: bool,
    /// The peer's last message, and ours (sent again on the peer's duplicate).
    pub last_received: Vec<u8>,
    pub last_sent: Vec<u8>,
    /// Our message in flight, its deadline relative to the export.
    pub retransmit: Option<Retransmit>,
    /// How long before it is given up, from the export.
    pub give_up_in: Duration,
    /// The IPsec SA it rekeys.
    pub replaces: Option<ChildId>,
    /// The keyed IPsec SA pair waiting for HASH(3) or CONNECTED (instants as `ipsec_sas`').
    pub pending: Option<ChildSa>,
}

/// One ISAKMP SA as the standby needs it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IsakmpSaRecord {
    pub cookie_i: [u8; 8],
    pub cookie_r: [u8; 8],
    /// The connection's name (the importer must have it).
    pub config: String,
    pub initiator: bool,
    pub aggressive: bool,
    /// Our address and the peer's, ports included (4500 once floated).
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub natt: Option<NattVersion>,
    pub nat: NatStatus,
    pub phase1: Phase1Transform,
    pub keys: Phase1KeysRecord,
    /// The last CBC block of phase 1: the base of every later exchange's IV.
    pub phase1_iv: Vec<u8>,
    pub peer_id: Option<Identity>,
    /// Until the SA's lifetime ends, and until its reauthentication, from the export.
    pub expires_in: Duration,
    pub reauth_in: Option<Duration>,
    /// The peer sent the DPD vendor ID; our next R-U-THERE number and the peer's last.
    pub peer_dpd: bool,
    pub dpd: DpdSnapshot,
    pub quick_modes: Vec<QuickModeRecord>,
    /// The IPsec SAs this ISAKMP SA negotiated, in the IKEv2 path's CHILD SA form; their
    /// instants are on the exporter's clock, at `exported_at` (see `rebase_ipsec_sas`).
    pub ipsec_sas: Vec<ChildSa>,
    /// The id the next IPsec SA takes.
    pub next_child: ChildId,
    /// How long the SA has been up, at the export.
    pub established_for: Duration,
    pub exported_at: Duration,
}

/// A CBC block: 8 octets (3DES) or 16 (AES).
fn is_block(iv: &[u8]) -> bool {
    matches!(iv.len(), 8 | 16)
}

fn nonce_ok(n: &[u8]) -> bool {
    (NONCE_MIN_LEN..=NONCE_MAX_LEN).contains(&n.len())
}

impl IsakmpSaRecord {
    pub fn encode(&self) -> Vec<u8> {
        encode_versioned(ISAKMP_RECORD_VERSION, self)
    }

    /// Reads `encode`'s output; anything else is an error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<IsakmpSaRecord, RecordError> {
        let record: IsakmpSaRecord =
            decode_versioned(bytes, ISAKMP_RECORD_VERSION, MAX_ISAKMP_RECORD_LEN)?;
        record.check()?;
        Ok(record)
    }

    /// Moves the IPsec SAs' instants onto the importer's clock, `now` standing for the export.
    pub fn rebase_ipsec_sas(&mut self, now: Duration) {
        let from = self.exported_at;
        let rebase = |t: &mut Duration| {
            *t = if *t >= from {
                now.saturating_add(*t - from)
            } else {
                now.saturating_sub(from - *t)
            };
        };
        let pending = self
            .quick_modes
            .iter_mut()
            .filter_map(|q| q.pending.as_mut());
        for c in self.ipsec_sas.iter_mut().chain(pending) {
            rebase(&mut c.created_at);
            for t in [&mut c.rekey_at, &mut c.expire_at].into_iter().flatten() {
                rebase(t);
            }
        }
        self.exported_at = now;
    }

    /// The cookies as the HA sync's record key (initiator's, responder's).
    pub fn cookies(&self) -> (u64, u64) {
        (
            u64::from_be_bytes(self.cookie_i),
            u64::from_be_bytes(self.cookie_r),
        )
    }

    /// What the exchanges take for granted of an SA they made themselves.
    fn check(&self) -> Result<(), RecordError> {
        use RecordError::Inconsistent;
        if self.cookie_i == [0; 8] || self.cookie_r == [0; 8] {
            return Err(Inconsistent("a zero cookie"));
        }
        if prf_for_hash(self.phase1.hash).is_err() {
            return Err(Inconsistent("phase 1 hash"));
        }
        let k = &self.keys;
        if [&k.skeyid_d, &k.skeyid_a, &k.skeyid_e, &k.enc_key]
            .iter()
            .any(|key| key.is_empty())
        {
            return Err(Inconsistent("an empty phase 1 key"));
        }
        if !is_block(&self.phase1_iv) {
            return Err(Inconsistent("phase 1 IV"));
        }
        if self.local.is_ipv4() != self.remote.is_ipv4() {
            return Err(Inconsistent("address families"));
        }
        if self.quick_modes.len() > MAX_QUICK_MODES {
            return Err(Inconsistent("too many Quick Modes"));
        }
        let mut ids: Vec<u32> = self.quick_modes.iter().map(|q| q.message_id).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != self.quick_modes.len() || ids.first() == Some(&0) {
            return Err(Inconsistent("Quick Mode message IDs"));
        }
        for q in &self.quick_modes {
            let nonces = nonce_ok(&q.ni) && q.nr.as_deref().is_none_or(nonce_ok);
            if !is_block(&q.iv) || !nonces || q.proposal.is_empty() || q.spi_in == 0 {
                return Err(Inconsistent("a Quick Mode"));
            }
        }
        if self
            .ipsec_sas
            .iter()
            .any(|c| c.id == 0 || c.id >= self.next_child)
        {
            return Err(Inconsistent("IPsec SA ids"));
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
