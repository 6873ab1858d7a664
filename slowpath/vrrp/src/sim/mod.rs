//! A simulated LAN for the state machine tests: nodes running an instance or a sync group, a
//! fake clock that steps to the earliest deadline, adverts framed, delivered to every other node
//! (and looped back to the sender, as an AF_PACKET socket sees its own frames) and parsed again.
//! Links can be cut (per pair of nodes, or per pair and VRID), messages dropped, nodes killed
//! (no longer polled nor delivered to) and restarted with a new instance.

mod election_tests;
mod group_tests;
mod split_brain_tests;

use crate::group::{Group, GroupState};
use crate::instance::{Action, Instance, InstanceConfig, Reason, State};
use crate::wire::{build_advert_frame, parse_advert_frame, virtual_mac, ReceivedAdvert, Version};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

pub enum Unit {
    One(Box<Instance>),
    Group(Group),
}

impl Unit {
    fn startup(&mut self, now: Duration) {
        match self {
            Unit::One(i) => i.startup(now),
            Unit::Group(g) => g.startup(now),
        }
    }
    fn shutdown(&mut self, now: Duration) {
        match self {
            Unit::One(i) => i.shutdown(now),
            Unit::Group(g) => g.shutdown(now),
        }
    }
    fn poll(&mut self, now: Duration) {
        match self {
            Unit::One(i) => i.poll(now),
            Unit::Group(g) => g.poll(now),
        }
    }
    fn receive(&mut self, now: Duration, rx: &ReceivedAdvert) {
        match self {
            Unit::One(i) => i.receive(now, rx),
            Unit::Group(g) => g.receive(now, rx),
        }
    }
    fn next_deadline(&self) -> Option<Duration> {
        match self {
            Unit::One(i) => i.next_deadline(),
            Unit::Group(g) => g.next_deadline(),
        }
    }
    fn poll_action(&mut self) -> Option<(usize, Action)> {
        match self {
            Unit::One(i) => i.poll_action().map(|a| (0, a)),
            Unit::Group(g) => g.poll_action(),
        }
    }
    fn track_update(&mut self, now: Duration, track: &str, up: bool) {
        match self {
            Unit::One(i) => i.track_update(now, track, up),
            Unit::Group(g) => g.track_update(now, track, up),
        }
    }
    fn force_backup(&mut self, now: Duration, hold: Duration) {
        match self {
            Unit::One(i) => i.force_backup(now, hold),
            Unit::Group(g) => g.force_backup(now, hold),
        }
    }
    pub fn instances(&self) -> &[Instance] {
        match self {
            Unit::One(i) => std::slice::from_ref(&**i),
            Unit::Group(g) => g.instances(),
        }
    }
}

/// One output of a node, when it happened.
#[derive(Debug, Clone)]
pub struct Event {
    pub at: Duration,
    pub member: usize,
    pub action: Action,
}

pub struct Node {
    pub unit: Unit,
    pub alive: bool,
    pub log: Vec<Event>,
}

/// A frame in flight: (delivery time, sequence, destination node, frame).
type InFlight = Reverse<(Duration, u64, usize, Vec<u8>)>;

/// Decides whether to drop an advert from one node to another.
type DropFilter = Box<dyn FnMut(Duration, usize, usize, &ReceivedAdvert) -> bool>;

pub struct Sim {
    pub now: Duration,
    pub nodes: Vec<Node>,
    /// One-way delay of every frame.
    pub latency: Duration,
    queue: BinaryHeap<InFlight>,
    seq: u64,
    cuts: HashSet<(usize, usize)>,
    vrid_cuts: HashSet<(usize, usize, u8)>,
    drop: Option<DropFilter>,
    /// Frames sent, for counting.
    pub frames: u64,
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub fn v4(s: &str) -> IpAddr {
    IpAddr::V4(s.parse().unwrap())
}

pub fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse().unwrap())
}

/// A v3 IPv4 instance of VRID `vrid` with virtual address 192.0.2.{vrid}, quick announcements.
pub fn cfg(vrid: u8, priority: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new(
        &format!("vr{vrid}"),
        vrid,
        Version::V3,
        priority,
        vec![IpAddr::V4([192, 0, 2, vrid].into())],
    );
    c.garp_rounds = 2;
    c.garp_interval = secs(2);
    c
}

/// Node `n`'s (from 0) address on the segment of VRID `vrid`: 10.{vrid}.0.{n+1}.
pub fn addr(vrid: u8, n: u8) -> IpAddr {
    IpAddr::V4([10, vrid, 0, n + 1].into())
}

impl Sim {
    pub fn new() -> Self {
        Sim {
            now: Duration::ZERO,
            nodes: Vec::new(),
            latency: Duration::ZERO,
            queue: BinaryHeap::new(),
            seq: 0,
            cuts: HashSet::new(),
            vrid_cuts: HashSet::new(),
            drop: None,
            frames: 0,
        }
    }

    /// Adds a node (not started).
    pub fn add(&mut self, unit: Unit) -> usize {
        self.nodes.push(Node {
            unit,
            alive: true,
            log: Vec::new(),
        });
        self.nodes.len() - 1
    }

    pub fn add_one(&mut self, cfg: InstanceConfig, primary: IpAddr) -> usize {
        self.add(Unit::One(Box::new(Instance::new(cfg, primary))))
    }

    pub fn start(&mut self, n: usize) {
        let now = self.now;
        self.nodes[n].unit.startup(now);
        self.settle();
    }

    pub fn start_all(&mut self) {
        for n in 0..self.nodes.len() {
            let now = self.now;
            self.nodes[n].unit.startup(now);
        }
        self.settle();
    }

    /// The node stops dead: no more polling, nothing delivered to it, nothing sent.
    pub fn kill(&mut self, n: usize) {
        self.nodes[n].alive = false;
    }

    /// A new process on the node: a fresh unit, started now.
    pub fn restart(&mut self, n: usize, unit: Unit) {
        self.nodes[n].unit = unit;
        self.nodes[n].alive = true;
        self.start(n);
    }

    pub fn shutdown(&mut self, n: usize) {
        let now = self.now;
        self.nodes[n].unit.shutdown(now);
        self.settle();
    }

    pub fn track(&mut self, n: usize, name: &str, up: bool) {
        let now = self.now;
        self.nodes[n].unit.track_update(now, name, up);
        self.settle();
    }

    pub fn force_backup(&mut self, n: usize, hold: Duration) {
        let now = self.now;
        self.nodes[n].unit.force_backup(now, hold);
        self.settle();
    }

    pub fn cut(&mut self, a: usize, b: usize) {
        self.cuts.insert((a.min(b), a.max(b)));
    }

    pub fn heal(&mut self, a: usize, b: usize) {
        self.cuts.remove(&(a.min(b), a.max(b)));
    }

    /// Cuts only the segment of one VRID between two nodes.
    pub fn cut_vrid(&mut self, a: usize, b: usize, vrid: u8) {
        self.vrid_cuts.insert((a.min(b), a.max(b), vrid));
    }

    pub fn set_drop(
        &mut self,
        f: impl FnMut(Duration, usize, usize, &ReceivedAdvert) -> bool + 'static,
    ) {
        self.drop = Some(Box::new(f));
    }

    /// Runs the LAN until `until`, stepping the clock to each deadline and delivery.
    pub fn run_until(&mut self, until: Duration) {
        loop {
            let next_timer = self
                .nodes
                .iter()
                .filter(|n| n.alive)
                .filter_map(|n| n.unit.next_deadline())
                .min();
            let next_frame = self.queue.peek().map(|Reverse((t, ..))| *t);
            let Some(next) = [next_timer, next_frame].into_iter().flatten().min() else {
                break;
            };
            if next > until {
                break;
            }
            assert!(
                next >= self.now,
                "a deadline in the past: {next:?} < {:?}",
                self.now
            );
            self.now = next;
            for n in 0..self.nodes.len() {
                if self.nodes[n].alive
                    && self.nodes[n]
                        .unit
                        .next_deadline()
                        .is_some_and(|t| t <= next)
                {
                    self.nodes[n].unit.poll(next);
                }
            }
            self.settle();
        }
        self.now = until;
    }

    /// Collects every node's outputs, sends adverts, delivers what is due now, until quiet.
    fn settle(&mut self) {
        loop {
            for n in 0..self.nodes.len() {
                self.collect(n);
            }
            let due = matches!(self.queue.peek(), Some(Reverse((t, ..))) if *t <= self.now);
            if !due {
                break;
            }
            while let Some(Reverse((t, _, to, frame))) = self.queue.peek().cloned() {
                if t > self.now {
                    break;
                }
                self.queue.pop();
                self.deliver(to, &frame);
            }
        }
    }

    fn collect(&mut self, n: usize) {
        while let Some((member, action)) = self.nodes[n].unit.poll_action() {
            if !self.nodes[n].alive {
                continue;
            }
            if let Action::SendAdvert(adv) = &action {
                let inst = &self.nodes[n].unit.instances()[member];
                let src = inst.primary_address();
                let frame = build_advert_frame(virtual_mac(adv.vrid, src.is_ipv6()), src, adv);
                self.frames += 1;
                for to in 0..self.nodes.len() {
                    let pair = (n.min(to), n.max(to));
                    if to != n
                        && (self.cuts.contains(&pair)
                            || self.vrid_cuts.contains(&(pair.0, pair.1, adv.vrid)))
                    {
                        continue;
                    }
                    self.seq += 1;
                    let at = if to == n {
                        self.now
                    } else {
                        self.now + self.latency
                    };
                    self.queue.push(Reverse((at, self.seq, to, frame.clone())));
                }
            }
            self.nodes[n].log.push(Event {
                at: self.now,
                member,
                action,
            });
        }
    }

    fn deliver(&mut self, to: usize, frame: &[u8]) {
        if !self.nodes[to].alive {
            return;
        }
        let rx = parse_advert_frame(frame).expect("the sim only carries valid adverts");
        let from = self.nodes.iter().position(|n| {
            n.unit
                .instances()
                .iter()
                .any(|i| i.primary_address() == rx.src_ip)
        });
        if let (Some(from), Some(drop)) = (from, self.drop.as_mut()) {
            if from != to && drop(self.now, from, to, &rx) {
                return;
            }
        }
        let now = self.now;
        self.nodes[to].unit.receive(now, &rx);
    }

    // --- observations --------------------------------------------------------------------

    pub fn state(&self, n: usize) -> State {
        self.nodes[n].unit.instances()[0].state()
    }

    pub fn member_state(&self, n: usize, member: usize) -> State {
        self.nodes[n].unit.instances()[member].state()
    }

    pub fn group_state(&self, n: usize) -> GroupState {
        match &self.nodes[n].unit {
            Unit::Group(g) => g.state(),
            Unit::One(_) => panic!("node {n} is not a group"),
        }
    }

    pub fn instance(&self, n: usize) -> &Instance {
        &self.nodes[n].unit.instances()[0]
    }

    /// The live nodes whose member `member` is master.
    pub fn masters(&self, member: usize) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&n| self.nodes[n].alive && self.member_state(n, member) == State::Master)
            .collect()
    }

    /// Every state change of a node: (time, member, from, to, reason).
    pub fn transitions(&self, n: usize) -> Vec<(Duration, usize, State, State, Reason)> {
        self.nodes[n]
            .log
            .iter()
            .filter_map(|e| match &e.action {
                Action::StateChanged { from, to, reason } => {
                    Some((e.at, e.member, *from, *to, reason.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// When member 0 of node `n` last became master, and why.
    pub fn became_master(&self, n: usize) -> Option<(Duration, Reason)> {
        self.transitions(n)
            .into_iter()
            .rev()
            .find(|t| t.1 == 0 && t.3 == State::Master)
            .map(|t| (t.0, t.4))
    }

    /// The events of node `n` from `since` on.
    pub fn events_since(&self, n: usize, since: Duration) -> Vec<Event> {
        self.nodes[n]
            .log
            .iter()
            .filter(|e| e.at >= since)
            .cloned()
            .collect()
    }

    /// Adverts node `n` sent, as (time, priority).
    pub fn adverts(&self, n: usize) -> Vec<(Duration, u8)> {
        self.nodes[n]
            .log
            .iter()
            .filter_map(|e| match &e.action {
                Action::SendAdvert(a) => Some((e.at, a.priority)),
                _ => None,
            })
            .collect()
    }
}
