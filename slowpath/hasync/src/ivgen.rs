//! IV generations (invariant 3): a node that takes an SA over must never encrypt under an IV
//! generation that either node has used for it, whatever the sync lag.
//!
//! Generations are split by parity: node 1 only ever takes odd ones, node 2 even ones (0 is
//! "never activated"), so the two nodes cannot collide. Each node takes a strictly higher
//! generation of its own parity at every takeover, above everything it knows of: what it
//! persisted itself and what the peer synced. The caller persists [`IvGenerations`] before it
//! activates anything with the new generation (so a restart cannot go back) and offers it to
//! the peer as a `Record::IvGenerations` (so a node that lost its disk learns where it was).

use crate::config::NodeId;

/// The highest generation each node has taken (index 0: node 1, index 1: node 2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct IvGenerations {
    pub highest: [u16; 2],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("IV generations of this node are exhausted")]
pub struct Exhausted;

pub struct IvAllocator {
    node: NodeId,
    known: IvGenerations,
}

impl IvAllocator {
    /// From what this node persisted (the default if nothing was).
    pub fn new(node: NodeId, persisted: IvGenerations) -> Self {
        IvAllocator {
            node,
            known: persisted,
        }
    }

    /// Takes in what the peer synced (or anything persisted later): never goes back.
    pub fn merge(&mut self, other: &IvGenerations) {
        for (k, o) in self.known.highest.iter_mut().zip(other.highest) {
            *k = (*k).max(o);
        }
    }

    /// A takeover: the generation to activate with, and the state to persist (before the
    /// first packet under it) and to sync.
    pub fn take_over(&mut self) -> Result<(u16, IvGenerations), Exhausted> {
        let own = self.node.index();
        let want_odd = self.node.get() == 1;
        // The smallest of our parity above what we know we took (0 is never taken).
        let mut next = self.known.highest[own].checked_add(1).ok_or(Exhausted)?;
        if (next % 2 == 1) != want_odd {
            next = next.checked_add(1).ok_or(Exhausted)?;
        }
        self.known.highest[own] = next;
        Ok((next, self.known))
    }

    pub fn state(&self) -> IvGenerations {
        self.known
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn node(i: u8) -> NodeId {
        NodeId::new(i).unwrap()
    }

    #[test]
    fn parity_and_growth() {
        let mut a = IvAllocator::new(node(1), IvGenerations::default());
        let mut b = IvAllocator::new(node(2), IvGenerations::default());
        assert_eq!(a.take_over().unwrap().0, 1);
        assert_eq!(a.take_over().unwrap().0, 3);
        assert_eq!(b.take_over().unwrap().0, 2);
        b.merge(&a.state());
        let (g, persist) = b.take_over().unwrap();
        assert_eq!(g, 4);
        assert_eq!(persist, IvGenerations { highest: [3, 4] });
        // A stale sync never lowers anything.
        b.merge(&IvGenerations { highest: [1, 2] });
        assert_eq!(b.state().highest, [3, 4]);
    }

    #[test]
    fn exhaustion_is_an_error_not_a_wrap() {
        let mut a = IvAllocator::new(
            node(1),
            IvGenerations {
                highest: [u16::MAX, 0],
            },
        );
        assert_eq!(a.take_over(), Err(Exhausted));
        let mut b = IvAllocator::new(
            node(2),
            IvGenerations {
                highest: [0, u16::MAX - 1],
            },
        );
        assert_eq!(b.take_over(), Err(Exhausted));
        let mut c = IvAllocator::new(
            node(1),
            IvGenerations {
                highest: [u16::MAX - 2, 0],
            },
        );
        assert_eq!(c.take_over().map(|t| t.0), Ok(u16::MAX));
        assert_eq!(c.take_over(), Err(Exhausted));
    }

    /// Property: any sequence of takeovers, restarts (the memory is lost, the persisted state
    /// is kept), syncs delivered late, out of order or never, and bulk syncs of the peer's
    /// whole view, never hands out one generation twice.
    #[test]
    fn no_generation_is_ever_handed_out_twice() {
        let mut rng: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for _case in 0..2000 {
            let nodes = [node(1), node(2)];
            let mut disk = [IvGenerations::default(); 2];
            let mut alloc = nodes.map(|n| IvAllocator::new(n, IvGenerations::default()));
            // Syncs in flight towards each node, delivered in any order or dropped.
            let mut in_flight: [Vec<IvGenerations>; 2] = [Vec::new(), Vec::new()];
            let mut used = HashSet::new();
            for _step in 0..60 {
                let i = (next() % 2) as usize;
                match next() % 6 {
                    0 | 1 => {
                        let (g, persist) = alloc[i].take_over().expect("not exhausted in 60 steps");
                        disk[i] = persist;
                        assert!(used.insert(g), "generation {g} handed out twice");
                        in_flight[1 - i].push(persist);
                    }
                    2 => {
                        // Restart: memory gone, disk kept.
                        alloc[i] = IvAllocator::new(nodes[i], disk[i]);
                    }
                    3 => {
                        if !in_flight[i].is_empty() {
                            let k = (next() as usize) % in_flight[i].len();
                            let g = in_flight[i].swap_remove(k);
                            alloc[i].merge(&g);
                        }
                    }
                    4 => in_flight[i].clear(),
                    _ => {
                        // A bulk sync: the peer's whole view, persisted as it is merged.
                        let view = alloc[1 - i].state();
                        alloc[i].merge(&view);
                        disk[i] = alloc[i].state();
                    }
                }
            }
        }
    }
}
