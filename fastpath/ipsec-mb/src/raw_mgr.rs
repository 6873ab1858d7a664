//! One `IMB_MGR` allocated and set up for this CPU's best code path: what [`crate::Mgr`]
//! runs jobs on, and where key preparation finds the code path's functions.

use crate::sys;
use std::ptr::NonNull;

/// An initialised manager, freed on drop.
pub(crate) struct RawMgr {
    ptr: NonNull<sys::IMB_MGR>,
}

impl RawMgr {
    /// Allocates a manager and initialises it (`init_mb_mgr_auto`), with the code path that
    /// selected; `None` if allocation fails.
    pub(crate) fn new() -> Option<(RawMgr, sys::IMB_ARCH)> {
        // SAFETY: alloc_mb_mgr has no preconditions; it returns NULL on failure.
        let ptr = NonNull::new(unsafe { sys::alloc_mb_mgr(0) })?;
        let mut arch: sys::IMB_ARCH = sys::IMB_ARCH_NONE;
        // SAFETY: ptr is a freshly allocated manager; arch is a valid out-pointer.
        unsafe { sys::init_mb_mgr_auto(ptr.as_ptr(), &mut arch) };
        Some((RawMgr { ptr }, arch))
    }

    #[inline]
    pub(crate) fn as_ptr(&self) -> *mut sys::IMB_MGR {
        self.ptr.as_ptr()
    }
}

impl AsRef<sys::IMB_MGR> for RawMgr {
    #[inline]
    fn as_ref(&self) -> &sys::IMB_MGR {
        // SAFETY: ptr is an initialised manager for the lifetime of self; shared access only
        // reads its fields.
        unsafe { self.ptr.as_ref() }
    }
}

impl Drop for RawMgr {
    fn drop(&mut self) {
        // SAFETY: ptr came from alloc_mb_mgr and is not used afterwards.
        unsafe { sys::free_mb_mgr(self.ptr.as_ptr()) };
    }
}
