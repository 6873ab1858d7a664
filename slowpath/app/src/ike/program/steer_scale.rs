//! Switch time of crypto groups at scale: N groups of two members (one CHILD SA each, the
//! secondary held), every machine told that its primary's peer died (a peer all of them
//! share), the moves carried out in shared batches. The figures are one group alone and all
//! N at once. Behind it: no fast path (`LogOnly`), or with `CRYPTO_GROUP_FASTPATH` naming a
//! running fast path's control socket (empty), that one (`bench/crypto_group_switch.sh`).

use std::time::{Duration, Instant};

use ike::crypto_group::{Bringup, Group, GroupConfig, Input, Member, Output, Revert};
use ipc::fastpath::{Request, SpInfo};

use super::tests::info;
use super::*;

/// N groups, IKE SAs 2g (primary) and 2g+1 (secondary, held), both members up.
fn groups_installed(fp: &mut dyn FastpathOps, n: u64) -> (SaTable, Vec<Group>) {
    let mut t = SaTable::default();
    let infos: Vec<ChildSaInfo> = (0..2 * n)
        .map(|sa| info(sa, 1, 0x1000_0000 + sa as u32, true))
        .collect();
    for sa in 0..n {
        t.hold(2 * sa + 1, true);
    }
    let with_window: Vec<_> = infos.iter().map(|i| (i, None)).collect();
    for chunk in with_window.chunks(1024) {
        assert!(t.install_many(fp, chunk).iter().all(Result::is_ok));
    }
    let groups = (0..n)
        .map(|g| {
            let mut group = Group::new(
                GroupConfig {
                    name: format!("g{g}"),
                    primary: format!("a{g}"),
                    secondary: format!("b{g}"),
                    bringup: Bringup::Always,
                    revert: Revert::Never,
                    retry: Duration::from_secs(5),
                },
                Duration::ZERO,
            );
            group.input(Duration::ZERO, Input::TunnelUp(Member::Primary));
            group.input(Duration::ZERO, Input::TunnelUp(Member::Secondary));
            while group.poll_output().is_some() {}
            group
        })
        .collect();
    (t, groups)
}

/// The groups in `which` learn that their active member's peer died; their moves are made.
/// How long from the first input to the last move answered.
fn switch(
    fp: &mut dyn FastpathOps,
    t: &mut SaTable,
    groups: &mut [Group],
    which: &[u64],
) -> Duration {
    let start = Instant::now();
    let mut moves = Vec::with_capacity(which.len());
    for &g in which {
        let group = &mut groups[g as usize];
        // The other member is up (a member that died before is back).
        let (active, at) = (group.active(), Duration::from_secs(1));
        group.input(at, Input::TunnelUp(active.other()));
        group.input(at, Input::PeerDead(active));
        while let Some(o) = group.poll_output() {
            if let Output::Steer { to, .. } = o {
                let (from_sa, to_sa) = match to {
                    Member::Secondary => (2 * g, 2 * g + 1),
                    Member::Primary => (2 * g + 1, 2 * g),
                };
                moves.push(Move {
                    from: vec![from_sa],
                    to: vec![to_sa],
                });
            }
        }
    }
    assert_eq!(moves.len(), which.len());
    assert!(t.steer(fp, &moves).iter().all(Result::is_ok));
    start.elapsed()
}

fn measure(fp: &mut dyn FastpathOps, n: u64, behind: &str) {
    let (mut t, mut groups) = groups_installed(fp, n);
    let one = switch(fp, &mut t, &mut groups, &[0]);
    // Group 0 back on its primary (a dead secondary), then every group at once.
    let back = switch(fp, &mut t, &mut groups, &[0]);
    let all: Vec<u64> = (0..n).collect();
    let every = switch(fp, &mut t, &mut groups, &all);
    for g in 0..n {
        assert_eq!(t.outbound_policies(2 * g), (0, 1), "group {g}");
        assert_eq!(t.outbound_policies(2 * g + 1), (1, 0), "group {g}");
    }
    // The fast path's own list: one reply line of every outbound policy (megabytes at
    // 10,000 groups, within the reply bound).
    if fp.is_real() {
        let out: Vec<SpInfo> = call(
            fp,
            &Request::SpList {
                dir: Direction::Out,
            },
        )
        .unwrap();
        assert_eq!(out.len(), n as usize, "one outbound policy a group");
        let secondaries: std::collections::HashSet<u32> = (0..n)
            .map(|g| t.get(2 * g + 1, 1).unwrap().sa_out)
            .collect();
        for p in &out {
            let esp::spd::Action::Protect(b) = fastpath::control::convert::action(p.sp.action)
            else {
                panic!("not a protect policy")
            };
            assert!(
                secondaries.contains(&b.as_slice()[0]),
                "a secondary protects"
            );
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "figure: crypto group switch, fast path {behind}: 1 group {:.2} ms (and back {:.2} ms), {n} groups at once {:.1} ms",
        ms(one),
        ms(back),
        ms(every)
    );
}

#[test]
fn a_thousand_groups_switch_at_once() {
    measure(&mut LogOnly::default(), 1000, "none");
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn crypto_group_switch_time() {
    let n = std::env::var("CRYPTO_GROUP_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    match std::env::var("CRYPTO_GROUP_FASTPATH") {
        Ok(sock) => {
            let mut c = Client::new(std::path::Path::new(&sock), Duration::from_secs(30));
            measure(&mut c, n, "the fastpath binary");
        }
        Err(_) => measure(&mut LogOnly::default(), n, "none"),
    }
}
