//! One writer per SA with several workers: packets of one SA that arrive on two workers' queues
//! are handed to the SA's owner, so outbound sequence numbers never repeat and the inbound
//! replay window stays exact. Runs the real binary on pcap vdevs with two RX queues (one per
//! worker), two workers sharing one CPU in idle-sleep mode.

mod common;

use bench::pcap;
use common::{run_until_idle, TempDir};
use std::path::Path;

const CONF: &str = "\
port 0 protected peer-mac 02:00:00:00:00:02
port 1 unprotected peer-mac 02:00:00:00:00:03
sa 1 out spi 0x1005 aes128gcm16 key 2b7e151628aed2a6abf7158809cf4f3ccafebabe tunnel 192.0.2.1 192.0.2.2 esn
sa 2 in spi 0x2005 aes128gcm16 key 2b7e151628aed2a6abf7158809cf4f3ccafebabe tunnel 192.0.2.2 192.0.2.1 esn window 4096
sp out protect 1 pri 10 src 198.51.100.0/24 dst 203.0.113.0/24
sp in protect 2 pri 10 src 198.51.100.0/24 dst 203.0.113.0/24
";

/// The frames sent on one port's two TX queues (one per worker).
type QueueFrames = [Vec<Vec<u8>>; 2];

/// Runs the fast path with two workers over `port0` (two RX queues) and `port1` inputs;
/// returns the final JSON line and the frames sent on each port's two TX queues.
fn run(
    dir: &Path,
    tag: &str,
    port0: [&[Vec<u8>]; 2],
    port1: [&[Vec<u8>]; 2],
) -> (serde_json::Value, QueueFrames, QueueFrames) {
    let p = |name: &str| dir.join(format!("{tag}-{name}.pcap"));
    let files = ["in0a", "in0b", "in1a", "in1b"];
    for (name, frames) in files.iter().zip(port0.iter().chain(port1.iter())) {
        pcap::write(&p(name), frames).unwrap();
    }
    let conf = dir.join("fp.conf");
    std::fs::write(&conf, CONF.replace("0x2005", "0x1005")).unwrap();
    let vdev = |port: usize, a: &str, b: &str, oa: &str, ob: &str| {
        format!(
            "net_pcap{port},rx_pcap={},rx_pcap={},tx_pcap={},tx_pcap={}",
            p(a).display(),
            p(b).display(),
            p(oa).display(),
            p(ob).display()
        )
    };
    let vdevs = [
        vdev(0, "in0a", "in0b", "out0a", "out0b"),
        vdev(1, "in1a", "in1b", "out1a", "out1b"),
    ];
    let json = run_until_idle(tag, &conf, 700, &["--lcores", "(0)@0,(1)@1,(2)@1"], &vdevs);
    let read = |n: &str| pcap::read(&p(n)).unwrap();
    (
        json,
        [read("out0a"), read("out0b")],
        [read("out1a"), read("out1b")],
    )
}

/// The ESP sequence number of an IPv4 ESP frame.
fn esp_seq(frame: &[u8]) -> u32 {
    assert_eq!(frame[14 + 9], 50, "IPv4 ESP");
    u32::from_be_bytes(frame[14 + 24..14 + 28].try_into().unwrap())
}

#[test]
fn two_workers_keep_one_writer_per_sa() {
    let dir = TempDir::new("mw");
    let plain_a: Vec<Vec<u8>> = (0..600)
        .map(|i| pcap::udp_frame(100 + i % 300, i, false))
        .collect();
    let plain_b: Vec<Vec<u8>> = (600..1500)
        .map(|i| pcap::udp_frame(100 + i % 300, i, false))
        .collect();
    let none: Vec<Vec<u8>> = Vec::new();

    // Outbound: both workers receive packets of SA 1; its owner numbers them all.
    let (json, _, esp) = run(&dir.0, "enc", [&plain_a, &plain_b], [&none, &none]);
    assert_eq!(json["encrypted"], 1500, "{json}");
    let mut seqs: Vec<u32> = esp.iter().flatten().map(|f| esp_seq(f)).collect();
    assert_eq!(seqs.len(), 1500);
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=1500).collect::<Vec<u32>>(),
        "every sequence number once, none skipped"
    );
    assert!(
        esp.iter().filter(|q| !q.is_empty()).count() == 1,
        "one worker (the owner) sent them all"
    );

    // Inbound: the ESP split over both workers' queues, with replays of some of it on the
    // other queue: the owner's one window accepts each sequence number exactly once.
    let all: Vec<Vec<u8>> = esp.into_iter().flatten().collect();
    let (evens, odds): (Vec<_>, Vec<_>) = all
        .iter()
        .cloned()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    let mut q0: Vec<Vec<u8>> = evens.into_iter().map(|(_, f)| f).collect();
    let q1: Vec<Vec<u8>> = odds.into_iter().map(|(_, f)| f).collect();
    q0.extend(q1.iter().take(100).cloned());
    let (json, plain, _) = run(&dir.0, "dec", [&none, &none], [&q0, &q1]);
    assert_eq!(json["decrypted"], 1500, "{json}");
    assert_eq!(json["drops"]["replay"], 100, "{json}");
    // The inner TTL went down by one on encapsulation: compare all but TTL and checksum.
    let comparable = |f: &Vec<u8>| {
        let mut ip = f[14..].to_vec();
        ip[8] = 0;
        ip[10..12].copy_from_slice(&[0, 0]);
        ip
    };
    let mut got: Vec<Vec<u8>> = plain.iter().flatten().map(comparable).collect();
    let mut want: Vec<Vec<u8>> = plain_a
        .iter()
        .chain(plain_b.iter())
        .map(comparable)
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got.len(), want.len());
    assert!(got == want, "decrypted packets equal the originals");
}
