//! What names an SA and which way it carries traffic: the small types that the SA itself and
//! its HA snapshots both speak of, in a module of their own so that neither depends on the
//! other for them.

/// Where an SA sits in the SAD: chosen by the control plane, stable for the SA's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SaId(pub u32);

/// Which traffic an SA protects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}
