//! Starting the routing of the fast path at set-up: the FIB filled from the file's routes,
//! one reader per worker, the kernel's mirror (`kernel-routes on`) or the static tables, and
//! the resolver thread, on the exception TAPs of the opened ports.

use super::ports::OpenPort;
use super::SetupError;
use crate::config::Config;
use crate::neighbour::{interface_by_mac, Interface};
use crate::routing::{
    resolve, static_routes, Routing, RoutingError, Started, Writer, NEIGHBOURS, REQUESTS,
};
use crate::worker::{PortJob, ResolveRequests, Router};
use crossbeam_queue::ArrayQueue;
use fib::{Fib, FibConfig};
use mirror::{MirrorConfig, Neighbours, Subscriber, MAIN_TABLE};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

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
    let filling = std::time::Instant::now();
    let mut fib = Fib::new(FibConfig::default());
    for (prefix, nh) in static_routes(cfg) {
        fib.add(prefix, nh)
            .map_err(|e| SetupError::Routing(RoutingError::Route(prefix, e)))?;
    }
    let fill_ms = filling.elapsed().as_millis() as u64;
    tracing::info!(
        fill_ms,
        routes = cfg.routes.len(),
        "static routes in the FIB"
    );
    let neighbours = Neighbours::new(NEIGHBOURS);
    let requests: ResolveRequests = Arc::new(ArrayQueue::new(REQUESTS));
    let routers = (0..workers)
        .map(|_| Router::new(fib.reader(), neighbours.reader(), Arc::clone(&requests)))
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
