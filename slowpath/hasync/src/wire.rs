//! The datagram: a clear header (the AEAD's AAD), then frames, encrypted.
//!
//! ```text
//!  0       1       2               4                              20
//! +-------+-------+---------------+------------------------------+
//! |version|sender | 0 (reserved)  | sender session (16)          |
//! +-------+-------+---------------+------------------------------+
//! | sender challenge (8) | echoed peer challenge (8) | seq (8)   |  44 bytes
//! +----------------------------------------------------------------+
//! | frames ... (encrypted)                            | tag (16)   |
//! ```
//! `seq` is the sender's datagram counter: the AEAD nonce and the anti-replay number. The two
//! challenges name the stream the frames belong to (see `node`). Frames:
//! - `Hello` (type 1, empty): liveness of the path and the peer.
//! - `Ack` (type 2): `cumulative u64`, `count u8`, then `count` ranges `start u64, end u64`
//!   (received chunks above the cumulative one, `start..end`).
//! - `Data` (type 3): `chunk seq u64`, `length u16`, then that many bytes of the record stream.
//!
//! Every parser here returns an error for what it cannot read; none panics.

use crate::config::NodeId;
use crate::crypto::SessionId;

pub const VERSION: u8 = 1;
pub const HEADER_LEN: usize = 44;
/// Ranges in one Ack frame, at most.
pub const MAX_ACK_RANGES: usize = 8;
/// The largest Ack frame.
pub const MAX_ACK_LEN: usize = 1 + 8 + 1 + MAX_ACK_RANGES * 16;
/// A Data frame's bytes before its payload.
pub const DATA_OVERHEAD: usize = 1 + 8 + 2;

const FRAME_HELLO: u8 = 1;
const FRAME_ACK: u8 = 2;
const FRAME_DATA: u8 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub sender: NodeId,
    pub session: SessionId,
    pub challenge: u64,
    pub echo: u64,
    pub seq: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    Truncated,
    WrongVersion,
    BadSender,
    Malformed,
}

impl Header {
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(VERSION);
        out.push(self.sender.get());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.session);
        out.extend_from_slice(&self.challenge.to_be_bytes());
        out.extend_from_slice(&self.echo.to_be_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
    }

    /// The header and what follows it (ciphertext and tag).
    pub fn parse(datagram: &[u8]) -> Result<(Header, &[u8]), WireError> {
        // The version first: a later version may have another header length.
        match datagram.first() {
            None => return Err(WireError::Truncated),
            Some(&VERSION) => {}
            Some(_) => return Err(WireError::WrongVersion),
        }
        let (h, rest) = datagram
            .split_at_checked(HEADER_LEN)
            .ok_or(WireError::Truncated)?;
        let sender = NodeId::new(h[1]).ok_or(WireError::BadSender)?;
        if h[2..4] != [0, 0] {
            return Err(WireError::Malformed);
        }
        let mut session = [0u8; 16];
        session.copy_from_slice(&h[4..20]);
        let header = Header {
            sender,
            session,
            challenge: be64(&h[20..28]),
            echo: be64(&h[28..36]),
            seq: be64(&h[36..44]),
        };
        Ok((header, rest))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack {
    pub cumulative: u64,
    /// `start..end` ranges of chunks received above `cumulative`, ascending.
    pub ranges: Vec<(u64, u64)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    Hello,
    Ack(Ack),
    Data { seq: u64, bytes: &'a [u8] },
}

pub fn emit_hello(out: &mut Vec<u8>) {
    out.push(FRAME_HELLO);
}

pub fn emit_ack(ack: &Ack, out: &mut Vec<u8>) {
    out.push(FRAME_ACK);
    out.extend_from_slice(&ack.cumulative.to_be_bytes());
    let n = ack.ranges.len().min(MAX_ACK_RANGES);
    out.push(n as u8);
    for &(s, e) in &ack.ranges[..n] {
        out.extend_from_slice(&s.to_be_bytes());
        out.extend_from_slice(&e.to_be_bytes());
    }
}

/// `bytes` must fit a u16 length (the chunker never makes bigger ones).
pub fn emit_data(seq: u64, bytes: &[u8], out: &mut Vec<u8>) {
    let len = u16::try_from(bytes.len()).expect("a chunk fits in a datagram");
    out.push(FRAME_DATA);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Every frame of a decrypted payload, or an error if any is malformed (then none is used).
pub fn parse_frames(mut p: &[u8]) -> Result<Vec<Frame<'_>>, WireError> {
    let mut frames = Vec::new();
    if p.is_empty() {
        return Err(WireError::Malformed);
    }
    while let Some((&kind, rest)) = p.split_first() {
        p = rest;
        match kind {
            FRAME_HELLO => frames.push(Frame::Hello),
            FRAME_ACK => {
                let cumulative = be64(take(&mut p, 8)?);
                let n = usize::from(take(&mut p, 1)?[0]);
                if n > MAX_ACK_RANGES {
                    return Err(WireError::Malformed);
                }
                let mut ranges = Vec::with_capacity(n);
                let mut floor = cumulative;
                for _ in 0..n {
                    let (s, e) = (be64(take(&mut p, 8)?), be64(take(&mut p, 8)?));
                    // Ascending, disjoint, above the cumulative ack, not empty.
                    if s <= floor || e <= s {
                        return Err(WireError::Malformed);
                    }
                    floor = e;
                    ranges.push((s, e));
                }
                frames.push(Frame::Ack(Ack { cumulative, ranges }));
            }
            FRAME_DATA => {
                let seq = be64(take(&mut p, 8)?);
                let len = usize::from(u16::from_be_bytes([
                    take(&mut p, 1)?[0],
                    take(&mut p, 1)?[0],
                ]));
                let bytes = take(&mut p, len)?;
                if seq == 0 || bytes.is_empty() {
                    return Err(WireError::Malformed);
                }
                frames.push(Frame::Data { seq, bytes });
            }
            _ => return Err(WireError::Malformed),
        }
    }
    Ok(frames)
}

fn take<'a>(p: &mut &'a [u8], n: usize) -> Result<&'a [u8], WireError> {
    let (head, rest) = p.split_at_checked(n).ok_or(WireError::Malformed)?;
    *p = rest;
    Ok(head)
}

pub(crate) fn be64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            sender: NodeId::new(2).unwrap(),
            session: [9; 16],
            challenge: 77,
            echo: 0,
            seq: 1 << 40,
        }
    }

    #[test]
    fn header_round_trip_and_errors() {
        let mut d = Vec::new();
        header().emit(&mut d);
        assert_eq!(d.len(), HEADER_LEN);
        d.extend_from_slice(b"rest");
        assert_eq!(Header::parse(&d), Ok((header(), &b"rest"[..])));
        for cut in 0..HEADER_LEN {
            assert_eq!(
                Header::parse(&d[..cut]).map(|_| ()),
                Err(WireError::Truncated)
            );
        }
        let mut v = d.clone();
        v[0] = 2;
        assert_eq!(Header::parse(&v).map(|_| ()), Err(WireError::WrongVersion));
        let mut s = d.clone();
        s[1] = 3;
        assert_eq!(Header::parse(&s).map(|_| ()), Err(WireError::BadSender));
        let mut r = d;
        r[3] = 1;
        assert_eq!(Header::parse(&r).map(|_| ()), Err(WireError::Malformed));
    }

    #[test]
    fn frames_round_trip() {
        let ack = Ack {
            cumulative: 10,
            ranges: vec![(12, 14), (20, 21)],
        };
        let mut p = Vec::new();
        emit_hello(&mut p);
        emit_ack(&ack, &mut p);
        emit_data(11, b"abc", &mut p);
        assert_eq!(
            parse_frames(&p),
            Ok(vec![
                Frame::Hello,
                Frame::Ack(ack),
                Frame::Data {
                    seq: 11,
                    bytes: b"abc"
                }
            ])
        );
        for cut in 1..p.len() {
            if cut == 1 || cut == 1 + 1 + 8 + 1 + 32 {
                continue; // whole frames: a valid shorter payload
            }
            assert_eq!(
                parse_frames(&p[..cut]),
                Err(WireError::Malformed),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn bad_frames_are_refused() {
        assert_eq!(parse_frames(&[]), Err(WireError::Malformed));
        assert_eq!(parse_frames(&[9]), Err(WireError::Malformed));
        let bad_ranges = [vec![(5, 6)], vec![(12, 12)], vec![(12, 14), (13, 15)]];
        for ranges in bad_ranges {
            let mut p = Vec::new();
            emit_ack(
                &Ack {
                    cumulative: 10,
                    ranges,
                },
                &mut p,
            );
            assert_eq!(parse_frames(&p).map(|_| ()), Err(WireError::Malformed));
        }
        let mut zero = Vec::new();
        emit_data(0, b"x", &mut zero);
        assert_eq!(parse_frames(&zero), Err(WireError::Malformed));
        let mut too_many = vec![FRAME_ACK];
        too_many.extend_from_slice(&[0; 8]);
        too_many.push(MAX_ACK_RANGES as u8 + 1);
        assert_eq!(parse_frames(&too_many), Err(WireError::Malformed));
    }
}
