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

/// The map of what a packet touches before the cipher: each per-packet field of an SA with
/// its offset and line (`cargo test --release -p esp --lib layout_map -- --nocapture`), and
/// the lines [`Sa::prefetch`] asks for hold them all.
#[test]
fn layout_map() {
    use std::mem::offset_of;
    let hot = offset_of!(Sa, hot);
    let config = offset_of!(Sa, config);
    let session = offset_of!(Sa, session);
    // (field, offset, read by outbound packets, by inbound packets)
    let fields = [
        ("hot.oseq", hot + offset_of!(Hot, oseq), true, false),
        ("hot.packets", hot + offset_of!(Hot, packets), true, true),
        ("hot.bytes", hot + offset_of!(Hot, bytes), true, true),
        (
            "hot.last_used_ns",
            hot + offset_of!(Hot, last_used_ns),
            true,
            true,
        ),
        (
            "hot.watch_packets",
            hot + offset_of!(Hot, watch_packets),
            true,
            true,
        ),
        (
            "hot.watch_bytes",
            hot + offset_of!(Hot, watch_bytes),
            true,
            true,
        ),
        (
            "hot.generation",
            hot + offset_of!(Hot, generation),
            true,
            false,
        ),
        ("hot.state", hot + offset_of!(Hot, state), true, true),
        (
            "hot.snapshot_queued",
            hot + offset_of!(Hot, snapshot_queued),
            true,
            true,
        ),
        ("outer", offset_of!(Sa, outer), true, false),
        ("window (top, size)", offset_of!(Sa, window), false, true),
        // Its line is asked for a stage later, once the sequence number is known.
        ("window ring (one line)", RING_AT, false, false),
        (
            "config.spi",
            config + offset_of!(SaConfig, spi),
            true,
            false,
        ),
        ("config.esn", config + offset_of!(SaConfig, esn), true, true),
        (
            "config.direction",
            config + offset_of!(SaConfig, direction),
            true,
            true,
        ),
        ("config.df", config + offset_of!(SaConfig, df), true, false),
        (
            "config.dscp",
            config + offset_of!(SaConfig, dscp),
            true,
            false,
        ),
        (
            "config.encap",
            config + offset_of!(SaConfig, encap),
            true,
            false,
        ),
        (
            "config.mode",
            config + offset_of!(SaConfig, mode),
            true,
            true,
        ),
        (
            "config.selectors",
            config + offset_of!(SaConfig, selectors),
            false,
            true,
        ),
        (
            "config.lifetime (cold)",
            config + offset_of!(SaConfig, lifetime),
            false,
            false,
        ),
        (
            "config.keys (cold)",
            config + offset_of!(SaConfig, keys),
            false,
            false,
        ),
        ("session (lengths, salt)", session, true, true),
        (
            "session keys",
            session + crate::crypto::Session::KEYS_AT,
            true,
            true,
        ),
        ("id (cold)", offset_of!(Sa, id), false, false),
        (
            "sync_mark (HA only)",
            offset_of!(Sa, sync_mark),
            false,
            false,
        ),
        ("drops (cold)", offset_of!(Sa, drops), false, false),
    ];
    println!("{:24} {:>6} {:>5}  out in", "field", "offset", "line");
    for (name, at, out, inb) in fields {
        let mark = |b: bool| if b { "x" } else { "-" };
        println!(
            "{name:24} {at:6} {:5}  {:>3} {:>2}",
            at / 64,
            mark(out),
            mark(inb)
        );
        // What a packet reads lies in the lines the prefetch asks for.
        let asked = |direction: Direction| {
            hot_spans(direction)
                .iter()
                .any(|&(from, to)| (from / 64..to.div_ceil(64)).contains(&(at / 64)))
                || at / 64 == session / 64
                || at / 64 == (session + crate::crypto::Session::KEYS_AT) / 64
        };
        assert!(
            !out || asked(Direction::Outbound),
            "{name} not prefetched for outbound"
        );
        assert!(
            !inb || asked(Direction::Inbound),
            "{name} not prefetched for inbound"
        );
    }
    println!(
        "Sa {} B, Session {} B; lines asked for: outbound {}, inbound {} (+2 of the session)",
        std::mem::size_of::<Sa>(),
        std::mem::size_of::<crate::crypto::Session>(),
        hot_lines(Direction::Outbound),
        hot_lines(Direction::Inbound),
    );
    // Each line of the spans is asked for once, and none of the ring's.
    for direction in [Direction::Outbound, Direction::Inbound] {
        let [(_, head_end), (config_at, _)] = hot_spans(direction);
        assert!(head_end <= RING_AT && RING_AT + 128 <= config_at);
    }
    assert_eq!(offset_of!(Sa, hot), 0);
    assert_eq!(std::mem::size_of::<Hot>(), 64);
}

/// The hot line's lifetime thresholds give the events the limits themselves give: random
/// limits (0 for none) and packet sizes, against the limits checked in full per packet.
#[test]
fn lifetime_thresholds_raise_what_the_limits_say() {
    let mut rng = toolkit::xorshift::Rng::new(11);
    for _ in 0..2000 {
        let mut pick = |max: u64| match rng.next_u64() % 3 {
            0 => 0,
            _ => 1 + rng.next_u64() % max,
        };
        let lifetime = Lifetime {
            soft_packets: pick(40),
            hard_packets: pick(60),
            soft_bytes: pick(3000),
            hard_bytes: pick(5000),
        };
        let mut config = sa(Direction::Outbound, false).config;
        config.lifetime = lifetime;
        let mut sa = Sa::new(SaId(1), config, 0).unwrap();
        let (mut packets, mut bytes, mut soft_raised) = (0u64, 0u64, false);
        for _ in 0..80 {
            let len = 1 + rng.next_u64() % 200;
            let lt = &lifetime;
            let hard = (lt.hard_packets != 0 && packets >= lt.hard_packets)
                || (lt.hard_bytes != 0 && bytes + len > lt.hard_bytes);
            let got = sa.hard_limit_reached(len);
            assert_eq!(got, hard.then_some(SaEventKind::HardLifetime), "{lt:?}");
            if hard {
                assert_eq!(sa.state(), SaState::Expired);
                break;
            }
            packets += 1;
            bytes += len;
            let soft = (lt.soft_packets != 0 && packets >= lt.soft_packets)
                || (lt.soft_bytes != 0 && bytes >= lt.soft_bytes);
            let want = (soft && !soft_raised).then_some(SaEventKind::SoftLifetime);
            soft_raised |= soft;
            assert_eq!(sa.account(len, 0), want, "{lt:?} after {packets} packets");
        }
    }
}
