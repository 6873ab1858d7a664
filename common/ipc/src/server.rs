//! The server side of a control socket, for both daemons: a non-blocking Unix listener and
//! its clients, polled from one thread (no thread per client). It takes complete request
//! lines and queues replies; it bounds what one client can make it hold (a line, unread
//! output) and how many clients there are, and it backs off when `accept` fails (at the fd
//! limit it would otherwise spin).
//!
//! The socket is created with mode 0600: bound under a temporary name, given its mode, then
//! renamed into place, so there is no moment at which another user can connect.

use crate::wire::{MAX_LINE, MAX_REPLY};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// Clients at once; one more is accepted and closed at once.
pub const MAX_CLIENTS: usize = 64;
/// Output a subscriber has not read beyond this drops it (it stopped reading). A client
/// that asked for something may have up to `MAX_REPLY` waiting: one long list.
pub const MAX_PENDING: usize = 4 << 20;
/// How long `accept` rests after a failure other than "nothing to accept" (EMFILE).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Counters of what the server refused.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ServerCounters {
    pub accepted: u64,
    pub over_client_limit: u64,
    pub line_too_long: u64,
    pub slow_reader: u64,
    pub accept_errors: u64,
}

/// A client, by a handle that stays valid until it is gone (not an index that shifts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientId(u64);

struct Conn {
    id: ClientId,
    stream: UnixStream,
    input: Zeroizing<Vec<u8>>,
    out: Vec<u8>,
    subscribed: bool,
}

impl Conn {
    /// Writes what the socket takes now; false if the client is gone or too far behind.
    fn flush(&mut self) -> bool {
        while !self.out.is_empty() {
            match self.stream.write(&self.out) {
                Ok(0) => return false,
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        let bound = if self.subscribed {
            MAX_PENDING
        } else {
            MAX_REPLY
        };
        self.out.len() <= bound
    }
}

pub struct LineServer {
    listener: UnixListener,
    path: PathBuf,
    clients: Vec<Conn>,
    next_id: u64,
    accept_rest_until: Option<Instant>,
    pub counters: ServerCounters,
}

/// Binds `path` with mode 0600 (an existing socket there is replaced).
fn bind_private(path: &Path) -> std::io::Result<UnixListener> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let listener = UnixListener::bind(&tmp)?;
    let placed = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(listener)
}

impl LineServer {
    pub fn bind(path: &Path) -> std::io::Result<LineServer> {
        let listener = bind_private(path)?;
        listener.set_nonblocking(true)?;
        Ok(LineServer {
            listener,
            path: path.to_path_buf(),
            clients: Vec::new(),
            next_id: 1,
            accept_rest_until: None,
            counters: ServerCounters::default(),
        })
    }

    /// The descriptors to wait on (the listener only while it is not resting).
    pub fn fds(&self) -> Vec<RawFd> {
        let mut v = Vec::with_capacity(self.clients.len() + 1);
        if self.accept_rest_until.is_none() {
            v.push(self.listener.as_raw_fd());
        }
        v.extend(self.clients.iter().map(|c| c.stream.as_raw_fd()));
        v
    }

    pub fn clients(&self) -> usize {
        self.clients.len()
    }

    fn accept(&mut self, now: Instant) {
        if self.accept_rest_until.is_some_and(|t| now < t) {
            return;
        }
        self.accept_rest_until = None;
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if self.clients.len() >= MAX_CLIENTS {
                        self.counters.over_client_limit += 1;
                        continue; // dropped: closed at once
                    }
                    if stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    self.counters.accepted += 1;
                    self.clients.push(Conn {
                        id: ClientId(self.next_id),
                        stream,
                        input: Zeroizing::new(Vec::new()),
                        out: Vec::new(),
                        subscribed: false,
                    });
                    self.next_id += 1;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    self.counters.accept_errors += 1;
                    self.accept_rest_until = Some(now + ACCEPT_BACKOFF);
                    return;
                }
            }
        }
    }

    /// Accepts new clients and reads what the others sent; returns the complete lines (in
    /// strings zeroized when dropped: they may carry keys).
    pub fn poll(&mut self, now: Instant) -> Vec<(ClientId, Zeroizing<String>)> {
        self.accept(now);
        let mut chunk = Zeroizing::new([0u8; 4096]);
        let counters = &mut self.counters;
        self.clients.retain_mut(|c| {
            if !c.flush() {
                counters.slow_reader += 1;
                return false;
            }
            loop {
                match c.stream.read(&mut chunk[..]) {
                    Ok(0) => return false,
                    Ok(n) => {
                        c.input.extend_from_slice(&chunk[..n]);
                        let open = c
                            .input
                            .iter()
                            .rposition(|&b| b == b'\n')
                            .map_or(0, |p| p + 1);
                        if c.input.len() - open > MAX_LINE {
                            counters.line_too_long += 1;
                            return false;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => return false,
                }
            }
        });
        let mut lines = Vec::new();
        for c in &mut self.clients {
            while let Some(pos) = c.input.iter().position(|&b| b == b'\n') {
                let line: Zeroizing<Vec<u8>> = Zeroizing::new(c.input.drain(..=pos).collect());
                let text = Zeroizing::new(String::from_utf8_lossy(&line).trim().to_string());
                if !text.is_empty() {
                    lines.push((c.id, text));
                }
            }
        }
        lines
    }

    fn conn(&mut self, id: ClientId) -> Option<&mut Conn> {
        self.clients.iter_mut().find(|c| c.id == id)
    }

    /// Queues one line to a client and writes what the socket takes now; a client that is
    /// gone or too far behind is dropped at the next poll.
    pub fn send(&mut self, id: ClientId, line: &str) {
        if let Some(c) = self.conn(id) {
            c.out.extend_from_slice(line.as_bytes());
            c.out.push(b'\n');
            let _ = c.flush();
        }
    }

    /// From now on the client receives `publish`ed lines.
    pub fn subscribe(&mut self, id: ClientId) {
        if let Some(c) = self.conn(id) {
            c.subscribed = true;
        }
    }

    /// Writes lines to every subscriber; one that cannot take them is dropped.
    pub fn publish(&mut self, lines: &[String]) {
        if lines.is_empty() {
            return;
        }
        let counters = &mut self.counters;
        self.clients.retain_mut(|c| {
            if !c.subscribed {
                return true;
            }
            for l in lines {
                c.out.extend_from_slice(l.as_bytes());
                c.out.push(b'\n');
            }
            let ok = c.flush();
            if !ok {
                counters.slow_reader += 1;
            }
            ok
        });
    }

    /// Takes a client's connection out of the server (it becomes a stream of its own, in
    /// blocking mode), after what is queued for it has been written.
    pub fn detach(&mut self, id: ClientId) -> Option<UnixStream> {
        let at = self.clients.iter().position(|c| c.id == id)?;
        let mut c = self.clients.swap_remove(at);
        c.stream.set_nonblocking(false).ok()?;
        c.stream.write_all(&c.out).ok()?;
        Some(c.stream)
    }
}

/// Waits until one of `fds` is readable (or closed) or `timeout` passes; returns which are.
#[allow(unsafe_code)]
pub fn wait_readable(fds: &[RawFd], timeout: Duration) -> std::io::Result<Vec<bool>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // Round up, so that a timer 0.4 ms away is not polled for in a busy loop.
    let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
    // SAFETY: `pfds` is a valid, exclusively borrowed array of its length.
    let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
    if n < 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() == ErrorKind::Interrupted {
            return Ok(vec![false; fds.len()]);
        }
        return Err(e);
    }
    Ok(pfds
        .iter()
        .map(|p| p.revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) != 0)
        .collect())
}

impl Drop for LineServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("ipc-{name}-{}.sock", std::process::id()))
    }

    fn poll_until(s: &mut LineServer, want: usize) -> Vec<(ClientId, Zeroizing<String>)> {
        let mut got = Vec::new();
        for _ in 0..200 {
            got.extend(s.poll(Instant::now()));
            if got.len() >= want {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        got
    }

    #[test]
    fn the_socket_is_private_from_its_first_moment() {
        let path = temp_path("mode");
        let s = LineServer::bind(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        drop(s);
        assert!(!path.exists(), "removed on drop");
    }

    #[test]
    fn lines_replies_and_the_line_bound() {
        let path = temp_path("lines");
        let mut s = LineServer::bind(&path).unwrap();
        let mut a = UnixStream::connect(&path).unwrap();
        a.write_all(b"one\n\ntwo\npart").unwrap();
        let got = poll_until(&mut s, 2);
        let texts: Vec<&str> = got.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(texts, ["one", "two"]);
        s.send(got[0].0, "reply");
        let mut r = std::io::BufReader::new(a.try_clone().unwrap());
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert_eq!(line, "reply\n");
        // A line over the bound drops the client; the server goes on. The writer is a thread
        // of its own: the socket holds less than the line, so the write waits for the reads.
        let mut writer = a.try_clone().unwrap();
        let big = std::thread::spawn(move || {
            let _ = writer.write_all(&vec![b'x'; MAX_LINE + 10]);
        });
        for _ in 0..400 {
            s.poll(Instant::now());
            if s.clients() == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(s.clients(), 0);
        assert_eq!(s.counters.line_too_long, 1);
        drop(s);
        big.join().unwrap();
    }

    #[test]
    fn clients_beyond_the_limit_are_closed() {
        let path = temp_path("limit");
        let mut s = LineServer::bind(&path).unwrap();
        let conns: Vec<UnixStream> = (0..MAX_CLIENTS + 5)
            .map(|_| UnixStream::connect(&path).unwrap())
            .collect();
        for _ in 0..50 {
            s.poll(Instant::now());
            if s.counters.accepted as usize + s.counters.over_client_limit as usize == conns.len() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(s.clients(), MAX_CLIENTS);
        assert_eq!(s.counters.over_client_limit, 5);
        let mut last = &conns[conns.len() - 1];
        let mut buf = [0u8; 1];
        last.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        assert_eq!(last.read(&mut buf).unwrap(), 0, "closed by the server");
    }
}
