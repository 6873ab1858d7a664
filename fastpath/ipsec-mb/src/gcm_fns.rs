//! What a manager keeps for AES-GCM (`gcm`): the library's direct functions of its code
//! path, their scratch state, and which texts this crate's own code takes.

use crate::{gcm_short, sys};

type EncDec = unsafe extern "C" fn(
    *const sys::gcm_key_data,
    *mut sys::gcm_context_data,
    *mut u8,
    *const u8,
    u64,
    *const u8,
    *const u8,
    u64,
    *mut u8,
    u64,
);

/// The direct GCM functions of a manager's code path, and their scratch state.
pub(crate) struct Gcm {
    pub(crate) enc128: EncDec,
    pub(crate) dec128: EncDec,
    pub(crate) enc256: EncDec,
    pub(crate) dec256: EncDec,
    pub(crate) ctx: sys::gcm_context_data,
    /// Texts through `gcm_short` and `gcm_long` rather than the library, where the CPU has it.
    pub(crate) own: bool,
    /// Whether the next key may be out of cache: texts longer than `gcm_short`'s then go to
    /// `gcm_long`, which reads fewer of the key's lines; with the key in cache the library is
    /// faster but for opening long texts (`gcm_long::OPEN_HOT_FROM`).
    pub(crate) cold_key: bool,
}

impl Gcm {
    pub(crate) fn of(m: &sys::IMB_MGR) -> Option<Gcm> {
        Some(Gcm {
            enc128: m.gcm128_enc?,
            dec128: m.gcm128_dec?,
            enc256: m.gcm256_enc?,
            dec256: m.gcm256_dec?,
            ctx: Default::default(),
            own: gcm_short::cpu_has(),
            cold_key: true,
        })
    }
}
