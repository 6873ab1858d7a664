//! The checkpoint directory: files written whole with mode 0600, read back, removed; what is
//! not a record (or is past its lifetime) removed and counted; IKEv1's ISAKMP SAs beside
//! IKEv2's SAs, each version reading its own.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use ike::engine::{Engine, EngineSettings};
use ike::rng::TestRng;
use ike::sa::IkeSaRecord;
use ike::v1::engine::V1Engine;
use ike::v1::record::IsakmpSaRecord;

use super::checkpoint::Checkpoint;
use crate::ike::config::parse_text;

/// A record of a real IKE SA: two engines negotiate one over an in-memory wire.
fn record() -> IkeSaRecord {
    let text = |l: &str, r: &str, lid: &str, rid: &str| {
        format!(
            "secret k psk \"checkpoint test secret\"
conn c local {l} remote {r} local-id fqdn:{lid} remote-id fqdn:{rid} auth psk k ike aes128gcm16-prfsha256-ecp256
child net conn c local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128gcm16 rekey 1h"
        )
    };
    let a = parse_text(&text("192.0.2.1", "192.0.2.2", "a", "b")).unwrap();
    let b = parse_text(&text("192.0.2.2", "192.0.2.1", "b", "a")).unwrap();
    let mut rng = TestRng::new(3);
    let now = Duration::from_secs(1);
    let mut ea = Engine::new(a.conns, vec![], EngineSettings::default(), &mut rng, now);
    let eb = Engine::new(b.conns, vec![], EngineSettings::default(), &mut rng, now);
    let id = ea.initiate(now, &mut rng, "c", None).unwrap();
    // Four rounds: IKE_SA_INIT and IKE_AUTH, each a request and a response.
    let mut engines = [ea, eb];
    for round in 0..4 {
        let (from, to) = (round % 2, 1 - round % 2);
        let mut out = Vec::new();
        while let Some(act) = engines[from].poll_action() {
            if let ike::action::Action::Send { from, to, bytes } = act {
                out.push((from, to, bytes));
            }
        }
        for (f, t, bytes) in out {
            engines[to].handle_datagram(now, &mut rng, t, f, &bytes);
        }
    }
    let [ea, _] = engines;
    assert_eq!(ea.sa(id).unwrap().state, ike::sa::IkeState::Established);
    ea.export_sa(id, now).unwrap()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("ike-checkpoint-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A fresh checkpoint directory with one record written.
fn one_written(name: &str) -> (std::path::PathBuf, Checkpoint, IkeSaRecord) {
    let dir = temp_dir(name);
    let mut cp = Checkpoint::open(&dir).unwrap();
    let r = record();
    cp.write(&r).unwrap();
    (dir, cp, r)
}

#[test]
fn records_are_written_whole_read_back_and_removed() {
    let dir = temp_dir("rw");
    let mut cp = Checkpoint::open(&dir).unwrap();
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let r = record();
    cp.write(&r).unwrap();
    cp.write(&r).unwrap();
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    assert_eq!(files.len(), 1, "rewritten in place, no temporary left");
    let (i, rr) = r.spis();
    assert_eq!(
        files[0].file_name().to_str().unwrap(),
        format!("{i:016x}_{rr:016x}.ike")
    );
    assert_eq!(
        files[0].metadata().unwrap().permissions().mode() & 0o777,
        0o600
    );
    let loaded = cp.load().unwrap();
    assert_eq!((loaded.records.len(), loaded.stale), (1, 0));
    assert_eq!(loaded.records[0].0.encode(), r.encode());
    cp.remove(r.spis()).unwrap();
    cp.remove(r.spis()).unwrap();
    assert_eq!(cp.load().unwrap().records.len(), 0);
    assert_eq!((cp.written, cp.removed, cp.errors), (2, 1, 0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn what_is_not_a_record_is_removed_and_counted() {
    let (dir, mut cp, r) = one_written("stale");
    let good = r.encode();
    // Truncated, garbage, too long, under another SA's name, a leftover temporary file.
    std::fs::write(
        dir.join("0000000000000001_0000000000000002.ike"),
        &good[..good.len() / 2],
    )
    .unwrap();
    std::fs::write(
        dir.join("0000000000000003_0000000000000004.ike"),
        b"garbage",
    )
    .unwrap();
    let mut big = good.clone();
    big.resize(ike::sa::MAX_RECORD_LEN + 10, 0);
    std::fs::write(dir.join("0000000000000005_0000000000000006.ike"), big).unwrap();
    std::fs::write(dir.join("0000000000000007_0000000000000008.ike"), &good).unwrap();
    std::fs::write(dir.join("0000000000000009_000000000000000a.ike.tmp"), &good).unwrap();
    std::fs::write(dir.join("README"), b"not ours").unwrap();
    let loaded = cp.load().unwrap();
    assert_eq!((loaded.records.len(), loaded.stale), (1, 4));
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        2,
        "the record and README"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_record_past_its_lifetime_is_stale() {
    let (dir, mut cp, r) = one_written("old");
    let life = r.lifetime().expect("the CHILD SA expires");
    assert!(life > Duration::from_secs(3000) && life <= Duration::from_secs(4 * 3600 + 60));
    let (i, rr) = r.spis();
    let path = dir.join(format!("{i:016x}_{rr:016x}.ike"));
    let old = std::time::SystemTime::now() - life - Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let loaded = cp.load().unwrap();
    assert_eq!((loaded.records.len(), loaded.stale), (0, 1));
    assert!(!path.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn iv_generations_are_saved_whole_and_read_back() {
    let dir = std::env::temp_dir().join(format!("ike-cp-iv-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut cp = Checkpoint::open(&dir).unwrap();
    assert_eq!(cp.load_generations(), None);
    cp.save_generations([3, 8]).unwrap();
    cp.save_generations([5, 8]).unwrap();
    assert_eq!(
        Checkpoint::open(&dir).unwrap().load_generations(),
        Some([5, 8])
    );
    // What is not two numbers is no generations (a node then learns them from its peer).
    std::fs::write(dir.join("iv-generations"), "5 x\n").unwrap();
    assert_eq!(cp.load_generations(), None);
    // Not a record either: loading the IKE SAs leaves it alone.
    let loaded = cp.load().unwrap();
    assert_eq!((loaded.records.len(), loaded.stale), (0, 0));
    assert!(dir.join("iv-generations").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A record of a real ISAKMP SA: two IKEv1 engines run Main Mode and a Quick Mode over an
/// in-memory wire until neither has anything to send.
fn isakmp_record() -> IsakmpSaRecord {
    let text = |(l, r): (u8, u8), (lid, rid): (&str, &str)| {
        format!(
            "secret k psk \"checkpoint test secret\"
conn c local 192.0.2.{l} remote 192.0.2.{r} local-id fqdn:{lid} remote-id fqdn:{rid} auth psk k ike aes128-sha1-modp2048 version 1 add
child net conn c local-ts 10.{l}.0.0/16 remote-ts 10.{r}.0.0/16 esp aes128-sha1"
        )
    };
    let a = parse_text(&text((1, 2), ("a", "b"))).unwrap();
    let b = parse_text(&text((2, 1), ("b", "a"))).unwrap();
    let mut rng = TestRng::new(5);
    let now = Duration::from_secs(1);
    let mut engines = [V1Engine::new(&a.conns), V1Engine::new(&b.conns)];
    let id = engines[0].initiate(now, &mut rng, "c").unwrap();
    for _ in 0..16 {
        let mut quiet = true;
        for from in 0..2 {
            let mut out = Vec::new();
            while let Some(act) = engines[from].poll_action() {
                if let ike::action::Action::Send { from, to, bytes } = act {
                    out.push((from, to, bytes));
                }
            }
            for (f, t, bytes) in out {
                quiet = false;
                engines[1 - from].handle_datagram(now, &mut rng, t, f, &bytes);
            }
        }
        if quiet {
            break;
        }
    }
    let sa = engines[0].sa(id).unwrap();
    assert!(sa.is_established() && sa.children.len() == 1);
    engines[0].export_sa(id, now).unwrap()
}

fn names(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn isakmp_sas_are_kept_apart_from_ike_sas() {
    let (dir, mut cp, r2) = one_written("v1");
    let r1 = isakmp_record();
    cp.write(&r1).unwrap();
    cp.write(&r1).unwrap();
    let (ci, cr) = r1.cookies();
    let (si, sr) = r2.spis();
    let v1_name = format!("{ci:016x}_{cr:016x}.ike1");
    assert_eq!(
        names(&dir),
        [format!("{si:016x}_{sr:016x}.ike"), v1_name.clone()]
    );
    let mode = std::fs::metadata(dir.join(&v1_name)).unwrap().permissions();
    assert_eq!(mode.mode() & 0o777, 0o600);
    // Leftovers of each kind: a temporary file, and what is not a record.
    std::fs::write(dir.join("0000000000000001_0000000000000002.ike1.tmp"), b"x").unwrap();
    std::fs::write(
        dir.join("0000000000000003_0000000000000004.ike1"),
        b"garbage",
    )
    .unwrap();
    // IKEv2's reader sees its own record only, and leaves IKEv1's files be.
    let v2 = cp.load().unwrap();
    assert_eq!((v2.records.len(), v2.stale), (1, 0));
    assert_eq!(v2.records[0].0.encode(), r2.encode());
    assert_eq!(names(&dir).len(), 4);
    // IKEv1's reader: its record back as written; the garbage and the temporary file gone.
    let v1 = cp.load_kind::<IsakmpSaRecord>().unwrap();
    assert_eq!((v1.records.len(), v1.stale), (1, 1));
    assert_eq!(v1.records[0].0.encode(), r1.encode());
    assert_eq!(names(&dir).len(), 2);
    // Removing the ISAKMP SA's file leaves the IKE SA's.
    cp.remove_kind::<IsakmpSaRecord>(r1.cookies()).unwrap();
    assert_eq!(names(&dir), [format!("{si:016x}_{sr:016x}.ike")]);
    assert_eq!((cp.written, cp.removed, cp.errors), (3, 1, 0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_isakmp_record_past_its_lifetime_is_stale() {
    let dir = temp_dir("v1-old");
    let mut cp = Checkpoint::open(&dir).unwrap();
    let r = isakmp_record();
    cp.write(&r).unwrap();
    let (ci, cr) = r.cookies();
    let path = dir.join(format!("{ci:016x}_{cr:016x}.ike1"));
    // Still in its lifetime a while after the writing: read back.
    let set_age = |age: Duration| {
        let at = std::time::SystemTime::now() - age;
        let f = std::fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(at).unwrap();
    };
    set_age(r.expires_in / 2);
    let loaded = cp.load_kind::<IsakmpSaRecord>().unwrap();
    assert_eq!((loaded.records.len(), loaded.stale), (1, 0));
    assert!(loaded.records[0].1 >= r.expires_in / 2);
    set_age(r.expires_in + Duration::from_secs(60));
    let loaded = cp.load_kind::<IsakmpSaRecord>().unwrap();
    assert_eq!((loaded.records.len(), loaded.stale), (0, 1));
    assert!(!path.exists());
    let _ = std::fs::remove_dir_all(&dir);
}
