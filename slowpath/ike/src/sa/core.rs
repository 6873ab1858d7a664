//! One IKE SA's cryptographic context and message-ID state (RFC 7296 2.1-2.3): what a rekey
//! replaces as a whole. Requests we send and requests we answer have separate ID spaces; we
//! keep one request in flight (window size 1), with what its answer needs (`Pending`: plain
//! data, HA exports it; an IKE rekey's collision holds a whole `SaCore`, so it lives here),
//! and the last response for retransmissions.

use std::ops::Range;

use crate::action::ChildId;
use crate::config::Mode;
use crate::crypto::keys::IkeKeys;
use crate::crypto::sk::{sk_ciphers, SkCipher};
use crate::crypto::transform::Suite;
use crate::message::{
    emit_payload_chain, parse_payload_chain, ExchangeType, Flags, Header, Message, Payload,
    PayloadType, TrafficSelector, HEADER_LEN, SKF_FIELDS_LEN,
};
use crate::retransmit::Retransmit;
use crate::sa::dh::DhPrivate;

/// A request of ours waiting for its response.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Outstanding {
    pub message_id: u32,
    pub exchange: ExchangeType,
    pub retransmit: Retransmit,
    pub pending: Pending,
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

/// The last response we sent, for a retransmitted request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CachedResponse {
    pub message_id: u32,
    pub datagrams: Vec<Vec<u8>>,
}

/// The keys, SPIs and message IDs of one IKE SA.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SaCore {
    pub spi_i: u64,
    pub spi_r: u64,
    /// Whether we are this SA's original initiator (the I flag; after a rekey, whoever
    /// initiated the rekey).
    pub initiator: bool,
    pub suite: Suite,
    pub keys: IkeKeys,
    pub ni: Vec<u8>,
    pub nr: Vec<u8>,
    /// The next AEAD explicit IV (RFC 5282): unique per message sealed with our key. A new
    /// owner (HA) must continue above anything the old one may have used.
    pub seal_counter: u64,
    /// The ID of our next request.
    pub next_request: u32,
    pub outstanding: Option<Outstanding>,
    /// The ID of the peer's next request.
    pub peer_next_request: u32,
    pub last_response: Option<CachedResponse>,
}

/// Why a protected message could not be opened: only counted, never answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    Icv,
    Malformed,
}

/// A decrypted message, or one fragment of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    Whole(Vec<Payload>),
    /// An SKF fragment's plaintext (RFC 7383), to be reassembled.
    Fragment {
        number: u16,
        total: u16,
        first: PayloadType,
        plaintext: Vec<u8>,
    },
    /// Authentic, but the inner chain does not parse: answered (for a request) with the
    /// error's notify (INVALID_SYNTAX, UNSUPPORTED_CRITICAL_PAYLOAD).
    BadChain(crate::message::ParseError),
}

impl SaCore {
    /// Our local SPI (the one the peer puts in our position).
    pub fn local_spi(&self) -> u64 {
        if self.initiator {
            self.spi_i
        } else {
            self.spi_r
        }
    }

    pub fn header(&self, exchange: ExchangeType, response: bool, message_id: u32) -> Header {
        Header::new(
            self.spi_i,
            self.spi_r,
            exchange,
            Flags {
                initiator: self.initiator,
                version: false,
                response,
            },
            message_id,
        )
    }

    fn ciphers(&self) -> Option<(SkCipher, SkCipher)> {
        sk_ciphers(&self.suite, &self.keys, self.initiator).ok()
    }

    /// Builds the datagrams of one protected message: one SK message, or SKF fragments of at
    /// most `fragment_size` octets when it is given and the whole would be larger.
    pub fn protect(
        &mut self,
        header: &Header,
        payloads: &[Payload],
        fragment_size: Option<usize>,
    ) -> Option<Vec<Vec<u8>>> {
        let (out, _) = self.ciphers()?;
        let (first, plain) = emit_payload_chain(payloads).ok()?;
        let whole_len = HEADER_LEN + 4 + out.sealed_len(plain.len());
        match fragment_size {
            Some(max) if whole_len > max => {
                self.protect_fragments(&out, header, first, &plain, max)
            }
            _ => {
                let mut layout =
                    Message::emit_with_sk(header, &[], first, out.sealed_len(plain.len())).ok()?;
                let body = out.seal(self.next_iv(), layout.aad(), &plain).ok()?;
                layout.body_mut().copy_from_slice(&body);
                Some(vec![layout.into_bytes()])
            }
        }
    }

    fn next_iv(&mut self) -> u64 {
        let c = self.seal_counter;
        self.seal_counter = self.seal_counter.wrapping_add(1);
        c
    }

    /// RFC 7383 2.5: every fragment is sealed on its own; the first carries the inner
    /// chain's first payload type.
    fn protect_fragments(
        &mut self,
        out: &SkCipher,
        header: &Header,
        first: PayloadType,
        plain: &[u8],
        max: usize,
    ) -> Option<Vec<Vec<u8>>> {
        // Room for plaintext: what is left after header, SKF header, IV, ICV, pad length and
        // a block of padding.
        let overhead = HEADER_LEN + 4 + SKF_FIELDS_LEN + out.sealed_len(0) + 16;
        let room = max.checked_sub(overhead).filter(|r| *r >= 16)?;
        let chunks: Vec<&[u8]> = plain.chunks(room).collect();
        let total = u16::try_from(chunks.len().max(1)).ok()?;
        let mut datagrams = Vec::with_capacity(chunks.len());
        for (i, chunk) in chunks.iter().enumerate() {
            let number = u16::try_from(i + 1).ok()?;
            let inner = if i == 0 {
                first
            } else {
                PayloadType::NO_NEXT_PAYLOAD
            };
            let mut layout =
                Message::emit_with_skf(header, inner, number, total, out.sealed_len(chunk.len()))
                    .ok()?;
            let body = out.seal(self.next_iv(), layout.aad(), chunk).ok()?;
            layout.body_mut().copy_from_slice(&body);
            datagrams.push(layout.into_bytes());
        }
        Some(datagrams)
    }

    /// Checks and decrypts a received SK or SKF message. `range` is the body from
    /// `Message::parse_with_sk_range`.
    pub fn open(
        &self,
        raw: &[u8],
        msg: &Message,
        range: Range<usize>,
    ) -> Result<Opened, OpenError> {
        let (_, inb) = self.ciphers().ok_or(OpenError::Malformed)?;
        let prefix = raw.get(..range.start).ok_or(OpenError::Malformed)?;
        let body = raw.get(range).ok_or(OpenError::Malformed)?;
        let plain = inb.open(prefix, body).map_err(|_| OpenError::Icv)?;
        match msg.payloads.last() {
            Some(Payload::Sk {
                inner_first_payload,
                ..
            }) => Ok(match parse_payload_chain(*inner_first_payload, &plain) {
                Ok(p) => Opened::Whole(p),
                Err(e) => Opened::BadChain(e),
            }),
            Some(Payload::Skf {
                fragment_number,
                total_fragments,
                inner_first_payload,
                ..
            }) => Ok(Opened::Fragment {
                number: *fragment_number,
                total: *total_fragments,
                first: *inner_first_payload,
                plaintext: plain,
            }),
            _ => Err(OpenError::Malformed),
        }
    }
}
