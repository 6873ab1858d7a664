//! The security association database (RFC 4301 §4.4.2). SAs live in slots indexed by their
//! [`SaId`] (chosen by the control plane, so every worker's SAD agrees on ids); inbound lookup
//! is by SPI through a flat table seeded at random (SPIs come from the network, see
//! [`spi_table`]), so it costs the same for 1 SA and for 100,000.

mod spi_table;

use crate::sa::{Direction, Sa, SaConfig, SaError, SaId};
use spi_table::SpiTable;

/// The highest SA id a SAD takes. Slots are indexed by id, so the bound is what keeps an id
/// from the control plane from growing one worker's slot vector to gigabytes (2^20 slots of
/// one pointer each: 8 MiB at most).
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
    slots: Vec<Option<Box<Sa>>>,
    inbound_by_spi: SpiTable,
    len: usize,
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
        if self.slots.get(index).is_some_and(|s| s.is_some()) {
            return Err(SadError::IdInUse(id.0));
        }
        if config.direction == Direction::Inbound && self.inbound_by_spi.contains(config.spi) {
            return Err(SadError::SpiInUse(config.spi));
        }
        let sa = Sa::new(id, config, now_ns)?;
        if sa.config.direction == Direction::Inbound {
            self.inbound_by_spi.insert(sa.config.spi, id.0);
        }
        if self.slots.len() <= index {
            self.slots.resize_with(index + 1, || None);
        }
        self.slots[index] = Some(Box::new(sa));
        self.len += 1;
        Ok(())
    }

    /// Removes an SA, returning it.
    pub fn remove(&mut self, id: SaId) -> Option<Box<Sa>> {
        let sa = self.slots.get_mut(id.0 as usize)?.take()?;
        if sa.config.direction == Direction::Inbound {
            self.inbound_by_spi.remove(sa.config.spi);
        }
        self.len -= 1;
        Some(sa)
    }

    pub fn get(&self, id: SaId) -> Option<&Sa> {
        self.slots.get(id.0 as usize)?.as_deref()
    }

    pub fn get_mut(&mut self, id: SaId) -> Option<&mut Sa> {
        self.slots.get_mut(id.0 as usize)?.as_deref_mut()
    }

    /// Asks for the lines of SA `id` that a packet touches. A burst's first pass calls it
    /// for every packet, so that with many SAs the misses overlap across the burst rather
    /// than stall each packet in turn (software pipelining, as VPP and DPDK's ipsec library
    /// do); the slot itself is read now.
    #[inline(always)]
    pub fn prefetch(&self, id: SaId) {
        if let Some(Some(sa)) = self.slots.get(id.0 as usize) {
            sa.prefetch();
        }
    }

    /// The inbound SA for an SPI.
    #[inline]
    pub fn lookup_inbound(&self, spi: u32) -> Option<SaId> {
        self.inbound_by_spi.get(spi).map(SaId)
    }

    /// Asks for the line that [`Sad::lookup_inbound`] of `spi` reads first: a burst's first
    /// pass asks for every packet's, the lookups follow a stage later.
    #[inline(always)]
    pub fn prefetch_spi(&self, spi: u32) {
        self.inbound_by_spi.prefetch(spi);
    }

    /// Asks for SA `id`'s slot (the pointer to it), a stage before [`Sad::prefetch`] reads
    /// it.
    #[inline(always)]
    pub fn prefetch_slot(&self, id: SaId) {
        if let Some(slot) = self.slots.get(id.0 as usize) {
            crate::sa::prefetch(slot, 1);
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every SA, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Sa> {
        self.slots.iter().filter_map(|s| s.as_deref())
    }

    /// Every SA, by id, writable (the owner's periodic work: snapshots, activation).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Sa> {
        self.slots.iter_mut().filter_map(|s| s.as_deref_mut())
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
        let keys = TransformKeys {
            enc: EncAlg::AesGcm16_128,
            integ: IntegAlg::None,
            enc_key: (0..20).collect(),
            auth_key: Vec::new(),
        };
        let (local, remote) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        SaConfig::tunnel(spi, Direction::Inbound, local, remote, keys)
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
}
