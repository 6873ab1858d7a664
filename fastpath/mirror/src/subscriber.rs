//! The mirror's thread: subscribe, read a full dump, then apply events as they come; read a
//! dump again when the kernel reports an overrun or a TAP comes up.

use crate::counters::Counters;
use crate::mirror::{Mirror, MirrorConfig};
use crate::neighbours::Neighbours;
use crate::netlink::{self, Parsed};
use fib::Fib;
use netlink_sys::Socket;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// The event socket's receive buffer: room for a routing daemon's burst of thousands of
/// routes before the kernel has to drop events (an overrun, then a resync).
const RCVBUF: usize = 4 << 20;

/// How often the thread looks at its stop flag while no event comes.
const STOP_CHECK: Duration = Duration::from_millis(100);

pub struct Subscriber {
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    /// Locked by the thread while it applies one datagram, and by readers of the state.
    mirror: Arc<Mutex<Mirror>>,
    thread: JoinHandle<io::Result<()>>,
}

impl Subscriber {
    /// Subscribes, mirrors the kernel's current routes and neighbours into `fib` and
    /// `neighbours` before returning (so a caller starts with a full FIB), then follows the
    /// kernel on a thread of its own. Sockets belong to the caller's network namespace.
    pub fn start(
        config: &MirrorConfig,
        fib: Fib,
        neighbours: Neighbours,
    ) -> io::Result<Subscriber> {
        Self::start_with_buffer(config, fib, neighbours, RCVBUF)
    }

    /// `start` with a chosen receive buffer (a small one forces overruns in tests).
    pub fn start_with_buffer(
        config: &MirrorConfig,
        fib: Fib,
        neighbours: Neighbours,
        rcvbuf: usize,
    ) -> io::Result<Subscriber> {
        let counters = Arc::new(Counters::default());
        // Subscribe first: events that race the dump are queued and replayed after it.
        let events = netlink::subscribe(rcvbuf, STOP_CHECK)?;
        let mut mirror = Mirror::new(config, fib, neighbours, counters.clone());
        resync(&mut mirror)?;
        let stop = Arc::new(AtomicBool::new(false));
        let mirror = Arc::new(Mutex::new(mirror));
        let thread = {
            let (stop, mirror) = (stop.clone(), mirror.clone());
            std::thread::Builder::new()
                .name("kernel-mirror".into())
                .spawn(move || follow(&events, &mirror, &stop))?
        };
        Ok(Subscriber {
            stop,
            counters,
            mirror,
            thread,
        })
    }

    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// The mirror's state (its FIB, neighbours and which routes it installed), to show it;
    /// held, it delays the next event, never a worker.
    pub fn lock(&self) -> MutexGuard<'_, Mirror> {
        self.mirror.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stops following the kernel and hands back the FIB writer and the neighbour table.
    pub fn stop(self) -> io::Result<(Fib, Neighbours)> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the kernel mirror thread panicked")))?;
        let mirror = Arc::try_unwrap(self.mirror)
            .map_err(|_| io::Error::other("the kernel mirror is still shared"))?;
        Ok(mirror
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .into_parts())
    }
}

/// Reads the kernel's whole state into `mirror` as it is dumped (held locked meanwhile: the
/// workers read the FIB throughout), again while the kernel reports a dump interrupted.
fn resync(mirror: &mut Mirror) -> io::Result<()> {
    const ATTEMPTS: usize = 8;
    for _ in 0..ATTEMPTS {
        let mut resync = mirror.begin_resync();
        if netlink::dump_all(&mut |event| mirror.resync_event(&mut resync, event))? {
            mirror.end_resync(resync);
            return Ok(());
        }
    }
    Err(io::Error::other("the kernel kept interrupting its dumps"))
}

fn follow(events: &Socket, mirror: &Mutex<Mirror>, stop: &AtomicBool) -> io::Result<()> {
    let lock = || mirror.lock().unwrap_or_else(|p| p.into_inner());
    let counters = lock().counters().clone();
    let mut datagram = vec![0u8; netlink::DATAGRAM];
    while !stop.load(Ordering::Relaxed) {
        match events.recv(&mut &mut datagram[..], 0) {
            Ok(n) => {
                let mut mirror = lock();
                let malformed = netlink::parse_datagram(&datagram[..n], |_, m| {
                    if let Parsed::Event(event) = m {
                        mirror.apply(&event);
                    }
                });
                counters
                    .malformed
                    .fetch_add(malformed as u64, Ordering::Relaxed);
                if mirror.take_resync_wanted() {
                    resync(&mut mirror)?;
                }
            }
            Err(e) if netlink::is_timeout(&e) => {}
            Err(e) if netlink::is_overrun(&e) => {
                Counters::bump(&counters.overruns);
                netlink::discard_queued(events, &mut datagram)?;
                resync(&mut lock())?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
