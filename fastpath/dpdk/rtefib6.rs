//! DPDK's IPv6 FIB (`rte_fib6`, a trie of 16-bit then 8-bit strides over an `rte_rib6` tree
//! for updates): the yardstick for the FIB's own IPv6 lookups, as `rtefib` is for IPv4.

use crate::eal::Eal;
use crate::error::{check, Result};
use crate::rtefib::Table;
use crate::sys;

/// An `rte_fib6` trie with 4-byte entries and one writer.
pub struct RteFib6 {
    table: Table<sys::rte_fib6>,
}

impl RteFib6 {
    /// Creates a table (`rte_fib6_create`) for `max_routes` prefixes and `tbl8s` groups past
    /// the first 24 bits; `default_nh` (below 2^31) is what a lookup without a route returns.
    pub fn create(
        eal: &Eal,
        name: &str,
        max_routes: u32,
        tbl8s: u32,
        default_nh: u64,
    ) -> Result<RteFib6> {
        let create = |name, max_routes| {
            let mut conf = sys::rte_fib6_conf {
                type_: sys::RTE_FIB6_TRIE,
                default_nh,
                max_routes,
                ..Default::default()
            };
            conf.__bindgen_anon_1.trie.nh_sz = sys::RTE_FIB6_TRIE_4B;
            conf.__bindgen_anon_1.trie.num_tbl8 = tbl8s;
            // SAFETY: valid C string and config; EAL is initialised.
            unsafe { sys::rte_fib6_create(name, sys::SOCKET_ID_ANY, &mut conf) }
        };
        let free = sys::rte_fib6_free;
        let table = Table::create(eal, name, max_routes, "rte_fib6_create", create, free)?;
        Ok(RteFib6 { table })
    }

    /// Adds `ip/depth` (network byte order) with next hop `next_hop`.
    pub fn add(&mut self, ip: &[u8; 16], depth: u8, next_hop: u64) -> Result<()> {
        // SAFETY: live table, exclusive access; `ip` is 16 bytes, only read.
        let r = unsafe { sys::rte_fib6_add(self.table.as_ptr(), ip.as_ptr(), depth, next_hop) };
        check("rte_fib6_add", r).map(|_| ())
    }

    /// `rte_fib6_lookup_bulk`: `hops[i]` for `ips[i]` (network byte order), the default next
    /// hop where no route.
    pub fn lookup_bulk(&self, ips: &[[u8; 16]], hops: &mut [u64]) {
        let n = ips.len().min(hops.len());
        // SAFETY: live table; both slices hold at least `n` elements; `ips` is only read
        // (the C prototype lacks `const`).
        unsafe {
            sys::rte_fib6_lookup_bulk(
                self.table.as_ptr(),
                ips.as_ptr().cast_mut(),
                hops.as_mut_ptr(),
                n as i32,
            )
        };
    }
}
