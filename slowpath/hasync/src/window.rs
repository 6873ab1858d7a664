//! Reliable delivery of chunks: the sender's window of chunks in flight (acks, selective acks,
//! retransmission by timeout and by later chunks arriving first) and the receiver's
//! reordering buffer (in-order delivery, the ack to send).

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use crate::wire::{Ack, MAX_ACK_RANGES};

/// A chunk still missing after this many later transmissions were acknowledged is lost.
const REORDER_TOLERANCE: u64 = 3;

struct Sent {
    bytes: Vec<u8>,
    last_sent: Duration,
    rto: Duration,
    retransmits: u32,
    /// Order of its latest transmission among all of this window's.
    tx: u64,
    sacked: bool,
    lost: bool,
}

pub struct SendWindow {
    /// Seq of `inflight[0]`; chunks are numbered from 1.
    base: u64,
    inflight: VecDeque<Sent>,
    next_tx: u64,
    limit: usize,
}

/// What an ack did.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct AckOutcome {
    pub newly_acked: u64,
}

impl SendWindow {
    pub fn new(limit: usize) -> Self {
        SendWindow {
            base: 1,
            inflight: VecDeque::new(),
            next_tx: 0,
            limit,
        }
    }

    pub fn has_room(&self) -> bool {
        self.inflight.len() < self.limit
    }

    pub fn in_flight(&self) -> usize {
        self.inflight.len()
    }

    /// Takes a new chunk; returns its seq (to send now).
    pub fn push(&mut self, bytes: Vec<u8>, now: Duration, rto: Duration) -> u64 {
        let seq = self.base + self.inflight.len() as u64;
        let tx = self.tx();
        self.inflight.push_back(Sent {
            bytes,
            last_sent: now,
            rto,
            retransmits: 0,
            tx,
            sacked: false,
            lost: false,
        });
        seq
    }

    pub fn on_ack(&mut self, ack: &Ack) -> AckOutcome {
        let mut out = AckOutcome::default();
        let mut delivered_tx = None;
        // Acks beyond what was sent are ignored (they are the peer's bug, not ours to trust).
        let sent_top = self.base + self.inflight.len() as u64;
        while self.base <= ack.cumulative && self.base < sent_top {
            let s = self.inflight.pop_front().expect("base < sent_top");
            self.base += 1;
            if !s.sacked {
                out.newly_acked += 1;
            }
            delivered_tx = delivered_tx.max(Some(s.tx));
        }
        for &(start, end) in &ack.ranges {
            for seq in start.max(self.base)..end.min(sent_top) {
                let s = &mut self.inflight[(seq - self.base) as usize];
                if !s.sacked {
                    s.sacked = true;
                    out.newly_acked += 1;
                    delivered_tx = delivered_tx.max(Some(s.tx));
                }
            }
        }
        if let Some(top) = delivered_tx {
            for s in self.inflight.iter_mut() {
                if !s.sacked && s.tx + REORDER_TOLERANCE < top {
                    s.lost = true;
                }
            }
        }
        out
    }

    /// Marks the chunks whose timeout has passed as lost; `Err` with the chunk's retransmits
    /// when one has reached `bound` (the peer is to be declared down).
    pub fn expire(&mut self, now: Duration, bound: u32) -> Result<(), u32> {
        for s in self.inflight.iter_mut() {
            if !s.sacked && !s.lost && s.last_sent + s.rto <= now {
                if s.retransmits >= bound {
                    return Err(s.retransmits);
                }
                s.lost = true;
            }
        }
        Ok(())
    }

    /// A lost chunk to send again now (its timeout doubled up to `rto_max`).
    pub fn next_retransmit(&mut self, now: Duration, rto_max: Duration) -> Option<(u64, &[u8])> {
        let i = self.inflight.iter().position(|s| s.lost)?;
        let tx = self.tx();
        let s = &mut self.inflight[i];
        s.lost = false;
        s.retransmits += 1;
        s.last_sent = now;
        s.rto = (s.rto * 2).min(rto_max);
        s.tx = tx;
        Some((self.base + i as u64, &s.bytes))
    }

    /// When the earliest timeout falls.
    pub fn next_timeout(&self) -> Option<Duration> {
        self.inflight
            .iter()
            .filter(|s| !s.sacked && !s.lost)
            .map(|s| s.last_sent + s.rto)
            .min()
    }

    pub fn has_lost(&self) -> bool {
        self.inflight.iter().any(|s| s.lost)
    }

    fn tx(&mut self) -> u64 {
        self.next_tx += 1;
        self.next_tx
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    /// New, and in order: `take_ready` has it.
    InOrder,
    /// New, ahead of a gap: kept until the gap fills.
    Buffered,
    Duplicate,
    /// Too far ahead of the cumulative ack: dropped (the sender will send it again).
    BeyondWindow,
}

pub struct ReceiveWindow {
    /// Every chunk up to this one has been delivered.
    cumulative: u64,
    ahead: BTreeMap<u64, Vec<u8>>,
    limit: u64,
}

impl ReceiveWindow {
    pub fn new(limit: usize) -> Self {
        ReceiveWindow {
            cumulative: 0,
            ahead: BTreeMap::new(),
            limit: limit as u64,
        }
    }

    /// A chunk arrived. `InOrder`: the caller consumes `bytes` now (they are not kept), then
    /// the chunks that `take_ready` returns.
    pub fn accept(&mut self, seq: u64, bytes: &[u8]) -> Received {
        if seq <= self.cumulative || self.ahead.contains_key(&seq) {
            return Received::Duplicate;
        }
        if seq > self.cumulative + self.limit {
            return Received::BeyondWindow;
        }
        if seq == self.cumulative + 1 {
            self.cumulative = seq;
            return Received::InOrder;
        }
        self.ahead.insert(seq, bytes.to_vec());
        Received::Buffered
    }

    /// The next chunk in order, if it is here.
    pub fn take_ready(&mut self) -> Option<Vec<u8>> {
        let bytes = self.ahead.remove(&(self.cumulative + 1))?;
        self.cumulative += 1;
        Some(bytes)
    }

    pub fn ack(&self) -> Ack {
        let mut ranges: Vec<(u64, u64)> = Vec::new();
        for &seq in self.ahead.keys() {
            if let Some((_, end)) = ranges.last_mut().filter(|(_, e)| *e == seq) {
                *end += 1;
            } else if ranges.len() == MAX_ACK_RANGES {
                break;
            } else {
                ranges.push((seq, seq + 1));
            }
        }
        Ack {
            cumulative: self.cumulative,
            ranges,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn receiver_delivers_in_order_and_acks_ranges() {
        let mut r = ReceiveWindow::new(8);
        assert_eq!(r.accept(2, b"b"), Received::Buffered);
        assert_eq!(r.accept(4, b"d"), Received::Buffered);
        assert_eq!(r.accept(5, b"e"), Received::Buffered);
        assert_eq!(r.accept(20, b"z"), Received::BeyondWindow);
        assert_eq!(
            r.ack(),
            Ack {
                cumulative: 0,
                ranges: vec![(2, 3), (4, 6)]
            }
        );
        assert_eq!(r.take_ready(), None);
        assert_eq!(r.accept(1, b"a"), Received::InOrder);
        assert_eq!(r.accept(1, b"a"), Received::Duplicate);
        assert_eq!(r.take_ready().as_deref(), Some(&b"b"[..]));
        assert_eq!(r.take_ready(), None);
        assert_eq!(r.accept(2, b"b"), Received::Duplicate);
        assert_eq!(
            r.ack(),
            Ack {
                cumulative: 2,
                ranges: vec![(4, 6)]
            }
        );
    }

    #[test]
    fn sender_acks_sacks_and_retransmits() {
        let mut w = SendWindow::new(16);
        for i in 1..=8u8 {
            assert_eq!(w.push(vec![i], ms(0), ms(100)), u64::from(i));
        }
        // 1-2 arrive, 3 is lost, 4-8 arrive: 3 is retransmitted at once, without a timeout.
        let out = w.on_ack(&Ack {
            cumulative: 2,
            ranges: vec![(4, 9)],
        });
        assert_eq!(out.newly_acked, 7);
        assert_eq!(w.next_retransmit(ms(1), ms(800)), Some((3, &[3u8][..])));
        assert_eq!(w.next_retransmit(ms(1), ms(800)), None);
        assert_eq!(
            w.in_flight(),
            6,
            "3 and the sacked 4-8 stay until the cumulative ack"
        );
        // Its timeout doubled: not lost again before 1 + 200 ms.
        assert_eq!(w.expire(ms(150), 3), Ok(()));
        assert!(!w.has_lost());
        assert_eq!(w.next_timeout(), Some(ms(201)));
        assert_eq!(w.expire(ms(201), 3), Ok(()));
        assert!(w.has_lost());
        let out = w.on_ack(&Ack {
            cumulative: 8,
            ranges: vec![],
        });
        assert_eq!(out.newly_acked, 1);
        assert_eq!(w.in_flight(), 0);
    }

    #[test]
    fn the_retransmission_bound_is_reported() {
        let mut w = SendWindow::new(4);
        w.push(vec![1], ms(0), ms(10));
        let mut now = ms(0);
        for _ in 0..3 {
            now += ms(100);
            assert_eq!(w.expire(now, 3), Ok(()));
            assert!(w.next_retransmit(now, ms(40)).is_some());
        }
        now += ms(100);
        assert_eq!(w.expire(now, 3), Err(3));
    }

    #[test]
    fn acks_for_unsent_chunks_are_ignored() {
        let mut w = SendWindow::new(4);
        w.push(vec![1], ms(0), ms(10));
        let out = w.on_ack(&Ack {
            cumulative: 50,
            ranges: vec![(60, 70)],
        });
        assert_eq!(out.newly_acked, 1);
        assert_eq!(w.push(vec![2], ms(0), ms(10)), 2);
    }
}
