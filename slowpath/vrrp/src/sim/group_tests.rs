//! Sync groups on a simulated LAN: two nodes, each with a group of two instances (VRID 1, the
//! uplink, and VRID 2, the downlink) that must move together.

use super::election_tests::{mdi, skew};
use super::*;
use crate::group::{Group, GroupState};
use crate::ha_group::{HaGroup, HaRole, HaSource};
use crate::track::TrackRule;

/// A group of VRIDs 1 and 2 at these priorities, node `n`'s addresses `addrs` (one per member).
fn group(priorities: [u8; 2], addrs: [IpAddr; 2], tweak: impl Fn(&mut InstanceConfig)) -> Unit {
    let members = [1u8, 2]
        .iter()
        .zip(priorities)
        .zip(addrs)
        .map(|((vrid, p), a)| {
            let mut c = cfg(*vrid, p);
            tweak(&mut c);
            Instance::new(c, a)
        })
        .collect();
    Unit::Group(Group::new("g".into(), members))
}

/// Node 0 and node 1 with a group each, node n at 10.{vrid}.0.{n+1}.
fn two_nodes(
    p0: u8,
    p1: u8,
    tweak0: impl Fn(&mut InstanceConfig),
    tweak1: impl Fn(&mut InstanceConfig),
) -> Sim {
    let mut sim = Sim::new();
    sim.add(group([p0, p0], [addr(1, 0), addr(2, 0)], tweak0));
    sim.add(group([p1, p1], [addr(1, 1), addr(2, 1)], tweak1));
    sim
}

fn none(_: &mut InstanceConfig) {}

/// State changes of node `n` from `since` on: (time, member, to, reason).
fn moves(sim: &Sim, n: usize, since: Duration) -> Vec<(Duration, usize, State, Reason)> {
    sim.transitions(n)
        .into_iter()
        .filter(|t| t.0 >= since)
        .map(|t| (t.0, t.1, t.3, t.4))
        .collect()
}

#[test]
fn fault_of_one_member_moves_both_on_both_nodes() {
    let mut sim = two_nodes(
        200,
        100,
        |c| {
            if c.vrid == 1 {
                c.tracks = vec![TrackRule::fault("uplink")];
            }
        },
        none,
    );
    let mut ha = [
        HaGroup::new("ha".into(), HaSource::VrrpGroup("g".into())),
        HaGroup::new("ha".into(), HaSource::VrrpGroup("g".into())),
    ];
    sim.start_all();
    sim.run_until(secs(20) + ms(500));
    assert_eq!(
        (sim.group_state(0), sim.group_state(1)),
        (GroupState::Master, GroupState::Backup)
    );
    assert_eq!(
        moves(&sim, 0, ms(1)),
        vec![
            (mdi(200), 0, State::Master, Reason::MasterDown),
            (mdi(200), 1, State::Master, Reason::Group)
        ]
    );
    for (n, h) in ha.iter_mut().enumerate() {
        h.on_group_state(sim.now, "g", sim.group_state(n));
    }
    assert_eq!(
        (ha[0].role(), ha[1].role()),
        (HaRole::Active, HaRole::Standby)
    );

    // The uplink of node 0 fails: both its instances go to Fault, priority 0 on both.
    let t = sim.now;
    sim.track(0, "uplink", false);
    assert_eq!(
        moves(&sim, 0, t),
        vec![
            (t, 0, State::Fault, Reason::TrackDown("uplink".into())),
            (t, 1, State::Fault, Reason::Group)
        ]
    );
    assert_eq!(sim.group_state(0), GroupState::Fault);
    let zero: Vec<u8> = sim.nodes[0]
        .log
        .iter()
        .filter(|e| e.at == t)
        .filter_map(|e| match &e.action {
            Action::SendAdvert(a) if a.priority == 0 => Some(a.vrid),
            _ => None,
        })
        .collect();
    assert_eq!(zero, vec![1, 2]);
    sim.run_until(secs(30));
    assert_eq!(
        moves(&sim, 1, t),
        vec![
            (
                t + skew(100),
                0,
                State::Master,
                Reason::PriorityZeroReceived
            ),
            (t + skew(100), 1, State::Master, Reason::Group)
        ]
    );
    let e = ha[1]
        .on_group_state(sim.now, "g", sim.group_state(1))
        .unwrap();
    assert_eq!(e.to, HaRole::Active);
    assert!(ha[0]
        .on_group_state(sim.now, "g", sim.group_state(0))
        .is_some());

    // Back up: both members leave Fault, preempt together, node 1 steps down as a whole.
    sim.track(0, "uplink", true);
    assert_eq!(
        moves(&sim, 0, secs(30)),
        vec![
            (secs(30), 0, State::Backup, Reason::TrackUp),
            (secs(30), 1, State::Backup, Reason::Group)
        ]
    );
    sim.run_until(secs(60));
    let back = secs(30) + mdi(200);
    assert_eq!(
        moves(&sim, 0, secs(31)),
        vec![
            (back, 0, State::Master, Reason::Preempting),
            (back, 1, State::Master, Reason::Group)
        ]
    );
    assert_eq!(
        moves(&sim, 1, secs(31)),
        vec![
            (back, 0, State::Backup, Reason::Preempted),
            (back, 1, State::Backup, Reason::Group)
        ]
    );
    assert_eq!(
        (sim.group_state(0), sim.group_state(1)),
        (GroupState::Master, GroupState::Backup)
    );
}

#[test]
fn weighted_tracking_on_every_member_hands_the_group_over() {
    let mut sim = two_nodes(
        200,
        100,
        |c| c.tracks = vec![TrackRule::weighted("uplink", 150)],
        none,
    );
    sim.start_all();
    sim.run_until(secs(20) + ms(500));
    sim.track(0, "uplink", false);
    sim.run_until(secs(40));
    // Node 1 discards the priority-50 adverts on both VRIDs, both timers run out together.
    let last = mdi(200) + secs(17);
    let takeover = last + mdi(100);
    assert_eq!(
        moves(&sim, 1, secs(20)),
        vec![
            (takeover, 0, State::Master, Reason::Preempting),
            (takeover, 1, State::Master, Reason::Group)
        ]
    );
    assert_eq!(
        (sim.group_state(0), sim.group_state(1)),
        (GroupState::Backup, GroupState::Master)
    );
}

#[test]
fn one_lost_segment_does_not_pull_the_group() {
    // Only VRID 2's segment between the nodes breaks, untracked: node 1's VRID 2 stops hearing
    // the master but VRID 1 still hears it, so node 1 prefers Backup (no thrashing).
    let mut sim = two_nodes(200, 100, none, none);
    sim.start_all();
    sim.run_until(secs(20) + ms(500));
    sim.cut_vrid(0, 1, 2);
    sim.run_until(secs(120));
    assert_eq!(
        (sim.group_state(0), sim.group_state(1)),
        (GroupState::Master, GroupState::Backup)
    );
    assert_eq!(moves(&sim, 0, secs(20)), vec![]);
    assert_eq!(moves(&sim, 1, secs(20)), vec![]);
}

/// Equal priorities, and the address order differs between the members: node 0 is higher on
/// VRID 1 (10.1.0.2 > 10.1.0.1) and lower on VRID 2 (10.2.0.1 < 10.2.0.2).
fn crossed() -> Sim {
    let mut sim = Sim::new();
    sim.add(group([100, 100], [addr(1, 1), addr(2, 0)], none));
    sim.add(group([100, 100], [addr(1, 0), addr(2, 1)], none));
    sim
}

fn assert_settled(sim: &Sim, since: Duration) {
    assert_eq!(
        (sim.group_state(0), sim.group_state(1)),
        (GroupState::Master, GroupState::Backup)
    );
    assert_eq!(moves(sim, 0, since), vec![], "node 0 still moving");
    assert_eq!(moves(sim, 1, since), vec![], "node 1 still moving");
}

#[test]
fn equal_priorities_do_not_oscillate_on_simultaneous_start() {
    let mut sim = crossed();
    sim.start_all();
    sim.run_until(secs(300));
    // The leader (VRID 1) decides for the group: node 0 has the higher address there.
    assert_settled(&sim, secs(5));
    let total = sim.transitions(0).len() + sim.transitions(1).len();
    assert!(total <= 10, "{total} transitions");
}

#[test]
fn equal_priorities_do_not_oscillate_after_a_split_brain() {
    for (latency, heal_at) in [
        (ms(0), ms(40_000)),
        (ms(0), ms(40_700)),
        (ms(2), ms(40_000)),
        (ms(2), ms(40_700)),
    ] {
        let mut sim = crossed();
        sim.latency = latency;
        sim.start_all();
        sim.run_until(secs(20));
        sim.cut(0, 1);
        sim.run_until(secs(35));
        assert_eq!(
            (sim.group_state(0), sim.group_state(1)),
            (GroupState::Master, GroupState::Master)
        );
        sim.run_until(heal_at);
        sim.heal(0, 1);
        sim.run_until(secs(300));
        // Settled within a few intervals of the heal, and stays so.
        assert_settled(&sim, heal_at + secs(8));
        let reported: u64 = (0..2)
            .flat_map(|n| {
                sim.nodes[n]
                    .unit
                    .instances()
                    .iter()
                    .map(|i| i.counters().split_brain)
            })
            .sum();
        assert!(reported >= 1, "latency {latency:?} heal {heal_at:?}");
    }
}

#[test]
fn different_priorities_split_brain_heals_to_the_higher_node() {
    let mut sim = two_nodes(100, 200, none, none);
    sim.latency = ms(1);
    sim.start_all();
    sim.run_until(secs(20));
    assert_eq!(sim.group_state(1), GroupState::Master);
    sim.cut(0, 1);
    sim.run_until(secs(40));
    assert_eq!(sim.group_state(0), GroupState::Master);
    sim.heal(0, 1);
    sim.run_until(secs(120));
    assert_eq!(
        (sim.group_state(0), sim.group_state(1)),
        (GroupState::Backup, GroupState::Master)
    );
    assert_eq!(moves(&sim, 0, secs(45)), vec![]);
}

#[test]
fn force_backup_moves_the_group() {
    let mut sim = two_nodes(200, 100, none, none);
    sim.start_all();
    sim.run_until(secs(20) + ms(500));
    let t = sim.now;
    sim.force_backup(0, secs(10));
    assert_eq!(
        moves(&sim, 0, t),
        vec![
            (t, 0, State::Backup, Reason::Operator),
            (t, 1, State::Backup, Reason::Operator)
        ]
    );
    sim.run_until(secs(30));
    assert_eq!(sim.group_state(1), GroupState::Master);
    assert_eq!(
        moves(&sim, 1, t)[0],
        (
            t + skew(100),
            0,
            State::Master,
            Reason::PriorityZeroReceived
        )
    );
    sim.run_until(secs(60));
    assert_eq!(
        (sim.group_state(0), sim.group_state(1)),
        (GroupState::Master, GroupState::Backup)
    );
}

#[test]
fn owners_start_as_master_together() {
    let mut sim = two_nodes(255, 100, none, none);
    sim.start_all();
    assert_eq!(
        moves(&sim, 0, Duration::ZERO),
        vec![
            (Duration::ZERO, 0, State::Backup, Reason::Startup),
            (Duration::ZERO, 1, State::Backup, Reason::Startup),
            (Duration::ZERO, 0, State::Master, Reason::Priority255Owner),
            (Duration::ZERO, 1, State::Master, Reason::Group)
        ]
    );
    sim.run_until(secs(20));
    assert_eq!(
        (sim.group_state(0), sim.group_state(1)),
        (GroupState::Master, GroupState::Backup)
    );
}

#[test]
fn members_of_both_families_on_one_vrid() {
    let unit = |p: u8, n: u8| {
        let v4c = cfg(1, p);
        let v6c = InstanceConfig::new("v6", 1, Version::V3, p, vec![v6("fe80::1:1")]);
        Unit::Group(Group::new(
            "g".into(),
            vec![
                Instance::new(v4c, addr(1, n)),
                Instance::new(v6c, v6(&format!("fe80::{}", n + 1))),
            ],
        ))
    };
    let mut sim = Sim::new();
    sim.add(unit(200, 0));
    sim.add(unit(100, 1));
    sim.start_all();
    sim.run_until(secs(30));
    assert_eq!(
        (sim.group_state(0), sim.group_state(1)),
        (GroupState::Master, GroupState::Backup)
    );
    let Unit::Group(g) = &sim.nodes[1].unit else {
        panic!()
    };
    assert_eq!(g.unmatched_adverts(), 0);
    for i in g.instances() {
        assert_eq!(i.counters().vrid_mismatch, 0);
        assert!(i.counters().adverts_received > 20);
    }
}

#[test]
fn master_death_moves_the_group() {
    let mut sim = two_nodes(200, 100, none, none);
    sim.start_all();
    sim.run_until(secs(20) + ms(500));
    sim.kill(0);
    sim.run_until(secs(40));
    let t = mdi(200) + secs(17) + mdi(100);
    assert_eq!(
        moves(&sim, 1, secs(20)),
        vec![
            (t, 0, State::Master, Reason::MasterDown),
            (t, 1, State::Master, Reason::Group)
        ]
    );
    // Restarted, the higher-priority node takes the group back.
    sim.restart(0, group([200, 200], [addr(1, 0), addr(2, 0)], none));
    sim.run_until(secs(60));
    assert_eq!(
        (sim.group_state(0), sim.group_state(1)),
        (GroupState::Master, GroupState::Backup)
    );
}
