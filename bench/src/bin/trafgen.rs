//! `trafgen`: the project's traffic generator for vdev benchmarks and labs. Writes a classic
//! pcap (LINKTYPE_ETHERNET) of IPv4 or IPv6 UDP frames that `net_pcap` replays (with
//! `infinite_rx=1`, forever) into the fast path: the same frames as the ipsec-secgw anchor
//! harness (198.51.100.1 -> 203.0.113.1, dport 5001, sport 1024+i, valid checksums, DF, TTL 64),
//! so both are measured on identical input. It writes pcaps rather than sending, so the same
//! files feed pktgen-DPDK on real hardware.
//!
//! ```text
//! trafgen --out plain_64.pcap --size 64 [--count 1024] [--ipv6]
//! trafgen --out imix.pcap --size imix          # 7:4:1 of 64, 570, 1518 bytes (simple IMIX)
//! ```

#![forbid(unsafe_code)]

use bench::pcap;
use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
struct Args {
    /// Output pcap.
    #[arg(long)]
    out: PathBuf,
    /// Frame length without FCS (42..=9000), or `imix`.
    #[arg(long)]
    size: String,
    /// Frames in the file.
    #[arg(long, default_value_t = 1024)]
    count: usize,
    /// IPv6 instead of IPv4 (2001:db8:1::1 -> 2001:db8:2::1).
    #[arg(long)]
    ipv6: bool,
}

fn main() {
    let args = Args::parse();
    let sizes: Vec<usize> = if args.size == "imix" {
        pcap::IMIX.to_vec()
    } else {
        match args.size.parse::<usize>() {
            Ok(s) if (pcap::min_frame(args.ipv6)..=9000).contains(&s) => vec![s],
            _ => {
                eprintln!(
                    "trafgen: --size wants {}..=9000 or imix",
                    pcap::min_frame(args.ipv6)
                );
                std::process::exit(2);
            }
        }
    };
    let frames: Vec<Vec<u8>> = (0..args.count)
        .map(|i| pcap::udp_frame(sizes[i % sizes.len()], i, args.ipv6))
        .collect();
    if let Err(e) = pcap::write(&args.out, &frames) {
        eprintln!("trafgen: {}: {e}", args.out.display());
        std::process::exit(1);
    }
}
