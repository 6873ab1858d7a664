//! One virtual router on a simulated LAN: elections, preemption, timers, tracking, switchover.
//! Timings are exact: the clock is fake, and the expected values come from the RFC formulas
//! written out here (1 s interval: Master_Down_Interval = 3 s + (256 - priority)/256 s).

use super::*;
use crate::instance::Counters;
use crate::track::TrackRule;

/// Master_Down_Interval for a 1 s Master_Adver_Interval (exact: 1 s / 256 is a whole number of
/// nanoseconds).
pub(super) fn mdi(priority: u64) -> Duration {
    secs(3) + skew(priority)
}

/// Skew_Time for a 1 s Master_Adver_Interval.
pub(super) fn skew(priority: u64) -> Duration {
    Duration::from_nanos((256 - priority) * 1_000_000_000 / 256)
}

/// A LAN of standalone VRID 1 instances with these priorities (node n at 10.1.0.{n+1}).
fn lan(priorities: &[u8], tweak: impl Fn(usize, &mut InstanceConfig)) -> Sim {
    let mut sim = Sim::new();
    for (n, p) in priorities.iter().enumerate() {
        let mut c = cfg(1, *p);
        tweak(n, &mut c);
        sim.add_one(c, addr(1, n as u8));
    }
    sim
}

fn no_tweak(_: usize, _: &mut InstanceConfig) {}

#[test]
fn highest_priority_wins_after_its_master_down_interval() {
    let mut sim = lan(&[100, 150, 200], no_tweak);
    sim.start_all();
    for n in 0..3 {
        assert_eq!(sim.state(n), State::Backup);
    }
    sim.run_until(secs(60));
    assert_eq!(sim.masters(0), vec![2]);
    assert_eq!(sim.became_master(2), Some((mdi(200), Reason::MasterDown)));
    // It advertises every second from then on, and nobody else ever advertised.
    let adverts = sim.adverts(2);
    assert_eq!(adverts[0], (mdi(200), 200));
    assert_eq!(adverts[1], (mdi(200) + secs(1), 200));
    assert!(sim.adverts(0).is_empty() && sim.adverts(1).is_empty());
    for n in 0..2 {
        assert_eq!(sim.transitions(n).len(), 1, "only Initialize -> Backup");
        let st = sim.instance(n).status();
        assert_eq!(st.master_address, Some(addr(1, 2)));
        assert_eq!(st.master_priority, Some(200));
    }
    // The master's own adverts loop back and are counted, not processed.
    assert!(sim.instance(2).counters().own_advert > 50);
    assert_eq!(
        sim.instance(0).counters().adverts_received,
        adverts.len() as u64
    );
}

#[test]
fn status_reports_timers() {
    let mut sim = lan(&[100, 200], no_tweak);
    sim.start_all();
    sim.run_until(secs(10));
    let b = sim.instance(0).status();
    assert_eq!(b.state, State::Backup);
    assert_eq!((b.configured_priority, b.effective_priority), (100, 100));
    assert_eq!(b.master_adver_interval, secs(1));
    assert_eq!(b.skew_time, skew(100));
    assert_eq!(b.master_down_interval, mdi(100));
    // The last advert came at mdi(200) + 6 s.
    let last = mdi(200) + secs(6);
    assert_eq!(b.master_down_at, Some(last + mdi(100)));
    assert_eq!(b.master_down_in(secs(10)), Some(last + mdi(100) - secs(10)));
    let m = sim.instance(1).status();
    assert_eq!(m.master_address, Some(addr(1, 1)));
    assert_eq!(m.next_advert_at, Some(last + secs(1)));
    let t = m.last_transition.unwrap();
    assert_eq!(
        (t.from, t.to, t.reason, t.at),
        (State::Backup, State::Master, Reason::MasterDown, mdi(200))
    );
}

#[test]
fn equal_priority_the_higher_address_wins() {
    // Both start together, both time out together, both become master: the RFC rule settles it.
    let mut sim = lan(&[100, 100], no_tweak);
    sim.start_all();
    sim.run_until(secs(30));
    assert_eq!(sim.masters(0), vec![1], "10.1.0.2 > 10.1.0.1");
    let t0 = sim.transitions(0);
    assert_eq!(
        t0.last().unwrap(),
        &(mdi(100), 0, State::Master, State::Backup, Reason::Preempted)
    );
    assert_eq!(sim.transitions(1).len(), 2);
}

#[test]
fn equal_priority_backup_does_not_preempt() {
    // The lower address is master first; the higher address joining later stays backup
    // (RFC 5798 §6.4.2: an advert of equal priority resets the timer).
    let mut sim = lan(&[100, 100], no_tweak);
    sim.start(0);
    sim.run_until(secs(10));
    sim.start(1);
    sim.run_until(secs(60));
    assert_eq!(sim.masters(0), vec![0]);
}

#[test]
fn preemption_on() {
    let mut sim = lan(&[200, 100], no_tweak);
    sim.start(1);
    sim.run_until(secs(10));
    assert_eq!(sim.became_master(1), Some((mdi(100), Reason::MasterDown)));
    sim.start(0);
    sim.run_until(secs(60));
    // Node 0 discards the lower-priority adverts and its timer, started at 10 s, runs out.
    assert_eq!(
        sim.became_master(0),
        Some((secs(10) + mdi(200), Reason::Preempting))
    );
    let last = sim.transitions(1).last().unwrap().clone();
    assert_eq!(
        last,
        (
            secs(10) + mdi(200),
            0,
            State::Master,
            State::Backup,
            Reason::Preempted
        )
    );
    assert_eq!(sim.masters(0), vec![0]);
}

#[test]
fn preemption_off() {
    let mut sim = lan(&[200, 100], |n, c| c.preempt = n != 0);
    sim.start(1);
    sim.run_until(secs(10));
    sim.start(0);
    sim.run_until(secs(30));
    assert_eq!(
        sim.masters(0),
        vec![1],
        "a non-preempting backup leaves a live master alone"
    );
    // Until the master dies: its last advert was at mdi(100) + 26 s.
    sim.kill(1);
    sim.run_until(secs(60));
    let last = mdi(100) + secs(26);
    assert_eq!(
        sim.became_master(0),
        Some((last + mdi(200), Reason::MasterDown))
    );
}

#[test]
fn preemption_delay_keeps_the_old_master_meanwhile() {
    let mut sim = lan(&[200, 100], |n, c| {
        if n == 0 {
            c.preempt_delay = secs(5);
        }
    });
    sim.start(1);
    sim.run_until(secs(10));
    // Node 0 recovers (a new process) at 10 s.
    let mut c = cfg(1, 200);
    c.preempt_delay = secs(5);
    sim.restart(0, Unit::One(Box::new(Instance::new(c, addr(1, 0)))));
    let first = mdi(100) + secs(7); // the first advert node 0 hears: 10.609375 s
    sim.run_until(first);
    assert_eq!(sim.instance(0).status().preempt_at, Some(first + secs(5)));
    // During the delay the master's adverts are accepted: the old master stays master.
    sim.run_until(first + secs(5) - ms(1));
    assert_eq!(sim.masters(0), vec![1]);
    assert_eq!(sim.state(0), State::Backup);
    sim.run_until(secs(60));
    // The advert at first + 5 s is the first one discarded; the one before it set the timer.
    let takeover = first + secs(4) + mdi(200);
    assert_eq!(sim.became_master(0), Some((takeover, Reason::Preempting)));
    assert_eq!(sim.masters(0), vec![0]);
}

#[test]
fn owner_takes_over_at_once() {
    let mut sim = lan(&[255, 100], no_tweak);
    sim.start(1);
    sim.run_until(secs(10));
    sim.start(0);
    assert_eq!(
        sim.became_master(0),
        Some((secs(10), Reason::Priority255Owner))
    );
    assert_eq!(sim.state(1), State::Backup);
    let t = sim.transitions(1);
    assert_eq!(
        t.last().unwrap(),
        &(secs(10), 0, State::Master, State::Backup, Reason::Preempted)
    );
    sim.run_until(secs(30));
    assert_eq!(sim.masters(0), vec![0]);
}

#[test]
fn owner_preempts_even_without_preempt_mode() {
    let mut sim = lan(&[255, 100], |n, c| c.preempt = n != 0);
    // The owner is back after a track that lowered it; see tracking tests. Here: a plain start.
    sim.start(1);
    sim.run_until(secs(10));
    sim.start(0);
    assert_eq!(sim.masters(0), vec![0]);
}

#[test]
fn master_death_skew_orders_the_backups() {
    let mut sim = lan(&[250, 200, 100], no_tweak);
    sim.start_all();
    sim.run_until(secs(20));
    assert_eq!(sim.masters(0), vec![0]);
    // Its last advert before dying at 20 s.
    let last = mdi(250) + secs(16);
    assert!(last < secs(20) && last + secs(1) > secs(20));
    sim.kill(0);
    sim.run_until(secs(60));
    let t = sim.became_master(1).unwrap();
    assert_eq!(t, (last + mdi(200), Reason::MasterDown));
    // Within one Master_Down_Interval of the death.
    assert!(t.0 - secs(20) < mdi(200));
    // The priority-100 backup would have fired at last + mdi(100), later: it never did.
    assert!(last + mdi(200) < last + mdi(100));
    assert_eq!(sim.became_master(2), None);
    assert_eq!(sim.masters(0), vec![1]);
}

#[test]
fn shutdown_gives_a_fast_takeover_by_priority_zero() {
    let mut sim = lan(&[250, 200, 100], no_tweak);
    sim.start_all();
    sim.run_until(secs(20));
    sim.shutdown(0);
    assert_eq!(sim.adverts(0).last(), Some(&(secs(20), 0)));
    assert_eq!(sim.state(0), State::Initialize);
    sim.run_until(secs(40));
    // Skew_Time only, not Master_Down_Interval.
    assert_eq!(
        sim.became_master(1),
        Some((secs(20) + skew(200), Reason::PriorityZeroReceived))
    );
    assert_eq!(sim.became_master(2), None);
    assert_eq!(sim.instance(0).counters().priority_zero_sent, 1);
    assert_eq!(sim.instance(2).counters().priority_zero_received, 1);
}

#[test]
fn master_answers_priority_zero_with_an_advert() {
    // A backup that shuts down sends nothing; a master hearing priority 0 from another
    // (split-brain leftover) answers at once.
    let mut sim = lan(&[200, 100], no_tweak);
    sim.start_all();
    sim.run_until(secs(10));
    let before = sim.adverts(0).len();
    // Make node 1 master briefly by forcing node 0 back.
    sim.cut(0, 1);
    sim.run_until(secs(20));
    assert_eq!(sim.masters(0), vec![0, 1]);
    sim.heal(0, 1);
    sim.shutdown(1);
    assert_eq!(sim.adverts(0).last(), Some(&(secs(20), 200)));
    assert!(sim.adverts(0).len() > before);
}

#[test]
fn v3_backup_learns_the_masters_interval() {
    // Master advertises every 50 cs; the backup is configured with 200 cs.
    let mut sim = lan(&[200, 100], |n, c| {
        c.advert_interval_cs = if n == 0 { 50 } else { 200 }
    });
    sim.start(0);
    sim.run_until(secs(5));
    sim.start(1);
    sim.run_until(secs(20));
    let st = sim.instance(1).status();
    assert_eq!(st.master_adver_interval, ms(500));
    // Master_Down_Interval = 3 * 0.5 s + (156 * 0.5 s) / 256.
    let learned_mdi = ms(1500) + Duration::from_nanos(156 * 500_000_000 / 256);
    assert_eq!(st.master_down_interval, learned_mdi);
    let last = *sim.adverts(0).last().unwrap();
    sim.kill(0);
    sim.run_until(secs(40));
    assert_eq!(
        sim.became_master(1),
        Some((last.0 + learned_mdi, Reason::MasterDown))
    );
    // As master it advertises its own interval.
    let a = sim.adverts(1);
    assert_eq!(a[1].0 - a[0].0, secs(2));
}

fn v2(n: usize, c: &mut InstanceConfig) {
    c.version = Version::V2;
    if n == 1 {
        c.advert_interval_cs = 200;
    }
}

#[test]
fn v2_interval_mismatch_is_dropped() {
    let mut sim = lan(&[200, 100], v2);
    sim.start_all();
    sim.run_until(secs(30));
    // Node 1 drops every advert of node 0 and becomes master after its own interval:
    // v2 Master_Down_Interval = 3 * 2 s + (256 - 100)/256 s.
    assert_eq!(
        sim.became_master(1),
        Some((secs(6) + skew(100), Reason::MasterDown))
    );
    assert!(sim.instance(1).counters().interval_mismatch > 0);
    assert!(sim.instance(0).counters().interval_mismatch > 0);
    assert_eq!(sim.instance(1).counters().adverts_received, 0);
    assert_eq!(
        sim.masters(0),
        vec![0, 1],
        "RFC 3768: two masters rather than mixed timers"
    );
}

#[test]
fn v2_election_and_skew() {
    let mut sim = lan(&[200, 100], |_, c| {
        c.version = Version::V2;
        c.advert_interval_cs = 200;
    });
    sim.start_all();
    sim.run_until(secs(30));
    // v2 Skew_Time is (256 - p)/256 s whatever the interval.
    let mdi_v2 = |p: u64| secs(6) + skew(p);
    assert_eq!(
        sim.became_master(0),
        Some((mdi_v2(200), Reason::MasterDown))
    );
    let last = *sim.adverts(0).last().unwrap();
    sim.kill(0);
    sim.run_until(secs(60));
    assert_eq!(
        sim.became_master(1),
        Some((last.0 + mdi_v2(100), Reason::MasterDown))
    );
}

#[test]
fn lost_adverts() {
    let mut sim = lan(&[200, 100], no_tweak);
    sim.start_all();
    sim.run_until(secs(10));
    // Two lost adverts in a row are within Master_Down_Interval.
    sim.set_drop(|t, _, _, _| t > secs(10) && t < secs(12));
    sim.run_until(secs(20));
    assert_eq!(sim.masters(0), vec![0]);
    // Four are not: the backup takes over, then gives the place back (preemption).
    let last_heard = mdi(200) + secs(16);
    sim.set_drop(move |t, _, _, _| t > secs(20) && t < secs(24) + ms(500));
    sim.run_until(secs(40));
    let t1 = sim.transitions(1);
    assert!(
        t1.contains(&(
            last_heard + mdi(100),
            0,
            State::Backup,
            State::Master,
            Reason::MasterDown
        )),
        "{t1:?}"
    );
    assert_eq!(sim.masters(0), vec![0]);
}

#[test]
fn tracking_weight_hands_over_and_back() {
    let mut sim = lan(&[200, 150], |n, c| {
        if n == 0 {
            c.tracks = vec![TrackRule::weighted("uplink", 100)];
        }
    });
    sim.start_all();
    sim.run_until(secs(20) + ms(500));
    let last_200 = mdi(200) + secs(17);
    sim.track(0, "uplink", false);
    // The master tells at once.
    assert_eq!(sim.adverts(0).last(), Some(&(secs(20) + ms(500), 100)));
    assert_eq!(sim.instance(0).status().effective_priority, 100);
    assert_eq!(
        sim.instance(0).status().tracks_down,
        vec!["uplink".to_string()]
    );
    sim.run_until(secs(40));
    // Node 1 discards the priority-100 adverts and preempts when its timer runs out.
    let takeover = last_200 + mdi(150);
    assert_eq!(sim.became_master(1), Some((takeover, Reason::Preempting)));
    assert_eq!(sim.masters(0), vec![1]);
    // Back up: node 0 is 200 again and preempts the same way.
    sim.track(0, "uplink", true);
    sim.run_until(secs(60));
    // Its timer was set by the last advert it accepted, at priority 100.
    let last_150 = takeover + secs(16);
    assert_eq!(
        sim.became_master(0),
        Some((last_150 + mdi(100), Reason::Preempting))
    );
    assert_eq!(sim.masters(0), vec![0]);
}

#[test]
fn tracking_fault_and_recovery() {
    let mut sim = lan(&[200, 150], |n, c| {
        if n == 0 {
            c.tracks = vec![TrackRule::fault("link")];
        }
    });
    sim.start_all();
    sim.run_until(secs(20) + ms(500));
    sim.track(0, "link", false);
    assert_eq!(sim.state(0), State::Fault);
    assert_eq!(
        sim.adverts(0).last(),
        Some(&(secs(20) + ms(500), 0)),
        "priority 0 first"
    );
    assert_eq!(
        sim.transitions(0).last().unwrap(),
        &(
            secs(20) + ms(500),
            0,
            State::Master,
            State::Fault,
            Reason::TrackDown("link".into())
        )
    );
    sim.run_until(secs(30));
    assert_eq!(
        sim.became_master(1),
        Some((secs(20) + ms(500) + skew(150), Reason::PriorityZeroReceived))
    );
    // In Fault nothing is sent and nothing is due.
    assert_eq!(sim.instance(0).next_deadline(), None);
    assert_eq!(sim.adverts(0).last().unwrap().0, secs(20) + ms(500));
    sim.track(0, "link", true);
    assert_eq!(
        sim.transitions(0).last().unwrap(),
        &(secs(30), 0, State::Fault, State::Backup, Reason::TrackUp)
    );
    sim.run_until(secs(60));
    assert_eq!(
        sim.became_master(0),
        Some((secs(30) + mdi(200), Reason::Preempting))
    );
    let c: &Counters = sim.instance(0).counters();
    assert_eq!(
        (c.became_fault, c.became_master, c.became_backup),
        (1, 2, 2)
    );
}

#[test]
fn fault_before_startup() {
    let mut sim = lan(&[200], |_, c| c.tracks = vec![TrackRule::fault("link")]);
    sim.track(0, "link", false);
    sim.start(0);
    assert_eq!(sim.state(0), State::Fault);
    sim.run_until(secs(5));
    sim.track(0, "link", true);
    sim.run_until(secs(20));
    assert_eq!(
        sim.became_master(0),
        Some((secs(5) + mdi(200), Reason::MasterDown))
    );
}

#[test]
fn owner_with_a_weight_drops_and_comes_back_at_once() {
    let mut sim = lan(&[255, 200], |n, c| {
        if n == 0 {
            c.tracks = vec![TrackRule::weighted("uplink", 100)];
        }
    });
    sim.start_all();
    assert_eq!(sim.masters(0), vec![0]);
    sim.run_until(secs(10) + ms(500));
    sim.track(0, "uplink", false);
    assert_eq!(sim.instance(0).effective_priority(), 155);
    sim.run_until(secs(30));
    assert_eq!(sim.masters(0), vec![1]);
    sim.track(0, "uplink", true);
    assert_eq!(sim.became_master(0), Some((secs(30), Reason::TrackUp)));
    assert_eq!(sim.masters(0), vec![0]);
}

#[test]
fn force_backup_switchover_with_hold() {
    let mut sim = lan(&[200, 150], no_tweak);
    sim.start_all();
    sim.run_until(secs(20) + ms(500));
    sim.force_backup(0, secs(10));
    assert_eq!(sim.adverts(0).last(), Some(&(secs(20) + ms(500), 0)));
    assert_eq!(
        sim.transitions(0).last().unwrap(),
        &(
            secs(20) + ms(500),
            0,
            State::Master,
            State::Backup,
            Reason::Operator
        )
    );
    sim.run_until(secs(30));
    let takeover = secs(20) + ms(500) + skew(150);
    assert_eq!(
        sim.became_master(1),
        Some((takeover, Reason::PriorityZeroReceived))
    );
    assert_eq!(sim.masters(0), vec![1], "held: no preemption before 30.5 s");
    sim.run_until(secs(60));
    // After the hold node 0 preempts again: the last accepted advert came before 30.5 s.
    let last_accepted = takeover + secs(9);
    assert_eq!(
        sim.became_master(0),
        Some((last_accepted + mdi(200), Reason::Preempting))
    );
}

#[test]
fn force_backup_hold_survives_a_dead_peer() {
    // The peer never takes over: we wait for the hold, then take the place back.
    let mut sim = lan(&[200, 150], no_tweak);
    sim.start_all();
    sim.run_until(secs(20) + ms(500));
    sim.kill(1);
    sim.force_backup(0, secs(10));
    sim.run_until(secs(60));
    assert_eq!(
        sim.became_master(0),
        Some((secs(30) + ms(500), Reason::MasterDown))
    );
}

#[test]
fn address_list_mismatch_is_counted_and_processed() {
    let mut sim = lan(&[200, 100], |n, c| {
        if n == 1 {
            c.virtual_addresses = vec![v4("192.0.2.99")];
        }
    });
    sim.start_all();
    sim.run_until(secs(20));
    assert_eq!(sim.masters(0), vec![0]);
    let c = sim.instance(1).counters();
    assert!(c.address_list_mismatch > 0);
    assert_eq!(c.address_list_mismatch, c.adverts_received);
}

#[test]
fn other_virtual_routers_and_versions_are_ignored() {
    let mut sim = lan(&[200, 100], |n, c| {
        if n == 1 {
            c.vrid = 2;
        }
    });
    sim.start_all();
    sim.run_until(secs(20));
    assert_eq!(sim.masters(0), vec![0, 1]);
    assert!(sim.instance(1).counters().vrid_mismatch > 0);
    let mut sim = lan(&[200, 100], |n, c| {
        if n == 1 {
            c.version = Version::V2;
        }
    });
    sim.start_all();
    sim.run_until(secs(20));
    assert!(sim.instance(1).counters().version_mismatch > 0);
}

#[test]
fn announcements_on_becoming_master() {
    let mut sim = lan(&[200], |_, c| {
        c.garp_rounds = 3;
        c.garp_interval = secs(2);
    });
    sim.start_all();
    sim.run_until(secs(20));
    let rounds: Vec<Duration> = sim.nodes[0]
        .log
        .iter()
        .filter(|e| matches!(e.action, Action::Announce { .. }))
        .map(|e| e.at)
        .collect();
    assert_eq!(
        rounds,
        vec![mdi(200), mdi(200) + secs(2), mdi(200) + secs(4)]
    );
    // The state change comes first (the I/O layer adds the addresses), then the advert.
    let first: Vec<&Action> = sim.nodes[0]
        .log
        .iter()
        .filter(|e| e.at == mdi(200))
        .map(|e| &e.action)
        .collect();
    assert!(matches!(
        first[0],
        Action::StateChanged {
            to: State::Master,
            ..
        }
    ));
    assert!(matches!(first[1], Action::SendAdvert(_)));
    assert!(matches!(first[2], Action::Announce { .. }));
}

#[test]
fn ipv6_instances() {
    let mut sim = Sim::new();
    for (n, p) in [200u8, 100].iter().enumerate() {
        let c = InstanceConfig::new(
            "v6",
            1,
            Version::V3,
            *p,
            vec![v6("fe80::1:1"), v6("2001:db8::1")],
        );
        sim.add_one(c, v6(&format!("fe80::{}", n + 10)));
    }
    sim.start_all();
    sim.run_until(secs(20));
    assert_eq!(sim.masters(0), vec![0]);
    assert_eq!(sim.became_master(0), Some((mdi(200), Reason::MasterDown)));
    assert_eq!(sim.instance(1).counters().address_list_mismatch, 0);
}
