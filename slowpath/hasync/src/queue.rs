//! The send queue: records waiting for room in the send window, bounded, with coalescing (a
//! newer record with the same key replaces a queued one in place), cut into chunks of the
//! record stream when the window has room.

use std::collections::{HashMap, VecDeque};

use crate::record::{RecordKey, StreamMessage};

/// The queue is full: the caller keeps the record and offers it again later.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the sync send queue is full")]
pub struct Backpressure;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Queued {
    Added,
    /// A queued record with the same key was replaced.
    Coalesced,
}

pub struct SendQueue {
    /// Absolute index of `items[0]`; indices only grow, so the key map stays valid.
    base: u64,
    items: VecDeque<StreamMessage>,
    /// Keys come from the local caller, not the network: a fast hash is safe.
    by_key: HashMap<RecordKey, u64, foldhash::fast::RandomState>,
    limit: usize,
    /// The message being cut into chunks, and how much of it has gone.
    staged: Vec<u8>,
    staged_sent: usize,
}

impl SendQueue {
    pub fn new(limit: usize) -> Self {
        SendQueue {
            base: 0,
            items: VecDeque::new(),
            by_key: HashMap::default(),
            limit,
            staged: Vec::new(),
            staged_sent: 0,
        }
    }

    /// Queues a record (coalescing) or, when `control`, a bulk-sync message (never refused:
    /// they are few and the protocol needs them).
    pub fn push(&mut self, msg: StreamMessage, control: bool) -> Result<Queued, Backpressure> {
        if let StreamMessage::Record(r) = &msg {
            let key = r.key();
            if let Some(&at) = self.by_key.get(&key) {
                self.items[(at - self.base) as usize] = msg;
                return Ok(Queued::Coalesced);
            }
            if self.items.len() >= self.limit && !control {
                return Err(Backpressure);
            }
            self.by_key.insert(key, self.base + self.items.len() as u64);
        } else if self.items.len() >= self.limit && !control {
            return Err(Backpressure);
        }
        self.items.push_back(msg);
        Ok(Queued::Added)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.staged_sent == self.staged.len()
    }

    /// Room for `offer` (one record that does not coalesce).
    pub fn has_room(&self) -> bool {
        self.items.len() < self.limit
    }

    /// The next chunk of the stream, at most `cap` bytes (full unless the queue ran dry), and
    /// how many messages were started in it.
    pub fn next_chunk(&mut self, cap: usize) -> Option<(Vec<u8>, u64)> {
        let mut chunk = Vec::with_capacity(cap);
        let mut started = 0;
        while chunk.len() < cap {
            if self.staged_sent == self.staged.len() {
                let Some(msg) = self.pop() else { break };
                self.staged.clear();
                self.staged_sent = 0;
                msg.encode(&mut self.staged);
                started += 1;
            }
            let n = (cap - chunk.len()).min(self.staged.len() - self.staged_sent);
            chunk.extend_from_slice(&self.staged[self.staged_sent..self.staged_sent + n]);
            self.staged_sent += n;
        }
        (!chunk.is_empty()).then_some((chunk, started))
    }

    fn pop(&mut self) -> Option<StreamMessage> {
        let msg = self.items.pop_front()?;
        if let StreamMessage::Record(r) = &msg {
            let key = r.key();
            if self.by_key.get(&key) == Some(&self.base) {
                self.by_key.remove(&key);
            }
        }
        self.base += 1;
        Some(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Record, StreamDecoder};

    fn snap(spi: u32, oseq: u64) -> StreamMessage {
        StreamMessage::Record(Record::SeqSnapshot {
            spi,
            inbound: false,
            peer: "192.0.2.2".parse().unwrap(),
            oseq,
            window_top: 0,
            bitmap: [0; 4],
            generation: 1,
        })
    }

    fn drain(q: &mut SendQueue, cap: usize) -> Vec<StreamMessage> {
        let mut d = StreamDecoder::default();
        let mut out = Vec::new();
        while let Some((c, _)) = q.next_chunk(cap) {
            assert!(c.len() <= cap);
            d.push(&c, 1 << 20, &mut out).unwrap();
        }
        out
    }

    #[test]
    fn coalesces_in_place_and_bounds() {
        let mut q = SendQueue::new(3);
        assert_eq!(q.push(snap(1, 1), false), Ok(Queued::Added));
        assert_eq!(q.push(snap(2, 1), false), Ok(Queued::Added));
        assert_eq!(q.push(snap(1, 9), false), Ok(Queued::Coalesced));
        assert_eq!(q.push(snap(3, 1), false), Ok(Queued::Added));
        assert_eq!(q.push(snap(4, 1), false), Err(Backpressure));
        assert_eq!(
            q.push(snap(2, 5), false),
            Ok(Queued::Coalesced),
            "full, but it replaces"
        );
        assert_eq!(
            q.push(StreamMessage::BulkEnd { records: 3 }, true),
            Ok(Queued::Added)
        );
        assert_eq!(
            drain(&mut q, 100),
            vec![
                snap(1, 9),
                snap(2, 5),
                snap(3, 1),
                StreamMessage::BulkEnd { records: 3 }
            ]
        );
        assert!(q.is_empty());
        // Once sent, a record is no longer replaced: the newer one follows it.
        assert_eq!(q.push(snap(1, 10), false), Ok(Queued::Added));
        assert_eq!(drain(&mut q, 7), vec![snap(1, 10)]);
    }

    #[test]
    fn a_record_half_sent_is_not_replaced() {
        let mut q = SendQueue::new(10);
        q.push(snap(1, 1), false).unwrap();
        let (first, started) = q.next_chunk(10).unwrap();
        assert_eq!((first.len(), started), (10, 1));
        assert_eq!(q.push(snap(1, 2), false), Ok(Queued::Added));
        let mut d = StreamDecoder::default();
        let mut out = Vec::new();
        d.push(&first, 1 << 20, &mut out).unwrap();
        while let Some((c, _)) = q.next_chunk(10) {
            d.push(&c, 1 << 20, &mut out).unwrap();
        }
        assert_eq!(out, vec![snap(1, 1), snap(1, 2)]);
    }
}
