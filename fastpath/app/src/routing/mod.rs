//! Routing by destination, the control side: the FIB and the neighbour table the workers
//! read, filled from the file's `route` statements and, with `kernel-routes on`, by the
//! kernel's routes and neighbours mirrored through the exception TAPs; a thread that
//! solicits the neighbours workers found unresolved; what `fastpath-ctl routes` and
//! `neighbours` show.

mod resolve;
mod show;

use crate::config::Config;
use crate::neighbour::{interface_by_mac, Interface};
use crate::setup::ports::OpenPort;
use crate::setup::SetupError;
use crate::worker::{PortJob, ResolveRequests, Router};
use crossbeam_queue::ArrayQueue;
use fib::{Fib, FibConfig, NextHop, Prefix};
use mirror::{MirrorConfig, Neighbours, Subscriber, MAIN_TABLE};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

pub use show::{neighbour_list, route_list};

/// Neighbours the table holds (open addressing: a quarter of it stays free).
const NEIGHBOURS: usize = 16384;
/// Resolution requests waiting for the resolver thread.
const REQUESTS: usize = 256;

/// Who writes the FIB and the neighbour table.
pub enum Writer {
    /// Static routes only: the table is written here, neighbours by the resolver thread.
    Static {
        fib: Box<Mutex<Fib>>,
        neighbours: Arc<Mutex<Neighbours>>,
    },
    /// The kernel's mirror thread owns both.
    Kernel(Subscriber),
}

/// The control side's routing state.
pub struct Routing {
    pub writer: Writer,
}

/// What starting routing gives: one reader per worker, the shared state, the resolver.
pub struct Started {
    pub routers: Vec<Router>,
    pub routing: Arc<Routing>,
    pub resolver: JoinHandle<()>,
}

#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    #[error("route {0}: {1}")]
    Route(Prefix, fib::FibError),
    #[error("kernel-routes: {0}")]
    Mirror(#[source] std::io::Error),
}

/// The static routes as FIB entries.
fn static_routes(cfg: &Config) -> Vec<(Prefix, NextHop)> {
    cfg.routes
        .iter()
        .filter_map(|r| {
            let prefix = Prefix::new(r.addr, r.len).ok()?;
            let nh = match r.via {
                Some(g) => NextHop::gateway(r.port, g),
                None => NextHop::connected(r.port),
            };
            Some((prefix, nh))
        })
        .collect()
}

/// Starts routing when the configuration asks for it (a `route` or `kernel-routes on`);
/// `None` otherwise, and workers send each port's packets to its one next hop.
pub fn start(
    cfg: &Config,
    opened: &[OpenPort],
    workers: usize,
    stop: &Arc<AtomicBool>,
) -> Result<Option<Started>, SetupError> {
    if cfg.routes.is_empty() && !cfg.kernel_routes {
        return Ok(None);
    }
    let mut fib = Fib::new(FibConfig::default());
    for (prefix, nh) in static_routes(cfg) {
        fib.add(prefix, nh)
            .map_err(|e| SetupError::Routing(RoutingError::Route(prefix, e)))?;
    }
    let neighbours = Neighbours::new(NEIGHBOURS);
    let requests: ResolveRequests = Arc::new(ArrayQueue::new(REQUESTS));
    let routers = (0..workers)
        .map(|_| Router {
            fib: fib.reader(),
            neighbours: neighbours.reader(),
            resolve: Arc::clone(&requests),
        })
        .collect();
    let taps = tap_interfaces(opened)?;
    let (writer, learn) = if cfg.kernel_routes {
        let config = MirrorConfig {
            taps: taps.iter().map(|(p, i)| (i.name.clone(), *p)).collect(),
            table: MAIN_TABLE,
        };
        let subscriber = Subscriber::start(&config, fib, neighbours)
            .map_err(|e| SetupError::Routing(RoutingError::Mirror(e)))?;
        (Writer::Kernel(subscriber), None)
    } else {
        let neighbours = Arc::new(Mutex::new(neighbours));
        let learn = Some(Arc::clone(&neighbours));
        let fib = Box::new(Mutex::new(fib));
        (Writer::Static { fib, neighbours }, learn)
    };
    let resolver =
        resolve::spawn(requests, taps, learn, Arc::clone(stop)).map_err(SetupError::Resolver)?;
    Ok(Some(Started {
        routers,
        routing: Arc::new(Routing { writer }),
        resolver,
    }))
}

/// The kernel interface of each port's exception TAP (a net_tap's kernel side has its MAC).
fn tap_interfaces(opened: &[OpenPort]) -> Result<Vec<(u16, Interface)>, SetupError> {
    let mut taps = Vec::new();
    for p in opened {
        if matches!(p.job, PortJob::Exception { .. }) {
            continue;
        }
        let Some(t) = p.exception else { continue };
        let mac = opened[t]
            .port
            .mac()
            .map_err(|source| SetupError::Port { port: p.id, source })?;
        let interface = interface_by_mac(mac).ok_or(SetupError::NoTapInterface(p.id))?;
        taps.push((p.id, interface));
    }
    Ok(taps)
}
