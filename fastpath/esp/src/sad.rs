//! The security association database (RFC 4301 §4.4.2). SAs live in slots indexed by their
//! [`SaId`] (chosen by the control plane, so every worker's SAD agrees on ids); inbound lookup
//! is by SPI through a hash map seeded at random (SPIs come from the network), so it costs the
//! same for 1 SA and for 100,000.

use crate::sa::{Direction, Sa, SaConfig, SaError, SaId};
use std::collections::HashMap;

/// Why an SA could not be installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SadError {
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
    inbound_by_spi: HashMap<u32, SaId, foldhash::fast::RandomState>,
    len: usize,
}

impl Sad {
    pub fn new() -> Self {
        Sad::default()
    }

    /// Installs an SA at `id`.
    pub fn insert(&mut self, id: SaId, config: SaConfig, now_ns: u64) -> Result<(), SadError> {
        let index = id.0 as usize;
        if self.slots.get(index).is_some_and(|s| s.is_some()) {
            return Err(SadError::IdInUse(id.0));
        }
        if config.direction == Direction::Inbound && self.inbound_by_spi.contains_key(&config.spi) {
            return Err(SadError::SpiInUse(config.spi));
        }
        let sa = Sa::new(id, config, now_ns)?;
        if sa.config.direction == Direction::Inbound {
            self.inbound_by_spi.insert(sa.config.spi, id);
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
            self.inbound_by_spi.remove(&sa.config.spi);
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

    /// The inbound SA for an SPI.
    pub fn lookup_inbound(&self, spi: u32) -> Option<SaId> {
        self.inbound_by_spi.get(&spi).copied()
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
