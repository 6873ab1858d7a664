//! Packets whose next hop's MAC is not known yet wait here, a few per neighbour, while the
//! kernel resolves it (as Linux holds `unres_qlen` packets per neighbour): without it the
//! first packets to a host whose entry expired are lost, the first ping of a flow too. The
//! queue is a fixed ring (no allocation per packet), owned by one worker; each poll loop
//! sends what became resolved and drops what waited too long (`route::release_held`).

use arrayvec::ArrayVec;
use std::net::IpAddr;

/// Packets held per worker: enough for a few neighbours resolving at once, few enough that
/// mbufs stay for traffic (a flood to unresolved addresses only recycles these slots).
pub const HOLD_CAPACITY: usize = 64;
/// Packets held per neighbour (Linux's `unres_qlen` was 3 before it counted bytes).
pub const HOLD_PER_NEIGHBOUR: usize = 3;
/// How long a packet waits: ARP retransmits after 1 s, and a sender retries on its own.
pub const HOLD_FOR_NS: u64 = 1_000_000_000;

/// The neighbour a packet waits for: the port's index in the worker's ports, the port, the
/// address to resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    pub at: usize,
    pub port: u16,
    pub addr: IpAddr,
}

struct Entry<T> {
    key: Waiting,
    since_ns: u64,
    item: T,
}

/// The ring, oldest first; slots emptied in the middle are closed up on release.
pub struct Holding<T> {
    ring: [Option<Entry<T>>; HOLD_CAPACITY],
    head: usize,
    /// Slots in use from `head` on, emptied ones included.
    used: usize,
    live: usize,
}

impl<T> Default for Holding<T> {
    fn default() -> Self {
        Holding {
            ring: std::array::from_fn(|_| None),
            head: 0,
            used: 0,
            live: 0,
        }
    }
}

/// What releasing gave: the packets to send with their MAC, and how many expired.
pub type Released<T, M> = ArrayVec<(Waiting, M, T), HOLD_CAPACITY>;

impl<T> Holding<T> {
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    pub fn len(&self) -> usize {
        self.live
    }

    fn slot(&self, i: usize) -> usize {
        (self.head + i) % HOLD_CAPACITY
    }

    fn take(&mut self, i: usize) -> Option<T> {
        let s = self.slot(i);
        let e = self.ring[s].take()?;
        self.live -= 1;
        Some(e.item)
    }

    /// Holds `item` for `key`; returns the packet it pushed out (the oldest of its
    /// neighbour's when that one has its share, else the oldest of all when the ring is
    /// full), for the caller to drop and count.
    pub fn hold(&mut self, key: Waiting, item: T, now_ns: u64) -> Option<T> {
        let mut mine = 0;
        let mut oldest_mine = None;
        for i in 0..self.used {
            if let Some(e) = &self.ring[self.slot(i)] {
                if e.key == key {
                    mine += 1;
                    oldest_mine.get_or_insert(i);
                }
            }
        }
        let mut out = None;
        if mine >= HOLD_PER_NEIGHBOUR {
            out = oldest_mine.and_then(|i| self.take(i));
        }
        if self.used == HOLD_CAPACITY {
            self.close_up();
        }
        if self.used == HOLD_CAPACITY {
            out = self.take(0);
            self.head = self.slot(1);
            self.used -= 1;
        }
        let s = self.slot(self.used);
        self.ring[s] = Some(Entry {
            key,
            since_ns: now_ns,
            item,
        });
        self.used += 1;
        self.live += 1;
        out
    }

    /// Moves the packets whose neighbour `mac_of` now knows into `out` (oldest first) and
    /// drops those held `HOLD_FOR_NS` or longer; returns how many it dropped.
    pub fn release<M>(
        &mut self,
        now_ns: u64,
        mut mac_of: impl FnMut(&Waiting) -> Option<M>,
        out: &mut Released<T, M>,
    ) -> usize {
        let mut expired = 0;
        for i in 0..self.used {
            let s = self.slot(i);
            let Some(e) = &self.ring[s] else {
                continue;
            };
            let key = e.key;
            if now_ns.saturating_sub(e.since_ns) >= HOLD_FOR_NS {
                drop(self.take(i));
                expired += 1;
            } else if let Some(mac) = mac_of(&key) {
                if let Some(item) = self.take(i) {
                    out.push((key, mac, item));
                }
            }
        }
        self.close_up();
        expired
    }

    /// Moves the held entries together at the front, in order.
    fn close_up(&mut self) {
        let mut w = 0;
        for r in 0..self.used {
            let from = self.slot(r);
            if self.ring[from].is_some() {
                if r != w {
                    let to = self.slot(w);
                    self.ring[to] = self.ring[from].take();
                }
                w += 1;
            }
        }
        self.used = w;
        if w == 0 {
            self.head = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn to(last: u8) -> Waiting {
        Waiting {
            at: 0,
            port: 0,
            addr: IpAddr::from([10, 0, 1, last]),
        }
    }

    /// Releases with `known` resolved; the items sent, in order.
    fn release(h: &mut Holding<u32>, now: u64, known: &[u8]) -> (Vec<u32>, usize) {
        let mut out = Released::new();
        let expired = h.release(
            now,
            |w| match w.addr {
                IpAddr::V4(a) if known.contains(&a.octets()[3]) => Some(a.octets()[3]),
                _ => None,
            },
            &mut out,
        );
        for (w, mac, _) in &out {
            assert_eq!(
                w.addr,
                to(*mac).addr,
                "released with its own neighbour's MAC"
            );
        }
        (out.into_iter().map(|(_, _, i)| i).collect(), expired)
    }

    #[test]
    fn sends_in_order_once_resolved_and_keeps_the_others() {
        let mut h = Holding::default();
        assert!(h.is_empty());
        assert_eq!(h.hold(to(1), 10, 0), None);
        assert_eq!(h.hold(to(2), 20, MS), None);
        assert_eq!(h.hold(to(1), 11, 2 * MS), None);
        assert_eq!(release(&mut h, 3 * MS, &[]), (vec![], 0));
        assert_eq!(h.len(), 3);
        assert_eq!(release(&mut h, 4 * MS, &[1]), (vec![10, 11], 0));
        assert_eq!(h.len(), 1);
        assert_eq!(release(&mut h, 5 * MS, &[1, 2]), (vec![20], 0));
        assert!(h.is_empty());
    }

    #[test]
    fn a_neighbour_keeps_its_newest_three() {
        let mut h = Holding::default();
        for i in 0..3 {
            assert_eq!(h.hold(to(1), i, 0), None);
        }
        h.hold(to(2), 100, 0);
        assert_eq!(h.hold(to(1), 3, 0), Some(0));
        assert_eq!(h.hold(to(1), 4, 0), Some(1));
        assert_eq!(h.len(), 4);
        assert_eq!(release(&mut h, MS, &[1, 2]), (vec![2, 100, 3, 4], 0));
    }

    #[test]
    fn a_full_ring_drops_its_oldest() {
        let mut h = Holding::default();
        for i in 0..HOLD_CAPACITY as u32 {
            // Distinct neighbours: only the ring's size limits.
            let key = Waiting {
                port: i as u16,
                ..to(1)
            };
            assert_eq!(h.hold(key, i, 0), None);
        }
        assert_eq!(h.hold(to(9), 1000, 0), Some(0));
        assert_eq!(h.hold(to(9), 1001, 0), Some(1));
        assert_eq!(h.len(), HOLD_CAPACITY);
        // Released out of the middle, the slots are reused and the order kept.
        assert_eq!(release(&mut h, MS, &[9]), (vec![1000, 1001], 0));
        assert_eq!(h.hold(to(8), 2000, MS), None);
        assert_eq!(h.hold(to(8), 2001, MS), None);
        assert_eq!(h.hold(to(8), 2002, MS), Some(2), "the ring is full again");
        let mut out = Released::new();
        h.release(MS, |_| Some(()), &mut out);
        let items: Vec<u32> = out.into_iter().map(|(_, _, i)| i).collect();
        let mut want: Vec<u32> = (3..HOLD_CAPACITY as u32).collect();
        want.extend([2000, 2001, 2002]);
        assert_eq!(items, want);
        assert!(h.is_empty());
    }

    #[test]
    fn packets_held_a_second_are_dropped() {
        let mut h = Holding::default();
        h.hold(to(1), 1, 0);
        h.hold(to(2), 2, 500 * MS);
        assert_eq!(release(&mut h, HOLD_FOR_NS - 1, &[]), (vec![], 0));
        assert_eq!(release(&mut h, HOLD_FOR_NS, &[]), (vec![], 1));
        // Expired before resolved: dropped, not sent.
        assert_eq!(release(&mut h, HOLD_FOR_NS + 500 * MS, &[2]), (vec![], 1));
        assert!(h.is_empty());
        // A clock that goes back holds on.
        h.hold(to(3), 3, 10 * HOLD_FOR_NS);
        assert_eq!(release(&mut h, 0, &[]), (vec![], 0));
        assert_eq!(h.len(), 1);
    }
}
