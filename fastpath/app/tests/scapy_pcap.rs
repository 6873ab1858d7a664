//! Interop through the real `fastpath` binary, run to completion on pcap files, with scapy's
//! `SecurityAssociation` (an independent ESP implementation) as the far side:
//!
//! - direction 1: scapy writes plaintext frames into the protected port's input pcap, the
//!   binary encrypts them out of the unprotected port, and scapy decrypts each ESP frame and
//!   compares it with the frame it came from (and checks the framing and outer headers);
//! - direction 2: scapy encrypts plaintext into ESP frames (seq 1..N, or across 2^32 with
//!   ESN) for the unprotected port's input, the binary decrypts them out of the protected
//!   port, and each must come out once, byte for byte what scapy encrypted;
//!
//! for every transform, tunnel 4-in-4, 6-in-6, 4-in-6 and 6-in-4 and transport over IPv4 and
//! IPv6, ESN on and off, NAT-T on and off: all of it as distinct SAs and policies in one
//! configuration and one run of the binary. A second run checks that a tampered and a replayed
//! frame are dropped and counted (`--json` final line). Needs Debian's python3-scapy
//! (`ci/setup.sh` installs it) and runs DPDK without hugepages or PCI (`net_pcap` vdevs).

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FASTPATH: &str = env!("CARGO_BIN_EXE_fastpath");
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scapy_pcap.py");
const PYTHON: &str = "/usr/bin/python3";
const PROTECTED_PEER_MAC: &str = "02:00:00:00:00:02";
const UNPROTECTED_PEER_MAC: &str = "02:00:00:00:00:03";
/// The binary is killed if a run takes longer than this.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// A transform: its config keyword, key lengths (GCM: key + 4-byte salt), scapy's names.
struct Transform {
    name: &'static str,
    key_len: usize,
    auth_key_len: usize,
    scapy_crypt: &'static str,
    scapy_auth: Option<&'static str>,
}

const TRANSFORMS: [Transform; 8] = [
    Transform {
        name: "aes128gcm16",
        key_len: 20,
        auth_key_len: 0,
        scapy_crypt: "AES-GCM",
        scapy_auth: None,
    },
    Transform {
        name: "aes256gcm16",
        key_len: 36,
        auth_key_len: 0,
        scapy_crypt: "AES-GCM",
        scapy_auth: None,
    },
    Transform {
        name: "aes128-sha1",
        key_len: 16,
        auth_key_len: 20,
        scapy_crypt: "AES-CBC",
        scapy_auth: Some("HMAC-SHA1-96"),
    },
    Transform {
        name: "aes256-sha1",
        key_len: 32,
        auth_key_len: 20,
        scapy_crypt: "AES-CBC",
        scapy_auth: Some("HMAC-SHA1-96"),
    },
    Transform {
        name: "aes128-sha256",
        key_len: 16,
        auth_key_len: 32,
        scapy_crypt: "AES-CBC",
        scapy_auth: Some("SHA2-256-128"),
    },
    Transform {
        name: "aes256-sha256",
        key_len: 32,
        auth_key_len: 32,
        scapy_crypt: "AES-CBC",
        scapy_auth: Some("SHA2-256-128"),
    },
    Transform {
        name: "null-sha1",
        key_len: 0,
        auth_key_len: 20,
        scapy_crypt: "NULL",
        scapy_auth: Some("HMAC-SHA1-96"),
    },
    Transform {
        name: "null-sha256",
        key_len: 0,
        auth_key_len: 32,
        scapy_crypt: "NULL",
        scapy_auth: Some("SHA2-256-128"),
    },
];

/// A mode: its name, the outer family of a tunnel (None: transport), whether the inner
/// (protected) packets are IPv6.
#[derive(Clone, Copy)]
struct ModeCase {
    name: &'static str,
    tunnel_v6: Option<bool>,
    inner_v6: bool,
}

const MODES: [ModeCase; 6] = [
    ModeCase {
        name: "tunnel-4in4",
        tunnel_v6: Some(false),
        inner_v6: false,
    },
    ModeCase {
        name: "tunnel-6in6",
        tunnel_v6: Some(true),
        inner_v6: true,
    },
    ModeCase {
        name: "tunnel-4in6",
        tunnel_v6: Some(true),
        inner_v6: false,
    },
    ModeCase {
        name: "tunnel-6in4",
        tunnel_v6: Some(false),
        inner_v6: true,
    },
    ModeCase {
        name: "transport-4",
        tunnel_v6: None,
        inner_v6: false,
    },
    ModeCase {
        name: "transport-6",
        tunnel_v6: None,
        inner_v6: true,
    },
];

/// The gateway's address and its peer's, per family (tunnel endpoints, and in transport mode
/// the two ends of the protected traffic).
fn gateways(v6: bool) -> (&'static str, &'static str) {
    if v6 {
        ("2001:db8::1", "2001:db8::2")
    } else {
        ("192.0.2.1", "192.0.2.2")
    }
}

/// UDP payload sizes the cases take turns with (around the AES block and the ESP alignment).
const SIZES: [usize; 14] = [1, 2, 13, 14, 15, 16, 17, 31, 64, 100, 255, 512, 1000, 1399];

/// xorshift64*: keys that differ per SA, the same from run to run.
struct Rng(u64);

impl Rng {
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                self.0 ^= self.0 >> 12;
                self.0 ^= self.0 << 25;
                self.0 ^= self.0 >> 27;
                (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
            })
            .collect()
    }
}

/// One pair of SAs (the gateway's outbound and inbound) with their policies and traffic.
struct Case {
    name: String,
    transform: &'static Transform,
    mode: ModeCase,
    esn: bool,
    natt: bool,
    index: usize,
    enc_key: Vec<u8>,
    auth_key: Vec<u8>,
    /// UDP payload sizes of the plaintext the gateway encrypts (direction 1; empty: no
    /// outbound SA) and of the plaintext scapy encrypts (direction 2).
    out_sizes: Vec<usize>,
    in_sizes: Vec<usize>,
    /// The sequence numbers scapy gives them.
    in_seqs: Vec<u64>,
    /// Direction 2 also gets a tampered and a replayed frame.
    negative: bool,
}

/// A flow's addresses and ports: (src, dst, sport, dport).
type Flow = (String, String, u16, u16);

impl Case {
    fn out_spi(&self) -> u32 {
        0x10000 + self.index as u32
    }
    fn in_spi(&self) -> u32 {
        0x20000 + self.index as u32
    }
    fn natt_ports(&self) -> Option<(u16, u16)> {
        // The peer's port as a NAT would map it: not 4500.
        self.natt.then(|| (4500, 30000 + self.index as u16))
    }

    /// The plaintext flows: outbound (protected side to the peer) and inbound (the reverse).
    /// Tunnel SAs are told apart by the inner prefixes, transport SAs (between the two
    /// gateways) by the destination port.
    fn flows(&self) -> (Flow, Flow) {
        let i = self.index;
        let (out_src, out_dst, in_src, in_dst, dport) =
            match (self.mode.tunnel_v6, self.mode.inner_v6) {
                (Some(_), false) => (
                    "198.51.100.10".to_string(),
                    format!("10.1.{i}.20"),
                    format!("10.2.{i}.20"),
                    "198.51.100.10".to_string(),
                    5001,
                ),
                (Some(_), true) => (
                    "2001:db8:100::10".to_string(),
                    format!("2001:db8:1:{i:x}::20"),
                    format!("2001:db8:2:{i:x}::20"),
                    "2001:db8:100::10".to_string(),
                    5001,
                ),
                (None, v6) => {
                    let (local, remote) = gateways(v6);
                    (
                        local.to_string(),
                        remote.to_string(),
                        remote.to_string(),
                        local.to_string(),
                        5000 + i as u16,
                    )
                }
            };
        (
            (out_src, out_dst, 1000 + i as u16, dport),
            (in_src, in_dst, 2000 + i as u16, dport),
        )
    }

    /// The SP selector of a flow (the config truncates the prefixes to their length).
    fn selector(&self, flow: &Flow) -> String {
        match self.mode.tunnel_v6 {
            Some(_) if self.mode.inner_v6 => format!("src {}/64 dst {}/64", flow.0, flow.1),
            Some(_) => format!("src {}/24 dst {}/24", flow.0, flow.1),
            None => format!("src {} dst {} proto udp dport {}", flow.0, flow.1, flow.3),
        }
    }

    fn sa_line(&self, id: usize, dir: &str, spi: u32) -> String {
        let mut l = format!("sa {id} {dir} spi {spi:#x} {}", self.transform.name);
        if !self.enc_key.is_empty() {
            l += &format!(" key {}", hex::encode(&self.enc_key));
        }
        if !self.auth_key.is_empty() {
            l += &format!(" auth-key {}", hex::encode(&self.auth_key));
        }
        match self.mode.tunnel_v6 {
            // The gateway's own address first, for either direction.
            Some(v6) => {
                let (local, remote) = gateways(v6);
                l += &format!(" tunnel {local} {remote}");
            }
            None => l += " transport",
        }
        if self.esn {
            l += " esn";
        }
        if let Some((local, remote)) = self.natt_ports() {
            l += &format!(" natt {local}:{remote}");
        }
        l
    }

    fn config(&self) -> String {
        let (out_flow, in_flow) = self.flows();
        let (out_id, in_id) = (2 * self.index + 1, 2 * self.index + 2);
        let mut c = String::new();
        if !self.out_sizes.is_empty() {
            c += &self.sa_line(out_id, "out", self.out_spi());
            c += &format!(
                "\nsp out protect {out_id} pri 10 {}\n",
                self.selector(&out_flow)
            );
        }
        c += &self.sa_line(in_id, "in", self.in_spi());
        c += &format!(
            "\nsp in protect {in_id} pri 10 {}\n",
            self.selector(&in_flow)
        );
        c
    }

    fn json(&self) -> Value {
        let (out_flow, in_flow) = self.flows();
        let flow = |f: &Flow, sizes: &[usize]| json!({"src": f.0, "dst": f.1, "sport": f.2, "dport": f.3, "sizes": sizes});
        let mut in_json = flow(&in_flow, &self.in_sizes);
        in_json["seqs"] = json!(self.in_seqs);
        let tunnel = self.mode.tunnel_v6.map(|v6| {
            let (local, remote) = gateways(v6);
            json!([local, remote])
        });
        json!({
            "name": self.name,
            "crypt_algo": self.transform.scapy_crypt,
            "auth_algo": self.transform.scapy_auth,
            "crypt_key": hex::encode(&self.enc_key),
            "auth_key": (!self.auth_key.is_empty()).then(|| hex::encode(&self.auth_key)),
            "esn": self.esn,
            "tunnel": tunnel,
            "natt": self.natt_ports().map(|(l, r)| json!([l, r])),
            "out_spi": self.out_spi(),
            "in_spi": self.in_spi(),
            "out": (!self.out_sizes.is_empty()).then(|| flow(&out_flow, &self.out_sizes)),
            "in": in_json,
            "negative": self.negative,
        })
    }
}

fn new_case(
    index: usize,
    rng: &mut Rng,
    transform: &'static Transform,
    mode: ModeCase,
    esn: bool,
    natt: bool,
) -> Case {
    let pick = |k: usize| SIZES[(index * 3 + k) % SIZES.len()];
    Case {
        name: format!("{}/{}/esn={esn}/natt={natt}", transform.name, mode.name),
        transform,
        mode,
        esn,
        natt,
        index,
        enc_key: rng.bytes(transform.key_len),
        auth_key: rng.bytes(transform.auth_key_len),
        out_sizes: vec![0, pick(0), pick(1), 1400],
        in_sizes: vec![pick(2), 1400, 0, pick(5)],
        // With ESN, across 2^32 (the high half goes into the ICV or the AAD, and the gateway
        // infers it from its window, RFC 4303 A2.1): 2^31 first, as a jump from 0 straight to
        // 2^32 - 1 would be taken for an old packet. The SAs' packets are interleaved, so
        // (with 32 SAs or more) no two of one SA share a receive burst, whose window checks
        // all see the window as it was before the burst.
        in_seqs: if esn {
            vec![1 << 31, (1 << 32) - 1, 1 << 32, (1 << 32) + 1]
        } else {
            vec![1, 2, 3, 4]
        },
        negative: false,
    }
}

/// A work directory and a DPDK file prefix, both removed when dropped (the directory is kept
/// when the test fails, to look at its pcaps).
struct Scratch {
    dir: PathBuf,
    prefix: String,
}

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("fastpath-scapy-{tag}-{pid}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch {
            dir,
            prefix: format!("fpscapy-{tag}-{pid}"),
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(Path::new("/var/run/dpdk").join(&self.prefix));
        if let Some(run) = std::env::var_os("XDG_RUNTIME_DIR") {
            let _ = std::fs::remove_dir_all(Path::new(&run).join("dpdk").join(&self.prefix));
        }
        if std::thread::panicking() {
            eprintln!("kept {} to look at", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn python(args: &[&dyn AsRef<std::ffi::OsStr>]) {
    let out = Command::new(PYTHON)
        .arg(SCRIPT)
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .expect("run /usr/bin/python3 (Debian's python3-scapy)");
    assert!(
        out.status.success(),
        "{SCRIPT} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the binary on the scratch directory's pcaps until its input is drained; returns
/// its final `--json` line.
fn run_fastpath(s: &Scratch, config: &str) -> Value {
    let d = &s.dir;
    std::fs::write(d.join("fastpath.conf"), config).unwrap();
    let path = |f: &str| d.join(f).display().to_string();
    let stdout = std::fs::File::create(d.join("stdout")).unwrap();
    let stderr = std::fs::File::create(d.join("stderr")).unwrap();
    let started = Instant::now();
    let mut child = Command::new(FASTPATH)
        .arg("--config")
        .arg(d.join("fastpath.conf"))
        .args(["--until-idle-ms", "300", "--idle-sleep-us", "100"])
        .args(["--stats-ms", "0", "--json", "--"])
        .args(["-l", "0,1", "--no-huge", "-m", "256", "--no-pci"])
        .args(["--file-prefix", &s.prefix, "--log-level=warning"])
        .arg("--vdev")
        .arg(format!(
            "net_pcap0,rx_pcap={},tx_pcap={}",
            path("in0.pcap"),
            path("out0.pcap")
        ))
        .arg("--vdev")
        .arg(format!(
            "net_pcap1,rx_pcap={},tx_pcap={}",
            path("in1.pcap"),
            path("out1.pcap")
        ))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .expect("start the fastpath binary");
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if started.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "fastpath ran over {RUN_TIMEOUT:?}: {}",
                std::fs::read_to_string(d.join("stderr")).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    eprintln!("fastpath ran {:.2?}", started.elapsed());
    let out = std::fs::read_to_string(d.join("stdout")).unwrap();
    let err = std::fs::read_to_string(d.join("stderr")).unwrap();
    assert!(status.success(), "fastpath: {status}\n{err}\n{out}");
    out.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["kind"] == "final")
        .unwrap_or_else(|| panic!("no final JSON line from fastpath:\n{out}\n{err}"))
}

/// Generates the pcaps, runs the binary, and has scapy check what came out: returns the
/// binary's final counters and every failure found.
fn interop(s: &Scratch, cases: &[Case]) -> (Value, Vec<String>) {
    let doc = json!({
        "protected_peer_mac": PROTECTED_PEER_MAC,
        "unprotected_peer_mac": UNPROTECTED_PEER_MAC,
        "cases": cases.iter().map(Case::json).collect::<Vec<_>>(),
    });
    let cases_path = s.dir.join("cases.json");
    std::fs::write(&cases_path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let t = Instant::now();
    python(&[&"gen", &cases_path, &s.dir]);
    eprintln!("scapy gen {:.2?}", t.elapsed());

    let mut config = format!(
        "port 0 protected   peer-mac {PROTECTED_PEER_MAC}\nport 1 unprotected peer-mac {UNPROTECTED_PEER_MAC} mtu 9000\n"
    );
    for c in cases {
        config += &c.config();
    }
    let stats = run_fastpath(s, &config);

    let results_path = s.dir.join("results.json");
    let t = Instant::now();
    python(&[&"check", &cases_path, &s.dir, &results_path]);
    eprintln!("scapy check {:.2?}", t.elapsed());
    let results: Value = serde_json::from_slice(&std::fs::read(&results_path).unwrap()).unwrap();
    let mut failures: Vec<String> = results["general"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    for c in cases {
        for e in results["cases"][&c.name].as_array().unwrap() {
            failures.push(format!("{}: {}", c.name, e.as_str().unwrap()));
        }
    }
    (stats, failures)
}

/// The drop counters that are not zero.
fn drops(stats: &Value) -> Vec<(String, u64)> {
    stats["drops"]
        .as_object()
        .expect("a drops object")
        .iter()
        .filter(|(_, n)| n.as_u64() != Some(0))
        .map(|(r, n)| (r.clone(), n.as_u64().unwrap_or(u64::MAX)))
        .collect()
}

#[test]
fn scapy_interop_through_the_binary() {
    let mut rng = Rng(0x5ca9_9ca9);
    let mut cases = Vec::new();
    for t in &TRANSFORMS {
        for mode in MODES {
            for esn in [false, true] {
                for natt in [false, true] {
                    cases.push(new_case(cases.len(), &mut rng, t, mode, esn, natt));
                }
            }
        }
    }
    let s = Scratch::new("matrix");
    let (stats, mut failures) = interop(&s, &cases);
    let sent_out: usize = cases.iter().map(|c| c.out_sizes.len()).sum();
    let sent_in: usize = cases.iter().map(|c| c.in_sizes.len()).sum();
    for (what, want) in [("encrypted", sent_out), ("decrypted", sent_in)] {
        if stats[what].as_u64() != Some(want as u64) {
            failures.push(format!("fastpath {what} {}, want {want}", stats[what]));
        }
    }
    for what in ["exception", "exception_dropped", "bypassed", "tx_full"] {
        if stats[what].as_u64() != Some(0) {
            failures.push(format!("fastpath counted {what} {}", stats[what]));
        }
    }
    let d = drops(&stats);
    if !d.is_empty() {
        failures.push(format!("fastpath dropped: {d:?}"));
    }
    assert!(
        failures.is_empty(),
        "{} failures in {} cases ({sent_out} frames encrypted by fastpath, {sent_in} by scapy):\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn tampered_and_replayed_frames_are_dropped_and_counted() {
    let mut rng = Rng(0x7a3b_e12d);
    let mut cases = vec![
        new_case(0, &mut rng, &TRANSFORMS[0], MODES[0], false, false),
        new_case(1, &mut rng, &TRANSFORMS[2], MODES[4], true, true),
    ];
    for c in &mut cases {
        // scapy sends seq 1, 2, 3, a copy of 4 with a bit flipped, 4, and 2 again.
        c.negative = true;
        c.out_sizes.clear();
        c.in_sizes = vec![10, 200, 30, 400];
        c.in_seqs = vec![1, 2, 3, 4];
    }
    let s = Scratch::new("negative");
    let (stats, mut failures) = interop(&s, &cases);
    let want = vec![("icv_failure".to_string(), 2), ("replay".to_string(), 2)];
    if drops(&stats) != want {
        failures.push(format!("fastpath drops {:?}, want {want:?}", drops(&stats)));
    }
    if stats["decrypted"].as_u64() != Some(8) {
        failures.push(format!("fastpath decrypted {}, want 8", stats["decrypted"]));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
