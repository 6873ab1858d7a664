//! Why the daemon could not start or had to stop, and why an operator's request was refused.

use crate::ike::IkeError;
use crate::netif::NetifError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("group {group}: no vrrp {instance}")]
    NoInstance { group: String, instance: String },
    #[error("interface {name}: {source}")]
    Interface { name: String, source: NetifError },
    #[error("interface {name}: {source}")]
    Socket {
        name: String,
        source: std::io::Error,
    },
    #[error("vrrp {instance}: {source}")]
    Vmac {
        instance: String,
        source: NetifError,
    },
    #[error(transparent)]
    NoPrimaryAddress(NetifError),
    #[error("track {track}: {source}")]
    Probe {
        track: String,
        source: std::io::Error,
    },
    #[error("control {}: {source}", path.display())]
    Control {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("metrics {addr}: {source}")]
    Metrics {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Ike(#[from] IkeError),
    #[error("snmp: {0}")]
    Snmp(std::io::Error),
    #[error("poll: {0}")]
    Poll(std::io::Error),
}

/// An operator's request refused; the text is what the control socket answers.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("no group {0}")]
    NoGroup(String),
    #[error("no ha-group {0}")]
    NoHaGroup(String),
    #[error("{0}: this node runs no IKE")]
    NotHere(&'static str),
    #[error("reply: {0}")]
    Encode(#[from] serde_json::Error),
}
