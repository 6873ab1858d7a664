//! A small safe layer over intel-ipsec-mb 1.3 (Debian `libipsec-mb-dev`).
//!
//! - [`Mgr`]: one multi-buffer manager (per lcore), running a [`Burst`] of [`Job`]s through the job API
//!   so that packets of a burst share the SIMD lanes (AES-CBC encryption and HMAC are serial within
//!   a packet; the multi-buffer code gets its speed from doing up to 8-16 packets at once).
//! - [`Mgr::gcm`]: AES-GCM on one buffer through the direct functions, which have no lanes to share
//!   and skip the job queue's cost; texts of up to 256 bytes in this crate's own AVX-512 code
//!   (VAES, VPCLMULQDQ) where the CPU has it; longer ones (to 4064 bytes), under a key that may
//!   be out of cache, in its own code that reads 5 lines of the key's hash-key table, not 13.
//! - [`Mgr::sync_burst`]: AES-CBC + HMAC jobs of one kind through the library's synchronous burst
//!   functions, which feed the lanes without the job queue; HMAC-SHA1 and AES-CBC encryption
//!   in this crate's own AVX-512 lanes where the CPU has them.
//! - [`AesKeys`], [`GcmKey`], [`HmacKey`]: prepared key material, as the job API expects it.
//! - [`prefetch`] and [`advise_huge_pages`]: memory hints for the ESP core's per-SA tables.
//!
//! All `unsafe` of the crypto stack lives in this crate.

mod aes_cbc_x16;
mod agreement;
mod gcm;
mod gcm_fns;
mod gcm_long;
mod gcm_short;
mod hmac_sha1_x16;
mod huge_pages;
mod job;
mod keys;
mod library_checks;
mod mgr;
mod prefetch;
mod raw_mgr;
mod sync;
mod sync_fns;
#[cfg(test)]
mod unhex;

pub use huge_pages::{advise_huge_pages, HUGE_PAGE};
pub use job::{Auth, CbcIv, Cipher, Dir, Job, JobStatus, MAX_BURST};
pub use keys::{AesKeys, AesSize, GcmKey, HmacAlg, HmacKey};
pub use mgr::{Arch, Burst, Completed, Mgr};
pub use prefetch::{prefetch, prefetch_line, prefetch_line_to, Reach, LINE};
pub use sync::SyncBurst;
pub use sync_fns::SyncKind;

/// Raw bindgen output (only the items the safe layer uses).
#[allow(
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    dead_code,
    unnecessary_transmutes,
    clippy::all
)]
pub mod sys {
    include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
}

/// The library's version string, e.g. "1.3.0".
pub fn version() -> &'static str {
    // SAFETY: imb_get_version_str returns a pointer to a static NUL-terminated string.
    let c = unsafe { std::ffi::CStr::from_ptr(sys::imb_get_version_str()) };
    c.to_str().unwrap_or("?")
}
