//! The thread that resolves what workers could not: it takes their (port, address) requests
//! from a bounded queue and makes the kernel solicit each one through the port's TAP (at
//! most once per `SOLICIT_EVERY`). Without the kernel mirror it also reads the kernel's
//! neighbour table (a dump, then its events) into the workers' neighbour table.

use crate::neighbour::netlink::{Neighbour, NeighbourSocket};
use crate::neighbour::{is_timeout, solicit, Interface, ResolverError};
use crate::worker::ResolveRequests;
use mirror::Neighbours;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the thread waits for events (or sleeps) before it looks at the requests again.
const TICK: Duration = Duration::from_millis(5);
/// Between two solicitations of one address.
const SOLICIT_EVERY: Duration = Duration::from_millis(500);
/// Addresses remembered as solicited before the old ones are forgotten.
const REMEMBERED: usize = 4096;

struct Resolver {
    requests: ResolveRequests,
    taps: Vec<(u16, Interface)>,
    solicited: HashMap<(u16, IpAddr), Instant>,
}

impl Resolver {
    fn serve_requests(&mut self) {
        let now = Instant::now();
        if self.solicited.len() > REMEMBERED {
            self.solicited
                .retain(|_, at| now.duration_since(*at) < SOLICIT_EVERY);
        }
        while let Some((port, addr)) = self.requests.pop() {
            let recent = self
                .solicited
                .get(&(port, addr))
                .is_some_and(|at| now.duration_since(*at) < SOLICIT_EVERY);
            let Some((_, tap)) = self.taps.iter().find(|(p, _)| *p == port) else {
                continue;
            };
            if !recent {
                solicit(&tap.name, addr);
                self.solicited.insert((port, addr), now);
            }
        }
    }

    /// One entry of the kernel's table into the workers' (entries on other interfaces are
    /// not ours).
    fn learn(&self, table: &Mutex<Neighbours>, n: &Neighbour) {
        let Some(&(port, _)) = self.taps.iter().find(|(_, i)| i.index == n.ifindex) else {
            return;
        };
        let mut table = table.lock().unwrap_or_else(|p| p.into_inner());
        match n.mac {
            Some(mac) => {
                if table.set(port, n.addr, mac).is_err() {
                    tracing::warn!("neighbour table full: {} not kept", n.addr);
                }
            }
            None => {
                table.remove(port, n.addr);
            }
        }
    }
}

/// Starts the thread; `learn`: the table to fill from the kernel's (None when the mirror
/// does it).
pub fn spawn(
    requests: ResolveRequests,
    taps: Vec<(u16, Interface)>,
    learn: Option<Arc<Mutex<Neighbours>>>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, ResolverError> {
    let mut socket = match &learn {
        Some(_) => {
            let mut s = NeighbourSocket::open(TICK).map_err(ResolverError::Netlink)?;
            s.request_dump().map_err(ResolverError::Netlink)?;
            Some(s)
        }
        None => None,
    };
    let mut resolver = Resolver {
        requests,
        taps,
        solicited: HashMap::new(),
    };
    std::thread::Builder::new()
        .name("route-resolver".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match (&mut socket, &learn) {
                    (Some(socket), Some(table)) => match socket.receive() {
                        Ok(entries) => entries.iter().for_each(|n| resolver.learn(table, n)),
                        Err(e) if is_timeout(&e) => {}
                        Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                            let _ = socket.request_dump();
                        }
                        Err(e) => {
                            tracing::warn!("neighbour events: {e}");
                            std::thread::sleep(TICK);
                        }
                    },
                    _ => std::thread::sleep(TICK),
                }
                resolver.serve_requests();
            }
        })
        .map_err(ResolverError::Spawn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_queue::ArrayQueue;
    use toolkit::mac::MacAddr;

    #[test]
    fn entries_of_the_taps_fill_the_table_and_others_are_not_ours() {
        let tap = |index, name: &str| Interface {
            name: name.into(),
            index,
        };
        let r = Resolver {
            requests: Arc::new(ArrayQueue::new(4)),
            taps: vec![(0, tap(7, "tapA0")), (1, tap(8, "tapA1"))],
            solicited: HashMap::new(),
        };
        let table = Mutex::new(Neighbours::new(64));
        let reader = table.lock().unwrap().reader();
        let host: IpAddr = "10.0.1.2".parse().unwrap();
        let entry = |ifindex, mac: Option<[u8; 6]>| Neighbour {
            ifindex,
            addr: host,
            mac: mac.map(MacAddr),
        };
        r.learn(&table, &entry(8, Some([2, 0, 0, 0, 0, 9])));
        r.learn(&table, &entry(9, Some([2, 0, 0, 0, 0, 7])));
        assert_eq!(reader.mac(1, host), Some(MacAddr([2, 0, 0, 0, 0, 9])));
        assert_eq!(reader.mac(0, host), None, "another TAP's port");
        assert_eq!(table.lock().unwrap().len(), 1, "interface 9 is not a TAP");
        // FAILED or deleted: workers stop using it (and ask for it again).
        r.learn(&table, &entry(8, None));
        assert_eq!(reader.mac(1, host), None);
    }
}
