//! The multi-buffer manager: allocation, architecture selection, and running a burst of jobs.

use crate::gcm_fns::Gcm;
use crate::job::{Job, JobStatus, Slot, MAX_BURST};
use crate::raw_mgr::RawMgr;
use crate::sync_fns::SyncFns;
use crate::sys;
use std::marker::PhantomData;
use std::ptr::NonNull;

/// The code path intel-ipsec-mb selected for this CPU (`init_mb_mgr_auto`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    NoAesni,
    Sse,
    Avx,
    Avx2,
    Avx512,
}

impl Arch {
    fn from_raw(a: sys::IMB_ARCH) -> Option<Arch> {
        Some(match a {
            sys::IMB_ARCH_NOAESNI => Arch::NoAesni,
            sys::IMB_ARCH_SSE => Arch::Sse,
            sys::IMB_ARCH_AVX => Arch::Avx,
            sys::IMB_ARCH_AVX2 => Arch::Avx2,
            sys::IMB_ARCH_AVX512 => Arch::Avx512,
            _ => return None,
        })
    }
}

/// The library's job functions for the selected code path.
struct Fns {
    get_next: unsafe extern "C" fn(*mut sys::IMB_MGR) -> *mut sys::IMB_JOB,
    /// `submit_job_nocheck`: [`Job::validate`] does the checking.
    submit: unsafe extern "C" fn(*mut sys::IMB_MGR) -> *mut sys::IMB_JOB,
    completed: unsafe extern "C" fn(*mut sys::IMB_MGR) -> *mut sys::IMB_JOB,
    flush: unsafe extern "C" fn(*mut sys::IMB_MGR) -> *mut sys::IMB_JOB,
}

/// One `IMB_MGR`: per-lcore mutable state (job queue, lane state), and the slots its jobs'
/// IVs, AADs and tags live in while they run. Send, not Sync.
pub struct Mgr {
    raw: RawMgr,
    arch: Arch,
    fns: Fns,
    pub(crate) gcm: Gcm,
    pub(crate) sync: SyncFns,
    /// `MAX_BURST` slots from a leaked Box (freed on drop), only ever accessed through this
    /// raw pointer, since the library holds pointers into the slots of running jobs.
    slots: NonNull<Slot>,
}

// SAFETY: the manager is plain memory owned by this value; it is only ever used through &mut self.
unsafe impl Send for Mgr {}

impl Mgr {
    /// Allocates a manager and initialises it for the best code path of this CPU;
    /// `None` if allocation fails or the CPU is not supported.
    pub fn new() -> Option<Mgr> {
        let (raw, arch) = RawMgr::new()?;
        let m = raw.as_ref();
        let fns = (
            m.get_next_job,
            m.submit_job_nocheck,
            m.get_completed_job,
            m.flush_job,
        );
        let (gcm, sync) = (Gcm::of(m), SyncFns::of(m));
        match (Arch::from_raw(arch), fns, gcm, sync) {
            (
                Some(arch),
                (Some(get_next), Some(submit), Some(completed), Some(flush)),
                Some(gcm),
                Some(sync),
            ) => Some(Mgr {
                raw,
                arch,
                fns: Fns {
                    get_next,
                    submit,
                    completed,
                    flush,
                },
                gcm,
                sync,
                slots: NonNull::from(Box::leak(Box::new(
                    std::array::from_fn::<Slot, MAX_BURST, _>(|_| Slot::default()),
                )))
                .cast(),
            }),
            _ => None,
        }
    }

    /// The selected code path.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// The `IMB_FEATURE_*` bits the library detected.
    pub fn features(&self) -> u64 {
        self.raw.as_ref().features
    }

    pub(crate) fn raw_ptr(&self) -> *mut sys::IMB_MGR {
        self.raw.as_ptr()
    }

    /// The slot of job `idx` of a burst (the last slot past the end).
    pub(crate) fn slot(&self, idx: usize) -> *mut Slot {
        // SAFETY: slots points at MAX_BURST slots; the index is clamped to them.
        unsafe { self.slots.as_ptr().add(idx.min(MAX_BURST - 1)) }
    }

    /// Starts a burst: jobs pushed into it share the multi-buffer lanes, and all of them are
    /// complete when it is finished (or dropped).
    pub fn burst<'a>(&mut self) -> Burst<'_, 'a> {
        Burst {
            mgr: Some(self),
            n: 0,
            _bufs: PhantomData,
        }
    }

    /// Runs one job to completion: its status and the tag slot (the tag, unless it went into
    /// the buffer). For tests and one-off use; packets go through [`Mgr::burst`].
    pub fn run_one(&mut self, job: Job<'_>) -> Option<(JobStatus, [u8; 32])> {
        let mut job = job;
        let mut b = self.burst();
        b.push(&mut job)?;
        let done = b.finish();
        Some((done.status(0), *done.tag(0)))
    }
}

/// A burst of jobs being run. The buffers and keys of its jobs stay borrowed (`'a`) until it
/// is finished or dropped, which completes every job (the library holds raw pointers into
/// them until then).
pub struct Burst<'m, 'a> {
    /// `None` once finished.
    mgr: Option<&'m mut Mgr>,
    n: usize,
    _bufs: PhantomData<&'a mut [u8]>,
}

impl<'m, 'a> Burst<'m, 'a> {
    /// Jobs pushed so far.
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Whether no more jobs fit.
    pub fn is_full(&self) -> bool {
        self.n == MAX_BURST
    }

    /// Validates and submits a job; its index in the burst, or `None` (nothing touched) if it
    /// is invalid (see [`Job::validate`]) or the burst is full. The job is taken by reference
    /// (a move would copy it, a measurable cost per packet); its buffer stays borrowed for the
    /// burst either way. Pushing one job twice runs it twice.
    #[inline(always)]
    pub fn push(&mut self, job: &mut Job<'a>) -> Option<usize> {
        let mgr = self.mgr.as_deref_mut()?;
        if self.n == MAX_BURST || !job.validate() {
            return None;
        }
        let idx = self.n;
        let m = mgr.raw.as_ptr();
        let slot = mgr.slot(idx);
        // SAFETY: m is a valid initialised manager, so its function pointers are set (checked
        // non-null at creation); get_next_job returns a job slot of the queue, writable until
        // submitted. The job was validated, so every pointer and length written covers memory
        // borrowed for 'a (buffer, keys) or the manager's slot `idx`, which no other job uses.
        unsafe {
            let raw = (mgr.fns.get_next)(m);
            job.fill(&mut *raw, slot, idx);
            let mut done = (mgr.fns.submit)(m);
            while !done.is_null() {
                mgr.complete(done);
                done = (mgr.fns.completed)(m);
            }
        }
        self.n += 1;
        Some(idx)
    }

    /// Completes every job of the burst; their status and tags, by index.
    pub fn finish(mut self) -> Completed<'m> {
        let n = self.n;
        let mgr = self.mgr.take().expect("a burst is finished once");
        mgr.flush();
        Completed::new(mgr, n)
    }
}

impl Drop for Burst<'_, '_> {
    fn drop(&mut self) {
        if let Some(m) = self.mgr.take() {
            m.flush();
        }
    }
}

/// The results of a finished burst.
pub struct Completed<'m> {
    mgr: &'m Mgr,
    n: usize,
    /// A synchronous burst's statuses, by index (the job queue's are in the slots).
    ok: Option<[bool; MAX_BURST]>,
}

impl<'m> Completed<'m> {
    pub(crate) fn new(mgr: &'m Mgr, n: usize) -> Completed<'m> {
        Completed { mgr, n, ok: None }
    }

    /// The results of a synchronous burst, whose job `i` completed if `ok[i]`.
    pub(crate) fn of_sync(mgr: &'m Mgr, n: usize, ok: [bool; MAX_BURST]) -> Completed<'m> {
        Completed {
            mgr,
            n,
            ok: Some(ok),
        }
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The status of job `i` (`Failed` past the end).
    #[inline]
    pub fn status(&self, i: usize) -> JobStatus {
        if i >= self.n {
            return JobStatus::Failed;
        }
        if let Some(ok) = &self.ok {
            return match ok[i] {
                true => JobStatus::Done,
                false => JobStatus::Failed,
            };
        }
        // SAFETY: i < n <= MAX_BURST; the burst is finished, so no job uses the slot.
        unsafe { (*self.mgr.slot(i)).status }
    }

    /// The tag slot of job `i` (where its tag went when its `tag_at` was `None`).
    #[inline]
    pub fn tag(&self, i: usize) -> &[u8; 32] {
        // SAFETY: the slot is in the array (Mgr::slot clamps); the burst is finished, so no job
        // uses it.
        unsafe { &(*self.mgr.slot(i)).tag }
    }
}

impl Mgr {
    /// Records a job the library returned as completed.
    ///
    /// # Safety
    /// `done` must be a job the library returned as completed, whose user_data is the index
    /// of its slot.
    #[inline]
    unsafe fn complete(&mut self, done: *mut sys::IMB_JOB) {
        // SAFETY: per the contract, done is a completed job the library no longer uses.
        let (idx, st) = unsafe { ((*done).user_data as usize, (*done).status) };
        if idx < MAX_BURST {
            let st = if st == sys::IMB_STATUS_COMPLETED {
                JobStatus::Done
            } else {
                JobStatus::Failed
            };
            // SAFETY: idx < MAX_BURST; the job of that slot is complete.
            unsafe { (*self.slot(idx)).status = st };
        }
    }

    /// Completes every outstanding job.
    fn flush(&mut self) {
        let m = self.raw.as_ptr();
        loop {
            // SAFETY: m is valid; flush completes the earliest outstanding job, NULL when none.
            let done = unsafe { (self.fns.flush)(m) };
            if done.is_null() {
                break;
            }
            // SAFETY: done was returned as completed by the library.
            unsafe { self.complete(done) };
        }
    }
}

impl Drop for Mgr {
    fn drop(&mut self) {
        // (The manager itself is freed when `raw` drops, after this: no job is outstanding,
        // since a burst always flushes, when finished or dropped, and it borrows the manager
        // until then.)
        // SAFETY: slots came from Box::leak of a [Slot; MAX_BURST] and is not used afterwards.
        drop(unsafe { Box::from_raw(self.slots.as_ptr().cast::<[Slot; MAX_BURST]>()) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::{Auth, CbcIv, Cipher, Dir};
    use crate::keys::{AesKeys, HmacAlg, HmacKey};
    use crate::sync_fns::SyncKind;

    fn cbc_sha1_job<'a>(keys: &'a AesKeys, h: &'a HmacKey, buf: &'a mut [u8]) -> Job<'a> {
        job(Dir::Encrypt, keys, h, CbcIv::Value([7; 16]), 16, buf)
    }

    /// A job on `[16-byte IV][text][12-byte tag]` whose IV comes from `iv`; with `from`, the
    /// cipher range starts there instead of after the IV.
    fn job<'a>(
        dir: Dir,
        keys: &'a AesKeys,
        h: &'a HmacKey,
        iv: CbcIv,
        from: usize,
        buf: &'a mut [u8],
    ) -> Job<'a> {
        let n = buf.len();
        Job {
            dir,
            cipher: Cipher::AesCbc { keys, iv },
            auth: Auth::Hmac(h),
            cipher_off: from,
            cipher_len: n - 12 - from,
            hash_len: n - 12,
            tag_len: 12,
            tag_at: Some(n - 12),
            buf,
            ..Default::default()
        }
    }

    #[test]
    fn an_iv_read_in_place_or_zero_is_the_iv_given_by_value() {
        let keys = AesKeys::new(&[4; 16]).unwrap();
        let h = HmacKey::new(HmacAlg::Sha1, &[5; 20]).unwrap();
        let mut mgr = Mgr::new().unwrap();
        let plain: Vec<u8> = (0..16 + 80 + 12).map(|b| (b * 7) as u8).collect();
        let iv: [u8; 16] = plain[..16].try_into().unwrap();
        for dir in [Dir::Encrypt, Dir::Decrypt] {
            let mut want = plain.clone();
            mgr.run_one(job(dir, &keys, &h, CbcIv::Value(iv), 16, &mut want))
                .unwrap();
            // In place, through the queue and through a synchronous burst.
            let mut a = plain.clone();
            mgr.run_one(job(dir, &keys, &h, CbcIv::At(0), 16, &mut a))
                .unwrap();
            assert_eq!(a, want, "{dir:?} queue");
            let mut b = plain.clone();
            let mut s = mgr.sync_burst(SyncKind::new(dir, &keys, &h));
            assert_eq!(
                s.push(&mut job(dir, &keys, &h, CbcIv::At(0), 16, &mut b)),
                Some(0)
            );
            assert_eq!(s.finish().status(0), JobStatus::Done);
            assert_eq!(b, want, "{dir:?} sync");
        }
        // Zero: the same as zeros by value; from a block holding a nonce, the first output
        // block is E_K(nonce), and the rest is the chain from it.
        let mut want = plain.clone();
        mgr.run_one(job(
            Dir::Encrypt,
            &keys,
            &h,
            CbcIv::Value([0; 16]),
            0,
            &mut want,
        ))
        .unwrap();
        let mut z = plain.clone();
        mgr.run_one(job(Dir::Encrypt, &keys, &h, CbcIv::Zero, 0, &mut z))
            .unwrap();
        assert_eq!(z, want);
        let mut chained = plain.clone();
        chained[..16].copy_from_slice(&z[..16]);
        mgr.run_one(job(Dir::Encrypt, &keys, &h, CbcIv::At(0), 16, &mut chained))
            .unwrap();
        assert_eq!(chained[16..16 + 80], z[16..16 + 80]);
    }

    #[test]
    fn an_iv_in_the_buffer_must_lie_inside_it_and_outside_the_cipher_range() {
        let keys = AesKeys::new(&[4; 16]).unwrap();
        let h = HmacKey::new(HmacAlg::Sha1, &[5; 20]).unwrap();
        let mut buf = vec![1u8; 16 + 80 + 12];
        let n = buf.len();
        for (at, ok) in [
            (0, true),
            (n - 12, false),
            (n - 16, false),
            (1, false),
            (16, false),
            (usize::MAX - 3, false),
        ] {
            let j = job(Dir::Decrypt, &keys, &h, CbcIv::At(at), 16, &mut buf);
            assert_eq!(j.validate(), ok, "at {at}");
        }
        // After the cipher range (here the tag's bytes) is allowed too.
        let mut j = job(Dir::Decrypt, &keys, &h, CbcIv::At(n - 16), 16, &mut buf);
        j.cipher_len -= 16;
        assert!(j.validate());
    }

    #[test]
    fn a_burst_matches_one_job_at_a_time_and_refuses_invalid_jobs() {
        let keys = AesKeys::new(&[1; 16]).unwrap();
        let h = HmacKey::new(HmacAlg::Sha1, &[2; 20]).unwrap();
        let mut mgr = Mgr::new().unwrap();
        let lens: Vec<usize> = (0..MAX_BURST).map(|i| 16 + 16 * (1 + i % 9) + 12).collect();
        let mut bufs: Vec<Vec<u8>> = lens.iter().map(|&n| (0..n as u8).collect()).collect();
        let mut one: Vec<Vec<u8>> = bufs.clone();
        for b in one.iter_mut() {
            let (st, _) = mgr.run_one(cbc_sha1_job(&keys, &h, b)).unwrap();
            assert_eq!(st, JobStatus::Done);
        }
        let mut extra = vec![0u8; 60];
        let mut burst = mgr.burst();
        for (i, b) in bufs.iter_mut().enumerate() {
            assert_eq!(burst.push(&mut cbc_sha1_job(&keys, &h, b)), Some(i));
        }
        assert!(burst.is_full());
        assert_eq!(burst.push(&mut cbc_sha1_job(&keys, &h, &mut extra)), None);
        let done = burst.finish();
        assert!((0..MAX_BURST).all(|i| done.status(i) == JobStatus::Done));
        assert_eq!(bufs, one);

        // A tag past the end, a partial CBC block, a bad tag length: refused, nothing written.
        let mut bufs = [vec![9u8; 60], vec![9u8; 60], vec![9u8; 60]];
        let [x, y, z] = &mut bufs;
        let mut b = mgr.burst();
        let mut j = cbc_sha1_job(&keys, &h, x);
        j.tag_at = Some(50);
        assert_eq!(b.push(&mut j), None);
        let mut j = cbc_sha1_job(&keys, &h, y);
        j.cipher_len -= 1;
        assert_eq!(b.push(&mut j), None);
        let mut j = cbc_sha1_job(&keys, &h, z);
        j.tag_len = 33;
        assert_eq!(b.push(&mut j), None);
        assert!(b.finish().is_empty());
        assert!(bufs.iter().all(|b| *b == vec![9u8; 60]));
    }

    #[test]
    fn dropping_a_burst_completes_its_jobs() {
        let keys = AesKeys::new(&[1; 16]).unwrap();
        let h = HmacKey::new(HmacAlg::Sha1, &[2; 20]).unwrap();
        let mut mgr = Mgr::new().unwrap();
        let mut a = vec![3u8; 16 + 64 + 12];
        let mut want = a.clone();
        mgr.run_one(cbc_sha1_job(&keys, &h, &mut want)).unwrap();
        {
            let mut b = mgr.burst();
            b.push(&mut cbc_sha1_job(&keys, &h, &mut a)).unwrap();
        }
        assert_eq!(a, want);
        // The manager is clean: the next burst's job 0 is the new job.
        let mut c = vec![3u8; 16 + 64 + 12];
        let mut b = mgr.burst();
        assert_eq!(b.push(&mut cbc_sha1_job(&keys, &h, &mut c)), Some(0));
        assert_eq!(b.finish().status(0), JobStatus::Done);
        assert_eq!(c, want);
    }
}
