//! Lockless rings carrying mbufs between lcores (`rte_ring`).

use std::cell::Cell;
use std::ffi::{c_void, CString};
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::eal::{Eal, EalToken};
use crate::error::{Error, Result};
use crate::mbuf::MbufBurst;
use crate::sys;

/// Producer/consumer modes of a ring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingFlags {
    /// Single producer (`RING_F_SP_ENQ`): only one [`RingProducer`] can exist.
    pub single_producer: bool,
    /// Single consumer (`RING_F_SC_DEQ`): only one [`RingConsumer`] can exist.
    pub single_consumer: bool,
}

impl RingFlags {
    /// The `rte_ring_create` flags.
    pub fn bits(self) -> u32 {
        let mut f = 0;
        if self.single_producer {
            f |= sys::RING_F_SP_ENQ;
        }
        if self.single_consumer {
            f |= sys::RING_F_SC_DEQ;
        }
        f
    }
}

#[derive(Debug)]
struct RingInner {
    ptr: NonNull<sys::rte_ring>,
    flags: RingFlags,
    producer_out: AtomicBool,
    consumer_out: AtomicBool,
    _eal: Arc<EalToken>,
}

// SAFETY: the ring is MT-safe for the modes it was created with; SP/SC exclusivity is
// enforced by handing out at most one producer/consumer handle.
unsafe impl Send for RingInner {}
// SAFETY: as above.
unsafe impl Sync for RingInner {}

impl Drop for RingInner {
    fn drop(&mut self) {
        let r = self.ptr.as_ptr();
        let mut b = MbufBurst::<64>::new();
        loop {
            // SAFETY: no handle is left, so we are the only user; the ring holds owned mbufs.
            let n = unsafe { dequeue_into(r, &mut b) };
            b.clear();
            if n == 0 {
                break;
            }
        }
        // SAFETY: the ring is empty and unused; freed once.
        unsafe { sys::rte_ring_free(r) };
    }
}

/// Dequeues into the spare slots of `b`.
///
/// # Safety
/// `r` must be a live ring holding only owned mbuf pointers, used by this thread as a
/// consumer in a way its flags allow.
#[inline]
unsafe fn dequeue_into<const N: usize>(r: *mut sys::rte_ring, b: &mut MbufBurst<N>) -> usize {
    // SAFETY: `spare()` writable slots at spare_ptr; dequeued mbufs become owned by `b`.
    unsafe {
        let n = sys::shim_rte_ring_dequeue_burst(
            r,
            b.spare_ptr().cast::<*mut c_void>(),
            b.spare() as u32,
            std::ptr::null_mut(),
        ) as usize;
        b.set_len(b.len() + n);
        n
    }
}

/// A ring of mbufs. Cheap to clone; packets still inside are freed when the last clone and
/// endpoint handle are gone.
#[derive(Debug, Clone)]
pub struct Ring {
    inner: Arc<RingInner>,
}

impl Ring {
    /// Creates a ring (`rte_ring_create`) of `count` slots (a power of two; it holds
    /// `count - 1` packets) on NUMA `socket` (-1 for any).
    pub fn create(
        eal: &Eal,
        name: &str,
        count: u32,
        flags: RingFlags,
        socket: i32,
    ) -> Result<Ring> {
        let c = CString::new(name).map_err(|_| Error::InvalidArg("ring name contains NUL"))?;
        // SAFETY: valid C string; EAL is initialised.
        let p = unsafe { sys::rte_ring_create(c.as_ptr(), count, socket, flags.bits()) };
        let ptr = NonNull::new(p).ok_or_else(|| Error::from_errno("rte_ring_create"))?;
        Ok(Ring {
            inner: Arc::new(RingInner {
                ptr,
                flags,
                producer_out: AtomicBool::new(false),
                consumer_out: AtomicBool::new(false),
                _eal: eal.token.clone(),
            }),
        })
    }

    /// A producer handle. For a single-producer ring only one may exist at a time
    /// ([`Error::Busy`] otherwise).
    pub fn producer(&self) -> Result<RingProducer> {
        if self.inner.flags.single_producer && self.inner.producer_out.swap(true, Ordering::AcqRel)
        {
            return Err(Error::Busy("ring producer"));
        }
        Ok(RingProducer {
            ring: self.inner.clone(),
            _not_sync: PhantomData,
        })
    }

    /// A consumer handle. For a single-consumer ring only one may exist at a time.
    pub fn consumer(&self) -> Result<RingConsumer> {
        if self.inner.flags.single_consumer && self.inner.consumer_out.swap(true, Ordering::AcqRel)
        {
            return Err(Error::Busy("ring consumer"));
        }
        Ok(RingConsumer {
            ring: self.inner.clone(),
            _not_sync: PhantomData,
        })
    }

    /// Number of packets in the ring.
    pub fn count(&self) -> u32 {
        // SAFETY: reads the head/tail indices of a live ring.
        unsafe { sys::shim_rte_ring_count(self.inner.ptr.as_ptr()) }
    }

    /// Usable capacity.
    pub fn capacity(&self) -> u32 {
        // SAFETY: reads an immutable field of a live ring.
        unsafe { (*self.inner.ptr.as_ptr()).capacity }
    }
}

/// Enqueue side of a [`Ring`]: `Send`, not `Sync`.
#[derive(Debug)]
pub struct RingProducer {
    ring: Arc<RingInner>,
    _not_sync: PhantomData<Cell<()>>,
}

impl RingProducer {
    /// Enqueues as many packets of `burst` as fit (`rte_ring_enqueue_burst`); they leave
    /// the burst, the rest stay. Returns how many were enqueued.
    #[inline]
    pub fn enqueue_burst<const N: usize>(&mut self, burst: &mut MbufBurst<N>) -> usize {
        if burst.is_empty() {
            return 0;
        }
        // SAFETY: the first len slots are owned mbufs; the n enqueued ones are now owned by
        // the ring. SP exclusivity is guaranteed by `Ring::producer`, and &mut self.
        let n = unsafe {
            sys::shim_rte_ring_enqueue_burst(
                self.ring.ptr.as_ptr(),
                burst.raw_ptr().cast::<*mut c_void>(),
                burst.len() as u32,
                std::ptr::null_mut(),
            )
        } as usize;
        burst.consume_front(n);
        n
    }
}

impl Drop for RingProducer {
    fn drop(&mut self) {
        if self.ring.flags.single_producer {
            self.ring.producer_out.store(false, Ordering::Release);
        }
    }
}

/// Dequeue side of a [`Ring`]: `Send`, not `Sync`.
#[derive(Debug)]
pub struct RingConsumer {
    ring: Arc<RingInner>,
    _not_sync: PhantomData<Cell<()>>,
}

impl RingConsumer {
    /// Dequeues up to `burst.spare()` packets (`rte_ring_dequeue_burst`), appending them to
    /// `burst`; returns how many.
    #[inline]
    pub fn dequeue_burst<const N: usize>(&mut self, burst: &mut MbufBurst<N>) -> usize {
        // SAFETY: the ring only ever holds owned mbufs (enqueued by RingProducer); SC
        // exclusivity is guaranteed by `Ring::consumer`, and &mut self.
        unsafe { dequeue_into(self.ring.ptr.as_ptr(), burst) }
    }
}

impl Drop for RingConsumer {
    fn drop(&mut self) {
        if self.ring.flags.single_consumer {
            self.ring.consumer_out.store(false, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_bits() {
        assert_eq!(RingFlags::default().bits(), 0);
        let f = RingFlags {
            single_producer: true,
            single_consumer: true,
        };
        assert_eq!(f.bits(), 3);
    }
}
