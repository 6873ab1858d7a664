//! IKE SA setup rate: our initiator against our responder (`ike::engine::Engine` twice), in
//! one process and on one thread, datagrams handed over in memory (no sockets, no daemon).
//!
//! `cargo run --release -p bench --bin ike [-- --seconds 2 --group 14,31 --reps 3]`
//!
//! With SAs held (see `held`): `-- --group 31 --held 0,10000,100000 --poll-timeout
//! --lifetimes`, the setup rate at each level and the memory per held IKE SA.
//!
//! Each IKE SA is a fresh one: the initiator initiates, IKE_SA_INIT and IKE_AUTH (PSK) run
//! to the end and make one CHILD SA (tunnel, one selector pair each way), then the initiator
//! deletes the IKE SA (INFORMATIONAL) and the next one starts. The delete is timed apart and
//! left out of the setup rate, so that the engines' tables stay the same size all along
//! (`--background N` keeps N more established SAs idle in both, a busy gateway's table) and
//! the rate is that of setting up, not of growing maps. Both engines run on this thread, so
//! the rate is the pair's: a responder that only answers would do about twice as many, and
//! the table prints what the responder's own share of the time would allow.
//!
//! Per SA the time is split by step (who handled which message), and the D-H share is
//! estimated from the cost of the D-H calls the exchanges make (`ike::sa::dh::DhPrivate`),
//! measured in the same run: 2 generations and 2 shared secrets per SA, one of each on each
//! side. The floor is printed too: a key made once from random octets of the same size
//! (`KeyExchange::from_private`) and one shared secret with it (`compute_shared`), twice per
//! SA. `DhPrivate` keeps only octets (for HA) and rebuilds the key, public value included, for
//! the shared secret: the difference between the two.
//!
//! The per-step and per-side figures are this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so
//! that time given to other jobs on a shared core does not count; the rate is also given per
//! wall-clock second.
//!
//! Repetitions are interleaved over the cases, each case warmed up first; medians and the
//! min-max spread are printed. Wall time is `std::time::Instant`; the CPU/wall column is this
//! thread's CPU time over the wall time of a case (below 100 %: other jobs had the core).

use bench::cpu_clock::thread_cpu;
use std::collections::VecDeque;
use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use clap::Parser;
use ike::action::{Action, Event};
use ike::config::{
    AuthConfig, ChildConfig, DpdAction, DpdConfig, Identity, IkeConfig, IkeVersion, Lifetimes,
    RetransmitConfig, VirtualIpConfig,
};
use ike::crypto::dh::KeyExchange;
use ike::crypto::transform::{
    Suite, AUTH_HMAC_SHA1_96, CURVE25519, ENCR_AES_CBC, ENCR_AES_GCM_16, MODP_1024, MODP_2048,
    PRF_HMAC_SHA1, PRF_HMAC_SHA2_256,
};
use ike::engine::{Engine, EngineSettings};
use ike::message::TrafficSelector;
use ike::rng::RngSource;
use ike::rng_openssl::OpenSslRng;
use ike::sa::dh::DhPrivate;

mod held;

#[derive(Parser)]
#[command(about = "IKE SAs set up per second, our initiator against our responder, in memory")]
struct Args {
    /// Timed seconds per case and repetition.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Cases: `all`, or a comma-separated list of D-H groups: 2 (modp1024, AES-CBC/SHA1, for
    /// reference), 14 (modp2048) and 31 (curve25519), both AES-GCM-16-128 with PRF-HMAC-SHA256.
    #[arg(long, default_value = "all")]
    group: String,
    /// Interleaved repetitions.
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Untimed warm-up per case, seconds.
    #[arg(long, default_value_t = 0.5)]
    warmup: f64,
    /// Established IKE SAs kept idle in both engines while measuring.
    #[arg(long, default_value_t = 0)]
    background: usize,
    /// Ask both engines for `poll_timeout()` after every datagram, as the daemon's loop does
    /// before each poll(2), and run `handle_timeout()` when it is due.
    #[arg(long)]
    poll_timeout: bool,
    /// Instead of the main table: the setup rate with this many established IKE SAs held,
    /// one level after the other (comma-separated, growing), and the memory per held SA.
    #[arg(long, value_delimiter = ',')]
    held: Vec<usize>,
    /// Every SA gets a gateway's lifetimes (IKE SA rekey 4 h, CHILD SA rekey 1 h and hard
    /// 66 min, with jitter), so that every held SA has a deadline, as on a real gateway.
    #[arg(long)]
    lifetimes: bool,
    /// One JSON object per case after the table.
    #[arg(long)]
    json: bool,
}

const A_ADDR: &str = "192.0.2.1:500";
const B_ADDR: &str = "198.51.100.2:500";

/// One proposal set: IKE suite and ESP suite.
struct Case {
    name: &'static str,
    transforms: &'static str,
    group: u16,
    ike: Suite,
    esp: Suite,
}

fn cases() -> Vec<Case> {
    let gcm_ike = |dh| Suite {
        encr: ENCR_AES_GCM_16,
        encr_key_bits: 128,
        integ: None,
        prf: Some(PRF_HMAC_SHA2_256),
        dh: Some(dh),
        esn: None,
    };
    let gcm_esp = Suite {
        encr: ENCR_AES_GCM_16,
        encr_key_bits: 128,
        integ: None,
        prf: None,
        dh: None,
        esn: None,
    };
    let cbc_esp = Suite {
        encr: ENCR_AES_CBC,
        encr_key_bits: 128,
        integ: Some(AUTH_HMAC_SHA1_96),
        prf: None,
        dh: None,
        esn: None,
    };
    vec![
        Case {
            name: "modp2048",
            transforms: "aes128gcm16-prfsha256-modp2048 / esp aes128gcm16",
            group: MODP_2048,
            ike: gcm_ike(MODP_2048),
            esp: gcm_esp,
        },
        Case {
            name: "curve25519",
            transforms: "aes128gcm16-prfsha256-curve25519 / esp aes128gcm16",
            group: CURVE25519,
            ike: gcm_ike(CURVE25519),
            esp: gcm_esp,
        },
        Case {
            name: "modp1024 (ref)",
            transforms: "aes128-sha1-modp1024 (prfsha1) / esp aes128-sha1",
            group: MODP_1024,
            ike: Suite {
                integ: Some(AUTH_HMAC_SHA1_96),
                prf: Some(PRF_HMAC_SHA1),
                dh: Some(MODP_1024),
                ..cbc_esp
            },
            esp: cbc_esp,
        },
    ]
}

fn ts(net: &str) -> Vec<TrafficSelector> {
    let addr = net.parse().expect("selector address");
    vec![TrafficSelector::from_prefix(addr, 16, 0, (0, 65535)).expect("selector")]
}

/// A's (initiator) and B's (responder) connections: PSK, one child 10.1/16 <-> 10.2/16, no
/// DPD, no INITIAL_CONTACT (the background SAs share the identities); rekeys only with
/// `lifetimes` (hours away: none is due during a run).
fn configs(c: &Case, lifetimes: bool) -> (IkeConfig, IkeConfig) {
    let (child, ike_rekey, ike_jitter) = if lifetimes {
        (
            Lifetimes::default(),
            Duration::from_secs(4 * 3600),
            Duration::from_secs(1200),
        )
    } else {
        (
            Lifetimes {
                rekey_time: Duration::ZERO,
                life_time: Duration::ZERO,
                jitter: Duration::ZERO,
                ..Lifetimes::default()
            },
            Duration::ZERO,
            Duration::ZERO,
        )
    };
    let base =
        |name: &str, local: &str, remote: &str, lid: &str, rid: &str, l: &str, r: &str| IkeConfig {
            name: name.into(),
            ike_version: IkeVersion::V2,
            local_addr: local.parse().expect("address"),
            remote_addr: remote.parse().expect("address"),
            local_id: Identity::fqdn(lid),
            remote_id: Some(Identity::fqdn(rid)),
            auth: AuthConfig::psk(b"a shared secret for the setup-rate bench"),
            ike_proposals: vec![c.ike],
            esp_proposals: vec![c.esp],
            children: vec![ChildConfig {
                lifetimes: child,
                ..ChildConfig::new("net", ts(l), ts(r))
            }],
            rekey_time: ike_rekey,
            rekey_jitter: ike_jitter,
            reauth_time: Duration::ZERO,
            dpd: DpdConfig {
                interval: Duration::ZERO,
                action: DpdAction::Clear,
            },
            retransmit: RetransmitConfig {
                timeout: Duration::from_secs(4),
                base: 1.8,
                tries: 5,
            },
            force_encap: false,
            fragment_size: None,
            virtual_ip: VirtualIpConfig::default(),
            initial_contact: false,
        };
    (
        base(
            "to-b",
            A_ADDR,
            B_ADDR,
            "a.example",
            "b.example",
            "10.1.0.0",
            "10.2.0.0",
        ),
        base(
            "from-a",
            B_ADDR,
            "0.0.0.0:0",
            "b.example",
            "a.example",
            "10.2.0.0",
            "10.1.0.0",
        ),
    )
}

/// The steps of one IKE SA's life, in order; each one's time is the handling of one datagram
/// (or the initiate or delete call) and carrying out the actions it produced.
const STEPS: [&str; 6] = [
    "I: initiate, IKE_SA_INIT request",
    "R: IKE_SA_INIT request -> response",
    "I: IKE_SA_INIT response -> IKE_AUTH request",
    "R: IKE_AUTH request -> response, CHILD SA up",
    "I: IKE_AUTH response, IKE + CHILD SA up",
    "delete (I request, R response, I done)",
];
/// Steps 0..SETUP are the setup; the rest is the delete.
const SETUP: usize = 5;
/// Which side handles each setup step (true: the responder).
const RESPONDER_STEP: [bool; SETUP] = [false, true, false, true, false];

#[derive(Default, Clone, Copy)]
struct Tally {
    ike_up: u64,
    child_up: u64,
    ike_down: u64,
    unexpected: u64,
}

struct Packet {
    from: SocketAddr,
    to: SocketAddr,
    bytes: Vec<u8>,
}

/// Two engines and the wire between them.
struct Pair {
    a: Engine,
    b: Engine,
    a_ip: std::net::IpAddr,
    rng: OpenSslRng,
    epoch: Instant,
    wire: VecDeque<Packet>,
    tally: [Tally; 2],
    poll_timeout: bool,
    /// Established IKE SAs kept by `background`.
    held: usize,
}

impl Pair {
    fn new(c: &Case, poll_timeout: bool, lifetimes: bool) -> Pair {
        let (ca, cb) = configs(c, lifetimes);
        let mut rng = OpenSslRng;
        let epoch = Instant::now();
        let a = Engine::new(
            vec![ca],
            vec![],
            EngineSettings::default(),
            &mut rng,
            Duration::ZERO,
        );
        let b = Engine::new(
            vec![cb],
            vec![],
            EngineSettings::default(),
            &mut rng,
            Duration::ZERO,
        );
        Pair {
            a,
            b,
            a_ip: A_ADDR.parse::<SocketAddr>().expect("address").ip(),
            rng,
            epoch,
            wire: VecDeque::new(),
            tally: [Tally::default(); 2],
            poll_timeout,
            held: 0,
        }
    }

    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// Carries out one engine's actions: datagrams onto the wire, the rest counted.
    fn collect(&mut self, responder: bool) {
        let (engine, tally) = if responder {
            (&mut self.b, &mut self.tally[1])
        } else {
            (&mut self.a, &mut self.tally[0])
        };
        while let Some(action) = engine.poll_action() {
            match action {
                Action::Send { from, to, bytes } => self.wire.push_back(Packet { from, to, bytes }),
                Action::IkeSaUp(_) => tally.ike_up += 1,
                Action::ChildSaUp(info) => {
                    black_box(&info);
                    tally.child_up += 1;
                }
                Action::IkeSaDown { .. } => tally.ike_down += 1,
                Action::ChildSaDown { .. } => {}
                Action::Event {
                    event: Event::Dropped(_) | Event::Retransmitted { .. },
                    ..
                }
                | Action::ChildSaRekeyed { .. } => tally.unexpected += 1,
                Action::Event { .. } => {}
            }
        }
        // As the daemon does: what changed goes to the HA peer and the checkpoint.
        black_box(engine.take_changed());
        if self.poll_timeout {
            let now = self.now();
            for e in [&mut self.a, &mut self.b] {
                if e.poll_timeout().is_some_and(|t| t <= now) {
                    e.handle_timeout(now, &mut self.rng);
                }
            }
        }
    }

    /// Hands the next datagram to its engine; returns whether it went to the responder.
    fn deliver_one(&mut self) -> Option<bool> {
        let p = self.wire.pop_front()?;
        let now = self.now();
        let responder = p.to.ip() != self.a_ip;
        let engine = if responder { &mut self.b } else { &mut self.a };
        engine.handle_datagram(now, &mut self.rng, p.to, p.from, &p.bytes);
        self.collect(responder);
        Some(responder)
    }

    /// One IKE SA set up and deleted; adds each step's time to `s`.
    fn one(&mut self, s: &mut Sample) {
        let mut lap = Lap::start();
        let now = self.now();
        let id = self
            .a
            .initiate(now, &mut self.rng, "to-b", None)
            .expect("initiate");
        self.collect(false);
        lap.add(s, 0);
        for (step, &responder) in RESPONDER_STEP.iter().enumerate().skip(1) {
            let went = self.deliver_one().expect("a datagram in flight");
            lap.add(s, step);
            assert_eq!(went, responder, "step {step}: unexpected receiver");
        }
        assert!(self.wire.is_empty(), "no more messages after IKE_AUTH");
        let now = self.now();
        assert!(self.a.delete_ike(now, &mut self.rng, id), "delete");
        self.collect(false);
        let mut n = 0;
        while self.deliver_one().is_some() {
            n += 1;
        }
        lap.add(s, SETUP);
        assert_eq!(n, 2, "the delete is one exchange");
        s.sas += 1;
    }

    /// Sets up `n` IKE SAs that stay (without asking for timeouts: only the timed setups
    /// are the daemon's loop).
    fn background(&mut self, n: usize) {
        let poll = std::mem::replace(&mut self.poll_timeout, false);
        for _ in 0..n {
            let now = self.now();
            self.a
                .initiate(now, &mut self.rng, "to-b", None)
                .expect("initiate");
            self.collect(false);
            while self.deliver_one().is_some() {}
        }
        self.held += n;
        self.poll_timeout = poll;
    }

    /// Untimed setups for about `secs`.
    fn warm_up(&mut self, secs: f64) {
        let mut warm = Sample::default();
        let t0 = Instant::now();
        while t0.elapsed().as_secs_f64() < secs {
            self.one(&mut warm);
        }
    }
}

/// Both clocks at the end of the previous step.
struct Lap {
    wall: Instant,
    cpu: Duration,
}

impl Lap {
    fn start() -> Lap {
        Lap {
            wall: Instant::now(),
            cpu: thread_cpu(),
        }
    }

    /// Charges the time since the last lap to step `i`.
    fn add(&mut self, s: &mut Sample, i: usize) {
        let (wall, cpu) = (Instant::now(), thread_cpu());
        s.wall_steps[i] += wall - self.wall;
        s.cpu_steps[i] += cpu.saturating_sub(self.cpu);
        (self.wall, self.cpu) = (wall, cpu);
    }
}

/// One timed run of one case.
#[derive(Default, Clone)]
struct Sample {
    sas: u64,
    /// Wall time (`Instant`) of each step, summed over the SAs.
    wall_steps: [Duration; STEPS.len()],
    /// This thread's CPU time of each step.
    cpu_steps: [Duration; STEPS.len()],
    wall: Duration,
    cpu: Duration,
}

impl Sample {
    fn setup_wall(&self) -> Duration {
        self.wall_steps[..SETUP].iter().sum()
    }
    fn setup_cpu(&self) -> Duration {
        self.cpu_steps[..SETUP].iter().sum()
    }
    /// IKE SAs set up per second of setup time (wall clock).
    fn rate(&self) -> f64 {
        self.sas as f64 / self.setup_wall().as_secs_f64()
    }
    /// IKE SAs set up per second of this thread's CPU time.
    fn cpu_rate(&self) -> f64 {
        self.sas as f64 / self.setup_cpu().as_secs_f64()
    }
    fn cpu_share(&self) -> f64 {
        self.cpu.as_secs_f64() / self.wall.as_secs_f64()
    }
    /// CPU microseconds per SA of a step.
    fn step_us(&self, i: usize) -> f64 {
        self.cpu_steps[i].as_secs_f64() * 1e6 / self.sas as f64
    }
    fn setup_us(&self) -> f64 {
        self.setup_cpu().as_secs_f64() * 1e6 / self.sas as f64
    }
    fn side_us(&self, responder: bool) -> f64 {
        (0..SETUP)
            .filter(|&i| RESPONDER_STEP[i] == responder)
            .map(|i| self.step_us(i))
            .sum()
    }
}

fn measure(pair: &mut Pair, secs: f64) -> Sample {
    let mut s = Sample::default();
    let before = pair.tally;
    let limit = Duration::from_secs_f64(secs);
    let (t0, c0) = (Instant::now(), thread_cpu());
    while t0.elapsed() < limit {
        pair.one(&mut s);
    }
    s.wall = t0.elapsed();
    s.cpu = thread_cpu() - c0;
    for (now, was) in pair.tally.iter().zip(&before) {
        assert_eq!(
            now.ike_up - was.ike_up,
            s.sas,
            "an IKE SA up on each side per SA"
        );
        assert_eq!(
            now.child_up - was.child_up,
            s.sas,
            "a CHILD SA up on each side per SA"
        );
        assert_eq!(
            now.ike_down - was.ike_down,
            s.sas,
            "an IKE SA down on each side per SA"
        );
        assert_eq!(now.unexpected, 0, "no drops, retransmits or rekeys");
    }
    s
}

/// Costs of the D-H calls of one group, microseconds per call.
#[derive(Default, Clone, Copy)]
struct DhCost {
    /// A key from random octets as many as the exchanges use (`KeyExchange::private_len`:
    /// 256-bit MODP exponents), its public value computed once (`KeyExchange::from_private`).
    gen: f64,
    /// `KeyExchange::compute_shared` with that key (peer value checked, then derived).
    shared: f64,
    /// `DhPrivate::generate`, what the exchanges call: the caller's random octets, the key
    /// rebuilt from them, the public value.
    proto_gen: f64,
    /// `DhPrivate::shared`, what the exchanges call: the key rebuilt from the stored private
    /// value, then `compute_shared`.
    proto_shared: f64,
}

impl DhCost {
    fn floor(&self) -> f64 {
        self.gen + self.shared
    }
    fn proto(&self) -> f64 {
        self.proto_gen + self.proto_shared
    }
}

/// Calls `f` for about `secs` (wall); CPU microseconds per call.
fn per_call(secs: f64, mut f: impl FnMut()) -> f64 {
    let limit = Duration::from_secs_f64(secs);
    let (t0, c0) = (Instant::now(), thread_cpu());
    let mut n = 0u64;
    while n < 3 || t0.elapsed() < limit {
        f();
        n += 1;
    }
    (thread_cpu() - c0).as_secs_f64() * 1e6 / n as f64
}

fn dh_cost(group: u16, secs: f64) -> DhCost {
    let peer = KeyExchange::generate(group).expect("peer key");
    let peer_pub = peer.public_value().to_vec();
    let mut rng = OpenSslRng;
    let mut raw = vec![0u8; KeyExchange::private_len(group).expect("group")];
    rng.fill(&mut raw);
    let mine = KeyExchange::from_private(group, &raw).expect("key");
    let proto = DhPrivate::generate(group, &mut rng).expect("key");
    let part = secs / 4.0;
    DhCost {
        gen: per_call(part, || {
            rng.fill(&mut raw);
            black_box(KeyExchange::from_private(group, &raw).expect("generate"));
        }),
        shared: per_call(part, || {
            black_box(mine.compute_shared(&peer_pub).expect("shared"));
        }),
        proto_gen: per_call(part, || {
            black_box(DhPrivate::generate(group, &mut rng).expect("generate"));
        }),
        proto_shared: per_call(part, || {
            black_box(proto.shared(&peer_pub).expect("shared"));
        }),
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Median and spread of one figure over the repetitions.
struct Stat {
    med: f64,
    min: f64,
    max: f64,
}

fn stat(mut v: Vec<f64>) -> Stat {
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Stat {
        med: median(&mut v),
        min,
        max,
    }
}

fn selected(spec: &str) -> Result<Vec<Case>, String> {
    let all = cases();
    if spec == "all" {
        return Ok(all);
    }
    let mut groups = Vec::new();
    for w in spec.split(',') {
        let g = match w.trim().to_ascii_lowercase().as_str() {
            "2" | "modp1024" => MODP_1024,
            "14" | "modp2048" => MODP_2048,
            "31" | "curve25519" | "x25519" => CURVE25519,
            o => return Err(format!("--group {o}: 2, 14, 31 or all")),
        };
        groups.push(g);
    }
    Ok(all
        .into_iter()
        .filter(|c| groups.contains(&c.group))
        .collect())
}

fn main() {
    let args = Args::parse();
    let cases = match selected(&args.group) {
        Ok(c) if !c.is_empty() => c,
        Ok(_) => return eprintln!("no case selected"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let reps = args.reps.max(1);
    if !args.held.is_empty() {
        let run = held::Run {
            secs: args.seconds,
            reps,
            warmup: args.warmup,
            poll: args.poll_timeout,
            lifetimes: args.lifetimes,
        };
        return run.all(&cases, &args.held);
    }
    let mut pairs: Vec<Pair> = cases
        .iter()
        .map(|c| Pair::new(c, args.poll_timeout, args.lifetimes))
        .collect();
    for p in &mut pairs {
        p.background(args.background);
        p.warm_up(args.warmup);
    }
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); cases.len()];
    let mut dh: Vec<Vec<DhCost>> = vec![Vec::new(); cases.len()];
    for rep in 0..reps {
        for (i, c) in cases.iter().enumerate() {
            let s = measure(&mut pairs[i], args.seconds);
            eprintln!(
                "rep {}/{reps} {:<15} {:>6} SAs in {:.2} s: {:>7.1} SAs/s",
                rep + 1,
                c.name,
                s.sas,
                s.wall.as_secs_f64(),
                s.rate()
            );
            samples[i].push(s);
            dh[i].push(dh_cost(c.group, (args.seconds / 2.0).max(0.2)));
        }
    }
    report(&args, &cases, &samples, &dh);
}

/// A row of the D-H table: its label and its figure.
type DhRow<'a> = (&'a str, &'a dyn Fn(&DhCost) -> f64);

fn report(args: &Args, cases: &[Case], samples: &[Vec<Sample>], dh: &[Vec<DhCost>]) {
    let per = |i: usize, f: &dyn Fn(&Sample) -> f64| stat(samples[i].iter().map(f).collect());
    let dper = |i: usize, f: &dyn Fn(&DhCost) -> f64| stat(dh[i].iter().map(f).collect());
    println!(
        "IKE SA setup, our initiator against our responder on one thread (the pair's rate): PSK, \
         one CHILD SA per IKE SA,\na fresh IKE SA each time (deleted after it is up; the delete \
         is timed apart and not in the rate)"
    );
    println!(
        "{} reps x {:.1} s per case after {:.1} s of warm-up, {} background SAs{}; median (min-max)",
        samples[0].len(),
        args.seconds,
        args.warmup,
        args.background,
        if args.poll_timeout {
            ", poll_timeout() after each datagram"
        } else {
            ""
        }
    );
    for c in cases {
        println!("  {:<15} {}", c.name, c.transforms);
    }
    println!();
    println!(
        "{:<15} {:>22} {:>22} {:>7} {:>6} {:>6} {:>12} {:>12} {:>9} {:>8}",
        "case",
        "IKE SAs/s (wall)",
        "per CPU-second",
        "us/SA",
        "I us",
        "R us",
        "DH us (%)",
        "floor us(%)",
        "R alone/s",
        "CPU/wall"
    );
    for (i, c) in cases.iter().enumerate() {
        let rate = per(i, &|s| s.rate());
        let cpu_rate = per(i, &|s| s.cpu_rate());
        let us = per(i, &|s| s.setup_us()).med;
        let i_us = per(i, &|s| s.side_us(false)).med;
        let r_us = per(i, &|s| s.side_us(true)).med;
        // Each SA: one generation and one shared secret on each side.
        let dh_us = 2.0 * dper(i, &|d| d.proto()).med;
        let floor_us = 2.0 * dper(i, &|d| d.floor()).med;
        let cpu = per(i, &|s| s.cpu_share());
        println!(
            "{:<15} {:>7.0} ({:>5.0}-{:>6.0}) {:>7.0} ({:>5.0}-{:>6.0}) {:>7.0} {:>6.0} {:>6.0} {:>5.0} ({:>3.0}%) {:>5.0} ({:>3.0}%) {:>9.0} {:>7.0}%",
            c.name,
            rate.med,
            rate.min,
            rate.max,
            cpu_rate.med,
            cpu_rate.min,
            cpu_rate.max,
            us,
            i_us,
            r_us,
            dh_us,
            100.0 * dh_us / us,
            floor_us,
            100.0 * floor_us / us,
            1e6 / r_us,
            100.0 * cpu.min,
        );
    }
    println!();
    println!("CPU us per SA, by step (median):");
    print!("{:<46}", "step");
    for c in cases {
        print!(" {:>15}", c.name);
    }
    println!();
    for (k, name) in STEPS.iter().enumerate() {
        print!("{name:<46}");
        for i in 0..cases.len() {
            print!(" {:>15.1}", per(i, &|s| s.step_us(k)).med);
        }
        println!();
    }
    println!();
    println!("D-H, CPU us per call (median); each SA makes 2 of each, one on each side:");
    print!("{:<46}", "call");
    for c in cases {
        print!(" {:>15}", c.name);
    }
    println!();
    let rows: [DhRow; 6] = [
        ("floor: KeyExchange::from_private (random)", &|d| d.gen),
        ("floor: KeyExchange::compute_shared", &|d| d.shared),
        ("floor: generate + shared", &|d| d.floor()),
        ("exchanges: DhPrivate::generate", &|d| d.proto_gen),
        ("exchanges: DhPrivate::shared", &|d| d.proto_shared),
        ("exchanges: generate + shared", &|d| d.proto()),
    ];
    for (name, f) in rows {
        print!("{name:<46}");
        for i in 0..cases.len() {
            print!(" {:>15.1}", dper(i, f).med);
        }
        println!();
    }
    println!();
    println!(
        "IKE SAs/s (wall): SAs / wall time of their setup steps (Instant); per CPU-second: the same \
         over this thread's CPU time,\nwhich time given to other jobs on a shared core does not \
         inflate. us/SA, I us, R us: CPU time of the setup steps, in all and\nper side. DH us: \
         2 x (DhPrivate::generate + ::shared), the D-H calls the exchanges make per SA; floor: \
         2 x (KeyExchange::from_private\n+ ::compute_shared), the key made once. R alone/s: 1 / R us, a responder whose \
         initiators run elsewhere (about twice the pair's rate).\nCPU/wall: the lowest over the reps \
         (below 100 %: other jobs had this core)."
    );
    if args.json {
        for (i, c) in cases.iter().enumerate() {
            let rates: Vec<f64> = samples[i].iter().map(Sample::rate).collect();
            let cpu_rates: Vec<f64> = samples[i].iter().map(Sample::cpu_rate).collect();
            let steps: Vec<f64> = (0..STEPS.len())
                .map(|k| per(i, &|s| s.step_us(k)).med)
                .collect();
            println!(
                "{}",
                serde_json::json!({
                    "case": c.name,
                    "group": c.group,
                    "transforms": c.transforms,
                    "seconds": args.seconds,
                    "background": args.background,
                    "poll_timeout": args.poll_timeout,
                    "rates_wall": rates,
                    "rates_cpu": cpu_rates,
                    "rate_wall_median": per(i, &|s| s.rate()).med,
                    "steps_cpu_us": steps,
                    "responder_cpu_us": per(i, &|s| s.side_us(true)).med,
                    "initiator_cpu_us": per(i, &|s| s.side_us(false)).med,
                    "dh_floor_us": dper(i, &|d| d.floor()).med,
                    "dh_exchange_us": dper(i, &|d| d.proto()).med,
                })
            );
        }
    }
}
