//! Two nodes and a simulated network between them, on a fake clock: per-path latency,
//! jitter (reordering), loss, duplication, paths cut one way or both. Each node's caller
//! applies what it is given and answers bulk requests from its own state, as the daemon would.

use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

use crate::{NodeId, PathId, Record, RecordKey, SyncConfig, SyncEvent, SyncNode};

pub const KEY: &[u8] = b"an example sync key, 32 bytes!!!";
pub const PATHS: [PathId; 2] = [1, 2];

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn config(node: u8) -> SyncConfig {
    SyncConfig::new(NodeId::new(node).unwrap(), KEY.to_vec(), PATHS.to_vec())
}

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// True with probability `per_mille` / 1000.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }
}

struct InFlight {
    at: Duration,
    /// Order of sending: ties on `at` are delivered in it.
    id: u64,
    to: usize,
    path: PathId,
    bytes: Vec<u8>,
}

// Ordered so that the earliest is the greatest, for a max-heap.
impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.at, other.id).cmp(&(self.at, self.id))
    }
}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.id) == (other.at, other.id)
    }
}
impl Eq for InFlight {}

#[derive(Default)]
pub struct Caller {
    /// What this node's caller holds: its own state and what it applied from the peer.
    pub state: HashMap<RecordKey, Record>,
    pub applied: Vec<Record>,
    pub events: Vec<SyncEvent>,
    /// Keys of the records still to feed into the bulk sync the peer asked for (fed with
    /// their value at that time, as a caller walking its live tables would).
    bulk_todo: Option<Vec<RecordKey>>,
    pub bulk_requests: u64,
}

pub struct Sim {
    pub nodes: [SyncNode; 2],
    pub callers: [Caller; 2],
    pub now: Duration,
    pub rng: Rng,
    net: BinaryHeap<InFlight>,
    sent_count: u64,
    pub latency: Duration,
    pub jitter_ms: u64,
    pub loss_per_mille: u64,
    pub dup_per_mille: u64,
    /// `cut[from][path]`: what `from` sends on `path` is lost.
    pub cut: [[bool; 2]; 2],
    /// Every datagram sent, per sender (for replay tests).
    pub sent: [Vec<(PathId, Vec<u8>)>; 2],
    pub keep_sent: bool,
    boots: u8,
}

impl Sim {
    pub fn new(seed: u64) -> Self {
        Self::with_configs(seed, config(1), config(2))
    }

    pub fn with_configs(seed: u64, a: SyncConfig, b: SyncConfig) -> Self {
        let now = ms(1000);
        Sim {
            nodes: [
                SyncNode::new(a, [1; 16], now).unwrap(),
                SyncNode::new(b, [2; 16], now).unwrap(),
            ],
            callers: [Caller::default(), Caller::default()],
            now,
            rng: Rng(seed | 1),
            net: BinaryHeap::new(),
            sent_count: 0,
            latency: ms(1),
            jitter_ms: 0,
            loss_per_mille: 0,
            dup_per_mille: 0,
            cut: [[false; 2]; 2],
            sent: [Vec::new(), Vec::new()],
            keep_sent: false,
            boots: 2,
        }
    }

    /// Node `i` restarts: a new process, a new boot nonce, nothing kept in memory.
    pub fn restart(&mut self, i: usize) {
        self.boots += 1;
        let config = config(i as u8 + 1);
        self.nodes[i] = SyncNode::new(config, [self.boots; 16], self.now).unwrap();
        self.callers[i].bulk_todo = None;
        self.callers[i].applied.clear();
        // What it had applied from the peer is gone with the process; its own state stays.
    }

    pub fn inject(&mut self, to: usize, path: PathId, bytes: Vec<u8>) {
        self.nodes[to].handle_datagram(path, &bytes, self.now);
        self.drain_events(to);
    }

    fn drain_events(&mut self, i: usize) {
        while let Some(e) = self.nodes[i].poll_event() {
            let c = &mut self.callers[i];
            match &e {
                SyncEvent::Apply(r) => {
                    c.state.insert(r.key(), r.clone());
                    c.applied.push(r.clone());
                }
                SyncEvent::BulkRequested => {
                    c.bulk_requests += 1;
                    c.bulk_todo = Some(c.state.keys().cloned().collect());
                }
                SyncEvent::PeerDown(_) => c.bulk_todo = None,
                _ => {}
            }
            c.events.push(e);
        }
    }

    fn feed_bulk(&mut self, i: usize) {
        let c = &mut self.callers[i];
        let Some(todo) = &mut c.bulk_todo else { return };
        while let Some(k) = todo.pop() {
            let r = c.state[&k].clone();
            if self.nodes[i].bulk_offer(r).is_err() {
                todo.push(k);
                return;
            }
        }
        self.callers[i].bulk_todo = None;
        self.nodes[i].bulk_end().unwrap();
    }

    fn send_all(&mut self, i: usize) {
        while let Some((path, bytes)) = self.nodes[i].poll_transmit() {
            if self.keep_sent {
                self.sent[i].push((path, bytes.clone()));
            }
            let p = PATHS.iter().position(|&x| x == path).unwrap();
            if self.cut[i][p] || self.rng.chance(self.loss_per_mille) {
                continue;
            }
            let copies = if self.rng.chance(self.dup_per_mille) {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let jitter = if self.jitter_ms > 0 {
                    Duration::from_micros(self.rng.next() % (self.jitter_ms * 1000))
                } else {
                    Duration::ZERO
                };
                self.sent_count += 1;
                self.net.push(InFlight {
                    at: self.now + self.latency + jitter,
                    id: self.sent_count,
                    to: 1 - i,
                    path,
                    bytes: bytes.clone(),
                });
            }
        }
    }

    /// One step: feed, send, move the clock to the next event, deliver and fire timers.
    pub fn step(&mut self) {
        for i in 0..2 {
            self.drain_events(i);
            self.feed_bulk(i);
            self.send_all(i);
        }
        let next_rx = self.net.peek().map(|d| d.at);
        let next_timer = self.nodes.iter().map(SyncNode::poll_timeout).min().unwrap();
        let next = next_rx.map_or(next_timer, |r| r.min(next_timer));
        self.now = self.now.max(next);
        let now = self.now;
        while self.net.peek().is_some_and(|d| d.at <= now) {
            let d = self.net.pop().expect("peeked");
            self.nodes[d.to].handle_datagram(d.path, &d.bytes, now);
        }
        for i in 0..2 {
            if self.nodes[i].poll_timeout() <= now {
                self.nodes[i].handle_timeout(now);
            }
            self.drain_events(i);
        }
    }

    /// Steps until `done` or `limit` of simulated time has passed; whether `done` held.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Sim) -> bool) -> bool {
        let end = self.now + limit;
        while self.now < end {
            if done(self) {
                return true;
            }
            self.step();
        }
        done(self)
    }

    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.run_until(d, |s| s.now >= end);
    }

    pub fn both_in_sync(&self) -> bool {
        self.nodes.iter().all(SyncNode::in_sync)
    }

    pub fn count(&self, i: usize, f: impl Fn(&SyncEvent) -> bool) -> usize {
        self.callers[i].events.iter().filter(|e| f(e)).count()
    }
}

pub fn ike_sa(n: u64, len: usize, rng: &mut Rng) -> Record {
    let state = (0..len).map(|_| rng.next() as u8).collect();
    Record::IkeSa {
        spi_i: n,
        spi_r: n.rotate_left(32) | 1,
        state,
    }
}

pub fn snapshot(n: u32, oseq: u64) -> Record {
    Record::SeqSnapshot {
        spi: n,
        inbound: n.is_multiple_of(2),
        peer: std::net::IpAddr::V4(std::net::Ipv4Addr::from(0xc000_0200 + (n % 200))),
        oseq,
        window_top: oseq / 2,
        bitmap: [oseq, 1, 2, 3],
        generation: 1,
    }
}
