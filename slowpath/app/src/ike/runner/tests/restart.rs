//! A responder killed (dropped without a word) and started again with `ike-state-dir`: it
//! carries its IKE SA on from the checkpoint; the initiator's next exchanges are answered and
//! nothing is negotiated again.

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
