//! The operator's control socket: the shared line server (`ipc::server`: mode 0600, bounded
//! lines and clients, no thread per client) speaking the slow path's typed requests
//! (`ipc::slowpath::Request`) as JSON lines. Served from the daemon's one loop, so a request
//! sees the state as it is between two steps, never halfway through one.

use ipc::server::{ClientId, LineServer};
use ipc::slowpath::Request;
use ipc::wire::{decode_request, Reply, VERSION};
use serde_json::{json, Value};
use std::os::fd::RawFd;
use std::path::Path;
use std::time::Instant;

pub struct ControlServer {
    server: LineServer,
}

/// A request that arrived, who to answer, and under which id.
pub struct Incoming {
    pub client: ClientId,
    pub id: Option<u64>,
    pub request: Result<Request, String>,
}

impl ControlServer {
    pub fn bind(path: &Path) -> std::io::Result<ControlServer> {
        Ok(ControlServer {
            server: LineServer::bind(path)?,
        })
    }

    /// The descriptors to wait on.
    pub fn fds(&self) -> Vec<RawFd> {
        self.server.fds()
    }

    /// Accepts new clients and reads what the others sent; returns the requests.
    pub fn poll(&mut self) -> Vec<Incoming> {
        self.server
            .poll(Instant::now())
            .into_iter()
            .map(|(client, line)| match decode_request::<Request>(&line) {
                Ok((id, request)) => Incoming {
                    client,
                    id,
                    request: Ok(request),
                },
                Err(refused) => Incoming {
                    client,
                    id: refused.id,
                    request: Err(refused.error),
                },
            })
            .collect()
    }

    /// Answers a request (a client that is gone is dropped at the next poll).
    pub fn reply(&mut self, client: ClientId, id: Option<u64>, result: Result<Value, String>) {
        let reply = match result {
            Ok(r) => Reply::ok(id, &r),
            Err(e) => Reply::refused(id, e),
        };
        self.server.send(client, &reply.line());
    }

    pub fn subscribe(&mut self, client: ClientId) {
        self.server.subscribe(client);
    }

    /// Writes events to every subscriber; one that cannot take them is dropped.
    pub fn publish(&mut self, events: &[Value]) {
        let lines: Vec<String> = events
            .iter()
            .map(|e| json!({"v": VERSION, "event": e}).to_string())
            .collect();
        self.server.publish(&lines);
    }
}
