//! The control socket: a Unix stream socket (mode 0600) through which the slow path and the
//! operator's `fastpath-ctl` install, update and remove SAs and SPs, read per-SA state and
//! counters, and receive SA events and HA seqnum snapshots. It speaks the typed protocol of
//! the `ipc` crate (`ipc::fastpath::Request` lists the operations) as JSON lines, versioned
//! (`"v": 2`): `{"v":2,"id":7,"op":"sa_list"}`, answered by
//! `{"v":2,"id":7,"ok":true,"result":[...]}` or `{"v":2,"id":7,"ok":false,"error":"..."}`.
//!
//! Workers own their SAs and SPD copies; the control side never touches them: it sends each
//! change to the workers through a bounded queue that they serve between bursts (every
//! millisecond), and waits for their answer. A `batch` of changes reaches each worker as
//! one command, so that a bulk install is not held to a few changes per millisecond.

pub mod command;
pub mod context;
pub mod convert;
pub mod server;
pub mod sync;
pub mod table;
