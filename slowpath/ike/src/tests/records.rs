//! IKE SA records (`IkeSaRecord`): an SA in any state goes through bytes into a fresh engine,
//! which carries it on with the peer as if nothing happened; bad bytes are errors.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::harness::*;
use crate::config::IkeConfig;
use crate::engine::{Engine, EngineSettings};
use crate::message::{ExchangeType, NON_ESP_MARKER};
use crate::pool::PoolConfig;
use crate::sa::{IkeSaRecord, RecordError};

/// Replaces a node's engine with a new one (its own clock: `clock` ahead of the world's)
/// that has every SA of the old one through encode and decode.
fn move_through_records(
    w: &mut World,
    a: bool,
    config: IkeConfig,
    pools: Vec<PoolConfig>,
    shift: u64,
) -> Engine {
    let now = w.now;
    let old = if a { &mut w.a.engine } else { &mut w.b.engine };
    let bytes: Vec<Vec<u8>> = old
        .sa_ids()
        .into_iter()
        .map(|id| old.export_sa(id, now).expect("a record").encode())
        .collect();
    let mut fresh = Engine::new(
        vec![config],
        pools,
        EngineSettings::default(),
        &mut w.rng,
        now,
    );
    for b in &bytes {
        let record = IkeSaRecord::decode(b).expect("decodes");
        fresh.import_sa(record, now, shift).expect("imports");
    }
    std::mem::replace(if a { &mut w.a.engine } else { &mut w.b.engine }, fresh)
}

/// IKE_SA_INIT messages a node sent since `from`.
fn inits_sent(n: &Node, from: usize) -> usize {
    n.sent[from..]
        .iter()
        .filter(|p| {
            let b = p
                .bytes
                .strip_prefix(&NON_ESP_MARKER[..])
                .unwrap_or(&p.bytes);
            b.get(18) == Some(&ExchangeType::IKE_SA_INIT.0)
        })
        .count()
}

fn pfs(dh: u16, bits: u16) -> crate::crypto::transform::Suite {
    crate::crypto::transform::Suite {
        dh: Some(dh),
        ..esp_gcm(bits)
    }
}

#[test]
fn established_sa_carries_on_after_a_round_trip() {
    let (a, b) = configs(
        ike_gcm128_ecp256(),
        pfs(crate::crypto::transform::ECP_256, 128),
    );
    let mut w = World::new(a, b.clone());
    let id = w.establish();
    let bid = w.b.sa_id();
    let before = w.b.engine.sa(bid).unwrap().core.clone().unwrap();
    let (sent_a, sent_b) = (w.a.sent.len(), w.b.sent.len());
    move_through_records(&mut w, false, b, vec![], 1 << 20);
    let nid = w.b.sa_id();
    let after = w.b.engine.sa(nid).unwrap().core.clone().unwrap();
    assert_eq!(after.seal_counter, before.seal_counter + (1 << 20));
    assert_eq!(after.peer_next_request, before.peer_next_request);
    assert_eq!(after.next_request, before.next_request);
    assert_eq!(*after.keys.sk_ei, *before.keys.sk_ei);
    // A CHILD SA rekey with PFS from the peer, an IKE SA rekey from the moved side, DPD.
    let c = w.a.only_child().child;
    w.a.engine.rekey_child(w.now, &mut w.rng, id, c.id);
    w.run();
    assert_eq!(w.b.rekeyed.len(), 1);
    w.assert_children_match();
    assert!(w.b.engine.rekey_ike(w.now, &mut w.rng, nid));
    w.run();
    w.pass(Duration::from_secs(35));
    assert!(w.a.ike_down.is_empty() && w.b.ike_down.is_empty());
    assert_eq!(inits_sent(&w.a, sent_a) + inits_sent(&w.b, sent_b), 0);
    w.a.engine.delete_ike(w.now, &mut w.rng, id);
    w.run();
    assert_eq!(w.b.ike_down.len(), 1);
}

#[test]
fn child_rekey_in_flight_carries_on() {
    let (a, b) = configs(
        ike_gcm256_x25519(),
        pfs(crate::crypto::transform::CURVE25519, 256),
    );
    let mut w = World::new(a.clone(), b);
    let id = w.establish();
    let c = w.a.only_child().child;
    w.a.engine.rekey_child(w.now, &mut w.rng, id, c.id);
    w.collect();
    // The request is on the wire; A's D-H private value moves with the record.
    move_through_records(&mut w, true, a, vec![], 1000);
    w.run();
    assert_eq!(w.a.rekeyed.len(), 1);
    w.assert_children_match();
    // The retransmission deadline moved too: nothing is sent again.
    w.advance(Duration::from_secs(1));
    assert!(w.wire.is_empty());
}

#[test]
fn lost_request_is_retransmitted_by_the_importer() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a.clone(), b);
    let id = w.establish();
    let c = w.a.only_child().child;
    w.a.engine.rekey_child(w.now, &mut w.rng, id, c.id);
    w.collect();
    w.wire.clear();
    move_through_records(&mut w, true, a, vec![], 1000);
    w.pass(Duration::from_secs(10));
    assert_eq!(w.a.rekeyed.len(), 1);
    w.assert_children_match();
}

#[test]
fn ike_rekey_in_flight_carries_on_and_moves_the_record() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a.clone(), b);
    let id = w.establish();
    let old = w.a.engine.export_sa(id, w.now).unwrap().spis();
    w.a.engine.take_changed();
    w.a.engine.rekey_ike(w.now, &mut w.rng, id);
    w.collect();
    let sent = w.a.sent.len();
    move_through_records(&mut w, true, a, vec![], 1000);
    w.a.engine.take_changed();
    w.run();
    let nid = w.a.sa_id();
    let new = w.a.engine.export_sa(nid, w.now).unwrap().spis();
    assert_ne!(new, old);
    let changes = w.a.engine.take_changed();
    assert_eq!(changes.removed, vec![old]);
    assert_eq!(changes.changed, vec![nid]);
    assert_eq!(inits_sent(&w.a, sent), 0);
    let c = w.a.only_child().child;
    w.a.engine.rekey_child(w.now, &mut w.rng, nid, c.id);
    w.run();
    assert_eq!(w.a.rekeyed.len(), 1);
    w.assert_children_match();
}

#[test]
fn nat_state_and_keepalives_carry_on() {
    let (mut a, mut b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    a.dpd.interval = Duration::from_secs(10);
    b.dpd.interval = Duration::from_secs(10);
    let mut w = World::new(a.clone(), b);
    w.nat = true;
    w.establish();
    move_through_records(&mut w, true, a, vec![], 1000);
    let sa = w.a.engine.sa(w.a.sa_id()).unwrap();
    assert!(sa.nat.local_behind_nat && sa.keepalive_at.is_some());
    assert_eq!(sa.local.port(), 4500);
    let sent = w.a.sent.len();
    w.pass(Duration::from_secs(25));
    assert!(w.a.sent[sent..].iter().any(|p| p.bytes == [0xff]));
    assert!(w.a.ike_down.is_empty() && w.b.ike_down.is_empty());
    assert_eq!(w.b.engine.counters().total_dropped(), 0);
}

/// A asks B for a virtual IP from pool `vpn` (10.9.0.1 to 10.9.0.`last`): the world, B's
/// config and the pool (for a fresh engine of B's).
fn vip_world(last: u8) -> (World, IkeConfig, PoolConfig) {
    let pool = PoolConfig {
        name: "vpn".into(),
        first: Ipv4Addr::new(10, 9, 0, 1),
        last: Ipv4Addr::new(10, 9, 0, last),
        netmask: None,
        dns: vec![],
        nbns: vec![],
        dhcp: vec![],
        subnets: vec![],
    };
    let (mut a, mut b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    a.virtual_ip.request = true;
    b.virtual_ip.pool = Some("vpn".into());
    b.children[0].remote_ts = vec![ts("10.9.0.0", 24)];
    let w = World::with(a, b.clone(), vec![pool.clone()], EngineSettings::default());
    (w, b, pool)
}

#[test]
fn virtual_ip_lease_moves_with_the_sa() {
    let (mut w, b, pool) = vip_world(9);
    let id = w.establish();
    move_through_records(&mut w, false, b, vec![pool], 1000);
    let addr = Ipv4Addr::new(10, 9, 0, 1);
    let nid = w.b.sa_id();
    let sa = w.b.engine.sa(nid).unwrap();
    assert_eq!(sa.virtual_ip, Some(IpAddr::V4(addr)));
    assert_eq!(w.b.engine.pools()["vpn"].leases[&addr].sa, Some(nid));
    // The lease goes offline when the peer deletes the SA.
    w.a.engine.delete_ike(w.now, &mut w.rng, id);
    w.run();
    assert!(w.b.engine.pools()["vpn"].leases[&addr].sa.is_none());
}

#[test]
fn an_imported_lease_is_held_until_the_synced_delete() {
    let (mut w, b, pool) = vip_world(4);
    w.establish();
    let spis = w.b.engine.sa(w.b.sa_id()).unwrap().spis().unwrap();
    // The standby's engine: the lease comes with the record.
    move_through_records(&mut w, false, b, vec![pool], 1000);
    let nid = w.b.sa_id();
    let v = &w.b.engine.pool_views()[0];
    assert_eq!(
        (v.name.as_str(), v.size, v.leased, v.offline, v.free),
        ("vpn", 4, 1, 0, 3)
    );
    let lease = &v.leases[0];
    assert_eq!(lease.address, Ipv4Addr::new(10, 9, 0, 1));
    assert_eq!(
        lease.identity,
        crate::config::Identity::fqdn("a.example.net")
    );
    assert_eq!((lease.ike_sa, lease.spis), (Some(nid), Some(spis)));
    // Never handed out twice: another identity gets the next address.
    let other = crate::config::Identity::fqdn("c.example.net");
    let mut taken = w.b.engine.pools()["vpn"].clone();
    assert_eq!(taken.acquire(&other, 99), Some(Ipv4Addr::new(10, 9, 0, 2)));
    // The active node's delete, synced: the lease goes offline (kept for its identity).
    assert_eq!(w.b.engine.remove_sa_by_spis(spis.0, spis.1), Some(nid));
    let v = &w.b.engine.pool_views()[0];
    assert_eq!((v.leased, v.offline, v.free), (0, 1, 4));
    assert_eq!((v.leases[0].ike_sa, v.leases[0].spis), (None, None));
}

#[test]
fn instants_are_rebased_on_the_importers_clock() {
    let (mut a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    a.dpd.interval = Duration::from_secs(30);
    let mut w = World::new(a.clone(), b);
    let id = w.establish();
    let due = w.a.engine.poll_timeout().expect("DPD is due some time");
    let record = w.a.engine.export_sa(id, w.now).unwrap();
    // The importer's clock reads 1000 s more at the same moment.
    let later = Duration::from_secs(1000);
    let mut fresh = Engine::new(
        vec![a],
        vec![],
        EngineSettings::default(),
        &mut w.rng,
        w.now + later,
    );
    let bytes = record.encode();
    let nid = fresh
        .import_sa(IkeSaRecord::decode(&bytes).unwrap(), w.now + later, 0)
        .unwrap();
    assert_eq!(fresh.poll_timeout(), Some(due + later));
    let sa = fresh.sa(nid).unwrap();
    assert_eq!(sa.established_at, Some(w.now + later));
    // On a clock that started after the SA was made, the past is its zero.
    let early = IkeSaRecord::decode(&bytes)
        .unwrap()
        .into_sa(Duration::ZERO, 0);
    assert_eq!(early.established_at, Some(Duration::ZERO));
}

#[test]
fn importing_again_replaces_the_sa() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a, b);
    let id = w.establish();
    let record = w.a.engine.export_sa(id, w.now).unwrap();
    let spis = record.spis();
    let again = w.a.engine.import_sa(record, w.now, 10).unwrap();
    assert_eq!(again, id);
    assert_eq!(w.a.engine.sa_ids(), vec![id]);
    // A synced delete forgets it without a word to the peer.
    w.a.engine.take_changed();
    assert_eq!(w.a.engine.remove_sa_by_spis(spis.0, spis.1), Some(id));
    assert!(w.a.engine.sa_ids().is_empty());
    assert!(w.a.engine.poll_action().is_none());
    assert_eq!(w.a.engine.take_changed().removed, vec![spis]);
    assert_eq!(w.a.engine.remove_sa_by_spis(spis.0, spis.1), None);
}

#[test]
fn changes_follow_the_exchanges() {
    let (mut a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    a.dpd.interval = Duration::from_secs(5);
    let mut w = World::new(a, b);
    let id = w.establish();
    let spis = w.a.engine.export_sa(id, w.now).unwrap().spis();
    assert_eq!(w.a.engine.take_changed().changed, vec![id]);
    assert_eq!(w.a.engine.take_changed(), Default::default());
    // A DPD exchange moves the message IDs.
    w.pass(Duration::from_secs(7));
    assert_eq!(w.a.engine.take_changed().changed, vec![id]);
    w.a.engine.delete_ike(w.now, &mut w.rng, id);
    w.run();
    let changes = w.a.engine.take_changed();
    assert!(changes.changed.is_empty());
    assert_eq!(changes.removed, vec![spis]);
}

#[test]
fn bad_records_are_errors() {
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a, b);
    let id = w.establish();
    let bytes = w.a.engine.export_sa(id, w.now).unwrap().encode();
    assert!(IkeSaRecord::decode(&bytes).is_ok());
    assert_eq!(IkeSaRecord::decode(&[]).unwrap_err(), RecordError::Empty);
    for n in 1..bytes.len() {
        assert!(IkeSaRecord::decode(&bytes[..n]).is_err(), "cut at {n}");
    }
    let mut v = bytes.clone();
    v[0] = 9;
    assert_eq!(
        IkeSaRecord::decode(&v).unwrap_err(),
        RecordError::Version(9)
    );
    let mut v = bytes.clone();
    v.push(0);
    assert!(IkeSaRecord::decode(&v).is_err());
    // Any octet changed: an error or a record, never a panic.
    for i in 1..bytes.len() {
        let mut v = bytes.clone();
        v[i] ^= 0xa5;
        let _ = IkeSaRecord::decode(&v);
    }
    // A record of a connection this node does not have is refused.
    let (other, _) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut e = Engine::new(
        vec![IkeConfig {
            name: "elsewhere".into(),
            ..other
        }],
        vec![],
        EngineSettings::default(),
        &mut w.rng,
        w.now,
    );
    let r = IkeSaRecord::decode(&bytes).unwrap();
    assert!(matches!(
        e.import_sa(r, w.now, 0),
        Err(RecordError::UnknownConfig(_))
    ));
}

#[test]
fn nested_rekey_collisions_are_refused() {
    use crate::sa::core::{IkeCollision, Pending};
    let (a, b) = configs(ike_gcm128_ecp256(), esp_gcm(128));
    let mut w = World::new(a, b);
    let id = w.establish();
    w.a.engine.rekey_ike(w.now, &mut w.rng, id);
    w.collect();
    let sa = w.a.engine.sa(id).unwrap().clone();
    let core = sa.core.clone().unwrap();
    let request = core.outstanding.clone().unwrap();
    // A colliding rekey's keys have no request of their own: what a real SA holds.
    let mut nested = core.clone();
    nested.outstanding = None;
    for depth in 0..3 {
        let mut o = request.clone();
        let Pending::RekeyIke(r) = &mut o.pending else {
            panic!("an IKE rekey is in flight")
        };
        r.collision = Some(Box::new(IkeCollision {
            core: nested,
            peer_ni: vec![1; 32],
            our_nr: vec![2; 32],
        }));
        nested = core.clone();
        nested.outstanding = Some(o);
        let mut s = sa.clone();
        s.core = Some(nested.clone());
        let bytes = IkeSaRecord::export(&s, w.now).unwrap().encode();
        assert_eq!(
            IkeSaRecord::decode(&bytes).is_ok(),
            depth == 0,
            "depth {depth}"
        );
    }
}
