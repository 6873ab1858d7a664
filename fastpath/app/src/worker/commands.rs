//! Serving the control socket's requests between bursts.

use super::Worker;
use crate::control::command::{apply, Command, Reply};

impl Worker {
    /// Carries out what the control socket asked (a few per call, so a burst of requests
    /// cannot stall the data path).
    pub(super) fn serve_commands(&mut self, now_ns: u64) {
        for _ in 0..16 {
            let Some(req) = self.inbox.pop() else { return };
            let reply = match req.command {
                Command::SetLocals(locals) => {
                    self.locals = locals;
                    Reply::Done
                }
                Command::SetSyncPolicy(policy) => {
                    self.esp.sync = policy;
                    Reply::Done
                }
                Command::SetSourceMac { port, mac } => {
                    let mut found = false;
                    for p in self.ports.iter_mut().filter(|p| p.port == port) {
                        p.mac = mac.unwrap_or(p.own_mac);
                        found = true;
                    }
                    if found {
                        Reply::Done
                    } else {
                        Reply::Failed(format!("no port {port}"))
                    }
                }
                command => {
                    let spi_owner = self.handoff.as_mut().map(|h| &mut h.spi_owner);
                    apply(command, &mut self.tables, spi_owner, self.index, now_ns)
                }
            };
            let _ = req.reply.send(reply);
        }
    }
}
