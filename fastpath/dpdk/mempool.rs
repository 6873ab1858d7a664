//! Packet mbuf pools (`rte_pktmbuf_pool_create`).

use std::ffi::{c_int, CString};
use std::ptr::NonNull;
use std::sync::Arc;

use crate::eal::{pin_memory, Eal, EalToken};
use crate::error::{Error, Result};
use crate::mbuf::{Mbuf, MbufBurst};
use crate::sys;

/// `SOCKET_ID_ANY`: let DPDK choose the NUMA socket.
pub const SOCKET_ID_ANY: i32 = -1;

#[derive(Debug)]
struct PoolInner {
    ptr: NonNull<sys::rte_mempool>,
    _eal: Arc<EalToken>,
}

// SAFETY: rte_mempool get/put with the default (ring_mp_mc) ops are thread-safe; the pointer
// stays valid as long as PoolInner lives.
unsafe impl Send for PoolInner {}
// SAFETY: as above; all methods only call thread-safe mempool functions.
unsafe impl Sync for PoolInner {}

impl Drop for PoolInner {
    fn drop(&mut self) {
        let p = self.ptr.as_ptr();
        // SAFETY: p is a live mempool; rte_mempool_avail_count only reads it.
        let (avail, size) = unsafe { (sys::rte_mempool_avail_count(p), (*p).size) };
        if avail == size {
            // SAFETY: every element is back in the pool, so no Mbuf (or queue/ring) refers to
            // it any more; the pool is freed exactly once.
            unsafe { sys::rte_mempool_free(p) };
        } else {
            // Mbufs are still out (in Mbuf handles, rings or device queues): keep the memory.
            pin_memory();
        }
    }
}

/// A pool of packet mbufs. Cheap to clone (reference counted); the pool is freed when the
/// last clone is dropped and all of its mbufs are back, otherwise it is leaked.
#[derive(Debug, Clone)]
pub struct Mempool {
    inner: Arc<PoolInner>,
}

impl Mempool {
    /// Creates a pool of `n` mbufs (`rte_pktmbuf_pool_create`) with a per-lcore cache of
    /// `cache` entries, `data_room` bytes of buffer per mbuf (headroom included, e.g.
    /// `RTE_MBUF_DEFAULT_BUF_SIZE` = 2176), on NUMA `socket` ([`SOCKET_ID_ANY`] for any).
    pub fn pktmbuf(
        eal: &Eal,
        name: &str,
        n: u32,
        cache: u32,
        data_room: u16,
        socket: i32,
    ) -> Result<Mempool> {
        let cname =
            CString::new(name).map_err(|_| Error::InvalidArg("mempool name contains NUL"))?;
        // SAFETY: cname is a valid C string; EAL is initialised (we hold &Eal).
        let p = unsafe {
            sys::rte_pktmbuf_pool_create(cname.as_ptr(), n, cache, 0, data_room, socket as c_int)
        };
        let ptr = NonNull::new(p).ok_or_else(|| Error::from_errno("rte_pktmbuf_pool_create"))?;
        Ok(Mempool {
            inner: Arc::new(PoolInner {
                ptr,
                _eal: eal.token.clone(),
            }),
        })
    }

    /// Allocates one mbuf (`rte_pktmbuf_alloc`): reset, data offset = headroom, length 0.
    #[inline]
    pub fn alloc(&self) -> Option<Mbuf> {
        // SAFETY: the pool is live; a non-null result is a fresh mbuf we now own.
        unsafe { Mbuf::from_raw(sys::shim_rte_pktmbuf_alloc(self.as_ptr())) }
    }

    /// Fills `burst` up to `n` packets in total (or its capacity) with fresh mbufs
    /// (`rte_pktmbuf_alloc_bulk`, all or nothing). Returns false if the pool ran short.
    #[inline]
    pub fn alloc_bulk<const N: usize>(&self, burst: &mut MbufBurst<N>, n: usize) -> bool {
        let want = n.min(N).saturating_sub(burst.len());
        if want == 0 {
            return true;
        }
        // SAFETY: spare_ptr points at `N - len >= want` writable slots; on success DPDK wrote
        // `want` valid mbuf pointers there, which the burst now owns.
        unsafe {
            let ret =
                sys::shim_rte_pktmbuf_alloc_bulk(self.as_ptr(), burst.spare_ptr(), want as u32);
            if ret != 0 {
                return false;
            }
            burst.set_len(burst.len() + want);
        }
        true
    }

    /// Number of mbufs currently in the pool (caches included).
    pub fn avail_count(&self) -> u32 {
        // SAFETY: the pool is live.
        unsafe { sys::rte_mempool_avail_count(self.as_ptr()) }
    }

    /// Number of mbufs currently allocated from the pool.
    pub fn in_use_count(&self) -> u32 {
        // SAFETY: the pool is live.
        unsafe { sys::rte_mempool_in_use_count(self.as_ptr()) }
    }

    /// Total number of mbufs in the pool.
    pub fn size(&self) -> u32 {
        // SAFETY: the pool is live; `size` is immutable after creation.
        unsafe { (*self.as_ptr()).size }
    }

    /// Raw pointer, for calls into [`crate::sys`].
    #[inline]
    pub fn as_ptr(&self) -> *mut sys::rte_mempool {
        self.inner.ptr.as_ptr()
    }
}
