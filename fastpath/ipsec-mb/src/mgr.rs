//! The multi-buffer manager: allocation, architecture selection, and running a burst of jobs.

use crate::job::{Job, JobStatus};
use crate::sys;
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

/// One `IMB_MGR`: per-lcore mutable state (job queue, lane state). Send, not Sync.
pub struct Mgr {
    ptr: NonNull<sys::IMB_MGR>,
    arch: Arch,
}

// SAFETY: the manager is plain memory owned by this value; it is only ever used through &mut self.
unsafe impl Send for Mgr {}

impl Mgr {
    /// Allocates a manager and initialises it for the best code path of this CPU;
    /// `None` if allocation fails or the CPU is not supported.
    pub fn new() -> Option<Mgr> {
        // SAFETY: alloc_mb_mgr has no preconditions; it returns NULL on failure.
        let ptr = NonNull::new(unsafe { sys::alloc_mb_mgr(0) })?;
        let mut arch: sys::IMB_ARCH = sys::IMB_ARCH_NONE;
        // SAFETY: ptr is a freshly allocated manager; arch is a valid out-pointer.
        unsafe { sys::init_mb_mgr_auto(ptr.as_ptr(), &mut arch) };
        match Arch::from_raw(arch) {
            Some(arch) => Some(Mgr { ptr, arch }),
            None => {
                // SAFETY: ptr came from alloc_mb_mgr and is not used afterwards.
                unsafe { sys::free_mb_mgr(ptr.as_ptr()) };
                None
            }
        }
    }

    /// The selected code path.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// The `IMB_FEATURE_*` bits the library detected.
    pub fn features(&self) -> u64 {
        // SAFETY: ptr is a valid, initialised manager.
        unsafe { (*self.ptr.as_ptr()).features }
    }

    pub(crate) fn raw(&self) -> &sys::IMB_MGR {
        // SAFETY: ptr is valid for the lifetime of self; shared access only reads fields.
        unsafe { self.ptr.as_ref() }
    }

    /// Runs every job of `jobs` to completion (submit all, then flush) and sets each job's
    /// `status`. Invalid jobs (see [`Job`]) are not submitted and get [`JobStatus::Invalid`].
    pub fn run(&mut self, jobs: &mut [Job<'_>]) {
        let m = self.ptr.as_ptr();
        // SAFETY: m is a valid initialised manager, so its function pointers are set.
        let (get_next, submit, completed, flush) = unsafe {
            (
                (*m).get_next_job,
                (*m).submit_job,
                (*m).get_completed_job,
                (*m).flush_job,
            )
        };
        let (Some(get_next), Some(submit), Some(completed), Some(flush)) =
            (get_next, submit, completed, flush)
        else {
            jobs.iter_mut().for_each(|j| j.status = JobStatus::Failed);
            return;
        };
        // All access to the jobs below goes through this one raw pointer, since the library
        // holds raw pointers into them (IV, AAD, tag, buffer) until each job completes.
        let base = jobs.as_mut_ptr();
        let n = jobs.len();
        let finish = |done: *mut sys::IMB_JOB| {
            // SAFETY: done is a job the library returned as completed; user_data is the index we set.
            let (idx, st) = unsafe { ((*done).user_data as usize, (*done).status) };
            if idx < n {
                // SAFETY: idx < n, and the library no longer touches that job's memory.
                unsafe {
                    (*base.add(idx)).status = if st == sys::IMB_STATUS_COMPLETED {
                        JobStatus::Done
                    } else {
                        JobStatus::Failed
                    }
                };
            }
        };
        for i in 0..n {
            // SAFETY: i < n.
            let job = unsafe { &mut *base.add(i) };
            if !job.validate() {
                job.status = JobStatus::Invalid;
                continue;
            }
            job.status = JobStatus::Pending;
            // SAFETY: m is valid; get_next_job always returns a usable job slot of the queue.
            let raw = unsafe { get_next(m) };
            // SAFETY: raw points to a job slot owned by the manager, writable until submitted;
            // the job was validated, so every pointer and length written covers memory of `job`
            // that stays in place (borrowed by `jobs`) until it completes below.
            unsafe {
                job.fill(&mut *raw, i);
            }
            // SAFETY: the slot from get_next_job was filled; submit/get_completed return
            // completed jobs or NULL.
            let mut done = unsafe { submit(m) };
            while !done.is_null() {
                finish(done);
                // SAFETY: as above.
                done = unsafe { completed(m) };
            }
        }
        loop {
            // SAFETY: flush completes the earliest outstanding job, NULL when none is left.
            let done = unsafe { flush(m) };
            if done.is_null() {
                break;
            }
            finish(done);
        }
    }
}

impl Drop for Mgr {
    fn drop(&mut self) {
        // SAFETY: ptr came from alloc_mb_mgr, and no job is outstanding (run always flushes).
        unsafe { sys::free_mb_mgr(self.ptr.as_ptr()) }
    }
}
