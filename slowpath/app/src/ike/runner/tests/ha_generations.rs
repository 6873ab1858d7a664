//! IV generations across a whole-node restart: the restarted node knows none, learns them
//! from its peer's bulk sync (from an active peer or a standby one), and may not take over
//! before that; its first takeover then uses a generation above any the pair used.

use super::ha_pair::run_until;
use super::*;
use crate::ha_sync::tests::{ha_config, port};

fn generation(r: &mut IkeRunner) -> u64 {
    let ev = r.events();
    first(&ev, "ha_takeover")["generation"].as_u64().unwrap()
}

fn in_sync(e: &[Vec<Value>], i: usize) -> bool {
    e[i].iter().any(|v| v["event"] == "ha_in_sync")
}

/// Steps a restarted node and its peer until the restarted one is in sync.
fn sync_restarted(epoch: Instant, restarted: &mut IkeRunner, peer: &mut IkeRunner) {
    let mut ev = vec![Vec::new(), Vec::new()];
    run_until(epoch, &mut [restarted, peer], &mut ev, "in sync", |e| {
        in_sync(e, 0)
    });
}

#[test]
fn a_restarted_node_takes_over_only_above_every_generation_the_pair_used() {
    if !can_bind_both("127.0.0.10", "127.0.0.11") {
        return;
    }
    let epoch = Instant::now();
    let sync_port = port();
    let (ha1, ha2) = (ha_config(1, sync_port), ha_config(2, sync_port));
    let node = |addr: &str| parse_text(&RESPONDER.replace("127.0.0.2", addr)).unwrap();
    let start = |id: u8| {
        let (addr, ha) = if id == 1 {
            ("127.0.0.10", &ha1)
        } else {
            ("127.0.0.11", &ha2)
        };
        IkeRunner::new(node(addr), None, epoch.elapsed(), Some(ha)).unwrap()
    };
    let (mut a, mut b) = (start(1), start(2));
    let mut ev = vec![Vec::new(), Vec::new()];
    a.take_over(epoch.elapsed());
    assert_eq!(generation(&mut a), 1);
    run_until(epoch, &mut [&mut a, &mut b], &mut ev, "b in sync", |e| {
        in_sync(e, 1)
    });
    // The roles go back and forth: the pair uses 1, 2, 3, then 4 once node 1 is gone.
    a.demote(epoch.elapsed());
    b.take_over(epoch.elapsed());
    assert_eq!(generation(&mut b), 2);
    let learnt = |r: &IkeRunner, g: [u16; 2]| {
        r.ha_status(Duration::ZERO).unwrap().iv_generations.highest == g
    };
    let end = Instant::now() + Duration::from_secs(5);
    while !learnt(&a, [1, 2]) && Instant::now() < end {
        a.step(epoch.elapsed());
        b.step(epoch.elapsed());
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(learnt(&a, [1, 2]), "node 1 learns node 2's takeover");
    b.demote(epoch.elapsed());
    a.take_over(epoch.elapsed());
    assert_eq!(generation(&mut a), 3);
    drop(a);
    // The peer dies: its sync session goes down before the survivor takes over.
    run_until(epoch, &mut [&mut b], &mut ev[1..], "node 1 down", |e| {
        e[0].iter().any(|v| v["event"] == "ha_sync_down")
    });
    b.take_over(epoch.elapsed());
    assert_eq!(generation(&mut b), 4);

    // Node 1 starts again (both processes: nothing kept). Until its bulk sync is over it
    // holds the preemption gate shut, even before it has heard its peer.
    let mut a = start(1);
    assert_eq!(a.ha_sync_state(), Some((true, false)));
    sync_restarted(epoch, &mut a, &mut b);
    assert_eq!(a.ha_sync_state(), Some((true, true)));
    b.demote(epoch.elapsed());
    a.take_over(epoch.elapsed());
    assert_eq!(generation(&mut a), 5, "above 1, 2, 3 and 4");

    // Both standby, then node 1 restarts again: the standby's bulk sync carries them too.
    a.demote(epoch.elapsed());
    drop(a);
    let mut a = start(1);
    sync_restarted(epoch, &mut a, &mut b);
    a.take_over(epoch.elapsed());
    assert_eq!(generation(&mut a), 7, "above 5");
}

#[test]
fn a_node_alone_with_a_state_dir_never_takes_a_generation_again_after_a_restart() {
    // The peer node never answers: each start is alone.
    let (ha, epoch) = (ha_config(1, port()), Instant::now());
    if !can_bind_both("127.0.0.12", "127.0.0.12") {
        return;
    }
    let (text, dir) = responder_with_state_dir("127.0.0.12", "ike-state-iv");
    let mut seen = Vec::new();
    for _restart in 0..3 {
        let mut a = IkeRunner::new(parse_text(&text).unwrap(), None, epoch.elapsed(), Some(&ha));
        let a = a.as_mut().unwrap();
        a.take_over(epoch.elapsed());
        seen.push(generation(a));
    }
    assert_eq!(seen, [1, 3, 5]);
    let _ = std::fs::remove_dir_all(&dir);
}
