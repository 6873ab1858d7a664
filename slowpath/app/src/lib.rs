//! The slow path daemon: VRRP (RFC 5798 / RFC 3768) and HA groups on the fast path's exception
//! interfaces, the operator's control socket, and the fast path's control client. The protocol
//! decisions are in the `vrrp` core; this crate does the I/O.
pub mod config;
pub mod control;
pub mod daemon;
pub mod events;
pub mod fastpath;
pub mod ha_sync;
pub mod ike;
pub mod metrics;
pub mod netif;
pub mod northbound;
pub mod probe;
pub mod snmp;
pub mod status;
pub mod sys;
