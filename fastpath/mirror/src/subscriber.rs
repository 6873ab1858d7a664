//! The mirror's thread: subscribe, read a full dump, then apply events as they come; read a
//! dump again when the kernel reports an overrun or a TAP comes up.

use crate::counters::Counters;
use crate::mirror::{Mirror, MirrorConfig};
use crate::neighbours::Neighbours;
use crate::netlink::{self, Parsed};
use fib::Fib;
use netlink_sys::Socket;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
    mirror: Arc<Shared>,
    thread: JoinHandle<io::Result<()>>,
}

/// The mirror, locked by its thread for one event datagram, one event of a dump or one step
/// of a resync's installs at a time, and by readers of its state. The thread takes the lock
/// back thousands of times a second while it reads a dump: it lets a waiting reader in
/// first, which a plain mutex does not promise (the thread that unlocks may take it again
/// before the woken waiter runs, for seconds).
struct Shared {
    mirror: Mutex<Mirror>,
    readers_waiting: AtomicUsize,
}

impl Shared {
    fn new(mirror: Mirror) -> Shared {
        Shared {
            mirror: Mutex::new(mirror),
            readers_waiting: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Mirror> {
        self.mirror.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self) -> MutexGuard<'_, Mirror> {
        self.readers_waiting.fetch_add(1, Ordering::SeqCst);
        let guard = self.lock();
        self.readers_waiting.fetch_sub(1, Ordering::SeqCst);
        guard
    }

    /// The thread's lock: after the readers waiting for it.
    fn write(&self) -> MutexGuard<'_, Mirror> {
        while self.readers_waiting.load(Ordering::SeqCst) > 0 {
            std::thread::yield_now();
        }
        self.lock()
    }
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
        let mirror = Arc::new(Shared::new(Mirror::new(
            config,
            fib,
            neighbours,
            counters.clone(),
        )));
        resync(&mirror)?;
        let stop = Arc::new(AtomicBool::new(false));
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
    /// held, it delays the next event, never a worker; the thread holds it for one step at a
    /// time, so taking it waits a millisecond at most, even while a full dump is read.
    pub fn lock(&self) -> MutexGuard<'_, Mirror> {
        self.mirror.read()
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
            .mirror
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .into_parts())
    }
}

/// Prefixes installed per hold of the lock at the end of a resync: a reader waits for at most
/// this many FIB changes (about a millisecond), never for the whole table.
const INSTALL_STEP: usize = 1024;

/// Reads the kernel's whole state into `mirror` as it is dumped, again while the kernel
/// reports a dump interrupted. The lock is taken per event and per `INSTALL_STEP` prefixes,
/// not across the dump: a million routes take seconds to read, and `fastpath-ctl` must not
/// wait for them (until the end the FIB holds the old routes, the workers read it throughout).
fn resync(mirror: &Shared) -> io::Result<()> {
    const ATTEMPTS: usize = 8;
    let lock = || mirror.write();
    for _ in 0..ATTEMPTS {
        let mut resync = lock().begin_resync();
        resync.free_old_routes();
        if netlink::dump_all(&mut |event| lock().resync_event(&mut resync, event))? {
            let mut pending = lock().finish_resync(resync);
            while !pending.is_empty() {
                lock().install_pending(&mut pending, INSTALL_STEP);
            }
            Counters::bump(&lock().counters().resyncs);
            return Ok(());
        }
    }
    Err(io::Error::other("the kernel kept interrupting its dumps"))
}

/// Pause after an error reading the kernel, before its state is read again: an error that
/// repeats (a dump the kernel keeps interrupting) must not spin a CPU.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// Follows the kernel's events until stopped. An error never ends the thread (the mirror
/// would go stale without a word while the fast path runs on): it is counted and logged,
/// and the whole state is read again, since events may have been lost with it.
fn follow(events: &Socket, mirror: &Shared, stop: &AtomicBool) -> io::Result<()> {
    let counters = mirror.write().counters().clone();
    let mut datagram = vec![0u8; netlink::DATAGRAM];
    let mut stale = false;
    while !stop.load(Ordering::Relaxed) {
        let step = if stale {
            netlink::discard_queued(events, &mut datagram).and_then(|()| resync(mirror))
        } else {
            next_event(events, mirror, &counters, &mut datagram)
        };
        match step {
            Ok(()) => stale = false,
            Err(e) => {
                Counters::bump(&counters.follow_errors);
                tracing::warn!("kernel mirror: {e}; reading the kernel's state again");
                std::thread::sleep(RETRY_PAUSE);
                stale = true;
            }
        }
    }
    Ok(())
}

/// Waits for one event datagram (or the stop check's timeout) and applies it, with a resync
/// when the kernel lost events or the mirror asks for one.
fn next_event(
    events: &Socket,
    mirror: &Shared,
    counters: &Counters,
    datagram: &mut [u8],
) -> io::Result<()> {
    match events.recv(&mut &mut datagram[..], 0) {
        Ok(n) => {
            let resync_wanted = {
                let mut mirror = mirror.write();
                let malformed = netlink::parse_datagram(&datagram[..n], |_, m| {
                    if let Parsed::Event(event) = m {
                        mirror.apply(&event);
                    }
                });
                counters
                    .malformed
                    .fetch_add(malformed as u64, Ordering::Relaxed);
                mirror.take_resync_wanted()
            };
            if resync_wanted {
                resync(mirror)?;
            }
            Ok(())
        }
        Err(e) if netlink::is_timeout(&e) => Ok(()),
        Err(e) if netlink::is_overrun(&e) => {
            Counters::bump(&counters.overruns);
            netlink::discard_queued(events, datagram)?;
            resync(mirror)
        }
        Err(e) => Err(e),
    }
}
