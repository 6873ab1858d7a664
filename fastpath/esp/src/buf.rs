//! A packet buffer with headroom and tailroom: the operations ESP needs of an mbuf
//! (`rte_pktmbuf_prepend`, `_append`, `_adj`, `_trim`), so the core never sees DPDK.

/// The contiguous bytes of one packet, with room to grow at both ends.
pub trait PacketBuf {
    /// The packet's bytes.
    fn data(&self) -> &[u8];
    /// The packet's bytes, writable.
    fn data_mut(&mut self) -> &mut [u8];
    /// Grows the packet by `len` bytes at the front; `false` (and no change) if the headroom is short.
    fn prepend(&mut self, len: usize) -> bool;
    /// Grows the packet by `len` bytes at the back; `false` (and no change) if the tailroom is short.
    fn append(&mut self, len: usize) -> bool;
    /// Removes `len` bytes from the front; `false` (and no change) if the packet is shorter.
    fn adj(&mut self, len: usize) -> bool;
    /// Removes `len` bytes from the back; `false` (and no change) if the packet is shorter.
    fn trim(&mut self, len: usize) -> bool;
    /// Keeps the `len` bytes at `at` and drops the rest: `adj(at)` and a trim of what follows
    /// them, in one. `false` (and no change) if the packet is shorter than `at + len`.
    fn keep(&mut self, at: usize, len: usize) -> bool {
        match self.len().checked_sub(at + len) {
            Some(tail) => self.trim(tail) && self.adj(at),
            None => false,
        }
    }
    /// The packet's length.
    fn len(&self) -> usize {
        self.data().len()
    }
    /// Whether the packet has no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A heap-backed [`PacketBuf`] for tests, tools and benchmarks.
#[derive(Clone, Debug)]
pub struct VecBuf {
    storage: Vec<u8>,
    start: usize,
    end: usize,
}

impl VecBuf {
    /// A buffer holding `packet`, with `headroom` bytes free in front and `tailroom` behind.
    pub fn new(packet: &[u8], headroom: usize, tailroom: usize) -> Self {
        let mut storage = vec![0u8; headroom + packet.len() + tailroom];
        storage[headroom..headroom + packet.len()].copy_from_slice(packet);
        VecBuf {
            storage,
            start: headroom,
            end: headroom + packet.len(),
        }
    }

    /// Refills the buffer with `packet`, keeping the allocation (benchmarks reuse buffers).
    pub fn reset(&mut self, packet: &[u8], headroom: usize) -> bool {
        if headroom + packet.len() > self.storage.len() {
            return false;
        }
        self.start = headroom;
        self.end = headroom + packet.len();
        self.storage[self.start..self.end].copy_from_slice(packet);
        true
    }

    /// Free bytes in front of the packet.
    pub fn headroom(&self) -> usize {
        self.start
    }

    /// Free bytes behind the packet.
    pub fn tailroom(&self) -> usize {
        self.storage.len() - self.end
    }
}

impl PacketBuf for VecBuf {
    fn data(&self) -> &[u8] {
        &self.storage[self.start..self.end]
    }
    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.end]
    }
    fn prepend(&mut self, len: usize) -> bool {
        if len > self.start {
            return false;
        }
        self.start -= len;
        true
    }
    fn append(&mut self, len: usize) -> bool {
        if len > self.tailroom() {
            return false;
        }
        self.end += len;
        true
    }
    fn adj(&mut self, len: usize) -> bool {
        if len > self.end - self.start {
            return false;
        }
        self.start += len;
        true
    }
    fn trim(&mut self, len: usize) -> bool {
        if len > self.end - self.start {
            return false;
        }
        self.end -= len;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_shrinks_within_bounds() {
        let mut b = VecBuf::new(&[1, 2, 3], 2, 1);
        assert!(!b.prepend(3));
        assert!(b.prepend(2));
        assert_eq!(b.data(), &[0, 0, 1, 2, 3]);
        assert!(b.append(1));
        assert!(!b.append(1));
        assert!(b.adj(2));
        assert!(b.trim(1));
        assert_eq!(b.data(), &[1, 2, 3]);
        assert!(!b.adj(4));
        assert!(!b.trim(4));
        assert_eq!(b.len(), 3);
    }

    #[test]
    fn keep_leaves_the_bytes_asked_for_or_nothing_changed() {
        let mut b = VecBuf::new(&[1, 2, 3, 4, 5], 0, 0);
        assert!(!b.keep(2, 4));
        assert_eq!(b.data(), &[1, 2, 3, 4, 5]);
        assert!(b.keep(1, 3));
        assert_eq!(b.data(), &[2, 3, 4]);
        assert!(b.keep(3, 0));
        assert!(b.is_empty());
    }
}
