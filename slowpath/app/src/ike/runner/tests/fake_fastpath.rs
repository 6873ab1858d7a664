//! A fast path on a Unix socket for the runner's tests.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use ipc::fastpath::Request;
use serde_json::{json, Value};

/// A fast path on a Unix socket that answers as the real one does (every line checked by
/// its own parser), keeps the SAs and policies it is given, and streams events.
pub(super) struct FakeFastpath {
    pub(super) path: std::path::PathBuf,
    pub(super) state: std::sync::Arc<std::sync::Mutex<FakeState>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

#[derive(Default)]
pub(super) struct FakeState {
    /// id -> (direction, SPI)
    pub(super) sas: BTreeMap<u32, (ipc::Direction, u32)>,
    /// (direction, policy id) -> protected SA
    policies: BTreeMap<(ipc::Direction, u32), u32>,
    next_policy: u32,
    last_used: u64,
    subscribers: Vec<UnixStream>,
    pub(super) ops: Vec<String>,
    /// SAs installed or made inactive as `standby`.
    pub(super) standby: std::collections::BTreeSet<u32>,
    /// Each `sa_activate` of all: its generation and shift.
    pub(super) activations: Vec<(u16, Option<u64>)>,
    /// Seqnum records applied with `sa_sync`.
    pub(super) synced: Vec<ipc::fastpath::SeqRecord>,
}

impl FakeState {
    fn answer(&mut self, req: &Request) -> Result<Value, String> {
        if let Request::Batch { requests } = req {
            // As the real one: each in turn, each with its own outcome.
            let results: Vec<ipc::fastpath::BatchResult> = requests
                .iter()
                .map(|r| match r.unbatchable() {
                    Some(why) => Err(why.to_string()).into(),
                    None => self.answer(r).into(),
                })
                .collect();
            return serde_json::to_value(results).map_err(|e| e.to_string());
        }
        self.ops.push(req.op().to_string());
        match req {
            Request::SaAdd { sa } => {
                let (id, c) = fastpath::control::convert::sa_config(sa);
                if self.sas.contains_key(&id.0) {
                    return Err(format!("SA {} exists", id.0));
                }
                self.sas.insert(id.0, (sa.dir, c.spi));
                if sa.standby {
                    self.standby.insert(id.0);
                }
                Ok(json!({"sa": id.0, "worker": 0}))
            }
            Request::SaDel { sa } => {
                let id = sa.get();
                self.standby.remove(&id);
                self.sas
                    .remove(&id)
                    .map(|_| json!({"sa": id}))
                    .ok_or(format!("no SA {id}"))
            }
            Request::SpAdd { sp } => {
                let ipc::SpAction::Protect(sa) = sp.action else {
                    return Err("not protect".into());
                };
                let sa = sa.get();
                if !self.sas.contains_key(&sa) {
                    return Err(format!("protects a missing SA {sa}"));
                }
                self.next_policy += 1;
                self.policies.insert((sp.dir, self.next_policy), sa);
                Ok(json!({"policy": self.next_policy}))
            }
            Request::SpDel { dir, policy } => self
                .policies
                .remove(&(*dir, policy.0))
                .map(|_| json!({"policy": policy}))
                .ok_or("no policy".into()),
            Request::SaGet { sa } => {
                let id = sa.get();
                let (dir, spi) = *self.sas.get(&id).ok_or(format!("no SA {id}"))?;
                // Traffic all the time.
                self.last_used += 1_000_000;
                let info = ipc::fastpath::SaInfo {
                    id: *sa,
                    worker: 0,
                    spi: format!("{spi:#010x}"),
                    direction: dir,
                    mode: ipc::SaMode::Transport,
                    transform: "aes128gcm16".into(),
                    backend: "fake".into(),
                    state: ipc::fastpath::SaState::Active,
                    esn: false,
                    natt: None,
                    oseq: 5,
                    window_top: 5,
                    window_size: 1024,
                    packets: 5,
                    bytes: 500,
                    drops: Default::default(),
                    soft_bytes: 0,
                    hard_bytes: 0,
                    soft_packets: 0,
                    hard_packets: 0,
                    last_used_ns: self.last_used,
                    idle_ms: 0,
                    iv_generation: 0,
                };
                serde_json::to_value(info).map_err(|e| e.to_string())
            }
            Request::SaActivate {
                sa: ipc::SaTarget::All,
                oseq_shift,
                generation,
            } => {
                self.activations.push((*generation, *oseq_shift));
                let n = std::mem::take(&mut self.standby).len();
                Ok(json!({ "sas": n }))
            }
            Request::SaDeactivate {
                sa: ipc::SaTarget::All,
            } => {
                self.standby = self.sas.keys().copied().collect();
                Ok(json!({ "sas": self.standby.len() }))
            }
            Request::SaSync { sync } => {
                self.synced.extend(sync.iter().copied());
                Ok(json!({ "applied": sync.len(), "records": sync.len() }))
            }
            o => Err(format!("unknown op {:?}", o.op())),
        }
    }
}

impl FakeFastpath {
    pub(super) fn start(name: &str) -> FakeFastpath {
        use std::io::BufRead;
        use std::sync::atomic::Ordering;
        let path = std::env::temp_dir().join(format!("fake-fp-{name}-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        listener.set_nonblocking(true).unwrap();
        let state: std::sync::Arc<std::sync::Mutex<FakeState>> = Default::default();
        let stop: std::sync::Arc<std::sync::atomic::AtomicBool> = Default::default();
        let (st, sp) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            while !sp.load(Ordering::Relaxed) {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let (st, sp) = (st.clone(), sp.clone());
                std::thread::spawn(move || {
                    stream
                        .set_read_timeout(Some(Duration::from_millis(50)))
                        .unwrap();
                    let mut out = stream.try_clone().unwrap();
                    let mut r = std::io::BufReader::new(stream);
                    let mut line = String::new();
                    while !sp.load(Ordering::Relaxed) {
                        match r.read_line(&mut line) {
                            Ok(0) => return,
                            Ok(_) => {}
                            Err(_) => continue,
                        }
                        let (id, req) = ipc::wire::decode_request::<Request>(line.trim()).unwrap();
                        line.clear();
                        let mut s = st.lock().unwrap();
                        if let Request::Subscribe { .. } = req {
                            let ok = ipc::wire::Reply::ok(id, &"subscribed");
                            writeln!(out, "{}", ok.line()).unwrap();
                            s.subscribers.push(out.try_clone().unwrap());
                            continue;
                        }
                        let reply = match s.answer(&req) {
                            Ok(v) => ipc::wire::Reply::ok(id, &v).line(),
                            Err(e) => ipc::wire::Reply::refused(id, e).line(),
                        };
                        drop(s);
                        if writeln!(out, "{reply}").is_err() {
                            return;
                        }
                    }
                });
            }
        });
        FakeFastpath { path, state, stop }
    }

    pub(super) fn push_event(&self, kind: &str, sa: u32) {
        let mut s = self.state.lock().unwrap();
        let spi = s.sas.get(&sa).map_or(0, |x| x.1);
        let line =
            json!({"v": ipc::VERSION, "event": kind, "sa": sa, "spi": format!("{spi:#010x}")})
                .to_string();
        s.subscribers.retain_mut(|w| writeln!(w, "{line}").is_ok());
    }

    pub(super) fn counts(&self) -> (usize, usize) {
        let s = self.state.lock().unwrap();
        (s.sas.len(), s.policies.len())
    }
}

impl Drop for FakeFastpath {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = std::fs::remove_file(&self.path);
    }
}
