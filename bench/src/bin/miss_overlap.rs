//! How many cache misses to memory one core here keeps in flight, which bounds how fast a
//! burst's stage can ask for the lines of 100,000 SAs: random lines of a 512 MiB buffer on
//! transparent huge pages (as the SAD's chunks are), read as `k` independent chains of
//! dependent loads (latency, then throughput as `k` grows), and asked for one after another by
//! software prefetch into L1 (`PREFETCHT0`) and into L2 (`PREFETCHT1`), the two reaches the
//! ESP core's stages use. Each case runs `ROUNDS` times, interleaved; the best is shown.
//!
//! Run: `cargo run --release -p bench --bin miss_overlap [-- MIB]` (default 512).

#![forbid(unsafe_code)]

use bench::rng::Rng;
use ipsec_mb::{advise_huge_pages, prefetch_line_to, Reach};
use std::hint::black_box;
use std::time::Instant;

const ROUNDS: usize = 3;
/// u64 words in a cache line.
const WORDS: usize = 8;
const CHAINS: [usize; 7] = [1, 2, 4, 8, 16, 32, 48];
const PREFETCHES: usize = 4_000_000;
const LOADS: usize = 2_000_000;

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("MIB: a number of MiB"))
        .unwrap_or(512);
    let lines = (mib << 20) / 64;
    // Zeroed pages are mapped lazily: the advice comes before the first write.
    let mut mem = vec![0u64; lines * WORDS];
    let huge = advise_huge_pages(mem.as_ptr().cast(), mem.len() * 8);
    // One cycle through every line in random order (Sattolo): word 0 of each line holds the
    // next line's index, so a chain's loads depend on each other.
    let mut order: Vec<u32> = (0..lines as u32).collect();
    let mut rng = Rng::new(0x5eed);
    for i in (1..lines).rev() {
        let j = (rng.next_u64() % i as u64) as usize;
        order.swap(i, j);
    }
    for w in 0..lines {
        mem[order[w] as usize * WORDS] = order[(w + 1) % lines] as u64;
    }
    println!(
        "{mib} MiB, {lines} lines, {} MiB advised for huge pages",
        huge >> 20
    );
    let mut chain_ns = [f64::MAX; CHAINS.len()];
    let mut near_ns = f64::MAX;
    let mut far_ns = f64::MAX;
    for _ in 0..ROUNDS {
        for (c, &k) in CHAINS.iter().enumerate() {
            chain_ns[c] = chain_ns[c].min(chains(&mem, &order, k));
        }
        near_ns = near_ns.min(prefetches(&mem, Reach::Near));
        far_ns = far_ns.min(prefetches(&mem, Reach::Far));
    }
    for (c, &k) in CHAINS.iter().enumerate() {
        println!(
            "{k:>2} chains of dependent loads: {:6.1} ns a load, {:6.1} ns a chain step",
            chain_ns[c],
            chain_ns[c] * k as f64
        );
    }
    println!("random lines asked for into L1 (PREFETCHT0): {near_ns:.1} ns a line");
    println!("random lines asked for into L2 (PREFETCHT1): {far_ns:.1} ns a line");
}

/// ns per load with `k` chains walked side by side.
fn chains(mem: &[u64], order: &[u32], k: usize) -> f64 {
    let lines = order.len();
    let mut at: Vec<usize> = (0..k).map(|c| order[lines / k * c] as usize).collect();
    let steps = LOADS / k;
    let t = Instant::now();
    for _ in 0..steps {
        for a in at.iter_mut() {
            *a = mem[*a * WORDS] as usize;
        }
    }
    black_box(&at);
    t.elapsed().as_nanos() as f64 / (steps * k) as f64
}

/// ns per line asked for, `PREFETCHES` random lines one after another.
fn prefetches(mem: &[u64], reach: Reach) -> f64 {
    let lines = mem.len() / WORDS;
    let base = mem.as_ptr().cast::<u8>();
    let mut x: u32 = 12345;
    let t = Instant::now();
    for _ in 0..PREFETCHES {
        // A linear congruential step: cheap next to a miss, and no load to wait for.
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        prefetch_line_to(base.wrapping_add(x as usize % lines * 64), reach);
    }
    t.elapsed().as_nanos() as f64 / PREFETCHES as f64
}
