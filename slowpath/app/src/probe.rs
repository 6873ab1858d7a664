//! Reachability probes for tracking (Cisco's `track ... ip sla`): an ICMP echo every
//! interval; down after `fail` probes in a row went unanswered within the timeout, up again
//! after `rise` answers in a row. The logic is time-driven and separate from the socket.

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use toolkit::checksum::checksum;

/// One probe's timing and verdict.
#[derive(Debug, Clone)]
pub struct ProbeState {
    pub interval: Duration,
    pub timeout: Duration,
    pub fail: u32,
    pub rise: u32,
    /// The echo in flight: its sequence number and when it left.
    outstanding: Option<(u16, Duration)>,
    next_send: Duration,
    seq: u16,
    misses: u32,
    answers: u32,
    up: bool,
    pub sent: u64,
    pub answered: u64,
}

impl ProbeState {
    /// Starts up: the target counts as reachable until `fail` probes say otherwise.
    pub fn new(interval: Duration, timeout: Duration, fail: u32, rise: u32) -> ProbeState {
        ProbeState {
            interval,
            timeout,
            fail,
            rise,
            outstanding: None,
            next_send: Duration::ZERO,
            seq: 0,
            misses: 0,
            answers: 0,
            up: true,
            sent: 0,
            answered: 0,
        }
    }

    pub fn up(&self) -> bool {
        self.up
    }

    pub fn next_deadline(&self) -> Duration {
        match self.outstanding {
            Some((_, at)) => (at + self.timeout).min(self.next_send),
            None => self.next_send,
        }
    }

    /// Times out what is overdue; returns the sequence number to send now, if it is time,
    /// and the new verdict if it changed.
    pub fn poll(&mut self, now: Duration) -> (Option<u16>, Option<bool>) {
        let mut changed = None;
        if let Some((_, at)) = self.outstanding {
            if now >= at + self.timeout {
                self.outstanding = None;
                changed = self.miss();
            }
        }
        let mut send = None;
        if now >= self.next_send {
            if self.outstanding.take().is_some() {
                // Still unanswered when the next is due (timeout > interval): a miss.
                changed = changed.or(self.miss());
            }
            self.seq = self.seq.wrapping_add(1);
            self.outstanding = Some((self.seq, now));
            self.next_send = now + self.interval;
            self.sent += 1;
            send = Some(self.seq);
        }
        (send, changed)
    }

    /// An echo reply with sequence number `seq` arrived.
    pub fn on_reply(&mut self, now: Duration, seq: u16) -> Option<bool> {
        match self.outstanding {
            Some((s, at)) if s == seq && now < at + self.timeout => {
                self.outstanding = None;
                self.answered += 1;
                self.misses = 0;
                self.answers += 1;
                if !self.up && self.answers >= self.rise {
                    self.up = true;
                    return Some(true);
                }
                None
            }
            _ => None,
        }
    }

    fn miss(&mut self) -> Option<bool> {
        self.answers = 0;
        self.misses += 1;
        if self.up && self.misses >= self.fail {
            self.up = false;
            return Some(false);
        }
        None
    }
}

/// A raw ICMP socket for one target.
pub struct Pinger {
    sock: Socket,
    target: IpAddr,
    ident: u16,
}

impl Pinger {
    pub fn new(target: IpAddr, ident: u16) -> io::Result<Pinger> {
        let sock = match target {
            IpAddr::V4(_) => Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))?,
            IpAddr::V6(_) => Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?,
        };
        sock.set_nonblocking(true)?;
        Ok(Pinger {
            sock,
            target,
            ident,
        })
    }

    pub fn send(&self, seq: u16) -> io::Result<()> {
        let v6 = self.target.is_ipv6();
        let mut msg = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
        msg.extend_from_slice(&self.ident.to_be_bytes());
        msg.extend_from_slice(&seq.to_be_bytes());
        msg.extend_from_slice(b"slowpath track probe");
        if !v6 {
            // The kernel sums ICMPv6 itself (it needs the pseudo-header); ICMPv4 is ours.
            let sum = checksum(&msg);
            msg[2..4].copy_from_slice(&sum.to_be_bytes());
        }
        self.sock
            .send_to(&msg, &SockAddr::from(SocketAddr::new(self.target, 0)))?;
        Ok(())
    }

    /// The sequence numbers of the echo replies to us that are waiting.
    pub fn replies(&self) -> Vec<u16> {
        let mut seqs = Vec::new();
        let mut buf = [0u8; 1500];
        while let Ok(n) = (&self.sock).read(&mut buf) {
            let Some(pkt) = buf.get(..n) else { break };
            // An ICMPv4 raw socket hands over the IP header too; ICMPv6 does not.
            let icmp = match self.target {
                IpAddr::V4(t) => {
                    let ihl = usize::from(pkt.first().map_or(0, |b| b & 0x0f)) * 4;
                    if pkt.get(12..16) != Some(&t.octets()[..]) {
                        continue;
                    }
                    pkt.get(ihl..).unwrap_or(&[])
                }
                IpAddr::V6(_) => pkt,
            };
            let reply_type = if self.target.is_ipv6() { 129 } else { 0 };
            if icmp.len() >= 8
                && icmp[0] == reply_type
                && u16::from_be_bytes([icmp[4], icmp[5]]) == self.ident
            {
                seqs.push(u16::from_be_bytes([icmp[6], icmp[7]]));
            }
        }
        seqs
    }
}

impl std::os::fd::AsRawFd for Pinger {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.sock.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn goes_down_after_fail_misses_and_up_after_rise_answers() {
        let mut p = ProbeState::new(ms(100), ms(50), 3, 2);
        let mut now = ms(0);
        let mut verdicts = Vec::new();
        // Three unanswered probes: down at the third timeout.
        for _ in 0..3 {
            let (seq, ch) = p.poll(now);
            assert!(seq.is_some());
            verdicts.extend(ch);
            now = p.next_deadline();
            let (_, ch) = p.poll(now);
            verdicts.extend(ch);
            now = p.next_deadline();
        }
        assert_eq!(verdicts, vec![false]);
        assert!(!p.up());
        // Two answered probes: up again at the second answer.
        let mut ups = Vec::new();
        for _ in 0..2 {
            let (seq, _) = p.poll(now);
            let seq = seq.expect("a probe is due");
            ups.extend(p.on_reply(now + ms(10), seq));
            now = p.next_deadline();
        }
        assert_eq!(ups, vec![true]);
        assert_eq!((p.sent, p.answered), (5, 2));
    }

    #[test]
    fn a_late_or_stray_reply_does_not_count() {
        let mut p = ProbeState::new(ms(100), ms(50), 1, 1);
        let (seq, _) = p.poll(ms(0));
        let seq = seq.unwrap();
        assert_eq!(p.on_reply(ms(10), seq.wrapping_add(1)), None);
        assert_eq!(p.on_reply(ms(60), seq), None, "after the timeout");
        assert_eq!(p.poll(ms(60)).1, Some(false));
        assert_eq!(p.answered, 0);
    }

    #[test]
    fn a_timeout_longer_than_the_interval_still_counts_misses() {
        let mut p = ProbeState::new(ms(100), ms(500), 2, 1);
        assert!(p.poll(ms(0)).0.is_some());
        let (seq, ch) = p.poll(ms(100));
        assert!(seq.is_some());
        assert_eq!(ch, None);
        let (_, ch) = p.poll(ms(200));
        assert_eq!(ch, Some(false));
    }

    #[test]
    fn icmp_checksum_of_a_known_echo() {
        // An echo request, id 1 seq 1, no data: 0x08 0x00 [f7fd] 0x0001 0x0001.
        assert_eq!(checksum(&[8, 0, 0, 0, 0, 1, 0, 1]), 0xf7fd);
    }
}
