//! An IKEv1 tunnel on an HA pair, over loopback: the active responder syncs the ISAKMP SA
//! to the standby, whose fast path holds the IPsec SAs inactive; the peer's delete reaches
//! the standby too, and a takeover switches the IKEv1 engine on.

use super::fake_fastpath::FakeFastpath;
use super::ha_pair::{held, held_by_standby, run_until};
use super::*;
use crate::ha_sync::tests::{ha_config, port};
use ike::ha::HaRole;

const V1_INITIATOR: &str = "
secret k psk \"loopback test secret\"
conn to-b local 127.0.0.8 remote 127.0.0.9 local-id fqdn:a.test remote-id fqdn:b.test auth psk k ike aes128-sha1-modp2048 version 1 retransmit 1s tries 3 start
child net conn to-b local-ts 10.1.0.0/16 remote-ts 10.2.0.0/16 esp aes128-sha1
";
const V1_RESPONDER: &str = "
secret k psk \"loopback test secret\"
conn from-a local ADDR remote 127.0.0.8 local-id fqdn:b.test remote-id fqdn:a.test auth psk k ike aes128-sha1-modp2048 version 1 add
child net conn from-a local-ts 10.2.0.0/16 remote-ts 10.1.0.0/16 esp aes128-sha1
";

#[test]
fn the_standby_holds_the_isakmp_sa_and_its_ipsec_sas_inactive() {
    if !can_bind_both("127.0.0.8", "127.0.0.9") || !can_bind_both("127.0.0.10", "127.0.0.10") {
        return;
    }
    let (fa, fb) = (FakeFastpath::start("v1ha-a"), FakeFastpath::start("v1ha-b"));
    let epoch = Instant::now();
    let node = |addr: &str| parse_text(&V1_RESPONDER.replace("ADDR", addr)).unwrap();
    let sync_port = port();
    let (ha1, ha2) = (ha_config(1, sync_port), ha_config(2, sync_port));
    let now = epoch.elapsed();
    let mut i = IkeRunner::new(parse_text(V1_INITIATOR).unwrap(), None, now, None).unwrap();
    let mut a = IkeRunner::new(node("127.0.0.9"), Some(&fa.path), now, Some(&ha1)).unwrap();
    let mut b = IkeRunner::new(node("127.0.0.10"), Some(&fb.path), now, Some(&ha2)).unwrap();
    assert_eq!(b.v1.role(), HaRole::Standby);
    a.take_over(epoch.elapsed());
    assert_eq!(a.v1.role(), HaRole::Active);
    let mut events = vec![Vec::new(), Vec::new(), Vec::new()];
    held_by_standby(epoch, [&mut i, &mut a, &mut b], &fb, &mut events);
    // The same ISAKMP SA (cookies) on both nodes; nothing refused.
    let cookies = |r: &IkeRunner| {
        let ids = r.v1.sa_ids();
        assert_eq!(ids.len(), 1);
        r.v1.sa(ids[0]).unwrap().cookies()
    };
    assert_eq!(cookies(&b), cookies(&a));
    let st = b.ha_status(epoch.elapsed()).unwrap();
    assert!(st.ha.records_applied >= 1);
    assert_eq!(st.ha.apply_errors, 0);
    // The standby answers nothing and runs no IKEv1 timer.
    assert_eq!(b.v1.poll_timeout(), None);

    // The peer deletes its ISAKMP SA: the active node's delete reaches the standby.
    let now = epoch.elapsed();
    let id = i.v1.sa_ids()[0];
    assert!(i.v1.delete_sa(now, &mut i.rng, id));
    i.drain(now);
    run_until(
        epoch,
        &mut [&mut i, &mut a, &mut b],
        &mut events,
        "the delete reaches the standby and its fast path",
        |_| held(&fb).is_empty(),
    );
    assert!(b.v1.sa_ids().is_empty());
    assert!(a.v1.sa_ids().is_empty());

    // A takeover switches the IKEv1 engine on with IKEv2's.
    drop(a);
    b.take_over(epoch.elapsed());
    assert_eq!(b.v1.role(), HaRole::Active);
    let t = first(&b.events(), "ha_takeover");
    assert_eq!(t["isakmp_sas"].as_u64(), Some(0));
}
