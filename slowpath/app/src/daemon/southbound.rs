//! The daemon's side of the fast path's control socket: which virtual addresses are the
//! node's own (`local_add` / `local_del`), which MAC a port sends from (`port_mac`), and the
//! ports' links for tracking. A fast path that is not there is logged, never fatal.

use super::tracking::PortLink;
use super::vrrp::AddressChange;
use crate::config::VrrpConfig;
use crate::fastpath::FastpathClient;
use std::path::Path;

pub(super) struct Southbound {
    client: Option<FastpathClient>,
}

impl Southbound {
    /// No client when the config names no fast path.
    pub fn new(path: Option<&Path>) -> Southbound {
        Southbound {
            client: path.map(FastpathClient::new),
        }
    }

    /// What a previous run that was killed left in the fast path is not ours until elected
    /// again.
    pub fn forget_leftovers(&mut self, vrrp: &[VrrpConfig]) {
        let Some(fp) = self.client.as_mut() else {
            return;
        };
        for v in vrrp {
            for a in &v.instance.virtual_addresses {
                if let Err(e) = fp.local(*a, false) {
                    tracing::warn!("fast path: {e}");
                }
            }
            if let Some(p) = v.fastpath_port {
                let _ = fp.port_mac(p, None);
            }
        }
    }

    /// Becoming master: in accept mode the virtual addresses are the node's own, and a
    /// `vmac` instance's port sends from the virtual MAC. Leaving master undoes both.
    pub fn apply(&mut self, change: &AddressChange) {
        let Some(fp) = self.client.as_mut() else {
            return;
        };
        if change.accept {
            for a in &change.addrs {
                match fp.local(*a, change.own) {
                    Err(e) if change.own => tracing::warn!("fast path local_add {a}: {e}"),
                    _ => {}
                }
            }
        }
        let Some(port) = change.fastpath_port else {
            return;
        };
        if !change.own {
            let _ = fp.port_mac(port, None);
        } else if let Some(mac) = change.port_mac {
            if let Err(e) = fp.port_mac(port, Some(mac)) {
                tracing::warn!("fast path port_mac {port}: {e}");
            }
        }
    }

    /// The fast path's ports and whether each has its link; none when it does not answer.
    pub fn port_links(&mut self) -> Vec<PortLink> {
        let Some(fp) = self.client.as_mut() else {
            return Vec::new();
        };
        match fp.ports() {
            Ok(ports) => ports
                .iter()
                .filter_map(|p| {
                    Some(PortLink {
                        port: p.port.into(),
                        up: p.link_up?,
                    })
                })
                .collect(),
            Err(e) => {
                tracing::debug!("fast path ports: {e}");
                Vec::new()
            }
        }
    }
}
