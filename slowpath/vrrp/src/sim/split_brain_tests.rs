//! Split brain: a cut link leaves two masters; when it heals, both learn it and one remains.

use super::election_tests::mdi;
use super::*;

fn split_events(sim: &Sim, n: usize, since: Duration) -> Vec<(Duration, Action)> {
    sim.events_since(n, since)
        .into_iter()
        .filter(|e| {
            matches!(
                e.action,
                Action::SplitBrain { .. }
                    | Action::SplitBrainResolved
                    | Action::StateChanged { .. }
            )
        })
        .map(|e| (e.at, e.action))
        .collect()
}

/// Node 0 (priority 200) master, node 1 (100) backup; the link is cut at 20.5 s, so node 1
/// becomes master too.
fn cut_lan() -> Sim {
    let mut sim = Sim::new();
    sim.add_one(cfg(1, 200), addr(1, 0));
    sim.add_one(cfg(1, 100), addr(1, 1));
    sim.start_all();
    sim.run_until(secs(20) + ms(500));
    sim.cut(0, 1);
    sim.run_until(secs(40));
    let last = mdi(200) + secs(17);
    assert_eq!(
        sim.became_master(1),
        Some((last + mdi(100), Reason::MasterDown))
    );
    assert_eq!(sim.masters(0), vec![0, 1]);
    sim
}

#[test]
fn heal_higher_speaks_first() {
    let mut sim = cut_lan();
    // Node 0 advertises at mdi(200) + k = x.21875 s, node 1 at x.828125 s: node 0 first.
    sim.heal(0, 1);
    sim.run_until(secs(60));
    let t = mdi(200) + secs(37);
    assert_eq!(
        split_events(&sim, 1, secs(40)),
        vec![
            (
                t,
                Action::SplitBrain {
                    other_master: addr(1, 0)
                }
            ),
            (
                t,
                Action::StateChanged {
                    from: State::Master,
                    to: State::Backup,
                    reason: Reason::Preempted
                }
            ),
            (t, Action::SplitBrainResolved),
        ]
    );
    // Node 0 never heard a master: nothing to report there.
    assert_eq!(split_events(&sim, 0, secs(40)), vec![]);
    assert_eq!(sim.masters(0), vec![0]);
    assert_eq!(sim.instance(1).counters().split_brain, 1);
}

#[test]
fn heal_lower_speaks_first() {
    let mut sim = cut_lan();
    sim.run_until(secs(40) + ms(500));
    sim.heal(0, 1);
    sim.run_until(secs(60));
    // Node 1's advert at 40.828125 s reaches node 0, which answers at once; node 1 yields.
    let t = mdi(200) + secs(17) + mdi(100) + secs(17);
    assert_eq!(t, secs(40) + ms(828) + Duration::from_micros(125));
    assert_eq!(
        split_events(&sim, 1, secs(40)),
        vec![
            (
                t,
                Action::SplitBrain {
                    other_master: addr(1, 0)
                }
            ),
            (
                t,
                Action::StateChanged {
                    from: State::Master,
                    to: State::Backup,
                    reason: Reason::Preempted
                }
            ),
            (t, Action::SplitBrainResolved),
        ]
    );
    // Node 0 reports it, answers, and calls it resolved when node 1 has been quiet for its
    // Master_Down_Interval (computed with our priority and its interval).
    assert_eq!(
        split_events(&sim, 0, secs(40)),
        vec![
            (
                t,
                Action::SplitBrain {
                    other_master: addr(1, 1)
                }
            ),
            (t + mdi(200), Action::SplitBrainResolved),
        ]
    );
    assert!(sim.adverts(0).contains(&(t, 200)), "the immediate answer");
    assert_eq!(sim.masters(0), vec![0]);
    assert!(sim.instance(0).status().other_masters.is_empty());
}

#[test]
fn other_master_giving_up_resolves_at_once() {
    let mut sim = cut_lan();
    sim.run_until(secs(40) + ms(500));
    // Node 0 hears node 1 (one way only) and then node 1 shuts down.
    sim.heal(0, 1);
    sim.set_drop(|_, from, _, _| from == 0);
    sim.run_until(secs(41));
    assert_eq!(sim.instance(0).status().other_masters, vec![addr(1, 1)]);
    sim.shutdown(1);
    let ev = split_events(&sim, 0, secs(41));
    assert_eq!(ev, vec![(secs(41), Action::SplitBrainResolved)]);
}

#[test]
fn split_brain_with_latency_still_converges() {
    let mut sim = Sim::new();
    sim.latency = ms(3);
    for n in 0..3 {
        sim.add_one(cfg(1, 100), addr(1, n));
    }
    sim.start_all();
    sim.run_until(secs(20));
    assert_eq!(sim.masters(0), vec![2]);
    sim.cut(0, 2);
    sim.cut(1, 2);
    sim.run_until(secs(40));
    assert_eq!(
        sim.masters(0),
        vec![1, 2],
        "node 1 (higher address) won the cut-off side"
    );
    sim.heal(0, 2);
    sim.heal(1, 2);
    sim.run_until(secs(60));
    assert_eq!(sim.masters(0), vec![2]);
    let reported: u64 = (0..3).map(|n| sim.instance(n).counters().split_brain).sum();
    assert!(reported >= 1);
}
