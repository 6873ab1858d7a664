//! The order of jobs in a burst and the multi-buffer lanes: AES-128-CBC + HMAC-SHA1-96 jobs
//! of IMIX lengths, 64 per burst (the fast path's burst), each burst flushed, submitted in
//! arrival order, longest first or shortest first. A flush runs
//! the lanes half empty for as long as the longest job left in them, so the order changes the
//! library's work. Runs alternate between the orders; ns per job for each run.
//!
//!   cargo run --release -p bench --bin lane_order -- [--runs 5] [--jobs 400000]

#![forbid(unsafe_code)]

use clap::Parser;
use ipsec_mb::{
    AesKeys, Auth, CbcIv, Cipher, Dir, HmacAlg, HmacKey, Job, JobStatus, Mgr, MAX_BURST,
};
use std::time::Instant;

#[derive(Parser)]
struct Args {
    /// Alternated runs of each order.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Jobs per run.
    #[arg(long, default_value_t = 400_000)]
    jobs: usize,
}

/// ESP payloads (header, IV, padded ciphertext, ICV), in tunnel mode, of the frames of the
/// bench's IMIX pcap (`trafgen --size imix`: 64, 570 and 1400 bytes, 7:4:1), in its order.
const IMIX: [usize; 12] = [100, 596, 100, 1428, 100, 596, 100, 596, 100, 100, 596, 100];
const ICV: usize = 12;
const HEAD: usize = 8 + 16;

/// Submission orders within a burst.
#[derive(Clone, Copy, PartialEq)]
enum Order {
    Arrival,
    LongestFirst,
    ShortestFirst,
}

fn run(mgr: &mut Mgr, keys: &AesKeys, h: &HmacKey, dir: Dir, how: Order, jobs: usize) -> f64 {
    let mut bufs: Vec<Vec<u8>> = (0..MAX_BURST).map(|_| vec![0x5a; 1500]).collect();
    let mut order: Vec<usize> = (0..MAX_BURST).collect();
    let start = Instant::now();
    let mut done = 0;
    let mut burst_no = 0;
    while done < jobs {
        // The pcap's sequence, continued from burst to burst.
        let len_of = |k: usize| IMIX[(burst_no * MAX_BURST + k) % IMIX.len()];
        match how {
            Order::Arrival => {}
            Order::LongestFirst => {
                order.sort_unstable_by_key(|&k| (std::cmp::Reverse(len_of(k)), k))
            }
            Order::ShortestFirst => order.sort_unstable_by_key(|&k| (len_of(k), k)),
        }
        let mut b = mgr.burst();
        for (&k, buf) in order.iter().zip(bufs.iter_mut()) {
            let n = len_of(k);
            let mut job = Job {
                dir,
                cipher: Cipher::AesCbc {
                    keys,
                    iv: CbcIv::Value([7; 16]),
                },
                auth: Auth::Hmac(h),
                cipher_off: HEAD,
                cipher_len: n - HEAD - ICV,
                hash_len: n - ICV,
                tag_len: ICV,
                tag_at: (dir == Dir::Encrypt).then_some(n - ICV),
                buf: &mut buf[..n],
                ..Default::default()
            };
            b.push(&mut job).expect("a valid job");
        }
        let c = b.finish();
        assert!((0..c.len()).all(|i| c.status(i) == JobStatus::Done));
        done += c.len();
        burst_no += 1;
    }
    start.elapsed().as_nanos() as f64 / done as f64
}

fn main() {
    let args = Args::parse();
    let mut mgr = Mgr::new().expect("intel-ipsec-mb");
    println!(
        "intel-ipsec-mb {} arch {:?}; AES-128-CBC + HMAC-SHA1-96, IMIX lengths, {} jobs per burst, flushed",
        ipsec_mb::version(),
        mgr.arch(),
        MAX_BURST
    );
    let keys = AesKeys::new(&[1; 16]).expect("key");
    let h = HmacKey::new(HmacAlg::Sha1, &[2; 20]).expect("key");
    let orders = [
        (Order::Arrival, "arrival order"),
        (Order::LongestFirst, "longest first"),
        (Order::ShortestFirst, "shortest first"),
    ];
    for (dir, name) in [(Dir::Encrypt, "encrypt"), (Dir::Decrypt, "decrypt")] {
        let mut ns = vec![Vec::new(); orders.len()];
        for _ in 0..args.runs {
            for (v, &(how, _)) in ns.iter_mut().zip(&orders) {
                v.push(run(&mut mgr, &keys, &h, dir, how, args.jobs));
            }
        }
        let mut medians = Vec::new();
        for (v, (_, label)) in ns.iter_mut().zip(&orders) {
            let runs: Vec<String> = v.iter().map(|x| format!("{x:.0}")).collect();
            v.sort_by(f64::total_cmp);
            medians.push(v[v.len() / 2]);
            println!(
                "{name}, {label}: ns/job {} (median {:.0})",
                runs.join(" "),
                v[v.len() / 2]
            );
        }
        println!(
            "{name}: time against arrival order: longest first {:.2}, shortest first {:.2}",
            medians[1] / medians[0],
            medians[2] / medians[0]
        );
    }
}
