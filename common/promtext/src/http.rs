//! A small HTTP/1.x server for one page: `GET /metrics` (a query string is ignored) is
//! answered with the page, anything else with 404, 405 or 400. One connection at a time on a
//! thread of its own; a request head is at most [`MAX_HEAD`] bytes and must arrive within
//! [`READ_TIMEOUT`]; writes give up after [`WRITE_TIMEOUT`]. The body is streamed and ends when
//! the connection closes (no length is known before the page is written).

use std::io::{self, BufWriter, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The exposition format's media type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// The longest request head read (request line and headers).
pub const MAX_HEAD: usize = 8192;
/// The whole head must arrive within this.
pub const READ_TIMEOUT: Duration = Duration::from_secs(3);
/// One write may block this long before the client is given up.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a quiet listener looks at the stop flag.
const ACCEPT_POLL: Duration = Duration::from_millis(50);

/// What a request head asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Metrics,
    NotFound,
    MethodNotAllowed,
    BadRequest,
}

/// Reads what a complete head asks (only its request line matters).
pub fn parse_head(head: &[u8]) -> Target {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Ok(line) = std::str::from_utf8(line) else {
        return Target::BadRequest;
    };
    let mut words = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Target::BadRequest;
    };
    if !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return Target::BadRequest;
    }
    let path = target.split('?').next().unwrap_or_default();
    match (method, path) {
        ("GET", "/metrics") => Target::Metrics,
        (_, "/metrics") => Target::MethodNotAllowed,
        _ => Target::NotFound,
    }
}

/// The page's writer: called once per scrape with the response body's stream.
pub type Page = dyn FnMut(&mut dyn Write) -> io::Result<()> + Send;

/// A bound listener, not yet serving.
pub struct MetricsServer {
    listener: TcpListener,
}

impl MetricsServer {
    /// Binds `addr` (port 0: any free port, see `local_addr`).
    pub fn bind(addr: SocketAddr) -> io::Result<MetricsServer> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(MetricsServer { listener })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves on a thread named `name` until `stop`.
    pub fn spawn(
        self,
        name: &str,
        stop: Arc<AtomicBool>,
        mut page: Box<Page>,
    ) -> io::Result<JoinHandle<()>> {
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || serve(&self.listener, &stop, &mut *page))
    }
}

/// Answers connections one at a time until `stop`.
pub fn serve(listener: &TcpListener, stop: &AtomicBool, page: &mut Page) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                // A client that goes away or misbehaves only ends its own connection.
                let _ = answer(stream, page);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(ACCEPT_POLL),
            Err(_) => std::thread::sleep(ACCEPT_POLL),
        }
    }
}

fn answer(stream: TcpStream, page: &mut Page) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let target = match read_head(&stream)? {
        Some(head) => parse_head(&head),
        None => Target::BadRequest,
    };
    let mut out = BufWriter::with_capacity(64 * 1024, &stream);
    match target {
        Target::Metrics => {
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: {CONTENT_TYPE}\r\nConnection: close\r\n\r\n"
            )?;
            page(&mut out)?;
        }
        Target::NotFound => status(&mut out, "404 Not Found", "only /metrics is served\n")?,
        Target::MethodNotAllowed => status(&mut out, "405 Method Not Allowed", "only GET\n")?,
        Target::BadRequest => status(&mut out, "400 Bad Request", "bad request\n")?,
    }
    out.flush()?;
    drop(out);
    stream.shutdown(std::net::Shutdown::Write)
}

fn status(out: &mut impl Write, status: &str, body: &str) -> io::Result<()> {
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The request head, up to its blank line; None when it is too long or the peer closed
/// before it ended. A head that does not arrive within [`READ_TIMEOUT`] is an error.
fn read_head(mut stream: &TcpStream) -> io::Result<Option<Vec<u8>>> {
    let deadline = Instant::now() + READ_TIMEOUT;
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        stream.set_read_timeout(Some(left))?;
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        let from = head.len().saturating_sub(3);
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head_end(&head[from..]) {
            head.truncate(from + end);
            return Ok(Some(head));
        }
        if head.len() > MAX_HEAD {
            return Ok(None);
        }
    }
}

/// Where the blank line that ends a head ends (CRLF CRLF, or bare LF LF).
fn head_end(b: &[u8]) -> Option<usize> {
    (0..b.len()).find_map(|i| {
        let rest = &b[i..];
        if rest.starts_with(b"\r\n\r\n") {
            Some(i + 4)
        } else if rest.starts_with(b"\n\n") {
            Some(i + 2)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests;
