//! The anti-replay window over the peer's datagram counter (one per peer session).
//!
//! Every datagram goes out on every path, so the second copy of each one lands here as a
//! replay: first copy wins. A window of 4096 datagrams leaves room for a slow path's lag.

const WORDS: usize = 64;
const WINDOW: u64 = (WORDS * 64) as u64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayCheck {
    New,
    Replayed,
    TooOld,
}

pub struct ReplayWindow {
    /// Highest counter accepted (meaningful once `any`).
    top: u64,
    any: bool,
    /// Bit `n % WINDOW` set: counter `n` (within the window below `top`) was accepted.
    bits: [u64; WORDS],
}

impl Default for ReplayWindow {
    fn default() -> Self {
        ReplayWindow {
            top: 0,
            any: false,
            bits: [0; WORDS],
        }
    }
}

impl ReplayWindow {
    /// What accepting `seq` would mean; call before the AEAD is checked, mark after.
    pub fn check(&self, seq: u64) -> ReplayCheck {
        if !self.any || seq > self.top {
            ReplayCheck::New
        } else if self.top - seq >= WINDOW {
            ReplayCheck::TooOld
        } else if self.bit(seq) {
            ReplayCheck::Replayed
        } else {
            ReplayCheck::New
        }
    }

    /// Records an authenticated datagram; `check` must have said `New`.
    pub fn mark(&mut self, seq: u64) {
        if !self.any {
            self.any = true;
            self.top = seq;
        } else if seq > self.top {
            let shift = seq - self.top;
            if shift >= WINDOW {
                self.bits = [0; WORDS];
            } else {
                for n in self.top + 1..seq {
                    self.clear(n);
                }
            }
            self.top = seq;
        }
        let (w, b) = Self::slot(seq);
        self.bits[w] |= 1 << b;
    }

    fn bit(&self, n: u64) -> bool {
        let (w, b) = Self::slot(n);
        self.bits[w] >> b & 1 == 1
    }

    fn clear(&mut self, n: u64) {
        let (w, b) = Self::slot(n);
        self.bits[w] &= !(1 << b);
    }

    fn slot(n: u64) -> (usize, u32) {
        let i = n % WINDOW;
        ((i / 64) as usize, (i % 64) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(w: &mut ReplayWindow, seq: u64) -> ReplayCheck {
        let c = w.check(seq);
        if c == ReplayCheck::New {
            w.mark(seq);
        }
        c
    }

    #[test]
    fn new_replayed_too_old() {
        let mut w = ReplayWindow::default();
        assert_eq!(accept(&mut w, 0), ReplayCheck::New);
        assert_eq!(accept(&mut w, 0), ReplayCheck::Replayed);
        assert_eq!(accept(&mut w, 5), ReplayCheck::New);
        assert_eq!(
            accept(&mut w, 3),
            ReplayCheck::New,
            "reordered inside the window"
        );
        assert_eq!(accept(&mut w, 3), ReplayCheck::Replayed);
        assert_eq!(accept(&mut w, 5), ReplayCheck::Replayed);
        assert_eq!(accept(&mut w, 5 + WINDOW), ReplayCheck::New);
        assert_eq!(accept(&mut w, 5), ReplayCheck::TooOld);
        assert_eq!(
            accept(&mut w, 6),
            ReplayCheck::New,
            "just inside the window"
        );
        assert_eq!(
            accept(&mut w, 6 + 3 * WINDOW),
            ReplayCheck::New,
            "a big jump clears all"
        );
        assert_eq!(accept(&mut w, 7 + 2 * WINDOW), ReplayCheck::New);
    }

    /// Against a set of everything accepted: the window never lets one through twice and
    /// never refuses a new one inside it.
    #[test]
    fn matches_a_set_under_random_order() {
        let mut w = ReplayWindow::default();
        let mut seen = std::collections::HashSet::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut top = 0u64;
        for i in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let seq = (i / 2 + x % 600).saturating_sub(300);
            let c = accept(&mut w, seq);
            let fresh = seen.insert(seq);
            if seq + WINDOW <= top {
                assert_eq!(c, ReplayCheck::TooOld);
                continue;
            }
            assert_eq!(c == ReplayCheck::New, fresh, "seq {seq}");
            top = top.max(seq);
        }
    }
}
