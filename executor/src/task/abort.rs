//! [`AbortHandle`]: the right to cancel a task, without its output.

use std::fmt;

use super::{raw, Id, RawTask};

/// Cancels a task from anywhere, without owning its output.
///
/// Made by [`JoinHandle::abort_handle`](crate::JoinHandle::abort_handle). It is `Clone`,
/// `Send` and `Sync` whatever the task's output type, and dropping it does nothing to the
/// task. Aborting behaves as [`JoinHandle::abort`](crate::JoinHandle::abort): a task that
/// has not completed has its future dropped on an executor thread, and its `JoinHandle`
/// reports a cancelled [`JoinError`](crate::JoinError).
///
/// # Examples
///
/// ```
/// let ex = ply_executor::LocalExecutor::new();
/// let handle = ex.spawn_local(std::future::pending::<()>());
/// let abort = handle.abort_handle();
/// std::thread::spawn(move || abort.abort()).join().unwrap();
/// assert!(ex.block_on(handle).unwrap_err().is_cancelled());
/// ```
pub struct AbortHandle {
    /// Holds one reference of the task's count.
    raw: RawTask,
}

// SAFETY: an abort handle touches only the task's atomic state word and its scheduler
// (which is `Send + Sync`); never the future or the output.
unsafe impl Send for AbortHandle {}
// SAFETY: shared use is sound because every method takes `&self` and only does atomic
// operations on the task's state word or calls its `Send + Sync` scheduler.
unsafe impl Sync for AbortHandle {}

impl AbortHandle {
    /// # Safety
    ///
    /// `raw` is a live task, and the caller gives this handle one reference of its count.
    pub(crate) unsafe fn from_raw(raw: RawTask) -> AbortHandle {
        AbortHandle { raw }
    }

    /// Cancels the task (nothing if it has completed); see the type's docs.
    pub fn abort(&self) {
        raw::abort(self.raw.as_ptr());
    }

    /// Returns `true` if the task has completed: returned, panicked or been cancelled.
    pub fn is_finished(&self) -> bool {
        self.raw.header().state.load().is_complete()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.raw.header().id
    }
}

impl Clone for AbortHandle {
    fn clone(&self) -> AbortHandle {
        self.raw.header().state.ref_inc();
        // SAFETY: the increment above made the new handle's reference.
        unsafe { AbortHandle::from_raw(self.raw) }
    }
}

impl Drop for AbortHandle {
    fn drop(&mut self) {
        // SAFETY: this handle owns one reference and is gone after this.
        unsafe { self.raw.release() };
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}
