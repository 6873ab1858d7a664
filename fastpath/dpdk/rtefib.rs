//! DPDK's IPv4 FIB (`rte_fib`, DIR-24-8 lookups over an `rte_rib` tree for updates): the
//! yardstick the FIB's own LPM is measured against. (`rte_lpm` finds a rule by a linear scan
//! of its length's rules on every add, so 1 M routes take hours to load.)

use std::ffi::CString;
use std::ptr::NonNull;
use std::sync::Arc;

use crate::eal::{Eal, EalToken};
use crate::error::{check, Error, Result};
use crate::sys;

/// An `rte_fib` DIR-24-8 table with 4-byte entries and one writer.
pub struct RteFib {
    ptr: NonNull<sys::rte_fib>,
    _eal: Arc<EalToken>,
}

// SAFETY: the table is plain memory; `&mut self` methods are the only writers.
unsafe impl Send for RteFib {}

impl RteFib {
    /// Creates a table (`rte_fib_create`) for `max_routes` prefixes and `tbl8s` groups past
    /// /24; `default_nh` (below 2^31) is what a lookup without a route returns.
    pub fn create(
        eal: &Eal,
        name: &str,
        max_routes: u32,
        tbl8s: u32,
        default_nh: u64,
    ) -> Result<RteFib> {
        let c = CString::new(name).map_err(|_| Error::InvalidArg("fib name contains NUL"))?;
        let mut conf = sys::rte_fib_conf {
            type_: sys::RTE_FIB_DIR24_8,
            default_nh,
            max_routes: i32::try_from(max_routes).map_err(|_| Error::InvalidArg("max_routes"))?,
            ..Default::default()
        };
        conf.__bindgen_anon_1.dir24_8.nh_sz = sys::RTE_FIB_DIR24_8_4B;
        conf.__bindgen_anon_1.dir24_8.num_tbl8 = tbl8s;
        // SAFETY: valid C string and config; EAL is initialised.
        let p = unsafe { sys::rte_fib_create(c.as_ptr(), sys::SOCKET_ID_ANY, &mut conf) };
        let ptr = NonNull::new(p).ok_or_else(|| Error::from_errno("rte_fib_create"))?;
        Ok(RteFib {
            ptr,
            _eal: eal.token.clone(),
        })
    }

    /// Adds `ip/depth` with next hop `next_hop`.
    pub fn add(&mut self, ip: u32, depth: u8, next_hop: u64) -> Result<()> {
        // SAFETY: live table, exclusive access.
        let r = unsafe { sys::rte_fib_add(self.ptr.as_ptr(), ip, depth, next_hop) };
        check("rte_fib_add", r).map(|_| ())
    }

    /// `rte_fib_lookup_bulk`: `hops[i]` for `ips[i]`, the default next hop where no route.
    pub fn lookup_bulk(&self, ips: &[u32], hops: &mut [u64]) {
        let n = ips.len().min(hops.len());
        // SAFETY: live table; both slices hold at least `n` elements; `ips` is only read
        // (the C prototype lacks `const`).
        unsafe {
            sys::rte_fib_lookup_bulk(
                self.ptr.as_ptr(),
                ips.as_ptr().cast_mut(),
                hops.as_mut_ptr(),
                n as i32,
            )
        };
    }
}

impl Drop for RteFib {
    fn drop(&mut self) {
        // SAFETY: live table, no other user; freed once.
        unsafe { sys::rte_fib_free(self.ptr.as_ptr()) };
    }
}
