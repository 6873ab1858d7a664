//! A blocking client of either control socket: one request, one reply, bounded waits, and
//! one reconnect when the server was restarted since the last call.

use crate::wire::{encode_request, CallError, Reply, MAX_LINE};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct Client {
    path: PathBuf,
    conn: Option<BufReader<UnixStream>>,
    next_id: u64,
    timeout: Duration,
}

impl Client {
    /// A client of the socket at `path` (connected at the first call); each reply is
    /// waited for at most `timeout`.
    pub fn new(path: &Path, timeout: Duration) -> Client {
        Client {
            path: path.to_path_buf(),
            conn: None,
            next_id: 1,
            timeout,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sends `request` and reads its result as `T`. A connection that fails is dropped and
    /// the request sent once more on a new one (the server may have restarted); a refusal
    /// is not retried.
    pub fn call<R: Serialize, T: DeserializeOwned>(&mut self, request: &R) -> Result<T, CallError> {
        let id = self.next_id;
        self.next_id += 1;
        let reused = self.conn.is_some();
        match self.exchange(id, request) {
            Ok(reply) => reply.into_result(),
            Err(e) => {
                self.conn = None;
                // Only a connection from before that the server closed is worth a second
                // try: after a timeout the request may have been carried out already.
                if reused && is_stale(&e) {
                    self.exchange(id, request)
                        .inspect_err(|_| self.conn = None)?
                        .into_result()
                } else {
                    Err(e)
                }
            }
        }
    }

    fn exchange<R: Serialize>(&mut self, id: u64, request: &R) -> Result<Reply, CallError> {
        if self.conn.is_none() {
            let s = connect(&self.path)?;
            s.set_read_timeout(Some(self.timeout))?;
            self.conn = Some(BufReader::new(s));
        }
        let conn = self.conn.as_mut().ok_or(CallError::Closed)?;
        let mut line = encode_request(id, request);
        line.push('\n');
        conn.get_mut().write_all(line.as_bytes())?;
        let reply = read_line(conn)?;
        let reply: Reply =
            serde_json::from_str(&reply).map_err(|e| CallError::BadReply(e.to_string()))?;
        if reply.id.is_some_and(|r| r != id) {
            return Err(CallError::BadReply(format!(
                "reply to request {:?}, not {id}",
                reply.id
            )));
        }
        Ok(reply)
    }
}

/// The server closed a connection we held (it restarted): nothing was carried out.
fn is_stale(e: &CallError) -> bool {
    match e {
        CallError::Closed => true,
        CallError::Io(io) => matches!(
            io.kind(),
            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
        ),
        _ => false,
    }
}

fn connect(path: &Path) -> Result<UnixStream, CallError> {
    UnixStream::connect(path).map_err(|source| CallError::Connect {
        path: path.display().to_string(),
        source,
    })
}

/// One line, at most `MAX_LINE` bytes.
fn read_line(conn: &mut BufReader<UnixStream>) -> Result<String, CallError> {
    let mut buf = Vec::new();
    let n = conn
        .by_ref()
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Err(CallError::Closed);
    }
    if buf.last() != Some(&b'\n') {
        return Err(CallError::BadReply("a line over the length bound".into()));
    }
    String::from_utf8(buf).map_err(|e| CallError::BadReply(e.to_string()))
}

/// A connection turned into a stream by a subscribe request: its confirmation is read, then
/// each further line is one message.
pub struct Stream {
    conn: BufReader<UnixStream>,
}

impl Stream {
    /// Connects, sends `request`, and waits (bounded by `timeout`) for the confirmation.
    pub fn open<R: Serialize>(
        path: &Path,
        request: &R,
        timeout: Duration,
    ) -> Result<Stream, CallError> {
        let s = connect(path)?;
        s.set_read_timeout(Some(timeout))?;
        let mut conn = BufReader::new(s);
        let mut line = encode_request(1, request);
        line.push('\n');
        conn.get_mut().write_all(line.as_bytes())?;
        let reply: Reply = serde_json::from_str(&read_line(&mut conn)?)
            .map_err(|e| CallError::BadReply(e.to_string()))?;
        reply.into_result::<serde_json::Value>()?;
        conn.get_mut().set_read_timeout(None)?;
        Ok(Stream { conn })
    }

    /// Waits for reads at most `timeout` from now on (None: forever).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) -> std::io::Result<()> {
        self.conn.get_mut().set_read_timeout(timeout)
    }

    /// The next line (without interpretation), or `Closed`.
    pub fn next_line(&mut self) -> Result<String, CallError> {
        read_line(&mut self.conn)
    }

    /// The underlying socket (to poll it, or to make it non-blocking).
    pub fn into_inner(self) -> BufReader<UnixStream> {
        self.conn
    }
}
