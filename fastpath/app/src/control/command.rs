//! What the control side asks of a worker, and how a worker carries it out on what it owns.

use crate::tables::Tables;
use crossbeam_channel::Sender;
use crossbeam_queue::ArrayQueue;
use esp::counters::DropReason;
use esp::sa::{Direction, Mode, Sa, SaConfig, SaId, SaState};
use esp::spd::{Policy, PolicyId};
pub use ipc::fastpath::{SaInfo, SpInfo};
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
    /// The counters of at most `max` SAs, from id `from` up (the metrics page, which walks
    /// every SA a slice per visit so that a worker is never held long).
    SaCounters {
        from: u32,
        max: usize,
    },
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
        which: Which,
        oseq_shift: u64,
        generation: u16,
    },
    Deactivate {
        which: Which,
    },
    /// The node's own addresses changed (a VRRP virtual address came or went): the whole
    /// new set, so each worker swaps its copy at once.
    SetLocals(Arc<[std::net::IpAddr]>),
    /// The seqnum snapshot knobs (`sync_settings`): each worker swaps its policy at once.
    SetSyncPolicy(esp::snapshot::SyncPolicy),
    /// The source MAC of the frames the fast path builds on a port (the VRRP virtual MAC
    /// while master), or back to the port's own with None.
    SetSourceMac {
        port: u16,
        mac: Option<[u8; 6]>,
    },
    /// Table changes carried out in order in one visit (a `batch` of the control socket):
    /// a worker serves a few commands per millisecond, so one per change would cap a bulk
    /// install at a few thousand changes a second. Answered by `Reply::Many`.
    Many(Vec<Command>),
}

/// The SAs an activation acts on: all only when the request said so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    All,
    One(SaId),
}

impl Which {
    fn covers(self, id: SaId) -> bool {
        match self {
            Which::All => true,
            Which::One(one) => one == id,
        }
    }
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
    /// A slice of `SaCounters`, and the id to ask from next (None: no SA is left).
    SaCounters {
        rows: Vec<SaCounterRow>,
        next: Option<u32>,
    },
    SpAdded(PolicyId),
    Sps(Vec<SpInfo>),
    Count(usize),
    /// A `Command::Many`'s answers, in order.
    Many(Vec<Reply>),
}

/// One SA's counters, as the metrics page shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaCounterRow {
    pub id: u32,
    pub spi: u32,
    pub direction: Direction,
    pub counters: esp::sa::SaCounters,
}

/// A command with the channel its reply goes back on.
pub struct Request {
    pub command: Command,
    pub reply: Sender<Reply>,
}

/// A worker's inbox (bounded: a stalled worker makes requests fail, not memory grow).
pub type Inbox = Arc<ArrayQueue<Request>>;

/// What `sa_get` / `sa_list` show of an SA.
pub fn sa_info(sa: &Sa, worker: usize, now_ns: u64) -> SaInfo {
    let c = &sa.config;
    SaInfo {
        id: ipc::SaId::new(sa.id.0.into()).unwrap_or_else(|_| unreachable!("the SAD bounds ids")),
        worker,
        spi: format!("{:#010x}", c.spi),
        direction: super::convert::ipc_direction(c.direction),
        mode: match c.mode {
            Mode::Tunnel { local, remote } => ipc::SaMode::Tunnel { local, remote },
            Mode::Transport => ipc::SaMode::Transport,
        },
        transform: super::convert::transform_of(c.keys.enc, c.keys.integ).map_or_else(
            || format!("{:?}/{:?}", c.keys.enc, c.keys.integ),
            |t| t.name().into(),
        ),
        backend: format!("{:?}", sa.session.backend()),
        state: match sa.state() {
            SaState::Active => ipc::fastpath::SaState::Active,
            SaState::Standby => ipc::fastpath::SaState::Standby,
            SaState::Expired => ipc::fastpath::SaState::Expired,
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
            .map(|r| (r.name().to_string(), sa.counters().drops[*r as usize]))
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
        Command::SetLocals(_) | Command::SetSourceMac { .. } | Command::SetSyncPolicy(_) => {
            Reply::Failed("a worker carries this out on itself".into())
        }
        Command::Many(commands) => {
            let mut spi_owner = spi_owner;
            Reply::Many(
                commands
                    .into_iter()
                    .map(|c| match c {
                        Command::Many(_) => Reply::Failed("a batch inside a batch".into()),
                        c => apply(c, tables, spi_owner.as_deref_mut(), worker, now_ns),
                    })
                    .collect(),
            )
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
            match tables.install_sa(id, *config, now_ns) {
                Ok(()) => Reply::Done,
                Err(e) => Reply::Failed(e.to_string()),
            }
        }
        Command::DelSa { id } => {
            let removed = tables.remove_sa(id);
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
            Some(sa) => Reply::Sa(Box::new(sa_info(sa, worker, now_ns))),
            None => Reply::NotMine,
        },
        Command::ListSa => Reply::Sas(
            tables
                .sad
                .iter()
                .map(|sa| sa_info(sa, worker, now_ns))
                .collect(),
        ),
        Command::SaCounters { from, max } => {
            let end = tables.sad.capacity();
            let mut rows = Vec::with_capacity(max.min(tables.sad.len()));
            let mut id = from as usize;
            while id < end && rows.len() < max {
                if let Some(sa) = tables.sad.get(SaId(id as u32)) {
                    rows.push(SaCounterRow {
                        id: sa.id.0,
                        spi: sa.config.spi,
                        direction: sa.config.direction,
                        counters: sa.counters().clone(),
                    });
                }
                id += 1;
            }
            let next = (id < end).then_some(id as u32);
            Reply::SaCounters { rows, next }
        }
        Command::AddSp { direction, policy } => {
            Reply::SpAdded(tables.insert_policy(direction, policy))
        }
        Command::DelSp { direction, id } => match spd(tables, direction).remove(id) {
            Some(_) => Reply::Done,
            None => Reply::Failed(format!("no {direction:?} policy {}", id.0)),
        },
        Command::ListSp { direction } => Reply::Sps(
            spd(tables, direction)
                .iter()
                .filter_map(|(id, p)| {
                    Some(SpInfo {
                        id: ipc::PolicyId(id.0),
                        sp: super::convert::sp_spec(direction, p)?,
                    })
                })
                .collect(),
        ),
        Command::Activate {
            which,
            oseq_shift,
            generation,
        } => {
            let mut n = 0;
            for sa in tables.sad.iter_mut().filter(|sa| which.covers(sa.id)) {
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
        Command::Deactivate { which } => {
            let mut n = 0;
            for sa in tables.sad.iter_mut().filter(|sa| which.covers(sa.id)) {
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
