//! poll(2) over a set of descriptors: the daemon's one wait, bounded by its next timer. The
//! same wait serves the fast path's control thread; it lives with the line server.

pub use ipc::server::wait_readable as readable;
