//! What the operator's control socket answers: plain data (names, numbers, addresses), each
//! reply kind a serde struct, so that a client reads fields, never text made for people.
pub mod vrrp_status;
