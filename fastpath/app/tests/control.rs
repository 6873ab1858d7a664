//! The control socket against the real binary: SAs and SPs installed, read, changed and removed
//! while traffic flows; SA events streamed; bad requests answered with errors; `fastpath-ctl`.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const KEY: &str = "2b7e151628aed2a6abf7158809cf4f3ccafebabe";

struct Node {
    child: Child,
    dir: PathBuf,
    prefix: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{}", self.prefix));
    }
}

fn start() -> (Node, PathBuf) {
    let dir = std::env::temp_dir().join(format!("fp-ctl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let frames: Vec<Vec<u8>> = (0..64)
        .map(|i| bench::pcap::udp_frame(200, i, false))
        .collect();
    let input = dir.join("plain.pcap");
    bench::pcap::write(&input, &frames).unwrap();
    // No SA or SP at start: everything arrives through the socket.
    let conf = dir.join("fp.conf");
    std::fs::write(&conf, "port 0 protected peer-mac 02:00:00:00:00:02\nport 1 unprotected peer-mac 02:00:00:00:00:03\n").unwrap();
    let sock = dir.join("ctl.sock");
    let prefix = format!("fpctl{}", std::process::id());
    let child = Command::new(env!("CARGO_BIN_EXE_fastpath"))
        .arg("--config")
        .arg(&conf)
        .arg("--control")
        .arg(&sock)
        .args([
            "--idle-sleep-us",
            "200",
            "--stats-ms",
            "0",
            "--duration",
            "60",
            "--",
        ])
        .args([
            "-l",
            "0,1",
            "--no-huge",
            "-m",
            "256",
            "--no-pci",
            "--log-level=error",
            "--file-prefix",
            &prefix,
        ])
        .arg(format!(
            "--vdev=net_pcap0,rx_pcap={},infinite_rx=1,tx_pcap=/dev/null",
            input.display()
        ))
        .arg("--vdev=net_ring0")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start fastpath");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !sock.exists() {
        assert!(Instant::now() < deadline, "control socket never appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
    (Node { child, dir, prefix }, sock)
}

struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next: u64,
}

impl Client {
    fn connect(sock: &Path) -> Client {
        let s = UnixStream::connect(sock).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Client {
            writer: s.try_clone().unwrap(),
            reader: BufReader::new(s),
            next: 1,
        }
    }

    fn raw(&mut self, line: &str) -> Value {
        writeln!(self.writer, "{line}").unwrap();
        let mut reply = String::new();
        self.reader.read_line(&mut reply).unwrap();
        serde_json::from_str(&reply).unwrap()
    }

    fn call(&mut self, mut req: Value) -> Value {
        req["v"] = json!(1);
        req["id"] = json!(self.next);
        self.next += 1;
        let reply = self.raw(&req.to_string());
        assert_eq!(reply["id"], req["id"], "{reply}");
        reply
    }

    fn ok(&mut self, req: Value) -> Value {
        let reply = self.call(req.clone());
        assert_eq!(reply["ok"], json!(true), "{req} -> {reply}");
        reply["result"].clone()
    }

    fn err(&mut self, req: Value) -> String {
        let reply = self.call(req.clone());
        assert_eq!(reply["ok"], json!(false), "{req} -> {reply}");
        reply["error"].as_str().unwrap().to_string()
    }
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn control_socket_drives_a_running_fast_path() {
    let (_node, sock) = start();
    let mut c = Client::connect(&sock);

    // Bad input gets an error reply, and the connection stays usable.
    assert!(c.raw("this is not json")["error"]
        .as_str()
        .unwrap()
        .contains("not JSON"));
    assert!(c.err(json!({"op": "frobnicate"})).contains("unknown op"));
    assert!(c
        .err(json!({"op": "sa_add", "line": "sa 1 out spi 0x10 aes999 key 00"}))
        .contains("unknown transform"));
    assert!(c
        .err(json!({"op": "sa_get", "sa": 42}))
        .contains("no SA 42"));
    let reply = c.raw(&json!({"v": 9, "id": 1, "op": "stats"}).to_string());
    assert!(
        reply["error"].as_str().unwrap().contains("version 9"),
        "{reply}"
    );

    // Nothing is protected yet: traffic is dropped for want of a policy.
    wait_until("no_policy drops", || {
        c.ok(json!({"op": "stats"}))["drops"]["no_policy"]
            .as_u64()
            .unwrap()
            > 0
    });

    // Install both directions of a loop (port 1 is a net_ring: what it sends comes back).
    c.ok(json!({"op": "sa_add", "line": format!("sa 1 out spi 0x1005 aes128gcm16 key {KEY} tunnel 192.0.2.1 192.0.2.2 esn lifetime-packets 2000:0")}));
    c.ok(json!({"op": "sa_add", "line": format!("sa 2 in spi 0x1005 aes128gcm16 key {KEY} tunnel 192.0.2.2 192.0.2.1 esn")}));
    assert!(c.err(json!({"op": "sa_add", "line": format!("sa 2 in spi 0x1006 aes128gcm16 key {KEY} tunnel 192.0.2.2 192.0.2.1")})).contains("in use"));
    let mut events = Client::connect(&sock);
    assert_eq!(events.ok(json!({"op": "subscribe"})), json!("subscribed"));
    let sp = c.ok(json!({"op": "sp_add", "line": "sp out protect 1 pri 10 src 198.51.100.0/24 dst 203.0.113.0/24"}));
    c.ok(json!({"op": "sp_add", "line": "sp in protect 2 pri 10 src 198.51.100.0/24 dst 203.0.113.0/24"}));
    assert_eq!(
        c.ok(json!({"op": "sp_list", "dir": "out"}))
            .as_array()
            .unwrap()
            .len(),
        1
    );

    wait_until("traffic both ways", || {
        let s = c.ok(json!({"op": "stats"}));
        s["encrypted"].as_u64().unwrap() > 5000 && s["decrypted"].as_u64().unwrap() > 5000
    });
    let out = c.ok(json!({"op": "sa_get", "sa": 1}));
    assert_eq!(out["direction"], "out");
    assert!(out["oseq"].as_u64().unwrap() > 5000, "{out}");
    let inb = c.ok(json!({"op": "sa_get", "sa": 2}));
    assert!(inb["window_top"].as_u64().unwrap() > 5000, "{inb}");
    assert_eq!(c.ok(json!({"op": "sa_list"})).as_array().unwrap().len(), 2);

    // The soft packet lifetime (2000) was crossed: one event on the subscription.
    let mut line = String::new();
    events.reader.read_line(&mut line).unwrap();
    let ev: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        (ev["event"].as_str(), ev["sa"].as_u64()),
        (Some("soft_lifetime"), Some(1)),
        "{ev}"
    );

    // HA: standby stops the outbound SA; activation jumps its sequence numbers by the shift.
    assert_eq!(c.ok(json!({"op": "sa_deactivate", "sa": 1}))["sas"], 1);
    wait_until("sa_inactive drops", || {
        c.ok(json!({"op": "stats"}))["drops"]["sa_inactive"]
            .as_u64()
            .unwrap()
            > 0
    });
    let before = c.ok(json!({"op": "sa_get", "sa": 1}))["oseq"]
        .as_u64()
        .unwrap();
    assert_eq!(
        c.ok(json!({"op": "sa_activate", "sa": 1, "oseq_shift": 1_000_000, "generation": 3}))
            ["sas"],
        1
    );
    let after = c.ok(json!({"op": "sa_get", "sa": 1}));
    assert!(
        after["oseq"].as_u64().unwrap() >= before + 1_000_000,
        "{after}"
    );
    assert_eq!(after["iv_generation"], 3);
    assert_eq!(after["state"], "active");

    // The operator's CLI sees the same.
    let ctl = Command::new(env!("CARGO_BIN_EXE_fastpath-ctl"))
        .arg("-s")
        .arg(&sock)
        .args(["sa", "list"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&ctl.stdout);
    assert!(
        ctl.status.success() && text.contains("0x00001005") && text.contains("active"),
        "{text}"
    );

    // Removal: the SP, then the SA.
    c.ok(json!({"op": "sp_del", "dir": "out", "policy": sp["policy"]}));
    c.ok(json!({"op": "sa_del", "sa": 1}));
    assert!(c.err(json!({"op": "sa_get", "sa": 1})).contains("no SA 1"));
    assert!(c
        .err(json!({"op": "sp_del", "dir": "out", "policy": sp["policy"]}))
        .contains("no Outbound policy"));
}
