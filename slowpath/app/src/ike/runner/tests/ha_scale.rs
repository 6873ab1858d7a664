//! The standby's apply path at scale: N IKE SAs of the active node, one CHILD SA each, fed as
//! the sync hands them over (a batch of records per read), each installed inactive in the fast
//! path. The figure is records applied per second; `HA_SCALE_SAS` sets N for the ignored run:
//! `HA_SCALE_SAS=100000 cargo test --release -p slowpath --lib ha_scale -- --ignored --nocapture`
//! With `HA_SCALE_FASTPATH` naming a built `fastpath` binary, the same again with that real
//! fast path (on null ports, without hugepages) behind the standby.

use hasync::{Record, SyncEvent};
use ike::action::Action;
use ike::engine::{Engine, EngineSettings};
use ike::rng_openssl::OpenSslRng;
use ike::sa::IkeSaRecord;
use ipc::fastpath::{Request, SaInfo, SaState};

use super::fake_fastpath::FakeFastpath;
use super::*;
use crate::ha_sync::tests::{ha_config, port};
use crate::ike::program::LogOnly;

/// Records per read of the sync (a few datagrams' worth).
const BATCH: usize = 64;

fn engine(text: &str, now: Duration) -> Engine {
    let s = parse_text(text).unwrap();
    let settings = EngineSettings {
        limits: s.limits,
        unix_epoch_offset: 0,
    };
    Engine::new(s.conns, s.pools, settings, &mut OpenSslRng, now)
}

/// One IKE SA with its CHILD SA, negotiated between two engines in memory: the responder's.
fn negotiated(now: Duration) -> IkeSaRecord {
    let (mut i, mut r) = (engine(INITIATOR, now), engine(RESPONDER, now));
    i.initiate(now, &mut OpenSslRng, "to-b", None);
    // Each engine's datagrams to the other, until neither has more to say.
    while pass(&mut i, &mut r, now) | pass(&mut r, &mut i, now) {}
    let id = r.sa_ids()[0];
    r.export_sa(id, now).unwrap()
}

/// Hands `from`'s datagrams to `to`; whether there were any.
fn pass(from: &mut Engine, to: &mut Engine, now: Duration) -> bool {
    let mut moved = false;
    while let Some(a) = from.poll_action() {
        if let Action::Send {
            from: src,
            to: dst,
            bytes,
        } = a
        {
            to.handle_datagram(now, &mut OpenSslRng, dst, src, &bytes);
            moved = true;
        }
    }
    moved
}

/// `n` records of distinct IKE SAs, each like `model` but with SPIs of its own.
fn records(model: &IkeSaRecord, n: u32) -> Vec<Record> {
    let v = serde_json::to_value(model).unwrap();
    (0..n)
        .map(|k| {
            let mut v = v.clone();
            let (spi_i, spi_r) = (
                0x1000_0000_0000 + u64::from(k),
                0x2000_0000_0000 + u64::from(k),
            );
            v["sa"]["core"]["spi_i"] = json!(spi_i);
            v["sa"]["core"]["spi_r"] = json!(spi_r);
            v["sa"]["children"][0]["spi_in"] = json!(0x1000_0000 + k);
            v["sa"]["children"][0]["spi_out"] = json!(0x2000_0000 + k);
            let r: IkeSaRecord = serde_json::from_value(v).unwrap();
            assert_eq!(r.spis(), (spi_i, spi_r));
            Record::IkeSa {
                spi_i,
                spi_r,
                state: r.encode(),
            }
        })
        .collect()
}

/// What answers the standby's fast path requests.
enum Behind<'a> {
    Nothing,
    Fake(&'a FakeFastpath),
    Real(&'a RealFastpath),
}

/// A `fastpath` process on null ports, killed when dropped.
struct RealFastpath {
    child: std::process::Child,
    dir: std::path::PathBuf,
    sock: std::path::PathBuf,
}

impl RealFastpath {
    fn start(binary: &str) -> RealFastpath {
        let tag = format!("ha-scale-{}", std::process::id());
        let dir = std::env::temp_dir().join(&tag);
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("fp.conf");
        std::fs::write(
            &conf,
            "port 0 protected peer-mac 02:00:00:00:00:02\nport 1 unprotected peer-mac 02:00:00:00:00:03\n",
        )
        .unwrap();
        let sock = dir.join("ctl.sock");
        let child = std::process::Command::new(binary)
            .arg("--config")
            .arg(&conf)
            .arg("--control")
            .arg(&sock)
            .args(["--idle-sleep-us", "200", "--stats-ms", "0", "--"])
            .args(["-l", "0,1", "--no-huge", "-m", "512", "--no-pci"])
            .args(["--log-level=error", "--file-prefix", &tag])
            .args(["--vdev=net_null0", "--vdev=net_null1"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start fastpath");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !sock.exists() {
            assert!(Instant::now() < deadline, "no control socket");
            std::thread::sleep(Duration::from_millis(50));
        }
        RealFastpath { child, dir, sock }
    }
}

impl Drop for RealFastpath {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A standby runner fed `n` IKE SA records in batches; its rate in records per second.
fn apply_all(n: u32, behind: Behind) -> f64 {
    let epoch = Instant::now();
    let model = negotiated(epoch.elapsed());
    let all = records(&model, n);
    let cfg = parse_text(&RESPONDER.replace("127.0.0.2", "127.0.0.9")).unwrap();
    let ha = ha_config(2, port());
    let path = match &behind {
        Behind::Nothing => None,
        Behind::Fake(f) => Some(f.path.as_path()),
        Behind::Real(r) => Some(r.sock.as_path()),
    };
    let mut b = IkeRunner::new(cfg, path, epoch.elapsed(), Some(&ha)).unwrap();
    if matches!(behind, Behind::Nothing) {
        b.fp = Box::new(LogOnly::default());
    }
    let start = Instant::now();
    let mut it = all.into_iter().peekable();
    while it.peek().is_some() {
        let batch = it.by_ref().take(BATCH).map(SyncEvent::Apply).collect();
        b.on_sync_events(batch, epoch.elapsed());
    }
    let took = start.elapsed();
    assert_eq!(b.engine.sa_ids().len(), n as usize);
    assert_eq!(b.table.len(), n as usize, "one CHILD SA per IKE SA");
    assert!(b.table.is_standby());
    let what = match behind {
        Behind::Nothing => "none",
        Behind::Fake(f) => {
            let s = f.state.lock().unwrap();
            assert_eq!(s.sas.len(), 2 * n as usize);
            assert_eq!(s.standby.len(), 2 * n as usize, "every SA inactive");
            "a fake on its socket"
        }
        Behind::Real(_) => {
            // Each SA of the table asked for (`sa_list` of them all is over a line's bound).
            let gets: Vec<Request> = b
                .table
                .entries()
                .flat_map(|e| [e.sa_in, e.sa_out])
                .map(|id| Request::SaGet {
                    sa: crate::ike::program::sa_id(id).unwrap(),
                })
                .collect();
            let infos = b.fp.call_batch(&gets);
            assert_eq!(infos.len(), 2 * n as usize);
            for info in infos {
                let info: SaInfo = serde_json::from_value(info.unwrap()).unwrap();
                assert_eq!(info.state, SaState::Standby, "every SA inactive");
            }
            "the fastpath binary"
        }
    };
    let rate = f64::from(n) / took.as_secs_f64();
    println!(
        "figure: standby apply of {n} IKE SAs (+{n} CHILD SAs), fast path {what}: {:.0} ms, {rate:.0} records/s",
        took.as_secs_f64() * 1e3
    );
    rate
}

#[test]
fn a_standby_applies_thousands_of_synced_ike_sas_into_its_fast_path() {
    if !can_bind_both("127.0.0.9", "127.0.0.9") {
        return;
    }
    let fp = FakeFastpath::start("ha-scale");
    apply_all(2000, Behind::Fake(&fp));
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn standby_apply_rate() {
    if !can_bind_both("127.0.0.9", "127.0.0.9") {
        return;
    }
    let n = std::env::var("HA_SCALE_SAS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    apply_all(n, Behind::Nothing);
    let fp = FakeFastpath::start("ha-scale-rate");
    apply_all(n, Behind::Fake(&fp));
    if let Ok(binary) = std::env::var("HA_SCALE_FASTPATH") {
        let real = RealFastpath::start(&binary);
        apply_all(n, Behind::Real(&real));
    }
}
