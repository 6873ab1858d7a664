//! What IKE_SA_INIT leaves in the IKE SA for IKE_AUTH (RFC 7296 2.15: AUTH signs both
//! IKE_SA_INIT messages), and for the initiator's retries. Plain data, exported by HA.

use crate::retransmit::Retransmit;
use crate::sa::dh::DhPrivate;

/// IKE_SA_INIT data that IKE_AUTH still needs (both messages are signed by AUTH).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct InitExchange {
    pub spi_i: u64,
    pub spi_r: u64,
    pub ni: Vec<u8>,
    pub nr: Vec<u8>,
    /// Initiator, until the response: our key exchange.
    pub dh: Option<DhPrivate>,
    pub cookie: Option<Vec<u8>>,
    /// The request as last sent (or received): the initiator's AUTH signs it.
    pub request: Vec<u8>,
    /// The response: the responder's AUTH signs it.
    pub response: Vec<u8>,
    pub retransmit: Option<Retransmit>,
    pub retries: u8,
}
