//! Logical cores: enumeration and launching closures on worker lcores.

use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::eal::Eal;
use crate::error::{check, Error, Result};
use crate::sys;

/// `LCORE_ID_ANY`: the id `rte_lcore_id()` returns on a non-EAL thread.
pub const LCORE_ID_ANY: u32 = u32::MAX;

/// The boxed closure run by [`Eal::launch`].
type Job = Box<dyn FnOnce() -> i32 + Send + 'static>;

/// The lcore id of the calling thread, or `None` on a thread that is not an EAL lcore.
#[inline]
pub fn current() -> Option<u32> {
    // SAFETY: reads a thread-local variable; valid on any thread.
    let id = unsafe { sys::shim_rte_lcore_id() };
    (id != LCORE_ID_ANY).then_some(id)
}

/// Iterator over enabled lcores, see [`Eal::lcores`] and [`Eal::workers`].
#[derive(Debug, Clone)]
pub struct Lcores {
    next: u32,
    skip_main: bool,
}

impl Iterator for Lcores {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        // SAFETY: rte_get_next_lcore only reads EAL's lcore table (initialised: an Eal exists).
        let n = unsafe { sys::rte_get_next_lcore(self.next, self.skip_main as c_int, 0) };
        if n >= sys::RTE_MAX_LCORE {
            self.next = sys::RTE_MAX_LCORE - 1;
            return None;
        }
        self.next = n;
        Some(n)
    }
}

unsafe extern "C" fn trampoline(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the Box<Job> leaked by Eal::launch, passed to exactly one invocation.
    let job: Box<Job> = unsafe { Box::from_raw(arg.cast::<Job>()) };
    // A panic must not unwind into C: report it as -1 instead.
    catch_unwind(AssertUnwindSafe(move || (*job)())).unwrap_or(-1)
}

impl Eal {
    /// Id of the main lcore (the one that called [`Eal::init`]).
    pub fn main_lcore(&self) -> u32 {
        // SAFETY: EAL is initialised.
        unsafe { sys::rte_get_main_lcore() }
    }

    /// Number of enabled lcores, main included.
    pub fn lcore_count(&self) -> u32 {
        // SAFETY: EAL is initialised.
        unsafe { sys::rte_lcore_count() }
    }

    /// All enabled lcores, main included, in increasing order.
    pub fn lcores(&self) -> Lcores {
        Lcores {
            next: u32::MAX,
            skip_main: false,
        }
    }

    /// The enabled worker lcores (main excluded).
    pub fn workers(&self) -> Lcores {
        Lcores {
            next: u32::MAX,
            skip_main: true,
        }
    }

    /// NUMA socket of `lcore`.
    pub fn socket_of(&self, lcore: u32) -> u32 {
        // SAFETY: EAL is initialised; out-of-range ids are handled by DPDK.
        unsafe { sys::rte_lcore_to_socket_id(lcore) }
    }

    /// Runs `f` on worker `lcore` (`rte_eal_remote_launch`). Its return value is collected
    /// with [`Eal::wait`]; a panic in `f` is reported as -1. Fails with
    /// [`Error::InvalidArg`] if `lcore` is not an enabled worker, with `EBUSY` if it is
    /// still running a previous job.
    pub fn launch<F>(&self, lcore: u32, f: F) -> Result<()>
    where
        F: FnOnce() -> i32 + Send + 'static,
    {
        if !self.workers().any(|w| w == lcore) {
            return Err(Error::InvalidArg("lcore is not an enabled worker"));
        }
        let job: Box<Job> = Box::new(Box::new(f));
        let arg = Box::into_raw(job).cast::<c_void>();
        // SAFETY: `trampoline` matches lcore_function_t and takes ownership of `arg` when
        // (and only when) the launch succeeds; `f` is Send + 'static.
        let ret = unsafe { sys::rte_eal_remote_launch(Some(trampoline), arg, lcore) };
        if ret < 0 {
            // SAFETY: the launch failed, so the job was not handed over; reclaim it.
            drop(unsafe { Box::from_raw(arg.cast::<Job>()) });
        }
        check("rte_eal_remote_launch", ret).map(|_| ())
    }

    /// Waits for the job on worker `lcore` to finish and returns its value (0 if none ran).
    pub fn wait(&self, lcore: u32) -> i32 {
        // SAFETY: EAL is initialised; called from the main lcore (Eal is !Send).
        unsafe { sys::rte_eal_wait_lcore(lcore) }
    }

    /// Waits for every worker lcore to finish its job.
    pub fn wait_all(&self) {
        // SAFETY: as in `wait`.
        unsafe { sys::rte_eal_mp_wait_lcore() }
    }
}
