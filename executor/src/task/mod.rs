//! Tasks: one allocation per spawned future, and the references executors juggle.
//!
//! A task is a [`raw`] cell (header, scheduler hook, future or output) driven by the state
//! machine in [`state`]. The rest of the crate sees three kinds of reference, each holding
//! one unit of the task's reference count:
//!
//! - [`Task`]: the *queued* reference. Exactly one exists while `NOTIFIED` is set; run
//!   queues hold these, and [`Task::run`] consumes it.
//! - [`JoinHandle`]: the user's handle to the output.
//! - the owning executor's [`list`] entry, which lets shutdown find every live task.
//!
//! `Waker`s are a fourth kind, made by the raw waker vtable in [`raw`].

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::ptr::NonNull;

use crate::loom::stats::{AtomicU64, Ordering::Relaxed};

mod abort;
mod id;
mod join;
mod join_set;
pub(crate) mod list;
#[cfg(all(test, loom))]
mod loom_task;
mod raw;
pub(crate) mod state;

pub use abort::AbortHandle;
pub use id::{task_id, try_task_id, Id};
pub use join::{JoinError, JoinHandle};
pub use join_set::JoinSet;

use raw::Header;

/// The scheduling hook stored in each task: where a woken task goes.
pub(crate) trait Schedule: Send + Sync + 'static {
    /// Queues `task` (called by wakers and `abort`, from any thread).
    ///
    /// The caller holds a reference of its own to the task (and so to this scheduler,
    /// which lives inside it) until this returns; see the invariants in [`state`].
    fn schedule(&self, task: Task);

    /// Called (on any thread) after the task code caught a panic from the `JoinHandle`'s
    /// waker, when it was woken on completion or dropped with the task. An executor counts
    /// it in its metrics; the process-wide count is [`waker_panics`].
    fn waker_panicked(&self) {}
}

/// Panics from `JoinHandle` wakers caught so far by the task code, in this process.
///
/// Statistics only (plain `std` atomics, see [`crate::loom::stats`]): nothing is published
/// through it.
static WAKER_PANICS: AtomicU64 = AtomicU64::new(0);

/// The number of panics from `JoinHandle` wakers caught so far, process-wide.
#[allow(dead_code, reason = "read by tests and by executors that report it")]
pub(crate) fn waker_panics() -> u64 {
    WAKER_PANICS.load(Relaxed)
}

/// Counts a caught waker panic and reports the first one on stderr (the panic hook has
/// printed the message and location already; this says the panic was contained).
fn record_waker_panic(payload: Box<dyn Any + Send>) {
    if WAKER_PANICS.fetch_add(1, Relaxed) == 0 {
        let msg = join::payload_str(&*payload).unwrap_or("a non-string payload");
        eprintln!(
            "ply-executor: a JoinHandle's waker panicked ({msg}); the panic was caught and \
             the task completed normally. Later waker panics are only counted."
        );
    }
    // Even the payload's destructor is foreign code.
    let _ = std::panic::catch_unwind(AssertUnwindSafe(move || drop(payload)));
}

/// What happened when a task was run.
#[must_use]
pub(crate) enum Run {
    /// The task completed (output stored, or cancelled): remove it from the owner's list.
    /// The runner's reference travels in the token, so that it can be released together
    /// with the list's in one atomic operation.
    Complete(Completed),
    /// The task is waiting for a wake-up (or was already gone).
    Idle,
    /// The task woke itself while running: queue it again, at the back.
    Yielded(Task),
}

/// The runner's reference to a task that just completed. Dropping it releases that
/// reference; an owner that also holds a list entry releases both at once with
/// [`Completed::release_with_list_ref`].
#[must_use]
pub(crate) struct Completed {
    raw: RawTask,
}

impl Completed {
    pub(crate) fn raw(&self) -> RawTask {
        self.raw
    }

    /// Releases the runner's reference and the owner list's reference in one decrement.
    ///
    /// # Safety
    ///
    /// The caller has unlinked the task from its owner's list and so owns that list's
    /// reference.
    pub(crate) unsafe fn release_with_list_ref(self) {
        let raw = self.raw;
        std::mem::forget(self);
        if raw.header().state.ref_dec_twice() {
            // SAFETY: those were the last two references.
            unsafe { (raw.header().vtable.dealloc)(raw.ptr) };
        }
    }
}

impl Drop for Completed {
    fn drop(&mut self) {
        // SAFETY: the token owns the runner's reference.
        unsafe { raw::release(self.raw.ptr) }
    }
}

/// An untyped, uncounted pointer to a task, used to name it in the owner's list.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawTask {
    ptr: NonNull<Header>,
}

// SAFETY: a RawTask is only an address; what may be done with it across threads is decided
// by the reference (and its state bits) the holder owns.
unsafe impl Send for RawTask {}
// SAFETY: a RawTask has no `&self` method that touches the task without a counted
// reference: sharing the address between threads is no more than sending a copy of it.
unsafe impl Sync for RawTask {}

impl RawTask {
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: every holder of a RawTask also holds (or is) a counted reference.
        unsafe { self.ptr.as_ref() }
    }

    /// Shutdown: drops the future now unless it is being polled.
    ///
    /// # Safety
    ///
    /// The caller holds a reference to the task.
    pub(crate) unsafe fn shutdown(self) {
        // SAFETY: the caller's reference keeps the task alive.
        unsafe { (self.header().vtable.shutdown)(self.ptr) }
    }

    /// Gives up one reference.
    ///
    /// # Safety
    ///
    /// The caller owns one reference and does not use it afterwards.
    pub(crate) unsafe fn release(self) {
        // SAFETY: the caller owns one reference to this live task and gives it up here,
        // which is `raw::release`'s contract.
        unsafe { raw::release(self.ptr) }
    }

    pub(crate) fn as_ptr(self) -> NonNull<Header> {
        self.ptr
    }

    pub(crate) fn from_ptr(ptr: NonNull<Header>) -> RawTask {
        RawTask { ptr }
    }

    pub(crate) fn addr(self) -> usize {
        self.ptr.as_ptr() as usize
    }
}

/// The queued reference to a task: owning one is the right to run it once.
pub(crate) struct Task {
    raw: RawTask,
}

// SAFETY: a Task may cross threads (a waker on another thread queues it). Tasks whose future
// is `!Send` are only created by `new_local`, whose caller promises to run and drop the
// future on one thread only; running happens only through `Task::run`, on that thread. A
// Task that is merely dropped elsewhere releases a reference; the future is never dropped
// there because the owner's list keeps the task alive until the owner thread completes it.
unsafe impl Send for Task {}

impl Task {
    /// # Safety
    ///
    /// The caller transfers the queued reference of the live task `ptr`.
    unsafe fn from_raw(ptr: NonNull<Header>) -> Task {
        Task {
            raw: RawTask { ptr },
        }
    }

    /// Polls the task once (or drops its future if it was aborted).
    pub(crate) fn run(self) -> Run {
        let ptr = self.raw.ptr;
        std::mem::forget(self);
        // SAFETY: we transfer the queued reference to `run`.
        unsafe { (ptr.as_ref().vtable.run)(ptr) }
    }

    /// Aborts and runs the task: its future is dropped here and its `JoinHandle` resolves
    /// to a cancelled error.
    pub(crate) fn cancel(self) {
        match self.raw.header().state.transition_to_cancelled() {
            // Already queued (by us): the flag is set and `run` will drop the future.
            state::ToNotified::Nothing => {}
            // Impossible: we hold the queued reference, so the task is NOTIFIED.
            _ => unreachable!("cancel of a task that is not queued"),
        }
        let _ = self.run();
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        // SAFETY: we own the queued reference. The task stays NOTIFIED forever, so no waker
        // will queue it again: this is how closed queues discard tasks.
        unsafe { raw::release(self.raw.ptr) }
    }
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("state", &self.raw.header().state.load())
            .finish()
    }
}

/// Creates a task for a `Send` future. Returns the queued reference, the join handle and,
/// when `owned`, a pointer for the owner's list, which then holds a third reference.
pub(crate) fn new<F, S>(
    future: F,
    scheduler: S,
    owned: bool,
) -> (Task, JoinHandle<F::Output>, RawTask)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: the future is Send, so it may be polled and dropped on any thread.
    unsafe { new_local(future, scheduler, owned) }
}

/// Creates a task whose future may be `!Send`.
///
/// # Safety
///
/// The caller must poll (`Task::run`) and shut down the task only on the thread that
/// created it, and (when `owned`) keep it in a list that is drained on that thread.
pub(crate) unsafe fn new_local<F, S>(
    future: F,
    scheduler: S,
    owned: bool,
) -> (Task, JoinHandle<F::Output>, RawTask)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    let refs = if owned { 3 } else { 2 };
    let ptr = raw::allocate(future, scheduler, refs);
    let raw = RawTask { ptr };
    // SAFETY: `allocate` made one queued reference and one for the join handle.
    (Task { raw }, unsafe { JoinHandle::from_raw(raw) }, raw)
}
