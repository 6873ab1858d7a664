//! Crypto backend benchmark: seal and open throughput per backend and transform, ESP payloads
//! of 64, 512 and 1400 bytes, bursts of 32, one core. Repetitions are interleaved across all
//! cells and the median is reported, so that frequency drift hits every cell alike.
//!
//! `cargo run --release -p bench --bin crypto`

#![forbid(unsafe_code)]

use esp::crypto::{Backend, CryptoOp, EncAlg, Engine, IntegAlg, Session, TransformKeys};
use std::hint::black_box;
use std::time::{Duration, Instant};

const BURST: usize = 32;
const SIZES: [usize; 3] = [64, 512, 1400];
const REPS: usize = 5;
const CELL_TIME: Duration = Duration::from_millis(15);

struct Cell {
    name: &'static str,
    backend: Backend,
    size: usize,
    seal: bool,
    session: Session,
    /// Sealed packets to restore before each open burst (open works in place).
    sealed: Vec<Vec<u8>>,
    bufs: Vec<Vec<u8>>,
    mpps: Vec<f64>,
}

fn keys(enc: EncAlg, integ: IntegAlg) -> TransformKeys {
    let el = match enc {
        EncAlg::AesGcm16_128 => 20,
        EncAlg::AesGcm16_256 => 36,
        _ => 16,
    };
    TransformKeys {
        enc,
        integ,
        enc_key: (0..el as u8).collect(),
        auth_key: (100..120).collect(),
    }
}

fn packet(s: &Session, size: usize, seq: u32) -> Vec<u8> {
    let ct = size.div_ceil(s.block_len()) * s.block_len();
    let mut p = vec![0u8; 8 + s.iv_len() + ct + s.icv_len()];
    p[..4].copy_from_slice(&0x1000u32.to_be_bytes());
    p[4..8].copy_from_slice(&seq.to_be_bytes());
    s.write_iv(seq as u64, &mut p[8..8 + s.iv_len()]);
    p
}

/// Runs bursts for about CELL_TIME; returns packets per second.
fn measure(engine: &mut Engine, c: &mut Cell) -> f64 {
    let mut n = 0u64;
    let start = Instant::now();
    loop {
        for _ in 0..16 {
            if !c.seal {
                for (b, s) in c.bufs.iter_mut().zip(&c.sealed) {
                    b.copy_from_slice(s);
                }
            }
            let mut ops: [CryptoOp; BURST] = std::array::from_fn(|_| CryptoOp {
                session: &c.session,
                esp: &mut [],
                esn_hi: None,
                result: Ok(()),
            });
            for (op, b) in ops.iter_mut().zip(c.bufs.iter_mut()) {
                op.esp = b;
            }
            if c.seal {
                engine.seal_burst(&mut ops);
            } else {
                engine.open_burst(&mut ops);
            }
            assert!(ops.iter().all(|o| o.result.is_ok()), "{} failed", c.name);
            black_box(&ops);
            n += BURST as u64;
        }
        let t = start.elapsed();
        if t >= CELL_TIME {
            return n as f64 / t.as_secs_f64();
        }
    }
}

fn main() {
    print!("CPU features:");
    macro_rules! feat {
        ($($f:tt),*) => {$( if std::is_x86_feature_detected!($f) { print!(" {}", $f); } )*};
    }
    feat!(
        "aes",
        "pclmulqdq",
        "sha",
        "avx",
        "avx2",
        "avx512f",
        "avx512bw",
        "vaes",
        "vpclmulqdq",
        "gfni"
    );
    println!();
    match ipsec_mb::Mgr::new() {
        Some(m) => println!(
            "intel-ipsec-mb {}: arch {:?}, features {:#x}",
            ipsec_mb::version(),
            m.arch(),
            m.features()
        ),
        None => println!("intel-ipsec-mb: unavailable"),
    }

    let transforms = [
        ("AES-128-GCM", EncAlg::AesGcm16_128, IntegAlg::None),
        ("AES-256-GCM", EncAlg::AesGcm16_256, IntegAlg::None),
        (
            "AES-128-CBC+HMAC-SHA1-96",
            EncAlg::AesCbc128,
            IntegAlg::HmacSha1_96,
        ),
    ];
    let backends = [
        Backend::RustCrypto,
        Backend::Ring,
        Backend::AwsLc,
        Backend::IpsecMb,
    ];
    let mut engine = Engine::new();
    let mut cells = Vec::new();
    for (name, enc, integ) in transforms {
        for b in backends {
            let Ok(session) = Session::new(&keys(enc, integ), b) else {
                continue;
            };
            for size in SIZES {
                for seal in [true, false] {
                    let mut bufs: Vec<Vec<u8>> = (0..BURST)
                        .map(|i| packet(&session, size, i as u32))
                        .collect();
                    let mut ops: Vec<CryptoOp> = bufs
                        .iter_mut()
                        .map(|p| CryptoOp {
                            session: &session,
                            esp: p,
                            esn_hi: None,
                            result: Ok(()),
                        })
                        .collect();
                    engine.seal_burst(&mut ops);
                    drop(ops);
                    let sealed = bufs.clone();
                    cells.push(Cell {
                        name,
                        backend: b,
                        size,
                        seal,
                        session: Session::new(&keys(enc, integ), b).expect("session"),
                        sealed,
                        bufs,
                        mpps: Vec::new(),
                    });
                }
            }
        }
    }
    // Each cell's packets were sealed under its own session (same keys; open reads the IV from
    // the packet).
    for _ in 0..REPS {
        for c in cells.iter_mut() {
            let pps = measure(&mut engine, c);
            c.mpps.push(pps / 1e6);
        }
    }
    println!(
        "\nmedian of {REPS} interleaved runs, bursts of {BURST}, 1 core; open includes restoring the packet (memcpy)"
    );
    println!(
        "{:<26} {:<11} {:>5} | {:>8} {:>8} | {:>8} {:>8}",
        "transform", "backend", "bytes", "seal Mpps", "Gbit/s", "open Mpps", "Gbit/s"
    );
    let mut i = 0;
    while i + 1 < cells.len() {
        let (s, o) = (&cells[i], &cells[i + 1]);
        let (ms, mo) = (median(&s.mpps), median(&o.mpps));
        let gb = |m: f64| m * 1e6 * s.size as f64 * 8.0 / 1e9;
        println!(
            "{:<26} {:<11} {:>5} | {:>9.3} {:>8.2} | {:>9.3} {:>8.2}",
            s.name,
            format!("{:?}", s.backend),
            s.size,
            ms,
            gb(ms),
            mo,
            gb(mo)
        );
        i += 2;
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}
