//! Synchronous bursts of AES-CBC + HMAC jobs through the library's burst functions
//! (`IMB_SUBMIT_CIPHER_BURST_NOCHECK`, `IMB_SUBMIT_HASH_BURST_NOCHECK`, new in 1.3): they feed
//! the cipher lanes, then the hash lanes (the other way round to decrypt), straight from an
//! array of jobs, without the job queue, and every job is complete when they return. Jobs of
//! one burst share the cipher's key length, the hash and the direction (keys may differ).
//!
//! Against the job queue flushed every 64 jobs, library alone, one core (`bench/c/mb_paths.c`,
//! medians of 9 alternated rounds), AES-128-CBC + HMAC-SHA1-96 takes 0.79 of the time to
//! encrypt 64-byte payloads, 0.88 at 512 and 0.90 at 1400; 0.86, 0.93 and 0.95 to decrypt. On
//! the bench's IMIX order, with the jobs of a burst longest first, 0.82 both ways (the queue
//! never flushed, as DPDK's aesni_mb PMD runs it under load: 0.76 and 0.74).

use crate::aes_cbc_x16;
use crate::hmac_sha1_x16;
use crate::job::MAX_BURST;
use crate::job::{Auth, Cipher, Dir, Job};
use crate::keys::HmacAlg;
use crate::mgr::{Completed, Mgr};
use crate::sync_fns::SyncKind;
use crate::sys;
use std::marker::PhantomData;

/// Jobs gathered for one synchronous run. Nothing reaches the library before
/// [`SyncBurst::finish`], which completes them all; dropped unfinished, the jobs never run.
pub struct SyncBurst<'m, 'a> {
    mgr: &'m mut Mgr,
    kind: SyncKind,
    n: usize,
    _bufs: PhantomData<&'a mut [u8]>,
}

impl Mgr {
    /// Whether synchronous bursts hash HMAC-SHA1 in this crate's AVX-512 lanes (where the CPU
    /// has them) rather than through the library's lane manager; on by default where it can.
    pub fn set_own_hmac_sha1(&mut self, on: bool) {
        self.sync.own_sha1 = on && hmac_sha1_x16::available();
    }

    /// Whether synchronous bursts encrypt AES-CBC in this crate's VAES lanes (where the CPU has
    /// them and they agreed with the library) rather than through the library's lane manager;
    /// on by default where it can.
    pub fn set_own_aes_cbc(&mut self, on: bool) {
        self.sync.own_cbc = on && aes_cbc_x16::cpu_has();
    }

    /// Starts a synchronous burst of jobs of `kind`.
    pub fn sync_burst<'a>(&mut self, kind: SyncKind) -> SyncBurst<'_, 'a> {
        SyncBurst {
            mgr: self,
            kind,
            n: 0,
            _bufs: PhantomData,
        }
    }
}

impl<'m, 'a> SyncBurst<'m, 'a> {
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Takes a job of the burst's kind that passes [`Job::validate`]: its index, or `None`
    /// (nothing touched) for another kind, an invalid job or a full burst.
    #[inline(always)]
    pub fn push(&mut self, job: &mut Job<'a>) -> Option<usize> {
        // The kind's fields compared one by one: building the job's kind to compare it whole
        // cost a tenth of this crate's instructions per packet (callgrind, bench/icount.sh).
        let (Cipher::AesCbc { keys, iv }, Auth::Hmac(h)) = (job.cipher, job.auth) else {
            return None;
        };
        let k = self.kind;
        if self.n == MAX_BURST
            || job.dir != k.dir
            || keys.key_len(k.dir) != k.cbc_key_len
            || h.alg != k.hmac
            || !job.validate()
        {
            return None;
        }
        let idx = self.n;
        let slot = self.mgr.slot(idx);
        let raw = &mut self.mgr.sync.jobs[idx];
        // SAFETY: the job was validated; its buffer and keys stay borrowed for 'a, which
        // outlives the burst, and finish() (or nothing) runs it while the burst holds the
        // manager, whose slot `idx` no other job uses.
        unsafe { job.fill_cbc_hmac(raw, slot, keys, iv, h) };
        self.n += 1;
        Some(idx)
    }

    /// Runs every job to completion; their status and tags, by index.
    pub fn finish(self) -> Completed<'m> {
        let SyncBurst { mgr, kind, n, .. } = self;
        let mut ok = [true; MAX_BURST];
        if n > 0 {
            let key = match kind.cbc_key_len {
                16 => sys::IMB_KEY_128_BYTES,
                _ => sys::IMB_KEY_256_BYTES,
            };
            let hash = match kind.hmac {
                HmacAlg::Sha1 => sys::IMB_AUTH_HMAC_SHA_1,
                HmacAlg::Sha256 => sys::IMB_AUTH_HMAC_SHA_256,
            };
            let m = mgr.raw_ptr();
            let (cipher_fn, hash_fn) = (mgr.sync.cipher, mgr.sync.hash);
            let own_sha1 = mgr.sync.own_sha1;
            let own_cbc =
                mgr.sync.own_cbc && kind.dir == Dir::Encrypt && aes_cbc_x16::CHECKED.holds();
            // What the burst's kind fixes, as `Job::fill` would write it for each job.
            let (dir, order) = match kind.dir {
                Dir::Encrypt => (sys::IMB_DIR_ENCRYPT, sys::IMB_ORDER_CIPHER_HASH),
                Dir::Decrypt => (sys::IMB_DIR_DECRYPT, sys::IMB_ORDER_HASH_CIPHER),
            };
            // Against writing them every time, bursts alternated in the real process
            // (bench/ab_interleaved.sh): 0.992, 0.995 and 0.988 of the time per burst (CBC
            // out 64, in 64, out 1400).
            let primed = match mgr.sync.primed {
                (Some(k), primed) if k == kind => primed,
                _ => 0,
            };
            let from = primed.min(n);
            mgr.sync.primed = (Some(kind), primed.max(n));
            let jobs = &mut mgr.sync.jobs[..n];
            for (i, j) in jobs.iter_mut().enumerate().skip(from) {
                j.cipher_mode = sys::IMB_CIPHER_CBC;
                j.cipher_direction = dir;
                j.chain_order = order;
                j.hash_alg = hash;
                j.user_data = i as *mut _;
                j.user_data2 = std::ptr::null_mut();
                j.sgl_state = Default::default();
            }
            let mut completed = |jobs: &[sys::IMB_JOB]| {
                for (ok, j) in ok.iter_mut().zip(jobs.iter()) {
                    *ok &= j.status == sys::IMB_STATUS_COMPLETED;
                }
            };
            // Both in own lanes: each group hashed right after it is encrypted, its jobs and
            // ciphertext still in L1, rather than a cipher pass over the burst then a hash pass.
            // Bursts alternated in the real process (`bench/ab_interleaved.sh`, both orders,
            // two runs), time per burst over the two passes: 0.991-0.993 (64-byte frames),
            // 0.997-0.999 (512), 0.998 (IMIX).
            if own_cbc
                && own_sha1
                && kind.hmac == HmacAlg::Sha1
                && hmac_sha1_x16::library_share(jobs) == 0
            {
                jobs.iter_mut()
                    .for_each(|j| j.status = sys::IMB_STATUS_BEING_PROCESSED);
                for group in jobs.chunks_mut(aes_cbc_x16::LANES) {
                    // SAFETY: the jobs were filled from validated jobs of this kind, whose
                    // buffers, keys and tags are still borrowed; own_cbc and own_sha1 hold only
                    // where the CPU has the lanes.
                    unsafe {
                        aes_cbc_x16::encrypt_jobs(group, kind.cbc_key_len);
                        hmac_sha1_x16::hmac_sha1_jobs(group);
                    }
                }
                completed(jobs);
                return Completed::of_sync(mgr, n, ok);
            }
            // Encrypt-then-MAC: cipher first to seal, hash first to open.
            let stages: [bool; 2] = match kind.dir {
                Dir::Encrypt => [true, false],
                Dir::Decrypt => [false, true],
            };
            for cipher_stage in stages {
                jobs.iter_mut()
                    .for_each(|j| j.status = sys::IMB_STATUS_BEING_PROCESSED);
                let p = jobs.as_mut_ptr();
                // SAFETY: m is a valid manager; the n jobs were filled from validated jobs of
                // this kind, whose buffers, keys and slots are still borrowed; both functions
                // complete every job they take before returning.
                unsafe {
                    if cipher_stage && own_cbc {
                        aes_cbc_x16::encrypt_jobs(jobs, kind.cbc_key_len);
                    } else if cipher_stage {
                        cipher_fn(m, p, n as u32, sys::IMB_CIPHER_CBC, dir, key);
                    } else if own_sha1 && kind.hmac == HmacAlg::Sha1 {
                        let k = hmac_sha1_x16::library_share(jobs);
                        if k > 0 {
                            hash_fn(m, p, k as u32, hash);
                        }
                        hmac_sha1_x16::hmac_sha1_jobs(&mut jobs[k..]);
                    } else {
                        hash_fn(m, p, n as u32, hash);
                    }
                }
                completed(jobs);
            }
        }
        // The statuses go back as an array, not into the jobs' slots: a store to another cache
        // line per job, where the slot is not otherwise touched (the tag goes into the packet
        // to seal). Bursts alternated in the real process (bench/ab_interleaved.sh), with the
        // Pending mark that `Job::fill` writes no longer written here either: 0.991, 0.994,
        // 0.995 and 0.994 of the time per burst (CBC out 64, in 64, out 1400, in IMIX).
        Completed::of_sync(mgr, n, ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::{CbcIv, JobStatus};
    use crate::keys::{AesKeys, GcmKey, HmacKey};

    fn job<'a>(
        dir: Dir,
        keys: &'a AesKeys,
        h: &'a HmacKey,
        tag_len: usize,
        buf: &'a mut [u8],
    ) -> Job<'a> {
        let n = buf.len();
        Job {
            dir,
            cipher: Cipher::AesCbc {
                keys,
                iv: CbcIv::Value([n as u8; 16]),
            },
            auth: Auth::Hmac(h),
            cipher_off: 24,
            cipher_len: n - 24 - tag_len,
            hash_len: n - tag_len,
            tag_len,
            tag_at: (dir == Dir::Encrypt).then_some(n - tag_len),
            buf,
            ..Default::default()
        }
    }

    /// Messages of these lengths, and what the job queue makes of them one at a time: the
    /// buffers and tag slots.
    #[allow(clippy::type_complexity)]
    fn through_the_queue(
        mgr: &mut Mgr,
        dir: Dir,
        keys: &AesKeys,
        h: &HmacKey,
        tag_len: usize,
        lens: &[usize],
    ) -> (Vec<Vec<u8>>, Vec<Vec<u8>>, Vec<[u8; 32]>) {
        let plain: Vec<Vec<u8>> = lens
            .iter()
            .map(|&n| (0..n).map(|b| (b * 13 + n) as u8).collect())
            .collect();
        let mut want = plain.clone();
        let mut want_tags = Vec::new();
        for b in want.iter_mut() {
            let (st, tag) = mgr.run_one(job(dir, keys, h, tag_len, b)).unwrap();
            assert_eq!(st, JobStatus::Done);
            want_tags.push(tag);
        }
        (plain, want, want_tags)
    }

    #[test]
    fn a_sync_burst_matches_the_job_queue_for_each_kind_and_direction() {
        let mut mgr = Mgr::new().unwrap();
        for (key_len, alg, tag_len) in [
            (16, HmacAlg::Sha1, 12),
            (32, HmacAlg::Sha1, 12),
            (16, HmacAlg::Sha256, 16),
        ] {
            let keys = AesKeys::new(&vec![5u8; key_len]).unwrap();
            let h = HmacKey::new(alg, &[6; 20]).unwrap();
            // Lengths that differ, so that lanes finish at different times.
            let lens: Vec<usize> = (0..MAX_BURST)
                .map(|i| 24 + 16 * (1 + (i * 7) % 90) + tag_len)
                .collect();
            for dir in [Dir::Encrypt, Dir::Decrypt] {
                let (plain, want, want_tags) =
                    through_the_queue(&mut mgr, dir, &keys, &h, tag_len, &lens);
                let kind = SyncKind {
                    dir,
                    cbc_key_len: key_len,
                    hmac: alg,
                };
                // Bursts of this kind one after another, of other sizes: what a burst's kind
                // fixes is written into a job only when it was not there already.
                for size in [MAX_BURST, 5, MAX_BURST, 1] {
                    let mut got = plain[..size].to_vec();
                    let mut b = mgr.sync_burst(kind);
                    for (i, buf) in got.iter_mut().enumerate() {
                        assert_eq!(b.push(&mut job(dir, &keys, &h, tag_len, buf)), Some(i));
                    }
                    let done = b.finish();
                    assert_eq!(done.len(), size);
                    for (i, want_tag) in want_tags[..size].iter().enumerate() {
                        assert_eq!(done.status(i), JobStatus::Done);
                        if dir == Dir::Decrypt {
                            assert_eq!(done.tag(i)[..tag_len], want_tag[..tag_len], "job {i}");
                        }
                    }
                    assert_eq!(got, want[..size], "{key_len} {alg:?} {dir:?} {size}");
                }
            }
        }
    }

    #[test]
    fn hmac_sha1_split_between_the_library_and_own_lanes_matches_the_job_queue() {
        let mut mgr = Mgr::new().unwrap();
        let keys = AesKeys::new(&[5; 16]).unwrap();
        let h = HmacKey::new(HmacAlg::Sha1, &[6; 20]).unwrap();
        let kind = |dir| SyncKind {
            dir,
            cbc_key_len: 16,
            hmac: HmacAlg::Sha1,
        };
        let long = crate::hmac_sha1_x16::LIBRARY_FROM as usize;
        // Longest first, across the length from which the library hashes: a split burst.
        let sorted: Vec<usize> = (0..40).map(|i| 24 + 16 * (100 - i) + 12).collect();
        assert!(sorted[16] - 12 >= long && sorted[39] - 12 < long);
        // Not sorted: long jobs among the short ones in the own lanes.
        let mut mixed = sorted.clone();
        mixed.swap(0, 39);
        for lens in [sorted, mixed] {
            for dir in [Dir::Encrypt, Dir::Decrypt] {
                let (plain, want, want_tags) =
                    through_the_queue(&mut mgr, dir, &keys, &h, 12, &lens);
                for own in [true, false] {
                    mgr.set_own_hmac_sha1(own);
                    mgr.set_own_aes_cbc(own);
                    let mut got = plain.clone();
                    let mut b = mgr.sync_burst(kind(dir));
                    for buf in got.iter_mut() {
                        b.push(&mut job(dir, &keys, &h, 12, buf)).unwrap();
                    }
                    let done = b.finish();
                    for (i, want_tag) in want_tags.iter().enumerate() {
                        assert_eq!(done.status(i), JobStatus::Done);
                        if dir == Dir::Decrypt {
                            assert_eq!(done.tag(i)[..12], want_tag[..12], "job {i} own {own}");
                        }
                    }
                    assert_eq!(got, want, "{dir:?} own {own}");
                }
            }
        }
    }

    #[test]
    fn a_sync_burst_refuses_other_kinds_and_runs_nothing_when_dropped() {
        let mut mgr = Mgr::new().unwrap();
        let k128 = AesKeys::new(&[1; 16]).unwrap();
        let k256 = AesKeys::new(&[1; 32]).unwrap();
        let sha1 = HmacKey::new(HmacAlg::Sha1, &[2; 20]).unwrap();
        let sha256 = HmacKey::new(HmacAlg::Sha256, &[2; 20]).unwrap();
        let gcm = GcmKey::new(&[3; 16]).unwrap();
        let kind = SyncKind {
            dir: Dir::Encrypt,
            cbc_key_len: 16,
            hmac: HmacAlg::Sha1,
        };
        let mut bufs: Vec<Vec<u8>> = (0..6).map(|_| vec![9u8; 24 + 64 + 12]).collect();
        let [a, b, c, d, e, f] = &mut bufs[..] else {
            unreachable!()
        };
        {
            let mut s = mgr.sync_burst(kind);
            assert_eq!(s.push(&mut job(Dir::Encrypt, &k256, &sha1, 12, a)), None);
            assert_eq!(s.push(&mut job(Dir::Encrypt, &k128, &sha256, 12, b)), None);
            assert_eq!(s.push(&mut job(Dir::Decrypt, &k128, &sha1, 12, c)), None);
            let mut g = job(Dir::Encrypt, &k128, &sha1, 12, d);
            g.cipher = Cipher::AesGcm {
                key: &gcm,
                iv: [0; 12],
                aad: [0; 16],
                aad_len: 8,
            };
            assert_eq!(s.push(&mut g), None);
            let mut short = job(Dir::Encrypt, &k128, &sha1, 12, e);
            short.cipher_len -= 1;
            assert_eq!(s.push(&mut short), None);
            assert!(s.is_empty());
            assert_eq!(s.push(&mut job(Dir::Encrypt, &k128, &sha1, 12, f)), Some(0));
            // Dropped unfinished.
        }
        assert!(bufs.iter().all(|b| b.iter().all(|&x| x == 9)));
    }
}
