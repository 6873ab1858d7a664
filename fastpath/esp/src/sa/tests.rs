//! The failover state only moves forward: whatever sets the outbound sequence number or the
//! window (a control plane, a synced snapshot, an activation) never takes it back.

use super::*;
use crate::crypto::{EncAlg, IntegAlg};

fn sa(direction: Direction, esn: bool) -> Sa {
    let keys = TransformKeys {
        enc: EncAlg::AesGcm16_128,
        integ: IntegAlg::None,
        enc_key: (0..20).collect(),
        auth_key: Vec::new(),
    };
    let local = "192.0.2.1".parse().unwrap();
    let remote = "192.0.2.2".parse().unwrap();
    let mut config = SaConfig::tunnel(0x1001, direction, local, remote, keys);
    config.esn = esn;
    Sa::new(SaId(1), config, 0).unwrap()
}

fn snapshot_of(sa: &Sa, oseq: u64, top: u64, generation: u16) -> SeqSnapshot {
    SeqSnapshot {
        oseq,
        window: WindowSnapshot {
            top,
            ..WindowSnapshot::default()
        },
        generation,
        ..sa.snapshot(0)
    }
}

#[test]
fn advance_oseq_refuses_a_step_backward_and_past_the_last_number() {
    let mut out = sa(Direction::Outbound, false);
    out.advance_oseq(100).unwrap();
    assert_eq!(out.next_seq(), Some(101));
    assert_eq!(
        out.advance_oseq(50),
        Err(SeqError::Backward {
            current: 101,
            to: 50
        })
    );
    assert_eq!(out.oseq(), 101, "a refused step changes nothing");
    out.advance_oseq(101).unwrap();
    assert_eq!(out.oseq(), 101, "staying put is not a step backward");
    assert_eq!(
        out.advance_oseq(u32::MAX as u64 + 1),
        Err(SeqError::BeyondMax {
            max: u32::MAX as u64,
            to: u32::MAX as u64 + 1
        })
    );
    out.advance_oseq(u32::MAX as u64).unwrap();
    assert_eq!(out.next_seq(), None, "32-bit sequence numbers never cycle");

    let mut esn = sa(Direction::Outbound, true);
    esn.advance_oseq(u32::MAX as u64 + 1).unwrap();
    assert_eq!(esn.next_seq(), Some(u32::MAX as u64 + 2));
}

#[test]
fn a_snapshot_never_lowers_oseq_the_window_or_the_generation() {
    let mut out = sa(Direction::Outbound, false);
    out.apply_snapshot(&snapshot_of(&out, 500, 0, 4));
    assert_eq!((out.oseq(), out.generation()), (500, 4));
    // A late or replayed record from before.
    out.apply_snapshot(&snapshot_of(&out, 300, 0, 2));
    assert_eq!((out.oseq(), out.generation()), (500, 4));

    let mut inb = sa(Direction::Inbound, false);
    inb.apply_snapshot(&snapshot_of(&inb, 0, 2000, 0));
    assert_eq!(inb.window().top(), 2000);
    inb.apply_snapshot(&snapshot_of(&inb, 0, 1000, 0));
    assert_eq!(inb.window().top(), 2000);
    assert!(
        inb.window().check(1700).is_err(),
        "what the newer snapshot's window refuses stays refused"
    );
    assert!(inb.window().check(1990).is_ok());
    inb.raise_window(&WindowSnapshot::default());
    assert_eq!(inb.window().top(), 2000, "raise_window never lowers");
}

#[test]
fn activation_shifts_oseq_forward_and_saturates_without_stepping_back() {
    let mut out = sa(Direction::Outbound, false);
    out.deactivate();
    out.apply_snapshot(&snapshot_of(&out, 1000, 0, 0));
    out.activate(64, 1);
    assert_eq!(out.state(), SaState::Active);
    assert_eq!((out.oseq(), out.generation()), (1064, 1));

    // A synced number already past this SA's bound (a record from an ESN peer on a misconfigured
    // node): activation leaves it there, the SA sends nothing, and never goes back.
    let mut late = sa(Direction::Outbound, false);
    late.deactivate();
    let past = u32::MAX as u64 + 10;
    late.apply_snapshot(&snapshot_of(&late, past, 0, 0));
    late.activate(64, 1);
    assert_eq!(late.oseq(), past);
    assert_eq!(late.next_seq(), None);
}

#[test]
fn accessors_show_what_the_packets_did() {
    let mut inb = sa(Direction::Inbound, false);
    assert_eq!(inb.state(), SaState::Active);
    inb.replay_update(7).unwrap();
    assert_eq!(inb.window().top(), 7);
    assert!(inb.replay_update(7).is_err(), "a duplicate is refused");
    assert_eq!(inb.account(100, 42), None);
    inb.count_drop(DropReason::Replay);
    assert_eq!(inb.counters().packets, 1);
    assert_eq!(inb.counters().bytes, 100);
    assert_eq!(inb.counters().drops[DropReason::Replay as usize], 1);
    assert_eq!(inb.last_used_ns(), 42);
    inb.touch(50);
    assert_eq!(inb.last_used_ns(), 50);
}
