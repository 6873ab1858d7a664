//! What the control side reaches of the running fast path, and how it asks the workers:
//! each command goes through a worker's bounded inbox and is answered on a channel of its
//! own, waited for with a bound.

use super::command::{Command, Inbox, Reply};
use esp::lcore::EventQueue;
use ipc::fastpath::{PortInfo, SyncSettings};
use serde::Serialize;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::stats::SharedStats;

/// What the control side reaches of the running fast path.
pub struct Control {
    pub inboxes: Vec<Inbox>,
    pub events: Vec<EventQueue>,
    pub stats: Vec<Arc<SharedStats>>,
    /// Static port facts for `ports` (their links are read at each request).
    pub ports: Vec<PortInfo>,
    pub stop: Arc<AtomicBool>,
    /// Where the sync thread sends snapshot batches (`sync_subscribe`).
    pub sync_subscribers: super::sync::SyncSubscribers,
    pub sync_counters: Arc<super::sync::SyncCounters>,
    /// The node's own addresses as the workers have them (`local_add` / `local_del`).
    pub locals: Mutex<Vec<std::net::IpAddr>>,
    /// The seqnum knobs in force: the command line's until a `sync_settings`.
    pub sync_settings: Mutex<SyncSettings>,
    /// Whether workers take snapshots at all (`--ha-sync`).
    pub snapshots: bool,
    /// Sending by destination (None: each port to its one next hop).
    pub routing: Option<Arc<crate::routing::Routing>>,
}

/// A result as the reply carries it.
pub(super) type Answer = Result<serde_json::Value, String>;

pub(super) fn answer<T: Serialize>(t: T) -> Answer {
    serde_json::to_value(t).map_err(|e| e.to_string())
}

/// How long a worker may take to answer a command.
pub(super) const WORKER_ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// Sends one command to one worker and waits (bounded) for its answer.
pub(crate) fn ask(inbox: &Inbox, command: Command) -> Result<Reply, String> {
    let rx = post(inbox, command)?;
    rx.recv_timeout(WORKER_ANSWER_TIMEOUT)
        .map_err(|_| "worker did not answer (stopped?)".to_string())
}

/// Puts a command in a worker's inbox; where its answer will come.
fn post(inbox: &Inbox, command: Command) -> Result<crossbeam_channel::Receiver<Reply>, String> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    inbox
        .push(super::command::Request { command, reply: tx })
        .map_err(|_| "worker inbox full".to_string())?;
    Ok(rx)
}

/// Sends a command to every worker (in order) and collects their answers. Every worker
/// gets it before any answer is awaited: they carry it out side by side, so a change costs
/// one worker's round trip, not one per worker.
pub(super) fn broadcast(
    control: &Control,
    make: impl Fn(usize) -> Command,
) -> Result<Vec<Reply>, String> {
    broadcast_within(control, WORKER_ANSWER_TIMEOUT, make)
}

/// `broadcast`, waiting at most `timeout` for the answers.
pub(super) fn broadcast_within(
    control: &Control,
    timeout: Duration,
    make: impl Fn(usize) -> Command,
) -> Result<Vec<Reply>, String> {
    let pending: Vec<_> = control
        .inboxes
        .iter()
        .enumerate()
        .map(|(w, inbox)| post(inbox, make(w)))
        .collect();
    let deadline = Instant::now() + timeout;
    pending
        .into_iter()
        .map(|rx| {
            rx?.recv_deadline(deadline)
                .map_err(|_| "worker did not answer (stopped?)".to_string())
        })
        .collect()
}
