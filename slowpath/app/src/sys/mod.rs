//! The few system calls the slow path makes that std does not offer. `unsafe` stays here.
pub mod packet;
pub mod poll;
pub mod udp;
