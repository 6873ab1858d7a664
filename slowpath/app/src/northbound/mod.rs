//! What the operator's control socket carries: plain data (names, numbers, addresses), each
//! reply and event kind a serde type, so that a client reads fields, never text made for
//! people.
pub mod ike_status;
pub mod vrrp_events;
pub mod vrrp_status;
