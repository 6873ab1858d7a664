//! Restarts, against a fast path that keeps state as the real one does (ids in use refused,
//! `sa_list` / `sp_list` answered from what it holds, standby SAs, records and activations
//! applied) and records every request: a fast path that restarted gets the whole table again
//! with its sequence numbers carried on, and a slow path that restarted collides on no id
//! and replaces what it found.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use super::tests::info;
use super::*;
use ike::action::ChildRef;
use ike::message::TrafficSelector;
use ipc::fastpath::{SaCount, SaState, SeqRecord, SpInfo, SyncApplied};
use ipc::{SaMode, SaTarget, SpAction};
use serde_json::json;

/// One SA as the fake holds it.
#[derive(Debug, Clone)]
pub(super) struct FakeSa {
    pub(super) spec: SaSpec,
    pub(super) active: bool,
    pub(super) oseq: u64,
    pub(super) top: u64,
    pub(super) generation: u16,
}

#[derive(Debug, Default)]
pub(super) struct StatefulFastpath {
    pub(super) sas: BTreeMap<u32, FakeSa>,
    pub(super) policies: BTreeMap<(Direction, u32), SpSpec>,
    next_policy: u32,
    pub(super) log: Vec<String>,
}

impl StatefulFastpath {
    pub(super) fn sa(&self, id: u32) -> &FakeSa {
        &self.sas[&id]
    }

    fn info(id: u32, s: &FakeSa) -> SaInfo {
        SaInfo {
            id: s.spec.id,
            worker: 0,
            spi: format!("{:#010x}", s.spec.spi),
            direction: s.spec.dir,
            mode: s.spec.mode,
            transform: s.spec.transform.name().into(),
            backend: "fake".into(),
            state: if s.active {
                SaState::Active
            } else {
                SaState::Standby
            },
            esn: s.spec.esn,
            natt: None,
            oseq: s.oseq,
            window_top: s.top,
            window_size: s.spec.window,
            packets: u64::from(id),
            bytes: 0,
            drops: Default::default(),
            soft_bytes: 0,
            hard_bytes: 0,
            soft_packets: 0,
            hard_packets: 0,
            last_used_ns: 0,
            idle_ms: 0,
            iv_generation: s.generation,
        }
    }
}

impl FastpathOps for StatefulFastpath {
    fn call(&mut self, request: &Request) -> Result<Value, String> {
        let v = match request {
            Request::SaAdd { sa } => {
                let id = sa.id.get();
                let standby = if sa.standby { " standby" } else { "" };
                self.log
                    .push(format!("sa_add {id} {} {:#x}{standby}", sa.dir, sa.spi));
                if self.sas.contains_key(&id) {
                    return Err(format!("SA id {id} is in use"));
                }
                let s = FakeSa {
                    spec: sa.clone(),
                    active: !sa.standby,
                    oseq: 0,
                    top: 0,
                    generation: 0,
                };
                self.sas.insert(id, s);
                json!({"sa": id, "worker": 0})
            }
            Request::SaDel { sa } => {
                self.log.push(format!("sa_del {sa}"));
                self.sas
                    .remove(&sa.get())
                    .ok_or_else(|| format!("no SA {sa}"))?;
                json!({ "sa": sa })
            }
            Request::SpAdd { sp } => {
                self.next_policy += 1;
                let SpAction::Protect(sa) = sp.action else {
                    panic!("only protect policies here")
                };
                self.log.push(format!("sp_add {} {sa}", sp.dir));
                self.policies.insert((sp.dir, self.next_policy), sp.clone());
                json!({ "policy": self.next_policy })
            }
            Request::SpDel { dir, policy } => {
                self.log.push(format!("sp_del {dir} {policy}"));
                self.policies.remove(&(*dir, policy.0)).ok_or("no policy")?;
                json!({ "policy": policy })
            }
            Request::SaList => {
                let all: Vec<SaInfo> = self.sas.iter().map(|(i, s)| Self::info(*i, s)).collect();
                serde_json::to_value(all).unwrap()
            }
            Request::SpList { dir } => {
                let all: Vec<SpInfo> = self
                    .policies
                    .iter()
                    .filter(|((d, _), _)| d == dir)
                    .map(|((_, id), sp)| SpInfo {
                        id: PolicyId(*id),
                        sp: sp.clone(),
                    })
                    .collect();
                serde_json::to_value(all).unwrap()
            }
            Request::SaSync { sync } => {
                let ids: Vec<String> = sync.iter().map(|r| r.sa.to_string()).collect();
                self.log.push(format!("sa_sync {}", ids.join(",")));
                let mut applied = 0;
                for r in sync {
                    if let Some(s) = self.sas.get_mut(&r.sa.get()) {
                        if s.spec.spi == r.spi && s.spec.dir == r.dir {
                            s.oseq = s.oseq.max(r.oseq);
                            s.top = s.top.max(r.top);
                            s.generation = s.generation.max(r.generation);
                            applied += 1;
                        }
                    }
                }
                serde_json::to_value(SyncApplied {
                    applied,
                    records: sync.len(),
                })
                .unwrap()
            }
            Request::SaActivate {
                sa,
                oseq_shift,
                generation,
            } => {
                let SaTarget::One(id) = sa else {
                    panic!("a replay activates its own SAs, never all")
                };
                // No shift named: the fast path's in force, its default here.
                let oseq_shift = oseq_shift.unwrap_or(OSEQ_SHIFT);
                self.log
                    .push(format!("sa_activate {id} +{oseq_shift} gen {generation}"));
                let s = self.sas.get_mut(&id.get()).ok_or("no SA")?;
                if s.spec.dir == Direction::Out {
                    s.oseq += oseq_shift;
                }
                s.generation = *generation;
                s.active = true;
                serde_json::to_value(SaCount { sas: 1 }).unwrap()
            }
            o => return Err(format!("unexpected {}", o.op())),
        };
        Ok(v)
    }
}

pub(super) fn record(
    sa: u32,
    spi: u32,
    dir: Direction,
    oseq: u64,
    top: u64,
    generation: u16,
) -> SeqRecord {
    SeqRecord {
        sa: SaId::new(sa.into()).unwrap(),
        spi,
        dir,
        oseq,
        top,
        bits: [0; 4],
        generation,
        at_ns: 0,
    }
}

pub(super) const T0: Duration = Duration::from_secs(10);

#[test]
fn a_restarted_fast_path_gets_the_whole_table_with_its_sequence_numbers() {
    let mut fp = StatefulFastpath::default();
    let mut t = SaTable::default();
    let a = info(1, 1, 0x100, true);
    let b = info(1, 2, 0x200, false);
    t.install(&mut fp, &a, None).unwrap();
    t.install(&mut fp, &b, Some(64)).unwrap();
    let before: BTreeMap<u32, SaSpec> = fp.sas.iter().map(|(i, s)| (*i, s.spec.clone())).collect();
    let policies_before: Vec<SpSpec> = fp.policies.values().cloned().collect();
    t.note_synced(&[
        record(2, 0x1100, Direction::Out, 500, 0, 0),
        record(1, 0x100, Direction::In, 0, 300, 0),
        // Older than what came before it: kept out.
        record(2, 0x1100, Direction::Out, 400, 0, 0),
        // Of an SA that had the id before, and of an id not ours: ignored.
        record(3, 0x999, Direction::In, 0, 9999, 0),
        record(77, 0x77, Direction::Out, 9999, 0, 0),
    ]);
    assert_eq!(t.synced(2).map(|r| r.oseq), Some(500));
    assert!(t.synced(3).is_none() && t.synced(77).is_none());

    // The fast path restarts: nothing in it.
    let mut fp = StatefulFastpath::default();
    let r = t.resync(&mut fp, T0).unwrap();
    assert_eq!((r.replayed, r.lost.len(), r.adopted), (2, 0, 0));
    // Same ids, SPIs and keys; active again.
    let after: BTreeMap<u32, SaSpec> = fp
        .sas
        .iter()
        .map(|(i, s)| {
            let mut spec = s.spec.clone();
            spec.standby = false;
            (*i, spec)
        })
        .collect();
    assert_eq!(after, before);
    assert!(fp.sas.values().all(|s| s.active));
    // Outbound goes on past the last record, inbound's window from its top, under a new
    // generation; without a record, outbound starts at the shift, never at 1.
    assert_eq!(fp.sa(2).oseq, 500 + OSEQ_SHIFT);
    assert_eq!(fp.sa(1).top, 300);
    assert_eq!(fp.sa(4).oseq, OSEQ_SHIFT);
    assert!(fp.sas.values().all(|s| s.generation == 2));
    // Every SA went in as standby, got its records, then was activated; policies last.
    assert_eq!(
        fp.log[..8],
        [
            "sa_add 1 in 0x100 standby",
            "sa_add 2 out 0x1100 standby",
            "sa_sync 1,2",
            "sa_activate 1 +65536 gen 2",
            "sa_activate 2 +65536 gen 2",
            "sp_add in 1",
            "sp_add out 2",
            "sa_add 3 in 0x200 standby",
        ]
    );
    let policies_after: Vec<SpSpec> = fp.policies.values().cloned().collect();
    assert_eq!(policies_after, policies_before);
    // The table knows the policies' new ids: a removal takes them out.
    t.remove(&mut fp, &a.child).unwrap();
    t.remove(&mut fp, &b.child).unwrap();
    assert!(fp.sas.is_empty() && fp.policies.is_empty(), "{:?}", fp.log);
}

#[test]
fn each_replay_raises_the_generation_above_any_used() {
    let mut fp = StatefulFastpath::default();
    let mut t = SaTable::default();
    let a = info(1, 1, 0x100, true);
    t.install(&mut fp, &a, None).unwrap();
    let mut seen = Vec::new();
    for round in 0..3 {
        // A record says the SA already sent under generation 5 (another node's, say).
        if round == 1 {
            t.note_synced(&[record(2, 0x1100, Direction::Out, 10, 0, 5)]);
        }
        fp = StatefulFastpath::default();
        assert_eq!(t.resync(&mut fp, T0).unwrap().replayed, 1);
        seen.push(fp.sa(2).generation);
        assert_eq!(t.get(1, 1).unwrap().generation, fp.sa(2).generation);
    }
    assert_eq!(seen, vec![2, 7, 9]);
    // A fast path that kept its SAs gets nothing again.
    fp.log.clear();
    let r = t.resync(&mut fp, T0).unwrap();
    assert_eq!(r.replayed, 0);
    assert!(fp.log.is_empty(), "{:?}", fp.log);
}

#[test]
fn a_refused_replay_takes_its_part_back_and_reports_the_child() {
    let mut fp = StatefulFastpath::default();
    let mut t = SaTable::default();
    t.install(&mut fp, &info(1, 1, 0x100, true), None).unwrap();
    // The fast path came back with an SA of the operator's under id 2.
    let mut fp = StatefulFastpath::default();
    let mut spec = t.get(1, 1).unwrap().spec_out.clone();
    spec.spi = 0x4242;
    fp.call(&Request::SaAdd { sa: spec }).unwrap();
    let r = t.resync(&mut fp, T0).unwrap();
    assert_eq!(r.replayed, 0);
    assert_eq!(r.lost.len(), 1);
    assert!(r.lost[0].2.contains("in use"), "{:?}", r.lost);
    assert!(t.is_empty());
    // Only the operator's SA is left, and its id is not handed out.
    assert_eq!(fp.sas.keys().copied().collect::<Vec<_>>(), vec![2]);
    assert!(fp.policies.is_empty());
    let e = t.install(&mut fp, &info(1, 2, 0x500, true), None).unwrap();
    assert_eq!((e.sa_in, e.sa_out), (1, 3));
}

/// What a slow path that died left: one CHILD SA installed by another table.
fn left_behind() -> StatefulFastpath {
    let mut fp = StatefulFastpath::default();
    let mut old = SaTable::default();
    old.install(&mut fp, &info(7, 1, 0x100, true), None)
        .unwrap();
    fp.log.clear();
    fp
}

#[test]
fn a_restarted_slow_path_reserves_what_it_finds_and_replaces_it_without_a_gap() {
    let mut fp = left_behind();
    let mut t = SaTable::default();
    let r = t.resync(&mut fp, T0).unwrap();
    assert_eq!((r.adopted, r.reserved, r.replayed), (2, 2, 0));
    assert_eq!(r.orphan_peers, vec!["192.0.2.2".parse::<IpAddr>().unwrap()]);
    assert_eq!(t.orphans().len(), 2);
    assert_eq!(t.orphan_deadline(), Some(T0 + ORPHAN_GRACE));
    assert!(fp.log.is_empty(), "nothing removed yet: {:?}", fp.log);
    // Reconnecting again finds nothing new.
    assert_eq!(t.resync(&mut fp, T0).unwrap().adopted, 0);

    // The peer negotiated again: same selectors, new SPIs, ids that collide with nothing.
    let e = t.install(&mut fp, &info(1, 1, 0x300, true), None).unwrap();
    assert_eq!((e.sa_in, e.sa_out), (3, 4));
    // New first, old after: the orphans' policies, then their SAs.
    assert_eq!(
        fp.log,
        [
            "sa_add 3 in 0x300",
            "sa_add 4 out 0x1300",
            "sp_add in 3",
            "sp_add out 4",
            "sp_del in 1",
            "sa_del 1",
            "sp_del out 2",
            "sa_del 2",
        ]
    );
    assert!(t.orphans().is_empty());
    assert_eq!(t.orphan_deadline(), None);
    assert_eq!(fp.sas.keys().copied().collect::<Vec<_>>(), vec![3, 4]);
    // The orphans' ids are free again.
    let e = t.install(&mut fp, &info(1, 2, 0x400, true), None).unwrap();
    assert_eq!((e.sa_in, e.sa_out), (1, 2));
}

#[test]
fn orphans_nobody_replaced_go_after_the_grace_time() {
    let mut fp = left_behind();
    let mut t = SaTable::default();
    t.resync(&mut fp, T0).unwrap();
    // Another CHILD SA (other selectors) replaces nothing.
    let mut other = info(1, 1, 0x300, true);
    other.remote_ts =
        vec![TrafficSelector::from_prefix("10.9.0.0".parse().unwrap(), 16, 0, (0, 65535)).unwrap()];
    t.install(&mut fp, &other, None).unwrap();
    assert_eq!(t.orphans().len(), 2);
    fp.log.clear();
    assert!(t
        .expire_orphans(&mut fp, T0 + ORPHAN_GRACE - Duration::from_millis(1))
        .is_empty());
    assert!(fp.log.is_empty());
    assert!(t.expire_orphans(&mut fp, T0 + ORPHAN_GRACE).is_empty());
    assert_eq!(
        fp.log,
        ["sp_del in 1", "sa_del 1", "sp_del out 2", "sa_del 2"]
    );
    assert!(t.orphans().is_empty());
    assert_eq!(fp.sas.keys().copied().collect::<Vec<_>>(), vec![3, 4]);
}

#[test]
fn the_operators_own_policies_and_sas_are_left_alone_but_their_ids_reserved() {
    let mut fp = StatefulFastpath::default();
    let mut own = info(9, 9, 0x900, true);
    own.child.spi_out = 0x901;
    let sa = sa_spec(1, Direction::Out, &own, None).unwrap();
    fp.call(&Request::SaAdd { sa }).unwrap();
    let mut sp = sp_specs(Direction::Out, 1, &own).unwrap().remove(0);
    sp.priority = 10;
    fp.call(&Request::SpAdd { sp }).unwrap();
    fp.log.clear();
    let mut t = SaTable::default();
    let r = t.resync(&mut fp, T0).unwrap();
    assert_eq!((r.adopted, r.reserved), (0, 1));
    let e = t.install(&mut fp, &info(1, 1, 0x100, true), None).unwrap();
    assert_eq!((e.sa_in, e.sa_out), (2, 3), "id 1 is the operator's");
    assert!(t.expire_orphans(&mut fp, T0 + ORPHAN_GRACE * 2).is_empty());
    assert!(fp.sas.contains_key(&1));
    assert_eq!(fp.policies.len(), 3);
}

#[test]
fn tunnel_endpoints_are_read_as_data() {
    let fp = left_behind();
    let s = fp.sa(1);
    assert_eq!(
        StatefulFastpath::info(1, s).mode,
        SaMode::Tunnel {
            local: "192.0.2.1".parse().unwrap(),
            remote: "192.0.2.2".parse().unwrap()
        }
    );
}

#[test]
fn one_conn_per_orphan_peer_is_started_again() {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let conns = vec![
        ("any".to_string(), ip("0.0.0.0")),
        ("cbc".to_string(), ip("192.0.2.2")),
        ("gcm".to_string(), ip("192.0.2.2")),
        ("v6".to_string(), ip("2001:db8::2")),
    ];
    assert_eq!(
        restart_conns(
            &conns,
            &[ip("192.0.2.2"), ip("2001:db8::2"), ip("198.51.100.1")]
        ),
        vec!["cbc", "v6"]
    );
    assert!(restart_conns(&conns, &[]).is_empty());
}

#[test]
fn reserved_ids_are_skipped_and_come_back_when_freed() {
    let mut p = IdPool::default();
    p.reserve(1);
    p.reserve(3);
    assert_eq!(p.alloc(), Some(2));
    assert_eq!(p.alloc(), Some(4));
    p.unreserve(3);
    assert_eq!(p.alloc(), Some(3));
    // Not reached yet: comes in its turn, once.
    p.reserve(6);
    p.unreserve(6);
    assert_eq!(
        (p.alloc(), p.alloc(), p.alloc()),
        (Some(5), Some(6), Some(7))
    );
    // A freed id that was reserved meanwhile is not handed out.
    p.release(2);
    p.reserve(2);
    assert_eq!(p.alloc(), Some(8));
}

#[test]
fn restored_child_sas_are_taken_over_by_spi_not_orphaned() {
    let mut fp = left_behind();
    let mut t = SaTable::default();
    // A checkpoint brought back IKE SA 3 (a new node-local handle) with the CHILD SA the fast
    // path has (SPI 0x100), and one it does not have.
    t.expect(vec![
        (info(3, 1, 0x100, true), None),
        (info(3, 2, 0x200, true), None),
    ]);
    let r = t.resync(&mut fp, T0).unwrap();
    assert_eq!((r.restored, r.adopted, r.reserved), (1, 0, 0));
    assert!(r.orphan_peers.is_empty() && t.orphans().is_empty());
    assert!(fp.log.is_empty(), "nothing reinstalled: {:?}", fp.log);
    let e = t.get(3, 1).unwrap();
    assert_eq!((e.sa_in, e.sa_out), (1, 2));
    assert_eq!((e.policies_in.len(), e.policies_out.len()), (1, 1));
    assert_eq!(t.lookup_fp(2, Some(0x1100)).map(|(e, _)| e.child), Some(1));
    let left = t.take_unadopted();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].0.child.spi_in, 0x200);
    // The missing one goes in under ids that collide with nothing.
    let e = t.install(&mut fp, &left[0].0, None).unwrap();
    assert_eq!((e.sa_in, e.sa_out), (3, 4));
    // The taken-over one is removed as any of ours, and its ids come back.
    let r = ChildRef {
        sa: 3,
        id: 1,
        spi_in: 0x100,
        spi_out: 0x1100,
    };
    t.remove(&mut fp, &r).unwrap();
    assert_eq!(fp.sas.keys().copied().collect::<Vec<_>>(), vec![3, 4]);
    assert!(fp.policies.len() == 2);
    let e = t.install(&mut fp, &info(3, 5, 0x500, true), None).unwrap();
    assert_eq!((e.sa_in.min(e.sa_out), e.sa_in.max(e.sa_out)), (1, 2));
}
