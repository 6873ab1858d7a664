//! The fast path's `sync_subscribe` stream, read for the table: the newest seqnum record of
//! each SA, which a replay needs so that sequence numbers go on where they were. The fast path
//! sends records only with `--ha-sync`; without them a replay starts outbound SAs at
//! `OSEQ_SHIFT`. Non-blocking; a lost stream is asked for again after `RETRY`.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipc::fastpath::{Request, SeqRecord, SyncBatch};

use super::SaTable;

/// How long after losing it the stream is asked for again.
const RETRY: Duration = Duration::from_secs(1);
/// No line of the stream is this long (256 records a batch).
const MAX_LINE: usize = 1 << 20;

pub struct SyncFeed {
    path: Option<PathBuf>,
    stream: Option<UnixStream>,
    buf: Vec<u8>,
    retry_at: Option<Duration>,
}

impl SyncFeed {
    /// The stream of the fast path at `path` (none: nothing to read).
    pub fn new(path: Option<&Path>, now: Duration) -> SyncFeed {
        SyncFeed {
            path: path.map(Path::to_path_buf),
            stream: None,
            buf: Vec::new(),
            retry_at: path.map(|_| now),
        }
    }

    /// The descriptor to poll, while connected.
    pub fn fd(&self) -> Option<RawFd> {
        self.stream.as_ref().map(|s| s.as_raw_fd())
    }

    /// When `poll` is due to connect again.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.retry_at.filter(|_| self.stream.is_none())
    }

    pub fn is_connected(&self) -> bool {
        self.stream.is_some()
    }

    /// Connects when due, and hands every complete batch read to the table; the records of
    /// the table's SAs, for the HA peer.
    pub fn poll(&mut self, now: Duration, table: &mut SaTable) -> Vec<SeqRecord> {
        let mut ours = Vec::new();
        if self.stream.is_none() && self.retry_at.is_some_and(|t| t <= now) {
            self.connect(now);
        }
        let Some(stream) = self.stream.as_mut() else {
            return ours;
        };
        let mut chunk = [0u8; 4096];
        let mut lost = false;
        loop {
            match stream.read(&mut chunk) {
                Ok(0) => {
                    lost = true;
                    break;
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    lost = true;
                    break;
                }
            }
            if self.buf.len() > MAX_LINE {
                lost = true;
                break;
            }
        }
        while let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            // The subscription's own reply does not parse as a batch.
            if let Ok(batch) = serde_json::from_slice::<SyncBatch>(&line) {
                ours.extend(table.note_synced(&batch.sync));
            }
        }
        if lost {
            tracing::warn!(target: "ike", "fast path sync stream lost; asking again in {RETRY:?}");
            self.stream = None;
            self.buf.clear();
            self.retry_at = Some(now + RETRY);
        }
        ours
    }

    fn connect(&mut self, now: Duration) {
        let Some(path) = &self.path else {
            return;
        };
        let r = (|| -> std::io::Result<UnixStream> {
            let mut s = UnixStream::connect(path)?;
            writeln!(
                s,
                "{}",
                *ipc::wire::encode_request(0, &Request::SyncSubscribe)
            )?;
            s.set_nonblocking(true)?;
            Ok(s)
        })();
        match r {
            Ok(s) => {
                self.stream = Some(s);
                self.retry_at = None;
            }
            Err(e) => {
                tracing::debug!(target: "ike", "fast path sync stream {}: {e}", path.display());
                self.retry_at = Some(now + RETRY);
            }
        }
    }
}
