//! What a manager keeps for synchronous bursts (`sync`): the library's burst functions of
//! its code path, the array of jobs they run, and which of this crate's own lanes take them.

use crate::job::{Dir, MAX_BURST};
use crate::keys::{AesKeys, HmacAlg, HmacKey};
use crate::{aes_cbc_x16, hmac_sha1_x16, sys};

type CipherBurst = unsafe extern "C" fn(
    *mut sys::IMB_MGR,
    *mut sys::IMB_JOB,
    u32,
    sys::IMB_CIPHER_MODE,
    sys::IMB_CIPHER_DIRECTION,
    sys::IMB_KEY_SIZE_BYTES,
) -> u32;
type HashBurst =
    unsafe extern "C" fn(*mut sys::IMB_MGR, *mut sys::IMB_JOB, u32, sys::IMB_HASH_ALG) -> u32;

/// The burst functions of a manager's code path, and the array of jobs they run.
pub(crate) struct SyncFns {
    pub(crate) cipher: CipherBurst,
    pub(crate) hash: HashBurst,
    pub(crate) jobs: Box<[sys::IMB_JOB; MAX_BURST]>,
    /// The jobs `..primed.1` hold the fields that kind `primed.0` fixes (the library only
    /// writes their status): a burst of the same kind writes those fields of new jobs only.
    pub(crate) primed: (Option<SyncKind>, usize),
    /// HMAC-SHA1 in our own AVX-512 lanes (`hmac_sha1_x16`) instead of the library's burst.
    pub(crate) own_sha1: bool,
    /// AES-CBC encryption in our own VAES lanes (`aes_cbc_x16`) instead of the library's burst.
    /// Bursts alternated in the real process (`bench/ab_interleaved.sh`, both orders), time per
    /// burst with them over the library's, AES-128-CBC + HMAC-SHA1 out: 0.918 (64-byte frames),
    /// 0.958 (512), 0.984 (1400), 0.985 (IMIX).
    pub(crate) own_cbc: bool,
}

impl SyncFns {
    pub(crate) fn of(m: &sys::IMB_MGR) -> Option<SyncFns> {
        Some(SyncFns {
            cipher: m.submit_cipher_burst_nocheck?,
            hash: m.submit_hash_burst_nocheck?,
            jobs: Box::new(std::array::from_fn(|_| sys::IMB_JOB::default())),
            primed: (None, 0),
            own_sha1: hmac_sha1_x16::available(),
            own_cbc: aes_cbc_x16::cpu_has(),
        })
    }
}

/// What every job of a synchronous burst shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncKind {
    pub dir: Dir,
    /// AES key length in bytes: 16 or 32.
    pub cbc_key_len: usize,
    pub hmac: HmacAlg,
}

impl SyncKind {
    /// The kind of AES-CBC jobs with these keys, in `dir`.
    pub fn new(dir: Dir, cbc: &AesKeys, hmac: &HmacKey) -> SyncKind {
        SyncKind {
            dir,
            cbc_key_len: cbc.key_len(dir),
            hmac: hmac.alg,
        }
    }
}
