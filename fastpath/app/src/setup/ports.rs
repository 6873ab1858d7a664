//! The ports: each configured port (and its exception TAP) opened with one RX and one TX
//! queue per worker, its MTU and MACs (a TAP's stable across restarts), and the next hops the
//! kernel resolves for it; once started, the node announces its addresses on them.

use super::announce::{derived_exception_mac, frames, AnnouncePort};
use super::SetupError;
use crate::config::Config;
use crate::neighbour::{interface_by_mac, NextHop};
use crate::worker::{PortIo, PortJob};
use dpdk::eal::Eal;
use dpdk::ethdev::{Port, PortConfig};
use dpdk::mbuf::MbufBurst;
use dpdk::mempool::Mempool;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// Descriptors per RX and per TX queue.
const QUEUE_DESCRIPTORS: u16 = 1024;
/// The MTU of a port whose driver does not tell it.
const DEFAULT_MTU: usize = 1500;

/// A port the process opened.
pub struct OpenPort {
    pub id: u16,
    pub job: PortJob,
    pub port: Port,
    /// Index of its exception (TAP) port, if it has one.
    pub exception: Option<usize>,
}

/// What each worker gets of the ports.
pub struct WorkerPorts {
    /// Per worker: its queues on every port, in the order of [`Ports::opened`].
    pub queues: Vec<Vec<PortIo>>,
    /// Indices of the protected and the unprotected port.
    pub protected: usize,
    pub unprotected: usize,
    /// One FIB reader each, when packets are sent by destination (else empty).
    pub routers: Vec<crate::worker::Router>,
}

/// The started ports.
pub struct Ports {
    pub opened: Vec<OpenPort>,
    pub workers: WorkerPorts,
    /// The next hops that the kernel's neighbour table resolves.
    pub next_hops: Vec<NextHop>,
}

/// Opens, sets up and starts the configured ports for `workers` workers.
pub fn open(eal: &Eal, cfg: &Config, workers: usize, pool: &Mempool) -> Result<Ports, SetupError> {
    let opened = configure(eal, cfg, workers)?;
    set_exception_macs(&opened, cfg)?;
    let index_of = |job: PortJob| opened.iter().position(|p| p.job == job);
    let protected = index_of(PortJob::Protected).ok_or(SetupError::MissingRole("protected"))?;
    let unprotected =
        index_of(PortJob::Unprotected).ok_or(SetupError::MissingRole("unprotected"))?;

    let mut queues: Vec<Vec<PortIo>> = (0..workers).map(|_| Vec::new()).collect();
    let mut next_hops = Vec::new();
    for OpenPort {
        id,
        job,
        port,
        exception: tap,
    } in &opened
    {
        let on_port = |source| SetupError::Port { port: *id, source };
        let pc = cfg.ports.iter().find(|p| p.port == *id);
        let peer_mac = pc.map_or([0xff; 6], |p| p.peer_mac);
        let tx_only = pc.is_some_and(|p| p.tx_only);
        let default_route = pc.is_some_and(|p| p.next_hop.is_some() || p.peer_mac != [0xff; 6]);
        let mtu = match pc.and_then(|p| p.mtu) {
            Some(m) => {
                // Vdevs may not take an MTU; ours applies to what we send either way.
                let _ = port.set_mtu(m);
                m as usize
            }
            None => port.mtu().map_or(DEFAULT_MTU, usize::from),
        };
        // A port with an exception TAP speaks with the TAP's MAC, so that the kernel's ARP/ND
        // answers and the fast path's frames agree.
        let mac = match tap {
            Some(t) => opened[*t].port.mac().map_err(on_port)?,
            None => port.mac().map_err(on_port)?,
        };
        let next_hop_mac = Arc::new(AtomicU64::new(0));
        match (pc.and_then(|p| p.next_hop), tap) {
            (Some(addr), Some(_)) => {
                let interface = interface_by_mac(mac).ok_or(SetupError::NoTapInterface(*id))?;
                next_hops.push(NextHop {
                    interface,
                    addr,
                    mac: Arc::clone(&next_hop_mac),
                });
            }
            (Some(_), None) => return Err(SetupError::NextHopWithoutException(*id)),
            (None, _) => {}
        }
        for (w, q) in queues.iter_mut().enumerate() {
            q.push(PortIo {
                port: *id,
                job: *job,
                rx: port
                    .rx_queue_setup(w as u16, QUEUE_DESCRIPTORS, pool)
                    .map_err(on_port)?,
                tx: port
                    .tx_queue_setup(w as u16, QUEUE_DESCRIPTORS)
                    .map_err(on_port)?,
                mac,
                own_mac: mac,
                peer_mac,
                exception: *tap,
                tx_only,
                mtu,
                next_hop_mac: Arc::clone(&next_hop_mac),
                default_route,
            });
        }
    }
    for p in &opened {
        p.port
            .start()
            .map_err(|source| SetupError::Port { port: p.id, source })?;
        let _ = p.port.set_promiscuous(true);
    }
    if let Some(first) = queues.first_mut() {
        announce(first, cfg, pool);
    }
    Ok(Ports {
        opened,
        workers: WorkerPorts {
            queues,
            protected,
            unprotected,
            routers: Vec::new(),
        },
        next_hops,
    })
}

/// Configures each port once (a TAP named by two ports is one port), with RSS over the
/// workers' queues.
fn configure(eal: &Eal, cfg: &Config, workers: usize) -> Result<Vec<OpenPort>, SetupError> {
    let mut opened: Vec<OpenPort> = Vec::new();
    let index = |id: u16, job: PortJob, opened: &mut Vec<OpenPort>| {
        if let Some(i) = opened.iter().position(|p| p.id == id) {
            return Ok(i);
        }
        let config = PortConfig {
            n_rxq: workers as u16,
            n_txq: workers as u16,
            rss: workers > 1,
            ..PortConfig::default()
        };
        let port = Port::configure(eal, id, &config)
            .map_err(|source| SetupError::Port { port: id, source })?;
        opened.push(OpenPort {
            id,
            job,
            port,
            exception: None,
        });
        Ok::<_, SetupError>(opened.len() - 1)
    };
    for pc in &cfg.ports {
        let i = index(pc.port, pc.role.into(), &mut opened)?;
        if let Some(tap) = pc.exception {
            let t = index(tap, PortJob::Exception { of: i }, &mut opened)?;
            opened[i].exception.get_or_insert(t);
        }
    }
    Ok(opened)
}

/// Gives each exception TAP its stable MAC (configured, or derived from its port's), which
/// the port then speaks with: a restart changes nothing in the neighbours' caches.
fn set_exception_macs(opened: &[OpenPort], cfg: &Config) -> Result<(), SetupError> {
    for p in opened {
        let Some(t) = p.exception else {
            continue;
        };
        let on_port = |source| SetupError::Port { port: p.id, source };
        let configured = cfg
            .ports
            .iter()
            .find(|c| c.port == p.id)
            .and_then(|c| c.exception_mac);
        let mac = match configured {
            Some(m) => m,
            None => derived_exception_mac(p.port.mac().map_err(on_port)?),
        };
        let tap = &opened[t];
        // A driver that keeps its own MAC (not a net_tap) keeps it: only a restart suffers.
        if let Err(e) = tap.port.set_mac(mac) {
            tracing::warn!(port = tap.id, "the exception port keeps its MAC: {e}");
        }
    }
    Ok(())
}

/// Sends the node's announcements (one worker's queues, before the workers run).
fn announce(queues: &mut [PortIo], cfg: &Config, pool: &Mempool) {
    let ports: Vec<AnnouncePort> = queues
        .iter()
        .enumerate()
        // Only where the kernel holds the node's addresses (behind an exception TAP): a port
        // without one answers no ARP either.
        .filter(|(_, q)| q.exception.is_some() && !matches!(q.job, PortJob::Exception { .. }))
        .map(|(index, q)| AnnouncePort {
            index,
            mac: q.own_mac,
            next_hop: cfg
                .ports
                .iter()
                .find(|c| c.port == q.port)
                .and_then(|c| c.next_hop),
        })
        .collect();
    let mut sent = 0;
    for (index, frame) in frames(&cfg.locals, &ports) {
        let Some(mut m) = pool.alloc() else {
            break;
        };
        let Some(room) = u16::try_from(frame.len())
            .ok()
            .and_then(|len| m.append(len))
        else {
            continue;
        };
        room.copy_from_slice(&frame);
        let mut burst = MbufBurst::<1>::new();
        if burst.push(m).is_ok() {
            sent += queues[index].tx.tx_burst_or_free(&mut burst);
        }
    }
    tracing::info!(sent, "announced the node's addresses");
}
