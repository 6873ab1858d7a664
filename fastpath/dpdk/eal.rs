//! EAL initialisation and teardown (`rte_eal_init` / `rte_eal_cleanup`).

use std::ffi::{c_char, CString};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::sys;

/// Set once `rte_eal_init` has been attempted: EAL can be initialised once per process.
static INIT_ATTEMPTED: AtomicBool = AtomicBool::new(false);
/// Set when memory had to stay allocated (a mempool with mbufs still out was dropped):
/// `rte_eal_cleanup` must then not run.
static MEMORY_PINNED: AtomicBool = AtomicBool::new(false);

/// Keeps EAL alive; held by every object handle of this crate.
#[derive(Debug)]
pub(crate) struct EalToken;

/// Records that EAL memory must not be released (see [`Eal`]).
pub(crate) fn pin_memory() {
    MEMORY_PINNED.store(true, Ordering::SeqCst);
}

/// The initialised Environment Abstraction Layer.
///
/// Created once per process by [`Eal::init`], on the thread that becomes the main lcore;
/// it is not `Send`. Dropping it waits for all worker lcores (`rte_eal_mp_wait_lcore`) and
/// then calls `rte_eal_cleanup`, unless other handles ([`crate::Mempool`], [`crate::Port`],
/// [`crate::Ring`]) are still alive or a mempool was leaked; in that case EAL stays up until
/// the process exits.
#[derive(Debug)]
pub struct Eal {
    pub(crate) token: Arc<EalToken>,
    /// `!Send` and `!Sync`: EAL belongs to the main lcore thread.
    _not_send: PhantomData<*const ()>,
}

impl Eal {
    /// Initialises EAL with `args` (EAL options only, *without* a program name; one is
    /// supplied), e.g. `["--no-huge", "-m", "512", "--file-prefix", "gw0", "--vdev", "net_null0"]`.
    ///
    /// Fails with [`Error::AlreadyInitialized`] on a second call in the same process, even if
    /// the first one failed (DPDK does not allow a retry).
    pub fn init<S: AsRef<str>>(args: &[S]) -> Result<Eal> {
        let mut owned = Vec::with_capacity(args.len() + 1);
        owned.push(CString::new("dpdk-rs").expect("no NUL"));
        for a in args {
            owned.push(
                CString::new(a.as_ref())
                    .map_err(|_| Error::InvalidArg("EAL argument contains NUL"))?,
            );
        }
        let argc =
            i32::try_from(owned.len()).map_err(|_| Error::InvalidArg("too many EAL arguments"))?;
        if INIT_ATTEMPTED.swap(true, Ordering::SeqCst) {
            return Err(Error::AlreadyInitialized);
        }
        // EAL may keep pointers into argv (and permutes the array), so both the strings and
        // the array are leaked: a few bytes, once per process.
        let argv: &'static mut [*mut c_char] =
            Vec::leak(owned.into_iter().map(CString::into_raw).collect::<Vec<_>>());
        // SAFETY: argc/argv describe a valid, NUL-terminated, never-freed argument vector;
        // rte_eal_init is called at most once per process (INIT_ATTEMPTED).
        let ret = unsafe { sys::rte_eal_init(argc, argv.as_mut_ptr()) };
        if ret < 0 {
            return Err(Error::from_errno("rte_eal_init"));
        }
        Ok(Eal {
            token: Arc::new(EalToken),
            _not_send: PhantomData,
        })
    }

    /// Whether EAL has been initialised (or an attempt was made) in this process.
    pub fn init_attempted() -> bool {
        INIT_ATTEMPTED.load(Ordering::SeqCst)
    }

    /// TSC frequency measured by EAL, in Hz.
    pub fn tsc_hz(&self) -> u64 {
        crate::timer::tsc_hz()
    }
}

impl Drop for Eal {
    fn drop(&mut self) {
        // SAFETY: we are on the main lcore (Eal is !Send); waiting for workers is always valid
        // after a successful rte_eal_init.
        unsafe { sys::rte_eal_mp_wait_lcore() };
        if Arc::strong_count(&self.token) == 1 && !MEMORY_PINNED.load(Ordering::SeqCst) {
            // SAFETY: no object of this crate refers to DPDK memory any more (all handles hold
            // the token and are gone; no mempool was leaked with mbufs outstanding), and all
            // workers are idle. EAL is never used again (INIT_ATTEMPTED stays set).
            unsafe { sys::rte_eal_cleanup() };
        }
    }
}
