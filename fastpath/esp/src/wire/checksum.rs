//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624): the gateway's one
//! copy lives in the toolkit; re-exported so the ESP paths keep their `wire::checksum` name.

pub use toolkit::checksum::*;
