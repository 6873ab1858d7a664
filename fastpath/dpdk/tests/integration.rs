//! End-to-end test of the safe layer on virtual devices. EAL can be initialised only once
//! per process, so everything runs in a single #[test].

use std::time::{Duration, Instant};

use dpdk::ethdev::{self, PortConfig};
use dpdk::{sys, Eal, Error, Mbuf, MbufBurst, Mempool, Port, Ring, RingFlags};

/// An Ethernet + IPv4 + UDP frame with a 1-byte marker payload, 60 bytes long.
fn frame(marker: u8) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[0..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x02]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    f[16..18].copy_from_slice(&46u16.to_be_bytes());
    f[22] = 64;
    f[23] = 17;
    f[26..30].copy_from_slice(&[192, 0, 2, 1]);
    f[30..34].copy_from_slice(&[192, 0, 2, 2]);
    f[34..36].copy_from_slice(&1234u16.to_be_bytes());
    f[36..38].copy_from_slice(&5678u16.to_be_bytes());
    f[38..40].copy_from_slice(&26u16.to_be_bytes());
    f[42] = marker;
    f
}

fn packet(pool: &Mempool, bytes: &[u8]) -> Mbuf {
    let mut m = pool.alloc().expect("mbuf");
    m.append(bytes.len() as u16)
        .expect("tailroom")
        .copy_from_slice(bytes);
    m
}

/// Snapshot of the fields prepend/append/adj/trim touch.
fn state(m: &Mbuf) -> (u16, u16, u32) {
    (m.headroom(), m.data_len(), m.pkt_len())
}

/// The Rust accessors behave exactly like DPDK's inline functions (called via the C shim).
fn check_accessors_against_c(pool: &Mempool) {
    let mut a = packet(pool, &frame(1));
    let b = packet(pool, &frame(1));
    // Offset of a returned pointer from the buffer start of `m` (None for NULL).
    fn off(m: &Mbuf, p: *const u8) -> Option<isize> {
        // SAFETY (test): reads buf_addr of an mbuf we own.
        let base = unsafe { (*m.as_ptr()).buf_addr }.cast::<u8>();
        (!p.is_null()).then(|| p as isize - base as isize)
    }
    // SAFETY (test): raw shim calls on an mbuf we own, compared with the Rust versions.
    unsafe {
        assert_eq!(a.headroom(), sys::shim_rte_pktmbuf_headroom(a.as_ptr()));
        assert_eq!(a.tailroom(), sys::shim_rte_pktmbuf_tailroom(a.as_ptr()));
        assert_eq!(a.data_ptr().cast(), sys::shim_rte_pktmbuf_mtod(a.as_ptr()));
        for len in [0u16, 1, 14, 127, 128, 129, 1000, 2048, 60, 61] {
            let r = a
                .prepend(len)
                .map(|s| s.as_mut_ptr())
                .unwrap_or(std::ptr::null_mut());
            let c = sys::shim_rte_pktmbuf_prepend(b.as_ptr(), len);
            assert_eq!(off(&a, r), off(&b, c.cast()), "prepend {len}");
            assert_eq!(state(&a), state(&b));
            let r = a.adj(len);
            let c = sys::shim_rte_pktmbuf_adj(b.as_ptr(), len);
            assert_eq!(r, !c.is_null(), "adj {len}");
            assert_eq!(state(&a), state(&b));
            let r = a
                .append(len)
                .map(|s| s.as_mut_ptr())
                .unwrap_or(std::ptr::null_mut());
            let c = sys::shim_rte_pktmbuf_append(b.as_ptr(), len);
            assert_eq!(off(&a, r), off(&b, c.cast()), "append {len}");
            assert_eq!(state(&a), state(&b));
            let r = a.trim(len);
            let c = sys::shim_rte_pktmbuf_trim(b.as_ptr(), len);
            assert_eq!(r, c == 0, "trim {len}");
            assert_eq!(state(&a), state(&b));
            assert_eq!(a.tailroom(), sys::shim_rte_pktmbuf_tailroom(b.as_ptr()));
        }
    }
}

/// Bounds of prepend/append/adj/trim: failures leave the mbuf untouched.
fn check_bounds(pool: &Mempool) {
    let mut m = packet(pool, &frame(9));
    let (head, tail) = (m.headroom(), m.tailroom());
    assert_eq!(head, sys::RTE_PKTMBUF_HEADROOM as u16);
    assert_eq!(head + tail + 60, sys::RTE_MBUF_DEFAULT_BUF_SIZE as u16);
    let before = state(&m);
    assert!(m.prepend(head + 1).is_none());
    assert!(m.append(tail + 1).is_none());
    assert!(!m.adj(61));
    assert!(!m.trim(61));
    assert_eq!(state(&m), before);
    m.prepend(head).unwrap().fill(0xee);
    assert_eq!((m.headroom(), m.data_len()), (0, head + 60));
    assert_eq!(&m.data()[..2], &[0xee, 0xee]);
    m.append(tail).unwrap().fill(0xdd);
    assert_eq!(m.tailroom(), 0);
    assert!(m.adj(head));
    assert!(m.trim(tail));
    assert_eq!(m.data(), &frame(9)[..]);
    assert!(m.trim(60));
    assert_eq!((m.data_len(), m.pkt_len()), (0, 0));
    assert!(m.is_contiguous());
}

fn check_ring_loopback(eal: &Eal, pool: &Mempool) {
    let id = ethdev::port_by_name(eal, "net_ring0").expect("net_ring0 port");
    let info = ethdev::port_info(eal, id).unwrap();
    assert_eq!(info.driver_name, "net_ring");
    assert_eq!(info.name, "net_ring0");
    eprintln!("net_ring0: {info:?}");
    let port = Port::configure(
        eal,
        id,
        &PortConfig {
            rss: true,
            ..PortConfig::default()
        },
    )
    .unwrap();
    assert!(!port.rss_enabled(), "net_ring has no RSS");
    let mut rxq = port.rx_queue_setup(0, 256, pool).unwrap();
    assert_eq!(
        port.rx_queue_setup(0, 256, pool).unwrap_err(),
        Error::Busy("RX queue")
    );
    let mut txq = port.tx_queue_setup(0, 256).unwrap();
    port.set_promiscuous(true).unwrap();
    port.start().unwrap();
    assert!(port.link().unwrap().up);
    assert_eq!(port.mac().unwrap(), info.mac);

    let mut out = MbufBurst::<32>::new();
    for i in 0..8 {
        out.push(packet(pool, &frame(i))).unwrap();
    }
    assert_eq!(txq.tx_burst(&mut out), 8);
    assert!(out.is_empty());
    let mut inb = MbufBurst::<32>::new();
    assert_eq!(rxq.rx_burst(&mut inb), 8);
    for (i, m) in inb.as_slice().iter().enumerate() {
        assert_eq!(m.data(), &frame(i as u8)[..]);
        assert_eq!(m.pkt_len(), 60);
        // net_ring passes the mbuf pointers through: the port field is not set by RX.
        assert_eq!(m.port(), u16::MAX);
    }
    // Modify in place, send back once more, and check again.
    for m in inb.as_mut_slice() {
        m.data_mut()[42] ^= 0xff;
    }
    inb.retain(|m| m.data()[42] & 1 == 0); // keep the 4 with an even (inverted) marker
    assert_eq!(inb.len(), 4);
    assert_eq!(txq.tx_burst(&mut inb), 4);
    assert_eq!(rxq.rx_burst(&mut inb), 4);
    let got: Vec<u8> = inb.take_all().map(|m| m.data()[42]).collect();
    assert_eq!(got, vec![!1, !3, !5, !7]);
    let st = port.stats().unwrap();
    eprintln!("net_ring0 stats: {st:?}");
    assert_eq!((st.opackets, st.ipackets), (12, 12));
    port.stop().unwrap();
}

fn check_null(eal: &Eal, pool: &Mempool) {
    let id = ethdev::port_by_name(eal, "net_null0").expect("net_null0 port");
    let info = ethdev::port_info(eal, id).unwrap();
    assert_eq!(info.driver_name, "net_null");
    let port = Port::configure(eal, id, &PortConfig::default()).unwrap();
    let mut rxq = port.rx_queue_setup(0, 256, pool).unwrap();
    let mut txq = port.tx_queue_setup(0, 256).unwrap();
    port.start().unwrap();
    let mut b = MbufBurst::<32>::new();
    assert_eq!(rxq.rx_burst(&mut b), 32, "net_null is an infinite source");
    assert_eq!(b.as_slice()[0].pkt_len(), 64);
    assert_eq!(txq.tx_burst(&mut b), 32, "net_null is an infinite sink");
    assert_eq!(port.stats().unwrap().opackets, 32);
}

fn check_pcap_and_tap(eal: &Eal, pool: &Mempool) {
    let pcap = format!("/tmp/dpdktest{}.pcap", std::process::id());
    ethdev::create_vdev(eal, "net_pcap0", &format!("tx_pcap={pcap}")).unwrap();
    let id = ethdev::port_by_name(eal, "net_pcap0").unwrap();
    assert_eq!(ethdev::port_info(eal, id).unwrap().driver_name, "net_pcap");
    {
        let port = Port::configure(eal, id, &PortConfig::default()).unwrap();
        let _rxq = port.rx_queue_setup(0, 64, pool).unwrap();
        let mut txq = port.tx_queue_setup(0, 64).unwrap();
        port.start().unwrap();
        let mut b = MbufBurst::<4>::new();
        for i in 0..3 {
            b.push(packet(pool, &frame(i))).unwrap();
        }
        assert_eq!(txq.tx_burst_or_free(&mut b), 3);
    } // port closed here: the pcap file is flushed
    let len = std::fs::metadata(&pcap).unwrap().len();
    std::fs::remove_file(&pcap).ok();
    assert_eq!(len, 24 + 3 * (16 + 60));

    let iface = format!("dtap{}", std::process::id() % 100_000);
    match ethdev::create_vdev(eal, "net_tap0", &format!("iface={iface}")) {
        Ok(()) => {
            let id = ethdev::port_by_name(eal, "net_tap0").unwrap();
            let info = ethdev::port_info(eal, id).unwrap();
            assert_eq!(info.driver_name, "net_tap");
            let port = Port::configure(eal, id, &PortConfig::default()).unwrap();
            let _rxq = port.rx_queue_setup(0, 64, pool).unwrap();
            let _txq = port.tx_queue_setup(0, 64).unwrap();
            port.start().unwrap();
            assert!(std::path::Path::new(&format!("/sys/class/net/{iface}")).exists());
            eprintln!("net_tap0 ok: {iface}");
        }
        Err(e) => eprintln!("net_tap0 unavailable here ({e}), skipped"),
    }
}

fn check_ring_and_worker(eal: &Eal, pool: &Mempool) {
    let sp_sc = RingFlags {
        single_producer: true,
        single_consumer: true,
    };
    let ring = Ring::create(eal, "test_ring", 64, sp_sc, -1).unwrap();
    assert_eq!(ring.capacity(), 63);
    let mut prod = ring.producer().unwrap();
    assert_eq!(ring.producer().unwrap_err(), Error::Busy("ring producer"));
    let mut cons = ring.consumer().unwrap();

    let mut b = MbufBurst::<16>::new();
    assert!(pool.alloc_bulk(&mut b, 10));
    assert_eq!(b.len(), 10);
    assert_eq!(prod.enqueue_burst(&mut b), 10);
    assert_eq!(ring.count(), 10);
    assert_eq!(cons.dequeue_burst(&mut b), 10);
    b.clear();

    let main = eal.main_lcore();
    let lcores: Vec<u32> = eal.lcores().collect();
    let workers: Vec<u32> = eal.workers().collect();
    assert_eq!(lcores[0], main);
    assert_eq!(lcores.len() as u32, eal.lcore_count());
    assert_eq!(dpdk::lcore::current(), Some(main));
    let Some(&w) = workers.first() else {
        eprintln!("no worker lcore: launch not tested");
        return;
    };
    // The worker drains 20 packets from the ring, sleeping while it is empty (no busy spin).
    eal.launch(w, move || {
        let mut got = 0usize;
        let mut sum = 0u32;
        let mut b = MbufBurst::<8>::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while got < 20 && Instant::now() < deadline {
            if cons.dequeue_burst(&mut b) == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            for m in b.take_all() {
                sum += u32::from(m.data()[42]);
                got += 1;
            }
        }
        assert_eq!(dpdk::lcore::current(), Some(1));
        if got == 20 {
            sum as i32
        } else {
            -2
        }
    })
    .unwrap();
    for i in 0..20u8 {
        b.push(packet(pool, &frame(i))).unwrap();
        if b.is_full() || i == 19 {
            while !b.is_empty() {
                prod.enqueue_burst(&mut b);
            }
        }
    }
    assert_eq!(eal.wait(w), (0..20).sum::<i32>());
    assert_eq!(
        eal.launch(main, || 0).unwrap_err(),
        Error::InvalidArg("lcore is not an enabled worker")
    );
    // A panicking job is reported as -1 and the lcore is usable again.
    eal.launch(w, || panic!("expected test panic")).unwrap();
    assert_eq!(eal.wait(w), -1);
    eal.launch(w, || 7).unwrap();
    assert_eq!(eal.wait(w), 7);
}

/// Removes EAL's runtime directory, also when the test fails.
struct RuntimeDir(String);

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(format!("/var/run/dpdk/{}", self.0)).ok();
    }
}

/// DPDK's FIBs through the bindings: the longest match wins, and no route is the default.
fn check_rte_fibs(eal: &Eal) {
    const NONE: u64 = 1 << 30;
    let mut v4 = dpdk::RteFib::create(eal, "test_fib", 16, 16, NONE).expect("rte_fib_create");
    v4.add(0x0a00_0000, 8, 1).unwrap();
    v4.add(0x0a01_0200, 24, 2).unwrap();
    let mut hops = [0u64; 3];
    v4.lookup_bulk(&[0x0a01_0203, 0x0a09_0000, 0x0b00_0001], &mut hops);
    assert_eq!(hops, [2, 1, NONE]);
    let mut v6 = dpdk::RteFib6::create(eal, "test_fib6", 16, 64, NONE).expect("rte_fib6_create");
    let ip = |s: &str| s.parse::<std::net::Ipv6Addr>().unwrap().octets();
    v6.add(&ip("2001:db8::"), 32, 1).unwrap();
    v6.add(&ip("2001:db8:1::"), 48, 2).unwrap();
    let mut hops = [0u64; 3];
    v6.lookup_bulk(
        &[ip("2001:db8:1::5"), ip("2001:db8:2::5"), ip("2001:db9::1")],
        &mut hops,
    );
    assert_eq!(hops, [2, 1, NONE]);
}

#[test]
fn eal_end_to_end() {
    let prefix = format!("dpdktest{}", std::process::id());
    let _cleanup = RuntimeDir(prefix.clone());
    let args = [
        "--no-huge",
        "-m",
        "256",
        "--file-prefix",
        &prefix,
        "--no-pci",
        "-l",
        "0,1",
        "--vdev",
        "net_ring0",
        "--vdev",
        "net_null0",
        "--log-level=lib.*:warning",
    ];
    let eal = Eal::init(&args).expect("rte_eal_init");
    assert_eq!(Eal::init(&args).unwrap_err(), Error::AlreadyInitialized);
    assert!(eal.tsc_hz() > 0);
    assert_eq!(ethdev::port_count(&eal), 2);
    assert_eq!(ethdev::port_ids(&eal).len(), 2);

    let pool = Mempool::pktmbuf(
        &eal,
        "test_pool",
        2047,
        32,
        sys::RTE_MBUF_DEFAULT_BUF_SIZE as u16,
        -1,
    )
    .unwrap();
    assert_eq!(pool.size(), 2047);
    check_accessors_against_c(&pool);
    check_bounds(&pool);
    check_ring_loopback(&eal, &pool);
    check_null(&eal, &pool);
    check_pcap_and_tap(&eal, &pool);
    check_ring_and_worker(&eal, &pool);
    check_rte_fibs(&eal);
    assert_eq!(pool.in_use_count(), 0, "every mbuf went back to the pool");
    drop(pool);
    drop(eal);
}
