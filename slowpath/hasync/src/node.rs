//! The sync node: one per node, talking to the one peer node over every path at once.
//!
//! Sessions and streams. Each node draws a random session at every boot (its key, see
//! `crypto`) and keeps a challenge, a number that it changes whenever it declares the peer
//! down or takes a new peer session. Every datagram carries the sender's session and challenge
//! and echoes the peer's challenge as the sender last heard it. A stream is up once the peer
//! has echoed our current challenge: that proves the peer heard us since we last reset or
//! took it, so a replayed datagram of an earlier stream, of a dead session of the peer or of
//! an earlier boot of ours cannot open one. Frames are applied only
//! when both challenges match the current stream; a new session of the peer replaces the
//! current one only with that proof, and a replaced session is never accepted again.
//!
//! Every stream starts with each side asking the other for a bulk sync: a reset loses the
//! queue and the windows, and the bulk sync puts everything back.
//!
//! The caller passes `now` (a `Duration` since any fixed epoch) to every input, drains
//! `poll_transmit` and `poll_event` after each, and calls `handle_timeout` at `poll_timeout`.

use std::collections::VecDeque;
use std::time::Duration;

use crate::config::{ConfigError, PathId, SyncConfig};
use crate::crypto::{first_challenge, DirectionKey, SessionId, TAG_LEN};
use crate::link::Link;
use crate::queue::Backpressure;
use crate::record::{Record, StreamMessage};
use crate::replay::{ReplayCheck, ReplayWindow};
use crate::status::{
    BulkStatus, Counters, PathStatus, PeerDownReason, PeerState, RejectReason, SyncEvent,
    SyncStatus,
};
use crate::wire::{self, Frame, Header, WireError, DATA_OVERHEAD, HEADER_LEN, MAX_ACK_LEN};

/// Replaced peer sessions remembered (and refused).
const RETIRED_SESSIONS: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BulkError {
    #[error("no bulk sync was requested (or it was abandoned)")]
    NotRequested,
    #[error("the sync send queue is full")]
    Full,
}

struct Peer {
    session: SessionId,
    key: DirectionKey,
    challenge: u64,
    /// The datagram that brought `challenge`: older ones with another challenge are stale.
    challenge_seq: u64,
    replay: ReplayWindow,
    last_heard: Duration,
}

struct PathState {
    id: PathId,
    up: bool,
    last_heard: Option<Duration>,
}

pub struct SyncNode {
    config: SyncConfig,
    session: SessionId,
    key: DirectionKey,
    /// The next datagram counter (the AEAD nonce).
    tx_seq: u64,
    challenge: u64,
    peer: Option<Peer>,
    retired: VecDeque<SessionId>,
    /// Present while the stream with the peer is up.
    link: Option<Link>,
    paths: Vec<PathState>,
    events: VecDeque<SyncEvent>,
    transmit: VecDeque<(PathId, Vec<u8>)>,
    now: Duration,
    next_hello: Duration,
    hello_now: bool,
    counters: Counters,
}

impl SyncNode {
    /// `boot_nonce`: random, drawn anew at every start of the process.
    pub fn new(
        config: SyncConfig,
        boot_nonce: SessionId,
        now: Duration,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let key = DirectionKey::derive(&config.key, config.node, &boot_nonce);
        let challenge = first_challenge(&config.key, config.node, &boot_nonce);
        let paths = config
            .paths
            .iter()
            .map(|&id| PathState {
                id,
                up: false,
                last_heard: None,
            })
            .collect();
        Ok(SyncNode {
            config,
            session: boot_nonce,
            key,
            tx_seq: 0,
            challenge,
            peer: None,
            retired: VecDeque::new(),
            link: None,
            paths,
            events: VecDeque::new(),
            transmit: VecDeque::new(),
            now,
            next_hello: now,
            hello_now: true,
            counters: Counters::default(),
        })
    }

    /// An incremental update. While the peer is down it is dropped (and counted): the bulk
    /// sync at the peer's return carries the state it describes.
    pub fn offer(&mut self, record: Record) -> Result<(), Backpressure> {
        self.counters.records_offered += 1;
        match &mut self.link {
            Some(link) => link.offer(StreamMessage::Record(record), &mut self.counters),
            None => {
                self.counters.records_dropped_peer_down += 1;
                Ok(())
            }
        }
    }

    /// Room for one more record that does not replace a queued one.
    pub fn can_offer(&self) -> bool {
        self.link.as_ref().is_none_or(|l| l.queue.has_room())
    }

    /// A record of the bulk sync the peer asked for ([`SyncEvent::BulkRequested`]).
    pub fn bulk_offer(&mut self, record: Record) -> Result<(), BulkError> {
        let link = self.link.as_mut().ok_or(BulkError::NotRequested)?;
        if link.bulk_out.is_none() {
            return Err(BulkError::NotRequested);
        }
        self.counters.records_offered += 1;
        link.offer(StreamMessage::Record(record), &mut self.counters)
            .map_err(|_| BulkError::Full)?;
        if let Some(n) = &mut link.bulk_out {
            *n += 1;
        }
        Ok(())
    }

    /// The bulk sync's end: the peer reports itself in sync once everything before it has
    /// been applied.
    pub fn bulk_end(&mut self) -> Result<(), BulkError> {
        let link = self.link.as_mut().ok_or(BulkError::NotRequested)?;
        let records = link.bulk_out.take().ok_or(BulkError::NotRequested)?;
        link.queue
            .push(StreamMessage::BulkEnd { records }, true)
            .expect("control messages are never refused");
        self.counters.bulk_syncs_served += 1;
        Ok(())
    }

    pub fn in_sync(&self) -> bool {
        self.link.as_ref().is_some_and(|l| l.in_sync)
    }

    /// Everything offered so far has been acknowledged by the peer (false while it is down):
    /// the caller may wait for it, within a bound, before an IKE message that lets the remote
    /// peer use what was just offered.
    pub fn all_acknowledged(&self) -> bool {
        self.link
            .as_ref()
            .is_some_and(|l| l.queue.is_empty() && l.send.in_flight() == 0)
    }

    pub fn is_peer_up(&self) -> bool {
        self.link.is_some()
    }

    pub fn poll_event(&mut self) -> Option<SyncEvent> {
        self.events.pop_front()
    }

    /// The next datagram to send, and on which path (each one goes out on every path).
    pub fn poll_transmit(&mut self) -> Option<(PathId, Vec<u8>)> {
        if self.transmit.is_empty() {
            self.build_datagram();
        }
        self.transmit.pop_front()
    }

    /// When `handle_timeout` is next due.
    pub fn poll_timeout(&self) -> Duration {
        let dead = self.config.dead_interval;
        let mut t = if self.hello_now {
            self.now
        } else {
            self.next_hello
        };
        for p in self.paths.iter().filter(|p| p.up) {
            t = t.min(p.last_heard.unwrap_or(self.now) + dead);
        }
        if let (Some(link), Some(peer)) = (&self.link, &self.peer) {
            t = t.min(peer.last_heard + dead);
            if let Some(a) = link.ack_due {
                t = t.min(a);
            }
            if let Some(r) = link.send.next_timeout() {
                t = t.min(r);
            }
        }
        t
    }

    pub fn handle_timeout(&mut self, now: Duration) {
        self.now = self.now.max(now);
        let (now, dead) = (self.now, self.config.dead_interval);
        for p in self.paths.iter_mut().filter(|p| p.up) {
            if p.last_heard.is_none_or(|t| t + dead <= now) {
                p.up = false;
                self.events.push_back(SyncEvent::PathDown(p.id));
            }
        }
        let Some(link) = &mut self.link else { return };
        if self
            .peer
            .as_ref()
            .is_none_or(|p| p.last_heard + dead <= now)
        {
            self.peer_down(PeerDownReason::DeadInterval, true);
        } else if link.send.expire(now, self.config.max_retransmits).is_err() {
            self.peer_down(PeerDownReason::RetransmitBound, true);
        }
    }

    pub fn handle_datagram(&mut self, path: PathId, datagram: &[u8], now: Duration) {
        self.now = self.now.max(now);
        self.counters.datagrams_received += 1;
        self.counters.bytes_received += datagram.len() as u64;
        if let Err(reason) = self.receive(path, datagram) {
            self.counters.rejected.count(reason);
        }
    }

    fn receive(&mut self, path: PathId, datagram: &[u8]) -> Result<(), RejectReason> {
        let (header, sealed) = Header::parse(datagram).map_err(|e| match e {
            WireError::Truncated => RejectReason::Truncated,
            WireError::WrongVersion => RejectReason::WrongVersion,
            WireError::BadSender => RejectReason::BadSender,
            WireError::Malformed => RejectReason::Forged,
        })?;
        if header.sender != self.config.node.peer() {
            return Err(RejectReason::BadSender);
        }
        if sealed.len() < TAG_LEN {
            return Err(RejectReason::Truncated);
        }
        if self.retired.contains(&header.session) {
            return Err(RejectReason::StaleSession);
        }
        let current = self.peer.as_ref().filter(|p| p.session == header.session);
        let replay = current.map(|p| p.replay.check(header.seq));
        if replay == Some(ReplayCheck::TooOld) {
            return Err(RejectReason::TooOld);
        }
        if replay == Some(ReplayCheck::Replayed) && self.path_heard_lately(path) {
            // The copy of a datagram that came first on another path, on a path known to
            // work: nothing to learn from it, not even worth the decryption.
            return Err(RejectReason::Replayed);
        }
        let aad = &datagram[..HEADER_LEN];
        let mut buf = sealed.to_vec();
        let fresh_key;
        let key = match current {
            Some(p) => &p.key,
            None => {
                fresh_key = DirectionKey::derive(&self.config.key, header.sender, &header.session);
                &fresh_key
            }
        };
        let plain = key
            .open(header.seq, aad, &mut buf)
            .ok_or(RejectReason::Forged)?;
        if replay == Some(ReplayCheck::Replayed) {
            // An authentic copy still shows that its path works.
            self.path_heard(path);
            return Err(RejectReason::Replayed);
        }
        let frames = wire::parse_frames(plain).map_err(|_| RejectReason::Malformed)?;
        if current.is_none() && !self.new_session(&header, &frames)? {
            return Ok(());
        }
        self.path_heard(path);
        let peer = self.peer.as_mut().expect("current or just adopted");
        peer.replay.mark(header.seq);
        peer.last_heard = self.now;
        if header.challenge != peer.challenge {
            if header.seq < peer.challenge_seq {
                return Err(RejectReason::StaleStream);
            }
            peer.challenge = header.challenge;
            peer.challenge_seq = header.seq;
            self.hello_now = true;
            if self.link.is_some() {
                // The peer reset its side (it declared us down): so do we.
                self.peer_down(PeerDownReason::PeerReset, false);
            }
        }
        if header.echo != self.challenge {
            // Sent before the peer heard our current challenge.
            return stale_unless_hello(&frames);
        }
        if self.link.is_none() {
            self.link = Some(Link::new(&self.config));
            self.counters.peer_up += 1;
            self.events.push_back(SyncEvent::PeerUp);
            self.hello_now = true;
        }
        self.apply_frames(&frames)
    }

    /// Heard within a quarter of the dead interval: a copy need not be authenticated for it.
    fn path_heard_lately(&self, path: PathId) -> bool {
        let recent = self.config.dead_interval / 4;
        self.paths
            .iter()
            .find(|p| p.id == path)
            .is_some_and(|p| p.up && p.last_heard.is_some_and(|t| t + recent > self.now))
    }

    fn path_heard(&mut self, path: PathId) {
        if let Some(p) = self.paths.iter_mut().find(|p| p.id == path) {
            p.last_heard = Some(self.now);
            if !p.up {
                p.up = true;
                self.events.push_back(SyncEvent::PathUp(path));
            }
        }
    }

    /// A datagram from a session that is not the current one, authenticated.
    /// Whether it replaced the current one (then its frames are for us).
    fn new_session(&mut self, header: &Header, frames: &[Frame<'_>]) -> Result<bool, RejectReason> {
        if self.link.is_some() {
            // The peer restarted (or it is a replay of an unseen old session): only an echo of
            // our current challenge proves it has heard us lately.
            if header.echo != self.challenge {
                return stale_unless_hello(frames).map(|()| false);
            }
            self.peer_down(PeerDownReason::PeerReset, false);
            let old = self.peer.take().expect("a link has a peer").session;
            if self.retired.len() == RETIRED_SESSIONS {
                self.retired.pop_front();
            }
            self.retired.push_back(old);
        }
        self.peer = Some(Peer {
            session: header.session,
            key: DirectionKey::derive(&self.config.key, header.sender, &header.session),
            challenge: header.challenge,
            challenge_seq: header.seq,
            replay: ReplayWindow::default(),
            last_heard: self.now,
        });
        // Only a session that hears us from now on can echo the new challenge: a replay of
        // one that died before (and never got that far) cannot open a stream.
        self.new_challenge();
        Ok(true)
    }

    fn apply_frames(&mut self, frames: &[Frame<'_>]) -> Result<(), RejectReason> {
        let link = self.link.as_mut().expect("called on an up stream");
        for f in frames {
            match f {
                Frame::Hello => {}
                Frame::Ack(ack) => {
                    link.send.on_ack(ack);
                }
                Frame::Data { seq, bytes } => {
                    let r = link.on_data(
                        *seq,
                        bytes,
                        &self.config,
                        self.now,
                        &mut self.counters,
                        &mut self.events,
                    );
                    if r.is_err() {
                        self.peer_down(PeerDownReason::StreamError, true);
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// The stream ends; `local`: our decision (we change our challenge so the peer resets too).
    fn peer_down(&mut self, reason: PeerDownReason, local: bool) {
        if self.link.take().is_some() {
            self.counters.peer_down += 1;
            self.events.push_back(SyncEvent::PeerDown(reason));
        }
        if local {
            self.new_challenge();
        }
        self.hello_now = true;
    }

    fn new_challenge(&mut self) {
        self.challenge = self.challenge.wrapping_add(1).max(1);
        self.hello_now = true;
    }

    fn build_datagram(&mut self) {
        if self.tx_seq == u64::MAX {
            return; // never: 2^64 datagrams; the counter must not wrap under one key
        }
        let now = self.now;
        let cap = self.config.max_datagram - HEADER_LEN - TAG_LEN - MAX_ACK_LEN - 1 - DATA_OVERHEAD;
        let mut payload = Vec::with_capacity(self.config.max_datagram);
        if let Some(link) = &mut self.link {
            let mut data = None;
            if let Some((seq, bytes)) = link.send.next_retransmit(now, self.config.rto_max) {
                self.counters.chunks_retransmitted += 1;
                data = Some((seq, bytes.to_vec()));
            } else if link.send.has_room() {
                if let Some((chunk, _)) = link.queue.next_chunk(cap) {
                    let seq = link.send.push(chunk.clone(), now, self.config.rto_initial);
                    self.counters.chunks_sent += 1;
                    data = Some((seq, chunk));
                }
            }
            if let Some(ack) = link.take_ack(now, data.is_some()) {
                wire::emit_ack(&ack, &mut payload);
            }
            if let Some((seq, bytes)) = data {
                wire::emit_data(seq, &bytes, &mut payload);
            }
        }
        if payload.is_empty() {
            if !self.hello_now && now < self.next_hello {
                return;
            }
            wire::emit_hello(&mut payload);
        }
        self.hello_now = false;
        self.next_hello = now + self.config.hello_interval;
        let header = Header {
            sender: self.config.node,
            session: self.session,
            challenge: self.challenge,
            echo: self.peer.as_ref().map_or(0, |p| p.challenge),
            seq: self.tx_seq,
        };
        self.tx_seq += 1;
        let mut datagram = Vec::with_capacity(HEADER_LEN + payload.len() + TAG_LEN);
        header.emit(&mut datagram);
        self.key.seal(header.seq, &datagram, &mut payload);
        datagram.extend_from_slice(&payload);
        let n = self.paths.len() as u64;
        self.counters.datagrams_sent += n;
        self.counters.bytes_sent += n * datagram.len() as u64;
        for p in &self.paths[1..] {
            self.transmit.push_back((p.id, datagram.clone()));
        }
        self.transmit.push_front((self.paths[0].id, datagram));
    }

    pub fn status(&self) -> SyncStatus {
        let peer = match (&self.peer, &self.link) {
            (_, Some(_)) => PeerState::Up,
            (Some(_), None) => PeerState::Connecting,
            (None, None) => PeerState::Down,
        };
        let mut bulk = BulkStatus::default();
        if let Some(link) = &self.link {
            bulk.receiving = link.bulk_in.is_some();
            bulk.received_records = link.bulk_in.unwrap_or(0);
            bulk.serving = link.bulk_out.is_some();
            bulk.served_records = link.bulk_out.unwrap_or(0);
        }
        SyncStatus {
            node: self.config.node.get(),
            peer,
            in_sync: self.in_sync(),
            paths: self
                .paths
                .iter()
                .map(|p| PathStatus {
                    id: p.id,
                    up: p.up,
                    last_heard_ms: p
                        .last_heard
                        .map(|t| self.now.saturating_sub(t).as_millis() as u64),
                })
                .collect(),
            queued_records: self.link.as_ref().map_or(0, |l| l.queue.len()),
            chunks_in_flight: self.link.as_ref().map_or(0, |l| l.send.in_flight()),
            bulk,
            counters: self.counters.clone(),
        }
    }
}

/// Hellos are how a stream starts: they are not rejected for belonging to none yet.
fn stale_unless_hello(frames: &[Frame<'_>]) -> Result<(), RejectReason> {
    if frames.iter().all(|f| matches!(f, Frame::Hello)) {
        Ok(())
    } else {
        Err(RejectReason::StaleStream)
    }
}
