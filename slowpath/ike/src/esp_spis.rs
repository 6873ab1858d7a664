//! The inbound ESP SPIs of a node. The fast path finds an inbound SA by its SPI alone, and
//! both the IKEv2 engine and the IKEv1 engine install into it: they pick from one set. The
//! IKEv2 engine makes it (`Engine::esp_spis`) and the IKEv1 engine is handed a share
//! (`V1Engine::share_esp_spis`); a clone is another handle on the same set.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use crate::half_open::ShrinkWhenSparse;
use crate::rng::{random_u32, RngSource};

#[derive(Debug, Clone, Default)]
pub struct EspSpis(Rc<RefCell<HashSet<u32>>>);

impl EspSpis {
    /// A fresh inbound SPI, taken: one no engine of the node holds, never 1 to 255 (reserved,
    /// RFC 4303 2.1) nor 0.
    pub fn take_new(&self, rng: &mut dyn RngSource) -> u32 {
        loop {
            let spi = random_u32(rng);
            if spi > 255 && self.insert(spi) {
                return spi;
            }
        }
    }

    /// Marks `spi` taken; false if it already was.
    pub fn insert(&self, spi: u32) -> bool {
        self.0.borrow_mut().insert(spi)
    }

    pub fn remove(&self, spi: &u32) -> bool {
        self.0.borrow_mut().remove(spi)
    }

    pub fn contains(&self, spi: &u32) -> bool {
        self.0.borrow().contains(spi)
    }

    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.0.borrow().capacity()
    }

    pub fn shrink_when_sparse(&self) {
        self.0.borrow_mut().shrink_when_sparse();
    }

    /// Takes every SPI `other` holds too (nothing when it is the same set).
    pub fn absorb(&self, other: &EspSpis) {
        if !self.same_set(other) {
            let theirs = other.0.borrow();
            self.0.borrow_mut().extend(theirs.iter().copied());
        }
    }

    /// Whether `other` is a handle on the same set.
    pub fn same_set(&self, other: &EspSpis) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

#[cfg(test)]
#[path = "esp_spis_tests.rs"]
mod tests;
