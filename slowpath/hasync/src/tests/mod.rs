//! The node against its peer over a simulated network (fake clock).

mod bulk;
mod channel;
mod security;
mod sim;
mod takeover;
