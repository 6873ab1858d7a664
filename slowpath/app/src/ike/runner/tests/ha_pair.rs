//! Two responders of an HA pair and a remote initiator, over loopback: the active one syncs
//! the IKE SA and its CHILD SA to the standby, which holds them inactive in its fast path;
//! a takeover activates them under the standby's own IV generation and the oseq-shift.

use super::fake_fastpath::FakeFastpath;
use super::*;
use crate::ha_sync::tests::{ha_config, port};

/// Steps every runner until `done`; fails after 10 s.
pub(super) fn run_until(
    epoch: Instant,
    runners: &mut [&mut IkeRunner],
    events: &mut [Vec<Value>],
    what: &str,
    done: impl Fn(&[Vec<Value>]) -> bool,
) {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        let fds: Vec<_> = runners.iter().flat_map(|r| r.fds()).collect();
        crate::sys::poll::readable(&fds, Duration::from_millis(5)).unwrap();
        for (r, e) in runners.iter_mut().zip(events.iter_mut()) {
            r.step(epoch.elapsed());
            e.extend(r.events());
        }
        if done(events) {
            return;
        }
    }
    let seen: Vec<_> = events.iter().map(|e| kinds(e)).collect();
    panic!("{what}: {seen:?}");
}

/// A fast path's SAs: direction, SPI and whether inactive.
pub(super) fn held(fp: &FakeFastpath) -> Vec<(ipc::Direction, u32, bool)> {
    let s = fp.state.lock().unwrap();
    let mut v: Vec<_> = s
        .sas
        .iter()
        .map(|(id, (d, spi))| (*d, *spi, s.standby.contains(id)))
        .collect();
    v.sort();
    v
}

/// Steps the remote peer, the active node and the standby until the peer has its CHILD SA
/// and the standby, in sync, holds the pair inactive in its fast path `fb`, by the peer's
/// SPIs.
pub(super) fn held_by_standby(
    epoch: Instant,
    [i, a, b]: [&mut IkeRunner; 3],
    fb: &FakeFastpath,
    events: &mut [Vec<Value>],
) {
    let has = |e: &[Value], k: &str| e.iter().any(|v| v["event"] == k);
    run_until(
        epoch,
        &mut [&mut *i, &mut *a, &mut *b],
        events,
        "the remote peer's CHILD SA, the standby in sync",
        |e| has(&e[0], "child_up") && has(&e[2], "ha_in_sync"),
    );
    let up = first(&events[0], "child_up");
    let spi = |k: &str| u32::from_str_radix(up[k].as_str().unwrap().trim_start_matches("0x"), 16);
    let (peer_in, peer_out) = (spi("spi_in").unwrap(), spi("spi_out").unwrap());
    let want = vec![
        (ipc::Direction::In, peer_out, true),
        (ipc::Direction::Out, peer_in, true),
    ];
    run_until(
        epoch,
        &mut [i, a, b],
        events,
        "the standby installs the CHILD SA",
        |_| held(fb) == want,
    );
}

#[test]
fn the_standby_holds_what_the_active_node_negotiated_and_takes_it_over() {
    if !can_bind_both("127.0.0.5", "127.0.0.6") || !can_bind_both("127.0.0.7", "127.0.0.7") {
        return;
    }
    let (fa, fb) = (FakeFastpath::start("ha-a"), FakeFastpath::start("ha-b"));
    let epoch = Instant::now();
    let remote = INITIATOR
        .replace("127.0.0.1", "127.0.0.5")
        .replace("127.0.0.2", "127.0.0.6");
    let node = |addr: &str| parse_text(&RESPONDER.replace("127.0.0.2", addr)).unwrap();
    let sync_port = port();
    let (ha1, ha2) = (ha_config(1, sync_port), ha_config(2, sync_port));
    let now = epoch.elapsed();
    let mut i = IkeRunner::new(parse_text(&remote).unwrap(), None, now, None).unwrap();
    let mut a = IkeRunner::new(node("127.0.0.6"), Some(&fa.path), now, Some(&ha1)).unwrap();
    let mut b = IkeRunner::new(node("127.0.0.7"), Some(&fb.path), now, Some(&ha2)).unwrap();
    a.take_over(epoch.elapsed());
    assert_eq!(fa.state.lock().unwrap().activations, [(1, Some(65536))]);
    let mut events = vec![Vec::new(), Vec::new(), Vec::new()];
    held_by_standby(epoch, [&mut i, &mut a, &mut b], &fb, &mut events);
    let active: Vec<_> = held(&fa).iter().map(|x| x.2).collect();
    assert_eq!(active, [false, false], "the active node's SAs are active");
    // A seqnum record of the active node's inbound SA: relayed, then held by the standby;
    // both show its age, the outbound side as without a snapshot.
    let e = a.table.entries().next().unwrap();
    let (sa_in, spi_in) = (e.sa_in, e.spi_in);
    let record = ipc::fastpath::SeqRecord {
        sa: crate::ike::program::sa_id(sa_in).unwrap(),
        spi: spi_in,
        dir: ipc::Direction::In,
        oseq: 0,
        top: 40,
        bits: [1, 0, 0, 0],
        generation: 1,
        at_ns: 0,
    };
    a.relay_snapshots(vec![record], epoch.elapsed());
    let end = Instant::now() + Duration::from_secs(5);
    while b
        .ha_status(epoch.elapsed())
        .unwrap()
        .snapshot_lag
        .without_snapshot
        != 1
    {
        assert!(Instant::now() < end, "the standby holds no snapshot");
        a.ha_flush(epoch.elapsed());
        std::thread::sleep(Duration::from_millis(5));
        b.step(epoch.elapsed());
    }
    std::thread::sleep(Duration::from_millis(20));
    for node in [&a, &b] {
        let lag = node.ha_status(epoch.elapsed()).unwrap().snapshot_lag;
        assert_eq!(
            (lag.sides, lag.without_snapshot, lag.oldest.len()),
            (2, 1, 1)
        );
        let row = &lag.oldest[0];
        assert_eq!(
            (row.spi.as_str(), row.direction),
            (format!("{spi_in:#010x}").as_str(), "in")
        );
        assert!(
            row.age_ms >= 20 && Some(row.age_ms) == lag.max_ms,
            "{lag:?}"
        );
    }
    // The operator sees the CHILD SA installed on the standby, its IKE passive.
    let now = epoch.elapsed();
    let cs = b
        .handle(now, &operator("child_sas", json!({})))
        .unwrap()
        .unwrap();
    assert_eq!(cs[0]["state"], "Installed", "{cs}");
    let st = b.ha_status(now).unwrap();
    assert_eq!((st.ike_role, st.sync.in_sync), ("standby", true));
    assert!(st.ha.records_applied >= 1);
    // A standby's SAs are the active node's: neither flush touches them.
    for op in ["flush", "flush_half_open"] {
        let r = b.handle(now, &operator(op, json!({}))).unwrap();
        assert!(r.unwrap_err().to_string().contains("standby"), "{op}");
    }
    assert_eq!(b.engine.sa_ids().len(), 1);

    // The active node dies; the standby takes over with its own parity of IV generation.
    drop(a);
    b.take_over(epoch.elapsed());
    assert_eq!(fb.state.lock().unwrap().activations, [(2, Some(65536))]);
    assert!(held(&fb).iter().all(|x| !x.2), "every SA active");
    assert_eq!(b.ha_status(epoch.elapsed()).unwrap().ike_role, "active");
    let ev = b.events();
    let t = first(&ev, "ha_takeover");
    assert_eq!(
        (t["generation"].as_u64(), t["child_sas"].as_u64()),
        (Some(2), Some(1))
    );
    // Demotion without reload: inactive again, state kept.
    b.demote(epoch.elapsed());
    assert!(held(&fb).iter().all(|x| x.2), "every SA inactive");
    assert_eq!(
        b.handle(epoch.elapsed(), &operator("child_sas", json!({})))
            .unwrap()
            .unwrap()[0]["state"],
        "Installed"
    );
}
