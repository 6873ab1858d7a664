//! RFC 3706 Dead Peer Detection for an ISAKMP SA, as a state machine over the caller's clock:
//! the caller reports inbound activity (any authenticated IKE message, any ESP packet of the
//! SA's IPsec SAs) and the DPD notifications it received; `poll` says when to send an
//! R-U-THERE and when the peer is dead. No I/O: the engine builds the NOTIFY (protocol
//! ISAKMP, SPI = CKY-I | CKY-R, data = the sequence number) and encrypts it.
//!
//! Sequence numbers (RFC 3706 section 7): ours start at random and go up by one for each new
//! R-U-THERE; a retransmission repeats its R-U-THERE's number, so an ACK of any copy proves
//! the peer alive. An ACK must carry the number we sent. The peer's R-U-THEREs must not go
//! backwards (a replay); a repeat of its last one is answered again (its retransmission).

use std::time::Duration;

use super::config::DpdTiming;
use crate::rng::{random_u32, RngSource};

/// The notify message types (RFC 3706 section 6).
pub const R_U_THERE: u16 = 36136;
pub const R_U_THERE_ACK: u16 = 36137;

/// What `poll` asks of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DpdStep {
    /// Nothing to do before `next_deadline`.
    Wait,
    /// Send an R-U-THERE with this sequence number (a new one or a retransmission).
    Send(u32),
    /// The peer did not answer: apply the connection's `dpd-action`.
    Dead,
}

/// Why a DPD notification was not applied (the caller counts it and drops the message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DpdError {
    /// The notification data is not a 4-octet sequence number.
    BadLength,
    /// An R-U-THERE-ACK that answers nothing we sent.
    UnexpectedAck,
    /// An R-U-THERE older than the peer's last one.
    Replayed,
}

impl DpdError {
    pub fn counter_name(self) -> &'static str {
        match self {
            DpdError::BadLength => "dpd_bad_length",
            DpdError::UnexpectedAck => "dpd_unexpected_ack",
            DpdError::Replayed => "dpd_replayed",
        }
    }
}

/// What the HA sync carries so that the other node continues the numbering.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DpdSnapshot {
    /// The sequence number of our next new R-U-THERE.
    pub next_seq: u32,
    /// The last R-U-THERE sequence number the peer sent us.
    pub peer_last: Option<u32>,
}

/// An R-U-THERE waiting for its ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Probe {
    seq: u32,
    /// When the last copy went out.
    sent_at: Duration,
    retransmits: u32,
}

/// The DPD state of one ISAKMP SA.
#[derive(Debug, Clone)]
pub struct Dpd {
    /// None: we never probe, but still answer the peer.
    timing: Option<DpdTiming>,
    /// The peer sent the DPD vendor ID: only then may we send it R-U-THEREs.
    peer_supports: bool,
    next_seq: u32,
    peer_last: Option<u32>,
    /// The last R-U-THERE we sent: its ACK is accepted even after other traffic ended the probe.
    last_sent: Option<u32>,
    last_inbound: Duration,
    probe: Option<Probe>,
    dead: bool,
}

/// The 4-octet sequence number of a DPD notification's data.
pub fn parse_seq(data: &[u8]) -> Result<u32, DpdError> {
    let b: [u8; 4] = data.try_into().map_err(|_| DpdError::BadLength)?;
    Ok(u32::from_be_bytes(b))
}

/// The notification data for a sequence number.
pub fn seq_data(seq: u32) -> [u8; 4] {
    seq.to_be_bytes()
}

/// Whether `seq` comes after `last` in a wrapping 32-bit space.
fn is_after(seq: u32, last: u32) -> bool {
    (seq.wrapping_sub(last) as i32) > 0
}

impl Dpd {
    /// A new ISAKMP SA's DPD, established at `now`. The first sequence number is random with
    /// the top bit clear (as strongSwan), far from a wrap.
    pub fn new(timing: Option<DpdTiming>, now: Duration, rng: &mut dyn RngSource) -> Dpd {
        Dpd::resume(
            timing,
            DpdSnapshot {
                next_seq: random_u32(rng) & 0x7fff_ffff,
                peer_last: None,
            },
            now,
        )
    }

    /// An ISAKMP SA taken over from the other node (or from disk): its numbering goes on,
    /// and the peer gets a whole interval before it is probed.
    pub fn resume(timing: Option<DpdTiming>, snapshot: DpdSnapshot, now: Duration) -> Dpd {
        Dpd {
            timing,
            peer_supports: false,
            next_seq: snapshot.next_seq,
            peer_last: snapshot.peer_last,
            last_sent: None,
            last_inbound: now,
            probe: None,
            dead: false,
        }
    }

    pub fn snapshot(&self) -> DpdSnapshot {
        DpdSnapshot {
            next_seq: self.next_seq,
            peer_last: self.peer_last,
        }
    }

    /// The peer announced RFC 3706 support (its DPD vendor ID).
    pub fn set_peer_supports(&mut self, yes: bool) {
        self.peer_supports = yes;
    }

    pub fn peer_supports(&self) -> bool {
        self.peer_supports
    }

    /// Authenticated inbound traffic of this SA: the peer is alive.
    pub fn on_inbound(&mut self, now: Duration) {
        self.last_inbound = self.last_inbound.max(now);
        self.probe = None;
    }

    /// What to do now.
    pub fn poll(&mut self, now: Duration) -> DpdStep {
        let Some(t) = self.timing.filter(|_| self.peer_supports && !self.dead) else {
            return DpdStep::Wait;
        };
        match self.probe {
            None if now >= self.last_inbound.saturating_add(t.interval) => {
                let seq = self.next_seq;
                self.next_seq = seq.wrapping_add(1);
                self.last_sent = Some(seq);
                self.probe = Some(Probe {
                    seq,
                    sent_at: now,
                    retransmits: 0,
                });
                DpdStep::Send(seq)
            }
            Some(p) if now >= p.sent_at.saturating_add(t.retransmit) => {
                if p.retransmits >= t.retries {
                    self.dead = true;
                    self.probe = None;
                    return DpdStep::Dead;
                }
                self.probe = Some(Probe {
                    sent_at: now,
                    retransmits: p.retransmits + 1,
                    ..p
                });
                DpdStep::Send(p.seq)
            }
            _ => DpdStep::Wait,
        }
    }

    /// When `poll` has something to do next (None: nothing until the peer or the config changes).
    pub fn next_deadline(&self) -> Option<Duration> {
        let t = self.timing.filter(|_| self.peer_supports && !self.dead)?;
        Some(match self.probe {
            None => self.last_inbound.saturating_add(t.interval),
            Some(p) => p.sent_at.saturating_add(t.retransmit),
        })
    }

    /// An R-U-THERE-ACK's data (after the message was authenticated).
    pub fn on_ack(&mut self, data: &[u8], now: Duration) -> Result<(), DpdError> {
        let seq = parse_seq(data)?;
        if self.last_sent != Some(seq) {
            return Err(DpdError::UnexpectedAck);
        }
        self.on_inbound(now);
        Ok(())
    }

    /// The peer's R-U-THERE (authenticated): the sequence number to echo in our ACK.
    pub fn on_r_u_there(&mut self, data: &[u8], now: Duration) -> Result<u32, DpdError> {
        let seq = parse_seq(data)?;
        match self.peer_last {
            Some(last) if seq != last && !is_after(seq, last) => return Err(DpdError::Replayed),
            _ => self.peer_last = Some(seq),
        }
        self.on_inbound(now);
        Ok(seq)
    }

    pub fn is_dead(&self) -> bool {
        self.dead
    }
}

#[cfg(test)]
#[path = "dpd_tests.rs"]
mod tests;
