//! Moves of outbound policies between two members, against the real SPD.

use super::tests::{info, OutboundSpd, Recorder};
use super::*;

/// The real outbound SPD, with each batch's requests recorded and the SPD checked after
/// each batch: a batch is what a worker carries out in one visit.
#[derive(Default)]
struct Batches {
    spd: OutboundSpd,
    batches: Vec<Vec<&'static str>>,
    /// Which SA protected the flow after each batch.
    after: Vec<Option<u32>>,
}

impl FastpathOps for Batches {
    fn call(&mut self, request: &Request) -> Result<Value, String> {
        self.spd.call(request)
    }

    fn call_batch(&mut self, requests: &[Request]) -> Vec<Result<Value, String>> {
        self.batches
            .push(requests.iter().map(Request::op).collect());
        let r = requests.iter().map(|q| self.spd.call(q)).collect();
        self.after.push(self.spd.protecting());
        r
    }
}

/// IKE SA 1 (the primary) installed, then IKE SA 2 (the secondary) held.
fn two_members(fp: &mut dyn FastpathOps) -> SaTable {
    let mut t = SaTable::default();
    t.install(fp, &info(1, 1, 0x100, true), None).unwrap();
    t.hold(2, true);
    t.install(fp, &info(2, 1, 0x200, true), None).unwrap();
    t
}

#[test]
fn a_held_member_goes_in_without_outbound_policies_and_takes_them_in_one_batch() {
    let mut fp = Batches::default();
    let mut t = two_members(&mut fp);
    let (primary_out, secondary_out) = (t.get(1, 1).unwrap().sa_out, t.get(2, 1).unwrap().sa_out);
    assert_eq!(fp.spd.protecting(), Some(primary_out));
    assert_eq!(t.outbound_policies(2), (0, 1), "kept aside");
    assert_eq!(fp.spd.spd.len(), 1);
    fp.batches.clear();
    fp.after.clear();

    let r = t.steer(
        &mut fp,
        &[Move {
            from: vec![1],
            to: vec![2],
        }],
    );
    assert_eq!(r, [Ok(())]);
    assert_eq!(fp.batches, [vec!["sp_add", "sp_del"]], "one step");
    assert_eq!(fp.after, [Some(secondary_out)]);
    assert_eq!(
        (t.outbound_policies(1), t.outbound_policies(2)),
        ((0, 1), (1, 0))
    );
    // A rekey of the held primary's CHILD SA keeps its new policies aside too.
    let old = info(1, 1, 0x100, true).child;
    t.rekey(&mut fp, &old, &info(1, 2, 0x300, true), None, false)
        .unwrap();
    t.remove(&mut fp, &old).unwrap();
    assert_eq!(t.outbound_policies(1), (0, 1));
    assert_eq!(fp.spd.protecting(), Some(secondary_out));
    // And back: the primary's new SA protects.
    let r = t.steer(
        &mut fp,
        &[Move {
            from: vec![2],
            to: vec![1],
        }],
    );
    assert_eq!(r, [Ok(())]);
    assert_eq!(fp.spd.protecting(), Some(t.get(1, 2).unwrap().sa_out));
    assert_eq!(fp.spd.spd.len(), 1);
}

#[test]
fn many_moves_share_batches_and_none_is_split() {
    let mut fp = Batches::default();
    let mut t = SaTable::default();
    // 400 groups: IKE SAs 2g (active) and 2g+1 (held), one CHILD SA each.
    let groups = 400u64;
    for g in 0..groups {
        let spi = g as u32;
        t.install(&mut fp, &info(2 * g, 1, 0x1000 + spi, true), None)
            .unwrap();
        t.hold(2 * g + 1, true);
        t.install(&mut fp, &info(2 * g + 1, 1, 0x8000 + spi, true), None)
            .unwrap();
    }
    let moves: Vec<Move> = (0..groups)
        .map(|g| Move {
            from: vec![2 * g],
            to: vec![2 * g + 1],
        })
        .collect();
    fp.batches.clear();
    let r = t.steer(&mut fp, &moves);
    assert!(r.iter().all(Result::is_ok));
    // Two changes a move: 256 moves in the first batch, the other 144 in the second.
    let sizes: Vec<usize> = fp.batches.iter().map(Vec::len).collect();
    assert_eq!(sizes, [MAX_BATCH, 800 - MAX_BATCH]);
    for b in &fp.batches {
        for pair in b.chunks(2) {
            assert_eq!(pair, ["sp_add", "sp_del"]);
        }
    }
    for g in 0..groups {
        assert_eq!(t.outbound_policies(2 * g), (0, 1));
        assert_eq!(t.outbound_policies(2 * g + 1), (1, 0));
    }
}

#[test]
fn a_refused_change_fails_its_move_and_keeps_the_policy_where_it_was() {
    let mut fp = Recorder::default();
    let mut t = two_members(&mut fp);
    // The sp_add is refused: the secondary's policy stays aside, the primary's goes.
    fp.fail_on = Some(fp.log.len());
    let r = t.steer(
        &mut fp,
        &[Move {
            from: vec![1],
            to: vec![2],
        }],
    );
    assert!(r[0].as_ref().unwrap_err().contains("sp_add out"));
    assert_eq!(t.outbound_policies(2), (0, 1));
    assert_eq!(t.outbound_policies(1), (0, 1));
}
