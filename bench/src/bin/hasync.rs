//! HA bulk sync time: two `hasync::SyncNode`s over real UDP sockets on 127.0.0.1, one thread
//! each, every datagram sent on every path. Node 1 holds 100,000 IKE SAs (random blobs of
//! about 600 bytes) and 200,000 seqnum snapshots; node 2 joins empty. The figure is the time
//! from both nodes starting to node 2 reporting itself in sync (handshake included), with
//! every record applied (checked by count and content digest).
//!
//! `cargo run --release -p bench --bin hasync [-- --ike-sas 100000 --snapshots 200000
//!  --paths 2 --datagram 1400 --window 64]`

#![forbid(unsafe_code)]

use std::hash::{Hash, Hasher};
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bench::rng::Rng;
use clap::Parser;
use hasync::{NodeId, Record, SyncConfig, SyncEvent, SyncNode};

#[derive(Parser)]
#[command(about = "Bulk sync of IKE SAs and seqnum snapshots between two sync nodes over UDP")]
struct Args {
    #[arg(long, default_value_t = 100_000)]
    ike_sas: u64,
    #[arg(long, default_value_t = 200_000)]
    snapshots: u32,
    /// Size of each IKE SA's blob (bytes, random).
    #[arg(long, default_value_t = 600)]
    blob: usize,
    /// Sync paths (UDP socket pairs), each carrying every datagram.
    #[arg(long, default_value_t = 2)]
    paths: u8,
    /// Largest datagram (UDP payload).
    #[arg(long, default_value_t = 1400)]
    datagram: usize,
    /// Chunks in flight, at most (64 stays within a default 208 KiB socket buffer per path).
    #[arg(long, default_value_t = 64)]
    window: usize,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

fn state(args: &Args) -> Vec<Record> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::with_capacity(args.ike_sas as usize + args.snapshots as usize);
    for n in 0..args.ike_sas {
        let state = rng.bytes(args.blob);
        out.push(Record::IkeSa {
            spi_i: n + 1,
            spi_r: rng.next_u64() | 1,
            state,
        });
    }
    for n in 0..args.snapshots {
        out.push(Record::SeqSnapshot {
            spi: n + 0x1000,
            inbound: n % 2 == 0,
            peer: IpAddr::V4(Ipv4Addr::from(0xc633_6400 + n % 250)),
            oseq: rng.next_u64() >> 20,
            window_top: rng.next_u64() >> 20,
            bitmap: [
                rng.next_u64(),
                rng.next_u64(),
                rng.next_u64(),
                rng.next_u64(),
            ],
            generation: 1,
        });
    }
    out
}

/// A digest of records in any order: the sum of a hash of each.
fn digest(r: &Record) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    r.hash(&mut h);
    h.finish()
}

struct Side {
    node: SyncNode,
    sockets: Vec<UdpSocket>,
    peers: Vec<SocketAddr>,
}

struct Outcome {
    in_sync_after: Option<Duration>,
    applied: u64,
    digest: u64,
    datagrams_sent: u64,
    retransmitted: u64,
}

/// Runs one node until the joiner is in sync (`finished`, set by the joiner) or the deadline.
fn run(
    mut side: Side,
    feed: Arc<Vec<Record>>,
    finished: Arc<AtomicBool>,
    start: Instant,
    deadline: Duration,
) -> Outcome {
    let mut buf = vec![0u8; 65536];
    let mut feeding: Option<usize> = None;
    let mut out = Outcome {
        in_sync_after: None,
        applied: 0,
        digest: 0,
        datagrams_sent: 0,
        retransmitted: 0,
    };
    let joiner = feed.is_empty();
    loop {
        if start.elapsed() > deadline || finished.load(Ordering::Relaxed) {
            break;
        }
        let mut busy = false;
        for (i, s) in side.sockets.iter().enumerate() {
            loop {
                match s.recv_from(&mut buf) {
                    Ok((n, _)) => {
                        side.node
                            .handle_datagram(i as u8 + 1, &buf[..n], start.elapsed());
                        busy = true;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("recv: {e}"),
                }
            }
        }
        while let Some(e) = side.node.poll_event() {
            match e {
                SyncEvent::BulkRequested => feeding = Some(0),
                SyncEvent::PeerDown(_) => feeding = None,
                SyncEvent::Apply(r) => {
                    out.applied += 1;
                    out.digest = out.digest.wrapping_add(digest(&r));
                }
                SyncEvent::InSync { .. } if joiner => {
                    out.in_sync_after = Some(start.elapsed());
                    finished.store(true, Ordering::Relaxed);
                }
                _ => {}
            }
        }
        if let Some(next) = &mut feeding {
            while *next < feed.len() && side.node.bulk_offer(feed[*next].clone()).is_ok() {
                *next += 1;
                busy = true;
            }
            if *next == feed.len() {
                side.node.bulk_end().expect("the bulk sync was requested");
                feeding = None;
            }
        }
        while let Some((path, d)) = side.node.poll_transmit() {
            let i = usize::from(path - 1);
            // A full socket buffer is a loss like any other: the protocol retransmits.
            let _ = side.sockets[i].send_to(&d, side.peers[i]);
            busy = true;
        }
        if side.node.poll_timeout() <= start.elapsed() {
            side.node.handle_timeout(start.elapsed());
        }
        if !busy {
            thread::yield_now();
        }
    }
    let st = side.node.status();
    out.datagrams_sent = st.counters.datagrams_sent;
    out.retransmitted = st.counters.chunks_retransmitted;
    out
}

fn main() {
    let args = Args::parse();
    let records = Arc::new(state(&args));
    let expected = records.iter().map(digest).fold(0u64, u64::wrapping_add);
    let paths: Vec<u8> = (1..=args.paths).collect();
    let bind = |_| UdpSocket::bind("127.0.0.1:0").expect("bind on loopback");
    let socks: [Vec<UdpSocket>; 2] = [
        paths.iter().map(bind).collect(),
        paths.iter().map(bind).collect(),
    ];
    let addrs: [Vec<SocketAddr>; 2] =
        [0, 1].map(|i| socks[i].iter().map(|s| s.local_addr().unwrap()).collect());
    let key = b"bench sync key: 32 bytes exactly".to_vec();
    let start = Instant::now();
    let deadline = Duration::from_secs(args.timeout);
    let finished = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for (i, sockets) in socks.into_iter().enumerate() {
        let mut config = SyncConfig::new(
            NodeId::new(i as u8 + 1).unwrap(),
            key.clone(),
            paths.clone(),
        );
        config.max_datagram = args.datagram;
        config.send_window = args.window;
        for s in &sockets {
            s.set_nonblocking(true).unwrap();
        }
        let side = Side {
            node: SyncNode::new(config, [i as u8 + 1; 16], start.elapsed()).expect("valid config"),
            sockets,
            peers: addrs[1 - i].clone(),
        };
        let feed = if i == 0 {
            records.clone()
        } else {
            Arc::new(Vec::new())
        };
        let finished = finished.clone();
        handles.push(thread::spawn(move || {
            run(side, feed, finished, start, deadline)
        }));
    }
    let outcomes: Vec<Outcome> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let joiner = &outcomes[1];
    let Some(t) = joiner.in_sync_after else {
        eprintln!(
            "hasync: not in sync after {} s ({} records applied)",
            args.timeout, joiner.applied
        );
        std::process::exit(1);
    };
    assert_eq!(
        joiner.applied,
        records.len() as u64,
        "every record applied once"
    );
    assert_eq!(
        joiner.digest, expected,
        "the records applied are the ones fed"
    );
    let mb = records
        .iter()
        .map(|r| match r {
            Record::IkeSa { state, .. } => state.len() + 21,
            _ => 74,
        })
        .sum::<usize>() as f64
        / 1e6;
    println!(
        "node 1 sent {} datagrams ({} paths), {} chunks retransmitted; node 2 applied {} records",
        outcomes[0].datagrams_sent, args.paths, outcomes[0].retransmitted, joiner.applied
    );
    println!(
        "figure: hasync bulk sync of {} IKE SAs ({} B blobs) + {} snapshots over UDP loopback: {:.3} s ({:.0} MB, {} paths, {} B datagrams, window {})",
        args.ike_sas, args.blob, args.snapshots, t.as_secs_f64(), mb, args.paths, args.datagram, args.window
    );
}
