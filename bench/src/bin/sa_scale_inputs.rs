//! `sa_scale_inputs`: the inputs of one side-by-side cell of our fastpath with many tunnels:
//! a config with N SAs and N policies, and a pcap whose packets each belong to one of them
//! (uniformly at random, or with `--zipf S` skewed as real users' traffic is). Outbound: plaintext UDP frames 198.51.100.1 -> 10.x.y.z, the policy
//! of SA i protecting the one destination 10.0.0.0 + i. Inbound: those frames, each encrypted
//! under its SA (SPI 0x1000 + i) as the peer would, 192.0.2.1 -> 192.0.2.2 on the wire, window 0 as
//! in the 1-SA harness. Every SA has keys of its own, so that the key schedules are as
//! scattered as with real tunnels. With `--sas 1` the same number of packets, all of one SA:
//! the baseline with the same packet pool.
//!
//! ```text
//! sa_scale_inputs --dir out --cipher aes-128-gcm --sas 100000 --size 64 --conf o.conf --pcap o.pcap
//! ```

use bench::pcap;
use bench::rng::Rng;
use bench::spread::{draw_order, Spread};
use clap::Parser;
use esp::buf::{PacketBuf, VecBuf};
use esp::crypto::{EncAlg, IntegAlg, TransformKeys};
use esp::lcore::Lcore;
use esp::outbound::encrypt_burst;
use esp::sa::{Direction, SaConfig, SaId};
use esp::sad::Sad;
use esp::verdict::Verdict;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

#[derive(Parser)]
struct Args {
    /// `out` (plaintext in, ESP out) or `in` (ESP in).
    #[arg(long)]
    dir: String,
    /// `aes-128-gcm` or `aes-128-cbc-sha1`, as the side-by-side harness names them.
    #[arg(long)]
    cipher: String,
    #[arg(long)]
    sas: u32,
    /// Frame length without FCS.
    #[arg(long)]
    size: usize,
    /// Packets in the pcap (default: twice the SAs, at least 1024).
    #[arg(long)]
    count: Option<usize>,
    #[arg(long)]
    conf: PathBuf,
    #[arg(long)]
    pcap: PathBuf,
    /// Packets pick their SA from a Zipf distribution of this exponent (1.0: the SA of rank k
    /// carries a share proportional to 1 / k) instead of uniformly.
    #[arg(long)]
    zipf: Option<f64>,
}

const SPI_BASE: u32 = 0x1000;

/// The destination that SA `i` (from 0) protects.
fn dst_of(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + i)
}

fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

fn main() {
    let a = Args::parse();
    let out = match a.dir.as_str() {
        "out" => true,
        "in" => false,
        _ => fail("--dir wants out or in"),
    };
    let gcm = match a.cipher.as_str() {
        "aes-128-gcm" => true,
        "aes-128-cbc-sha1" => false,
        _ => fail("--cipher wants aes-128-gcm or aes-128-cbc-sha1"),
    };
    if a.sas == 0 || a.sas > 1 << 20 {
        fail("--sas wants 1..=1048576");
    }
    let count = a.count.unwrap_or((a.sas as usize * 2).max(1024)).max(1);
    let mut rng = Rng(0x5a5a_1234_9e37_79b9);
    let keys: Vec<TransformKeys> = (0..a.sas)
        .map(|_| TransformKeys {
            enc: if gcm {
                EncAlg::AesGcm16_128
            } else {
                EncAlg::AesCbc128
            },
            integ: if gcm {
                IntegAlg::None
            } else {
                IntegAlg::HmacSha1_96
            },
            enc_key: rng.bytes(if gcm { 20 } else { 16 }),
            auth_key: if gcm { Vec::new() } else { rng.bytes(20) },
        })
        .collect();

    let (port0, port1) = if out {
        ("protected", "unprotected")
    } else {
        ("unprotected", "protected")
    };
    let (local, remote) = if out {
        ("192.0.2.1", "192.0.2.2")
    } else {
        ("192.0.2.2", "192.0.2.1")
    };
    let mut conf = format!(
        "port 0 {port0} peer-mac 02:00:00:00:00:02\nport 1 {port1} peer-mac 00:16:3e:22:a1:d9 tx-only\n"
    );
    for (i, k) in keys.iter().enumerate() {
        let id = i + 1;
        let spi = SPI_BASE + i as u32;
        let transform = if gcm {
            format!("aes128gcm16 key {}", hex(&k.enc_key))
        } else {
            format!(
                "aes128-sha1 key {} auth-key {}",
                hex(&k.enc_key),
                hex(&k.auth_key)
            )
        };
        let d = dst_of(i as u32);
        if out {
            let _ = writeln!(
                conf,
                "sa {id} out spi {spi} {transform} tunnel {local} {remote}"
            );
            let _ = writeln!(
                conf,
                "sp out protect {id} pri 1 src 198.51.100.0/24 dst {d}/32"
            );
        } else {
            let _ = writeln!(
                conf,
                "sa {id} in spi {spi} {transform} tunnel {local} {remote} window 0"
            );
            let _ = writeln!(
                conf,
                "sp in protect {id} pri 1 src 198.51.100.0/24 dst {d}/32"
            );
        }
    }
    if let Err(e) = std::fs::write(&a.conf, conf) {
        fail(&format!("{}: {e}", a.conf.display()));
    }

    // The plaintext frames, each to the destination of an SA drawn as `--zipf` says.
    let picks = draw_order(a.sas as usize, count, Spread::of(a.zipf), &mut rng);
    let mut frames: Vec<Vec<u8>> = picks
        .iter()
        .enumerate()
        .map(|(n, &i)| {
            let mut f = pcap::udp_frame(a.size, n, false);
            readdress(&mut f, dst_of(i));
            f
        })
        .collect();
    if !out {
        frames = encrypt_as_peer(&keys, &picks, frames);
    }
    if let Err(e) = pcap::write(&a.pcap, &frames) {
        fail(&format!("{}: {e}", a.pcap.display()));
    }
}

/// Sets an IPv4 UDP frame's destination, with its header checksum, and the UDP checksum to 0
/// ("none", RFC 768), which the pseudo-header's new address would otherwise break.
fn readdress(f: &mut [u8], dst: Ipv4Addr) {
    let ip = &mut f[14..];
    ip[16..20].copy_from_slice(&dst.octets());
    ip[10..12].copy_from_slice(&[0, 0]);
    let sum = toolkit::checksum::checksum(&ip[..20]);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    let hl = ((ip[0] & 0x0f) as usize) * 4;
    ip[hl + 6..hl + 8].copy_from_slice(&[0, 0]);
}

/// The frames as the peer sends them: each encrypted under its SA (`picks`), behind the same
/// Ethernet header.
fn encrypt_as_peer(keys: &[TransformKeys], picks: &[u32], frames: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    // (the inbound config's `tunnel 192.0.2.2 192.0.2.1` is local, remote: as the anchor's)
    let peer: IpAddr = "192.0.2.1".parse().expect("addr");
    let us: IpAddr = "192.0.2.2".parse().expect("addr");
    let mut sad = Sad::new();
    for (i, k) in keys.iter().enumerate() {
        let c = SaConfig::tunnel(
            SPI_BASE + i as u32,
            Direction::Outbound,
            peer,
            us,
            k.clone(),
        );
        sad.insert(SaId(i as u32), c, 0).expect("SA");
    }
    let off = bench::sync_off::sync_off();
    let mut lc = Lcore::new(off, 16, 16);
    let mut esp = Vec::with_capacity(frames.len());
    for (f, &i) in frames.iter().zip(picks) {
        let mut b = [VecBuf::new(&f[14..], 128, 128)];
        let mut v = [Verdict::Forward];
        encrypt_burst(&mut lc, &mut sad, &mut b, &[SaId(i)], &mut v, 0);
        assert_eq!(v[0], Verdict::Forward, "encryption");
        let mut e = f[..14].to_vec();
        e.extend_from_slice(b[0].data());
        esp.push(e);
    }
    esp
}

fn fail(msg: &str) -> ! {
    eprintln!("sa_scale_inputs: {msg}");
    std::process::exit(2);
}
