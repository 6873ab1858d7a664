//! Per-core throughput of the ESP core (`esp::outbound::encrypt_burst`,
//! `esp::inbound::decrypt_burst`), with no I/O, next to the raw cipher throughput
//! (`esp::crypto::Engine::seal_burst` / `open_burst`) measured in the same run as the ceiling.
//!
//! `cargo run --release -p bench --bin esp [-- --quick] [-- --json]`
//!
//! - Packets: IPv4/UDP frames as `bench::pcap::udp_frame` without their 14-byte Ethernet
//!   header; sizes are *frame* sizes (64, 512, 1400, and `bench::pcap::IMIX`) like the
//!   ipsec-secgw anchor, and Gbit/s is (mean plain frame bytes) * 8 * pps for both directions.
//! - Tunnel-mode SAs 192.0.2.1 -> 192.0.2.2, `Backend::Auto`, AES-128-GCM and
//!   AES-128-CBC + HMAC-SHA1-96; with 1 SA, and with N (default 100,000) SAs with random
//!   distinct SPIs where each packet picks a random SA (from a pre-generated list): uniformly,
//!   or with `--zipf S` from a Zipf distribution of exponent S (the SA of rank k is picked with
//!   weight 1/k^S, ranks shuffled over the SAs), as real users' traffic is skewed.
//! - Bursts of 32 `VecBuf`s; every burst is first refilled by a copy (encrypt: from the
//!   plaintext frames; decrypt and the ceilings: from a pool of pre-encrypted packets), as
//!   DPDK's net_pcap source copies every frame too. The copy is part of every timed figure,
//!   core and ceiling alike, and is also measured alone (the `copy` rows).
//! - Decrypt `win=0`: anti-replay off (as the ipsec-secgw anchor runs), the pool is re-used.
//!   Decrypt `win=1024 fresh`: a 1024-packet window, every packet decrypted once, in sequence
//!   order per SA; the pool is re-encrypted with new sequence numbers, outside the timed
//!   region, whenever it runs out.
//! - Ceiling: `seal_burst` / `open_burst` over the ESP part of the same pool packets, with
//!   the same SAs' sessions (so with N SAs the key schedules are as scattered as in the core).
//! - SAs live as the SAD keeps them: packed in chunks on transparent huge pages (the
//!   closing lines give the size of one SA and the process's huge-page memory), and the
//!   closing table gives each cell's rate with N SAs over its rate with 1.
//! - HA snapshots are off (`SyncPolicy` with both triggers 0): there is no sync consumer.
//! - Repetitions are interleaved across all cells and the median is reported, so that
//!   frequency drift and other jobs on the machine hit every cell alike.

use bench::cpu_clock::thread_cpu;
use bench::pcap;
use bench::rng::Rng;
use bench::spread::{draw_order, Spread};
use clap::Parser;
use esp::buf::{PacketBuf, VecBuf};
use esp::crypto::{CryptoOp, EncAlg, IntegAlg, Session, TransformKeys};
use esp::inbound::decrypt_burst;
use esp::lcore::Lcore;
use esp::outbound::encrypt_burst;
use esp::sa::{Direction, SaConfig, SaId};
use esp::sad::Sad;
use esp::verdict::Verdict;
use std::collections::HashSet;
use std::hint::black_box;
use std::net::IpAddr;
use std::time::{Duration, Instant};

const BURST: usize = 32;
const HEADROOM: usize = 128;
/// Room of each buffer: the largest IMIX frame, ESP overhead, headroom.
const BUF_LEN: usize = 2048;
/// Bursts between two looks at the clock.
const BURSTS_PER_CHECK: usize = 8;
const NOW_NS: u64 = 1;

/// What one run of a cell measured.
struct Sample {
    packets: u64,
    wall: Duration,
    cpu: Duration,
}

#[derive(Parser)]
#[command(about = "Per-core throughput of the ESP core against the raw cipher")]
struct Args {
    /// A short run (3 repetitions of 40 ms per cell, smaller pools).
    #[arg(long)]
    quick: bool,
    /// Print one JSON object per cell instead of the table.
    #[arg(long)]
    json: bool,
    /// Interleaved repetitions (default 5, or 3 with --quick).
    #[arg(long)]
    reps: Option<usize>,
    /// Timed milliseconds per cell and repetition (default 200, or 40 with --quick).
    #[arg(long)]
    cell_ms: Option<u64>,
    /// SAs of the large set.
    #[arg(long, default_value_t = 100_000)]
    sas: usize,
    /// Run only the cells whose key `transform/size/SAs/op` is one of these or starts with one
    /// of these and a `/` (e.g. `--only AES-128-GCM/64/100000/encrypt`, `--only AES-128-GCM/64`;
    /// ops: encrypt, decrypt, decrypt_fresh, seal, open, copy_pool, copy_plain); for profiling.
    #[arg(long)]
    only: Vec<String>,
    /// Instead of a time per cell, exactly this many packets (rounded up to whole checks of
    /// 256): the same work in every run, for counting instructions (`bench/icount.sh`).
    #[arg(long)]
    packets: Option<u64>,
    /// The large set's packets pick their SA from a Zipf distribution of this exponent (around
    /// 1.0) instead of uniformly; drawn before the timed loops.
    #[arg(long)]
    zipf: Option<f64>,
}

struct Transform {
    name: &'static str,
    enc: EncAlg,
    integ: IntegAlg,
}

impl Transform {
    fn keys(&self, rng: &mut Rng) -> TransformKeys {
        let (el, al) = match self.enc {
            EncAlg::AesGcm16_128 => (20, 0),
            _ => (16, 20),
        };
        TransformKeys {
            enc: self.enc,
            integ: self.integ,
            enc_key: rng.bytes(el),
            auth_key: rng.bytes(al),
        }
    }
}

/// The plaintext packets of one size (12 of them, so that IMIX is exact over 12).
struct SizeCase {
    name: String,
    frames: Vec<Vec<u8>>,
    /// Mean plain frame length (with the 14-byte Ethernet header), for Gbit/s.
    mean_frame: f64,
}

impl SizeCase {
    fn new(name: &str, lens: &[usize]) -> SizeCase {
        let frames: Vec<Vec<u8>> = lens
            .iter()
            .enumerate()
            .map(|(i, &l)| pcap::udp_frame(l, i, false)[14..].to_vec())
            .collect();
        SizeCase {
            name: name.to_string(),
            mean_frame: lens.iter().sum::<usize>() as f64 / lens.len() as f64,
            frames,
        }
    }
}

/// One set of SAs of one transform: outbound, and the matching inbound ones twice (window 0
/// and window 1024), each in its own SAD (one worker's view), all at the same ids.
struct SaSet {
    n: usize,
    out: Sad,
    in0: Sad,
    in1k: Sad,
    /// The SA of each packet, cycled through.
    order: Vec<SaId>,
}

fn sa_set(t: &Transform, n: usize, spread: Spread, rng: &mut Rng) -> SaSet {
    let a: IpAddr = "192.0.2.1".parse().expect("addr");
    let b: IpAddr = "192.0.2.2".parse().expect("addr");
    let mut spis = HashSet::with_capacity(n);
    let (mut out, mut in0, mut in1k) = (Sad::new(), Sad::new(), Sad::new());
    for i in 0..n {
        let spi = loop {
            let s = rng.next_u64() as u32;
            if s != 0 && spis.insert(s) {
                break s;
            }
        };
        let keys = t.keys(rng);
        let id = SaId(i as u32);
        let o = SaConfig::tunnel(spi, Direction::Outbound, a, b, keys.clone());
        let mut i0 = SaConfig::tunnel(spi, Direction::Inbound, b, a, keys.clone());
        i0.replay_window = 0;
        let mut i1 = SaConfig::tunnel(spi, Direction::Inbound, b, a, keys);
        i1.replay_window = 1024;
        out.insert(id, o, NOW_NS).expect("outbound SA");
        in0.insert(id, i0, NOW_NS).expect("inbound SA");
        in1k.insert(id, i1, NOW_NS).expect("inbound SA");
    }
    let order = if n == 1 {
        vec![SaId(0); 1024]
    } else {
        draw_order(n, (n * 2).next_power_of_two().max(1024), spread, rng)
            .into_iter()
            .map(SaId)
            .collect()
    };
    SaSet {
        n,
        out,
        in0,
        in1k,
        order,
    }
}

/// Pre-encrypted ESP packets (from the outer IP header on) and the SA each was sealed with.
#[derive(Default)]
struct Pool {
    pkts: Vec<Vec<u8>>,
    ids: Vec<SaId>,
}

/// Encrypts `n` packets (`frames` cycled, SAs from `order` at `cursor`) into `pool`,
/// re-using its allocations.
#[allow(clippy::too_many_arguments)]
fn fill_pool(
    lc: &mut Lcore,
    out: &mut Sad,
    order: &[SaId],
    cursor: &mut usize,
    frames: &[Vec<u8>],
    n: usize,
    bufs: &mut [VecBuf],
    pool: &mut Pool,
) {
    pool.pkts.resize_with(n, Vec::new);
    pool.ids.resize(n, SaId(0));
    let mut verdicts = [Verdict::Forward; BURST];
    for start in (0..n).step_by(BURST) {
        let k = BURST.min(n - start);
        for (j, b) in bufs[..k].iter_mut().enumerate() {
            assert!(b.reset(&frames[(start + j) % frames.len()], HEADROOM));
        }
        let ids = &order[*cursor..*cursor + k];
        encrypt_burst(lc, out, &mut bufs[..k], ids, &mut verdicts[..k], NOW_NS);
        for j in 0..k {
            assert_eq!(verdicts[j], Verdict::Forward, "pool encryption");
            let p = &mut pool.pkts[start + j];
            p.clear();
            p.extend_from_slice(bufs[j].data());
            pool.ids[start + j] = ids[j];
        }
        *cursor = (*cursor + k) % order.len();
    }
}

/// The pools of one (transform, size, SA set).
struct Pools {
    /// Re-used by the window-0 decrypt, the ceilings and the copy-only cell.
    w0: Pool,
    /// Decrypted once each by the window-1024 cell, then re-encrypted.
    fresh: Pool,
    fresh_pos: usize,
    /// Where the next re-encryption takes its SAs in the set's order.
    order_cursor: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Encrypt,
    Decrypt0,
    DecryptFresh,
    Seal,
    Open,
    /// Only the refill copy of `Encrypt` (plaintext into the buffers).
    CopyPlain,
    /// Only the refill copy of `Decrypt0` and the ceilings (pool packets into the buffers).
    CopyPool,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Encrypt => "encrypt",
            Kind::Decrypt0 => "decrypt win=0 (pool re-used)",
            Kind::DecryptFresh => "decrypt win=1024 (fresh)",
            Kind::Seal => "ceiling seal_burst",
            Kind::Open => "ceiling open_burst",
            Kind::CopyPlain => "copy only: plaintext refill",
            Kind::CopyPool => "copy only: pool refill",
        }
    }
    fn json_name(self) -> &'static str {
        match self {
            Kind::Encrypt => "encrypt",
            Kind::Decrypt0 => "decrypt",
            Kind::DecryptFresh => "decrypt_fresh",
            Kind::Seal => "seal",
            Kind::Open => "open",
            Kind::CopyPlain => "copy_plain",
            Kind::CopyPool => "copy_pool",
        }
    }
    /// The ceiling a core cell is compared with.
    fn ceiling(self) -> Option<Kind> {
        match self {
            Kind::Encrypt => Some(Kind::Seal),
            Kind::Decrypt0 | Kind::DecryptFresh => Some(Kind::Open),
            _ => None,
        }
    }
}

struct Cell {
    kind: Kind,
    t: usize,
    z: usize,
    s: usize,
    /// Encrypt: position in the set's order; decrypt and ceilings: position in the pool.
    pos: usize,
    /// Per repetition: Mpps per CPU-second of this thread, Mpps per wall-clock second, and
    /// the share of the wall-clock time this thread was on a CPU.
    mpps: Vec<f64>,
    wall_mpps: Vec<f64>,
    cpu_share: Vec<f64>,
}

impl Cell {
    fn new(kind: Kind, t: usize, z: usize, s: usize) -> Cell {
        Cell {
            kind,
            t,
            z,
            s,
            pos: 0,
            mpps: Vec::new(),
            wall_mpps: Vec::new(),
            cpu_share: Vec::new(),
        }
    }
}

struct World {
    lc: Lcore,
    sizes: Vec<SizeCase>,
    /// Index `t * 2 + s`.
    sets: Vec<SaSet>,
    /// Index `(t * sizes + z) * 2 + s`.
    pools: Vec<Pools>,
    bufs: Vec<VecBuf>,
    raw: Vec<Vec<u8>>,
    fresh_n: usize,
}

/// How long a cell runs.
#[derive(Clone, Copy)]
enum Budget {
    /// About this much timed (wall-clock) work.
    Time(Duration),
    /// At least this many packets, in whole checks.
    Packets(u64),
}

impl Budget {
    fn spent(self, timed: Duration, packets: u64) -> bool {
        match self {
            Budget::Time(t) => timed >= t,
            Budget::Packets(n) => packets >= n,
        }
    }
}

/// Runs one cell until `budget` is spent.
fn measure(w: &mut World, c: &mut Cell, budget: Budget) -> Sample {
    let nsizes = w.sizes.len();
    let World {
        lc,
        sizes,
        sets,
        pools,
        bufs,
        raw,
        fresh_n,
    } = w;
    let size = &sizes[c.z];
    let set = &mut sets[c.t * 2 + c.s];
    let pools = &mut pools[(c.t * nsizes + c.z) * 2 + c.s];
    let mut verdicts = [Verdict::Forward; BURST];
    let (enc0, dec0) = (lc.counters.encrypted, lc.counters.decrypted);
    let mut n = 0u64;
    let mut timed = Duration::ZERO;
    let mut cpu = Duration::ZERO;
    let frames = &size.frames;
    match c.kind {
        Kind::Encrypt | Kind::CopyPlain => {
            let encrypt = c.kind == Kind::Encrypt;
            let olen = set.order.len();
            let mut fi = 0;
            let cpu0 = thread_cpu();
            let start = Instant::now();
            loop {
                for _ in 0..BURSTS_PER_CHECK {
                    for b in bufs.iter_mut() {
                        b.reset(&frames[fi], HEADROOM);
                        fi += 1;
                        if fi == frames.len() {
                            fi = 0;
                        }
                    }
                    if encrypt {
                        let ids = &set.order[c.pos..c.pos + BURST];
                        encrypt_burst(lc, &mut set.out, bufs, ids, &mut verdicts, NOW_NS);
                        c.pos += BURST;
                        if c.pos == olen {
                            c.pos = 0;
                        }
                    } else {
                        black_box(&mut *bufs);
                    }
                    n += BURST as u64;
                }
                timed = start.elapsed();
                if budget.spent(timed, n) {
                    break;
                }
            }
            cpu = thread_cpu() - cpu0;
            if encrypt {
                check(lc.counters.encrypted - enc0, n, lc, c);
            }
        }
        Kind::Decrypt0 | Kind::CopyPool => {
            let decrypt = c.kind == Kind::Decrypt0;
            let pool = &pools.w0.pkts;
            let cpu0 = thread_cpu();
            let start = Instant::now();
            loop {
                for _ in 0..BURSTS_PER_CHECK {
                    for (b, p) in bufs.iter_mut().zip(&pool[c.pos..c.pos + BURST]) {
                        b.reset(p, HEADROOM);
                    }
                    c.pos += BURST;
                    if c.pos == pool.len() {
                        c.pos = 0;
                    }
                    if decrypt {
                        decrypt_burst(lc, &mut set.in0, bufs, &mut verdicts, NOW_NS);
                    } else {
                        black_box(&mut *bufs);
                    }
                    n += BURST as u64;
                }
                timed = start.elapsed();
                if budget.spent(timed, n) {
                    break;
                }
            }
            cpu = thread_cpu() - cpu0;
            if decrypt {
                check(lc.counters.decrypted - dec0, n, lc, c);
            }
        }
        Kind::DecryptFresh => {
            // Timed in stretches between re-encryptions of the pool.
            while !budget.spent(timed, n) {
                if pools.fresh_pos == pools.fresh.pkts.len() {
                    fill_pool(
                        lc,
                        &mut set.out,
                        &set.order,
                        &mut pools.order_cursor,
                        frames,
                        *fresh_n,
                        bufs,
                        &mut pools.fresh,
                    );
                    pools.fresh_pos = 0;
                }
                let pool = &pools.fresh.pkts;
                let cpu0 = thread_cpu();
                let start = Instant::now();
                let mut bursts = 0;
                while pools.fresh_pos < pool.len() {
                    for (b, p) in bufs
                        .iter_mut()
                        .zip(&pool[pools.fresh_pos..pools.fresh_pos + BURST])
                    {
                        b.reset(p, HEADROOM);
                    }
                    pools.fresh_pos += BURST;
                    decrypt_burst(lc, &mut set.in1k, bufs, &mut verdicts, NOW_NS);
                    n += BURST as u64;
                    bursts += 1;
                    if bursts % BURSTS_PER_CHECK == 0 && budget.spent(timed + start.elapsed(), n) {
                        break;
                    }
                }
                timed += start.elapsed();
                cpu += thread_cpu() - cpu0;
            }
            // The other sizes' fresh cells share these SAs and move their windows on: what is
            // left of this pool would be outside the window next time, so it is dropped here.
            pools.fresh_pos = pools.fresh.pkts.len();
            check(lc.counters.decrypted - dec0, n, lc, c);
        }
        Kind::Seal | Kind::Open => {
            let seal = c.kind == Kind::Seal;
            let sad: &Sad = if seal { &set.out } else { &set.in0 };
            let pool = &pools.w0;
            let any = &sad.get(SaId(0)).expect("SA 0").session;
            let cpu0 = thread_cpu();
            let start = Instant::now();
            loop {
                for _ in 0..BURSTS_PER_CHECK {
                    let mut ops: [CryptoOp; BURST] = std::array::from_fn(|_| CryptoOp {
                        session: any,
                        esp: &mut [],
                        esn_hi: None,
                        result: Ok(()),
                    });
                    let pkts = &pool.pkts[c.pos..c.pos + BURST];
                    let ids = &pool.ids[c.pos..c.pos + BURST];
                    for (((op, r), p), id) in ops.iter_mut().zip(raw.iter_mut()).zip(pkts).zip(ids)
                    {
                        // The ESP part: after the 20-byte outer IPv4 header.
                        let esp = &p[20..];
                        let r = &mut r[..esp.len()];
                        r.copy_from_slice(esp);
                        op.session = session(sad, *id);
                        op.esp = r;
                    }
                    c.pos += BURST;
                    if c.pos == pool.pkts.len() {
                        c.pos = 0;
                    }
                    if seal {
                        lc.engine.seal_burst(&mut ops);
                    } else {
                        lc.engine.open_burst(&mut ops);
                    }
                    if ops.iter().any(|o| o.result.is_err()) {
                        panic!("{:?} failed: {:?}", c.kind, ops[0].result);
                    }
                    n += BURST as u64;
                }
                timed = start.elapsed();
                if budget.spent(timed, n) {
                    break;
                }
            }
            cpu = thread_cpu() - cpu0;
        }
    }
    Sample {
        packets: n,
        wall: timed,
        cpu,
    }
}

fn session(sad: &Sad, id: SaId) -> &Session {
    &sad.get(id).expect("SA").session
}

/// Every packet must have gone through; otherwise the figures would be meaningless.
fn check(done: u64, want: u64, lc: &Lcore, c: &Cell) {
    if done != want {
        panic!(
            "{:?} t{} z{} s{}: {done} of {want} packets processed; drops {:?}",
            c.kind, c.t, c.z, c.s, lc.counters.drops
        );
    }
}

/// The figure: for each transform, size and core op, the rate with `big` SAs over the
/// rate with 1, medians of the same interleaved run.
fn print_scale_ratios(
    cells: &[Cell],
    transforms: &[Transform],
    sizes: &[SizeCase],
    big: usize,
    spread: &str,
) {
    let mut lines = Vec::new();
    for one in cells
        .iter()
        .filter(|c| c.s == 0 && c.kind.ceiling().is_some())
    {
        let Some(many) = cells
            .iter()
            .find(|c| c.s == 1 && c.kind == one.kind && c.t == one.t && c.z == one.z)
        else {
            continue;
        };
        lines.push(format!(
            "  {:<22} {:>5}  {:<29} {:.2}",
            transforms[one.t].name,
            sizes[one.z].name,
            one.kind.label(),
            median(&many.mpps) / median(&one.mpps)
        ));
    }
    if !lines.is_empty() {
        println!("rate with {big} SAs ({spread}) / rate with 1 SA:");
        for l in lines {
            println!("{l}");
        }
    }
}

/// This process's anonymous memory on transparent huge pages (`/proc/self/smaps_rollup`).
fn anon_huge_pages() -> Option<String> {
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").ok()?;
    let line = rollup.lines().find(|l| l.starts_with("AnonHugePages:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(format!("{} MiB", kib / 1024))
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    }
}

fn main() {
    let args = Args::parse();
    let reps = args.reps.unwrap_or(if args.quick { 3 } else { 5 }).max(1);
    let cell = Duration::from_millis(args.cell_ms.unwrap_or(if args.quick { 40 } else { 200 }));
    let big = args.sas.max(2);
    let spread = Spread::of(args.zipf);
    // Pool sizes: multiples of 12 (IMIX) and of the burst. The large set's re-used pool is
    // larger so that a pass touches many SAs, not the same few thousand.
    let unit = 12 * BURST;
    let (pool_1, pool_big, fresh_n) = if args.quick {
        (4 * unit, 16 * unit, 4 * unit)
    } else {
        (12 * unit, 84 * unit, 12 * unit)
    };

    let transforms = [
        Transform {
            name: "AES-128-GCM",
            enc: EncAlg::AesGcm16_128,
            integ: IntegAlg::None,
        },
        Transform {
            name: "AES-128-CBC+HMAC-SHA1",
            enc: EncAlg::AesCbc128,
            integ: IntegAlg::HmacSha1_96,
        },
    ];
    let sizes = vec![
        SizeCase::new("64", &[64; 12]),
        SizeCase::new("512", &[512; 12]),
        SizeCase::new("1400", &[1400; 12]),
        SizeCase::new("imix", &pcap::IMIX),
    ];

    let setup = Instant::now();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut sets = Vec::new();
    for t in &transforms {
        for n in [1, big] {
            sets.push(sa_set(t, n, spread, &mut rng));
        }
    }
    let sync_off = bench::sync_off::sync_off();
    let mut lc = Lcore::new(sync_off, 1024, 1024);
    let mut bufs: Vec<VecBuf> = (0..BURST)
        .map(|_| VecBuf::new(&[0u8; BUF_LEN - 2 * HEADROOM], HEADROOM, HEADROOM))
        .collect();
    let mut pools = Vec::new();
    for t in 0..transforms.len() {
        for size in &sizes {
            for s in 0..2 {
                let set = &mut sets[t * 2 + s];
                let mut cursor = 0;
                let mut w0 = Pool::default();
                let n = if set.n == 1 { pool_1 } else { pool_big };
                fill_pool(
                    &mut lc,
                    &mut set.out,
                    &set.order,
                    &mut cursor,
                    &size.frames,
                    n,
                    &mut bufs,
                    &mut w0,
                );
                pools.push(Pools {
                    w0,
                    fresh: Pool::default(),
                    fresh_pos: 0,
                    order_cursor: cursor,
                });
            }
        }
    }
    let mut world = World {
        lc,
        sizes,
        sets,
        pools,
        bufs,
        raw: vec![vec![0u8; BUF_LEN]; BURST],
        fresh_n,
    };
    // Sanity: one pool packet decrypts back to its plaintext (but for the inner TTL and
    // header checksum, which tunnel-mode encapsulation decremented and fixed).
    for (t, tr) in transforms.iter().enumerate() {
        let p = &world.pools[t * world.sizes.len() * 2].w0;
        let mut b = vec![VecBuf::new(&p.pkts[0], HEADROOM, 0)];
        let mut v = [Verdict::Forward];
        decrypt_burst(
            &mut world.lc,
            &mut world.sets[t * 2].in0,
            &mut b,
            &mut v,
            NOW_NS,
        );
        let (got, want) = (b[0].data(), &world.sizes[0].frames[0]);
        assert_eq!(v[0], Verdict::Forward, "{}: sanity decrypt", tr.name);
        assert_eq!(got.len(), want.len());
        assert_eq!(got[..8], want[..8]);
        assert_eq!(got[8], want[8] - 1, "TTL");
        assert_eq!(got[12..], want[12..], "{}: round trip", tr.name);
    }
    let setup_secs = setup.elapsed().as_secs_f64();

    let mut cells = Vec::new();
    for t in 0..transforms.len() {
        for z in 0..world.sizes.len() {
            for s in 0..2 {
                for kind in [
                    Kind::Encrypt,
                    Kind::Decrypt0,
                    Kind::DecryptFresh,
                    Kind::Seal,
                    Kind::Open,
                    Kind::CopyPool,
                ] {
                    cells.push(Cell::new(kind, t, z, s));
                }
            }
        }
    }
    for z in 0..world.sizes.len() {
        cells.push(Cell::new(Kind::CopyPlain, 0, z, 0));
    }
    let sas_of = |s: usize| if s == 0 { 1 } else { big };
    let spread_name = match spread {
        Spread::Uniform => "uniform".to_string(),
        Spread::Zipf(s) => format!("zipf {s}"),
    };
    let key = |c: &Cell| {
        format!(
            "{}/{}/{}/{}",
            transforms[c.t].name,
            world.sizes[c.z].name,
            sas_of(c.s),
            c.kind.json_name()
        )
    };
    if !args.only.is_empty() {
        cells.retain(|c| {
            let k = key(c);
            args.only
                .iter()
                .any(|o| k == *o || k.starts_with(&format!("{o}/")))
        });
    }

    let backends: Vec<String> = transforms
        .iter()
        .enumerate()
        .map(|(t, tr)| {
            let b = session(&world.sets[t * 2].out, SaId(0)).backend();
            format!("{} {:?}", tr.name, b)
        })
        .collect();
    let mb = ipsec_mb::Mgr::new()
        .map(|m| format!("intel-ipsec-mb {} arch {:?}", ipsec_mb::version(), m.arch()))
        .unwrap_or_else(|| "intel-ipsec-mb unavailable".into());
    if !args.json {
        println!(
            "ESP core per-core throughput: {} reps x {} ms per cell, interleaved, median; \
             bursts of {BURST}; 1 and {big} SAs ({spread_name}); setup {setup_secs:.1} s",
            reps,
            cell.as_millis()
        );
        println!("backends (Auto): {}; {mb}", backends.join(", "));
    }

    let run = Instant::now();
    for _ in 0..reps {
        for c in cells.iter_mut() {
            // Copy-only cells are cheap context: a third of the time.
            let budget = match (args.packets, c.kind) {
                (Some(n), _) => Budget::Packets(n),
                (None, Kind::CopyPlain | Kind::CopyPool) => Budget::Time(cell / 3),
                (None, _) => Budget::Time(cell),
            };
            let r = measure(&mut world, c, budget);
            c.mpps.push(r.packets as f64 / r.cpu.as_secs_f64() / 1e6);
            c.wall_mpps
                .push(r.packets as f64 / r.wall.as_secs_f64() / 1e6);
            c.cpu_share.push(r.cpu.as_secs_f64() / r.wall.as_secs_f64());
        }
    }
    let run_secs = run.elapsed().as_secs_f64();

    let find = |kind: Kind, t: usize, z: usize, s: usize| {
        cells
            .iter()
            .find(|c| c.kind == kind && c.t == t && c.z == z && c.s == s)
            .map(|c| median(&c.mpps))
    };
    if !args.json {
        println!(
            "Mpps per CPU-second of the thread, median [min-max] of the repetitions; Gbit/s = \
             mean plain frame bytes * 8 * pps; ratio = core / ceiling of the same transform, \
             size and SA count; every figure includes the refill copy; cpu = share of the wall \
             clock the thread was on a CPU (median)"
        );
        println!(
            "{:<22} {:>5} {:>6}  {:<29} {:>7} {:>15} {:>7} {:>6} {:>7} {:>5}",
            "transform",
            "size",
            "SAs",
            "op",
            "Mpps",
            "[min-max]",
            "Gbit/s",
            "ratio",
            "ns/pkt",
            "cpu"
        );
    }
    for c in &cells {
        let m = median(&c.mpps);
        let lo = c.mpps.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = c.mpps.iter().copied().fold(0.0, f64::max);
        let share = median(&c.cpu_share);
        let size = &world.sizes[c.z];
        let gbps = m * 1e6 * size.mean_frame * 8.0 / 1e9;
        let ratio = c
            .kind
            .ceiling()
            .and_then(|k| find(k, c.t, c.z, c.s))
            .map(|ceil| m / ceil);
        let tname = if c.kind == Kind::CopyPlain {
            "-"
        } else {
            transforms[c.t].name
        };
        let sas = if c.kind == Kind::CopyPlain {
            0
        } else {
            sas_of(c.s)
        };
        if args.json {
            let v = serde_json::json!({
                "bench": "esp",
                "op": c.kind.json_name(),
                "transform": tname,
                "size": size.name,
                "frame_bytes": size.mean_frame,
                "sas": sas,
                "spread": if sas > 1 { spread_name.as_str() } else { "-" },
                "replay_window": match c.kind {
                    Kind::DecryptFresh => 1024,
                    _ => 0,
                },
                "fresh": c.kind == Kind::DecryptFresh,
                "mpps": m,
                "gbps": gbps,
                "min": lo,
                "max": hi,
                "reps": c.mpps.len(),
                "wall_mpps": median(&c.wall_mpps),
                "cpu_share": share,
                "clock": "thread_cpu",
                "ratio_to_ceiling": ratio,
                "backends": backends,
            });
            println!("{v}");
        } else {
            println!(
                "{:<22} {:>5} {:>6}  {:<29} {:>7.3} {:>15} {:>7.2} {:>6} {:>7.1} {:>5.2}",
                tname,
                size.name,
                if sas == 0 {
                    "-".to_string()
                } else {
                    sas.to_string()
                },
                c.kind.label(),
                m,
                format!("[{lo:.3}-{hi:.3}]"),
                gbps,
                ratio.map(|r| format!("{r:.2}")).unwrap_or_default(),
                1e3 / m,
                share
            );
        }
    }
    if !args.json {
        println!("measured {run_secs:.1} s");
        print_scale_ratios(&cells, &transforms, &world.sizes, big, &spread_name);
        println!(
            "per SA: Sa {} B (keys inline), slot 4 B, SPI entry 8 B; SAs on huge pages: {}",
            std::mem::size_of::<esp::sa::Sa>(),
            anon_huge_pages().unwrap_or_else(|| "unknown".into())
        );
    }
    // Freeing 600,000 SAs one by one takes seconds (and would show in profiles): skip it.
    std::process::exit(0);
}
