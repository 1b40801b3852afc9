//! The user's side of a task: [`JoinHandle`] and [`JoinError`].

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{raw, RawTask};

/// An owned permission to await a spawned task's output.
///
/// A `JoinHandle<T>` is a future that resolves to `Ok(T)` when the task returns `T`, or to
/// `Err(JoinError)` if the task panicked or was cancelled (by [`abort`](Self::abort) or by
/// its executor shutting down).
///
/// Dropping a `JoinHandle` *detaches* the task: it keeps running and its output is dropped
/// when it completes.
///
/// # A waker that panics
///
/// The waker a `JoinHandle` was last polled with is woken by whichever executor thread
/// completes the task (or cancels it), and dropped with the task. That waker is foreign
/// code, so a panic in it (in `wake_by_ref` or in its destructor) is caught there: it
/// does not unwind into the executor. The task still completes and is freed normally, its
/// output stays available to this handle, and the executor's other tasks keep running.
/// The panic is counted (the executor's [`Metrics::waker_panics`](crate::Metrics)), the
/// panic hook has printed it as usual, and the first one in a process is also reported on
/// stderr. A waker that panicked may not have woken anyone: poll the handle again (or
/// check [`is_finished`](Self::is_finished)) rather than wait for it.
///
/// # Examples
///
/// ```
/// let ex = ply_executor::LocalExecutor::new();
/// let handle = ex.spawn_local(async { 6 * 7 });
/// assert!(!handle.is_finished());
/// assert_eq!(ex.block_on(handle).unwrap(), 42);
/// ```
pub struct JoinHandle<T> {
    raw: RawTask,
    /// Set once the output was taken: the task is complete and the handle is done with the
    /// stage and the waker slot, so dropping it only releases its reference.
    consumed: bool,
    _output: PhantomData<T>,
}

// SAFETY: the handle only ever moves a `T` out of the task (or drops it), so it may go to
// another thread when `T` may. The future itself is never touched by the handle.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only allows `abort` and `is_finished`, which are atomic operations.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// # Safety
    ///
    /// `raw` is a live task whose output type is `T`; the caller gives this handle the
    /// task's join-handle reference.
    pub(crate) unsafe fn from_raw(raw: RawTask) -> Self {
        JoinHandle {
            raw,
            consumed: false,
            _output: PhantomData,
        }
    }

    /// Cancels the task.
    ///
    /// If the task has not completed, its future is dropped on an executor thread the next
    /// time the executor reaches it (at once if it is idle; after the current poll if it is
    /// running), and awaiting this handle yields a [`JoinError`] for which
    /// [`is_cancelled`](JoinError::is_cancelled) is true. Aborting a completed task does
    /// nothing: its output stays available.
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = ply_executor::LocalExecutor::new();
    /// let handle = ex.spawn_local(std::future::pending::<()>());
    /// handle.abort();
    /// assert!(ex.block_on(handle).unwrap_err().is_cancelled());
    /// ```
    pub fn abort(&self) {
        raw::abort(self.raw.as_ptr());
    }

    /// A handle that can cancel this task from anywhere, without owning its output.
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = ply_executor::LocalExecutor::new();
    /// let handle = ex.spawn_local(std::future::pending::<()>());
    /// handle.abort_handle().abort();
    /// assert!(ex.block_on(handle).unwrap_err().is_cancelled());
    /// ```
    pub fn abort_handle(&self) -> super::AbortHandle {
        self.raw.header().state.ref_inc();
        // SAFETY: the increment above is the abort handle's own reference.
        unsafe { super::AbortHandle::from_raw(self.raw) }
    }

    /// The task's id (the same that [`task_id`](crate::task_id) returns inside it).
    pub fn id(&self) -> super::Id {
        self.raw.header().id
    }

    /// Returns `true` if the task has completed: returned, panicked or been cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = ply_executor::LocalExecutor::new();
    /// let handle = ex.spawn_local(async {});
    /// ex.run_until_idle();
    /// assert!(handle.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.raw.header().state.load().is_complete()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Awaiting a finished task in a loop must not starve the others either.
        if crate::coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
        let ptr = self.raw.as_ptr();
        // SAFETY: the handle's reference keeps the task alive; `out` has the type the
        // task's vtable writes (its output type is `T`).
        unsafe {
            (self.raw.header().vtable.try_read_output)(
                ptr,
                &mut out as *mut _ as *mut (),
                cx.waker(),
            )
        };
        if out.is_ready() {
            self.consumed = true;
        }
        out
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if self.consumed {
            // SAFETY: the output is gone and COMPLETE is final: nobody looks at the join
            // bits any more, so only our reference is left to give up.
            unsafe { self.raw.release() }
        } else {
            // SAFETY: we are the join handle, giving up our reference.
            unsafe { raw::drop_join_handle(self.raw.as_ptr()) }
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("state", &self.raw.header().state.load())
            .finish()
    }
}

/// Why a task did not produce its output.
///
/// # Examples
///
/// ```
/// let ex = ply_executor::LocalExecutor::new();
/// let err = ex.block_on(ex.spawn_local(async { panic!("boom") })).unwrap_err();
/// assert!(err.is_panic());
/// assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "boom");
/// ```
pub struct JoinError {
    repr: Repr,
}

enum Repr {
    Cancelled,
    // Boxed twice so a `Result<(), JoinError>` stays one word plus tag in the task; the
    // mutex makes the error `Sync` although a panic payload is only `Send`.
    Panic(Box<parking_lot::Mutex<Box<dyn Any + Send + 'static>>>),
}

impl JoinError {
    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            repr: Repr::Panic(Box::new(parking_lot::Mutex::new(payload))),
        }
    }

    /// Returns `true` if the task was cancelled (aborted, or dropped at shutdown).
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// Returns `true` if the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// Returns the panic payload.
    ///
    /// # Panics
    ///
    /// Panics if the task was cancelled rather than panicking; see
    /// [`try_into_panic`](Self::try_into_panic).
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("`JoinError::into_panic` called on a cancelled task")
    }

    /// Returns the panic payload, or the error back if the task was cancelled.
    ///
    /// # Errors
    ///
    /// Returns `Err(self)` if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(p.into_inner()),
            Repr::Cancelled => Err(self),
        }
    }

    /// Resumes unwinding with the task's panic, as if it had happened here. A cancelled
    /// task's error becomes a panic with this error's message.
    pub fn resume(self) -> ! {
        match self.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(err) => panic!("{err}"),
        }
    }
}

pub(super) fn payload_str(p: &(dyn Any + Send)) -> Option<&str> {
    p.downcast_ref::<&'static str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("task was cancelled"),
            Repr::Panic(p) => match payload_str(&**p.lock()) {
                Some(msg) => write!(f, "task panicked with message {msg:?}"),
                None => f.write_str("task panicked"),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::Panic(p) => match payload_str(&**p.lock()) {
                Some(msg) => write!(f, "JoinError::Panic({msg:?})"),
                None => f.write_str("JoinError::Panic(..)"),
            },
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(err: JoinError) -> std::io::Error {
        std::io::Error::other(err)
    }
}
