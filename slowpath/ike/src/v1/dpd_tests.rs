use super::*;
use crate::rng::TestRng;

const S: fn(u64) -> Duration = Duration::from_secs;

fn timing(interval: u64, retransmit: u64, retries: u32) -> Option<DpdTiming> {
    Some(DpdTiming {
        interval: S(interval),
        retransmit: S(retransmit),
        retries,
    })
}

fn dpd(t: Option<DpdTiming>) -> Dpd {
    let mut d = Dpd::new(t, S(0), &mut TestRng::new(7));
    d.set_peer_supports(true);
    d
}

#[test]
fn idle_peer_is_probed_retransmitted_then_dead() {
    let mut d = dpd(timing(30, 5, 2));
    let first = d.snapshot().next_seq;
    assert!(first < 0x8000_0000, "top bit clear");
    assert_eq!(d.next_deadline(), Some(S(30)));
    assert_eq!(d.poll(S(29)), DpdStep::Wait);
    assert_eq!(d.poll(S(30)), DpdStep::Send(first));
    assert_eq!(d.next_deadline(), Some(S(35)));
    assert_eq!(d.poll(S(34)), DpdStep::Wait);
    // Retransmissions repeat the number; a new R-U-THERE would take the next.
    assert_eq!(d.poll(S(35)), DpdStep::Send(first));
    assert_eq!(d.poll(S(40)), DpdStep::Send(first));
    assert_eq!(d.snapshot().next_seq, first.wrapping_add(1));
    assert_eq!(d.poll(S(44)), DpdStep::Wait);
    assert_eq!(d.poll(S(45)), DpdStep::Dead);
    assert!(d.is_dead());
    assert_eq!((d.poll(S(100)), d.next_deadline()), (DpdStep::Wait, None));
}

#[test]
fn traffic_postpones_the_probe() {
    let mut d = dpd(timing(30, 5, 2));
    d.on_inbound(S(20));
    assert_eq!(d.poll(S(30)), DpdStep::Wait);
    assert_eq!(d.next_deadline(), Some(S(50)));
    // A stale report (an older timestamp) does not move it back.
    d.on_inbound(S(10));
    assert_eq!(d.next_deadline(), Some(S(50)));
    let DpdStep::Send(seq) = d.poll(S(50)) else {
        panic!("no probe")
    };
    // ESP from the peer while waiting for the ACK ends the probe; its late ACK still counts.
    d.on_inbound(S(52));
    assert_eq!(d.poll(S(56)), DpdStep::Wait);
    assert_eq!(d.on_ack(&seq_data(seq), S(53)), Ok(()));
    assert_eq!(d.next_deadline(), Some(S(83)));
}

#[test]
fn ack_must_match_our_number() {
    let mut d = dpd(timing(10, 3, 1));
    assert_eq!(d.on_ack(&seq_data(5), S(1)), Err(DpdError::UnexpectedAck));
    let DpdStep::Send(seq) = d.poll(S(10)) else {
        panic!("no probe")
    };
    assert_eq!(
        d.on_ack(&seq_data(seq.wrapping_add(1)), S(11)),
        Err(DpdError::UnexpectedAck)
    );
    assert_eq!(
        d.on_ack(&seq.to_be_bytes()[..3], S(11)),
        Err(DpdError::BadLength)
    );
    // Neither counted as life: the retransmission and the verdict follow.
    assert_eq!(d.poll(S(13)), DpdStep::Send(seq));
    assert_eq!(d.on_ack(&seq_data(seq), S(14)), Ok(()));
    assert_eq!(d.poll(S(16)), DpdStep::Wait);
    let DpdStep::Send(next) = d.poll(S(24)) else {
        panic!("no probe")
    };
    assert_eq!(next, seq.wrapping_add(1));
}

#[test]
fn peer_probes_are_answered_and_must_move_forward() {
    let mut d = dpd(None);
    assert_eq!(
        d.on_r_u_there(&seq_data(u32::MAX - 1), S(1)),
        Ok(u32::MAX - 1)
    );
    // Its retransmission is answered again; the next ones may wrap.
    assert_eq!(
        d.on_r_u_there(&seq_data(u32::MAX - 1), S(2)),
        Ok(u32::MAX - 1)
    );
    assert_eq!(d.on_r_u_there(&seq_data(u32::MAX), S(3)), Ok(u32::MAX));
    assert_eq!(d.on_r_u_there(&seq_data(1), S(4)), Ok(1));
    assert_eq!(
        d.on_r_u_there(&seq_data(u32::MAX), S(5)),
        Err(DpdError::Replayed)
    );
    assert_eq!(d.on_r_u_there(&[], S(5)), Err(DpdError::BadLength));
    assert_eq!(d.snapshot().peer_last, Some(1));
    // Without timing we never probe.
    assert_eq!((d.poll(S(1000)), d.next_deadline()), (DpdStep::Wait, None));
}

#[test]
fn no_probe_without_the_peers_vendor_id() {
    let mut d = Dpd::new(timing(10, 3, 1), S(0), &mut TestRng::new(1));
    assert!(!d.peer_supports());
    assert_eq!((d.poll(S(100)), d.next_deadline()), (DpdStep::Wait, None));
    d.set_peer_supports(true);
    assert!(matches!(d.poll(S(100)), DpdStep::Send(_)));
}

#[test]
fn snapshot_resumes_the_numbering() {
    let mut a = dpd(timing(10, 3, 1));
    let DpdStep::Send(seq) = a.poll(S(10)) else {
        panic!("no probe")
    };
    a.on_r_u_there(&seq_data(77), S(11)).unwrap();
    let snap = a.snapshot();
    assert_eq!(
        snap,
        DpdSnapshot {
            next_seq: seq.wrapping_add(1),
            peer_last: Some(77)
        }
    );
    // The other node takes over at 500 s: a whole interval before its first probe.
    let mut b = Dpd::resume(timing(10, 3, 1), snap, S(500));
    b.set_peer_supports(true);
    assert_eq!(b.poll(S(509)), DpdStep::Wait);
    assert_eq!(b.poll(S(510)), DpdStep::Send(seq.wrapping_add(1)));
    assert_eq!(
        b.on_r_u_there(&seq_data(76), S(511)),
        Err(DpdError::Replayed)
    );
    assert_eq!(b.on_r_u_there(&seq_data(78), S(511)), Ok(78));
}

#[test]
fn numbers_wrap() {
    let snap = DpdSnapshot {
        next_seq: u32::MAX,
        peer_last: None,
    };
    let mut d = Dpd::resume(timing(1, 1, 0), snap, S(0));
    d.set_peer_supports(true);
    assert_eq!(d.poll(S(1)), DpdStep::Send(u32::MAX));
    d.on_ack(&seq_data(u32::MAX), S(1)).unwrap();
    assert_eq!(d.poll(S(2)), DpdStep::Send(0));
    // Zero retries: dead at the first unanswered wait.
    assert_eq!(d.poll(S(3)), DpdStep::Dead);
}
