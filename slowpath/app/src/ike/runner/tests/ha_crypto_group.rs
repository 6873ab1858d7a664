//! A crypto group in an HA pair, over loopback: the active node's group to two responders,
//! synced to the standby, which holds the same member's outbound policies aside; the
//! primary's peer goes, the active node moves the traffic and the standby follows; after a
//! takeover the traffic stays on the member the active node had chosen.

use super::fake_fastpath::FakeFastpath;
use super::ha_pair::run_until;
use super::*;
use crate::ha_sync::tests::{ha_config, port};

/// The gateway on `local`, its group's members to 127.0.0.22 and 127.0.0.23.
fn gateway(local: &str) -> String {
    "
secret k psk \"loopback test secret\"
conn p1 local L remote 127.0.0.22 local-id fqdn:a.test remote-id fqdn:b.test auth psk k ike aes128gcm16-prfsha256-ecp256 retransmit 1s tries 3
child net conn p1 local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128gcm16-esn
conn p2 local L remote 127.0.0.23 local-id fqdn:a.test remote-id fqdn:b.test auth psk k ike aes128gcm16-prfsha256-ecp256 retransmit 1s tries 3
child net conn p2 local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128gcm16-esn
crypto-group site primary p1 secondary p2 always switchover auto do-not-revert retry 1s
"
    .replace(" L ", &format!(" {local} "))
}

/// Outbound policies (in the fast path, kept aside) of a member's IKE SAs on a node.
fn policies(r: &IkeRunner, conn: &str) -> (usize, usize) {
    r.ike_sas
        .values()
        .filter(|i| i.config == conn)
        .map(|i| r.table.outbound_policies(i.sa))
        .fold((0, 0), |(a, b), (x, y)| (a + x, b + y))
}

/// Steps the runners (the active node, the standby, the peers) until both nodes' members
/// have `want` outbound policies (in, aside): primary first.
fn wait(
    epoch: Instant,
    rs: &mut [&mut IkeRunner; 4],
    ev: &mut [Vec<Value>],
    what: &str,
    want: [(usize, usize); 2],
) {
    let members = |r: &IkeRunner| [policies(r, "p1"), policies(r, "p2")];
    let end = Instant::now() + Duration::from_secs(10);
    while members(rs[0]) != want || members(rs[1]) != want {
        assert!(
            Instant::now() < end,
            "{what}: active {:?}, standby {:?}",
            members(rs[0]),
            members(rs[1])
        );
        run_until(epoch, rs, ev, what, |_| true);
    }
}

fn count(e: &[Value], kind: &str) -> usize {
    e.iter().filter(|v| v["event"] == kind).count()
}

#[test]
fn the_standby_holds_the_inactive_member_aside_and_keeps_the_choice_on_takeover() {
    let addrs = ["127.0.0.21", "127.0.0.22", "127.0.0.23", "127.0.0.24"];
    if !can_bind_both(addrs[0], addrs[1]) || !can_bind_both(addrs[2], addrs[3]) {
        return;
    }
    let (fa, fb) = (FakeFastpath::start("hcg-a"), FakeFastpath::start("hcg-b"));
    let epoch = Instant::now();
    let sync_port = port();
    let (ha1, ha2) = (ha_config(1, sync_port), ha_config(2, sync_port));
    let now = epoch.elapsed();
    let peer = |addr: &str| parse_text(&RESPONDER.replace("127.0.0.2", addr)).unwrap();
    let mut p1 = IkeRunner::new(peer(addrs[1]), None, now, None).unwrap();
    let mut p2 = IkeRunner::new(peer(addrs[2]), None, now, None).unwrap();
    let cfg = |local: &str| parse_text(&gateway(local)).unwrap();
    let mut a = IkeRunner::new(cfg(addrs[0]), Some(&fa.path), now, Some(&ha1)).unwrap();
    let mut b = IkeRunner::new(cfg(addrs[3]), Some(&fb.path), now, Some(&ha2)).unwrap();
    a.take_over(epoch.elapsed());
    let mut ev = vec![Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    // Both members up on the active node; the standby has both CHILD SAs, the secondary's
    // outbound policy kept aside as on the active.
    run_until(
        epoch,
        &mut [&mut a, &mut b, &mut p1, &mut p2],
        &mut ev,
        "both members up, synced",
        |e| count(&e[0], "child_up") == 2 && count(&e[1], "ha_in_sync") >= 1,
    );
    let rs = &mut [&mut a, &mut b, &mut p1, &mut p2];
    wait(
        epoch,
        rs,
        &mut ev,
        "the standby holds the secondary aside",
        [(1, 0), (0, 1)],
    );

    // The primary's peer deletes its IKE SA: the active node moves the traffic, and the
    // standby's table follows the synced group; once the primary is back (retry 1 s,
    // do-not-revert) both hold it aside.
    let op = operator("terminate", json!({"conn": "from-a"}));
    p1.handle(epoch.elapsed(), &op).unwrap().unwrap();
    run_until(
        epoch,
        &mut [&mut a, &mut b, &mut p1, &mut p2],
        &mut ev,
        "the switchover, synced",
        |e| {
            count(&e[0], "crypto_group_switchover") == 1 && count(&e[1], "crypto_group_synced") == 1
        },
    );
    let synced = first(&ev[1], "crypto_group_synced");
    assert_eq!(
        (
            &synced["group"],
            &synced["from"],
            &synced["to"],
            &synced["error"]
        ),
        (&json!("site"), &json!("p1"), &json!("p2"), &Value::Null)
    );
    let rs = &mut [&mut a, &mut b, &mut p1, &mut p2];
    wait(
        epoch,
        rs,
        &mut ev,
        "the primary back, held aside on both",
        [(0, 1), (1, 0)],
    );
    let now = epoch.elapsed();
    let status = |r: &mut IkeRunner| {
        r.handle(now, &operator("crypto_group", json!({"name": "site"})))
            .unwrap()
            .unwrap()
    };
    let on_b = status(&mut b);
    assert_eq!(
        (&on_b["active"], &on_b["switchovers"]),
        (&json!("secondary"), &json!(1))
    );

    // The active node dies: the standby takes over with the secondary still carrying, its
    // group aware that both tunnels came over up.
    drop(a);
    b.take_over(epoch.elapsed());
    assert_eq!([policies(&b, "p1"), policies(&b, "p2")], [(0, 1), (1, 0)]);
    let s = status(&mut b);
    assert_eq!(
        (
            &s["active"],
            &s["carrying"],
            &s["primary"]["tunnel"],
            &s["secondary"]["tunnel"]
        ),
        (
            &json!("secondary"),
            &json!(true),
            &json!("up"),
            &json!("up")
        )
    );
    assert_eq!(
        count(&b.events(), "crypto_group_switchover"),
        0,
        "no move of its own"
    );
    // And it acts as the active one now: the operator moves the traffic back.
    let s = b
        .handle(
            epoch.elapsed(),
            &operator("crypto_group_switchover", json!({"name": "site"})),
        )
        .unwrap()
        .unwrap();
    assert_eq!(s["active"], "primary");
    assert_eq!([policies(&b, "p1"), policies(&b, "p2")], [(1, 0), (0, 1)]);
}
