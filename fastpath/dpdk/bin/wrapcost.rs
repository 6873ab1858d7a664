//! What the out-of-line C wrappers of DPDK's `static inline` functions cost.
//!
//! Compares, per call, the C shim (`shim_*`, one extra non-inlined call; no cross-language
//! LTO: the shim is built by the system C compiler) with an inlined Rust re-implementation
//! where one is possible (mbuf accessors, `rte_eth_rx_burst`/`tx_burst` through
//! `rte_eth_fp_ops`), and reports the costs that have no Rust alternative (alloc/free).
//!
//! Run: `cargo run --release --bin wrapcost [-- ITERATIONS]` (about 10 s with the default).

use std::hint::black_box;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::time::Instant;

use dpdk::ethdev::{self, PortConfig};
use dpdk::{sys, Eal, Mbuf, MbufBurst, Mempool, Port};

/// Times `f` over `iters` iterations and returns ns per iteration (best of 3 runs).
fn time(iters: u64, mut f: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        best = best.min(t.elapsed().as_nanos() as f64 / iters as f64);
    }
    best
}

fn row(what: &str, ns: f64) {
    println!("{what:<58} {ns:>8.2} ns");
}

/// `rte_eth_rx_burst` re-implemented in Rust (what the inline C does in 22.11, callbacks
/// included, debug checks and FP tracing compiled out).
///
/// # Safety
/// `port`/`queue` must be a started port's configured RX queue used by this thread only;
/// `pkts` must have room for `n` pointers.
#[inline(always)]
unsafe fn rx_burst_rs(port: u16, queue: u16, pkts: *mut *mut sys::rte_mbuf, n: u16) -> u16 {
    // SAFETY: per the function contract; rte_eth_fp_ops is set up by rte_eth_dev_start.
    unsafe {
        let p = &*std::ptr::addr_of!(sys::rte_eth_fp_ops)
            .cast::<sys::rte_eth_fp_ops>()
            .add(port as usize);
        let qd = *p.rxq.data.add(queue as usize);
        let mut nb = (p.rx_pkt_burst.unwrap_unchecked())(qd, pkts, n);
        let cb = (*p
            .rxq
            .clbk
            .add(queue as usize)
            .cast::<AtomicPtr<std::ffi::c_void>>())
        .load(Ordering::Relaxed);
        if !cb.is_null() {
            nb = sys::rte_eth_call_rx_callbacks(port, queue, pkts, nb, n, cb);
        }
        nb
    }
}

/// `rte_eth_tx_burst` re-implemented in Rust (see [`rx_burst_rs`]).
///
/// # Safety
/// As for [`rx_burst_rs`], for a TX queue; `pkts` holds `n` owned mbufs.
#[inline(always)]
unsafe fn tx_burst_rs(port: u16, queue: u16, pkts: *mut *mut sys::rte_mbuf, n: u16) -> u16 {
    // SAFETY: per the function contract.
    unsafe {
        let p = &*std::ptr::addr_of!(sys::rte_eth_fp_ops)
            .cast::<sys::rte_eth_fp_ops>()
            .add(port as usize);
        let qd = *p.txq.data.add(queue as usize);
        let cb = (*p
            .txq
            .clbk
            .add(queue as usize)
            .cast::<AtomicPtr<std::ffi::c_void>>())
        .load(Ordering::Relaxed);
        let mut n = n;
        if !cb.is_null() {
            n = sys::rte_eth_call_tx_callbacks(port, queue, pkts, n, cb);
        }
        (p.tx_pkt_burst.unwrap_unchecked())(qd, pkts, n)
    }
}

fn main() {
    let iters: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000_000);
    let prefix = format!("wrapcost{}", std::process::id());
    let eal = Eal::init(&[
        "--no-huge",
        "-m",
        "256",
        "--file-prefix",
        &prefix,
        "--no-pci",
        "-l",
        "0",
        "--vdev",
        "net_null0",
        "--log-level=lib.*:warning",
    ])
    .expect("rte_eal_init");
    let pool = Mempool::pktmbuf(
        &eal,
        "wrapcost",
        4095,
        256,
        sys::RTE_MBUF_DEFAULT_BUF_SIZE as u16,
        -1,
    )
    .unwrap();
    println!(
        "iterations: {iters} (best of 3), TSC {} MHz",
        eal.tsc_hz() / 1_000_000
    );

    // Trivial accessors: one mbuf, call in a loop.
    let mut m: Mbuf = pool.alloc().unwrap();
    m.append(100).unwrap();
    let p = m.as_ptr();
    println!("\n-- trivial mbuf accessors (per call) --");
    row(
        "headroom: Rust inline",
        time(iters, || {
            black_box(black_box(&m).headroom());
        }),
    );
    // SAFETY: p is a live mbuf we own for the whole benchmark.
    row(
        "headroom: C shim_rte_pktmbuf_headroom",
        time(iters, || unsafe {
            black_box(sys::shim_rte_pktmbuf_headroom(black_box(p)));
        }),
    );
    row(
        "prepend(14)+adj(14): Rust inline",
        time(iters, || {
            let m = black_box(&mut m);
            black_box(m.prepend(14).map(|s| s.as_mut_ptr()));
            black_box(m.adj(14));
        }),
    );
    // SAFETY: as above; prepend and adj of 14 bytes stay within the 128-byte headroom.
    row(
        "prepend(14)+adj(14): C shims",
        time(iters, || unsafe {
            black_box(sys::shim_rte_pktmbuf_prepend(black_box(p), 14));
            black_box(sys::shim_rte_pktmbuf_adj(black_box(p), 14));
        }),
    );
    row(
        "append(4)+trim(4): Rust inline",
        time(iters, || {
            let m = black_box(&mut m);
            black_box(m.append(4).map(|s| s.as_mut_ptr()));
            black_box(m.trim(4));
        }),
    );
    // SAFETY: as above.
    row(
        "append(4)+trim(4): C shims",
        time(iters, || unsafe {
            black_box(sys::shim_rte_pktmbuf_append(black_box(p), 4));
            black_box(sys::shim_rte_pktmbuf_trim(black_box(p), 4));
        }),
    );
    // SAFETY: reads a thread-local; no preconditions.
    row(
        "rte_lcore_id: C shim (near-empty wrapper)",
        time(iters, || unsafe {
            black_box(sys::shim_rte_lcore_id());
        }),
    );
    drop(m);

    println!("\n-- mbuf alloc/free (C shim only; no Rust alternative) --");
    row(
        "alloc + free, 1 mbuf (Mempool::alloc + drop)",
        time(iters / 4, || {
            black_box(pool.alloc());
        }),
    );
    let mut b = MbufBurst::<32>::new();
    let per_pkt = time(iters / 64, || {
        pool.alloc_bulk(&mut b, 32);
        black_box(&mut b).clear();
    }) / 32.0;
    row("alloc_bulk(32) + free_bulk(32), per packet", per_pkt);

    println!("\n-- ethdev bursts on net_null (per call) --");
    let id = ethdev::port_by_name(&eal, "net_null0").unwrap();
    let port = Port::configure(&eal, id, &PortConfig::default()).unwrap();
    let mut rxq = port.rx_queue_setup(0, 512, &pool).unwrap();
    let mut txq = port.tx_queue_setup(0, 512).unwrap();
    port.start().unwrap();
    let mut raw = [std::ptr::null_mut::<sys::rte_mbuf>(); 32];
    // Empty bursts isolate the call path (the driver returns at once).
    // SAFETY: queue 0 of a started port, used by this thread only; n = 0.
    row(
        "tx_burst(0 pkts): C shim",
        time(iters, || unsafe {
            black_box(sys::shim_rte_eth_tx_burst(
                id,
                0,
                black_box(raw.as_mut_ptr()),
                0,
            ));
        }),
    );
    // SAFETY: as above.
    row(
        "tx_burst(0 pkts): Rust re-impl via rte_eth_fp_ops",
        time(iters, || unsafe {
            black_box(tx_burst_rs(id, 0, black_box(raw.as_mut_ptr()), 0));
        }),
    );
    // SAFETY: as above; net_null fills all 1 slot requested.
    row(
        "rx_burst(1 pkt) + free: C shim",
        time(iters / 4, || unsafe {
            let n = sys::shim_rte_eth_rx_burst(id, 0, raw.as_mut_ptr(), 1);
            sys::rte_pktmbuf_free_bulk(raw.as_mut_ptr(), n as u32);
        }),
    );
    // SAFETY: as above.
    row(
        "rx_burst(1 pkt) + free: Rust re-impl",
        time(iters / 4, || unsafe {
            let n = rx_burst_rs(id, 0, raw.as_mut_ptr(), 1);
            sys::rte_pktmbuf_free_bulk(raw.as_mut_ptr(), n as u32);
        }),
    );
    row(
        "rx_burst(32) + tx_burst(32) (safe layer), per packet",
        time(iters / 64, || {
            rxq.rx_burst(&mut b);
            txq.tx_burst_or_free(&mut b);
        }) / 32.0,
    );
    // SAFETY: as above; the received mbufs are handed to tx, which frees them (net_null).
    row(
        "rx_burst(32) + tx_burst(32) (Rust re-impl), per packet",
        time(iters / 64, || unsafe {
            let n = rx_burst_rs(id, 0, raw.as_mut_ptr(), 32);
            let s = tx_burst_rs(id, 0, raw.as_mut_ptr(), n);
            sys::rte_pktmbuf_free_bulk(raw.as_mut_ptr().add(s as usize), u32::from(n - s));
        }) / 32.0,
    );
    drop((rxq, txq, port, pool));
    drop(eal);
    std::fs::remove_dir_all(format!("/var/run/dpdk/{prefix}")).ok();
}
