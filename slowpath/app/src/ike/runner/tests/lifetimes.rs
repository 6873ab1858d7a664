//! The fast path's lifetime events drive rekeys and expiries, and DPD reads its SAs.

use super::fake_fastpath::FakeFastpath;
use super::*;

#[test]
fn fast_path_lifetimes_drive_rekey_and_expiry() {
    if !can_bind_both("127.0.0.3", "127.0.0.4") {
        return;
    }
    let fake = FakeFastpath::start("lifetimes");
    let epoch = Instant::now();
    let sa = parse_text(
        &INITIATOR
            .replace("127.0.0.1", "127.0.0.3")
            .replace("127.0.0.2", "127.0.0.4")
            .replace(" start", " dpd 2s start"),
    )
    .unwrap();
    let sb = parse_text(&RESPONDER.replace("127.0.0.2", "127.0.0.4")).unwrap();
    let b = IkeRunner::new(sb, None, epoch.elapsed(), None).unwrap();
    let a = IkeRunner::new(sa, Some(&fake.path), epoch.elapsed(), None).unwrap();
    assert_eq!(a.fds().len(), 3, "two UDP sockets and the event stream");
    let mut p = Pair::new(epoch, a, b);
    let count = |e: &[Value], k: &str| e.iter().filter(|v| v["event"] == k).count();
    p.run_until("no CHILD SA", |x, y| {
        count(x, "child_up") == 1 && count(y, "child_up") == 1
    });
    assert_eq!(fake.counts(), (2, 2), "two SAs and a policy each way");
    let up = first(&p.ea, "child_up");
    let out_sa = up["fastpath_sa_out"].as_u64().unwrap() as u32;
    // The fast path's counters show through child_sas.
    let cs =
        p.a.handle(epoch.elapsed(), &operator("child_sas", json!({})))
            .unwrap()
            .unwrap();
    assert_eq!(cs[0]["fastpath"]["in"]["packets"], 5, "{cs}");

    // Soft lifetime of the outbound SA: a rekey; the old pair goes once it is done.
    fake.push_event("soft_lifetime", out_sa);
    p.run_until("no rekey on the soft lifetime", |x, y| {
        count(x, "child_rekeyed") == 1
            && count(y, "child_rekeyed") == 1
            && count(x, "child_down") == 1
    });
    assert!(p
        .ea
        .iter()
        .any(|v| v["event"] == "fastpath_lifetime" && v["acted"] == true));
    assert_eq!(fake.counts(), (2, 2), "the new pair only");
    let new = first(&p.ea, "child_rekeyed");
    let new_in = new["fastpath_sa_in"].as_u64().unwrap() as u32;

    // DPD reads the inbound SA's use from the fast path.
    p.run_until("DPD never read an SA", |_, _| {
        fake.state.lock().unwrap().ops.iter().any(|o| o == "sa_get")
    });

    // Hard lifetime: the CHILD SA is deleted on both sides, and from the fast path.
    fake.push_event("hard_lifetime", new_in);
    p.run_until("no expiry on the hard lifetime", |x, y| {
        count(x, "child_down") == 2 && count(y, "child_down") == 2
    });
    assert_eq!(fake.counts(), (0, 0));
    // An event for an SA that is no longer ours is ignored.
    fake.push_event("soft_lifetime", out_sa);
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(20));
        p.a.step(epoch.elapsed());
        p.ea.extend(p.a.events());
    }
    assert_eq!(count(&p.ea, "fastpath_lifetime"), 2, "{:?}", kinds(&p.ea));
    p.a.shutdown(epoch.elapsed());
    assert_eq!(fake.counts(), (0, 0));
    assert_eq!(
        p.a.handle(epoch.elapsed(), &operator("ike_counters", json!({})))
            .unwrap()
            .unwrap()["fastpath_errors"],
        0
    );
}
