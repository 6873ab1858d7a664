//! The group machine on a fake clock.

use super::*;

const S: fn(u64) -> Duration = Duration::from_secs;
use Member::{Primary, Secondary};

fn config(bringup: Bringup, revert: Revert) -> GroupConfig {
    GroupConfig {
        name: "g".into(),
        primary: "gw-a".into(),
        secondary: "gw-b".into(),
        bringup,
        revert,
        retry: S(5),
    }
}

fn outputs(g: &mut Group) -> Vec<Output> {
    std::iter::from_fn(|| g.poll_output()).collect()
}

/// Both members up, the primary carrying.
fn both_up(revert: Revert) -> Group {
    let mut g = Group::new(config(Bringup::Always, revert), S(0));
    assert_eq!(
        outputs(&mut g),
        [Output::BringUp(Primary), Output::BringUp(Secondary)]
    );
    g.input(S(1), Input::TunnelUp(Primary));
    g.input(S(1), Input::TunnelUp(Secondary));
    assert_eq!(outputs(&mut g), []);
    assert_eq!(g.carrying(), Some(Primary));
    g
}

fn steer(from: Member, to: Member, reason: Reason) -> Output {
    Output::Steer { from, to, reason }
}

#[test]
fn dpd_loss_of_the_primary_moves_the_traffic_at_once() {
    let mut g = both_up(Revert::After(S(30)));
    g.input(S(10), Input::PeerDead(Primary));
    assert_eq!(
        outputs(&mut g),
        [
            Output::PeerDead(Primary),
            steer(Primary, Secondary, Reason::PeerDead)
        ]
    );
    assert_eq!(g.carrying(), Some(Secondary));
    assert_eq!(g.peer(Primary), Peer::Dead);
    let s = g.status(S(12));
    assert_eq!((s.switchovers, s.reverts, s.peer_deaths), (1, 0, 1));
    assert_eq!(s.last_switch_ago_ms, Some(2000));
    assert_eq!(s.last_reason, Some(Reason::PeerDead));
    // The primary is brought up again every retry while it is down.
    assert_eq!(g.next_deadline(), Some(S(15)));
    g.poll(S(15));
    assert_eq!(outputs(&mut g), [Output::BringUp(Primary)]);
    assert_eq!(g.next_deadline(), Some(S(20)));
}

#[test]
fn a_failed_rekey_restarts_the_member_and_moves_the_traffic() {
    let mut g = both_up(Revert::Never);
    g.input(S(3), Input::RekeyFailed(Primary));
    assert_eq!(
        outputs(&mut g),
        [
            Output::Restart(Primary),
            steer(Primary, Secondary, Reason::RekeyFailed)
        ]
    );
    assert_eq!(g.counters().rekey_failures, 1);
    assert_eq!(
        g.peer(Primary),
        Peer::Alive,
        "a rekey says nothing of the peer"
    );
}

#[test]
fn auto_reverts_after_the_primary_held_up_for_the_hold_time() {
    let mut g = both_up(Revert::After(S(30)));
    g.input(S(10), Input::PeerDead(Primary));
    outputs(&mut g);
    g.input(S(20), Input::TunnelUp(Primary));
    assert_eq!(outputs(&mut g), [Output::PeerAlive(Primary)]);
    assert_eq!(g.next_deadline(), Some(S(50)));
    g.poll(S(49));
    assert_eq!(outputs(&mut g), []);
    assert_eq!(g.active(), Secondary);
    g.poll(S(50));
    assert_eq!(outputs(&mut g), [steer(Secondary, Primary, Reason::Revert)]);
    let s = g.status(S(50));
    assert_eq!((s.switchovers, s.reverts), (1, 1));
    assert_eq!(s.active_conn, "gw-a");
    assert_eq!(g.next_deadline(), None, "nothing left to do");
}

#[test]
fn do_not_revert_stays_on_the_secondary() {
    let mut g = both_up(Revert::Never);
    g.input(S(10), Input::PeerDead(Primary));
    outputs(&mut g);
    g.input(S(20), Input::TunnelUp(Primary));
    assert_eq!(outputs(&mut g), [Output::PeerAlive(Primary)]);
    assert_eq!(g.next_deadline(), None);
    g.poll(S(100_000));
    assert_eq!(outputs(&mut g), []);
    assert_eq!(g.carrying(), Some(Secondary));
    assert_eq!(g.status(S(1)).revert_hold_ms, None);
}

#[test]
fn a_manual_switchover_moves_to_an_up_member_and_is_not_reverted() {
    let mut g = both_up(Revert::After(S(30)));
    assert_eq!(g.manual_switchover(S(5)), Ok(Secondary));
    assert_eq!(outputs(&mut g), [steer(Primary, Secondary, Reason::Manual)]);
    g.poll(S(1000));
    assert_eq!(outputs(&mut g), [], "a manual move is not undone");
    assert_eq!(g.manual_switchover(S(6)), Ok(Primary));
    assert_eq!(outputs(&mut g), [steer(Secondary, Primary, Reason::Manual)]);
    assert_eq!(g.counters().switchovers, 2);
    // Refused towards a member that is not up.
    g.input(S(7), Input::TunnelDown(Secondary));
    outputs(&mut g);
    let e = g.manual_switchover(S(8)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "crypto group g: the secondary (gw-b) is not up"
    );
    assert_eq!(g.active(), Primary);
}

#[test]
fn a_flapping_primary_restarts_the_hold_and_the_traffic_stays_put() {
    let mut g = both_up(Revert::After(S(30)));
    g.input(S(10), Input::PeerDead(Primary));
    outputs(&mut g);
    // Up and down every 20 s, never 30 s in a row.
    let mut t = 10;
    for _ in 0..10 {
        t += 20;
        g.input(S(t), Input::TunnelUp(Primary));
        g.poll(S(t + 19));
        t += 20;
        g.input(S(t), Input::PeerDead(Primary));
        g.poll(S(t));
    }
    let moves = outputs(&mut g)
        .into_iter()
        .filter(|o| matches!(o, Output::Steer { .. }))
        .count();
    assert_eq!(moves, 0, "no oscillation");
    assert_eq!(g.active(), Secondary);
    assert_eq!(g.counters().peer_deaths, 11);
    // Once it holds, the revert comes, a hold after its last up.
    g.input(S(t + 1), Input::TunnelUp(Primary));
    g.poll(S(t + 30));
    let early = outputs(&mut g);
    assert!(
        !early.iter().any(|o| matches!(o, Output::Steer { .. })),
        "not before the hold"
    );
    g.poll(S(t + 31));
    assert!(outputs(&mut g).contains(&steer(Secondary, Primary, Reason::Revert)));
}

#[test]
fn with_the_secondary_down_too_the_group_stays_on_the_primary_without_traffic() {
    let mut g = both_up(Revert::After(S(30)));
    g.input(S(5), Input::PeerDead(Secondary));
    assert_eq!(outputs(&mut g), [Output::PeerDead(Secondary)]);
    g.input(S(6), Input::PeerDead(Primary));
    assert_eq!(
        outputs(&mut g),
        [Output::PeerDead(Primary), Output::BringUp(Secondary)]
    );
    assert_eq!(g.active(), Primary);
    assert_eq!(g.carrying(), None, "nothing carries the traffic");
    assert!(!g.status(S(6)).carrying);
    // Both are brought up again; whichever comes first takes the traffic.
    g.poll(S(11));
    assert_eq!(
        outputs(&mut g),
        [Output::BringUp(Primary), Output::BringUp(Secondary)]
    );
    g.input(S(12), Input::TunnelUp(Secondary));
    assert_eq!(
        outputs(&mut g),
        [
            Output::PeerAlive(Secondary),
            steer(Primary, Secondary, Reason::PeerDead)
        ]
    );
    // The primary back: a revert after the hold.
    g.input(S(13), Input::TunnelUp(Primary));
    g.poll(S(43));
    assert_eq!(
        outputs(&mut g),
        [
            Output::PeerAlive(Primary),
            steer(Secondary, Primary, Reason::Revert)
        ]
    );
}

#[test]
fn an_on_demand_secondary_comes_up_when_the_primary_fails() {
    let mut g = Group::new(config(Bringup::OnDemand, Revert::After(S(30))), S(0));
    assert_eq!(outputs(&mut g), [Output::BringUp(Primary)]);
    g.input(S(1), Input::TunnelUp(Primary));
    g.input(S(10), Input::PeerDead(Primary));
    assert_eq!(
        outputs(&mut g),
        [Output::PeerDead(Primary), Output::BringUp(Secondary)]
    );
    assert_eq!(g.carrying(), None);
    g.input(S(11), Input::TunnelUp(Secondary));
    assert_eq!(
        outputs(&mut g),
        [steer(Primary, Secondary, Reason::PeerDead)]
    );
    assert_eq!(g.carrying(), Some(Secondary));
}

#[test]
fn the_secondary_failing_while_active_moves_back_to_an_up_primary() {
    let mut g = both_up(Revert::Never);
    g.input(S(2), Input::PeerDead(Primary));
    g.input(S(3), Input::TunnelUp(Primary));
    outputs(&mut g);
    g.input(S(4), Input::TunnelDown(Secondary));
    assert_eq!(
        outputs(&mut g),
        [steer(Secondary, Primary, Reason::TunnelDown)]
    );
    assert_eq!(g.counters().switchovers, 2);
    assert_eq!(g.counters().reverts, 0);
}

/// The active node's group moved to the secondary; the standby's group (never fed the
/// tunnels) takes that state without a move of its own, and says what it replaced.
#[test]
fn a_standby_adopts_the_active_nodes_member_without_outputs() {
    let mut active = both_up(Revert::After(S(30)));
    active.input(S(10), Input::PeerDead(Primary));
    outputs(&mut active);
    let synced = active.synced_state();
    assert_eq!(
        synced,
        ha::SyncedState {
            active: Secondary,
            revertible: true,
            switchovers: 1,
            reverts: 0
        }
    );
    let mut standby = Group::new(config(Bringup::Always, Revert::After(S(30))), S(0));
    outputs(&mut standby);
    assert_eq!(standby.adopt(synced), Some(Primary));
    assert_eq!(standby.adopt(synced), None, "no change the second time");
    assert_eq!(outputs(&mut standby), []);
    assert_eq!(standby.active(), Secondary);
    assert_eq!(standby.status(S(11)).switchovers, 1);
}

/// A standby's group (never fed its tunnels) that adopted the active node's secondary.
fn adopted_secondary(revert: Revert, revertible: bool) -> Group {
    let mut g = Group::new(config(Bringup::Always, revert), S(0));
    outputs(&mut g);
    g.adopt(ha::SyncedState {
        active: Secondary,
        revertible,
        switchovers: 1,
        reverts: 0,
    });
    g
}

/// A takeover with both tunnels up: the adopted secondary keeps the traffic, and `auto`
/// reverts to the primary after the hold, as it would have on the old active node.
#[test]
fn after_a_takeover_auto_reverts_from_the_adopted_secondary() {
    let mut g = adopted_secondary(Revert::After(S(30)), true);
    g.taken_over(S(100), [true, true]);
    assert_eq!(outputs(&mut g), []);
    assert_eq!(g.carrying(), Some(Secondary));
    assert_eq!(g.next_deadline(), Some(S(130)));
    g.poll(S(130));
    assert_eq!(outputs(&mut g), [steer(Secondary, Primary, Reason::Revert)]);
}

/// A takeover where the adopted member's tunnel did not come over: the traffic moves to
/// the member that is up, at once; `do-not-revert` keeps a manual choice where it is.
#[test]
fn after_a_takeover_a_down_active_member_is_a_failure() {
    let mut g = adopted_secondary(Revert::Never, false);
    g.taken_over(S(100), [true, false]);
    let out = outputs(&mut g);
    assert_eq!(
        out,
        [steer(Secondary, Primary, Reason::TunnelDown)],
        "{out:?}"
    );
    assert_eq!(g.carrying(), Some(Primary));
    let mut g = adopted_secondary(Revert::Never, false);
    g.taken_over(S(100), [true, true]);
    assert_eq!(outputs(&mut g), []);
    assert_eq!(
        g.next_deadline(),
        None,
        "nothing to revert, nothing to bring up"
    );
}
