//! A blocking client of either control socket: one request, one reply, bounded waits, and
//! one reconnect when the server was restarted since the last call.

use crate::wire::{encode_request, CallError, Reply, MAX_REPLY};
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

/// One line, at most `MAX_REPLY` bytes.
fn read_line(conn: &mut BufReader<UnixStream>) -> Result<String, CallError> {
    let mut buf = Vec::new();
    let n = conn
        .by_ref()
        .take(MAX_REPLY as u64 + 1)
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

/// Subscribes with `request` and copies every line the server streams to `out` until it
/// closes the connection (an operator's `events` / `follow`).
pub fn follow<R: Serialize>(
    path: &Path,
    request: &R,
    out: &mut impl Write,
) -> Result<(), CallError> {
    let mut stream = Stream::open(path, request, Duration::from_secs(5))?;
    loop {
        match stream.next_line() {
            Ok(line) => out.write_all(line.as_bytes())?,
            Err(CallError::Closed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// A command's standard output that its reader may close early (`| head -1`, `| grep -q`).
/// Writes after that fail with the broken pipe as usual, and `closed()` tells the command
/// to exit quietly, as shell tools do, rather than report (or panic on) an error that is
/// not its own.
pub struct Output {
    stdout: std::io::Stdout,
    closed: bool,
}

impl Output {
    pub fn stdout() -> Output {
        Output {
            stdout: std::io::stdout(),
            closed: false,
        }
    }

    /// Ends the command `name` after `result`: status 0, or 1 with the error on stderr. A
    /// reader that went away is no error of ours.
    pub fn exit<E: std::fmt::Display>(mut self, name: &str, result: Result<(), E>) -> ! {
        let result = result
            .map_err(|e| e.to_string())
            .and_then(|()| self.flush().map_err(|e| e.to_string()));
        match result {
            Err(e) if !self.closed => {
                eprintln!("{name}: {e}");
                std::process::exit(1)
            }
            _ => std::process::exit(0),
        }
    }

    fn noted<T>(&mut self, r: std::io::Result<T>) -> std::io::Result<T> {
        if matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe) {
            self.closed = true;
        }
        r
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let r = self.stdout.write(buf);
        self.noted(r)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let r = self.stdout.flush();
        self.noted(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::MAX_LINE;
    use std::os::unix::net::UnixListener;

    /// A reply several times a request's bound (the policies of 10,000 crypto groups) is
    /// read whole.
    #[test]
    fn a_reply_beyond_the_request_bound_is_read_whole() {
        let path = std::env::temp_dir().join(format!("ipc-big-reply-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let items = 4 * MAX_LINE / 16;
        let server = std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            let mut r = BufReader::new(s);
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            let list = vec!["0123456789abcdef"; items];
            let reply = serde_json::json!({"v": 2, "id": 1, "ok": true, "result": list});
            let mut out = reply.to_string();
            out.push('\n');
            r.get_mut().write_all(out.as_bytes()).unwrap();
        });
        let mut c = Client::new(&path, Duration::from_secs(10));
        let got: Vec<String> = c.call(&serde_json::json!({"op": "sp_list"})).unwrap();
        assert_eq!(got.len(), items);
        server.join().unwrap();
        let _ = std::fs::remove_file(&path);
    }
}
