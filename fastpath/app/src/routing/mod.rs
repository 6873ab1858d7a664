//! Routing by destination, the control side: the FIB and the neighbour table the workers
//! read, filled from the file's `route` statements and, with `kernel-routes on`, by the
//! kernel's routes and neighbours mirrored through the exception TAPs; a thread that
//! solicits the neighbours workers found unresolved; what `fastpath-ctl routes` and
//! `neighbours` show. `setup::routing` starts it.

pub(crate) mod resolve;
mod show;

use crate::config::Config;
use crate::worker::Router;
use fib::{Fib, NextHop, Prefix};
use mirror::{Neighbours, Subscriber};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

pub use show::{neighbour_list, route_list};

/// Neighbours the table holds (open addressing: a quarter of it stays free).
pub(crate) const NEIGHBOURS: usize = 16384;
/// Resolution requests waiting for the resolver thread.
pub(crate) const REQUESTS: usize = 256;

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
pub(crate) fn static_routes(cfg: &Config) -> Vec<(Prefix, NextHop)> {
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
