//! Two IKEv1 engines talking in memory, with a fake clock: Main Mode and Quick Mode both
//! ways, with and without PFS, repeats answered again, a wrong key or a forged HASH
//! dropped and counted, the commit bit, deletes both ways and rekeys.

use std::net::SocketAddr;
use std::time::Duration;

use super::config::{auth_method, phase1_offers, V1Config, DEFAULT_PHASE1_LIFE};
use super::engine::{is_v1_id, V1Engine};
use super::wire::{self, exchange, flags};
use crate::action::{Action, ChildSaInfo, DownReason, DropReason};
use crate::config::{AuthConfig, IkeConfig, IkeVersion};
use crate::crypto::transform::{Suite, MODP_1024, MODP_2048};
use crate::rng::TestRng;
use crate::tests::harness::{configs, esp_cbc, ike_cbc_modp1024};

pub(super) fn v1(mut c: IkeConfig) -> IkeConfig {
    let method = auth_method(c.auth.private_key()).unwrap();
    c.ike_version = IkeVersion::V1(V1Config::main_mode(
        phase1_offers(&c.ike_proposals, method, DEFAULT_PHASE1_LIFE).unwrap(),
    ));
    c
}

/// A's and B's IKEv1 connections (A initiates), ESP as given.
pub(super) fn pair_configs(esp: Suite) -> (IkeConfig, IkeConfig) {
    let (a, b) = configs(ike_cbc_modp1024(), esp);
    (v1(a), v1(b))
}

pub(super) struct Packet {
    pub(super) from: SocketAddr,
    pub(super) to: SocketAddr,
    pub(super) bytes: Vec<u8>,
}

#[derive(Default)]
pub(super) struct Seen {
    pub(super) up: usize,
    pub(super) down: Vec<DownReason>,
    pub(super) children: Vec<ChildSaInfo>,
    pub(super) rekeyed: usize,
    pub(super) child_down: Vec<DownReason>,
}

pub(super) struct World {
    pub(super) a: V1Engine,
    pub(super) b: V1Engine,
    pub(super) a_addr: SocketAddr,
    pub(super) now: Duration,
    pub(super) rng: TestRng,
    pub(super) wire: Vec<Packet>,
    pub(super) seen_a: Seen,
    pub(super) seen_b: Seen,
}

impl World {
    pub(super) fn new(a: IkeConfig, b: IkeConfig) -> World {
        World {
            a_addr: a.local_addr,
            a: V1Engine::new(&[a]),
            b: V1Engine::new(&[b]),
            now: Duration::from_secs(1),
            rng: TestRng::new(7),
            wire: Vec::new(),
            seen_a: Seen::default(),
            seen_b: Seen::default(),
        }
    }

    pub(super) fn collect(&mut self) {
        for (engine, seen) in [
            (&mut self.a, &mut self.seen_a),
            (&mut self.b, &mut self.seen_b),
        ] {
            while let Some(act) = engine.poll_action() {
                match act {
                    Action::Send { from, to, bytes } => self.wire.push(Packet { from, to, bytes }),
                    Action::IkeSaUp(i) => {
                        assert!(is_v1_id(i.sa));
                        seen.up += 1;
                    }
                    Action::IkeSaDown { reason, .. } => seen.down.push(reason),
                    Action::ChildSaUp(c) => seen.children.push(*c),
                    Action::ChildSaRekeyed { new, .. } => {
                        seen.rekeyed += 1;
                        seen.children.push(*new);
                    }
                    Action::ChildSaDown { reason, .. } => seen.child_down.push(reason),
                    Action::Event { .. } => {}
                }
            }
        }
    }

    pub(super) fn deliver(&mut self, p: Packet) {
        let engine = if p.to == self.a_addr || p.to.ip() == self.a_addr.ip() {
            &mut self.a
        } else {
            &mut self.b
        };
        engine.handle_datagram(self.now, &mut self.rng, p.to, p.from, &p.bytes);
    }

    /// Delivers everything, passing each packet through `edit` (None: lost).
    pub(super) fn run_with(&mut self, mut edit: impl FnMut(Packet) -> Option<Packet>) {
        for _ in 0..100 {
            self.collect();
            if self.wire.is_empty() {
                return;
            }
            for p in std::mem::take(&mut self.wire) {
                if let Some(p) = edit(p) {
                    self.deliver(p);
                }
            }
        }
        panic!("no end to the exchange");
    }

    pub(super) fn run(&mut self) {
        self.run_with(Some);
    }

    pub(super) fn advance(&mut self, d: Duration) {
        self.now += d;
        self.a.handle_timeout(self.now, &mut self.rng);
        self.b.handle_timeout(self.now, &mut self.rng);
    }

    /// Delivers the initiator's first message twice: both get the same answer, one of
    /// which is left on the wire.
    pub(super) fn first_message_twice(&mut self) {
        self.collect();
        let first = self.wire.pop().unwrap();
        let again = Packet {
            from: first.from,
            to: first.to,
            bytes: first.bytes.clone(),
        };
        self.deliver(first);
        self.deliver(again);
        self.collect();
        assert_eq!(self.wire.len(), 2);
        assert_eq!(self.wire[0].bytes, self.wire[1].bytes);
        self.wire.pop();
    }

    pub(super) fn initiate(&mut self) {
        let id = self.a.initiate(self.now, &mut self.rng, "to-b").unwrap();
        assert!(is_v1_id(id));
    }
}

pub(super) fn exchange_of(bytes: &[u8]) -> u8 {
    wire::parse_header(bytes).unwrap().exchange
}

/// Both sides hold the same IPsec SA pair, mirrored.
pub(super) fn assert_mirrored(a: &ChildSaInfo, b: &ChildSaInfo) {
    assert_eq!(a.child.spi_out, b.child.spi_in);
    assert_eq!(a.child.spi_in, b.child.spi_out);
    assert_eq!(a.encr_key_out[..], b.encr_key_in[..]);
    assert_eq!(a.integ_key_out[..], b.integ_key_in[..]);
    assert_eq!(a.encr_key_in[..], b.encr_key_out[..]);
    assert_ne!(a.encr_key_in[..], a.encr_key_out[..]);
    assert_eq!(a.local_ts, b.remote_ts);
    assert_eq!(a.suite, b.suite);
}

#[test]
fn main_mode_then_quick_mode() {
    let (a, b) = pair_configs(esp_cbc());
    let mut w = World::new(a, b);
    w.initiate();
    w.run();
    assert_eq!((w.seen_a.up, w.seen_b.up), (1, 1));
    assert_eq!((w.seen_a.children.len(), w.seen_b.children.len()), (1, 1));
    assert_mirrored(&w.seen_a.children[0], &w.seen_b.children[0]);
    assert_eq!(w.seen_a.children[0].suite.dh, None);
    assert_eq!(w.seen_a.children[0].integ_key_out.len(), 20);
    let st = w.b.status(w.now);
    assert_eq!(st[0].state, crate::sa::IkeState::Established);
    assert_eq!(st[0].children.len(), 1);
    assert_eq!(w.a.total_counters().total_dropped(), 0);
    assert_eq!(w.b.total_counters().total_dropped(), 0);
}

#[test]
fn the_other_way_round_with_pfs() {
    let mut esp = esp_cbc();
    esp.dh = Some(MODP_2048);
    let (a, b) = pair_configs(esp);
    // B initiates to A this time: B's connection needs A's address.
    let mut b = b;
    b.remote_addr = a.local_addr;
    b.name = "to-b".into();
    let mut w = World::new(a, b);
    let id = w.b.initiate(w.now, &mut w.rng, "to-b").unwrap();
    assert!(is_v1_id(id));
    w.run();
    assert_eq!((w.seen_a.up, w.seen_b.up), (1, 1));
    assert_eq!(w.seen_b.children[0].suite.dh, Some(MODP_2048));
    assert_mirrored(&w.seen_b.children[0], &w.seen_a.children[0]);
}

#[test]
fn repeats_get_the_same_answer() {
    let (a, b) = pair_configs(esp_cbc());
    let mut w = World::new(a, b);
    w.initiate();
    // The first message twice: the responder answers both with the same octets.
    w.first_message_twice();
    // Lose the responder's last Main Mode message once: the initiator's timer sends its
    // identity again, and the responder answers it again from its cache.
    let mut lost = false;
    w.run_with(|p| {
        let last_mm = exchange_of(&p.bytes) == exchange::IDENTITY_PROTECTION
            && wire::parse_header(&p.bytes).unwrap().is_encrypted()
            && p.from.ip() != w_a_ip();
        if last_mm && !lost {
            lost = true;
            return None;
        }
        Some(p)
    });
    assert!(lost);
    assert_eq!(w.seen_b.up, 1);
    assert_eq!(w.seen_a.up, 0);
    w.advance(Duration::from_secs(3));
    w.run();
    assert_eq!((w.seen_a.up, w.seen_b.up), (1, 1));
    assert_eq!(w.b.total_counters().requests_answered_from_cache, 2);
    assert_eq!(w.a.total_counters().retransmits, 1);
    assert_mirrored(&w.seen_a.children[0], &w.seen_b.children[0]);
}

fn w_a_ip() -> std::net::IpAddr {
    crate::tests::harness::A_ADDR
        .parse::<SocketAddr>()
        .unwrap()
        .ip()
}

#[test]
fn a_wrong_key_makes_no_sa() {
    let (a, mut b) = pair_configs(esp_cbc());
    b.auth = AuthConfig::psk(b"not the same secret");
    let mut w = World::new(a, b);
    w.initiate();
    w.run();
    assert_eq!((w.seen_a.up, w.seen_b.up), (0, 0));
    assert!(w.seen_a.children.is_empty() && w.seen_b.children.is_empty());
    assert_eq!(w.b.total_counters().dropped(DropReason::BadIcv), 1);
    // The initiator gives up once its tries are spent; the responder at its setup timeout.
    for _ in 0..40 {
        w.advance(Duration::from_secs(2));
        w.run();
    }
    assert!(w.a.sa_ids().is_empty() && w.b.sa_ids().is_empty());
    assert!(w.b.total_counters().dropped(DropReason::BadIcv) >= 2);
}

#[test]
fn a_forged_hash_is_dropped() {
    let (a, b) = pair_configs(esp_cbc());
    let mut w = World::new(a, b);
    w.initiate();
    // Flip a bit of the initiator's encrypted identity message.
    let mut forged = false;
    let mut told = 0;
    w.run_with(|mut p| {
        let h = wire::parse_header(&p.bytes).unwrap();
        if h.is_encrypted() && h.exchange == exchange::IDENTITY_PROTECTION && !forged {
            forged = true;
            let n = p.bytes.len();
            p.bytes[n - 20] ^= 1;
        }
        told += usize::from(h.exchange == exchange::INFORMATIONAL);
        Some(p)
    });
    assert!(forged);
    // The keys decrypted it: a forgery, not a wrong key; nothing is told to anyone.
    assert_eq!(told, 0);
    assert_eq!(w.seen_b.up, 0);
    assert_eq!(w.b.total_counters().dropped(DropReason::BadIcv), 1);
    // The genuine message, sent again, still works: the IV chain did not move.
    w.advance(Duration::from_secs(3));
    w.run();
    assert_eq!((w.seen_a.up, w.seen_b.up), (1, 1));
}

#[test]
fn commit_bit_waits_for_connected() {
    let (a, b) = pair_configs(esp_cbc());
    let mut w = World::new(a, b);
    w.initiate();
    // The initiator's first Quick Mode message asks for the commit bit (the header is not
    // covered by HASH(1)); the CONNECTED that follows is lost once.
    let mut dropped_connected = false;
    w.run_with(|mut p| {
        let h = wire::parse_header(&p.bytes).unwrap();
        if h.exchange == exchange::QUICK_MODE
            && p.from.ip() == w_a_ip()
            && h.flags & flags::COMMIT == 0
        {
            p.bytes[19] |= flags::COMMIT;
        }
        if h.exchange == exchange::INFORMATIONAL && !dropped_connected {
            dropped_connected = true;
            return None;
        }
        Some(p)
    });
    assert!(dropped_connected);
    assert_eq!(w.seen_b.children.len(), 1);
    assert!(w.seen_a.children.is_empty(), "not before CONNECTED");
}

#[test]
fn commit_bit_connected_installs() {
    let (a, b) = pair_configs(esp_cbc());
    let mut w = World::new(a, b);
    w.initiate();
    w.run_with(|mut p| {
        let h = wire::parse_header(&p.bytes).unwrap();
        if h.exchange == exchange::QUICK_MODE && p.from.ip() == w_a_ip() {
            p.bytes[19] |= flags::COMMIT;
        }
        Some(p)
    });
    assert_eq!((w.seen_a.children.len(), w.seen_b.children.len()), (1, 1));
    assert_mirrored(&w.seen_a.children[0], &w.seen_b.children[0]);
}

#[test]
fn deletes_both_ways() {
    let (a, b) = pair_configs(esp_cbc());
    let mut w = World::new(a, b);
    w.initiate();
    w.run();
    let child = w.seen_a.children[0].child;
    assert!(w.a.delete_child(w.now, &mut w.rng, child.sa, child.id));
    w.run();
    assert_eq!(w.seen_a.child_down, vec![DownReason::Deleted]);
    assert_eq!(w.seen_b.child_down, vec![DownReason::DeletedByPeer]);
    let sa_b = w.b.sa_ids()[0];
    assert!(w.b.delete_sa(w.now, &mut w.rng, sa_b));
    w.run();
    assert_eq!(w.seen_b.down, vec![DownReason::Deleted]);
    assert_eq!(w.seen_a.down, vec![DownReason::DeletedByPeer]);
    assert!(w.a.sa_ids().is_empty() && w.b.sa_ids().is_empty());
}

#[test]
fn rekey_before_expiry() {
    let (mut a, b) = pair_configs(esp_cbc());
    a.children[0].lifetimes.rekey_time = Duration::from_secs(50);
    a.children[0].lifetimes.life_time = Duration::from_secs(60);
    let mut w = World::new(a, b);
    w.initiate();
    w.run();
    w.advance(Duration::from_secs(51));
    w.run();
    assert_eq!((w.seen_a.rekeyed, w.seen_b.rekeyed), (1, 1));
    assert_eq!(w.seen_a.child_down, vec![DownReason::Rekeyed]);
    assert_eq!(w.seen_b.child_down, vec![DownReason::Rekeyed]);
    assert_mirrored(&w.seen_a.children[1], &w.seen_b.children[1]);
    assert_ne!(
        w.seen_a.children[0].child.spi_in,
        w.seen_a.children[1].child.spi_in
    );
    assert_eq!(w.a.status(w.now)[0].children.len(), 1);
    assert_eq!(w.b.status(w.now)[0].children.len(), 1);
}

#[test]
fn unknown_and_malformed_are_counted() {
    let (a, b) = pair_configs(esp_cbc());
    let mut w = World::new(a, b);
    let from: SocketAddr = "203.0.113.5:500".parse().unwrap();
    let to: SocketAddr = crate::tests::harness::B_ADDR.parse().unwrap();
    w.b.handle_datagram(w.now, &mut w.rng, to, from, &[0x10; 10]);
    let mut h = vec![0u8; 28];
    h[0] = 1;
    h[8] = 2;
    h[17] = 0x10;
    h[18] = exchange::QUICK_MODE;
    h[27] = 28;
    w.b.handle_datagram(w.now, &mut w.rng, to, from, &h);
    let c = w.b.total_counters();
    assert_eq!(c.dropped(DropReason::Malformed), 1);
    // A Quick Mode for no SA, its responder cookie not one of ours.
    assert_eq!(c.dropped(DropReason::CookieForged), 1);
    let _ = MODP_1024;
}

#[path = "main_mode_sig_tests.rs"]
pub(super) mod signatures;

#[path = "engine_timer_tests.rs"]
mod timers;
