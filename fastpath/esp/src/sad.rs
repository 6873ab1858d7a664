//! The security association database (RFC 4301 §4.4.2). SAs live in slots indexed by their
//! [`SaId`] (chosen by the control plane, so every worker's SAD agrees on ids); inbound lookup
//! is by SPI through a flat table seeded at random (SPIs come from the network, see
//! [`spi_table`]), so it costs the same for 1 SA and for 100,000. The SAs themselves are
//! stored in huge-page chunks ([`arena`]), the slots hold their positions, and so does the
//! SPI index: a received packet's SA is found without reading its slot.

mod arena;
mod sa_ref;
mod spi_table;

use crate::sa::{Direction, Sa, SaConfig, SaError, SaId};
use arena::SaArena;
pub use sa_ref::SaRef;
use spi_table::SpiTable;

/// The highest SA id a SAD takes. Slots are indexed by id, so the bound is what keeps an id
/// from the control plane from growing one worker's slot vector to gigabytes (2^20 slots of
/// 4 bytes each: 4 MiB at most).
pub const MAX_SA_ID: u32 = (1 << 20) - 1;

/// Why an SA could not be installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SadError {
    #[error("SA id {0} is above the highest one, {MAX_SA_ID}")]
    IdTooLarge(u32),
    #[error("SA id {0} is in use")]
    IdInUse(u32),
    #[error("inbound SPI {0:#x} is in use")]
    SpiInUse(u32),
    #[error("{0}")]
    Sa(#[from] SaError),
}

/// The SAs one worker owns (one writer per SA).
#[derive(Debug, Default)]
pub struct Sad {
    /// Per id, the SA's position in `arena` (`VACANT`: none).
    slots: Vec<u32>,
    arena: SaArena,
    inbound_by_spi: SpiTable,
    len: usize,
    /// Counts the inserts and removals, which may move SAs: a position taken at one count
    /// is good while the count stays (`Sad::layout`).
    layout: u64,
}

/// A slot without an SA.
const VACANT: u32 = u32::MAX;

/// SAs beyond which a burst's SA reads are staged (`Sad::prefers_stages`).
const STAGES_FROM: usize = 1024;

/// Where an SA is in its SAD's arena, as the SPI index and the outbound SPD give it: valid
/// until the next insert or removal (a removal moves the last SA into the hole), that is
/// while [`Sad::layout`] stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SaPos(u32);

impl SaPos {
    /// No SA's position: finds none.
    pub const NONE: SaPos = SaPos(VACANT);
}

impl Sad {
    pub fn new() -> Self {
        Sad::default()
    }

    /// Installs an SA at `id` (at most [`MAX_SA_ID`]).
    pub fn insert(&mut self, id: SaId, config: SaConfig, now_ns: u64) -> Result<(), SadError> {
        if id.0 > MAX_SA_ID {
            return Err(SadError::IdTooLarge(id.0));
        }
        let index = id.0 as usize;
        if self.slots.get(index).is_some_and(|&s| s != VACANT) {
            return Err(SadError::IdInUse(id.0));
        }
        if config.direction == Direction::Inbound && self.inbound_by_spi.contains(config.spi) {
            return Err(SadError::SpiInUse(config.spi));
        }
        let sa = Sa::new(id, config, now_ns)?;
        let inbound_spi = (sa.config.direction == Direction::Inbound).then_some(sa.config.spi);
        if self.slots.len() <= index {
            self.slots.resize(index + 1, VACANT);
        }
        let at = self.arena.push(sa);
        self.layout += 1;
        self.slots[index] = at;
        if let Some(spi) = inbound_spi {
            self.inbound_by_spi.insert(spi, at);
        }
        self.len += 1;
        Ok(())
    }

    /// Removes an SA, returning it.
    pub fn remove(&mut self, id: SaId) -> Option<Sa> {
        let slot = self.slots.get_mut(id.0 as usize)?;
        let at = std::mem::replace(slot, VACANT);
        let (sa, moved) = self.arena.swap_remove(at)?;
        self.layout += 1;
        debug_assert_eq!(sa.id, id, "an SA's id is the slot it is found by");
        if let Some(moved) = moved {
            self.slots[moved.0 as usize] = at;
            let config = &self.arena.get(at).expect("moved into the hole").config;
            if config.direction == Direction::Inbound {
                self.inbound_by_spi.set(config.spi, at);
            }
        }
        if sa.config.direction == Direction::Inbound {
            self.inbound_by_spi.remove(sa.config.spi);
        }
        self.len -= 1;
        Some(sa)
    }

    #[inline]
    pub fn get(&self, id: SaId) -> Option<&Sa> {
        self.arena.get(*self.slots.get(id.0 as usize)?)
    }

    #[inline]
    pub fn get_mut(&mut self, id: SaId) -> Option<&mut Sa> {
        self.arena.get_mut(*self.slots.get(id.0 as usize)?)
    }

    /// Asks for the lines of SA `id` that a packet of `direction` reads (the caller's
    /// direction: [`Sa::prefetch`]). A burst's first pass calls it
    /// for every packet, so that with many SAs the misses overlap across the burst rather
    /// than stall each packet in turn (software pipelining, as VPP and DPDK's ipsec library
    /// do); the slot itself is read now, the SA not at all.
    #[inline(always)]
    pub fn prefetch(&self, id: SaId, direction: Direction) {
        if let Some(sa) = self
            .slots
            .get(id.0 as usize)
            .and_then(|&at| self.arena.get(at))
        {
            sa.prefetch(direction);
        }
    }

    /// Whether a burst's SA reads are worth staging (the lines of all its packets asked for
    /// a pass ahead): only when the SAs are too many to stay in a core's cache; a packet
    /// reads about 11 lines of its SA, so 1024 SAs are some 700 KB of lines, within L2.
    #[inline]
    pub(crate) fn prefers_stages(&self) -> bool {
        self.len > STAGES_FROM
    }

    /// The inbound SA for an SPI.
    #[inline]
    pub fn lookup_inbound(&self, spi: u32) -> Option<SaId> {
        self.arena
            .get(self.inbound_by_spi.get(spi)?)
            .map(|sa| sa.id)
    }

    /// Where the inbound SA for an SPI is, for the burst at hand: one line of the index read,
    /// and the SA's address follows from it (no slot to wait for).
    #[inline]
    pub(crate) fn find_inbound(&self, spi: u32) -> Option<SaPos> {
        self.inbound_by_spi.get(spi).map(SaPos)
    }

    /// Where SA `id` is, until the next insert or removal.
    #[inline]
    pub fn position(&self, id: SaId) -> Option<SaPos> {
        let at = *self.slots.get(id.0 as usize)?;
        (at != VACANT).then_some(SaPos(at))
    }

    /// How many inserts and removals the SAD has seen: positions taken since it last
    /// changed are good.
    pub fn layout(&self) -> u64 {
        self.layout
    }

    #[inline(always)]
    pub fn at(&self, pos: SaPos) -> Option<&Sa> {
        self.arena.get(pos.0)
    }

    #[inline(always)]
    pub fn at_mut(&mut self, pos: SaPos) -> Option<&mut Sa> {
        self.arena.get_mut(pos.0)
    }

    /// [`Sad::prefetch`] of the SA at `pos`: no slot to read first.
    #[inline(always)]
    pub fn prefetch_at(&self, pos: SaPos, direction: Direction) {
        if let Some(sa) = self.arena.get(pos.0) {
            sa.prefetch(direction);
        }
    }

    /// Asks for the line that [`Sad::find_inbound`] of `spi` reads first: a burst's first
    /// pass asks for every packet's, the lookups follow a stage later.
    #[inline(always)]
    pub fn prefetch_spi(&self, spi: u32) {
        self.inbound_by_spi.prefetch(spi);
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every SA, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Sa> {
        self.slots.iter().filter_map(|&at| self.arena.get(at))
    }

    /// Every SA, writable, in no particular order (the owner's periodic work: snapshots,
    /// activation).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Sa> {
        self.arena.iter_mut()
    }

    /// The slot count (ids below it may be in use), for incremental sweeps.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{EncAlg, IntegAlg, TransformKeys};

    fn config(spi: u32) -> SaConfig {
        config_of(spi, Direction::Inbound)
    }

    fn config_of(spi: u32, direction: Direction) -> SaConfig {
        let keys = TransformKeys {
            enc: EncAlg::AesGcm16_128,
            integ: IntegAlg::None,
            enc_key: (0..20).collect(),
            auth_key: Vec::new(),
        };
        let (local, remote) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        SaConfig::tunnel(spi, direction, local, remote, keys)
    }

    #[test]
    fn an_id_above_the_bound_is_refused_without_growing_the_slots() {
        let mut sad = Sad::new();
        for id in [MAX_SA_ID + 1, u32::MAX] {
            assert_eq!(
                sad.insert(SaId(id), config(0x100), 0),
                Err(SadError::IdTooLarge(id))
            );
        }
        assert_eq!((sad.len(), sad.capacity()), (0, 0));
        assert_eq!(
            sad.lookup_inbound(0x100),
            None,
            "a refused SA leaves no SPI behind"
        );
        sad.insert(SaId(MAX_SA_ID), config(0x100), 0).unwrap();
        assert_eq!(sad.capacity(), MAX_SA_ID as usize + 1);
        assert_eq!(sad.lookup_inbound(0x100), Some(SaId(MAX_SA_ID)));
        assert_eq!(sad.get(SaId(MAX_SA_ID)).unwrap().config.spi, 0x100);
    }

    /// An SA of either direction, by id: a third of them outbound (not in the SPI index).
    fn direction_of(id: u32) -> Direction {
        if id.is_multiple_of(3) {
            Direction::Outbound
        } else {
            Direction::Inbound
        }
    }

    /// Random installs and removals of both directions across more than one chunk: every id
    /// finds its own SA, and every inbound SPI its SA's position, after the removals moved
    /// others into the holes; a removed id and its SPI find none. Checked after every step
    /// on a sample, and in full at the end.
    #[test]
    fn ids_and_spis_find_their_sas_through_removals_that_move_others() {
        let mut rng = toolkit::xorshift::Rng::new(7);
        let mut sad = Sad::new();
        let mut live = std::collections::BTreeSet::new();
        let ids = (arena::CHUNK_SAS + 300) as u64;
        let check = |sad: &Sad, live: &std::collections::BTreeSet<u32>, id: u32| {
            let got = sad.get(SaId(id)).map(|sa| (sa.id, sa.config.spi));
            let want = live.contains(&id).then_some((SaId(id), id + 1));
            assert_eq!(got, want, "id {id}");
            let inbound = want.filter(|_| direction_of(id) == Direction::Inbound);
            assert_eq!(sad.lookup_inbound(id + 1), inbound.map(|w| w.0));
            let found = sad.find_inbound(id + 1).and_then(|pos| sad.at(pos));
            assert_eq!(
                found.map(|sa| (sa.id, sa.config.spi)),
                inbound,
                "SPI {}",
                id + 1
            );
        };
        let (mut removed, mut moved_inbound) = (0, 0);
        for _ in 0..3 * ids {
            let id = (rng.next_u64() % ids) as u32;
            if live.contains(&id) && rng.next_u64().is_multiple_of(3) {
                let last = sad.arena.get(sad.len() as u32 - 1).map(|sa| sa.id);
                let sa = sad.remove(SaId(id)).expect("installed");
                assert_eq!((sa.id, sa.config.spi), (SaId(id), id + 1));
                live.remove(&id);
                removed += 1;
                if let Some(moved) = last.filter(|&m| m != SaId(id)) {
                    moved_inbound += (direction_of(moved.0) == Direction::Inbound) as u32;
                    check(&sad, &live, moved.0);
                }
            } else if !live.contains(&id) {
                let config = config_of(id + 1, direction_of(id));
                sad.insert(SaId(id), config, 0).unwrap();
                live.insert(id);
            }
            check(&sad, &live, id);
        }
        assert!(
            removed > 1000 && moved_inbound > 500,
            "{removed} {moved_inbound}"
        );
        assert_eq!(sad.len(), live.len());
        for id in 0..ids as u32 {
            check(&sad, &live, id);
        }
        let ids_seen: Vec<u32> = sad.iter().map(|sa| sa.id.0).collect();
        assert_eq!(ids_seen, live.iter().copied().collect::<Vec<_>>(), "by id");
        assert_eq!(sad.iter_mut().count(), live.len());
        assert!(sad.remove(SaId(ids as u32)).is_none());
    }

    /// The sizes of what one SA costs, per SAD: the SA (keys inline), its slot, its SPI entry.
    #[test]
    fn per_sa_sizes() {
        let sa = std::mem::size_of::<Sa>();
        println!(
            "Sa {sa} B (session with keys {} B), slot 4 B, SPI entry 8 B (table at most half full)",
            std::mem::size_of::<crate::crypto::Session>()
        );
        assert_eq!(sa % 64, 0, "SAs packed on line boundaries");
        assert!(sa <= 2048, "{sa}");
    }
}
