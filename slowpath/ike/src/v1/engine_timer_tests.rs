//! The IKEv1 engine's timers between two engines on a fake clock: DPD probes of an idle
//! peer, answered or not (the ACK's sequence number, the peer found dead, `restart`), ESP
//! activity that defers them, the deadline index checked against a scan of every SA, and
//! ISAKMP SA reauthentication by either side with the IPsec SAs kept.

use std::time::Duration;

use super::{pair_configs, World};
use crate::action::DownReason;
use crate::config::{DpdAction, IkeConfig, IkeVersion};
use crate::tests::harness::esp_cbc;
use crate::v1::wire::{self, exchange, flags};

const S: fn(u64) -> Duration = Duration::from_secs;

/// `c` probes after `interval`, waits `timeout` for each ACK and sends `retries` more.
fn with_dpd(mut c: IkeConfig, interval: u64, timeout: u64, retries: u32) -> IkeConfig {
    c.dpd.interval = S(interval);
    if let IkeVersion::V1(v) = &mut c.ike_version {
        v.dpd_retransmit = Some(S(timeout));
        v.dpd_retries = retries;
    }
    c
}

fn is_informational(bytes: &[u8]) -> bool {
    let h = wire::parse_header(bytes).unwrap();
    h.exchange == exchange::INFORMATIONAL && h.flags & flags::ENCRYPTION != 0
}

/// A tunnel up between A (probing as configured) and B (not probing).
fn up(a: IkeConfig, b: IkeConfig) -> World {
    let mut w = World::new(a, b);
    w.initiate();
    w.run();
    assert_eq!((w.seen_a.up, w.seen_b.up), (1, 1));
    w
}

/// Advances the clock a second at a time for `secs`, delivering what each step sends
/// through `edit`; returns how many encrypted Informationals A sent.
fn idle(w: &mut World, secs: u64, mut edit: impl FnMut(&super::Packet) -> bool) -> usize {
    let mut sent = 0;
    for _ in 0..secs {
        w.advance(S(1));
        w.collect();
        let a_ip = w.a_addr.ip();
        sent += w
            .wire
            .iter()
            .filter(|p| p.from.ip() == a_ip && is_informational(&p.bytes))
            .count();
        w.run_with(|p| edit(&p).then_some(p));
    }
    sent
}

#[test]
fn an_idle_peer_is_probed_and_answers() {
    let (a, b) = pair_configs(esp_cbc());
    let mut w = up(with_dpd(a, 5, 2, 2), b);
    // Nothing for 5 s: an R-U-THERE; B's ACK ends the probe, and the next one comes one
    // interval later.
    assert_eq!(idle(&mut w, 5, |_| true), 1);
    assert_eq!(idle(&mut w, 4, |_| true), 0);
    assert_eq!(idle(&mut w, 1, |_| true), 1);
    assert!(w.seen_a.down.is_empty());
    assert_eq!(w.a.total_counters().total_dropped(), 0);
    assert_eq!(w.b.total_counters().total_dropped(), 0);
}

#[test]
fn a_silent_peer_is_dead_after_its_retries() {
    let (a, b) = pair_configs(esp_cbc());
    let mut w = up(with_dpd(a, 5, 2, 2), b);
    let b_ip = w.b.sa(w.b.sa_ids()[0]).unwrap().local.ip();
    // B hears nothing more: R-U-THERE at 5 s, again at 7 s and 9 s, dead at 11 s.
    let sent = idle(&mut w, 10, |p| p.to.ip() != b_ip);
    assert_eq!(sent, 3);
    assert!(w.seen_a.down.is_empty(), "not before the last retry's wait");
    idle(&mut w, 1, |p| p.to.ip() != b_ip);
    assert_eq!(w.seen_a.down, vec![DownReason::PeerDead]);
    assert_eq!(w.seen_a.child_down, vec![DownReason::IkeSaDown]);
    assert!(w.a.sa_ids().is_empty());
}

#[test]
fn restart_initiates_again_once_the_peer_is_dead() {
    let (a, b) = pair_configs(esp_cbc());
    let mut a = with_dpd(a, 5, 1, 1);
    a.dpd.action = DpdAction::Restart;
    let mut w = up(a, b);
    let b_ip = w.b.sa(w.b.sa_ids()[0]).unwrap().local.ip();
    idle(&mut w, 7, |p| p.to.ip() != b_ip);
    assert_eq!(w.seen_a.down, vec![DownReason::PeerDead]);
    // A new Main Mode runs (its first message was lost with the rest): the tunnel is up
    // again, and B's new SA takes the place of its old one.
    idle(&mut w, 3, |_| true);
    assert_eq!(w.seen_a.up, 2);
    assert_eq!(w.a.sa_ids().len(), 1);
}

#[test]
fn esp_from_the_peer_defers_the_probe() {
    let (a, b) = pair_configs(esp_cbc());
    let mut w = up(with_dpd(a, 5, 2, 2), b);
    let id = w.a.sa_ids()[0];
    for _ in 0..3 {
        assert_eq!(idle(&mut w, 4, |_| true), 0);
        w.a.traffic_received(id, w.now);
    }
    assert_eq!(idle(&mut w, 5, |_| true), 1);
}

#[test]
fn the_deadline_index_is_the_scan_of_every_sa() {
    // Several tunnels in every state of their timers; `poll_timeout` and `handle_timeout`
    // compare the index with a scan of every SA each time they run (test builds).
    let (a, b) = pair_configs(esp_cbc());
    let mut a = with_dpd(a, 3, 1, 1);
    a.rekey_time = S(9);
    a.children[0].lifetimes.rekey_time = S(4);
    a.children[0].lifetimes.life_time = S(6);
    let mut w = World::new(a, b);
    for i in 0..6 {
        w.initiate();
        if i % 2 == 0 {
            w.run();
        }
        let scanned =
            w.a.sa_ids()
                .iter()
                .filter_map(|id| w.a.sa(*id).unwrap().deadline())
                .min();
        assert_eq!(w.a.poll_timeout(), scanned);
        idle(&mut w, 2, |_| true);
    }
    idle(&mut w, 20, |_| true);
    assert!(w.a.poll_timeout().is_some());
    let b_ip = w.b.sa(w.b.sa_ids()[0]).unwrap().local.ip();
    idle(&mut w, 40, |p| p.to.ip() != b_ip);
    assert!(
        w.a.sa_ids().is_empty(),
        "every SA found dead: {:?}",
        w.a.status(w.now)
    );
    assert_eq!(w.a.poll_timeout(), None);
}

/// Each side's one ISAKMP SA: its cookies and its IPsec SAs' inbound SPIs.
fn view(e: &crate::v1::engine::V1Engine) -> ((u64, u64), Vec<u32>) {
    let ids = e.sa_ids();
    assert_eq!(ids.len(), 1, "one ISAKMP SA");
    let sa = e.sa(ids[0]).unwrap();
    (sa.cookies(), sa.children.iter().map(|c| c.spi_in).collect())
}

/// A pair in which A (`by_a`) or B (the responder) reauthenticates after 20 s.
fn reauthenticating(by_a: bool) -> (IkeConfig, IkeConfig) {
    let (mut a, mut b) = pair_configs(esp_cbc());
    if by_a {
        a.rekey_time = S(20);
    } else {
        // A responder reauthenticates a peer whose address it knows.
        b.remote_addr = a.local_addr;
        b.rekey_time = S(20);
    }
    (a, b)
}

/// A rekeys its first IPsec SA by a Quick Mode, and neither side drops a message.
fn rekey_first_child(w: &mut World) {
    let id = w.a.sa_ids()[0];
    let child = w.a.sa(id).unwrap().children[0].id;
    assert!(w.a.rekey_child(w.now, &mut w.rng, id, child));
    w.run();
    assert_eq!(w.a.total_counters().total_dropped(), 0);
    assert_eq!(w.b.total_counters().total_dropped(), 0);
}

/// Reauthentication by `reauth_a` or B (B is the responder): a new ISAKMP SA on both
/// sides, the old one gone, the IPsec SAs the same, and a Quick Mode rekey runs under
/// the new one.
fn reauthenticates(by_a: bool) {
    let (a, b) = reauthenticating(by_a);
    let mut w = up(a, b);
    let (a0, b0) = (view(&w.a), view(&w.b));
    assert_eq!(a0.1.len(), 1);
    idle(&mut w, 19, |_| true);
    assert_eq!(view(&w.a), a0, "not before `rekey`");
    idle(&mut w, 1, |_| true);
    let (a1, b1) = (view(&w.a), view(&w.b));
    assert_ne!(a1.0, a0.0, "new cookies");
    assert_eq!(a1.0, b1.0, "both sides on the new ISAKMP SA");
    assert_eq!(
        (a1.1.clone(), b1.1.clone()),
        (a0.1, b0.1),
        "the same IPsec SAs"
    );
    // No new IKE SA and no IPsec SA down for the caller: the tunnel never went away.
    assert_eq!((w.seen_a.up, w.seen_b.up), (1, 1));
    assert!(w.seen_a.down.is_empty() && w.seen_b.down.is_empty());
    assert!(w.seen_a.child_down.is_empty() && w.seen_b.child_down.is_empty());
    assert_eq!(w.a.total_counters().total_dropped(), 0);
    assert_eq!(w.b.total_counters().total_dropped(), 0);
    // The IPsec SA rekeys under the new ISAKMP SA.
    rekey_first_child(&mut w);
    assert_eq!((w.seen_a.rekeyed, w.seen_b.rekeyed), (1, 1));
}

#[test]
fn the_initiator_reauthenticates_and_keeps_the_ipsec_sas() {
    reauthenticates(true);
}

#[test]
fn a_peer_that_reauthenticates_keeps_the_ipsec_sas() {
    reauthenticates(false);
}

/// B's records to a standby engine as the runner sends them: the gone ones, then the changed.
fn mirror(w: &mut World, standby: &mut crate::v1::engine::V1Engine) {
    use crate::v1::record::IsakmpSaRecord;
    let changes = w.b.take_changed();
    for (i, r) in changes.removed {
        standby.remove_sa_by_cookies(i, r);
    }
    for id in changes.changed {
        let record = w.b.export_sa(id, w.now).expect("an SA that changed is up");
        let record = IsakmpSaRecord::decode(&record.encode()).unwrap();
        standby.import_sa(record, w.now).unwrap();
    }
}

/// A reauthentication on an HA pair: the standby ends with the one ISAKMP SA the active node
/// has (new cookies, the same IPsec SAs), not a stale copy under the old cookies, and
/// carries the tunnel on after a takeover.
fn a_reauthentication_reaches_the_standby(by_a: bool) {
    use crate::ha::HaRole;
    let (a, b) = reauthenticating(by_a);
    let mut w = up(a, b.clone());
    let mut standby = crate::v1::engine::V1Engine::new(std::slice::from_ref(&b));
    standby.set_role(HaRole::Standby, w.now, &mut w.rng);
    mirror(&mut w, &mut standby);
    let before = view(&w.b);
    assert_eq!(view(&standby), before);
    for _ in 0..25 {
        idle(&mut w, 1, |_| true);
        mirror(&mut w, &mut standby);
    }
    let after = view(&w.b);
    assert_ne!(after.0, before.0, "reauthenticated");
    assert_eq!(
        view(&standby),
        after,
        "the standby holds what the active node holds"
    );
    standby.set_role(HaRole::Active, w.now, &mut w.rng);
    w.b = standby;
    rekey_first_child(&mut w);
    assert_eq!(w.seen_a.rekeyed, 1);
}

#[test]
fn a_peer_reauthentication_reaches_the_standby() {
    a_reauthentication_reaches_the_standby(true);
}

#[test]
fn our_reauthentication_reaches_the_standby() {
    a_reauthentication_reaches_the_standby(false);
}

/// The reauthentication's time travels in the record: the node that takes the SA over (a
/// standby, or a slow path restarted from its checkpoint) reauthenticates when the old one
/// would have, and not before.
#[test]
fn the_reauthentication_time_survives_a_takeover() {
    use crate::ha::HaRole;
    let (a, b) = reauthenticating(false);
    let mut w = up(a, b.clone());
    let mut standby = crate::v1::engine::V1Engine::new(std::slice::from_ref(&b));
    standby.set_role(HaRole::Standby, w.now, &mut w.rng);
    idle(&mut w, 5, |_| true);
    mirror(&mut w, &mut standby);
    let before = view(&w.b);
    standby.set_role(HaRole::Active, w.now, &mut w.rng);
    w.b = standby;
    idle(&mut w, 14, |_| true);
    assert_eq!(view(&w.b), before, "not before `rekey`");
    idle(&mut w, 1, |_| true);
    let after = view(&w.b);
    assert_ne!(after.0, before.0, "reauthenticated by the new node");
    assert_eq!((after.1, view(&w.a).0), (before.1, after.0));
}
