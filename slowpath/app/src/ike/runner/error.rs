//! Why IKE could not start, why its fast path event stream is down, and why an operator's
//! IKE request was refused (the text is what the control socket answers).

use std::net::SocketAddr;
use std::path::PathBuf;

/// IKE could not start.
#[derive(Debug, thiserror::Error)]
pub enum IkeError {
    #[error("ike: bind {local}: {source}")]
    Bind {
        local: SocketAddr,
        source: std::io::Error,
    },
    #[error("ha sync: {0}")]
    HaSync(String),
}

/// The fast path's event stream could not be had, or was lost.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    #[error("fast path events {}: {source}", path.display())]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("fast path event stream closed")]
    Closed,
    #[error("fast path event stream: {0}")]
    Read(std::io::Error),
    #[error("fast path event stream: a line over {0} bytes")]
    LineTooLong(usize),
}

/// An operator's IKE request refused.
#[derive(Debug, thiserror::Error)]
pub enum IkeRequestError {
    #[error("no conn {0}")]
    NoConn(String),
    #[error("conn {conn} has no child {child}")]
    NoChild { conn: String, child: String },
    #[error("conn {0} cannot initiate (no remote address?)")]
    CannotInitiate(String),
    #[error("no such IKE SA")]
    NoIkeSa,
    #[error("child: a CHILD SA id")]
    BadChildId,
    #[error("no such SA, or it cannot be rekeyed now")]
    CannotRekey,
    /// A standby's SAs are the active node's copies: removing them here would only be undone
    /// by the next sync, and the active node's own flush reaches the standby as deletes.
    #[error("this node is HA standby: flush on the active node (its deletes reach this one)")]
    Standby,
    #[error("no crypto-group {0}")]
    NoGroup(String),
    #[error("{0}")]
    GroupNotUp(#[from] ike::crypto_group::NotUp),
    #[error("reply: {0}")]
    Encode(#[from] serde_json::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_as_before() {
        assert_eq!(IkeRequestError::NoConn("x".into()).to_string(), "no conn x");
        assert_eq!(
            IkeRequestError::NoChild {
                conn: "x".into(),
                child: "y".into()
            }
            .to_string(),
            "conn x has no child y"
        );
        assert_eq!(
            IkeRequestError::CannotInitiate("x".into()).to_string(),
            "conn x cannot initiate (no remote address?)"
        );
        let bind = IkeError::Bind {
            local: "192.0.2.1:500".parse().unwrap(),
            source: std::io::ErrorKind::AddrInUse.into(),
        };
        assert!(bind.to_string().starts_with("ike: bind 192.0.2.1:500: "));
    }
}
