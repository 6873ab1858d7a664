//! Errors of the safe layer, built from DPDK return codes and `rte_errno`.

use std::ffi::CStr;
use std::fmt;

use crate::sys;

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// An error of the safe layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A DPDK call failed; `errno` is the positive error code (from the return value or
    /// from `rte_errno`).
    Dpdk {
        /// Name of the DPDK function that failed.
        call: &'static str,
        /// Positive errno-style code (DPDK's own codes start at 1000).
        errno: i32,
    },
    /// An argument was rejected before calling DPDK.
    InvalidArg(&'static str),
    /// EAL was already initialised in this process (it can be initialised only once).
    AlreadyInitialized,
    /// A queue or ring endpoint handle was already handed out.
    Busy(&'static str),
}

impl Error {
    /// Error for `call` from a negative (or positive) return code.
    pub(crate) fn from_ret(call: &'static str, ret: i32) -> Self {
        Error::Dpdk {
            call,
            errno: ret.abs(),
        }
    }

    /// Error for `call` from the current `rte_errno`.
    pub(crate) fn from_errno(call: &'static str) -> Self {
        Error::Dpdk {
            call,
            errno: errno(),
        }
    }
}

/// Turns a DPDK `int` return code (negative errno on failure) into a `Result`.
pub(crate) fn check(call: &'static str, ret: i32) -> Result<i32> {
    if ret < 0 {
        Err(Error::from_ret(call, ret))
    } else {
        Ok(ret)
    }
}

/// The calling thread's `rte_errno`.
pub fn errno() -> i32 {
    // SAFETY: reads a thread-local integer; no preconditions.
    unsafe { sys::shim_rte_errno() }
}

/// DPDK's description of an error code (`rte_strerror`).
pub fn strerror(code: i32) -> String {
    // SAFETY: rte_strerror returns a pointer to a NUL-terminated string that is either
    // static or in a thread-local buffer; we copy it out immediately.
    unsafe {
        let p = sys::rte_strerror(code);
        if p.is_null() {
            return format!("error {code}");
        }
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Dpdk { call, errno } => {
                write!(f, "{call} failed: {} ({errno})", strerror(*errno))
            }
            Error::InvalidArg(what) => write!(f, "invalid argument: {what}"),
            Error::AlreadyInitialized => f.write_str("EAL already initialised in this process"),
            Error::Busy(what) => write!(f, "{what} already in use"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_maps_negative_codes() {
        assert_eq!(check("x", 3), Ok(3));
        assert_eq!(
            check("x", -22),
            Err(Error::Dpdk {
                call: "x",
                errno: 22
            })
        );
    }

    #[test]
    fn display_invalid_arg() {
        assert_eq!(
            Error::InvalidArg("name").to_string(),
            "invalid argument: name"
        );
    }
}
