//! The inbound anti-replay window (RFC 4303 section 3.4.3) and the reconstruction of extended
//! sequence numbers (RFC 4303 Appendix A2.1).
//!
//! The window is kept as in RFC 6479, a ring of 64-bit blocks that is never shifted, with one
//! difference: moving the right edge clears the bits of the sequence numbers it passes, not
//! whole blocks, so the ring needs no block beyond the window (RFC 6479's extra block is there
//! only so that whole blocks can be zeroed). A 1024-packet window is then 16 blocks, 128 bytes,
//! and windows up to [`INLINE_WINDOW`] keep them inline, on their SA's own lines.
//! The bits of the 32 numbers around the top (its group) live in the window's head, beside
//! the top, and reach the ring only when the top moves to another group: a packet in order
//! reads and writes no line of the ring but once every 32 packets.
//! Every sequence number here is the full 64-bit one; with ESN off the high half is simply 0.
//!
//! Per packet: [`esn_reconstruct`] (if ESN), [`ReplayWindow::check`] before the ICV is verified
//! (cheap drop of replays), then [`ReplayWindow::update`] once the ICV checked out, so that a
//! forged packet can never move the window.

use thiserror::Error;

/// Why a received sequence number is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ReplayError {
    /// The sequence number is inside the window and was already received.
    #[error("replayed ESP sequence number (already received)")]
    Duplicate,
    /// The sequence number is left of the window (or is 0, which is never sent).
    #[error("ESP sequence number left of the anti-replay window")]
    TooOld,
}

/// How many of the newest sequence numbers a [`WindowSnapshot`] carries exactly.
pub const SNAPSHOT_BITS: usize = 256;
const SNAPSHOT_WORDS: usize = SNAPSHOT_BITS / 64;

/// The smallest window accepted by [`ReplayWindow::new`] (RFC 4303: a receiver MUST support 32).
pub const MIN_WINDOW: u32 = 32;
/// The largest window accepted by [`ReplayWindow::new`].
pub const MAX_WINDOW: u32 = 65536;
/// The largest window whose ring is inline (the default window, 1024, and all below); larger
/// ones are an allocation of their own, one more page per SA for a packet to touch.
pub const INLINE_WINDOW: u32 = 1024;
const INLINE_BLOCKS: usize = INLINE_WINDOW as usize / 64;

/// The right edge of a window and the state of its 256 newest sequence numbers, for HA sync.
///
/// Bit `i` (bit `i % 64` of `bits[i / 64]`) set means that sequence number `top - i` was
/// received; bit 0 is `top` itself. Bits naming sequence numbers below 1 or outside the
/// sender's window are 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct WindowSnapshot {
    /// The highest authenticated sequence number (0: none yet).
    pub top: u64,
    /// The received bits, newest first.
    pub bits: [u64; SNAPSHOT_WORDS],
}

impl WindowSnapshot {
    /// Whether the snapshot says that `top - i` was received (`false` for `i >= SNAPSHOT_BITS`).
    pub fn received(&self, i: usize) -> bool {
        i < SNAPSHOT_BITS && (self.bits[i / 64] >> (i % 64)) & 1 == 1
    }
}

/// The anti-replay window of one inbound SA.
///
/// `repr(C)`: the top, size, mask and the top's group come first (what every packet reads,
/// 16 bytes), then the inline ring on lines of its own (read by a packet out of order, and
/// written when the top moves to another group).
#[derive(Debug, Clone)]
#[repr(C)]
pub struct ReplayWindow {
    /// Highest authenticated sequence number, 0 if none yet.
    top: u64,
    /// Window size in blocks of 64 packets, 0 when anti-replay is disabled (at most 1024).
    blocks: u16,
    /// The ring's length in blocks minus one; the length is a power of two so that indexing is
    /// a mask.
    mask: u16,
    /// The top's group (the 32 numbers `top & !31 ..`): bit `seq % 32` set when `seq` was
    /// received; none above the top. Its half of the ring's block is stale.
    group: u32,
    /// The ring of a window of up to [`INLINE_WINDOW`] packets: bit `seq % 64` of block
    /// `(seq / 64) & mask` is set when `seq` was received, for the ring's last
    /// `64 * (mask + 1)` sequence numbers up to the top, but for the top's group.
    inline: [u64; INLINE_BLOCKS],
    /// The ring of a larger window (empty otherwise, and with anti-replay disabled).
    spill: Box<[u64]>,
}

/// Windows are equal when they are of one size and accept the same numbers: the ring's stale
/// bits (above the top, and the top's group's half) do not count.
impl PartialEq for ReplayWindow {
    fn eq(&self, other: &Self) -> bool {
        self.top == other.top
            && self.blocks == other.blocks
            && self.mask == other.mask
            && (self.top.saturating_sub(u64::from(self.size()))..=self.top)
                .all(|seq| self.check(seq) == other.check(seq))
    }
}

impl Eq for ReplayWindow {}

impl ReplayWindow {
    /// Where the inline ring starts in the window, for the SA's layout.
    pub(crate) const RING_AT: usize = std::mem::offset_of!(ReplayWindow, inline);

    /// A window of `size` packets: 0 disables anti-replay (everything passes, the top is still
    /// tracked for ESN); otherwise `MIN_WINDOW..=MAX_WINDOW`, rounded up to a multiple of 64.
    /// Any other size is refused with `None`.
    pub fn new(size: u32) -> Option<ReplayWindow> {
        if size != 0 && !(MIN_WINDOW..=MAX_WINDOW).contains(&size) {
            return None;
        }
        let size = size.div_ceil(64) * 64;
        // As many blocks as the window, rounded up to a power of two.
        let blocks = (size as usize / 64).next_power_of_two();
        let spill = if blocks > INLINE_BLOCKS {
            vec![0; blocks].into_boxed_slice()
        } else {
            Box::default()
        };
        Some(ReplayWindow {
            top: 0,
            blocks: (size / 64) as u16,
            mask: (blocks - 1) as u16,
            group: 0,
            inline: [0; INLINE_BLOCKS],
            spill,
        })
    }

    /// The ring's blocks, inline or not.
    #[cfg(test)]
    fn ring(&self) -> &[u64] {
        if self.spill.is_empty() {
            &self.inline[..=self.mask as usize]
        } else {
            &self.spill
        }
    }

    #[inline(always)]
    fn ring_mut(&mut self) -> &mut [u64] {
        if self.spill.is_empty() {
            &mut self.inline[..=self.mask as usize]
        } else {
            &mut self.spill
        }
    }

    /// The window size in packets after rounding (0: anti-replay disabled).
    #[inline(always)]
    pub fn size(&self) -> u32 {
        u32::from(self.blocks) * 64
    }

    /// The highest authenticated sequence number (full 64 bits); 0 if none yet.
    pub fn top(&self) -> u64 {
        self.top
    }

    /// Whether `seq` may be accepted, without changing anything: call it before verifying the
    /// ICV. Sequence number 0 is never valid.
    #[inline]
    pub fn check(&self, seq: u64) -> Result<(), ReplayError> {
        if seq == 0 {
            return Err(ReplayError::TooOld);
        }
        if self.blocks == 0 || seq > self.top {
            return Ok(());
        }
        if self.top - seq >= u64::from(self.size()) {
            return Err(ReplayError::TooOld);
        }
        if self.is_set(seq) {
            Err(ReplayError::Duplicate)
        } else {
            Ok(())
        }
    }

    /// Marks `seq` as received once its ICV checked out. Checks again, since another packet
    /// with the same number may have been accepted between `check` and here.
    #[inline]
    pub fn update(&mut self, seq: u64) -> Result<(), ReplayError> {
        if self.blocks != 0 && seq > self.top && same_group(seq, self.top) {
            // In order, the common case (nothing to check above the top, and no bit set above
            // it in the group): one bit in the head, inline in the caller.
            self.group |= 1 << (seq & 31);
            self.top = seq;
            return Ok(());
        }
        self.update_other(seq)
    }

    /// [`ReplayWindow::update`] of anything but an in-order number: out of line, so that the
    /// caller's common case does not pay for its registers.
    #[inline(never)]
    fn update_other(&mut self, seq: u64) -> Result<(), ReplayError> {
        self.check(seq)?;
        if seq > self.top {
            self.advance(seq);
        }
        if self.blocks != 0 {
            self.set(seq);
        }
        Ok(())
    }

    /// The top and its 256 newest bits, for syncing to an HA standby.
    pub fn snapshot(&self) -> WindowSnapshot {
        let mut snap = WindowSnapshot {
            top: self.top,
            bits: [0; SNAPSHOT_WORDS],
        };
        let span = SNAPSHOT_BITS.min(self.size() as usize);
        for i in 0..span {
            // Sequence numbers start at 1.
            if i as u64 >= self.top {
                break;
            }
            if self.is_set(self.top - i as u64) {
                snap.bits[i / 64] |= 1 << (i % 64);
            }
        }
        snap
    }

    /// Rebuilds the window from a snapshot (HA standby activation): the top is `snap.top`, the
    /// 256 newest bits come from `snap`, and everything older inside the window counts as
    /// received, since the snapshot does not say: a few valid packets may be dropped, a replay
    /// is never accepted.
    pub fn restore(&mut self, snap: &WindowSnapshot) {
        self.ring_mut().fill(0);
        self.top = snap.top;
        self.group = 0;
        self.absorb(snap);
    }

    /// Raises the window to at least `snap` (a standby applying a sync record): the top becomes
    /// the higher of the two, and a sequence number is refused afterwards if this window
    /// refused it or a window restored from `snap` would. Never moves the window backwards.
    pub fn merge(&mut self, snap: &WindowSnapshot) {
        if snap.top > self.top {
            self.advance(snap.top);
        }
        self.absorb(snap);
    }

    /// Moves the right edge up to `seq` (> top), clearing the bits of the sequence numbers it
    /// passes: their ring positions held numbers a whole ring older. Into another group, the
    /// top's group goes to the ring first; the new group starts empty (every number in it up to
    /// `seq` is above the old top), its stale half of the ring overwritten when it leaves.
    #[inline]
    fn advance(&mut self, seq: u64) {
        if self.blocks != 0 && !same_group(seq, self.top) {
            let ring_bits = 64 * (u64::from(self.mask) + 1);
            if seq - self.top >= ring_bits {
                self.ring_mut().fill(0);
            } else {
                self.flush_group();
                // The groups passed whole; the rest of the old one is clear in the head.
                let first = (self.top | 31) + 1;
                let last = (seq & !31).wrapping_sub(1);
                if first <= last {
                    self.clear_range(first, last);
                }
            }
            self.group = 0;
        }
        self.top = seq;
    }

    /// Writes the top's group into its half of the ring's block.
    #[inline]
    fn flush_group(&mut self) {
        let shift = self.top & 32;
        let group = u64::from(self.group) << shift;
        let block = self.block_mut(self.top);
        *block = (*block & !(0xffff_ffff << shift)) | group;
    }

    /// Reads the top's group back from the ring (after [`ReplayWindow::flush_group`] and
    /// changes made on the ring), without the stale bits above the top.
    fn load_group(&mut self) {
        let bits = (*self.block(self.top) >> (self.top & 32)) as u32;
        self.group = bits & (u32::MAX >> (31 - (self.top & 31)));
    }

    /// Marks, inside the current window, what a window restored from `snap` would refuse.
    /// Requires `snap.top <= self.top`.
    fn absorb(&mut self, snap: &WindowSnapshot) {
        if self.blocks == 0 || snap.top == 0 || snap.top > self.top {
            return;
        }
        // On the ring alone, the top's group with it.
        self.flush_group();
        let reach = u64::from(self.size()) - 1;
        // Oldest sequence number inside this window; `snap`'s own window starts no later.
        let floor = self.top.saturating_sub(reach).max(1);
        // Older than the snapshot's 256 bits but inside its window: unknown, so received.
        if let Some(hi) = snap.top.checked_sub(SNAPSHOT_BITS as u64) {
            let lo = floor.max(snap.top.saturating_sub(reach));
            if lo <= hi {
                self.set_range(lo, hi);
            }
        }
        for i in 0..SNAPSHOT_BITS.min(self.size() as usize) {
            if i as u64 >= snap.top {
                break;
            }
            let seq = snap.top - i as u64;
            if seq >= floor && snap.received(i) {
                self.set_in_ring(seq);
            }
        }
        self.load_group();
    }

    #[inline(always)]
    fn slot(&self, seq: u64) -> usize {
        ((seq >> 6) & u64::from(self.mask)) as usize
    }

    /// The ring block that [`ReplayWindow::update`] of `seq` (checked) writes, for a stage
    /// ahead to ask for its line: the top's, when `seq` moves the top to another group; none
    /// when it stays in the group, below the top (`check` read the block already) and with
    /// anti-replay off.
    #[inline]
    pub fn block_to_write(&self, seq: u64) -> Option<&u64> {
        (self.blocks != 0 && seq > self.top && !same_group(seq, self.top))
            .then(|| self.block(self.top))
    }

    /// The block that holds `seq`'s bit (the slot masked again for the inline ring, so that
    /// its index needs no bounds check).
    #[inline(always)]
    fn block(&self, seq: u64) -> &u64 {
        let slot = self.slot(seq);
        if self.spill.is_empty() {
            &self.inline[slot & (INLINE_BLOCKS - 1)]
        } else {
            &self.spill[slot]
        }
    }

    #[inline(always)]
    fn block_mut(&mut self, seq: u64) -> &mut u64 {
        let slot = self.slot(seq);
        if self.spill.is_empty() {
            &mut self.inline[slot & (INLINE_BLOCKS - 1)]
        } else {
            &mut self.spill[slot]
        }
    }

    /// Whether `seq` (at most the top) was received.
    #[inline]
    fn is_set(&self, seq: u64) -> bool {
        if same_group(seq, self.top) {
            (self.group >> (seq & 31)) & 1 == 1
        } else {
            (*self.block(seq) >> (seq & 63)) & 1 == 1
        }
    }

    /// Marks `seq` (at most the top) received.
    #[inline]
    fn set(&mut self, seq: u64) {
        if same_group(seq, self.top) {
            self.group |= 1 << (seq & 31);
        } else {
            self.set_in_ring(seq);
        }
    }

    /// Marks `seq` received in the ring, whatever the top's group holds.
    #[inline]
    fn set_in_ring(&mut self, seq: u64) {
        *self.block_mut(seq) |= 1 << (seq & 63);
    }

    /// Sets `lo..=hi`, fewer numbers than the ring holds (so no two share a bit).
    fn set_range(&mut self, lo: u64, hi: u64) {
        for (slot, bits) in self.blocks(lo, hi) {
            self.ring_mut()[slot] |= bits;
        }
    }

    /// Clears `lo..=hi`, fewer numbers than the ring holds.
    fn clear_range(&mut self, lo: u64, hi: u64) {
        for (slot, bits) in self.blocks(lo, hi) {
            self.ring_mut()[slot] &= !bits;
        }
    }

    /// The ring slots and bits of `lo..=hi`. Its first and last blocks may share a slot (the
    /// ring is no longer than the window), with disjoint bits.
    fn blocks(&self, lo: u64, hi: u64) -> impl Iterator<Item = (usize, u64)> {
        let (first, last, mask) = (lo >> 6, hi >> 6, u64::from(self.mask));
        (first..=last).map(move |b| {
            let mut bits = u64::MAX;
            if b == first {
                bits &= u64::MAX << (lo & 63);
            }
            if b == last {
                bits &= u64::MAX >> (63 - (hi & 63));
            }
            ((b & mask) as usize, bits)
        })
    }
}

/// Whether `a` and `b` are in one group of 32 numbers (one half of a ring block).
#[inline(always)]
fn same_group(a: u64, b: u64) -> bool {
    a >> 5 == b >> 5
}

/// RFC 4303 Appendix A2.1: the full 64-bit sequence number of a received packet that carries
/// the low 32 bits `seq_lo`, given the window's `top` and `window_size` (use
/// [`ReplayWindow::size`]). Any sequence number in `top - W + 1 ..= top - W + 2^32` is
/// recovered exactly, across the 2^32 boundaries both ways.
///
/// Returns 0 (which [`ReplayWindow::check`] refuses) when `seq_lo` can only belong to the
/// subspace before the first or after the last. With anti-replay disabled (size 0) the
/// nearest candidate to `top` is chosen (W taken as 2^31).
pub fn esn_reconstruct(seq_lo: u32, top: u64, window_size: u32) -> u64 {
    let w = if window_size == 0 {
        1 << 31
    } else {
        window_size
    };
    let top_lo = top as u32;
    let top_hi = (top >> 32) as u32;
    let bottom = top_lo.wrapping_sub(w - 1);
    let seq_hi = if top_lo >= w - 1 {
        // Case A: the window lies in one subspace; below it is the next subspace.
        if seq_lo >= bottom {
            Some(top_hi)
        } else {
            top_hi.checked_add(1)
        }
    } else if seq_lo >= bottom {
        // Case B: the window spans two subspaces and `seq_lo` is in the older one.
        top_hi.checked_sub(1)
    } else {
        Some(top_hi)
    };
    match seq_hi {
        Some(hi) => (u64::from(hi) << 32) | u64::from(seq_lo),
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    const SIZES: [u32; 7] = [32, 64, 100, 128, 256, 1024, 4096];

    /// xorshift64*: small, deterministic, no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn win(size: u32) -> ReplayWindow {
        ReplayWindow::new(size).unwrap()
    }

    /// The reference: the set of every accepted sequence number and the top.
    struct Model {
        size: u64,
        top: u64,
        seen: BTreeSet<u64>,
    }
    impl Model {
        fn new(size: u32) -> Self {
            Model {
                size: u64::from(size),
                top: 0,
                seen: BTreeSet::new(),
            }
        }
        fn check(&self, seq: u64) -> Result<(), ReplayError> {
            if seq == 0 {
                Err(ReplayError::TooOld)
            } else if self.size == 0 || seq > self.top {
                Ok(())
            } else if self.top - seq >= self.size {
                Err(ReplayError::TooOld)
            } else if self.seen.contains(&seq) {
                Err(ReplayError::Duplicate)
            } else {
                Ok(())
            }
        }
        fn update(&mut self, seq: u64) -> Result<(), ReplayError> {
            self.check(seq)?;
            self.top = self.top.max(seq);
            self.seen.insert(seq);
            // Forget what can only be TooOld now, to keep the set small.
            if self.size != 0 && self.top > self.size {
                let keep = self.seen.split_off(&(self.top - self.size));
                self.seen = keep;
            }
            Ok(())
        }
        fn snapshot(&self) -> WindowSnapshot {
            let mut s = WindowSnapshot {
                top: self.top,
                ..Default::default()
            };
            for i in 0..(SNAPSHOT_BITS as u64).min(self.size) {
                if i < self.top && self.seen.contains(&(self.top - i)) {
                    s.bits[i as usize / 64] |= 1 << (i % 64);
                }
            }
            s
        }
    }

    fn refused(w: &ReplayWindow, seq: u64) -> bool {
        w.check(seq).is_err()
    }

    #[test]
    fn sizes() {
        assert_eq!(win(0).size(), 0);
        for bad in [1, 16, 31, MAX_WINDOW + 1, u32::MAX] {
            assert!(ReplayWindow::new(bad).is_none(), "{bad}");
        }
        for (asked, got) in [
            (32, 64),
            (64, 64),
            (65, 128),
            (100, 128),
            (1024, 1024),
            (4096, 4096),
            (65536, 65536),
        ] {
            let w = win(asked);
            assert_eq!(w.size(), got);
            assert!(w.ring().len().is_power_of_two());
            assert!(w.ring().len() * 64 >= got as usize);
            assert_eq!(
                w.spill.is_empty(),
                got <= INLINE_WINDOW,
                "inline up to 1024"
            );
            assert_eq!(w.top(), 0);
        }
    }

    #[test]
    fn seq_zero_is_never_valid() {
        for size in [0, 32, 1024] {
            let mut w = win(size);
            assert_eq!(w.check(0), Err(ReplayError::TooOld));
            assert_eq!(w.update(0), Err(ReplayError::TooOld));
            w.update(5).unwrap();
            assert_eq!(w.check(0), Err(ReplayError::TooOld));
            assert_eq!(w.update(0), Err(ReplayError::TooOld));
            assert_eq!(w.top(), 5);
        }
    }

    #[test]
    fn in_order_then_duplicates() {
        for size in SIZES {
            let mut w = win(size);
            let n = u64::from(w.size());
            for seq in 1..=3 * n + 7 {
                assert_eq!(w.check(seq), Ok(()));
                assert_eq!(w.update(seq), Ok(()));
                assert_eq!(w.top(), seq);
            }
            let top = w.top();
            for seq in top - n + 1..=top {
                assert_eq!(w.check(seq), Err(ReplayError::Duplicate), "{size} {seq}");
                assert_eq!(w.update(seq), Err(ReplayError::Duplicate));
            }
            for seq in 1..=top - n {
                assert_eq!(w.check(seq), Err(ReplayError::TooOld), "{size} {seq}");
            }
        }
    }

    /// A ring exactly as long as the window: when the top is inside a block, that block's slot
    /// holds the newest numbers in its low bits and the window's oldest in its high ones; a
    /// jump keeps the old ones still in the window (zeroing whole blocks would forget them).
    #[test]
    fn the_oldest_and_newest_blocks_share_a_slot() {
        for size in [64, 1024, 4096] {
            let mut w = win(size);
            let n = u64::from(w.size());
            assert_eq!(w.ring().len() as u64 * 64, n);
            for seq in 1..=n {
                w.update(seq).unwrap();
            }
            for jump in [1, 63, 64, 65, n - 1] {
                let mut w = w.clone();
                let top = n + jump;
                w.update(top).unwrap();
                for seq in top - n + 1..=n {
                    assert_eq!(w.check(seq), Err(ReplayError::Duplicate), "{size} {jump}");
                }
                for seq in (n + 1).max(top - n + 1)..top {
                    assert_eq!(w.check(seq), Ok(()), "{size} {jump} {seq}");
                }
                assert_eq!(w.check(top - n), Err(ReplayError::TooOld));
            }
        }
    }

    #[test]
    fn out_of_order_inside_the_window() {
        for size in SIZES {
            let mut w = win(size);
            let n = u64::from(w.size());
            let top = 10 * n + 3;
            w.update(top).unwrap();
            // Descending, then the odd ones of a second pass are duplicates.
            for seq in (top - n + 1..top).rev().step_by(2) {
                w.update(seq).unwrap();
            }
            for seq in top - n + 1..top {
                let expect = if (top - seq) % 2 == 1 {
                    Err(ReplayError::Duplicate)
                } else {
                    Ok(())
                };
                assert_eq!(w.check(seq), expect, "{size} {seq}");
            }
            for seq in top - n + 1..top {
                let _ = w.update(seq);
            }
            for seq in top - n + 1..=top {
                assert_eq!(w.check(seq), Err(ReplayError::Duplicate));
            }
            assert_eq!(w.top(), top);
        }
    }

    #[test]
    fn left_edge() {
        for size in SIZES {
            let n = u64::from(win(size).size());
            for top in [n, n + 1, 5 * n + 17, 1 << 33] {
                let mut w = win(size);
                w.update(top).unwrap();
                assert_eq!(w.check(top - n + 1), Ok(()), "{size} {top}");
                if top > n {
                    assert_eq!(w.check(top - n), Err(ReplayError::TooOld), "{size} {top}");
                }
                w.update(top - n + 1).unwrap();
                assert_eq!(w.check(top - n + 1), Err(ReplayError::Duplicate));
                // One more step right and the edge packet falls out.
                w.update(top + 1).unwrap();
                assert_eq!(w.check(top - n + 1), Err(ReplayError::TooOld));
                assert_eq!(w.check(top - n + 2), Ok(()));
            }
        }
    }

    /// After any jump, the new window holds exactly what was received in it: no stale bit from
    /// an earlier lap of the ring survives.
    #[test]
    fn jumps_clear_stale_blocks() {
        for size in [32, 64, 128, 1024] {
            let probe = win(size);
            let n = u64::from(probe.size());
            let ring_bits = probe.ring().len() as u64 * 64;
            let mut jumps: Vec<u64> = (1..=2 * ring_bits + 130).collect();
            jumps.extend([n - 1, n, n + 1, ring_bits, ring_bits + 1, 1 << 20, 1 << 40]);
            if size == 1024 {
                // Keep debug-build time low: only the interesting jumps for a big window.
                jumps.retain(|&j| {
                    j < 130 || j.abs_diff(n) < 70 || j.abs_diff(ring_bits) < 70 || j > 1 << 19
                });
            }
            for jump in jumps {
                let mut w = win(size);
                let base = 3 * ring_bits + 5;
                for seq in base - n + 1..=base {
                    w.update(seq).unwrap();
                }
                let top = base + jump;
                w.update(top).unwrap();
                for seq in top.saturating_sub(n - 1).max(1)..top {
                    let expect = if seq <= base {
                        Err(ReplayError::Duplicate)
                    } else {
                        Ok(())
                    };
                    assert_eq!(w.check(seq), expect, "size {size} jump {jump} seq {seq}");
                }
                assert_eq!(w.check(top), Err(ReplayError::Duplicate));
                if top > n {
                    assert_eq!(w.check(top - n), Err(ReplayError::TooOld));
                }
            }
        }
    }

    #[test]
    fn jump_of_exactly_the_window() {
        for size in SIZES {
            let mut w = win(size);
            let n = u64::from(w.size());
            w.update(100).unwrap();
            w.update(100 + n - 1).unwrap();
            assert_eq!(w.check(100), Err(ReplayError::Duplicate));
            let mut w2 = w.clone();
            w.update(100 + n).unwrap();
            assert_eq!(w.check(100), Err(ReplayError::TooOld));
            assert_eq!(w.check(101), Ok(()));
            assert_eq!(w.check(100 + n - 1), Err(ReplayError::Duplicate));
            w2.update(100 + 2 * n).unwrap();
            assert_eq!(w2.check(100 + n - 1), Err(ReplayError::TooOld));
            assert_eq!(w2.check(100 + n), Err(ReplayError::TooOld));
            assert_eq!(w2.check(100 + n + 1), Ok(()));
        }
    }

    #[test]
    fn near_u64_max() {
        for size in [0, 32, 1024, 65536] {
            let mut w = win(size);
            let n = u64::from(w.size()).max(1);
            w.update(1).unwrap();
            w.update(u64::MAX - 1).unwrap();
            assert_eq!(
                w.check(1),
                if size == 0 {
                    Ok(())
                } else {
                    Err(ReplayError::TooOld)
                }
            );
            assert_eq!(w.check(u64::MAX), Ok(()));
            w.update(u64::MAX).unwrap();
            assert_eq!(w.top(), u64::MAX);
            if size != 0 {
                assert_eq!(w.check(u64::MAX), Err(ReplayError::Duplicate));
                assert_eq!(w.check(u64::MAX - 1), Err(ReplayError::Duplicate));
                assert_eq!(w.check(u64::MAX - 2), Ok(()));
                assert_eq!(w.check(u64::MAX - n + 1), Ok(()));
                assert_eq!(w.check(u64::MAX - n), Err(ReplayError::TooOld));
                let s = w.snapshot();
                assert_eq!(s.bits[0] & 0b111, 0b011);
                let mut r = win(size);
                r.restore(&s);
                assert_eq!(r.check(u64::MAX - 1), Err(ReplayError::Duplicate));
                assert_eq!(r.check(u64::MAX - 2), Ok(()));
            }
        }
    }

    #[test]
    fn disabled_window_passes_everything_but_tracks_top() {
        let mut w = win(0);
        for seq in [5, 5, 3, 1, 1000, 2, 1000] {
            assert_eq!(w.check(seq), Ok(()));
            assert_eq!(w.update(seq), Ok(()));
        }
        assert_eq!(w.top(), 1000);
        assert_eq!(
            w.snapshot(),
            WindowSnapshot {
                top: 1000,
                bits: [0; 4]
            }
        );
        w.restore(&WindowSnapshot {
            top: 7,
            bits: [u64::MAX; 4],
        });
        assert_eq!(w.top(), 7);
        assert_eq!(w.check(7), Ok(()));
        w.merge(&WindowSnapshot {
            top: 9,
            bits: [1; 4],
        });
        assert_eq!(w.top(), 9);
        w.merge(&WindowSnapshot::default());
        assert_eq!(w.top(), 9);
    }

    #[test]
    fn check_does_not_mutate_and_failed_icv_leaves_no_trace() {
        let mut w = win(64);
        for seq in [10, 12, 9, 40] {
            w.update(seq).unwrap();
        }
        let before = w.clone();
        for seq in [0, 1, 9, 10, 11, 41, 1000, 1 << 40, u64::MAX] {
            let _ = w.check(seq);
        }
        assert_eq!(w, before);
        // A packet passes `check`, its ICV fails, so `update` is never called: it changes
        // nothing, and the genuine packet with that number is still accepted later.
        assert_eq!(w.check(1000), Ok(()));
        assert_eq!(w, before);
        assert_eq!(w.check(11), Ok(()));
        assert_eq!(w.update(11), Ok(()));
        // Two packets with the same number both pass `check` (a burst); `update` stops the second.
        assert_eq!(w.check(13), Ok(()));
        assert_eq!(w.check(13), Ok(()));
        assert_eq!(w.update(13), Ok(()));
        assert_eq!(w.update(13), Err(ReplayError::Duplicate));
        // A refused update changes nothing either.
        let before = w.clone();
        assert_eq!(w.update(12), Err(ReplayError::Duplicate));
        assert_eq!(w.update(0), Err(ReplayError::TooOld));
        assert_eq!(w, before);
    }

    /// The kernel's WireGuard `counter_selftest` (and wireguard-go's port), translated: its
    /// `T_LIM` (window + 1, as WireGuard accepts `top - window`) is our window size, and every
    /// number is shifted by one since ESP sequence numbers start at 1 (its 0 is our 1).
    #[test]
    fn wireguard_counter_selftest() {
        for size in [64, 1024, 4096] {
            let lim = u64::from(size);
            let mut w = win(size);
            let t = |w: &mut ReplayWindow, n: u64, ok: bool| {
                assert_eq!(
                    w.update(n + 1).is_ok(),
                    ok,
                    "size {size} WireGuard nonce {n}"
                );
            };
            for (n, ok) in [
                (0, true),
                (1, true),
                (1, false),
                (9, true),
                (8, true),
                (7, true),
                (7, false),
                (lim, true),
                (lim - 1, true),
                (lim - 1, false),
                (lim - 2, true),
                (2, true),
                (2, false),
                (lim + 16, true),
                (3, false),
                (lim + 16, false),
                (lim * 4, true),
                (lim * 4 - (lim - 1), true),
                (10, false),
                (lim * 4 - lim, false),
                (lim * 4 - (lim + 1), false),
                (lim * 4 - (lim - 2), true),
                (lim * 4 + 1 - lim, false),
                (0, false),
            ] {
                t(&mut w, n, ok);
            }
            // Bulk tests 1 to 6 (WireGuard's window is lim - 1).
            let wg = lim - 1;
            let mut w = win(size);
            (1..=wg).for_each(|n| t(&mut w, n, true));
            t(&mut w, 0, true);
            t(&mut w, 0, false);
            let mut w = win(size);
            (2..=wg + 1).for_each(|n| t(&mut w, n, true));
            t(&mut w, 1, true);
            t(&mut w, 0, false);
            let mut w = win(size);
            (1..=wg + 1).rev().for_each(|n| t(&mut w, n, true));
            let mut w = win(size);
            (2..=wg + 2).rev().for_each(|n| t(&mut w, n, true));
            t(&mut w, 0, false);
            let mut w = win(size);
            (1..=wg).rev().for_each(|n| t(&mut w, n, true));
            t(&mut w, wg + 1, true);
            t(&mut w, 0, false);
            let mut w = win(size);
            (1..=wg).rev().for_each(|n| t(&mut w, n, true));
            t(&mut w, 0, true);
            t(&mut w, wg + 1, true);
        }
    }

    #[test]
    fn snapshot_bits_name_top_minus_i() {
        let mut w = win(1024);
        assert_eq!(w.snapshot(), WindowSnapshot::default());
        for seq in [1, 2, 3] {
            w.update(seq).unwrap();
        }
        assert_eq!(
            w.snapshot(),
            WindowSnapshot {
                top: 3,
                bits: [0b111, 0, 0, 0]
            }
        );
        for seq in [300, 299, 236, 45, 44] {
            w.update(seq).unwrap();
        }
        let s = w.snapshot();
        assert_eq!(s.top, 300);
        let set: Vec<usize> = (0..SNAPSHOT_BITS).filter(|&i| s.received(i)).collect();
        assert_eq!(set, vec![0, 1, 64, 255]);
        // A 64-packet window reports only its own 64 bits.
        let mut w = win(64);
        for seq in 1..=200 {
            w.update(seq).unwrap();
        }
        assert_eq!(w.snapshot().bits, [u64::MAX, 0, 0, 0]);
    }

    #[test]
    fn restore_round_trips() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for size in SIZES {
            for _ in 0..20 {
                let mut a = win(size);
                let n = u64::from(a.size());
                let start = rng.below(1 << 34) + 1;
                for _ in 0..3 * n {
                    let _ = a.update(start + rng.below(4 * n));
                }
                let s = a.snapshot();
                let mut r = win(size);
                r.update(12345).unwrap();
                r.restore(&s);
                assert_eq!(r.top(), a.top());
                assert_eq!(r.snapshot(), s);
                let top = a.top();
                for seq in top.saturating_sub(n + 70).max(1)..top + 70 {
                    if top - seq.min(top) < SNAPSHOT_BITS as u64 || seq > top {
                        assert_eq!(r.check(seq), a.check(seq), "size {size} seq {seq}");
                    } else {
                        // Older than the snapshot covers: refused either way.
                        assert!(r.check(seq).is_err(), "size {size} seq {seq}");
                    }
                }
                // Restoring into a fresh window gives the same as into a used one.
                let mut fresh = win(size);
                fresh.restore(&s);
                assert_eq!(fresh, r);
            }
        }
    }

    #[test]
    fn restore_from_foreign_snapshot() {
        // All bits set, top small: bits naming seq <= 0 are ignored.
        let mut w = win(1024);
        w.restore(&WindowSnapshot {
            top: 10,
            bits: [u64::MAX; 4],
        });
        assert_eq!(w.check(10), Err(ReplayError::Duplicate));
        assert_eq!(w.check(1), Err(ReplayError::Duplicate));
        assert_eq!(w.check(11), Ok(()));
        assert_eq!(w.snapshot().bits, [0x3ff, 0, 0, 0]);
        // A snapshot from a 1024 window restored into a 64 window keeps only 64 bits.
        let mut w = win(64);
        w.restore(&WindowSnapshot {
            top: 5000,
            bits: [0, u64::MAX, u64::MAX, u64::MAX],
        });
        assert_eq!(w.check(5000 - 63), Ok(()));
        assert_eq!(w.check(5000 - 64), Err(ReplayError::TooOld));
        assert_eq!(w.snapshot().bits, [0; 4]);
        // Top inside the ring's top block: bits above the top stay clear.
        let mut w = win(4096);
        w.restore(&WindowSnapshot {
            top: 4096 * 3 + 1,
            bits: [1, 0, 0, 0],
        });
        for seq in 4096 * 3 + 2..4096 * 3 + 200 {
            assert_eq!(w.update(seq), Ok(()));
        }
        assert_eq!(w.check(4096 * 3), Ok(()));
        assert_eq!(w.check(4096 * 3 - 300), Err(ReplayError::Duplicate));
    }

    /// merge: refused afterwards iff refused before or refused by a window restored from the
    /// snapshot; the top never goes down.
    #[test]
    fn merge_is_the_union_of_refusals() {
        let mut rng = Rng(0xdead_beef_cafe_f00d);
        for size in SIZES {
            for round in 0..30 {
                let n = u64::from(win(size).size());
                let base = rng.below(1 << 33) + 1;
                let mut a = win(size);
                let mut b = win(size);
                for _ in 0..2 * n {
                    let _ = a.update(base + rng.below(3 * n));
                    let _ = b.update(base + rng.below(3 * n) + rng.below(2) * rng.below(2 * n));
                }
                if round % 5 == 0 {
                    b = win(size);
                }
                let s = b.snapshot();
                let mut restored = win(size);
                restored.restore(&s);
                let mut m = a.clone();
                m.merge(&s);
                assert_eq!(m.top(), a.top().max(s.top));
                let hi = m.top() + 70;
                for seq in base.saturating_sub(n)..hi {
                    let expect = refused(&a, seq) || refused(&restored, seq);
                    assert_eq!(
                        refused(&m, seq),
                        expect,
                        "size {size} round {round} seq {seq}"
                    );
                }
                // Merging the same record again, or an older one, changes nothing.
                let again = m.clone();
                m.merge(&s);
                assert_eq!(m, again);
                m.merge(&WindowSnapshot::default());
                assert_eq!(m, again);
            }
        }
    }

    /// In order, a packet writes the ring only when it leaves the top's group of 32, and then
    /// the block that [`ReplayWindow::block_to_write`] named (the one a stage ahead asks for).
    #[test]
    fn in_order_writes_the_ring_once_a_group() {
        for size in [64, 1024, 4096] {
            let mut w = win(size);
            for seq in 1..=3000u64 {
                let ring = w.ring().to_vec();
                let named = w.block_to_write(seq).map(|b| b as *const u64);
                assert_eq!(named.is_some(), seq % 32 == 0, "size {size} seq {seq}");
                w.update(seq).unwrap();
                for (i, (old, new)) in ring.iter().zip(w.ring()).enumerate() {
                    if old != new {
                        assert_eq!(
                            named,
                            Some(&w.ring()[i] as *const u64),
                            "size {size} seq {seq}"
                        );
                    }
                }
                // Below the top, in its group or not, nothing is asked for: `check` read it.
                assert_eq!(w.block_to_write(seq), None);
                assert_eq!(w.block_to_write(seq.saturating_sub(40)), None);
            }
            // Every number of the window is refused, from the group and from the ring.
            for seq in 3001 - u64::from(w.size())..=3000 {
                assert_eq!(
                    w.check(seq),
                    Err(ReplayError::Duplicate),
                    "size {size} seq {seq}"
                );
            }
        }
        assert_eq!(win(0).block_to_write(32), None);
    }

    /// The top's group, rebuilt from the ring by a restore or a merge, keeps its bits when the
    /// top later leaves it, and holds none above the top.
    #[test]
    fn group_survives_restore_merge_and_leaving() {
        for size in [64, 128, 1024] {
            let mut a = win(size);
            // Top mid-group (100 = 96 + 4), 98 missing, numbers above the top never received.
            for seq in (80..=100).filter(|&s| s != 98) {
                a.update(seq).unwrap();
            }
            let snap = a.snapshot();
            let mut restored = win(size);
            restored.restore(&snap);
            let mut merged = win(size);
            merged.update(90).unwrap();
            merged.merge(&snap);
            for w in [&mut a, &mut restored, &mut merged] {
                assert_eq!(w.check(98), Ok(()));
                assert_eq!(w.check(99), Err(ReplayError::Duplicate));
                for seq in [101, 127, 128, 140] {
                    w.update(seq).unwrap();
                }
                for seq in [80, 97, 99, 100, 101, 127, 128, 140] {
                    assert_eq!(
                        w.check(seq),
                        Err(ReplayError::Duplicate),
                        "size {size} {seq}"
                    );
                }
                for seq in [98, 102, 126, 129, 139] {
                    assert_eq!(w.check(seq), Ok(()), "size {size} {seq}");
                }
            }
        }
    }

    #[test]
    fn merge_never_moves_backwards() {
        let mut w = win(128);
        for seq in 1000..1100 {
            w.update(seq).unwrap();
        }
        let before = w.clone();
        w.merge(&WindowSnapshot {
            top: 10,
            bits: [u64::MAX; 4],
        });
        assert_eq!(w, before);
        // A newer record moves the top and carries its bits; older received bits stay.
        w.merge(&WindowSnapshot {
            top: 1150,
            bits: [0b101, 0, 0, 0],
        });
        assert_eq!(w.top(), 1150);
        assert_eq!(w.check(1150), Err(ReplayError::Duplicate));
        assert_eq!(w.check(1149), Ok(()));
        assert_eq!(w.check(1148), Err(ReplayError::Duplicate));
        assert_eq!(w.check(1099), Err(ReplayError::Duplicate));
        assert_eq!(w.check(1100), Ok(()));
        assert_eq!(w.check(1150 - 128), Err(ReplayError::TooOld));
    }

    /// Random traffic against the reference model, for every size, with reordering, replays,
    /// jumps, checks without updates (failed ICVs) and snapshots.
    #[test]
    fn model_random() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for size in [0, 32, 64, 100, 128, 192, 256, 320, 1024, 4096, 65536] {
            for run in 0..12 {
                let mut w = win(size);
                let mut m = Model::new(w.size());
                let n = u64::from(w.size()).max(64);
                // Some runs start right below 2^32 or near the end of the space.
                let mut next = match run % 3 {
                    0 => 1,
                    1 => (1 << 32) - 3 * n,
                    _ => u64::MAX - 50 * n,
                };
                for step in 0..3000 {
                    let seq = match rng.below(16) {
                        0..=7 => {
                            next = next.saturating_add(1 + rng.below(3));
                            next
                        }
                        8..=10 => next.saturating_sub(rng.below(n + n / 2)),
                        11 => m.seen.iter().next_back().copied().unwrap_or(1),
                        12 => next.saturating_add(rng.below(4 * n)),
                        13 => {
                            if rng.below(8) == 0 {
                                next = next.saturating_add(rng.below(1 << 20));
                            }
                            next.saturating_sub(n - 1)
                        }
                        14 => rng.below(3),
                        _ => next.saturating_sub(n).saturating_add(rng.below(3)),
                    };
                    assert_eq!(
                        w.check(seq),
                        m.check(seq),
                        "size {size} step {step} seq {seq}"
                    );
                    // One packet in eight fails its ICV: checked, never updated.
                    if rng.below(8) != 0 {
                        assert_eq!(w.update(seq), m.update(seq), "size {size} step {step}");
                    }
                    assert_eq!(w.top(), m.top);
                    if step % 16 == 0 {
                        assert_eq!(w.snapshot(), m.snapshot(), "size {size} step {step}");
                    }
                }
            }
        }
    }

    #[test]
    fn esn_case_a_one_subspace() {
        let top = (5 << 32) | 1000;
        let hi = 5 << 32;
        assert_eq!(esn_reconstruct(1000, top, 64), hi | 1000);
        assert_eq!(esn_reconstruct(2000, top, 64), hi | 2000);
        assert_eq!(esn_reconstruct(u32::MAX, top, 64), hi | u64::from(u32::MAX));
        assert_eq!(esn_reconstruct(937, top, 64), hi | 937); // left edge
        assert_eq!(esn_reconstruct(936, top, 64), (6 << 32) | 936); // next subspace
        assert_eq!(esn_reconstruct(0, top, 64), 6 << 32);
        // Boundary of case A: Tl == W - 1, the window starts at low 0.
        assert_eq!(esn_reconstruct(0, (1 << 32) | 63, 64), 1 << 32);
        assert_eq!(
            esn_reconstruct(u32::MAX, (1 << 32) | 63, 64),
            (1 << 32) | 0xffff_ffff
        );
    }

    #[test]
    fn esn_case_b_two_subspaces() {
        let top = (5 << 32) | 10;
        let bottom = 10u32.wrapping_sub(63);
        assert_eq!(
            esn_reconstruct(bottom, top, 64),
            (4 << 32) | u64::from(bottom)
        );
        assert_eq!(esn_reconstruct(u32::MAX, top, 64), (4 << 32) | 0xffff_ffff);
        assert_eq!(
            esn_reconstruct(bottom - 1, top, 64),
            (5 << 32) | u64::from(bottom - 1)
        );
        assert_eq!(esn_reconstruct(5, top, 64), (5 << 32) | 5);
        assert_eq!(esn_reconstruct(0, top, 64), 5 << 32);
        assert_eq!(esn_reconstruct(11, top, 64), (5 << 32) | 11);
        // Boundary of case B: Tl == W - 2.
        assert_eq!(esn_reconstruct(u32::MAX, (1 << 32) | 62, 64), 0xffff_ffff);
        assert_eq!(esn_reconstruct(0, (1 << 32) | 62, 64), 1 << 32);
    }

    #[test]
    fn esn_rollover_both_ways() {
        // Forward: top at the end of subspace 0.
        let top = 0xffff_ffff;
        assert_eq!(esn_reconstruct(0, top, 64), 1 << 32);
        assert_eq!(esn_reconstruct(5, top, 64), (1 << 32) + 5);
        assert_eq!(esn_reconstruct(0xffff_fff0, top, 64), 0xffff_fff0);
        // Backward: top just past the boundary, late packets from before it.
        let top = (1 << 32) + 3;
        assert_eq!(esn_reconstruct(0xffff_fff6, top, 64), 0xffff_fff6);
        assert_eq!(esn_reconstruct(2, top, 64), (1 << 32) + 2);
        assert_eq!(esn_reconstruct(4, top, 64), (1 << 32) + 4);
        // Neither a subspace before the first nor after the last: 0, always refused.
        assert_eq!(esn_reconstruct(0xffff_fff0, 5, 64), 0);
        assert_eq!(esn_reconstruct(0xffff_fff0, 0, 64), 0);
        assert_eq!(esn_reconstruct(1, 0, 64), 1);
        assert_eq!(esn_reconstruct(0, u64::MAX - 5, 64), 0);
        assert_eq!(esn_reconstruct(0xffff_ffff, u64::MAX - 5, 64), u64::MAX);
        // Disabled window: nearest to the top.
        assert_eq!(esn_reconstruct(5, 0xffff_fff0, 0), (1 << 32) + 5);
        assert_eq!(esn_reconstruct(0xffff_fff0, (1 << 32) + 5, 0), 0xffff_fff0);
        assert_eq!(esn_reconstruct(10, (7 << 32) | 5, 0), (7 << 32) | 10);
    }

    /// Any sequence number in `top - W + 1 ..= top - W + 2^32` comes back from its low half.
    #[test]
    fn esn_recovers_the_whole_range() {
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        for size in [1, 32, 64, 1024, 4096, 65536, 0] {
            let w = if size == 0 { 1u64 << 31 } else { size };
            for i in 0..20_000 {
                let top = match i % 4 {
                    0 => rng.next() >> 1,
                    1 => ((rng.below(8) + 1) << 32) + rng.below(2 * w) - w,
                    2 => (rng.below(8) << 32) | rng.below(w),
                    _ => (rng.below(8) << 32) | (0xffff_ffff - rng.below(w)),
                };
                let lo_edge = top.saturating_sub(w - 1).max(1);
                let span = top + (1 << 32) - w - lo_edge + 1;
                let seq = match i % 3 {
                    0 => lo_edge + rng.below(span),
                    1 => lo_edge + rng.below(w.min(span)),
                    _ => top + 1 + rng.below(64),
                };
                assert_eq!(
                    esn_reconstruct(seq as u32, top, size as u32),
                    seq,
                    "top {top:#x} seq {seq:#x} w {w}"
                );
            }
        }
    }

    /// A sender crossing 2^32 with reordering: the receiver reconstructs, accepts each packet
    /// once and refuses every replay.
    #[test]
    fn esn_end_to_end_across_2_pow_32() {
        let mut rng = Rng(42);
        for size in [32, 64, 1024] {
            let mut w = win(size);
            let n = u64::from(w.size());
            let first = (1 << 32) - 5 * n;
            w.update(first - 1).unwrap();
            let mut sent: Vec<u64> = (first..first + 10 * n).collect();
            // Shuffle inside chunks of half a window: reordered, but never late enough to
            // fall out of the window.
            for chunk in sent.chunks_mut(n as usize / 2) {
                for i in (1..chunk.len()).rev() {
                    chunk.swap(i, rng.below(i as u64 + 1) as usize);
                }
            }
            let mut accepted = BTreeSet::new();
            for &seq in &sent {
                let full = esn_reconstruct(seq as u32, w.top(), w.size());
                assert_eq!(full, seq);
                if w.update(full).is_ok() {
                    assert!(accepted.insert(seq));
                }
            }
            assert_eq!(accepted.len() as u64, 10 * n);
            for &seq in sent.iter().rev().take(n as usize / 2) {
                let full = esn_reconstruct(seq as u32, w.top(), w.size());
                assert!(w.update(full).is_err(), "replay of {seq:#x} accepted");
            }
        }
    }
}
