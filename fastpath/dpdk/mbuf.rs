//! Owned packet buffers ([`Mbuf`]) and allocation-free bursts of them ([`MbufBurst`]).
//!
//! The trivial accessors (`headroom`, `tailroom`, `prepend`, `append`, `adj`, `trim`, data
//! access) are re-implemented in Rust from DPDK 22.11's `static inline` versions so that they
//! inline; they are checked against the C originals (through `shim.c`) by the integration
//! test. Allocation and freeing go through the C shim.

use std::mem::{offset_of, size_of, ManuallyDrop};
use std::ptr::NonNull;
use std::slice;

use crate::sys;

// The Rust accessors below rely on this layout (checked against `offsetof` in C).
const _: () = {
    assert!(size_of::<sys::rte_mbuf>() == 128);
    assert!(offset_of!(sys::rte_mbuf, data_off) == 16);
    assert!(offset_of!(sys::rte_mbuf, port) == 22);
    assert!(offset_of!(sys::rte_mbuf, ol_flags) == 24);
    assert!(offset_of!(sys::rte_mbuf, pkt_len) == 36);
    assert!(offset_of!(sys::rte_mbuf, data_len) == 40);
    assert!(offset_of!(sys::rte_mbuf, buf_len) == 54);
    assert!(offset_of!(sys::rte_mbuf, next) == 64);
};

/// `RTE_MBUF_F_RX_RSS_HASH`: the RSS hash field is valid.
pub const RX_RSS_HASH: u64 = sys::RTE_MBUF_F_RX_RSS_HASH as u64;

/// An owned `rte_mbuf` (possibly a chain); freed with `rte_pktmbuf_free` on drop.
///
/// The data accessors work on the first segment ([`Mbuf::data`]); `append`/`trim` work on
/// the last one, as in DPDK. Mbufs handed out by this crate own their data buffer
/// exclusively (no `rte_pktmbuf_clone`), which is what makes [`Mbuf::data_mut`] sound.
#[repr(transparent)]
#[derive(Debug)]
pub struct Mbuf(NonNull<sys::rte_mbuf>);

// SAFETY: an Mbuf owns its buffer; mbufs may be freed on any thread (mempool put is MT-safe).
unsafe impl Send for Mbuf {}
// SAFETY: &Mbuf only allows reads.
unsafe impl Sync for Mbuf {}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: we own the mbuf (chain); it is freed exactly once.
        unsafe { sys::shim_rte_pktmbuf_free(self.0.as_ptr()) }
    }
}

impl Mbuf {
    /// Takes ownership of a raw mbuf; `None` if `p` is null.
    ///
    /// # Safety
    /// `p` must be null or a valid mbuf that nobody else owns or frees, whose data buffer is
    /// not shared (refcount 1, not indirect), and whose pool outlives it.
    #[inline]
    pub unsafe fn from_raw(p: *mut sys::rte_mbuf) -> Option<Mbuf> {
        NonNull::new(p).map(Mbuf)
    }

    /// Gives up ownership; the caller must free the mbuf (or hand it to DPDK).
    #[inline]
    pub fn into_raw(self) -> *mut sys::rte_mbuf {
        ManuallyDrop::new(self).0.as_ptr()
    }

    /// Raw pointer, for calls into [`crate::sys`].
    #[inline]
    pub fn as_ptr(&self) -> *mut sys::rte_mbuf {
        self.0.as_ptr()
    }

    #[inline(always)]
    fn raw(&self) -> &sys::rte_mbuf {
        // SAFETY: we own a valid mbuf.
        unsafe { self.0.as_ref() }
    }

    #[inline(always)]
    fn raw_mut(&mut self) -> &mut sys::rte_mbuf {
        // SAFETY: we own a valid mbuf and hold &mut self.
        unsafe { self.0.as_mut() }
    }

    /// The last segment of the chain (`rte_pktmbuf_lastseg`): the mbuf itself when `nb_segs`
    /// says it is alone, read from the mbuf's first cache line (`next` is on its second).
    #[inline(always)]
    fn last_seg(&mut self) -> *mut sys::rte_mbuf {
        let mut m = self.0.as_ptr();
        if self.is_contiguous() {
            return m;
        }
        // SAFETY: the chain is made of valid mbufs owned through self; `next` is null at the end.
        unsafe {
            while !(*m).next.is_null() {
                m = (*m).next;
            }
        }
        m
    }

    /// Pointer to the first data byte (`rte_pktmbuf_mtod`).
    #[inline(always)]
    pub fn data_ptr(&self) -> *mut u8 {
        let m = self.raw();
        // SAFETY: data_off < buf_len, inside the buffer.
        unsafe { m.buf_addr.cast::<u8>().add(m.data_off as usize) }
    }

    /// The data of the first segment.
    #[inline]
    pub fn data(&self) -> &[u8] {
        // SAFETY: [data_off, data_off + data_len) lies inside the buffer, which we own.
        unsafe { slice::from_raw_parts(self.data_ptr(), self.data_len() as usize) }
    }

    /// The data of the first segment, mutable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`; the buffer is not shared and we hold &mut self.
        unsafe { slice::from_raw_parts_mut(self.data_ptr(), self.data_len() as usize) }
    }

    /// Data length of the first segment.
    #[inline]
    pub fn data_len(&self) -> u16 {
        self.raw().data_len
    }

    /// Total packet length (all segments).
    #[inline]
    pub fn pkt_len(&self) -> u32 {
        self.raw().pkt_len
    }

    /// Number of segments.
    #[inline]
    pub fn nb_segs(&self) -> u16 {
        self.raw().nb_segs
    }

    /// Whether the packet is in one segment.
    #[inline]
    pub fn is_contiguous(&self) -> bool {
        self.nb_segs() == 1
    }

    /// Free bytes before the data (`rte_pktmbuf_headroom`).
    #[inline]
    pub fn headroom(&self) -> u16 {
        self.raw().data_off
    }

    /// Free bytes after the data of the first segment (`rte_pktmbuf_tailroom`).
    #[inline]
    pub fn tailroom(&self) -> u16 {
        let m = self.raw();
        m.buf_len.wrapping_sub(m.data_off).wrapping_sub(m.data_len)
    }

    /// Grows the data at the front by `len` bytes (`rte_pktmbuf_prepend`); returns the new
    /// first `len` bytes (uninitialised content), or `None` if the headroom is too small.
    #[inline]
    pub fn prepend(&mut self, len: u16) -> Option<&mut [u8]> {
        let m = self.raw_mut();
        if len > m.data_off {
            return None;
        }
        m.data_off -= len;
        m.data_len += len;
        m.pkt_len += u32::from(len);
        // SAFETY: the new region [data_off, data_off + len) is inside our buffer.
        Some(unsafe { slice::from_raw_parts_mut(self.data_ptr(), len as usize) })
    }

    /// Grows the data at the end of the last segment by `len` bytes (`rte_pktmbuf_append`);
    /// returns the new `len` bytes, or `None` if the tailroom is too small.
    #[inline]
    pub fn append(&mut self, len: u16) -> Option<&mut [u8]> {
        let last = self.last_seg();
        // SAFETY: `last` is a valid segment of our chain; no other reference to it is live.
        let tail = unsafe {
            let l = &mut *last;
            if len > l.buf_len.wrapping_sub(l.data_off).wrapping_sub(l.data_len) {
                return None;
            }
            let tail = l
                .buf_addr
                .cast::<u8>()
                .add((l.data_off + l.data_len) as usize);
            l.data_len += len;
            tail
        };
        self.raw_mut().pkt_len += u32::from(len);
        // SAFETY: [tail, tail + len) was tailroom of our buffer and is now data.
        Some(unsafe { slice::from_raw_parts_mut(tail, len as usize) })
    }

    /// Removes `len` bytes from the front (`rte_pktmbuf_adj`); false if the first segment
    /// holds fewer than `len` bytes.
    #[inline]
    pub fn adj(&mut self, len: u16) -> bool {
        let m = self.raw_mut();
        if len > m.data_len {
            return false;
        }
        m.data_len -= len;
        m.data_off += len;
        m.pkt_len -= u32::from(len);
        true
    }

    /// Removes `len` bytes from the end of the last segment (`rte_pktmbuf_trim`); false if it
    /// holds fewer than `len` bytes. Trimming nothing, the common case of a packet without
    /// padding after its IP datagram, reads and writes nothing.
    #[inline]
    pub fn trim(&mut self, len: u16) -> bool {
        if len == 0 {
            return true;
        }
        let last = self.last_seg();
        // SAFETY: `last` is a valid segment of our chain; no other reference to it is live.
        unsafe {
            if len > (*last).data_len {
                return false;
            }
            (*last).data_len -= len;
        }
        self.raw_mut().pkt_len -= u32::from(len);
        true
    }

    /// Keeps the `len` bytes at `at` and drops the rest (`adj` of `at` and `trim` of the
    /// tail); false (and no change) if the packet is shorter than `at + len`. One segment,
    /// the common case: its three fields written once each, none read back.
    #[inline]
    pub fn keep(&mut self, at: u16, len: u16) -> bool {
        let total = u32::from(at) + u32::from(len);
        if !self.is_contiguous() {
            let Some(tail) = self.pkt_len().checked_sub(total) else {
                return false;
            };
            return u16::try_from(tail).is_ok_and(|t| self.trim(t)) && self.adj(at);
        }
        let m = self.raw_mut();
        if total > u32::from(m.data_len) {
            return false;
        }
        m.data_off += at;
        m.data_len = len;
        m.pkt_len = u32::from(len);
        true
    }

    /// Offload flags (`RTE_MBUF_F_*`).
    #[inline]
    pub fn ol_flags(&self) -> u64 {
        self.raw().ol_flags
    }

    /// Sets the offload flags.
    #[inline]
    pub fn set_ol_flags(&mut self, flags: u64) {
        self.raw_mut().ol_flags = flags;
    }

    /// Input port (set by RX).
    #[inline]
    pub fn port(&self) -> u16 {
        self.raw().port
    }

    /// Sets the port field.
    #[inline]
    pub fn set_port(&mut self, port: u16) {
        self.raw_mut().port = port;
    }

    /// The RSS hash if the NIC provided one (`RTE_MBUF_F_RX_RSS_HASH`).
    #[inline]
    pub fn rss_hash(&self) -> Option<u32> {
        let m = self.raw();
        if m.ol_flags & RX_RSS_HASH == 0 {
            return None;
        }
        // SAFETY: every variant of the hash union is plain integers; reading `rss` is valid.
        Some(unsafe { m.__bindgen_anon_2.hash.rss })
    }

    /// Packet type (`RTE_PTYPE_*`), as classified by the NIC (0 = unknown).
    #[inline]
    pub fn packet_type(&self) -> u32 {
        // SAFETY: the union is a u32 or bitfields over it; reading the u32 is valid.
        unsafe { self.raw().__bindgen_anon_1.packet_type }
    }

    /// Sets the packet type.
    #[inline]
    pub fn set_packet_type(&mut self, ptype: u32) {
        self.raw_mut().__bindgen_anon_1.packet_type = ptype;
    }
}

/// A fixed-capacity burst of owned mbufs stored as `[*mut rte_mbuf; N]`, the layout
/// `rte_eth_rx_burst`/`tx_burst` and the rings use; no per-packet allocation. Packets still
/// in the burst are freed on drop. `N` must not exceed `u16::MAX`.
pub struct MbufBurst<const N: usize> {
    ptrs: [*mut sys::rte_mbuf; N],
    len: usize,
}

// SAFETY: the burst owns its mbufs, which are Send.
unsafe impl<const N: usize> Send for MbufBurst<N> {}

impl<const N: usize> Default for MbufBurst<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> std::fmt::Debug for MbufBurst<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MbufBurst")
            .field("len", &self.len)
            .field("capacity", &N)
            .finish()
    }
}

impl<const N: usize> MbufBurst<N> {
    const CHECK: () = assert!(N <= u16::MAX as usize, "MbufBurst capacity must fit in u16");

    /// An empty burst.
    #[inline]
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CHECK;
        MbufBurst {
            ptrs: [std::ptr::null_mut(); N],
            len: 0,
        }
    }

    /// Number of packets held.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the burst is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the burst is full.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len == N
    }

    /// Capacity `N`.
    #[inline]
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Adds a packet at the end; gives it back if the burst is full.
    #[inline]
    pub fn push(&mut self, m: Mbuf) -> Result<(), Mbuf> {
        if self.len == N {
            return Err(m);
        }
        self.ptrs[self.len] = m.into_raw();
        self.len += 1;
        Ok(())
    }

    /// Removes the last packet.
    #[inline]
    pub fn pop(&mut self) -> Option<Mbuf> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        // SAFETY: slots below the old len hold owned, valid mbufs; ownership moves out.
        unsafe { Mbuf::from_raw(self.ptrs[self.len]) }
    }

    /// The packets as a slice.
    #[inline]
    pub fn as_slice(&self) -> &[Mbuf] {
        // SAFETY: Mbuf is repr(transparent) over NonNull<rte_mbuf>, which has the layout of
        // *mut rte_mbuf; the first `len` slots are non-null owned mbufs.
        unsafe { slice::from_raw_parts(self.ptrs.as_ptr().cast::<Mbuf>(), self.len) }
    }

    /// The packets as a mutable slice.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [Mbuf] {
        // SAFETY: as in `as_slice`; writing a Mbuf into a slot keeps it non-null and owned.
        unsafe { slice::from_raw_parts_mut(self.ptrs.as_mut_ptr().cast::<Mbuf>(), self.len) }
    }

    /// Frees all packets (`rte_pktmbuf_free_bulk`).
    #[inline]
    pub fn clear(&mut self) {
        if self.len > 0 {
            // SAFETY: the first `len` slots are owned mbufs, freed once; len is reset.
            unsafe { sys::rte_pktmbuf_free_bulk(self.ptrs.as_mut_ptr(), self.len as u32) };
            self.len = 0;
        }
    }

    /// Keeps the packets for which `keep` returns true (order preserved); frees the others.
    pub fn retain(&mut self, mut keep: impl FnMut(&mut Mbuf) -> bool) {
        let mut w = 0;
        for r in 0..self.len {
            // SAFETY: slot r < len holds an owned mbuf; we take it out of the array.
            let mut m = unsafe { Mbuf(NonNull::new_unchecked(self.ptrs[r])) };
            if keep(&mut m) {
                self.ptrs[w] = m.into_raw();
                w += 1;
            }
        }
        self.len = w;
    }

    /// Moves all packets out, leaving the burst empty. Packets not consumed by the returned
    /// iterator are freed when it is dropped.
    #[inline]
    pub fn take_all(&mut self) -> IntoIter<N> {
        let it = IntoIter {
            ptrs: self.ptrs,
            pos: 0,
            len: self.len,
        };
        self.len = 0;
        it
    }

    /// Pointer to the first free slot (for DPDK calls that fill the burst).
    #[inline]
    pub(crate) fn spare_ptr(&mut self) -> *mut *mut sys::rte_mbuf {
        // SAFETY: len <= N, so the result is in bounds or one past the end.
        unsafe { self.ptrs.as_mut_ptr().add(self.len) }
    }

    /// Number of free slots.
    #[inline]
    pub fn spare(&self) -> usize {
        N - self.len
    }

    /// Pointer to the packets (for DPDK calls that consume the burst).
    #[inline]
    pub(crate) fn raw_ptr(&mut self) -> *mut *mut sys::rte_mbuf {
        self.ptrs.as_mut_ptr()
    }

    /// Sets the length after DPDK wrote mbufs into the spare slots.
    ///
    /// # Safety
    /// Slots `[0, len)` must hold owned, valid mbufs.
    #[inline]
    pub(crate) unsafe fn set_len(&mut self, len: usize) {
        debug_assert!(len <= N);
        self.len = len;
    }

    /// Forgets the first `n` packets (DPDK took them) and moves the rest to the front.
    #[inline]
    pub(crate) fn consume_front(&mut self, n: usize) {
        debug_assert!(n <= self.len);
        self.ptrs.copy_within(n..self.len, 0);
        self.len -= n;
    }
}

impl<const N: usize> Drop for MbufBurst<N> {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Owning iterator returned by [`MbufBurst::take_all`].
pub struct IntoIter<const N: usize> {
    ptrs: [*mut sys::rte_mbuf; N],
    pos: usize,
    len: usize,
}

// SAFETY: owns its mbufs, which are Send.
unsafe impl<const N: usize> Send for IntoIter<N> {}

impl<const N: usize> Iterator for IntoIter<N> {
    type Item = Mbuf;

    #[inline]
    fn next(&mut self) -> Option<Mbuf> {
        if self.pos == self.len {
            return None;
        }
        self.pos += 1;
        // SAFETY: slots [pos, len) hold owned mbufs; each is moved out once.
        unsafe { Mbuf::from_raw(self.ptrs[self.pos - 1]) }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len - self.pos, Some(self.len - self.pos))
    }
}

impl<const N: usize> ExactSizeIterator for IntoIter<N> {}

impl<const N: usize> Drop for IntoIter<N> {
    fn drop(&mut self) {
        let rest = self.len - self.pos;
        if rest > 0 {
            // SAFETY: the remaining slots are owned mbufs, freed once.
            unsafe {
                sys::rte_pktmbuf_free_bulk(self.ptrs.as_mut_ptr().add(self.pos), rest as u32)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake single-segment mbuf over a heap buffer (never freed through DPDK).
    fn fake(buf: &mut [u8], off: u16, len: u16) -> sys::rte_mbuf {
        sys::rte_mbuf {
            buf_addr: buf.as_mut_ptr().cast(),
            buf_len: buf.len() as u16,
            data_off: off,
            data_len: len,
            pkt_len: len as u32,
            nb_segs: 1,
            ..Default::default()
        }
    }

    #[test]
    fn accessors_on_fake_mbuf() {
        let mut buf = vec![0u8; 256];
        let mut raw = fake(&mut buf, 128, 10);
        // SAFETY: `raw` is a valid single-segment mbuf; ManuallyDrop avoids rte_pktmbuf_free.
        let mut m = ManuallyDrop::new(unsafe { Mbuf::from_raw(&mut raw).unwrap() });
        assert_eq!((m.headroom(), m.tailroom(), m.data_len()), (128, 118, 10));
        assert!(m.prepend(129).is_none());
        m.prepend(8).unwrap().copy_from_slice(&[1; 8]);
        assert_eq!((m.headroom(), m.data_len(), m.pkt_len()), (120, 18, 18));
        assert!(m.append(119).is_none());
        m.append(118).unwrap().fill(2);
        assert_eq!((m.tailroom(), m.pkt_len()), (0, 136));
        assert!(!m.adj(137));
        assert!(m.adj(8));
        assert!(!m.trim(129));
        assert!(m.trim(118));
        assert_eq!(
            (m.headroom(), m.data_len(), m.pkt_len(), m.tailroom()),
            (128, 10, 10, 118)
        );
        assert_eq!(m.data(), &[0u8; 10]);
        m.data_mut()[0] = 7;
        assert_eq!(buf[128], 7);
        assert_eq!(m.rss_hash(), None);
    }

    #[test]
    fn keep_is_adj_and_trim_in_one() {
        let mut buf = vec![0u8; 256];
        let mut raw = fake(&mut buf, 64, 100);
        // SAFETY: `raw` is a valid single-segment mbuf; ManuallyDrop avoids rte_pktmbuf_free.
        let mut m = ManuallyDrop::new(unsafe { Mbuf::from_raw(&mut raw).unwrap() });
        m.data_mut()[30] = 9;
        assert!(!m.keep(30, 71));
        assert!(!m.keep(101, 0));
        assert_eq!((m.headroom(), m.data_len(), m.pkt_len()), (64, 100, 100));
        assert!(m.keep(30, 70));
        assert_eq!((m.headroom(), m.data_len(), m.pkt_len()), (94, 70, 70));
        assert_eq!(m.data()[0], 9);
        assert!(m.keep(0, 10));
        assert_eq!(
            (m.headroom(), m.data_len(), m.pkt_len(), m.tailroom()),
            (94, 10, 10, 152)
        );
        assert!(m.keep(10, 0));
        assert_eq!((m.headroom(), m.pkt_len()), (104, 0));
    }

    #[test]
    fn empty_burst() {
        let mut b = MbufBurst::<4>::new();
        assert!(b.is_empty() && !b.is_full());
        assert_eq!((b.capacity(), b.spare()), (4, 4));
        assert!(b.pop().is_none());
        assert_eq!(b.take_all().count(), 0);
        b.retain(|_| true);
        b.clear();
    }
}
