//! A client of the fast path's control socket (JSON lines, schema v1): the slow path tells
//! it which virtual addresses are the node's own and which MAC a port sends from.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct FastpathClient {
    path: PathBuf,
    conn: Option<BufReader<UnixStream>>,
    next_id: u64,
}

impl FastpathClient {
    pub fn new(path: &Path) -> FastpathClient {
        FastpathClient {
            path: path.to_path_buf(),
            conn: None,
            next_id: 1,
        }
    }

    /// Sends one request and waits (bounded) for its reply; reconnects once if the fast path
    /// was restarted since the last request.
    pub fn request(&mut self, mut req: Value) -> Result<Value, String> {
        req["v"] = json!(1);
        req["id"] = json!(self.next_id);
        self.next_id += 1;
        let mut last = String::new();
        for _ in 0..2 {
            match self.try_request(&req) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    self.conn = None;
                    last = e;
                }
            }
        }
        Err(last)
    }

    fn try_request(&mut self, req: &Value) -> Result<Value, String> {
        if self.conn.is_none() {
            let s = UnixStream::connect(&self.path)
                .map_err(|e| format!("fast path {}: {e}", self.path.display()))?;
            s.set_read_timeout(Some(Duration::from_secs(3)))
                .map_err(|e| e.to_string())?;
            self.conn = Some(BufReader::new(s));
        }
        let conn = self.conn.as_mut().ok_or("not connected")?;
        writeln!(conn.get_mut(), "{req}").map_err(|e| e.to_string())?;
        let mut line = String::new();
        conn.read_line(&mut line).map_err(|e| e.to_string())?;
        let reply: Value = serde_json::from_str(&line).map_err(|e| format!("reply: {e}"))?;
        if reply.get("ok").and_then(Value::as_bool) == Some(true) {
            Ok(reply.get("result").cloned().unwrap_or(Value::Null))
        } else {
            Err(reply
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("refused")
                .to_string())
        }
    }

    pub fn local(&mut self, addr: IpAddr, add: bool) -> Result<(), String> {
        let op = if add { "local_add" } else { "local_del" };
        self.request(json!({"op": op, "addr": addr.to_string()}))
            .map(drop)
    }

    pub fn port_mac(&mut self, port: u16, mac: Option<[u8; 6]>) -> Result<(), String> {
        let mac = mac.map(|m| crate::netif::format_mac(&m));
        self.request(json!({"op": "port_mac", "port": port, "mac": mac}))
            .map(drop)
    }
}
