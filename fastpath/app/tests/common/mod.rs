//! Helpers for the tests that run the real `fastpath` binary with a control socket.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub const KEY: &str = "2b7e151628aed2a6abf7158809cf4f3ccafebabe";

/// A running fast path; killed, and its files removed, when dropped.
pub struct Node {
    pub child: Child,
    pub dir: PathBuf,
    pub prefix: String,
    pub sock: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{}", self.prefix));
    }
}

/// Starts the fast path named `tag` with `config`, `extra` options and the given vdevs
/// (`{dir}` in a vdev is replaced by the node's directory); waits for its control socket.
pub fn start_node(
    tag: &str,
    config: &str,
    extra: &[&str],
    vdevs: &[String],
    setup: impl FnOnce(&Path),
) -> Node {
    let dir = std::env::temp_dir().join(format!("fp-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    setup(&dir);
    let conf = dir.join("fp.conf");
    std::fs::write(&conf, config).unwrap();
    let sock = dir.join("ctl.sock");
    let prefix = format!("fp{tag}{}", std::process::id());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fastpath"));
    cmd.arg("--config").arg(&conf).arg("--control").arg(&sock);
    cmd.args([
        "--idle-sleep-us",
        "200",
        "--stats-ms",
        "0",
        "--duration",
        "60",
    ])
    .args(extra)
    .arg("--");
    // A sync lcore is a third EAL lcore; these machines have two CPUs, so it shares the
    // worker's (which sleeps when idle here).
    let lcores: &[&str] = if extra.contains(&"--sync-lcore") {
        &["--lcores", "0@0,1@1,2@1"]
    } else {
        &["-l", "0,1"]
    };
    cmd.args(lcores);
    cmd.args([
        "--no-huge",
        "-m",
        "256",
        "--no-pci",
        "--log-level=error",
        "--file-prefix",
        &prefix,
    ]);
    for v in vdevs {
        cmd.arg(format!(
            "--vdev={}",
            v.replace("{dir}", &dir.display().to_string())
        ));
    }
    let child = cmd
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start fastpath");
    let node = Node {
        child,
        dir,
        prefix,
        sock,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !node.sock.exists() {
        assert!(
            Instant::now() < deadline,
            "control socket of {tag} never appeared"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    node
}

/// A control socket connection.
pub struct Client {
    pub reader: BufReader<UnixStream>,
    pub writer: UnixStream,
    next: u64,
}

impl Client {
    pub fn connect(sock: &Path) -> Client {
        let s = UnixStream::connect(sock).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Client {
            writer: s.try_clone().unwrap(),
            reader: BufReader::new(s),
            next: 1,
        }
    }

    pub fn raw(&mut self, line: &str) -> Value {
        writeln!(self.writer, "{line}").unwrap();
        self.read()
    }

    /// The next line the server sends, as JSON.
    pub fn read(&mut self) -> Value {
        let mut reply = String::new();
        self.reader.read_line(&mut reply).unwrap();
        serde_json::from_str(&reply).unwrap()
    }

    pub fn call(&mut self, mut req: Value) -> Value {
        req["v"] = json!(ipc::VERSION);
        req["id"] = json!(self.next);
        self.next += 1;
        let reply = self.raw(&req.to_string());
        assert_eq!(reply["id"], req["id"], "{reply}");
        reply
    }

    pub fn ok(&mut self, req: Value) -> Value {
        let reply = self.call(req.clone());
        assert_eq!(reply["ok"], json!(true), "{req} -> {reply}");
        reply["result"].clone()
    }

    pub fn err(&mut self, req: Value) -> String {
        let reply = self.call(req.clone());
        assert_eq!(reply["ok"], json!(false), "{req} -> {reply}");
        reply["error"].as_str().unwrap().to_string()
    }
}

/// An `sa_add` request for a configuration file's `sa` statement (parsed as `fastpath-ctl`
/// does, sent as the typed description).
pub fn sa_add(line: &str) -> Value {
    let words: Vec<&str> = line.split_whitespace().collect();
    let sa = ipc::statement::parse_sa(ipc::statement::without_keyword(&words, "sa")).unwrap();
    json!({"op": "sa_add", "sa": sa})
}

/// An `sp_add` request for a configuration file's `sp` statement.
pub fn sp_add(line: &str) -> Value {
    let words: Vec<&str> = line.split_whitespace().collect();
    let sp = ipc::statement::parse_sp(ipc::statement::without_keyword(&words, "sp")).unwrap();
    json!({"op": "sp_add", "sp": sp})
}

/// Polls `f` until it holds (10 s at most).
pub fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Writes a pcap of `n` plain UDP frames of `size` bytes (the protected side's traffic).
pub fn plain_pcap(path: &Path, n: usize, size: usize) {
    let frames: Vec<Vec<u8>> = (0..n)
        .map(|i| bench::pcap::udp_frame(size, i, false))
        .collect();
    bench::pcap::write(path, &frames).unwrap();
}

/// A temporary directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("fp-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the fast path to completion (`--until-idle-ms`) with `conf`, the EAL lcore arguments
/// and the given vdevs; bounded by a timeout; returns its final JSON line.
pub fn run_until_idle(
    tag: &str,
    conf: &Path,
    idle_ms: u64,
    lcores: &[&str],
    vdevs: &[String],
) -> Value {
    let prefix = format!("fprun{}{tag}", std::process::id());
    let idle = idle_ms.to_string();
    let mut cmd = Command::new("timeout");
    cmd.args(["-k", "5", "60", env!("CARGO_BIN_EXE_fastpath"), "--config"])
        .arg(conf);
    cmd.args([
        "--until-idle-ms",
        &idle,
        "--idle-sleep-us",
        "100",
        "--stats-ms",
        "0",
        "--json",
        "--",
    ]);
    cmd.args(lcores).args([
        "--no-huge",
        "-m",
        "256",
        "--no-pci",
        "--log-level=error",
        "--file-prefix",
        &prefix,
    ]);
    for v in vdevs {
        cmd.arg(format!("--vdev={v}"));
    }
    let out = cmd.output().expect("run fastpath");
    let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{prefix}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "fastpath failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let final_line = stdout
        .lines()
        .rev()
        .find(|l| l.contains("\"kind\":\"final\""))
        .expect("a final JSON line");
    serde_json::from_str(final_line).unwrap()
}

/// One run-to-completion pass: port 0 and port 1 read `in0`/`in1` and write `out0`/`out1`
/// (`{tag}-out0.pcap` in `dir`); returns the final JSON line.
pub fn run_pcap_pair(dir: &Path, tag: &str, conf: &str, in0: &[Vec<u8>], in1: &[Vec<u8>]) -> Value {
    let p = |n: &str| dir.join(format!("{tag}-{n}.pcap"));
    bench::pcap::write(&p("in0"), in0).unwrap();
    bench::pcap::write(&p("in1"), in1).unwrap();
    let conf_path = dir.join(format!("{tag}.conf"));
    std::fs::write(&conf_path, conf).unwrap();
    let vdevs = [
        format!(
            "net_pcap0,rx_pcap={},tx_pcap={}",
            p("in0").display(),
            p("out0").display()
        ),
        format!(
            "net_pcap1,rx_pcap={},tx_pcap={}",
            p("in1").display(),
            p("out1").display()
        ),
    ];
    run_until_idle(tag, &conf_path, 500, &["-l", "0,1"], &vdevs)
}
