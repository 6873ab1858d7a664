//! The typed interface between the processes: what the slow path, the operator's CLIs and
//! (later) the HA sync say to a fast path and to a slow path, and what they hear back.
#![forbid(unsafe_code)]
