//! One stream with the peer, from the handshake that opens it to the peer going down: the
//! send queue and window, the receive window and decoder, the bulk sync's state. Nothing of
//! it survives a reset: the bulk sync that every new stream starts with replaces it.

use std::collections::VecDeque;
use std::time::Duration;

use crate::config::SyncConfig;
use crate::queue::{Backpressure, Queued, SendQueue};
use crate::record::{RecordError, StreamDecoder, StreamMessage};
use crate::status::{Counters, SyncEvent};
use crate::window::{ReceiveWindow, Received, SendWindow};

/// Chunks received before an ack goes out at once rather than after the ack delay.
const ACK_EVERY: u32 = 8;

pub(crate) struct Link {
    pub queue: SendQueue,
    pub send: SendWindow,
    recv: ReceiveWindow,
    decoder: StreamDecoder,
    /// Chunks received since the last ack sent, and when that ack is due.
    unacked: u32,
    pub ack_due: Option<Duration>,
    /// Records received since this node asked for the bulk sync, until its end arrives.
    pub bulk_in: Option<u64>,
    /// Records fed into the bulk sync the peer asked for, until `bulk_end`.
    pub bulk_out: Option<u64>,
    pub in_sync: bool,
}

impl Link {
    /// A new stream: it starts by asking the peer for its whole state.
    pub fn new(config: &SyncConfig) -> Self {
        let mut queue = SendQueue::new(config.queue_limit);
        queue
            .push(StreamMessage::BulkRequest, true)
            .expect("control messages are never refused");
        Link {
            queue,
            send: SendWindow::new(config.send_window),
            recv: ReceiveWindow::new(config.send_window),
            decoder: StreamDecoder::default(),
            unacked: 0,
            ack_due: None,
            bulk_in: Some(0),
            bulk_out: None,
            in_sync: false,
        }
    }

    pub fn offer(
        &mut self,
        msg: StreamMessage,
        counters: &mut Counters,
    ) -> Result<(), Backpressure> {
        match self.queue.push(msg, false) {
            Ok(Queued::Added) => Ok(()),
            Ok(Queued::Coalesced) => {
                counters.records_coalesced += 1;
                Ok(())
            }
            Err(e) => {
                counters.backpressure += 1;
                Err(e)
            }
        }
    }

    /// A Data frame: delivers what is now in order, as events. An error breaks the stream.
    pub fn on_data(
        &mut self,
        seq: u64,
        bytes: &[u8],
        config: &SyncConfig,
        now: Duration,
        counters: &mut Counters,
        events: &mut VecDeque<SyncEvent>,
    ) -> Result<(), RecordError> {
        let received = self.recv.accept(seq, bytes);
        self.unacked += 1;
        match received {
            Received::InOrder => {}
            Received::Buffered => self.ack_due = Some(now),
            Received::Duplicate => {
                counters.chunks_duplicate += 1;
                self.ack_due = Some(now);
            }
            Received::BeyondWindow => {
                counters.chunks_beyond_window += 1;
                self.ack_due = Some(now);
            }
        }
        if self.unacked >= ACK_EVERY {
            self.ack_due = Some(now);
        } else if self.ack_due.is_none() {
            self.ack_due = Some(now + config.ack_delay);
        }
        let mut messages = Vec::new();
        if received == Received::InOrder {
            self.decoder.push(bytes, config.max_record, &mut messages)?;
        }
        while let Some(chunk) = self.recv.take_ready() {
            self.decoder
                .push(&chunk, config.max_record, &mut messages)?;
        }
        for m in messages {
            self.deliver(m, counters, events);
        }
        Ok(())
    }

    fn deliver(
        &mut self,
        m: StreamMessage,
        counters: &mut Counters,
        events: &mut VecDeque<SyncEvent>,
    ) {
        match m {
            StreamMessage::Record(r) => {
                counters.records_applied += 1;
                if let Some(n) = &mut self.bulk_in {
                    *n += 1;
                }
                events.push_back(SyncEvent::Apply(r));
            }
            StreamMessage::BulkRequest => {
                self.bulk_out = Some(0);
                events.push_back(SyncEvent::BulkRequested);
            }
            StreamMessage::BulkEnd { .. } => {
                // Only the end of the bulk sync this stream asked for counts.
                if let Some(records) = self.bulk_in.take() {
                    self.in_sync = true;
                    counters.bulk_syncs_received += 1;
                    events.push_back(SyncEvent::InSync { records });
                }
            }
        }
    }

    /// The ack to put in the datagram being built, if one is due (or `riding` on data).
    pub fn take_ack(&mut self, now: Duration, riding: bool) -> Option<crate::wire::Ack> {
        let due = self.ack_due.is_some_and(|t| t <= now) || (riding && self.unacked > 0);
        if !due {
            return None;
        }
        self.ack_due = None;
        self.unacked = 0;
        Some(self.recv.ack())
    }
}
