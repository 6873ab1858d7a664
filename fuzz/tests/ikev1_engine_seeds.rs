//! The ikev1_engine target's seeds: a real IKEv1 initiator's datagrams to the target's
//! responder (same connection, same RNG seed, same clock). Recorded, they take the responder
//! through Main Mode, Quick Mode, a rekey and a delete. Fed again, the responder answers their
//! clear half of Main Mode alike, but its D-H key comes from OpenSSL, not the seeded RNG: the
//! encrypted messages then reach decryption and the HASH check and stop there (counted). The
//! test checks both; `WRITE_SEEDS=1` records the seeds again into fuzz/seeds/ikev1_engine.
//!
//!   cd fuzz && cargo test --release --test ikev1_engine_seeds

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ike::action::{Action, ChildId, IkeSaId};
use ike::rng::TestRng;
use ike::v1::engine::V1Engine;

#[path = "../fuzz_targets/datagrams.rs"]
mod datagrams;
#[path = "../fuzz_targets/ikev1_responder.rs"]
mod ikev1_responder;
#[path = "../fuzz_targets/psk_conn.rs"]
mod psk_conn;

use ikev1_responder::{run, selector, v1_conn, Reached, Responder, Sent, LOCAL_IP};

const INITIATOR: &str = "198.51.100.2:500";
/// The NAT's ports for the initiator's 500 and 4500 (`SOURCES` 2 and 3).
const NAT_PORTS: [u16; 2] = [31000, 31001];

/// An initiator in step with a fresh responder, recording what the responder is fed.
struct Recorder {
    initiator: V1Engine,
    rng: TestRng,
    responder: Responder,
    behind_nat: bool,
    fed: Vec<Vec<u8>>,
}

impl Recorder {
    fn new(behind_nat: bool) -> Recorder {
        let gw = format!("{LOCAL_IP}:500");
        Recorder {
            initiator: V1Engine::new(&[v1_conn("to-gw", INITIATOR, &gw)]),
            rng: TestRng::new(99),
            responder: Responder::default(),
            behind_nat,
            fed: Vec::new(),
        }
    }

    /// Delivers the initiator's datagrams and the answers until both are quiet.
    fn pump(&mut self) {
        for _ in 0..64 {
            let mut sends = Vec::new();
            while let Some(a) = self.initiator.poll_action() {
                if let Action::Send { from, bytes, .. } = a {
                    sends.push((from, bytes));
                }
            }
            if sends.is_empty() {
                return;
            }
            for (from, bytes) in sends {
                let floated = from.port() != 500;
                let source = usize::from(floated) + if self.behind_nat { 2 } else { 0 };
                let payload = if floated { &bytes[4..] } else { &bytes[..] };
                let mut datagram = vec![selector(source, 0)];
                datagram.extend_from_slice(payload);
                self.fed.push(datagram.clone());
                let now = self.responder.now;
                for Sent { from, to, bytes } in self.responder.feed(&datagram) {
                    self.deliver(now, from, to, &bytes);
                }
            }
        }
        panic!("no end to the exchange");
    }

    /// An answer to the initiator, through the NAT when there is one.
    fn deliver(&mut self, now: Duration, from: SocketAddr, to: SocketAddr, bytes: &[u8]) {
        let port = match NAT_PORTS.iter().position(|p| *p == to.port()) {
            Some(0) => 500,
            Some(_) => 4500,
            None => to.port(),
        };
        let local = SocketAddr::new(to.ip(), port);
        self.initiator
            .handle_datagram(now, &mut self.rng, local, from, bytes);
    }

    fn isakmp_sa(&self) -> IkeSaId {
        self.initiator.sa_ids()[0]
    }

    fn child(&self) -> ChildId {
        let sa = self.initiator.sa(self.isakmp_sa()).unwrap();
        sa.children[0].id
    }

    fn seed(&self) -> Vec<u8> {
        self.fed.join(datagrams::DELIM)
    }
}

/// Each seed: its file name, how it is recorded, and how far it takes the responder.
fn recorded() -> Vec<(&'static str, Vec<u8>, Reached)> {
    let mut out = Vec::new();
    let mut add = |name: &'static str, r: &Recorder| {
        let reached = r.responder.reached.clone();
        out.push((name, r.seed(), reached));
    };

    let mut r = Recorder::new(false);
    let now = r.responder.now;
    r.initiator.initiate(now, &mut r.rng, "to-gw").unwrap();
    r.pump();
    add("main-quick-mode", &r);
    let (sa, child) = (r.isakmp_sa(), r.child());
    let now = r.responder.now;
    assert!(r.initiator.rekey_child(now, &mut r.rng, sa, child));
    r.pump();
    add("main-quick-mode-rekey", &r);
    let now = r.responder.now;
    assert!(r.initiator.delete_sa(now, &mut r.rng, sa));
    r.pump();
    add("main-quick-mode-rekey-delete", &r);

    let mut r = Recorder::new(true);
    let now = r.responder.now;
    r.initiator.initiate(now, &mut r.rng, "to-gw").unwrap();
    r.pump();
    add("natt-main-quick-mode", &r);
    out
}

fn seeds_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seeds/ikev1_engine")
}

#[test]
fn seeds_are_real_exchanges_answered_again() {
    let write = std::env::var_os("WRITE_SEEDS").is_some();
    for (name, seed, reached) in recorded() {
        // Recorded: the responder's ISAKMP SA and IPsec SAs came up as they should.
        assert_eq!(reached.isakmp_up, 1, "{name}: {reached:?}");
        assert!(reached.ipsec_up >= 1, "{name}: {reached:?}");
        let path = seeds_dir().join(name);
        if write {
            std::fs::create_dir_all(seeds_dir()).unwrap();
            std::fs::write(&path, &seed).unwrap();
        }
        let committed = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (WRITE_SEEDS=1 records it)", path.display()));
        // The committed seed, fed to the target's responder, gets the two clear answers of
        // Main Mode (and the target's own checks hold on it); its encrypted messages are then
        // dropped by the HASH check, the D-H key being new.
        let again = run(&datagrams::split(&committed));
        assert!(
            again.sent >= 2,
            "{name}: {again:?}: stale seed (WRITE_SEEDS=1 records it again)"
        );
    }
}

#[test]
fn natt_seed_floats_to_4500() {
    let (_, seed, _) = recorded().pop().unwrap();
    let floated = datagrams::split(&seed)
        .iter()
        .filter(|d| d.first() == Some(&selector(3, 0)))
        .count();
    assert!(
        floated >= 3,
        "{floated} datagrams from the NAT's 4500 mapping"
    );
}
