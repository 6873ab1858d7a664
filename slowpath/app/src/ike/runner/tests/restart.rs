//! A responder killed (dropped without a word) and started again with `ike-state-dir`: it
//! carries its IKE SA on from the checkpoint; the initiator's next exchanges are answered and
//! nothing is negotiated again. An IKEv1 initiator killed in the middle of a Quick Mode
//! carries its ISAKMP SA on the same way and finishes that Quick Mode.

use super::*;

#[test]
fn a_restarted_runner_carries_its_ike_sa_on() {
    if !can_bind_both("127.0.0.5", "127.0.0.6") {
        return;
    }
    let (responder, dir) = responder_with_state_dir("127.0.0.6", "ike-state");
    let epoch = Instant::now();
    let initiator = INITIATOR
        .replace("127.0.0.1", "127.0.0.5")
        .replace("127.0.0.2", "127.0.0.6");
    let b = IkeRunner::new(parse_text(&responder).unwrap(), None, epoch.elapsed(), None).unwrap();
    let a = IkeRunner::new(parse_text(&initiator).unwrap(), None, epoch.elapsed(), None).unwrap();
    let mut p = Pair::new(epoch, a, b);
    let count = |e: &[Value], k: &str| e.iter().filter(|v| v["event"] == k).count();
    p.run_until("no CHILD SA", |x, y| {
        count(x, "child_up") == 1 && count(y, "child_up") == 1
    });
    let files = || std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(files(), 1, "one file per IKE SA");
    let meta = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.metadata().unwrap().permissions().mode() & 0o777, 0o600);
    let before = first(&p.eb, "child_up");

    // The responder dies and comes back (its sockets go with it).
    let Pair { a, b, ea, .. } = p;
    drop(b);
    let b = IkeRunner::new(parse_text(&responder).unwrap(), None, epoch.elapsed(), None).unwrap();
    let mut p = Pair::new(epoch, a, b);
    p.ea = ea;
    p.run_until("the SA was not restored", |_, y| count(y, "child_up") == 1);
    let restored = first(&p.eb, "ike_restored");
    assert_eq!(
        (restored["ike_sas"].as_u64(), restored["stale"].as_u64()),
        (Some(1), Some(0))
    );
    let again = first(&p.eb, "child_up");
    assert_eq!(again["spi_in"], before["spi_in"]);
    assert_eq!(again["spi_out"], before["spi_out"]);

    // The initiator rekeys the CHILD SA, then the IKE SA: both answered, nothing renegotiated.
    let now = epoch.elapsed();
    let sas =
        p.a.handle(now, &operator("ike_sas", json!({})))
            .unwrap()
            .unwrap();
    let sa_id = sas[0]["ike_sa"].as_u64().unwrap();
    let children =
        p.a.handle(now, &operator("child_sas", json!({})))
            .unwrap()
            .unwrap();
    let child = children[0]["child"].as_u64().unwrap();
    let r = p.a.handle(
        now,
        &operator("rekey", json!({"ike_sa": sa_id, "child": child})),
    );
    assert!(r.unwrap().is_ok());
    p.run_until("no CHILD SA rekey after the restart", |x, y| {
        count(x, "child_rekeyed") == 1 && count(y, "child_rekeyed") == 1
    });
    let r = p.a.handle(
        epoch.elapsed(),
        &operator("rekey", json!({"ike_sa": sa_id})),
    );
    assert!(r.unwrap().is_ok());
    p.run_until("no IKE SA rekey after the restart", |x, y| {
        let rekeyed = |e: &[Value]| {
            e.iter().any(|v| {
                v["event"] == "ike_event"
                    && v["what"].as_str().unwrap_or("").starts_with("IkeSaRekeyed")
            })
        };
        rekeyed(x) && rekeyed(y)
    });
    assert_eq!(count(&p.ea, "ike_up"), 1, "{:?}", kinds(&p.ea));
    assert_eq!(count(&p.ea, "ike_down") + count(&p.eb, "ike_down"), 0);
    // The rekeyed IKE SA's record replaced the old one.
    assert_eq!(files(), 1);
    p.a.shutdown(epoch.elapsed());
    p.run_until("no delete", |_, y| count(y, "ike_down") == 1);
    assert_eq!(files(), 0, "a deleted SA's file goes");
    let _ = std::fs::remove_dir_all(&dir);
}

const V1_INITIATOR: &str = "
secret k psk \"loopback test secret\"
conn to-b local 127.0.0.31 remote 127.0.0.32 local-id fqdn:a.test remote-id fqdn:b.test auth psk k ike aes128-sha1-modp2048 version 1 retransmit 1s tries 3 start
child net conn to-b local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128-sha1-modp2048
";
const V1_RESPONDER: &str = "
secret k psk \"loopback test secret\"
conn from-a local 127.0.0.32 remote 127.0.0.31 local-id fqdn:b.test remote-id fqdn:a.test auth psk k ike aes128-sha1-modp2048 version 1 add
child net conn from-a local-ts 10.2.0.0/16 remote-ts 10.1.0.0/16 esp aes128-sha1-modp2048
";

#[test]
fn a_restarted_runner_carries_its_isakmp_sa_and_quick_mode_on() {
    if !can_bind_both("127.0.0.31", "127.0.0.32") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("ike1-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let initiator = format!("{V1_INITIATOR}ike-state-dir {}\n", dir.display());
    let epoch = Instant::now();
    let start = |text: &str| {
        IkeRunner::new(parse_text(text).unwrap(), None, epoch.elapsed(), None).unwrap()
    };
    let mut p = Pair::new(epoch, start(&initiator), start(V1_RESPONDER));
    let count = |e: &[Value], k: &str| e.iter().filter(|v| v["event"] == k).count();
    p.run_until("no IPsec SA", |x, y| {
        count(x, "child_up") == 1 && count(y, "child_up") == 1
    });
    let files = || {
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect::<Vec<_>>()
    };
    let id = p.a.v1.sa_ids()[0];
    let (ci, cr) = p.a.v1.sa(id).unwrap().cookies();
    assert_eq!(files(), [format!("{ci:016x}_{cr:016x}.ike1")]);
    let before = first(&p.ea, "child_up");

    // A Quick Mode rekey leaves (its record first), and the initiator dies before the answer.
    let now = epoch.elapsed();
    let child = p.a.v1.sa(id).unwrap().children[0].id;
    assert!(p.a.v1.rekey_child(now, &mut p.a.rng, id, child));
    p.a.drain(now);
    let Pair { a, b, eb, .. } = p;
    drop(a);
    let mut p = Pair::new(epoch, start(&initiator), b);
    p.eb = eb;
    p.ea = p.a.events();
    let restored = first(&p.ea, "ike_restored");
    assert_eq!(
        (
            restored["isakmp_sas"].as_u64(),
            restored["ike_sas"].as_u64(),
            restored["stale"].as_u64()
        ),
        (Some(1), Some(0), Some(0))
    );
    let id = p.a.v1.sa_ids()[0];
    assert_eq!(p.a.v1.sa(id).unwrap().cookies(), (ci, cr));
    // The Quick Mode in flight goes again and finishes under the carried-on ISAKMP SA.
    p.run_until("the Quick Mode in flight did not finish", |x, y| {
        count(x, "child_rekeyed") == 1 && count(y, "child_rekeyed") == 1
    });
    let again = first(&p.ea, "child_up");
    assert_eq!(again["spi_in"], before["spi_in"]);
    assert_eq!(
        count(&p.ea, "ike_up") + count(&p.eb, "ike_up"),
        1,
        "no new Main Mode"
    );
    assert_eq!(files().len(), 1);

    // Its delete takes the record away.
    let now = epoch.elapsed();
    assert!(p.a.v1.delete_sa(now, &mut p.a.rng, id));
    p.a.drain(now);
    p.run_until("no delete", |_, y| count(y, "ike_down") == 1);
    assert!(files().is_empty(), "a deleted ISAKMP SA's file goes");
    let _ = std::fs::remove_dir_all(&dir);
}
