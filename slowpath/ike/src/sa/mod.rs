//! IKE SA and CHILD SA state machines (RFC 7296). An `IkeSa` is one connection's IKE SA
//! across its rekeys: `core` holds the current keys and message IDs, `retiring` the ones a
//! rekey replaced until their delete is done. Everything is plain data (`Clone`), exported
//! and imported whole for HA (`export`).

pub mod auth;
pub mod child_sa;
pub mod core;
pub mod ctx;
pub mod dh;
pub mod exchange;
pub mod export;
pub mod fragment;
pub mod ike_sa;
pub mod nat;
pub mod proposals;
pub mod record;
pub mod status;
pub mod takeover;
pub mod ts;

mod control;
mod dispatch;
mod tick;

pub use child_sa::{ChildSa, ChildState};
pub use ctx::{Ctx, SpiAllocator};
pub use ike_sa::{IkeSa, IkeState, Retiring};
pub use record::{IkeSaRecord, RecordError, MAX_RECORD_LEN};
pub use status::{ChildStatus, IkeSaStatus};
