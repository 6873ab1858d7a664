//! Runners over real UDP on loopback: two of them against each other, without a fast path
//! and against one on a Unix socket that answers as the real one does.

mod crypto_group;
mod fake_fastpath;
mod ha_crypto_group;
mod ha_generations;
mod ha_pair;
mod ha_pair_v1;
mod ha_scale;
mod lifetimes;
mod loopback;
mod restart;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use ipc::slowpath::Request as OperatorRequest;
use serde_json::{json, Value};

use super::IkeRunner;
use crate::ike::config::parse_text;

/// Whether both are addresses of this host that a test may bind on port 500 (loopback, as
/// root); says why the test is skipped when not.
fn can_bind_both(a: &str, b: &str) -> bool {
    let can = |a: &str| {
        let ip: std::net::IpAddr = a.parse().unwrap();
        UdpSocket::bind(SocketAddr::new(ip, 500)).is_ok()
    };
    if can(a) && can(b) {
        return true;
    }
    println!("skipped: cannot bind UDP port 500 on {a} and {b} (not root, or in use)");
    false
}

/// An operator's request as it arrives on the socket: its op and fields.
fn operator(op: &str, mut fields: Value) -> OperatorRequest {
    fields["op"] = json!(op);
    serde_json::from_value(fields).unwrap()
}

const INITIATOR: &str = "
secret k psk \"loopback test secret\"
conn to-b local 127.0.0.1 remote 127.0.0.2 local-id fqdn:a.test remote-id fqdn:b.test auth psk k ike aes128gcm16-prfsha256-ecp256 retransmit 1s tries 3 start
child net conn to-b local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128gcm16-esn replay-window 512
";
const RESPONDER: &str = "
secret k psk \"loopback test secret\"
conn from-a local 127.0.0.2 remote any local-id fqdn:b.test remote-id fqdn:a.test auth psk k ike aes128gcm16-prfsha256-ecp256,aes128-sha1-modp2048
child net conn from-a local-ts 10.2.0.0/16 remote-ts 10.1.0.0/16 esp aes128gcm16-esn,aes128-sha1
";

/// The responder's configuration on `addr` with `ike-state-dir` in a fresh directory named
/// after `tag` (and the directory).
fn responder_with_state_dir(addr: &str, tag: &str) -> (String, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let text = format!(
        "{}ike-state-dir {}\n",
        RESPONDER.replace("127.0.0.2", addr),
        dir.display()
    );
    (text, dir)
}

fn kinds(evs: &[Value]) -> Vec<String> {
    evs.iter()
        .map(|e| e["event"].as_str().unwrap_or("").to_string())
        .collect()
}

/// The first event of `kind`.
fn first(evs: &[Value], kind: &str) -> Value {
    let found = evs.iter().find(|v| v["event"] == kind);
    found
        .unwrap_or_else(|| panic!("no {kind} in {:?}", kinds(evs)))
        .clone()
}

/// Two runners stepped together, and the events each has given so far.
struct Pair {
    epoch: Instant,
    /// The initiator.
    a: IkeRunner,
    /// The responder.
    b: IkeRunner,
    ea: Vec<Value>,
    eb: Vec<Value>,
}

impl Pair {
    fn new(epoch: Instant, a: IkeRunner, b: IkeRunner) -> Pair {
        Pair {
            epoch,
            a,
            b,
            ea: Vec::new(),
            eb: Vec::new(),
        }
    }

    /// Steps both until `done` holds, with a real clock and real sockets; fails after 10 s
    /// saying what did not happen and what both saw instead.
    fn run_until(&mut self, what: &str, done: impl Fn(&[Value], &[Value]) -> bool) {
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            let now = self.epoch.elapsed();
            let mut fds = self.a.fds();
            fds.extend(self.b.fds());
            let next = [self.a.next_deadline(), self.b.next_deadline()]
                .into_iter()
                .flatten()
                .min()
                .map_or(Duration::from_millis(50), |d| d.saturating_sub(now))
                .min(Duration::from_millis(50));
            crate::sys::poll::readable(&fds, next).unwrap();
            let now = self.epoch.elapsed();
            self.a.step(now);
            self.b.step(now);
            self.ea.extend(self.a.events());
            self.eb.extend(self.b.events());
            if done(&self.ea, &self.eb) {
                return;
            }
        }
        panic!(
            "{what}: initiator {:?}, responder {:?}",
            kinds(&self.ea),
            kinds(&self.eb)
        );
    }
}
