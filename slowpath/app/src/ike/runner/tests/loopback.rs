//! An initiator and a responder without a fast path: the exchange, what an operator sees,
//! and the operator's rekey, terminate and a polite shutdown.

use super::*;

#[test]
fn two_runners_over_loopback_udp() {
    if !can_bind_both("127.0.0.1", "127.0.0.2") {
        return;
    }
    let epoch = Instant::now();
    let sb = parse_text(RESPONDER).unwrap();
    let sa = parse_text(INITIATOR).unwrap();
    let b = match IkeRunner::new(sb, None, epoch.elapsed(), None) {
        Ok(r) => r,
        Err(e) => {
            println!("skipped: {e}");
            return;
        }
    };
    let a = match IkeRunner::new(sa, None, epoch.elapsed(), None) {
        Ok(r) => r,
        Err(e) => {
            println!("skipped: {e}");
            return;
        }
    };
    assert_eq!(a.fds().len(), 2, "500 and 4500 on one address");
    // Both IKE versions pick inbound ESP SPIs from one set (one fast path SAD).
    assert!(a.v1.esp_spis().same_set(&a.engine.esp_spis()));
    let mut p = Pair::new(epoch, a, b);
    let up = |e: &[Value]| e.iter().any(|v| v["event"] == "child_up");
    p.run_until("no CHILD SA within 10 s", |x, y| up(x) && up(y));
    assert!(kinds(&p.ea).contains(&"ike_up".to_string()));
    let ca = first(&p.ea, "child_up");
    let cb = first(&p.eb, "child_up");
    assert_eq!(ca["spi_in"], cb["spi_out"]);
    assert_eq!(ca["spi_out"], cb["spi_in"]);
    assert_eq!(ca["transform"], "aes128gcm16");
    assert_eq!(ca["esn"], true);
    assert_eq!(ca["local_ts"], json!(["10.1.0.0/16"]));
    assert_eq!(cb["local_ts"], json!(["10.2.0.0/16"]));

    // What an operator sees.
    let now = epoch.elapsed();
    let sas =
        p.a.handle(now, &operator("ike_sas", json!({})))
            .unwrap()
            .unwrap();
    assert_eq!(sas.as_array().unwrap().len(), 1);
    assert_eq!(sas[0]["state"], "Established");
    assert_eq!(sas[0]["proposal"], "aes128gcm16-prfsha256-ecp256");
    assert_eq!(
        p.b.handle(now, &operator("ike_sas", json!({})))
            .unwrap()
            .unwrap()[0]["remote_id"],
        "fqdn:a.test"
    );
    let children =
        p.a.handle(now, &operator("child_sas", json!({})))
            .unwrap()
            .unwrap();
    assert_eq!(children[0]["fastpath"]["sa_in"], 1);
    assert_eq!(children[0]["fastpath"]["policies_out"], 1);
    let counters =
        p.a.handle(now, &operator("ike_counters", json!({})))
            .unwrap()
            .unwrap();
    assert_eq!(counters["fastpath_child_sas"], 1);
    assert!(counters["sent"].as_u64().unwrap() >= 2);
    assert!(
        p.a.handle(now, &OperatorRequest::Instances).is_none(),
        "VRRP's ops are not IKE's"
    );
    assert!(p
        .a
        .handle(now, &operator("initiate", json!({"conn": "nope"})))
        .unwrap()
        .is_err());
    assert!(p
        .a
        .handle(
            now,
            &operator("initiate", json!({"conn": "to-b", "child": "nope"}))
        )
        .unwrap()
        .is_err());
    assert!(p
        .a
        .handle(now, &operator("terminate", json!({"ike_sa": 99})))
        .unwrap()
        .is_err());

    // An operator's rekey of the CHILD SA: both sides install the new pair.
    let sa_id = sas[0]["ike_sa"].as_u64().unwrap();
    let child = children[0]["child"].as_u64().unwrap();
    let r =
        p.a.handle(
            now,
            &operator("rekey", json!({"ike_sa": sa_id, "child": child})),
        )
        .unwrap();
    assert!(r.is_ok(), "{r:?}");
    let rekeyed = |e: &[Value]| e.iter().any(|v| v["event"] == "child_rekeyed");
    let down = |e: &[Value]| e.iter().any(|v| v["event"] == "child_down");
    p.run_until("no rekey", |x, y| {
        rekeyed(x) && rekeyed(y) && down(x) && down(y)
    });
    let now = epoch.elapsed();
    assert_eq!(
        p.a.handle(now, &operator("child_sas", json!({})))
            .unwrap()
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(p.a.table.len(), 1);
    assert_eq!(p.b.table.len(), 1);

    // Terminate by conn name: both sides lose the IKE SA and its CHILD SA.
    let r =
        p.a.handle(now, &operator("terminate", json!({"conn": "to-b"})))
            .unwrap();
    assert!(r.is_ok(), "{r:?}");
    let ike_down = |e: &[Value]| e.iter().any(|v| v["event"] == "ike_down");
    p.run_until("no delete", |x, y| ike_down(x) && ike_down(y));
    assert!(p.a.table.is_empty() && p.b.table.is_empty());
    assert!(p.a.engine.sa_ids().is_empty() && p.b.engine.sa_ids().is_empty());

    // A negotiation that never completes: flushed alone, on the initiator's side.
    let now = epoch.elapsed();
    let r =
        p.a.handle(now, &operator("initiate", json!({"conn": "to-b"})))
            .unwrap();
    assert!(r.is_ok(), "{r:?}");
    let f =
        p.a.handle(now, &operator("flush_half_open", json!({})))
            .unwrap()
            .unwrap();
    assert_eq!(f["initiator_ike_sas"].as_array().unwrap().len(), 1, "{f}");
    assert_eq!(f["responder_ike_sas"], json!([]));
    assert!(p.a.engine.sa_ids().is_empty());
    let ev = p.a.events();
    assert_eq!(first(&ev, "flushed_half_open")["ike_sas"], 1);
    p.ea.extend(ev);

    // Once more, and a polite shutdown.
    let r =
        p.a.handle(
            epoch.elapsed(),
            &operator("initiate", json!({"conn": "to-b"})),
        )
        .unwrap();
    assert!(r.is_ok(), "{r:?}");
    let ups = |e: &[Value]| e.iter().filter(|v| v["event"] == "child_up").count() == 2;
    p.run_until("no second CHILD SA", |x, y| ups(x) && ups(y));
    // Established SAs are not half-open.
    let f =
        p.a.handle(epoch.elapsed(), &operator("flush_half_open", json!({})))
            .unwrap()
            .unwrap();
    assert_eq!(f["initiator_ike_sas"], json!([]), "{f}");
    assert_eq!(p.a.engine.sa_ids().len(), 1);
    p.a.shutdown(epoch.elapsed());
    assert!(p.a.table.is_empty());
    p.ea.extend(p.a.events());
    p.run_until("the responder saw no delete at shutdown", |_, y| {
        y.iter().filter(|v| v["event"] == "ike_down").count() == 2
    });
    assert!(p.b.table.is_empty());
}
