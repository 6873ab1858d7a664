//! Next hops: what a route leads to, stored once however many routes share it. The writer
//! keeps them deduplicated and counted; readers decode a slot of three atomic words by the id
//! a lookup returned. A slot is written before any entry points to it and reused only after
//! a grace period, so a reader never sees a slot change under it.

use crate::rcu::{Rcu, Retired};
use crate::FibError;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NextHopKind {
    /// Forward to this neighbour on the port.
    Gateway(IpAddr),
    /// The destination itself is on the port's link: it is the neighbour.
    Connected,
    /// Drop silently (a discard route).
    Blackhole,
    /// Addressed to this node: to the exception path.
    Local,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NextHop {
    pub port: u16,
    pub kind: NextHopKind,
}

impl NextHop {
    pub fn gateway(port: u16, addr: IpAddr) -> NextHop {
        NextHop {
            port,
            kind: NextHopKind::Gateway(addr),
        }
    }

    pub fn connected(port: u16) -> NextHop {
        NextHop {
            port,
            kind: NextHopKind::Connected,
        }
    }
}

/// A next hop's index in the table, as a lookup returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NhId(pub u32);

/// One next hop as readers see it: port and kind, then the address in two words.
#[derive(Default)]
pub struct Slot([AtomicU64; 3]);

const GW4: u64 = 1;
const GW6: u64 = 2;
const CONNECTED: u64 = 3;
const BLACKHOLE: u64 = 4;
const LOCAL: u64 = 5;

impl Slot {
    fn write(&self, nh: &NextHop) {
        let (kind, addr) = match nh.kind {
            NextHopKind::Gateway(IpAddr::V4(a)) => (GW4, u128::from(u32::from(a))),
            NextHopKind::Gateway(IpAddr::V6(a)) => (GW6, u128::from(a)),
            NextHopKind::Connected => (CONNECTED, 0),
            NextHopKind::Blackhole => (BLACKHOLE, 0),
            NextHopKind::Local => (LOCAL, 0),
        };
        self.0[1].store((addr >> 64) as u64, Ordering::Relaxed);
        self.0[2].store(addr as u64, Ordering::Relaxed);
        self.0[0].store(u64::from(nh.port) | kind << 16, Ordering::Release);
    }

    pub fn read(&self) -> NextHop {
        let w0 = self.0[0].load(Ordering::Acquire);
        let addr = u128::from(self.0[1].load(Ordering::Relaxed)) << 64
            | u128::from(self.0[2].load(Ordering::Relaxed));
        let kind = match w0 >> 16 {
            GW4 => NextHopKind::Gateway(IpAddr::V4(Ipv4Addr::from(addr as u32))),
            GW6 => NextHopKind::Gateway(IpAddr::V6(Ipv6Addr::from(addr))),
            CONNECTED => NextHopKind::Connected,
            LOCAL => NextHopKind::Local,
            _ => NextHopKind::Blackhole,
        };
        NextHop {
            port: w0 as u16,
            kind,
        }
    }
}

pub fn slots(n: u32) -> Box<[Slot]> {
    (0..n).map(|_| Slot::default()).collect()
}

/// The writer's side: id by next hop, and how many routes use each id.
pub struct NextHops {
    ids: HashMap<NextHop, u32, foldhash::fast::RandomState>,
    refs: Vec<u32>,
    retired: Retired,
}

/// How long a new next hop waits for readers to release a retired slot when all are taken.
const SLOT_WAIT: Duration = Duration::from_millis(200);

impl NextHops {
    pub fn new() -> NextHops {
        NextHops {
            ids: HashMap::default(),
            refs: Vec::new(),
            retired: Retired::default(),
        }
    }

    /// The id of `nh` with one more reference, writing a new slot if it is new.
    pub fn acquire(&mut self, slots: &[Slot], rcu: &Rcu, nh: &NextHop) -> Result<u32, FibError> {
        if let Some(&id) = self.ids.get(nh) {
            self.refs[id as usize] += 1;
            return Ok(id);
        }
        let id = if self.refs.len() < slots.len() {
            self.refs.push(0);
            self.refs.len() as u32 - 1
        } else {
            self.retired
                .take(rcu, SLOT_WAIT)
                .ok_or(FibError::NextHopsExhausted)?
        };
        slots[id as usize].write(nh);
        self.refs[id as usize] = 1;
        self.ids.insert(*nh, id);
        Ok(id)
    }

    /// Drops one reference to `id`; the last one retires the slot.
    pub fn release(&mut self, slots: &[Slot], rcu: &Rcu, id: u32) {
        let Some(r) = self.refs.get_mut(id as usize).filter(|r| **r > 0) else {
            return;
        };
        *r -= 1;
        if *r == 0 {
            self.ids.remove(&slots[id as usize].read());
            self.retired.push(rcu.retire(), id);
        }
    }

    /// Routes using `nh` (0 if none).
    pub fn refs(&self, nh: &NextHop) -> u32 {
        self.ids.get(nh).map_or(0, |&id| self.refs[id as usize])
    }

    /// Distinct next hops in use.
    pub fn len(&self) -> usize {
        self.ids.len()
    }
}
