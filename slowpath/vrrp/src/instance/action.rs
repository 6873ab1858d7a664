//! What the state machine tells the I/O layer: its states, the outputs it queues, and why it
//! moved.

use crate::wire::Advert;
use std::net::IpAddr;
use std::time::Duration;

/// RFC 5798 §6.4's states, and Fault (a tracked object without weight is down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Initialize,
    Backup,
    Master,
    Fault,
}

/// An output of the state machine, drained in order with `poll_action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Frame (`build_advert_frame`, source MAC the virtual MAC) and send this advert.
    SendAdvert(Advert),
    /// Send one round of `garp_count` gratuitous ARPs / unsolicited NAs for these addresses now.
    Announce { addresses: Vec<IpAddr> },
    /// Add the virtual addresses when entering Master, remove them when leaving it.
    StateChanged {
        from: State,
        to: State,
        reason: Reason,
    },
    /// We are master and another master's advert (nonzero priority) arrived: both were master.
    SplitBrain { other_master: IpAddr },
    /// Exactly one master again from our point of view: we left Master, or every other master
    /// went quiet (sent nothing for its Master_Down_Interval) or gave up (priority 0).
    SplitBrainResolved,
}

/// Why the state changed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Initialize -> Backup.
    Startup,
    /// Initialize -> Master: we own the addresses (priority 255).
    Priority255Owner,
    /// Backup -> Master: Master_Down_Timer fired, no master heard.
    MasterDown,
    /// Master -> Backup: a higher-priority advert, or an equal priority from a higher address.
    Preempted,
    /// Backup -> Master: the master gave up (priority 0) and our Skew_Time ran out.
    PriorityZeroReceived,
    /// Backup -> Master: we took over from a live lower-priority master (Preempt_Mode).
    Preempting,
    /// -> Fault: this tracked object is down.
    TrackDown(String),
    /// Fault -> Backup/Master, or an owner's priority back to 255.
    TrackUp,
    /// -> Initialize.
    Shutdown,
    /// `force_backup`.
    Operator,
    /// Moved by its sync group.
    Group,
}

/// The last state change, for status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: State,
    pub to: State,
    pub reason: Reason,
    pub at: Duration,
}
