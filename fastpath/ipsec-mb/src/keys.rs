//! Prepared key material in the layout the job API expects: expanded AES keys, GCM hash-key
//! tables, HMAC inner/outer hash states. Built once per SA, then shared read-only by all lcores.

use crate::prefetch::{prefetch_to, Reach};
use crate::raw_mgr::RawMgr;
use crate::sys;
use std::ffi::c_void;
use std::sync::OnceLock;

type KeyExp = unsafe extern "C" fn(*const c_void, *mut c_void, *mut c_void);
type OneBlock = unsafe extern "C" fn(*const c_void, *mut c_void);
type GcmPre = unsafe extern "C" fn(*const c_void, *mut sys::gcm_key_data);

/// The key-preparation functions of the arch that `init_mb_mgr_auto` picks. They do not touch
/// manager state, so one copy serves all threads. The GCM tables depend on the arch, which is the
/// same for every manager on this CPU (all use `init_mb_mgr_auto` with the same flags).
struct KeyFns {
    keyexp_128: KeyExp,
    keyexp_256: KeyExp,
    sha1_one_block: OneBlock,
    sha256_one_block: OneBlock,
    gcm128_pre: GcmPre,
    gcm256_pre: GcmPre,
}

fn fns() -> Option<&'static KeyFns> {
    static FNS: OnceLock<Option<KeyFns>> = OnceLock::new();
    FNS.get_or_init(|| {
        let (m, _) = RawMgr::new()?;
        let r = m.as_ref();
        Some(KeyFns {
            keyexp_128: r.keyexp_128?,
            keyexp_256: r.keyexp_256?,
            sha1_one_block: r.sha1_one_block?,
            sha256_one_block: r.sha256_one_block?,
            gcm128_pre: r.gcm128_pre?,
            gcm256_pre: r.gcm256_pre?,
        })
    })
    .as_ref()
}

/// Expanded AES encryption and decryption round keys (16-byte aligned, as required).
///
/// Each direction's round keys follow a copy of the key's size on their first line, so that a
/// packet reads the size (a burst's jobs share it) from a line it reads anyway: an AES-128
/// key's 11 round keys and its size take 3 lines a direction, an AES-256 key's 15 take 4.
#[repr(C, align(64))]
pub struct AesKeys {
    enc_size: AesSize,
    pub(crate) enc: RoundKeys,
    dec_size: AesSize,
    pub(crate) dec: RoundKeys,
}

/// The longest expanded AES key (AES-256's 15 round keys), 16-byte aligned.
#[repr(C, align(16))]
pub(crate) struct RoundKeys(pub(crate) [u8; 15 * 16]);

impl RoundKeys {
    pub(crate) fn as_ptr(&self) -> *const u8 {
        self.0.as_ptr()
    }
}

// Two directions of 4 lines each, the size in the first 16 bytes of each.
const _: () = assert!(std::mem::size_of::<AesKeys>() == 512);
const _: () = assert!(std::mem::offset_of!(AesKeys, dec_size) == 256);

impl AesKeys {
    /// [`AesKeys::new`] without the check (`library_checks`).
    pub(crate) fn prepare(key: &[u8]) -> Option<Box<AesKeys>> {
        let f = fns()?;
        let size = AesSize::of(key)?;
        let exp = match size {
            AesSize::Aes128 => f.keyexp_128,
            AesSize::Aes256 => f.keyexp_256,
        };
        let mut k = Box::new(AesKeys {
            enc_size: size,
            enc: RoundKeys([0; 15 * 16]),
            dec_size: size,
            dec: RoundKeys([0; 15 * 16]),
        });
        // SAFETY: key holds 16 or 32 bytes, as its size says; enc and dec hold 15*16 bytes
        // each, 16-byte aligned.
        unsafe {
            exp(
                key.as_ptr().cast(),
                k.enc.0.as_mut_ptr().cast(),
                k.dec.0.as_mut_ptr().cast(),
            )
        };
        Some(k)
    }

    /// The key's length in bytes (16 or 32), read from `dir`'s round-key lines.
    #[inline(always)]
    pub fn key_len(&self, dir: crate::Dir) -> usize {
        match dir {
            crate::Dir::Encrypt => self.enc_size as usize,
            crate::Dir::Decrypt => self.dec_size as usize,
        }
    }

    /// Asks for the lines a job in `dir` reads: the size and the round keys that `size`, the
    /// key's size, has (the caller knows it without reading these lines).
    #[inline(always)]
    pub fn prefetch(&self, dir: crate::Dir, size: AesSize, reach: Reach) {
        let (at, keys) = match dir {
            crate::Dir::Encrypt => (&self.enc_size, &self.enc),
            crate::Dir::Decrypt => (&self.dec_size, &self.dec),
        };
        prefetch_to(at, 1, reach);
        prefetch_to(keys, size.round_key_bytes(), reach);
    }
}

/// The size of an AES key, as the prefetch of its round keys needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum AesSize {
    Aes128 = 16,
    Aes256 = 32,
}

impl AesSize {
    /// The size of a key of `key.len()` bytes, if AES has one.
    pub fn of(key: &[u8]) -> Option<AesSize> {
        match key.len() {
            16 => Some(AesSize::Aes128),
            32 => Some(AesSize::Aes256),
            _ => None,
        }
    }

    /// The bytes of its expanded encryption key: 11 round keys for AES-128 (3 lines), 15 for
    /// AES-256 (4 lines).
    #[inline(always)]
    pub(crate) fn round_key_bytes(self) -> usize {
        match self {
            AesSize::Aes128 => 11 * 16,
            AesSize::Aes256 => 15 * 16,
        }
    }
}

/// AES-GCM key: expanded key plus the precomputed GHASH key powers, in the library's
/// `gcm_key_data` layout (the library is handed [`GcmKey::lib`]).
///
/// `size` is an enum in the bytes the library's struct leaves as padding after its table, on
/// the line of the last powers (H^3..H^1), which every op reads: its spare values give the
/// enums that hold a `GcmKey` (an SA's session) their tags, so that they need no line of
/// their own, and a stage ahead asks for one line, [`GcmKey::SIZE_AT`], to learn both the
/// kind of key and how many lines of round keys to ask for, a line the op reads anyway.
#[repr(C, align(64))]
pub struct GcmKey {
    /// 15 round keys' room (AES-128 uses 11, AES-256 15).
    pub(crate) expanded_keys: [u8; 15 * 16],
    /// The hash-key powers, in the layout of the library's code path (VAES: H^48 first, H^1
    /// last).
    pub(crate) table: [u8; 48 * 16],
    pub(crate) size: AesSize,
    /// Unused: keeps the key at the 17 lines it took with its size on a line of its own, and
    /// so an SA at 29 lines. With the key at 16 (an SA of 28 lines, 1,792 bytes) `bench
    /// --bin esp --quick --only AES-128-GCM` ran 3-8 % slower at 100,000 SAs and 5 % slower
    /// at 64-byte decrypt with one SA, three runs of each build alternated.
    _spare: [u8; 64],
}

// The library's struct, field for field, and its padding where `size` is.
const _: () = {
    use std::mem::{align_of, offset_of, size_of};
    assert!(offset_of!(sys::gcm_key_data, expanded_keys) == offset_of!(GcmKey, expanded_keys));
    assert!(offset_of!(sys::gcm_key_data, ghash_keys) == offset_of!(GcmKey, table));
    assert!(size_of::<sys::gcm_key_data>() <= size_of::<GcmKey>());
    assert!(align_of::<sys::gcm_key_data>() == align_of::<GcmKey>());
    assert!(offset_of!(GcmKey, size) == offset_of!(GcmKey, table) + 48 * 16);
};

impl GcmKey {
    /// Where the key's size is: a stage ahead asks for this line first.
    pub const SIZE_AT: usize = std::mem::offset_of!(GcmKey, size);

    /// [`GcmKey::new`] without the check (`library_checks`).
    pub(crate) fn prepare(key: &[u8]) -> Option<Box<GcmKey>> {
        let f = fns()?;
        let size = AesSize::of(key)?;
        let pre = match size {
            AesSize::Aes128 => f.gcm128_pre,
            AesSize::Aes256 => f.gcm256_pre,
        };
        let mut data = sys::gcm_key_data::default();
        // SAFETY: key holds as many bytes as its size says; data is a properly aligned
        // gcm_key_data.
        unsafe { pre(key.as_ptr().cast(), &mut data) };
        let k = Box::new(GcmKey {
            expanded_keys: data.expanded_keys,
            table: hash_key_table(&data).try_into().ok()?,
            size,
            _spare: [0; 64],
        });
        Some(k)
    }

    /// The key's length in bytes (16 or 32).
    #[inline(always)]
    pub(crate) fn key_len(&self) -> usize {
        self.size as usize
    }

    /// The key as the library's functions take it.
    #[inline(always)]
    pub(crate) fn lib(&self) -> *const sys::gcm_key_data {
        (self as *const GcmKey).cast()
    }
}

/// The hash-key table of the library's GCM key data, as bytes (whatever the arch's layout).
fn hash_key_table(d: &sys::gcm_key_data) -> &[u8] {
    // SAFETY: every variant of the union is plain bytes, and the VAES one spans all of it.
    unsafe { &d.ghash_keys.vaes_avx512.shifted_hkey }
}

/// HMAC hash function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HmacAlg {
    Sha1,
    Sha256,
}

/// HMAC key as the job API wants it: the hash states after one block of key^ipad and key^opad.
///
/// The algorithm first, then the two states (32 bytes each, what SHA-256's take; SHA-1's are
/// 20): with SHA-1 all that a packet reads of its HMAC key is on one line, with SHA-256 two.
#[repr(C, align(64))]
pub struct HmacKey {
    pub(crate) alg: HmacAlg,
    _pad: [u8; 7],
    pub(crate) ipad: [u8; 32],
    pub(crate) opad: [u8; 32],
}

const _: () = assert!(std::mem::offset_of!(HmacKey, opad) + 20 <= 64);

impl HmacKey {
    /// Prepares an HMAC key of at most 64 bytes (the block size of SHA-1 and SHA-256; longer
    /// keys must be hashed first, RFC 2104 §2, which the caller does).
    pub fn new(alg: HmacAlg, key: &[u8]) -> Option<Box<HmacKey>> {
        let f = fns()?;
        if key.len() > 64 {
            return None;
        }
        let one_block = match alg {
            HmacAlg::Sha1 => f.sha1_one_block,
            HmacAlg::Sha256 => f.sha256_one_block,
        };
        let mut k = Box::new(HmacKey {
            alg,
            _pad: [0; 7],
            ipad: [0; 32],
            opad: [0; 32],
        });
        let mut block = [0u8; 64];
        for (pad, byte) in [(&mut k.ipad, 0x36u8), (&mut k.opad, 0x5c)] {
            block.fill(byte);
            block.iter_mut().zip(key).for_each(|(b, k)| *b ^= k);
            // SAFETY: block is one 64-byte hash block; pad holds the 32 bytes of state output
            // of SHA-256 (SHA-1's is 20).
            unsafe { one_block(block.as_ptr().cast(), pad.as_mut_ptr().cast()) };
        }
        block.fill(0);
        Some(k)
    }

    /// Asks for the algorithm and the inner and outer hash states of `alg`, the key's
    /// algorithm (the caller knows it without reading this line), a stage ahead.
    #[inline(always)]
    pub fn prefetch(&self, alg: HmacAlg, reach: Reach) {
        let state = match alg {
            HmacAlg::Sha1 => 20,
            HmacAlg::Sha256 => 32,
        };
        prefetch_to(self, std::mem::offset_of!(HmacKey, opad) + state, reach);
    }

    /// The hash function.
    pub fn alg(&self) -> HmacAlg {
        self.alg
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::prefetch::LINE;
    use crate::Dir;

    /// The lines of `value` that hold `fields` (address, length).
    pub(crate) fn lines<T>(value: &T, fields: &[(*const u8, usize)]) -> Vec<usize> {
        let base = (value as *const T) as usize;
        let mut l: Vec<usize> = fields
            .iter()
            .flat_map(|&(p, n)| {
                let at = p as usize - base;
                at / LINE..=(at + n - 1) / LINE
            })
            .collect();
        l.sort();
        l.dedup();
        l
    }

    #[test]
    fn a_job_reads_its_key_size_on_the_lines_of_its_round_keys() {
        for (key, want) in [(&[1u8; 16][..], 3), (&[1u8; 32][..], 4)] {
            let k = AesKeys::new(key).unwrap();
            let size = AesSize::of(key).unwrap();
            for dir in [Dir::Encrypt, Dir::Decrypt] {
                let (at, keys) = match dir {
                    Dir::Encrypt => (&k.enc_size, &k.enc),
                    Dir::Decrypt => (&k.dec_size, &k.dec),
                };
                let read = [
                    ((at as *const AesSize).cast(), 1),
                    (keys.as_ptr(), size.round_key_bytes()),
                ];
                assert_eq!(lines(&*k, &read).len(), want, "{} {dir:?}", key.len());
                assert_eq!(k.key_len(dir), key.len());
            }
        }
    }

    #[test]
    fn an_hmac_sha1_key_is_one_line_and_sha256_two() {
        for (alg, state, want) in [(HmacAlg::Sha1, 20, 1), (HmacAlg::Sha256, 32, 2)] {
            let k = HmacKey::new(alg, &[7; 20]).unwrap();
            let read = [
                ((&k.alg as *const HmacAlg).cast(), 1),
                (k.ipad.as_ptr(), state),
                (k.opad.as_ptr(), state),
            ];
            assert_eq!(lines(&*k, &read).len(), want, "{alg:?}");
            assert_eq!(k.alg(), alg);
        }
    }
}
