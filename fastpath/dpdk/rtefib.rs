//! DPDK's IPv4 FIB (`rte_fib`, DIR-24-8 lookups over an `rte_rib` tree for updates): the
//! yardstick the FIB's own LPM is measured against. (`rte_lpm` finds a rule by a linear scan
//! of its length's rules on every add, so 1 M routes take hours to load.)

use std::ffi::{c_char, CString};
use std::ptr::NonNull;
use std::sync::Arc;

use crate::eal::{Eal, EalToken};
use crate::error::{check, Error, Result};
use crate::sys;

/// A DPDK FIB table of either family: its pointer, freed on drop, and the EAL kept alive.
pub(crate) struct Table<T> {
    ptr: NonNull<T>,
    free: unsafe extern "C" fn(*mut T),
    _eal: Arc<EalToken>,
}

// SAFETY: the table is plain memory; its owner's `&mut self` methods are the only writers.
unsafe impl<T> Send for Table<T> {}

impl<T> Table<T> {
    /// A table made by `create` from the C name and the route bound as DPDK takes them
    /// (`what` names the call in errors), freed by `free`.
    pub(crate) fn create(
        eal: &Eal,
        name: &str,
        max_routes: u32,
        what: &'static str,
        create: impl FnOnce(*const c_char, i32) -> *mut T,
        free: unsafe extern "C" fn(*mut T),
    ) -> Result<Table<T>> {
        let c = CString::new(name).map_err(|_| Error::InvalidArg("fib name contains NUL"))?;
        let max = i32::try_from(max_routes).map_err(|_| Error::InvalidArg("max_routes"))?;
        let ptr = NonNull::new(create(c.as_ptr(), max)).ok_or_else(|| Error::from_errno(what))?;
        Ok(Table {
            ptr,
            free,
            _eal: eal.token.clone(),
        })
    }

    pub(crate) fn as_ptr(&self) -> *mut T {
        self.ptr.as_ptr()
    }
}

impl<T> Drop for Table<T> {
    fn drop(&mut self) {
        // SAFETY: live table, no other user; freed once, by its own kind's free.
        unsafe { (self.free)(self.ptr.as_ptr()) };
    }
}

/// An `rte_fib` DIR-24-8 table with 4-byte entries and one writer.
pub struct RteFib {
    table: Table<sys::rte_fib>,
}

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
        let create = |name, max_routes| {
            let mut conf = sys::rte_fib_conf {
                type_: sys::RTE_FIB_DIR24_8,
                default_nh,
                max_routes,
                ..Default::default()
            };
            conf.__bindgen_anon_1.dir24_8.nh_sz = sys::RTE_FIB_DIR24_8_4B;
            conf.__bindgen_anon_1.dir24_8.num_tbl8 = tbl8s;
            // SAFETY: valid C string and config; EAL is initialised.
            unsafe { sys::rte_fib_create(name, sys::SOCKET_ID_ANY, &mut conf) }
        };
        let table = Table::create(
            eal,
            name,
            max_routes,
            "rte_fib_create",
            create,
            sys::rte_fib_free,
        )?;
        Ok(RteFib { table })
    }

    /// Adds `ip/depth` with next hop `next_hop`.
    pub fn add(&mut self, ip: u32, depth: u8, next_hop: u64) -> Result<()> {
        // SAFETY: live table, exclusive access.
        let r = unsafe { sys::rte_fib_add(self.table.as_ptr(), ip, depth, next_hop) };
        check("rte_fib_add", r).map(|_| ())
    }

    /// `rte_fib_lookup_bulk`: `hops[i]` for `ips[i]`, the default next hop where no route.
    pub fn lookup_bulk(&self, ips: &[u32], hops: &mut [u64]) {
        let n = ips.len().min(hops.len());
        // SAFETY: live table; both slices hold at least `n` elements; `ips` is only read
        // (the C prototype lacks `const`).
        unsafe {
            sys::rte_fib_lookup_bulk(
                self.table.as_ptr(),
                ips.as_ptr().cast_mut(),
                hops.as_mut_ptr(),
                n as i32,
            )
        };
    }
}
