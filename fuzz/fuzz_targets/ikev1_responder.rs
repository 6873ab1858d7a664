//! The IKEv1 engine as the ikev1_engine target drives it, shared with the test that records
//! and checks its seeds (fuzz/tests/ikev1_engine_seeds.rs): a responder with one PSK
//! `version 1` connection (any peer, aes128-sha1-modp1024, ESP aes128-sha1), a seeded RNG
//! and a fake clock, fed datagrams one by one.
//!
//! A datagram's first octet says where it comes from and how long before the next one:
//! bits 0-2 pick the source and our port (`SOURCES`), bits 3-4 the clock step (`STEPS`);
//! the rest is the UDP payload (behind the non-ESP marker when the source says so).

use std::net::SocketAddr;
use std::time::Duration;

use ike::action::Action;
use ike::config::{IkeConfig, IkeVersion};
use ike::crypto::transform::{Suite, AUTH_HMAC_SHA1_96, ENCR_AES_CBC, MODP_1024, PRF_HMAC_SHA1};
use ike::rng::TestRng;
use ike::v1::config::{auth_method, phase1_offers, V1Config, DEFAULT_PHASE1_LIFE};
use ike::v1::engine::V1Engine;

use super::psk_conn::psk_conn;

/// Our address.
pub const LOCAL_IP: &str = "192.0.2.1";

/// Sources: (peer address, our port, whether a non-ESP marker goes before the payload).
/// The peer directly, the same peer behind a NAT (other ports), another peer, an IPv6 one,
/// and datagrams on the wrong port for their framing.
pub const SOURCES: [(&str, u16, bool); 8] = [
    ("198.51.100.2:500", 500, false),
    ("198.51.100.2:4500", 4500, true),
    ("198.51.100.2:31000", 500, false),
    ("198.51.100.2:31001", 4500, true),
    ("203.0.113.7:500", 500, false),
    ("[2001:db8::7]:500", 500, false),
    ("198.51.100.2:500", 4500, false),
    ("198.51.100.2:4500", 500, true),
];

/// Clock steps after a datagram.
pub const STEPS: [Duration; 4] = [
    Duration::from_secs(1),
    Duration::ZERO,
    Duration::from_secs(30),
    Duration::from_secs(600),
];

/// At most this many datagrams of an input are used.
pub const MAX_DATAGRAMS: usize = 16;

/// The first octet of a datagram from source `source` followed by clock step `step`.
pub fn selector(source: usize, step: usize) -> u8 {
    (source as u8 & 7) | ((step as u8 & 3) << 3)
}

fn suites() -> (Suite, Suite) {
    let ike = Suite {
        encr: ENCR_AES_CBC,
        encr_key_bits: 128,
        integ: Some(AUTH_HMAC_SHA1_96),
        prf: Some(PRF_HMAC_SHA1),
        dh: Some(MODP_1024),
        esn: None,
    };
    let esp = Suite {
        prf: None,
        dh: None,
        ..ike
    };
    (ike, esp)
}

/// A `version 1` PSK connection from `local` to `remote`.
pub fn v1_conn(name: &str, local: &str, remote: &str) -> IkeConfig {
    let (ike, esp) = suites();
    let mut c = psk_conn(name, local, remote, ike, esp);
    let method = auth_method(c.auth.private_key()).unwrap();
    c.ike_version = IkeVersion::V1(V1Config::main_mode(
        phase1_offers(&c.ike_proposals, method, DEFAULT_PHASE1_LIFE).unwrap(),
    ));
    c
}

/// What the responder reached over a run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reached {
    pub isakmp_up: usize,
    pub ipsec_up: usize,
    pub ipsec_down: usize,
    pub sent: usize,
}

/// A datagram the responder sends.
pub struct Sent {
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub bytes: Vec<u8>,
}

/// The responder under test.
pub struct Responder {
    pub engine: V1Engine,
    rng: TestRng,
    pub now: Duration,
    fed: usize,
    pub reached: Reached,
}

impl Default for Responder {
    fn default() -> Responder {
        Responder {
            engine: V1Engine::new(&[v1_conn("fuzz", &format!("{LOCAL_IP}:500"), "0.0.0.0:500")]),
            rng: TestRng::new(1),
            now: Duration::from_secs(1),
            fed: 0,
            reached: Reached::default(),
        }
    }
}

impl Responder {
    /// One datagram (selector octet first); what the responder sends back.
    pub fn feed(&mut self, datagram: &[u8]) -> Vec<Sent> {
        let Some((&sel, payload)) = datagram.split_first() else {
            return Vec::new();
        };
        let (peer, port, marker) = SOURCES[usize::from(sel & 7)];
        let remote: SocketAddr = peer.parse().unwrap();
        let local = SocketAddr::new(LOCAL_IP.parse().unwrap(), port);
        let mut bytes = Vec::with_capacity(payload.len() + 4);
        if marker {
            bytes.extend_from_slice(&[0; 4]);
        }
        bytes.extend_from_slice(payload);
        self.engine
            .handle_datagram(self.now, &mut self.rng, local, remote, &bytes);
        self.fed += 1;
        let out = self.drain();
        self.check_bounds();
        self.now += STEPS[usize::from((sel >> 3) & 3)];
        out
    }

    /// Runs the timers due at `now + later`.
    pub fn wait(&mut self, later: Duration) -> Vec<Sent> {
        self.now += later;
        if self.engine.poll_timeout().is_some_and(|t| t <= self.now) {
            self.engine.handle_timeout(self.now, &mut self.rng);
        }
        let out = self.drain();
        self.check_bounds();
        out
    }

    fn drain(&mut self) -> Vec<Sent> {
        let mut out = Vec::new();
        while let Some(a) = self.engine.poll_action() {
            match a {
                Action::Send { from, to, bytes } => {
                    assert!(
                        bytes.len() <= 65_507,
                        "a datagram of {} octets",
                        bytes.len()
                    );
                    self.reached.sent += 1;
                    out.push(Sent { from, to, bytes });
                }
                Action::IkeSaUp(_) => self.reached.isakmp_up += 1,
                Action::ChildSaUp(_) | Action::ChildSaRekeyed { .. } => self.reached.ipsec_up += 1,
                Action::ChildSaDown { .. } => self.reached.ipsec_down += 1,
                _ => {}
            }
        }
        out
    }

    /// Whatever it is sent, the responder holds at most an ISAKMP SA per datagram, IPsec SAs
    /// and inbound SPIs in proportion, and no half-done phase 1 for long.
    fn check_bounds(&self) {
        let ids = self.engine.sa_ids();
        assert!(
            ids.len() <= self.fed,
            "{} ISAKMP SAs after {} datagrams",
            ids.len(),
            self.fed
        );
        let children: usize = ids
            .iter()
            .filter_map(|id| self.engine.sa(*id))
            .map(|sa| sa.children.len())
            .sum();
        assert!(
            children <= self.fed,
            "{children} IPsec SAs after {} datagrams",
            self.fed
        );
        let spis = self.engine.esp_spis().len();
        assert!(
            spis <= 2 * self.fed,
            "{spis} inbound SPIs after {} datagrams",
            self.fed
        );
        assert_eq!(self.engine.status(self.now).len(), ids.len());
        let _ = self.engine.total_counters();
    }

    /// Deletes every ISAKMP SA (a shutdown): nothing may stay behind, no SPI either.
    pub fn shut_down(&mut self) {
        for id in self.engine.sa_ids() {
            self.engine.delete_sa(self.now, &mut self.rng, id);
        }
        self.drain();
        assert!(
            self.engine.sa_ids().is_empty(),
            "SAs left after deleting all"
        );
        assert!(
            self.engine.esp_spis().is_empty(),
            "{} inbound SPIs left with no SA",
            self.engine.esp_spis().len()
        );
    }
}

/// A whole input: its datagrams, then time (an hour: every half-done phase 1 gone; nine:
/// past the ISAKMP SA's life), then a shutdown. What the datagrams reached, before the time.
pub fn run(datagrams: &[&[u8]]) -> Reached {
    let mut r = Responder::default();
    for d in datagrams.iter().take(MAX_DATAGRAMS) {
        r.feed(d);
    }
    let reached = r.reached.clone();
    r.wait(Duration::from_secs(10));
    r.wait(Duration::from_secs(3600));
    for id in r.engine.sa_ids() {
        let sa = r.engine.sa(id).unwrap();
        assert!(
            sa.is_established(),
            "a half-done phase 1 an hour later ({:?})",
            sa.state
        );
    }
    r.wait(Duration::from_secs(9 * 3600));
    r.shut_down();
    reached
}
