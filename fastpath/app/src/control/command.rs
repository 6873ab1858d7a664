//! What the control side asks of a worker, and how a worker carries it out on what it owns.

use crate::tables::Tables;
use crossbeam_channel::Sender;
use crossbeam_queue::ArrayQueue;
use esp::counters::DropReason;
use esp::sa::{Direction, Mode, Sa, SaConfig, SaId, SaState};
use esp::spd::{Policy, PolicyId};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// A change or a question for one worker.
pub enum Command {
    /// Install an SA: its owner keeps it; the others learn its inbound SPI's owner.
    AddSa {
        id: SaId,
        config: Box<SaConfig>,
        owner: usize,
    },
    DelSa {
        id: SaId,
    },
    GetSa {
        id: SaId,
    },
    ListSa,
    /// HA standby: apply synced seqnum snapshots to the SAs this worker owns.
    ApplySnapshots(Arc<Vec<esp::snapshot::SeqSnapshot>>),
    AddSp {
        direction: Direction,
        policy: Policy,
    },
    DelSp {
        direction: Direction,
        id: PolicyId,
    },
    ListSp {
        direction: Direction,
    },
    /// HA takeover: activate one SA or all, with the outbound jump and the new IV generation.
    Activate {
        id: Option<SaId>,
        oseq_shift: u64,
        generation: u16,
    },
    Deactivate {
        id: Option<SaId>,
    },
    /// The node's own addresses changed (a VRRP virtual address came or went): the whole
    /// new set, so each worker swaps its copy at once.
    SetLocals(Arc<[std::net::IpAddr]>),
    /// The source MAC of the frames the fast path builds on a port (the VRRP virtual MAC
    /// while master), or back to the port's own with None.
    SetSourceMac {
        port: u16,
        mac: Option<[u8; 6]>,
    },
}

/// A worker's answer.
#[derive(Debug)]
pub enum Reply {
    Done,
    /// Nothing to do here (an SA another worker owns).
    NotMine,
    Failed(String),
    Sa(Box<SaInfo>),
    Sas(Vec<SaInfo>),
    SpAdded(PolicyId),
    Sps(Vec<SpInfo>),
    Count(usize),
}

/// A command with the channel its reply goes back on.
pub struct Request {
    pub command: Command,
    pub reply: Sender<Reply>,
}

/// A worker's inbox (bounded: a stalled worker makes requests fail, not memory grow).
pub type Inbox = Arc<ArrayQueue<Request>>;

/// What `sa_get` / `sa_list` show of an SA.
#[derive(Debug, Clone, Serialize)]
pub struct SaInfo {
    pub id: u32,
    pub worker: usize,
    pub spi: String,
    pub direction: &'static str,
    pub mode: String,
    pub transform: String,
    pub backend: String,
    pub state: &'static str,
    pub esn: bool,
    pub natt: Option<(u16, u16)>,
    /// Outbound: the last sequence number used.
    pub oseq: u64,
    /// Inbound: the highest authenticated sequence number, and the window size.
    pub window_top: u64,
    pub window_size: u32,
    pub packets: u64,
    pub bytes: u64,
    pub drops: HashMap<&'static str, u64>,
    pub soft_bytes: u64,
    pub hard_bytes: u64,
    pub soft_packets: u64,
    pub hard_packets: u64,
    /// When a packet last went through (the worker's clock, ns), for dead peer detection.
    pub last_used_ns: u64,
    pub idle_ms: u64,
    pub iv_generation: u16,
}

impl SaInfo {
    pub fn of(sa: &Sa, worker: usize, now_ns: u64) -> SaInfo {
        let c = &sa.config;
        SaInfo {
            id: sa.id.0,
            worker,
            spi: format!("{:#010x}", c.spi),
            direction: match c.direction {
                Direction::Inbound => "in",
                Direction::Outbound => "out",
            },
            mode: match c.mode {
                Mode::Tunnel { local, remote } => format!("tunnel {local} {remote}"),
                Mode::Transport => "transport".into(),
            },
            transform: format!("{:?}/{:?}", c.keys.enc, c.keys.integ),
            backend: format!("{:?}", sa.session.backend()),
            state: match sa.state() {
                SaState::Active => "active",
                SaState::Standby => "standby",
                SaState::Expired => "expired",
            },
            esn: c.esn,
            natt: c.encap.map(|e| (e.local_port, e.remote_port)),
            oseq: sa.oseq(),
            window_top: sa.window().top(),
            window_size: sa.window().size(),
            packets: sa.counters().packets,
            bytes: sa.counters().bytes,
            drops: DropReason::ALL
                .iter()
                .filter(|r| sa.counters().drops[**r as usize] > 0)
                .map(|r| (r.name(), sa.counters().drops[*r as usize]))
                .collect(),
            soft_bytes: c.lifetime.soft_bytes,
            hard_bytes: c.lifetime.hard_bytes,
            soft_packets: c.lifetime.soft_packets,
            hard_packets: c.lifetime.hard_packets,
            last_used_ns: sa.last_used_ns(),
            idle_ms: now_ns.saturating_sub(sa.last_used_ns()) / 1_000_000,
            iv_generation: sa.generation(),
        }
    }
}

/// What `sp_list` shows of a policy.
#[derive(Debug, Clone, Serialize)]
pub struct SpInfo {
    pub id: u32,
    pub priority: u32,
    pub selector: String,
    pub action: String,
}

/// Carries out one command on a worker's tables. `spi_owner` is the worker's map of inbound
/// SPIs to their owners when there are several workers.
pub fn apply(
    cmd: Command,
    tables: &mut Tables,
    spi_owner: Option<&mut HashMap<u32, usize>>,
    worker: usize,
    now_ns: u64,
) -> Reply {
    match cmd {
        Command::SetLocals(_) | Command::SetSourceMac { .. } => {
            Reply::Failed("a worker carries this out on itself".into())
        }
        Command::AddSa { id, config, owner } => {
            if config.direction == Direction::Inbound {
                if let Some(map) = spi_owner {
                    map.insert(config.spi, owner);
                }
            }
            if owner != worker {
                return Reply::NotMine;
            }
            match tables.sad.insert(id, *config, now_ns) {
                Ok(()) => Reply::Done,
                Err(e) => Reply::Failed(e.to_string()),
            }
        }
        Command::DelSa { id } => {
            let removed = tables.sad.remove(id);
            if let (Some(sa), Some(map)) = (&removed, spi_owner) {
                if sa.config.direction == Direction::Inbound {
                    map.remove(&sa.config.spi);
                }
            }
            if removed.is_some() {
                Reply::Done
            } else {
                Reply::NotMine
            }
        }
        Command::GetSa { id } => match tables.sad.get(id) {
            Some(sa) => Reply::Sa(Box::new(SaInfo::of(sa, worker, now_ns))),
            None => Reply::NotMine,
        },
        Command::ListSa => Reply::Sas(
            tables
                .sad
                .iter()
                .map(|sa| SaInfo::of(sa, worker, now_ns))
                .collect(),
        ),
        Command::AddSp { direction, policy } => {
            Reply::SpAdded(spd(tables, direction).insert(policy))
        }
        Command::DelSp { direction, id } => match spd(tables, direction).remove(id) {
            Some(_) => Reply::Done,
            None => Reply::Failed(format!("no {direction:?} policy {}", id.0)),
        },
        Command::ListSp { direction } => Reply::Sps(
            spd(tables, direction)
                .iter()
                .map(|(id, p)| SpInfo {
                    id: id.0,
                    priority: p.priority,
                    selector: format!(
                        "src {} dst {} proto {} sport {}:{} dport {}:{}",
                        p.selector.src,
                        p.selector.dst,
                        p.selector
                            .proto
                            .map_or("any".to_string(), |p| p.to_string()),
                        p.selector.sport.lo,
                        p.selector.sport.hi,
                        p.selector.dport.lo,
                        p.selector.dport.hi
                    ),
                    action: format!("{:?}", p.action),
                })
                .collect(),
        ),
        Command::Activate {
            id,
            oseq_shift,
            generation,
        } => {
            let mut n = 0;
            for sa in tables
                .sad
                .iter_mut()
                .filter(|sa| id.is_none_or(|i| i == sa.id))
            {
                sa.activate(oseq_shift, generation);
                n += 1;
            }
            Reply::Count(n)
        }
        Command::ApplySnapshots(snaps) => {
            let mut n = 0;
            for snap in snaps.iter() {
                if let Some(sa) = tables.sad.get_mut(snap.sa) {
                    // The record must describe this SA, not an old one that had its id.
                    if sa.config.spi == snap.spi && sa.config.direction == snap.direction {
                        sa.apply_snapshot(snap);
                        n += 1;
                    }
                }
            }
            Reply::Count(n)
        }
        Command::Deactivate { id } => {
            let mut n = 0;
            for sa in tables
                .sad
                .iter_mut()
                .filter(|sa| id.is_none_or(|i| i == sa.id))
            {
                sa.deactivate();
                n += 1;
            }
            Reply::Count(n)
        }
    }
}

fn spd(tables: &mut Tables, direction: Direction) -> &mut esp::spd::Spd {
    match direction {
        Direction::Outbound => &mut tables.spd_out,
        Direction::Inbound => &mut tables.spd_in,
    }
}
