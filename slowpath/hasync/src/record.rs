//! What the sync carries: typed records (the core never interprets their blobs) and the
//! control messages of a bulk sync, encoded one after the other into the record stream.
//!
//! Stream message: `type u8, length u32, body`. A message may span chunks (datagrams); the
//! [`StreamDecoder`] reassembles it, bounded by the largest record accepted.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::crypto_group::GroupActive;
use crate::wire::be64;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Record {
    /// An IKE SA, as the IKE engine encodes it (opaque here).
    IkeSa {
        spi_i: u64,
        spi_r: u64,
        state: Vec<u8>,
    },
    IkeSaDeleted {
        spi_i: u64,
        spi_r: u64,
    },
    /// An IKEv1 ISAKMP SA by its cookies, as the IKE engine encodes it (`ike::v1::record`,
    /// opaque here): phase 1 keys and IV, DPD numbers, Quick Modes in flight, IPsec SAs.
    IsakmpSa {
        cookie_i: u64,
        cookie_r: u64,
        state: Vec<u8>,
    },
    IsakmpSaDeleted {
        cookie_i: u64,
        cookie_r: u64,
    },
    /// The newest sequence numbers of one CHILD SA, matched by what both nodes know.
    SeqSnapshot {
        spi: u32,
        inbound: bool,
        peer: IpAddr,
        oseq: u64,
        window_top: u64,
        bitmap: [u64; 4],
        generation: u16,
    },
    /// A virtual IP lease; `owner: None` releases it.
    Lease {
        pool: String,
        addr: IpAddr,
        owner: Option<Vec<u8>>,
    },
    /// The IV generations each node has used (see `ivgen`).
    IvGenerations {
        highest: [u16; 2],
    },
    /// Which member of a crypto group carries its traffic (`crypto_group`).
    CryptoGroup(GroupActive),
}

/// What a newer record replaces when both wait in the send queue.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RecordKey {
    IkeSa(u64, u64),
    IsakmpSa(u64, u64),
    Snapshot(u32, bool, IpAddr),
    Lease(String, IpAddr),
    IvGenerations,
    CryptoGroup(String),
}

impl Record {
    pub fn key(&self) -> RecordKey {
        match self {
            // A delete replaces the SA's queued state: it has the same key.
            Record::IkeSa { spi_i, spi_r, .. } | Record::IkeSaDeleted { spi_i, spi_r } => {
                RecordKey::IkeSa(*spi_i, *spi_r)
            }
            Record::IsakmpSa {
                cookie_i, cookie_r, ..
            }
            | Record::IsakmpSaDeleted { cookie_i, cookie_r } => {
                RecordKey::IsakmpSa(*cookie_i, *cookie_r)
            }
            Record::SeqSnapshot {
                spi, inbound, peer, ..
            } => RecordKey::Snapshot(*spi, *inbound, *peer),
            Record::Lease { pool, addr, .. } => RecordKey::Lease(pool.clone(), *addr),
            Record::IvGenerations { .. } => RecordKey::IvGenerations,
            Record::CryptoGroup(g) => RecordKey::CryptoGroup(g.group.clone()),
        }
    }
}

/// One message of the record stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamMessage {
    Record(Record),
    /// The sender (re)joined: it asks for the whole state.
    BulkRequest,
    /// The whole state has been sent: `records` of them since the request.
    BulkEnd {
        records: u64,
    },
}

const T_IKE_SA: u8 = 1;
const T_IKE_SA_DELETED: u8 = 2;
const T_SNAPSHOT: u8 = 3;
const T_LEASE: u8 = 4;
const T_IV_GENERATIONS: u8 = 5;
/// Apart from the low numbers, which other record kinds take in turn.
const T_CRYPTO_GROUP: u8 = 0x20;
const T_ISAKMP_SA: u8 = 6;
const T_ISAKMP_SA_DELETED: u8 = 7;
const T_BULK_REQUEST: u8 = 0x80;
const T_BULK_END: u8 = 0x81;

/// Type and length before each message's body.
pub const MESSAGE_HEADER_LEN: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// A message longer than the largest record accepted.
    TooLarge,
    Malformed,
}

impl StreamMessage {
    /// Appends the message (type, length, body) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0; MESSAGE_HEADER_LEN]);
        let kind = match self {
            StreamMessage::BulkRequest => T_BULK_REQUEST,
            StreamMessage::BulkEnd { records } => {
                out.extend_from_slice(&records.to_be_bytes());
                T_BULK_END
            }
            StreamMessage::Record(r) => encode_record(r, out),
        };
        let len = u32::try_from(out.len() - start - MESSAGE_HEADER_LEN).expect("records < 4 GiB");
        out[start] = kind;
        out[start + 1..start + MESSAGE_HEADER_LEN].copy_from_slice(&len.to_be_bytes());
    }

    pub fn decode(kind: u8, body: &[u8]) -> Result<StreamMessage, RecordError> {
        let mut r = Reader(body);
        let m = match kind {
            T_BULK_REQUEST => StreamMessage::BulkRequest,
            T_BULK_END => StreamMessage::BulkEnd { records: r.u64()? },
            T_IKE_SA | T_ISAKMP_SA => {
                let (i, r_) = (r.u64()?, r.u64()?);
                let state = std::mem::take(&mut r.0).to_vec();
                StreamMessage::Record(if kind == T_IKE_SA {
                    Record::IkeSa {
                        spi_i: i,
                        spi_r: r_,
                        state,
                    }
                } else {
                    Record::IsakmpSa {
                        cookie_i: i,
                        cookie_r: r_,
                        state,
                    }
                })
            }
            T_IKE_SA_DELETED => StreamMessage::Record(Record::IkeSaDeleted {
                spi_i: r.u64()?,
                spi_r: r.u64()?,
            }),
            T_ISAKMP_SA_DELETED => StreamMessage::Record(Record::IsakmpSaDeleted {
                cookie_i: r.u64()?,
                cookie_r: r.u64()?,
            }),
            T_SNAPSHOT => StreamMessage::Record(Record::SeqSnapshot {
                spi: r.u32()?,
                inbound: r.bool()?,
                peer: r.addr()?,
                oseq: r.u64()?,
                window_top: r.u64()?,
                bitmap: [r.u64()?, r.u64()?, r.u64()?, r.u64()?],
                generation: r.u16()?,
            }),
            T_LEASE => {
                let n = r.u32()? as usize;
                let pool = std::str::from_utf8(r.take(n)?)
                    .map_err(|_| RecordError::Malformed)?
                    .to_owned();
                let addr = r.addr()?;
                let owner = r.bool()?.then(|| std::mem::take(&mut r.0).to_vec());
                StreamMessage::Record(Record::Lease { pool, addr, owner })
            }
            T_IV_GENERATIONS => StreamMessage::Record(Record::IvGenerations {
                highest: [r.u16()?, r.u16()?],
            }),
            T_CRYPTO_GROUP => {
                let body = std::mem::take(&mut r.0);
                let g = GroupActive::decode(body).map_err(|_| RecordError::Malformed)?;
                StreamMessage::Record(Record::CryptoGroup(g))
            }
            _ => return Err(RecordError::Malformed),
        };
        if !r.0.is_empty() {
            return Err(RecordError::Malformed);
        }
        Ok(m)
    }
}

fn encode_record(r: &Record, out: &mut Vec<u8>) -> u8 {
    match r {
        Record::IkeSa {
            spi_i,
            spi_r,
            state,
        } => put_sa(*spi_i, *spi_r, state, out, T_IKE_SA),
        Record::IkeSaDeleted { spi_i, spi_r } => put_sa(*spi_i, *spi_r, &[], out, T_IKE_SA_DELETED),
        Record::IsakmpSa {
            cookie_i,
            cookie_r,
            state,
        } => put_sa(*cookie_i, *cookie_r, state, out, T_ISAKMP_SA),
        Record::IsakmpSaDeleted { cookie_i, cookie_r } => {
            put_sa(*cookie_i, *cookie_r, &[], out, T_ISAKMP_SA_DELETED)
        }
        Record::SeqSnapshot {
            spi,
            inbound,
            peer,
            oseq,
            window_top,
            bitmap,
            generation,
        } => {
            out.extend_from_slice(&spi.to_be_bytes());
            out.push(u8::from(*inbound));
            put_addr(*peer, out);
            out.extend_from_slice(&oseq.to_be_bytes());
            out.extend_from_slice(&window_top.to_be_bytes());
            for w in bitmap {
                out.extend_from_slice(&w.to_be_bytes());
            }
            out.extend_from_slice(&generation.to_be_bytes());
            T_SNAPSHOT
        }
        Record::Lease { pool, addr, owner } => {
            let name = pool.as_bytes();
            out.extend_from_slice(&u32::try_from(name.len()).expect("< 4 GiB").to_be_bytes());
            out.extend_from_slice(name);
            put_addr(*addr, out);
            out.push(u8::from(owner.is_some()));
            out.extend_from_slice(owner.as_deref().unwrap_or_default());
            T_LEASE
        }
        Record::IvGenerations { highest } => {
            out.extend_from_slice(&highest[0].to_be_bytes());
            out.extend_from_slice(&highest[1].to_be_bytes());
            T_IV_GENERATIONS
        }
        Record::CryptoGroup(g) => {
            g.encode(out);
            T_CRYPTO_GROUP
        }
    }
}

/// An SA's two 64-bit identifiers (SPIs or cookies) and its opaque state; returns `kind`.
fn put_sa(i: u64, r: u64, state: &[u8], out: &mut Vec<u8>, kind: u8) -> u8 {
    out.extend_from_slice(&i.to_be_bytes());
    out.extend_from_slice(&r.to_be_bytes());
    out.extend_from_slice(state);
    kind
}

fn put_addr(a: IpAddr, out: &mut Vec<u8>) {
    match a {
        IpAddr::V4(v4) => {
            out.push(4);
            out.extend_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            out.push(6);
            out.extend_from_slice(&v6.octets());
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], RecordError> {
        let (h, rest) = self.0.split_at_checked(n).ok_or(RecordError::Malformed)?;
        self.0 = rest;
        Ok(h)
    }
    fn u64(&mut self) -> Result<u64, RecordError> {
        self.take(8).map(be64)
    }
    fn u32(&mut self) -> Result<u32, RecordError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u16(&mut self) -> Result<u16, RecordError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn bool(&mut self) -> Result<bool, RecordError> {
        match self.take(1)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(RecordError::Malformed),
        }
    }
    fn addr(&mut self) -> Result<IpAddr, RecordError> {
        match self.take(1)?[0] {
            4 => {
                let b = self.take(4)?;
                Ok(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])))
            }
            6 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(self.take(16)?);
                Ok(IpAddr::V6(Ipv6Addr::from(a)))
            }
            _ => Err(RecordError::Malformed),
        }
    }
}

/// Reassembles stream messages from the in-order chunk payloads.
#[derive(Default)]
pub struct StreamDecoder {
    buf: Vec<u8>,
}

impl StreamDecoder {
    /// Appends `bytes` and decodes every message now complete into `out`. After an error the
    /// stream is broken (the caller resets it).
    pub fn push(
        &mut self,
        bytes: &[u8],
        max_record: usize,
        out: &mut Vec<StreamMessage>,
    ) -> Result<(), RecordError> {
        self.buf.extend_from_slice(bytes);
        let mut pos = 0;
        let result = loop {
            let rest = &self.buf[pos..];
            if rest.len() < MESSAGE_HEADER_LEN {
                break Ok(());
            }
            let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
            if len > max_record {
                break Err(RecordError::TooLarge);
            }
            let Some(body) = rest.get(MESSAGE_HEADER_LEN..MESSAGE_HEADER_LEN + len) else {
                break Ok(());
            };
            match StreamMessage::decode(rest[0], body) {
                Ok(m) => out.push(m),
                Err(e) => break Err(e),
            }
            pos += MESSAGE_HEADER_LEN + len;
        };
        self.buf.drain(..pos);
        result
    }

    /// Bytes of a message not yet complete.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn samples() -> Vec<StreamMessage> {
        let v6: IpAddr = "2001:db8::7".parse().unwrap();
        vec![
            StreamMessage::Record(Record::IkeSa {
                spi_i: 1,
                spi_r: u64::MAX,
                state: vec![5; 3000],
            }),
            StreamMessage::Record(Record::IkeSaDeleted { spi_i: 1, spi_r: 2 }),
            StreamMessage::Record(Record::IsakmpSa {
                cookie_i: 3,
                cookie_r: 4,
                state: vec![6; 700],
            }),
            StreamMessage::Record(Record::IsakmpSaDeleted {
                cookie_i: 3,
                cookie_r: 4,
            }),
            StreamMessage::Record(Record::SeqSnapshot {
                spi: 0x1005,
                inbound: true,
                peer: "192.0.2.2".parse().unwrap(),
                oseq: 1 << 33,
                window_top: 77,
                bitmap: [1, 2, 3, u64::MAX],
                generation: 3,
            }),
            StreamMessage::Record(Record::Lease {
                pool: "vips".into(),
                addr: v6,
                owner: Some(b"CN=carol".to_vec()),
            }),
            StreamMessage::Record(Record::Lease {
                pool: String::new(),
                addr: "10.3.0.1".parse().unwrap(),
                owner: None,
            }),
            StreamMessage::Record(Record::IvGenerations { highest: [5, 8] }),
            StreamMessage::Record(Record::CryptoGroup(GroupActive {
                group: "site".into(),
                secondary: true,
                revertible: false,
                switchovers: 2,
                reverts: 1,
            })),
            StreamMessage::BulkRequest,
            StreamMessage::BulkEnd { records: 300_000 },
        ]
    }

    #[test]
    fn every_message_round_trips_through_any_split() {
        let msgs = samples();
        let mut stream = Vec::new();
        for m in &msgs {
            m.encode(&mut stream);
        }
        for piece in [1, 7, 1000, stream.len()] {
            let mut d = StreamDecoder::default();
            let mut out = Vec::new();
            for c in stream.chunks(piece) {
                d.push(c, 1 << 20, &mut out).unwrap();
            }
            assert_eq!(out, msgs, "pieces of {piece}");
            assert_eq!(d.pending(), 0);
        }
    }

    #[test]
    fn malformed_and_oversized_messages_are_errors() {
        for m in samples() {
            let mut b = Vec::new();
            m.encode(&mut b);
            let body = &b[MESSAGE_HEADER_LEN..];
            let open_ended = matches!(
                m,
                StreamMessage::Record(
                    Record::IkeSa { .. }
                        | Record::IsakmpSa { .. }
                        | Record::Lease { owner: Some(_), .. }
                )
            );
            if !body.is_empty() && !open_ended {
                assert_eq!(
                    StreamMessage::decode(b[0], &body[..body.len() - 1]).map(|_| ()),
                    Err(RecordError::Malformed),
                    "{m:?} cut short"
                );
            }
            let mut longer = body.to_vec();
            longer.push(0);
            if !open_ended {
                assert_eq!(
                    StreamMessage::decode(b[0], &longer).map(|_| ()),
                    Err(RecordError::Malformed)
                );
            }
        }
        assert_eq!(
            StreamMessage::decode(0x42, &[]),
            Err(RecordError::Malformed)
        );
        let mut d = StreamDecoder::default();
        let mut big = Vec::new();
        StreamMessage::Record(Record::IkeSa {
            spi_i: 1,
            spi_r: 2,
            state: vec![0; 2000],
        })
        .encode(&mut big);
        assert_eq!(
            d.push(&big[..10], 1024, &mut Vec::new()),
            Err(RecordError::TooLarge)
        );
    }

    #[test]
    fn keys_coalesce_what_they_should() {
        let sa = Record::IkeSa {
            spi_i: 1,
            spi_r: 2,
            state: vec![],
        };
        let del = Record::IkeSaDeleted { spi_i: 1, spi_r: 2 };
        assert_eq!(sa.key(), del.key());
        let v1 = Record::IsakmpSa {
            cookie_i: 1,
            cookie_r: 2,
            state: vec![],
        };
        let v1_del = Record::IsakmpSaDeleted {
            cookie_i: 1,
            cookie_r: 2,
        };
        // An ISAKMP SA's delete replaces its state, never an IKEv2 SA's of equal numbers.
        assert_eq!(v1.key(), v1_del.key());
        assert_ne!(v1.key(), sa.key());
        let StreamMessage::Record(snap) = samples()[4].clone() else {
            unreachable!()
        };
        let mut other_dir = snap.clone();
        if let Record::SeqSnapshot { inbound, .. } = &mut other_dir {
            *inbound = false;
        }
        assert_ne!(snap.key(), other_dir.key());
    }
}
