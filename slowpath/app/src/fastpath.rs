//! The slow path's client of the fast path's control socket (`ipc::fastpath`): VRRP tells it
//! which virtual addresses are the node's own and which MAC a port sends from; IKE installs
//! and removes SAs and policies (`ike::program`).

use ipc::client::Client;
use ipc::fastpath::{
    LocalsChanged, PortInfo, PortMacSet, Request, SyncSettings, SyncSettingsApplied, SyncStats,
};
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;
use toolkit::mac::MacAddr;

/// How long a reply from the fast path is waited for (its workers answer within
/// milliseconds; a stopped one within its 2 s bound).
const REPLY_TIMEOUT: Duration = Duration::from_secs(3);

pub struct FastpathClient {
    client: Client,
}

impl FastpathClient {
    pub fn new(path: &Path) -> FastpathClient {
        FastpathClient {
            client: Client::new(path, REPLY_TIMEOUT),
        }
    }

    /// The typed client, for any request.
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    pub fn local(&mut self, addr: IpAddr, add: bool) -> Result<(), String> {
        let request = if add {
            Request::LocalAdd { addr }
        } else {
            Request::LocalDel { addr }
        };
        self.client
            .call::<_, LocalsChanged>(&request)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    pub fn port_mac(&mut self, port: u16, mac: Option<[u8; 6]>) -> Result<(), String> {
        let mac = mac.map(MacAddr::from);
        self.client
            .call::<_, PortMacSet>(&Request::PortMac { port, mac })
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// The fast path's ports, with their links.
    pub fn ports(&mut self) -> Result<Vec<PortInfo>, String> {
        self.client.call(&Request::Ports).map_err(|e| e.to_string())
    }

    /// The seqnum knobs the fast path's workers have now.
    pub fn sync_settings(&mut self) -> Result<SyncSettings, String> {
        self.client
            .call::<_, SyncStats>(&Request::SyncStats)
            .map(|s| s.settings)
            .map_err(|e| e.to_string())
    }

    /// Hands the `ha` block's seqnum knobs to every worker; how many took them.
    pub fn set_sync_settings(&mut self, settings: SyncSettings) -> Result<usize, String> {
        self.client
            .call::<_, SyncSettingsApplied>(&Request::SyncSettings(settings))
            .map(|a| a.workers)
            .map_err(|e| e.to_string())
    }
}
