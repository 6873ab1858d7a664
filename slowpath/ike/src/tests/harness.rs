//! Two nodes, a wire between them (optionally through a NAT), a fake clock, and records of
//! what each node asked its fast path to do.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use crate::action::{Action, ChildRef, ChildSaInfo, DownReason, Event, IkeSaId, IkeSaInfo};
use crate::config::*;
use crate::crypto::transform::*;
use crate::engine::{Engine, EngineSettings};
use crate::message::{Message, NotifyType, Payloads, TrafficSelector};
use crate::pool::PoolConfig;
use crate::rng::TestRng;

pub const A_ADDR: &str = "192.0.2.1:500";
pub const B_ADDR: &str = "198.51.100.2:500";
/// The NAT's public address, in front of A.
pub const NAT_IP: &str = "203.0.113.99";

pub fn ts(net: &str, len: u8) -> TrafficSelector {
    TrafficSelector::from_prefix(net.parse().unwrap(), len, 0, (0, 65535)).unwrap()
}

pub fn ike_cbc_modp1024() -> Suite {
    Suite {
        encr: ENCR_AES_CBC,
        encr_key_bits: 128,
        integ: Some(AUTH_HMAC_SHA1_96),
        prf: Some(PRF_HMAC_SHA1),
        dh: Some(MODP_1024),
        esn: None,
    }
}

pub fn esp_cbc() -> Suite {
    Suite {
        encr: ENCR_AES_CBC,
        encr_key_bits: 128,
        integ: Some(AUTH_HMAC_SHA1_96),
        prf: None,
        dh: None,
        esn: None,
    }
}

pub fn ike_gcm128_ecp256() -> Suite {
    Suite {
        encr: ENCR_AES_GCM_16,
        encr_key_bits: 128,
        integ: None,
        prf: Some(PRF_HMAC_SHA2_256),
        dh: Some(ECP_256),
        esn: None,
    }
}

pub fn esp_gcm(bits: u16) -> Suite {
    Suite {
        encr: ENCR_AES_GCM_16,
        encr_key_bits: bits,
        integ: None,
        prf: None,
        dh: None,
        esn: None,
    }
}

pub fn ike_gcm256_x25519() -> Suite {
    Suite {
        encr: ENCR_AES_GCM_16,
        encr_key_bits: 256,
        integ: None,
        prf: Some(PRF_HMAC_SHA2_384),
        dh: Some(CURVE25519),
        esn: None,
    }
}

/// A's (initiator) and B's (responder) connections: A's 10.1.0.0/16 to B's 10.2.0.0/16,
/// PSK, DPD off, no rekeys.
pub fn configs(ike: Suite, esp: Suite) -> (IkeConfig, IkeConfig) {
    let base =
        |name: &str, local: &str, remote: &str, lid: &str, rid: &str, lts: &str, rts: &str| {
            IkeConfig {
                name: name.into(),
                ike_version: IkeVersion::V2,
                local_addr: local.parse().unwrap(),
                remote_addr: remote.parse().unwrap(),
                local_id: Identity::fqdn(lid),
                remote_id: Some(Identity::fqdn(rid)),
                auth: AuthConfig::psk(b"a shared secret of some length"),
                ike_proposals: vec![ike],
                esp_proposals: vec![esp],
                children: vec![ChildConfig {
                    lifetimes: Lifetimes {
                        rekey_time: Duration::ZERO,
                        life_time: Duration::ZERO,
                        jitter: Duration::ZERO,
                        ..Lifetimes::default()
                    },
                    ..ChildConfig::new("net", vec![ts(lts, 16)], vec![ts(rts, 16)])
                }],
                rekey_time: Duration::ZERO,
                rekey_jitter: Duration::ZERO,
                reauth_time: Duration::ZERO,
                dpd: DpdConfig {
                    interval: Duration::ZERO,
                    action: DpdAction::Clear,
                },
                retransmit: RetransmitConfig {
                    timeout: Duration::from_secs(2),
                    base: 2.0,
                    tries: 3,
                },
                force_encap: false,
                fragment_size: None,
                virtual_ip: VirtualIpConfig::default(),
                initial_contact: true,
            }
        };
    (
        base(
            "to-b",
            A_ADDR,
            B_ADDR,
            "a.example.net",
            "b.example.net",
            "10.1.0.0",
            "10.2.0.0",
        ),
        base(
            "from-a",
            B_ADDR,
            "0.0.0.0:0",
            "b.example.net",
            "a.example.net",
            "10.2.0.0",
            "10.1.0.0",
        ),
    )
}

/// Whether a datagram is an IKE_SA_INIT answer asking for a COOKIE.
pub fn is_cookie_reply(bytes: &[u8]) -> bool {
    Message::parse(bytes).is_ok_and(|m| {
        m.payloads
            .as_slice()
            .find_notify(NotifyType::COOKIE)
            .is_some()
    })
}

/// One datagram on the wire.
#[derive(Debug, Clone)]
pub struct Packet {
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub bytes: Vec<u8>,
}

/// One node and what it told its fast path.
pub struct Node {
    pub engine: Engine,
    pub ike_up: Vec<IkeSaInfo>,
    pub ike_down: Vec<(IkeSaId, DownReason)>,
    /// Installed CHILD SAs by inbound SPI.
    pub fast_path: BTreeMap<u32, ChildSaInfo>,
    pub child_down: Vec<(ChildRef, DownReason)>,
    pub rekeyed: Vec<(ChildRef, ChildSaInfo)>,
    pub events: Vec<Event>,
    pub sent: Vec<Packet>,
    /// Every action but events, in the order the engine gave them: `send`, `ike_up`,
    /// `ike_down`, `child_up`, `child_rekeyed`, `child_rekeyed_deferred`, `child_down`.
    pub log: Vec<&'static str>,
}

impl Node {
    fn new(engine: Engine) -> Node {
        Node {
            engine,
            ike_up: vec![],
            ike_down: vec![],
            fast_path: BTreeMap::new(),
            child_down: vec![],
            rekeyed: vec![],
            events: vec![],
            sent: vec![],
            log: vec![],
        }
    }

    /// The one installed CHILD SA.
    pub fn only_child(&self) -> &ChildSaInfo {
        assert_eq!(self.fast_path.len(), 1, "{:?}", self.fast_path);
        self.fast_path.values().next().unwrap()
    }

    pub fn sa_id(&self) -> IkeSaId {
        *self.engine.sa_ids().first().expect("an IKE SA")
    }

    pub fn has_event(&self, f: impl Fn(&Event) -> bool) -> bool {
        self.events.iter().any(f)
    }
}

pub struct World {
    pub now: Duration,
    pub rng: TestRng,
    pub a: Node,
    pub b: Node,
    pub wire: VecDeque<Packet>,
    /// Rewrite A's packets as a NAT in front of A would.
    pub nat: bool,
}

pub enum Side {
    A,
    B,
}

impl World {
    pub fn new(a: IkeConfig, b: IkeConfig) -> World {
        World::with(a, b, vec![], EngineSettings::default())
    }

    pub fn with(
        a: IkeConfig,
        b: IkeConfig,
        pools: Vec<PoolConfig>,
        settings: EngineSettings,
    ) -> World {
        let mut rng = TestRng::new(7);
        let ea = Engine::new(vec![a], vec![], settings.clone(), &mut rng, Duration::ZERO);
        let eb = Engine::new(vec![b], pools, settings, &mut rng, Duration::ZERO);
        World {
            now: Duration::from_secs(1),
            rng,
            a: Node::new(ea),
            b: Node::new(eb),
            wire: VecDeque::new(),
            nat: false,
        }
    }

    pub fn node(&mut self, s: &Side) -> &mut Node {
        match s {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }

    /// Moves every node's actions to the wire and the records.
    pub fn collect(&mut self) {
        for side in [Side::A, Side::B] {
            let mut out = Vec::new();
            let node = self.node(&side);
            while let Some(a) = node.engine.poll_action() {
                let kind = match &a {
                    Action::Send { .. } => "send",
                    Action::IkeSaUp(_) => "ike_up",
                    Action::IkeSaDown { .. } => "ike_down",
                    Action::ChildSaUp(_) => "child_up",
                    Action::ChildSaRekeyed {
                        defer_outbound: false,
                        ..
                    } => "child_rekeyed",
                    Action::ChildSaRekeyed { .. } => "child_rekeyed_deferred",
                    Action::ChildSaDown { .. } => "child_down",
                    Action::Event { .. } => "",
                };
                if !kind.is_empty() {
                    node.log.push(kind);
                }
                match a {
                    Action::Send { from, to, bytes } => {
                        let p = Packet { from, to, bytes };
                        node.sent.push(p.clone());
                        out.push(p);
                    }
                    Action::IkeSaUp(i) => node.ike_up.push(i),
                    Action::IkeSaDown { sa, reason, .. } => node.ike_down.push((sa, reason)),
                    Action::ChildSaUp(info) => {
                        assert!(node.fast_path.insert(info.child.spi_in, *info).is_none());
                    }
                    Action::ChildSaRekeyed { old, new, .. } => {
                        assert!(
                            node.fast_path.contains_key(&old.spi_in),
                            "rekey of an unknown SA"
                        );
                        node.rekeyed.push((old, (*new).clone()));
                        assert!(node.fast_path.insert(new.child.spi_in, *new).is_none());
                    }
                    Action::ChildSaDown { child, reason } => {
                        assert!(
                            node.fast_path.remove(&child.spi_in).is_some(),
                            "down of an unknown SA"
                        );
                        node.child_down.push((child, reason));
                    }
                    Action::Event { event, .. } => node.events.push(event),
                }
            }
            for p in out {
                let p = if self.nat { nat_out(p) } else { p };
                self.wire.push_back(p);
            }
        }
    }

    /// Delivers one datagram (to whichever node it is addressed).
    pub fn deliver(&mut self, p: Packet) {
        let p = if self.nat { nat_in(p) } else { p };
        let (now, rng) = (self.now, &mut self.rng);
        let a_ip = A_ADDR.parse::<SocketAddr>().unwrap().ip();
        let node = if p.to.ip() == a_ip {
            &mut self.a
        } else {
            &mut self.b
        };
        node.engine
            .handle_datagram(now, rng, p.to, p.from, &p.bytes);
        self.collect();
    }

    /// Delivers everything until the wire is quiet.
    pub fn run(&mut self) {
        self.collect();
        let mut n = 0;
        while let Some(p) = self.wire.pop_front() {
            self.deliver(p);
            n += 1;
            assert!(n < 10_000, "no end to the messages");
        }
    }

    /// Runs with `drop` deciding which datagrams get lost.
    pub fn run_dropping(&mut self, mut drop: impl FnMut(&Packet) -> bool) {
        self.collect();
        while let Some(p) = self.wire.pop_front() {
            if !drop(&p) {
                self.deliver(p);
            }
        }
    }

    /// Moves the clock and runs both nodes' timers (not the wire).
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        let (now, rng) = (self.now, &mut self.rng);
        self.a.engine.handle_timeout(now, rng);
        self.b.engine.handle_timeout(now, rng);
        self.collect();
    }

    /// Advances in steps of one second for `d`, delivering everything after each.
    pub fn pass(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            self.advance(Duration::from_secs(1));
            self.run();
        }
    }

    pub fn initiate(&mut self) -> IkeSaId {
        let id = self
            .a
            .engine
            .initiate(self.now, &mut self.rng, "to-b", None)
            .unwrap();
        self.collect();
        id
    }

    /// Initiates from A and runs to the end.
    pub fn establish(&mut self) -> IkeSaId {
        let id = self.initiate();
        self.run();
        id
    }

    /// Asserts that both nodes hold the same CHILD SAs, mirrored.
    pub fn assert_children_match(&self) {
        assert_eq!(self.a.fast_path.len(), self.b.fast_path.len());
        for (spi, ca) in &self.a.fast_path {
            let cb = self
                .b
                .fast_path
                .values()
                .find(|c| c.child.spi_out == *spi)
                .expect("B sends to each of A's SAs");
            assert_eq!(cb.child.spi_in, ca.child.spi_out);
            assert_eq!(*ca.encr_key_out, *cb.encr_key_in);
            assert_eq!(*ca.encr_key_in, *cb.encr_key_out);
            assert_eq!(*ca.integ_key_out, *cb.integ_key_in);
            assert_eq!(*ca.integ_key_in, *cb.integ_key_out);
            assert_ne!(*ca.encr_key_in, *ca.encr_key_out);
            assert_eq!(ca.local_ts, cb.remote_ts);
            assert_eq!(ca.remote_ts, cb.local_ts);
            assert_eq!(ca.suite, cb.suite);
            assert_eq!(ca.mode, cb.mode);
            assert_eq!(ca.encap.is_some(), cb.encap.is_some());
        }
    }
}

/// A's packets leave through the NAT: source rewritten to the NAT's address (port + 1000).
fn nat_out(mut p: Packet) -> Packet {
    let a: SocketAddr = A_ADDR.parse().unwrap();
    if p.from.ip() == a.ip() {
        p.from = SocketAddr::new(NAT_IP.parse().unwrap(), p.from.port() + 1000);
    }
    p
}

/// Packets to the NAT's address go back to A.
fn nat_in(mut p: Packet) -> Packet {
    let a: SocketAddr = A_ADDR.parse().unwrap();
    if p.to.ip() == NAT_IP.parse::<std::net::IpAddr>().unwrap() {
        p.to = SocketAddr::new(a.ip(), p.to.port() - 1000);
    }
    p
}
