//! `fastpath --latency`: per-burst processing latency of each worker, in TSC cycles, into an
//! HDR histogram. One burst is timed from just after `rx_burst` returned packets to just after
//! the last `tx_burst` of its processing (SPD, crypto, framing, transmit). The worker only
//! pays for it when the option is on: without it the recorder is `None` and the poll loop
//! tests that once per non-empty burst.

use hdrhistogram::Histogram;
use std::sync::{Arc, Mutex};

/// The largest value recorded exactly: 10 s at 5 GHz; longer bursts saturate.
const MAX_CYCLES: u64 = 50_000_000_000;

/// One worker's histogram. When the worker is done (the recorder is dropped with it), the
/// histogram goes to the shared [`Sink`] for the main lcore to print.
pub struct Recorder {
    worker: usize,
    hist: Histogram<u64>,
    sink: Sink,
    /// With the `ab` feature and `FP_AB` set: the bursts of variant A and B apart.
    #[cfg(feature = "ab")]
    ab: Option<Interleaved>,
}

/// Bursts alternated between the two variants of an experiment (`esp::ab`).
#[cfg(feature = "ab")]
struct Interleaved {
    id: usize,
    next_b: bool,
    hist: [Histogram<u64>; 2],
}

/// Where the workers' histograms end up, by worker index.
pub type Sink = Arc<Mutex<Vec<(usize, Histogram<u64>)>>>;

impl Recorder {
    /// A recorder for worker `worker` (3 significant digits).
    pub fn new(worker: usize, sink: &Sink) -> Result<Recorder, hdrhistogram::CreationError> {
        let new = || Histogram::new_with_bounds(1, MAX_CYCLES, 3);
        #[cfg(feature = "ab")]
        let ab = match std::env::var("FP_AB").ok().and_then(|v| v.parse().ok()) {
            Some(id) => {
                esp::ab::start(id);
                Some(Interleaved {
                    id,
                    next_b: false,
                    hist: [new()?, new()?],
                })
            }
            None => None,
        };
        Ok(Recorder {
            worker,
            hist: new()?,
            sink: Arc::clone(sink),
            #[cfg(feature = "ab")]
            ab,
        })
    }

    /// A burst starts: with an A/B experiment, its variant (alternately A and B).
    #[inline]
    pub fn begin(&mut self) {
        #[cfg(feature = "ab")]
        if let Some(ab) = self.ab.as_mut() {
            esp::ab::set_variant_b(ab.next_b);
            ab.next_b = !ab.next_b;
        }
    }

    /// Records one burst that took `cycles` TSC cycles.
    #[inline]
    pub fn record(&mut self, cycles: u64) {
        self.hist.saturating_record(cycles.max(1));
        #[cfg(feature = "ab")]
        if let Some(ab) = self.ab.as_mut() {
            // The variant this burst ran is the one before `next_b`.
            ab.hist[usize::from(!ab.next_b)].saturating_record(cycles.max(1));
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        #[cfg(feature = "ab")]
        if let Some(ab) = &self.ab {
            let [a, b] = &ab.hist;
            let q = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64;
            // One line for bench/ab_interleaved.sh, in TSC cycles per burst.
            eprintln!(
                "ab experiment {} worker {}: bursts A {} B {} | p50 A {} B {} | p25 A {} B {} | B/A p50 {:.4} p25 {:.4} mean {:.4}",
                ab.id, self.worker, a.len(), b.len(), q(a, 0.5), q(b, 0.5), q(a, 0.25),
                q(b, 0.25), q(b, 0.5) / q(a, 0.5).max(1.0), q(b, 0.25) / q(a, 0.25).max(1.0),
                b.mean() / a.mean().max(1.0)
            );
        }
        let hist = std::mem::replace(
            &mut self.hist,
            Histogram::new(1).expect("an empty histogram"),
        );
        if let Ok(mut v) = self.sink.lock() {
            v.push((self.worker, hist));
        }
    }
}

/// Summary of one histogram in nanoseconds: (bursts, p50, p99, p99.9, max, mean).
pub fn summary_ns(h: &Histogram<u64>, hz: u64) -> (u64, u64, u64, u64, u64, f64) {
    let ns = |c: u64| dpdk::timer::cycles_to_ns(c, hz);
    (
        h.len(),
        ns(h.value_at_quantile(0.50)),
        ns(h.value_at_quantile(0.99)),
        ns(h.value_at_quantile(0.999)),
        ns(h.max()),
        if hz == 0 {
            0.0
        } else {
            h.mean() * 1e9 / hz as f64
        },
    )
}
