//! The framing both control sockets speak: one JSON object per line. A request carries the
//! schema version `v` and an `id` that its reply echoes; a reply carries `ok` and either a
//! `result` or an `error`; an event line carries `v` and `event`. An operator can still talk
//! to either socket with `socat` (`{"v":2,"id":1,"op":"sa_list"}`).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use zeroize::Zeroizing;

/// The schema version spoken on both sockets. 2: SAs and SPs are typed objects (1 sent them
/// as configuration-file text).
pub const VERSION: u32 = 2;

/// The longest request line a server takes (an `sa_sync` batch of 256 records is ~60 kB);
/// a longer one closes the connection.
pub const MAX_LINE: usize = 1 << 20;

/// The longest reply line a client takes: a list of every policy of 100,000 tunnels in
/// both directions is ~60 MB, far beyond a request's bound; a longer one is refused.
pub const MAX_REPLY: usize = 256 << 20;

/// The fields every request line has, read before the request itself so that a reply to a
/// malformed request still carries its id.
#[derive(Deserialize)]
struct Head {
    v: Option<u64>,
    id: Option<u64>,
    op: Option<String>,
}

/// A request that could not be read, with the id to answer it under (if it had one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub id: Option<u64>,
    pub error: String,
}

/// Reads one request line: its id and the request, or why it is refused.
pub fn decode_request<R: DeserializeOwned>(line: &str) -> Result<(Option<u64>, R), Refused> {
    let head: Head = serde_json::from_str(line).map_err(|e| Refused {
        id: None,
        error: format!("not JSON: {e}"),
    })?;
    let refuse = |error: String| Refused { id: head.id, error };
    match head.v {
        Some(v) if v == u64::from(VERSION) => {}
        Some(v) => {
            return Err(refuse(format!(
                "schema version {v} is not spoken here (this is {VERSION})"
            )))
        }
        None => return Err(refuse(format!("missing \"v\" (this is {VERSION})"))),
    }
    let request = serde_json::from_str(line).map_err(|e| {
        let e = e.to_string();
        match &head.op {
            Some(op) if e.starts_with(&format!("unknown variant `{op}`")) => {
                refuse(format!("unknown op `{op}`"))
            }
            None => refuse("missing \"op\"".into()),
            Some(op) => refuse(format!("{op}: {e}")),
        }
    })?;
    Ok((head.id, request))
}

#[derive(Serialize)]
struct Outgoing<'a, R> {
    v: u32,
    id: u64,
    #[serde(flatten)]
    request: &'a R,
}

/// One request line (without its newline), in a string zeroized when dropped: an `sa_add`
/// carries keys.
pub fn encode_request<R: Serialize>(id: u64, request: &R) -> Zeroizing<String> {
    let line = serde_json::to_string(&Outgoing {
        v: VERSION,
        id,
        request,
    });
    // Serializing our own types to a string cannot fail (no maps with non-string keys).
    Zeroizing::new(line.unwrap_or_default())
}

/// One reply line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub v: u32,
    pub id: Option<u64>,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Reply {
    pub fn ok<T: Serialize>(id: Option<u64>, result: &T) -> Reply {
        match serde_json::to_value(result) {
            Ok(result) => Reply {
                v: VERSION,
                id,
                ok: true,
                result: Some(result),
                error: None,
            },
            Err(e) => Reply::refused(id, format!("result: {e}")),
        }
    }

    pub fn refused(id: Option<u64>, error: impl Into<String>) -> Reply {
        Reply {
            v: VERSION,
            id,
            ok: false,
            result: None,
            error: Some(error.into()),
        }
    }

    pub fn line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The result as `T`, or the error the other side gave.
    pub fn into_result<T: DeserializeOwned>(self) -> Result<T, CallError> {
        if !self.ok {
            return Err(CallError::Refused(
                self.error.unwrap_or_else(|| "refused".into()),
            ));
        }
        serde_json::from_value(self.result.unwrap_or(Value::Null))
            .map_err(|e| CallError::BadReply(e.to_string()))
    }
}

#[derive(Serialize)]
struct EventLine<'a, E> {
    v: u32,
    #[serde(flatten)]
    event: &'a E,
}

/// One event line (without its newline).
pub fn encode_event<E: Serialize>(event: &E) -> String {
    serde_json::to_string(&EventLine { v: VERSION, event }).unwrap_or_default()
}

/// Why a call did not give its result.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("{path}: {source}")]
    Connect {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the other side closed the connection")]
    Closed,
    #[error("bad reply: {0}")]
    BadReply(String),
    #[error("{0}")]
    Refused(String),
}
