//! Engine tests: two engines talking in memory, with a fake clock and a deterministic
//! randomness source.

pub(crate) mod harness;

mod certs;
mod child_sa;
mod cookies;
mod establish;
mod floods;
mod flush;
mod fragments;
mod ha;
mod ha_role;
mod informational;
mod mid_sync;
mod nat;
mod records;
mod rekey;
mod robustness;
mod vip;
