//! One crypto job: a buffer, what to cipher and hash in it, and where the tag goes.
//! Jobs are plain data checked by [`Job::validate`] before they reach the library, so that no
//! job can make it read or write out of bounds.

use crate::keys::{AesKeys, GcmKey, HmacAlg, HmacKey};
use crate::sys;

/// Jobs in one burst at most (the library's queue holds 256; a DPDK burst is 32).
pub const MAX_BURST: usize = 64;

/// Cipher direction. Encrypt runs cipher then hash; decrypt runs hash then cipher.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Dir {
    #[default]
    Encrypt,
    Decrypt,
}

/// The cipher of a job. IVs and AAD given by value are copied into the manager's slot for the
/// job, so that they stay put while it runs.
#[derive(Clone, Copy, Default)]
pub enum Cipher<'a> {
    #[default]
    Null,
    AesCbc {
        keys: &'a AesKeys,
        iv: CbcIv,
    },
    /// AES-GCM; its GMAC covers the cipher range, the hash range and `Auth` are ignored.
    AesGcm {
        key: &'a GcmKey,
        iv: [u8; 12],
        aad: [u8; 16],
        aad_len: usize,
    },
}

/// Where an AES-CBC job's IV comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CbcIv {
    /// These bytes, copied into the manager's slot for the job.
    Value([u8; 16]),
    /// `buf[at..at + 16]`, read where it is (no copy); it must lie outside the ciphered range.
    At(usize),
    /// All zeros. A chain whose first block holds a nonce then begins with E_K(nonce): the IV
    /// of NIST SP 800-38A, appendix C, made in the lanes with the rest of the chain.
    Zero,
}

/// The IV of [`CbcIv::Zero`], read by the library; never written.
static ZERO_IV: [u8; 16] = [0; 16];

/// The authentication of a non-GCM job.
#[derive(Clone, Copy, Default)]
pub enum Auth<'a> {
    #[default]
    Null,
    Hmac(&'a HmacKey),
}

/// Where a job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum JobStatus {
    #[default]
    Pending,
    /// Completed; the tag (for encryption) or the computed tag to compare (decryption) is
    /// written where the job said.
    Done,
    /// The library reported an error.
    Failed,
}

/// A job on `buf`: cipher `buf[cipher_off..][..cipher_len]` in place, hash
/// `buf[hash_off..][..hash_len]`, and write `tag_len` bytes of tag into `buf` at `tag_at`, or,
/// when `tag_at` is `None`, into the burst's slot for the job (see `Completed::tag`).
#[derive(Default)]
pub struct Job<'a> {
    pub buf: &'a mut [u8],
    pub dir: Dir,
    pub cipher: Cipher<'a>,
    pub auth: Auth<'a>,
    pub cipher_off: usize,
    pub cipher_len: usize,
    pub hash_off: usize,
    pub hash_len: usize,
    pub tag_len: usize,
    pub tag_at: Option<usize>,
}

/// What the library reads and writes of a job besides its buffer, kept in the manager (not on
/// the caller's stack) so that it stays put until the job completes.
#[repr(C, align(64))]
pub(crate) struct Slot {
    pub(crate) iv: [u8; 16],
    pub(crate) aad: [u8; 16],
    pub(crate) tag: [u8; 32],
    pub(crate) status: JobStatus,
}

impl Default for Slot {
    fn default() -> Slot {
        Slot {
            iv: [0; 16],
            aad: [0; 16],
            tag: [0; 32],
            status: JobStatus::Pending,
        }
    }
}

fn in_bounds(off: usize, len: usize, total: usize) -> bool {
    off.checked_add(len).is_some_and(|end| end <= total)
}

impl Job<'_> {
    /// Whether the job can be handed to the library: ranges inside `buf`, CBC on whole
    /// (and at least one) blocks, non-empty GCM and HMAC input, and a tag length the algorithm
    /// supports. Jobs are submitted without the library's own checks (as DPDK's aesni_mb PMD
    /// does; the checking submit costs a 376-byte job copy each), so this is what keeps every
    /// job within what the library handles; key lengths are right by construction of the keys.
    #[inline(always)]
    pub fn validate(&self) -> bool {
        let n = self.buf.len();
        if !in_bounds(self.cipher_off, self.cipher_len, n) {
            return false;
        }
        if self.tag_len > 32
            || self
                .tag_at
                .is_some_and(|at| !in_bounds(at, self.tag_len, n))
        {
            return false;
        }
        match self.cipher {
            Cipher::AesGcm { aad_len, .. } => {
                self.cipher_len > 0 && aad_len <= 16 && matches!(self.tag_len, 8 | 12 | 16)
            }
            Cipher::AesCbc { .. } | Cipher::Null => {
                if let Cipher::AesCbc { iv, .. } = self.cipher {
                    if self.cipher_len == 0 || !self.cipher_len.is_multiple_of(16) {
                        return false;
                    }
                    let outside = |at: usize| {
                        at.checked_add(16).is_some_and(|end| end <= self.cipher_off)
                            || at >= self.cipher_off + self.cipher_len
                    };
                    if let CbcIv::At(at) = iv {
                        if !in_bounds(at, 16, n) || !outside(at) {
                            return false;
                        }
                    }
                }
                match self.auth {
                    Auth::Null => self.tag_len == 0,
                    Auth::Hmac(k) => {
                        in_bounds(self.hash_off, self.hash_len, n)
                            && self.hash_len > 0
                            && match k.alg {
                                HmacAlg::Sha1 => matches!(self.tag_len, 12 | 20),
                                HmacAlg::Sha256 => matches!(self.tag_len, 16 | 32),
                            }
                    }
                }
            }
        }
    }

    /// [`Job::fill`] for a job of a synchronous burst, whose cipher (`keys`, `iv`) and hash
    /// (`h`) the caller has matched: only what differs from job to job, without the matches
    /// on the cipher and hash; the burst writes what its kind fixes.
    ///
    /// # Safety
    /// As for [`Job::fill`]; `keys`, `iv` and `h` are the job's own.
    #[inline(always)]
    pub(crate) unsafe fn fill_cbc_hmac(
        &mut self,
        raw: &mut sys::IMB_JOB,
        slot: *mut Slot,
        keys: &AesKeys,
        iv: CbcIv,
        h: &HmacKey,
    ) {
        // SAFETY: the caller passes a valid slot that nothing else accesses meanwhile.
        let slot = unsafe { &mut *slot };
        self.fill_ranges(raw, slot);
        self.fill_cbc_keys(raw, slot, keys, iv);
        raw.u.HMAC._hashed_auth_key_xor_ipad = h.ipad.as_ptr();
        raw.u.HMAC._hashed_auth_key_xor_opad = h.opad.as_ptr();
    }

    /// The buffer, its cipher and hash ranges and where the tag goes.
    #[inline(always)]
    fn fill_ranges(&mut self, raw: &mut sys::IMB_JOB, slot: &mut Slot) {
        let buf = self.buf.as_mut_ptr();
        raw.__bindgen_anon_1.src = buf;
        // dst is where the ciphered range goes (not the buffer start): in place means src + offset.
        raw.__bindgen_anon_2.dst = buf.wrapping_add(self.cipher_off);
        raw.__bindgen_anon_3.cipher_start_src_offset_in_bytes = self.cipher_off as u64;
        raw.__bindgen_anon_4.msg_len_to_cipher_in_bytes = self.cipher_len as u64;
        raw.hash_start_src_offset_in_bytes = self.hash_off as u64;
        raw.__bindgen_anon_5.msg_len_to_hash_in_bytes = self.hash_len as u64;
        raw.auth_tag_output = match self.tag_at {
            Some(at) => buf.wrapping_add(at),
            None => slot.tag.as_mut_ptr(),
        };
        raw.auth_tag_output_len_in_bytes = self.tag_len as u64;
    }

    /// An AES-CBC job's keys and IV.
    #[inline(always)]
    fn fill_cbc_keys(
        &mut self,
        raw: &mut sys::IMB_JOB,
        slot: &mut Slot,
        keys: &AesKeys,
        iv: CbcIv,
    ) {
        raw.enc_keys = keys.enc.as_ptr().cast();
        raw.dec_keys = keys.dec.as_ptr().cast();
        raw.key_len_in_bytes = keys.key_len(self.dir) as u64;
        raw.iv = match iv {
            CbcIv::Value(v) => {
                slot.iv = v;
                slot.iv.as_ptr()
            }
            CbcIv::At(at) => self.buf.as_mut_ptr().wrapping_add(at),
            CbcIv::Zero => ZERO_IV.as_ptr(),
        };
        raw.iv_len_in_bytes = 16;
    }

    /// Writes this job into a library job slot, its IV, AAD (and tag, unless it goes into the
    /// buffer) into `slot`.
    ///
    /// # Safety
    /// `self` must have passed [`Job::validate`]; its buffer and keys must stay borrowed, and
    /// `slot` must stay in place and untouched, until the library returns the job as completed.
    #[inline(always)]
    pub(crate) unsafe fn fill(&mut self, raw: &mut sys::IMB_JOB, slot: *mut Slot, idx: usize) {
        // SAFETY: the caller passes a valid slot that nothing else accesses meanwhile.
        let slot = unsafe { &mut *slot };
        // (the job queue's status goes into the slot when the job completes)
        slot.status = JobStatus::Pending;
        self.fill_ranges(raw, slot);
        raw.user_data = idx as *mut _;
        raw.user_data2 = std::ptr::null_mut();
        raw.sgl_state = Default::default();
        let (dir, order) = match self.dir {
            Dir::Encrypt => (sys::IMB_DIR_ENCRYPT, sys::IMB_ORDER_CIPHER_HASH),
            Dir::Decrypt => (sys::IMB_DIR_DECRYPT, sys::IMB_ORDER_HASH_CIPHER),
        };
        raw.cipher_direction = dir;
        raw.chain_order = order;
        raw.hash_alg = sys::IMB_AUTH_NULL;
        match self.cipher {
            Cipher::Null => {
                raw.cipher_mode = sys::IMB_CIPHER_NULL;
                raw.enc_keys = std::ptr::null();
                raw.dec_keys = std::ptr::null();
                raw.key_len_in_bytes = 0;
                raw.iv = std::ptr::null();
                raw.iv_len_in_bytes = 0;
            }
            Cipher::AesCbc { keys, iv } => {
                raw.cipher_mode = sys::IMB_CIPHER_CBC;
                self.fill_cbc_keys(raw, slot, keys, iv);
            }
            Cipher::AesGcm {
                key,
                iv,
                aad,
                aad_len,
            } => {
                raw.cipher_mode = sys::IMB_CIPHER_GCM;
                raw.hash_alg = sys::IMB_AUTH_AES_GMAC;
                let k = key.lib();
                raw.enc_keys = k.cast();
                raw.dec_keys = k.cast();
                raw.key_len_in_bytes = key.key_len() as u64;
                slot.iv[..12].copy_from_slice(&iv);
                raw.iv = slot.iv.as_ptr();
                raw.iv_len_in_bytes = 12;
                raw.hash_start_src_offset_in_bytes = self.cipher_off as u64;
                raw.__bindgen_anon_5.msg_len_to_hash_in_bytes = self.cipher_len as u64;
                // (the header's `#define GCM IMB_CIPHER_GCM` renames the union member)
                slot.aad = aad;
                raw.u.IMB_CIPHER_GCM.aad = slot.aad.as_ptr().cast();
                raw.u.IMB_CIPHER_GCM.aad_len_in_bytes = aad_len as u64;
                raw.u.IMB_CIPHER_GCM.ctx = std::ptr::null_mut();
                return;
            }
        }
        if let Auth::Hmac(k) = self.auth {
            raw.hash_alg = match k.alg {
                HmacAlg::Sha1 => sys::IMB_AUTH_HMAC_SHA_1,
                HmacAlg::Sha256 => sys::IMB_AUTH_HMAC_SHA_256,
            };
            raw.u.HMAC._hashed_auth_key_xor_ipad = k.ipad.as_ptr();
            raw.u.HMAC._hashed_auth_key_xor_opad = k.opad.as_ptr();
        }
    }
}
