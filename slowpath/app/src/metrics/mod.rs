//! The Prometheus endpoint (`metrics ADDRESS:PORT` in the configuration file). The daemon's
//! state lives in its one loop, so the HTTP thread does not read it: at each scrape it asks
//! the loop (a wake-up byte on a socket pair in the loop's poll set, and a channel), and the
//! loop writes the page between two steps from the same statuses its control socket shows.

pub mod page;

use promtext::MetricsServer;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::time::Duration;

/// How long a scrape waits for the loop to write the page.
const PAGE_TIMEOUT: Duration = Duration::from_secs(5);

/// The loop's side of the endpoint.
pub struct MetricsEndpoint {
    addr: SocketAddr,
    /// Readable when a scrape waits.
    wake: UnixStream,
    /// Each waiting scrape's reply channel.
    asks: Receiver<SyncSender<Vec<u8>>>,
}

impl MetricsEndpoint {
    /// Binds `addr` and starts the HTTP thread, which runs until `stop` (it holds nothing the
    /// daemon must release: the process may end without waiting for it).
    pub fn start(addr: SocketAddr, stop: &Arc<AtomicBool>) -> io::Result<MetricsEndpoint> {
        let server = MetricsServer::bind(addr)?;
        let addr = server.local_addr()?;
        let (wake, waker) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        waker.set_nonblocking(true)?;
        let (ask, asks) = mpsc::channel();
        let asker = Asker { ask, waker };
        let page = Box::new(move |out: &mut dyn Write| out.write_all(&asker.page()?));
        server.spawn("metrics", Arc::clone(stop), page)?;
        Ok(MetricsEndpoint { addr, wake, asks })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn fd(&self) -> RawFd {
        self.wake.as_raw_fd()
    }

    /// Answers every waiting scrape with a page from `write`.
    pub fn serve(&mut self, mut write: impl FnMut(&mut Vec<u8>) -> io::Result<()>) {
        let mut drained = [0u8; 64];
        while matches!(self.wake.read(&mut drained), Ok(n) if n > 0) {}
        while let Ok(reply) = self.asks.try_recv() {
            let mut page = Vec::with_capacity(16 * 1024);
            if let Err(e) = write(&mut page) {
                tracing::warn!("metrics: the page failed: {e}");
                continue; // the scrape's channel closes: it ends without a page
            }
            let _ = reply.try_send(page);
        }
    }
}

/// The HTTP thread's side: asks the loop and waits, bounded.
struct Asker {
    ask: Sender<SyncSender<Vec<u8>>>,
    waker: UnixStream,
}

impl Asker {
    fn page(&self) -> io::Result<Vec<u8>> {
        let (reply, page) = mpsc::sync_channel(1);
        self.ask
            .send(reply)
            .map_err(|_| io::Error::other("the daemon's loop has ended"))?;
        // A full socket buffer already means "wake up".
        let _ = (&self.waker).write(&[1]);
        page.recv_timeout(PAGE_TIMEOUT)
            .map_err(|_| io::Error::other("the daemon's loop did not write the page in time"))
    }
}
