//! The setup rate with many IKE SAs held, and what each held SA costs in memory.
//!
//! One engine pair per case grows its table of established IKE SAs (each with one CHILD SA,
//! set up by the same two engines) level by level, and at each level the setup rate is
//! measured as in the main table. Memory is counted twice while a level's SAs are added: the
//! heap bytes live (this binary's allocator counts every allocation and free) and the
//! process's resident set (VmRSS), each divided by the IKE SAs added on both sides (one on
//! the initiator and one on the responder per setup).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{measure, stat, Case, Pair, Sample};

/// The system allocator, counting the bytes it has given out and not yet taken back.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call goes to `System` with the caller's own arguments; the counter has no
// effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract for `GlobalAlloc::alloc` is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from this allocator (so from `System`) with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`, and `new_size` is the caller's, valid for `layout`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap bytes live, and the resident set in bytes (0 where /proc is not there).
fn memory() -> (usize, usize) {
    let rss_kib = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        })
        .unwrap_or(0);
    (LIVE.load(Ordering::Relaxed), rss_kib * 1024)
}

/// One level of one case.
struct Level {
    held: usize,
    samples: Vec<Sample>,
    /// Heap and resident bytes per IKE SA added to reach this level (none for the first).
    per_sa: Option<(f64, f64)>,
}

/// How each level is measured.
pub struct Run {
    pub secs: f64,
    pub reps: usize,
    pub warmup: f64,
    /// `poll_timeout` and `handle_timeout` as the daemon's loop calls them.
    pub poll: bool,
    pub lifetimes: bool,
}

impl Run {
    /// Every level of every case: one table per case.
    pub fn all(&self, cases: &[Case], levels: &[usize]) {
        for c in cases {
            let rows = self.levels(c, levels);
            report(c, &rows, self);
        }
    }

    fn levels(&self, c: &Case, levels: &[usize]) -> Vec<Level> {
        let mut pair = Pair::new(c, self.poll, self.lifetimes);
        let mut rows = Vec::new();
        for &held in levels {
            let add = held.saturating_sub(pair.held);
            let (heap0, rss0) = memory();
            let t0 = std::time::Instant::now();
            pair.background(add);
            let (heap1, rss1) = memory();
            let per_sa = (add > 0).then(|| {
                let sas = (2 * add) as f64;
                (
                    (heap1 as f64 - heap0 as f64) / sas,
                    (rss1 as f64 - rss0 as f64) / sas,
                )
            });
            eprintln!(
                "{}: {} SAs held ({add} set up in {:.1} s)",
                c.name,
                pair.held,
                t0.elapsed().as_secs_f64()
            );
            pair.warm_up(self.warmup);
            let samples = (0..self.reps)
                .map(|_| measure(&mut pair, self.secs))
                .collect();
            rows.push(Level {
                held: pair.held,
                samples,
                per_sa,
            });
        }
        rows
    }
}

fn report(c: &Case, rows: &[Level], run: &Run) {
    println!(
        "IKE SA setup with SAs held, {} ({}): {} reps x {:.1} s per level{}{}; median (min-max)",
        c.name,
        c.transforms,
        run.reps,
        run.secs,
        if run.poll {
            ", poll_timeout() after each datagram and handle_timeout() when due"
        } else {
            ""
        },
        if run.lifetimes {
            ", a gateway's lifetimes"
        } else {
            ""
        }
    );
    println!(
        "{:>9} {:>24} {:>9} {:>24} {:>17} {:>17}",
        "held", "IKE SAs/s (wall)", "of first", "per CPU-second", "heap B/IKE SA", "RSS B/IKE SA"
    );
    let base = rows
        .first()
        .map(|r| stat(r.samples.iter().map(Sample::cpu_rate).collect()).med);
    for r in rows {
        let rate = stat(r.samples.iter().map(Sample::rate).collect());
        let cpu = stat(r.samples.iter().map(Sample::cpu_rate).collect());
        let (heap, rss) = match r.per_sa {
            Some((h, s)) => (format!("{h:.0}"), format!("{s:.0}")),
            None => ("-".into(), "-".into()),
        };
        println!(
            "{:>9} {:>8.0} ({:>6.0}-{:>6.0}) {:>8.1}% {:>8.0} ({:>6.0}-{:>6.0}) {heap:>17} {rss:>17}",
            r.held,
            rate.med,
            rate.min,
            rate.max,
            base.map_or(0.0, |b| 100.0 * cpu.med / b),
            cpu.med,
            cpu.min,
            cpu.max,
        );
    }
    println!(
        "of first: the CPU-second rate against the first level's. Memory: what adding the \
         level's SAs cost, over the IKE SAs added\n(two per setup: the initiator's and the \
         responder's, each with one CHILD SA): heap bytes live (counted by this binary's\n\
         allocator) and resident set (VmRSS)."
    );
    println!();
}
