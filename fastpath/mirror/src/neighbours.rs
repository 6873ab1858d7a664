//! The neighbours the kernel resolved, for the workers: (port, address) -> MAC in a fixed
//! open-addressed table. One writer (the mirror thread) and any number of readers. Each slot
//! is a seqlock over four atomic words, so a reader never waits on the writer and never sees a
//! torn entry; slots are never freed (a deleted entry is marked dead and its slot reused), so
//! there is nothing to reclaim. A key lives within `PROBE` slots of its home, so a lookup reads
//! at most `PROBE` slots, and in practice the first.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::sync::Arc;
use toolkit::MacAddr;

/// The slots a key may be placed in after its home slot, and so a lookup reads at most.
pub const PROBE: usize = 16;

/// A reader gives up (a miss: the packet waits for resolution) if the writer rewrites the
/// slot under it this many times in a row, so that a lookup is bounded even then.
const READ_TRIES: usize = 4;

const EMPTY: u64 = 0;
const LIVE: u64 = 1;
const DEAD: u64 = 2;

/// `head` holds: bit 0 set while the writer rewrites the slot, bits 1-2 its state, the rest a
/// version that every rewrite bumps. `mac_port` holds the MAC in its top 48 bits, the port in
/// its low 16.
#[derive(Default)]
struct Slot {
    head: AtomicU64,
    hi: AtomicU64,
    lo: AtomicU64,
    mac_port: AtomicU64,
}

struct Seen {
    state: u64,
    key: u128,
    mac_port: u64,
}

impl Slot {
    /// A consistent copy, or None if the writer kept changing it.
    #[inline]
    fn read(&self) -> Option<Seen> {
        for _ in 0..READ_TRIES {
            let before = self.head.load(Ordering::Acquire);
            if before & 1 != 0 {
                std::hint::spin_loop();
                continue;
            }
            let key = u128::from(self.hi.load(Ordering::Relaxed)) << 64
                | u128::from(self.lo.load(Ordering::Relaxed));
            let mac_port = self.mac_port.load(Ordering::Relaxed);
            // The data loads above complete before the second look at the head.
            fence(Ordering::Acquire);
            if self.head.load(Ordering::Relaxed) == before {
                return Some(Seen {
                    state: before >> 1 & 3,
                    key,
                    mac_port,
                });
            }
        }
        None
    }

    /// The writer only.
    fn write(&self, state: u64, key: u128, mac_port: u64) {
        let head = self.head.load(Ordering::Relaxed);
        self.head.store(head | 1, Ordering::Relaxed);
        // Readers that see any of the new data also see the slot marked as being written.
        fence(Ordering::Release);
        self.hi.store((key >> 64) as u64, Ordering::Relaxed);
        self.lo.store(key as u64, Ordering::Relaxed);
        self.mac_port.store(mac_port, Ordering::Relaxed);
        let version = (head >> 3) + 1;
        self.head
            .store(version << 3 | state << 1, Ordering::Release);
    }

    fn state(&self) -> u64 {
        self.head.load(Ordering::Relaxed) >> 1 & 3
    }
}

/// IPv4 addresses are kept IPv4-mapped, so that one 128-bit key serves both families.
fn key(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(a.to_ipv6_mapped()),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn unkey(key: u128) -> IpAddr {
    let v6 = std::net::Ipv6Addr::from(key);
    match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    }
}

struct Table {
    slots: Box<[Slot]>,
    mask: usize,
    /// 64 less the index bits.
    shift: u32,
}

impl Table {
    #[inline]
    fn home(&self, port: u16, key: u128) -> usize {
        // Fibonacci hashing: the product's top bits depend on every bit of the key.
        let folded = (key >> 64) as u64 ^ key as u64 ^ u64::from(port).rotate_right(16);
        (folded.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    #[inline]
    fn lookup(&self, port: u16, key: u128) -> Option<MacAddr> {
        let home = self.home(port, key);
        for i in 0..PROBE {
            let seen = self.slots[(home + i) & self.mask].read()?;
            match seen.state {
                EMPTY => return None,
                LIVE if seen.key == key && seen.mac_port as u16 == port => {
                    return Some(MacAddr::from_u64(seen.mac_port >> 16));
                }
                _ => {}
            }
        }
        None
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("no free slot near the neighbour's home (raise the neighbour table's size)")]
pub struct NeighboursFull;

/// The writer's side. Its index mirrors the slots so that it never has to read them back.
pub struct Neighbours {
    table: Arc<Table>,
    index: HashMap<(u16, u128), usize, foldhash::fast::RandomState>,
}

impl Neighbours {
    /// A table of `capacity` slots (rounded up to a power of two, at least `PROBE`); keep it a
    /// few times the neighbours expected so that keys stay near their home.
    pub fn new(capacity: usize) -> Neighbours {
        let n = capacity.max(PROBE).next_power_of_two();
        Neighbours {
            table: Arc::new(Table {
                slots: (0..n).map(|_| Slot::default()).collect(),
                mask: n - 1,
                shift: 64 - n.trailing_zeros(),
            }),
            index: HashMap::default(),
        }
    }

    pub fn reader(&self) -> NeighbourReader {
        NeighbourReader {
            table: self.table.clone(),
        }
    }

    /// Publishes `addr` on `port` at `mac`. Returns whether anything changed.
    pub fn set(&mut self, port: u16, addr: IpAddr, mac: MacAddr) -> Result<bool, NeighboursFull> {
        let k = key(addr);
        let mac_port = mac.to_u64() << 16 | u64::from(port);
        let slots = &self.table.slots;
        if let Some(&i) = self.index.get(&(port, k)) {
            if slots[i].mac_port.load(Ordering::Relaxed) == mac_port {
                return Ok(false);
            }
            slots[i].write(LIVE, k, mac_port);
            return Ok(true);
        }
        let home = self.table.home(port, k);
        let free = (0..PROBE)
            .map(|i| (home + i) & self.table.mask)
            .find(|&i| slots[i].state() != LIVE)
            .ok_or(NeighboursFull)?;
        slots[free].write(LIVE, k, mac_port);
        self.index.insert((port, k), free);
        Ok(true)
    }

    /// Forgets `addr` on `port`. Returns whether it was there.
    pub fn remove(&mut self, port: u16, addr: IpAddr) -> bool {
        let Some(i) = self.index.remove(&(port, key(addr))) else {
            return false;
        };
        let slot = &self.table.slots[i];
        let (k, mac_port) = (key(addr), slot.mac_port.load(Ordering::Relaxed));
        slot.write(DEAD, k, mac_port);
        true
    }

    pub fn get(&self, port: u16, addr: IpAddr) -> Option<MacAddr> {
        let &i = self.index.get(&(port, key(addr)))?;
        Some(MacAddr::from_u64(
            self.table.slots[i].mac_port.load(Ordering::Relaxed) >> 16,
        ))
    }

    /// Every neighbour held, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (u16, IpAddr, MacAddr)> + '_ {
        self.index.iter().map(|(&(port, k), &i)| {
            let mac = self.table.slots[i].mac_port.load(Ordering::Relaxed) >> 16;
            (port, unkey(k), MacAddr::from_u64(mac))
        })
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

/// One worker's handle: lookups never block and never allocate.
#[derive(Clone)]
pub struct NeighbourReader {
    table: Arc<Table>,
}

impl NeighbourReader {
    /// The MAC of `addr` on `port`, if the kernel has resolved it.
    #[inline]
    pub fn mac(&self, port: u16, addr: IpAddr) -> Option<MacAddr> {
        self.table.lookup(port, key(addr))
    }

    #[inline]
    pub fn mac_v4(&self, port: u16, addr: u32) -> Option<MacAddr> {
        self.table.lookup(port, 0xffff << 32 | u128::from(addr))
    }

    #[inline]
    pub fn mac_v6(&self, port: u16, addr: u128) -> Option<MacAddr> {
        self.table.lookup(port, addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn mac(last: u8) -> MacAddr {
        MacAddr([2, 0, 0, 0, 0, last])
    }

    #[test]
    fn set_update_remove_as_readers_see_them() {
        let mut n = Neighbours::new(64);
        let r = n.reader();
        let a: IpAddr = "10.0.0.2".parse().unwrap();
        let b: IpAddr = "2001:db8::2".parse().unwrap();
        assert_eq!(n.set(0, a, mac(1)), Ok(true));
        assert_eq!(n.set(0, a, mac(1)), Ok(false));
        assert_eq!(n.set(1, b, mac(2)), Ok(true));
        assert_eq!(r.mac(0, a), Some(mac(1)));
        assert_eq!(
            r.mac_v4(0, u32::from(Ipv4Addr::new(10, 0, 0, 2))),
            Some(mac(1))
        );
        assert_eq!(
            r.mac_v6(
                1,
                u128::from(b.to_string().parse::<std::net::Ipv6Addr>().unwrap())
            ),
            Some(mac(2))
        );
        // The same address on another port is another neighbour.
        assert_eq!(r.mac(1, a), None);
        assert_eq!(n.set(0, a, mac(9)), Ok(true));
        assert_eq!(r.mac(0, a), Some(mac(9)));
        assert!(n.remove(0, a));
        assert!(!n.remove(0, a));
        assert_eq!(r.mac(0, a), None);
        assert_eq!(n.get(1, b), Some(mac(2)));
        let all: Vec<_> = n.iter().collect();
        assert_eq!(all, vec![(1, b, mac(2))]);
    }

    #[test]
    fn a_full_neighbourhood_is_refused_and_dead_slots_are_reused() {
        let mut n = Neighbours::new(PROBE);
        let r = n.reader();
        let addr = |i: u32| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
        for i in 0..PROBE as u32 {
            assert_eq!(n.set(0, addr(i), mac(i as u8)), Ok(true));
        }
        assert_eq!(n.set(0, addr(99), mac(99)), Err(NeighboursFull));
        assert!(n.remove(0, addr(3)));
        assert_eq!(n.set(0, addr(99), mac(99)), Ok(true));
        for i in (0..PROBE as u32).filter(|&i| i != 3) {
            assert_eq!(r.mac(0, addr(i)), Some(mac(i as u8)), "{i}");
        }
        assert_eq!(r.mac(0, addr(99)), Some(mac(99)));
        assert_eq!(r.mac(0, addr(3)), None);
    }

    #[test]
    fn against_a_map_under_random_churn() {
        let mut n = Neighbours::new(1024);
        let r = n.reader();
        let mut reference = HashMap::new();
        let mut rng = toolkit::xorshift::Rng::new(7);
        for _ in 0..20_000 {
            let v = rng.next_u64();
            let (port, host) = ((v & 1) as u16, (v >> 8) as u32 % 300);
            let addr = IpAddr::V4(Ipv4Addr::from(0xc0a8_0000 + host));
            if v >> 40 & 3 == 0 {
                assert_eq!(
                    n.remove(port, addr),
                    reference.remove(&(port, addr)).is_some()
                );
            } else {
                let m = mac((v >> 48) as u8);
                n.set(port, addr, m).unwrap();
                reference.insert((port, addr), m);
            }
        }
        for port in 0..2 {
            for host in 0..300 {
                let addr = IpAddr::V4(Ipv4Addr::from(0xc0a8_0000 + host));
                assert_eq!(r.mac(port, addr), reference.get(&(port, addr)).copied());
            }
        }
        assert_eq!(n.len(), reference.len());
    }

    #[test]
    fn a_reader_racing_the_writer_sees_whole_entries_only() {
        let mut n = Neighbours::new(64);
        let r = n.reader();
        let addr: IpAddr = "10.0.0.2".parse().unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let watcher = {
            let stop = stop.clone();
            let seen = seen.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(m) = r.mac(0, addr) {
                        // Every MAC the writer publishes has all six octets equal.
                        let o = m.octets();
                        assert!(o.iter().all(|&b| b == o[0]), "torn MAC {m}");
                        seen.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        };
        // The writer goes on until the reader has raced it a while: on a loaded machine the
        // reader's thread may start only after many writes (bounded by a deadline).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut i = 0u32;
        while i < 200_000
            || (seen.load(Ordering::Relaxed) < 1000 && std::time::Instant::now() < deadline)
        {
            let b = (i % 251) as u8 + 1;
            n.set(0, addr, MacAddr([b; 6])).unwrap();
            if i.is_multiple_of(7) {
                n.remove(0, addr);
            }
            i = i.wrapping_add(1);
        }
        stop.store(true, Ordering::Relaxed);
        watcher.join().unwrap();
        assert!(seen.load(Ordering::Relaxed) > 0);
    }
}
