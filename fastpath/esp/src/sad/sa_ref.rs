//! How a burst names its packets' SAs: by id, which reads the SA's slot first, or by
//! position, as the outbound SPD hands it over (no slot on the way to the SA's lines).

use super::{SaPos, Sad};
use crate::sa::SaId;

/// An SA as a burst names it.
pub trait SaRef: Copy + PartialEq {
    /// Where the SA is now ([`SaPos::NONE`] if there is none).
    fn position(self, sad: &Sad) -> SaPos;
}

impl SaRef for SaId {
    #[inline(always)]
    fn position(self, sad: &Sad) -> SaPos {
        sad.position(self).unwrap_or(SaPos::NONE)
    }
}

impl SaRef for SaPos {
    #[inline(always)]
    fn position(self, _: &Sad) -> SaPos {
        self
    }
}
