//! The control socket: a Unix stream socket through which the slow path (and the operator's
//! `fastpath-ctl`) installs, updates and removes SAs and SPs, reads per-SA state and counters,
//! and receives SA events. Messages are JSON, one per line, versioned (`"v": 1`); SAs and SPs
//! are given in the configuration file's own syntax, so a lab file and the socket say the same
//! things the same way.
//!
//! Requests: `{"v":1,"id":7,"op":"sa_add","line":"sa 9 out spi 0x1009 aes128gcm16 key ... tunnel A B"}`,
//! `sa_del {sa}`, `sa_get {sa}`, `sa_list`, `sp_add {line}`, `sp_del {dir, policy}`, `sp_list {dir}`,
//! `sa_activate {sa | all, oseq_shift, generation}`, `sa_deactivate {sa | all}`, `stats`,
//! `subscribe` (the connection then streams events), `sync_subscribe` (the connection then
//! streams HA seqnum snapshot batches, `{"v":1,"sync":[...]}`), `sa_sync {"sync":[...]}` (a
//! standby applies a batch to its SAs). Replies: `{"v":1,"id":7,"ok":true,"result":...}`
//! or `{"v":1,"id":7,"ok":false,"error":"..."}`. A malformed request gets an error reply.
//!
//! Workers own their SAs and SPD copies; the control side never touches them: it sends each
//! change to the workers through a bounded queue that they serve between bursts (every
//! millisecond), and waits for their answer.

pub mod command;
pub mod server;
pub mod sync;
