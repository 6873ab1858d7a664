//! VRRP protocol core: no I/O, time is an input.
//!
//! - [`wire`]: the Advertisement message and the frames around it (RFC 5798 §5, RFC 3768 §5).
//! - [`instance`]: the state machine of one virtual router (RFC 5798 §6).
//! - [`track`]: tracked objects lowering the priority or forcing Fault.
//! - [`group`]: sync groups, instances that move together.
//! - [`ha_group`]: the node's active/standby role derived from a group.
//!
//! Every method takes `now`, a `Duration` since an arbitrary epoch; the caller fires timers by
//! calling `poll` at `next_deadline` and sends what `poll_action` returns.

#![forbid(unsafe_code)]
pub mod group;
pub mod ha_group;
pub mod instance;
pub mod track;
pub mod wire;

#[cfg(test)]
mod sim;

pub use group::{Group, GroupState};
pub use ha_group::{HaEvent, HaGroup, HaGroupStatus, HaRole, HaSource};
pub use instance::{
    Action, Counters, Instance, InstanceConfig, InstanceStatus, InvalidInstance, Reason, State,
    Transition,
};
pub use track::TrackRule;
pub use wire::{Advert, ParseError, ReceivedAdvert, Version};
