//! The operator's control socket: a Unix socket speaking JSON lines (schema v1, as the fast
//! path's). Non-blocking and served from the daemon's one loop, so a request sees the VRRP
//! state as it is between two steps, never halfway through one.

use serde_json::{json, Value};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

pub const VERSION: u64 = 1;
/// A request line longer than this closes the connection (a client gone wrong).
const MAX_LINE: usize = 64 * 1024;

/// Output a client has not taken yet beyond this drops it (a subscriber that stopped reading).
const MAX_PENDING: usize = 4 << 20;

struct Client {
    stream: UnixStream,
    buf: Vec<u8>,
    /// Replies and events not yet written (the socket is non-blocking).
    out: Vec<u8>,
    subscribed: bool,
}

impl Client {
    /// Queues one line and writes what the socket takes now; false if the client is gone.
    fn send(&mut self, line: &Value) -> bool {
        self.out.extend_from_slice(line.to_string().as_bytes());
        self.out.push(b'\n');
        self.flush()
    }

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
        self.out.len() <= MAX_PENDING
    }
}

pub struct ControlServer {
    listener: UnixListener,
    path: PathBuf,
    clients: Vec<Client>,
}

/// A request that arrived, and who to answer.
pub struct Incoming {
    pub client: usize,
    pub request: Result<Value, String>,
}

impl ControlServer {
    pub fn bind(path: &Path) -> std::io::Result<ControlServer> {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path)?;
        listener.set_nonblocking(true)?;
        Ok(ControlServer {
            listener,
            path: path.to_path_buf(),
            clients: Vec::new(),
        })
    }

    /// The descriptors to wait on.
    pub fn fds(&self) -> Vec<RawFd> {
        let mut v = vec![self.listener.as_raw_fd()];
        v.extend(self.clients.iter().map(|c| c.stream.as_raw_fd()));
        v
    }

    /// Accepts new clients and reads what the others sent; returns the complete lines.
    pub fn poll(&mut self) -> Vec<Incoming> {
        while let Ok((stream, _)) = self.listener.accept() {
            if stream.set_nonblocking(true).is_ok() {
                self.clients.push(Client {
                    stream,
                    buf: Vec::new(),
                    out: Vec::new(),
                    subscribed: false,
                });
            }
        }
        let mut incoming = Vec::new();
        let mut chunk = [0u8; 4096];
        self.clients.retain_mut(|c| c.flush());
        self.clients.retain_mut(|c| loop {
            match c.stream.read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => {
                    c.buf.extend_from_slice(&chunk[..n]);
                    if c.buf.len() > MAX_LINE && !c.buf.contains(&b'\n') {
                        return false;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return false,
            }
        });
        for (i, c) in self.clients.iter_mut().enumerate() {
            while let Some(pos) = c.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = c.buf.drain(..=pos).collect();
                let text = String::from_utf8_lossy(&line);
                if text.trim().is_empty() {
                    continue;
                }
                incoming.push(Incoming {
                    client: i,
                    request: serde_json::from_str(text.trim())
                        .map_err(|e| format!("not JSON: {e}")),
                });
            }
        }
        incoming
    }

    /// Answers a request (errors drop the client; it went away).
    pub fn reply(&mut self, client: usize, id: Value, result: Result<Value, String>) {
        let msg = match result {
            Ok(r) => json!({"v": VERSION, "id": id, "ok": true, "result": r}),
            Err(e) => json!({"v": VERSION, "id": id, "ok": false, "error": e}),
        };
        if let Some(c) = self.clients.get_mut(client) {
            // A client that is gone is dropped at the next poll (its read fails).
            let _ = c.send(&msg);
        }
    }

    pub fn subscribe(&mut self, client: usize) {
        if let Some(c) = self.clients.get_mut(client) {
            c.subscribed = true;
        }
    }

    /// Writes events to every subscriber; one that cannot take them is dropped.
    pub fn publish(&mut self, events: &[Value]) {
        if events.is_empty() {
            return;
        }
        self.clients.retain_mut(|c| {
            !c.subscribed
                || events
                    .iter()
                    .all(|e| c.send(&json!({"v": VERSION, "event": e})))
        });
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
