//! The thread-local "current executor", and the free `spawn*` functions built on it.
//!
//! While a thread runs an executor (a worker thread, or a thread inside
//! [`LocalExecutor::block_on`](crate::LocalExecutor::block_on) or
//! [`Executor::block_on`](crate::Executor::block_on)), that executor is *current* on it.
//! The free functions here spawn onto the current executor. They are a convenience: every
//! one of them has an explicit-handle equivalent.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::rc::Rc;

use crate::blocking::BlockingPool;
use crate::local::LocalCore;
use crate::multi::{Handle, WorkerContext};
use crate::task::JoinHandle;

/// The executor current on this thread.
#[derive(Clone)]
pub(crate) enum Current {
    Multi(Handle),
    Local(Rc<LocalCore>),
}

thread_local! {
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
    // Set only on a worker thread of an `Executor`, for the duration of its run loop.
    static WORKER: Cell<*const WorkerContext> = const { Cell::new(std::ptr::null()) };
    // What this thread is doing for an executor: `IN_EXECUTOR` and `POLLING_TASK` below.
    // A plain `Cell` with no destructor, so it is usable even during thread exit.
    static FLAGS: Cell<u8> = const { Cell::new(0) };
}

/// Set while an executor is entered on this thread (between [`enter`] and its guard's
/// drop): a worker's run loop, `LocalExecutor::block_on` and `run_until_idle`,
/// `Executor::block_on`, an executor's drop.
const IN_EXECUTOR: u8 = 1 << 0;
/// Set while this thread polls a task's future *for an executor*: set by
/// [`enter_task_poll`] only when `IN_EXECUTOR` is set, so a blocking-pool thread (which
/// runs its closures as tasks, but enters no executor) never has it.
const POLLING_TASK: u8 = 1 << 1;

/// Makes an executor current until dropped; restores the previous one.
pub(crate) struct EnterGuard {
    prev: Option<Current>,
    /// `FLAGS` before this guard, restored by its drop.
    prev_flags: u8,
    /// `false` if the thread-local was already destroyed (an executor dropped during
    /// thread exit): then nothing was entered and nothing is restored.
    entered: bool,
}

pub(crate) fn enter(current: Current) -> EnterGuard {
    // `POLLING_TASK` is kept: entering an executor from inside a task (its `block_on`)
    // is still "inside a task" for the checks in `block_on`.
    let prev_flags = FLAGS.with(|f| f.replace(f.get() | IN_EXECUTOR));
    match CURRENT.try_with(|c| c.borrow_mut().replace(current)) {
        Ok(prev) => EnterGuard {
            prev,
            prev_flags,
            entered: true,
        },
        Err(_) => EnterGuard {
            prev: None,
            prev_flags,
            entered: false,
        },
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        FLAGS.with(|f| f.set(self.prev_flags));
        if !self.entered {
            return;
        }
        let prev = self.prev.take();
        // Dropping the replaced value outside the borrow: it may be the last reference to a
        // local executor's core, whose drop may run arbitrary destructors.
        let replaced = CURRENT.try_with(|c| std::mem::replace(&mut *c.borrow_mut(), prev));
        drop(replaced);
    }
}

/// Marks this thread as polling an executor's task until dropped (if an executor is
/// entered here at all); restores the previous marks.
pub(crate) struct TaskPollGuard {
    prev_flags: Option<u8>,
}

/// Called by the task code around each poll of a task's future.
#[inline]
pub(crate) fn enter_task_poll() -> TaskPollGuard {
    let prev_flags = FLAGS.with(|f| {
        let flags = f.get();
        // Only an executor's tasks count: a blocking-pool thread or a test harness that
        // runs tasks without entering an executor writes nothing.
        if flags & IN_EXECUTOR != 0 && flags & POLLING_TASK == 0 {
            f.set(flags | POLLING_TASK);
            Some(flags)
        } else {
            None
        }
    });
    TaskPollGuard { prev_flags }
}

impl Drop for TaskPollGuard {
    #[inline]
    fn drop(&mut self) {
        if let Some(flags) = self.prev_flags {
            FLAGS.with(|f| f.set(flags));
        }
    }
}

/// Returns `true` if this thread is polling a task for a ply executor right now: a
/// worker of an `Executor`, or a thread inside a `LocalExecutor`, in the middle of a
/// task's `poll` (or anything called from it).
pub(crate) fn is_polling_task() -> bool {
    FLAGS.with(|f| f.get() & POLLING_TASK != 0)
}

/// Runs `f` with the current local executor's core, if the current executor is local.
pub(crate) fn with_local<R>(f: impl FnOnce(Option<&LocalCore>) -> R) -> R {
    let mut f = Some(f);
    let r = CURRENT.try_with(|c| match &*c.borrow() {
        Some(Current::Local(core)) => (f.take().unwrap())(Some(core)),
        _ => (f.take().unwrap())(None),
    });
    match r {
        Ok(r) => r,
        Err(_) => (f.take().unwrap())(None),
    }
}

/// Marks this thread as running the worker `cx` until the guard is dropped.
pub(crate) struct WorkerGuard(());

pub(crate) fn set_worker(cx: &WorkerContext) -> WorkerGuard {
    WORKER.with(|w| w.set(cx));
    WorkerGuard(())
}

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        let _ = WORKER.try_with(|w| w.set(std::ptr::null()));
    }
}

/// Runs `f` with this thread's worker context, if it is a worker thread.
pub(crate) fn with_worker<R>(f: impl FnOnce(Option<&WorkerContext>) -> R) -> R {
    let ptr = WORKER.try_with(|w| w.get()).unwrap_or(std::ptr::null());
    // SAFETY: the pointer is set by `set_worker` from a reference to a context that lives on
    // the worker thread's stack for longer than the guard, and cleared by the guard's drop.
    f(unsafe { ptr.as_ref() })
}

pub(crate) fn current() -> Option<Current> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// Why a `try_spawn*` function could not spawn.
///
/// # Examples
///
/// ```
/// // No executor runs on this thread:
/// let err = ply_executor::try_spawn(async {}).unwrap_err();
/// assert!(err.to_string().contains("no ply executor"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpawnError {
    kind: SpawnErrorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SpawnErrorKind {
    NoExecutor,
    NotLocal,
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            SpawnErrorKind::NoExecutor => f.write_str(
                "no ply executor is running on this thread: spawn through an explicit \
                 handle (`Executor::handle`, `LocalExecutor::spawn_local`), or call this \
                 from inside a task or a `block_on` of an executor",
            ),
            SpawnErrorKind::NotLocal => f.write_str(
                "`spawn_local` needs a `LocalExecutor` running on this thread, but the \
                 current executor is the multi-threaded one (or there is none)",
            ),
        }
    }
}

impl std::error::Error for SpawnError {}

/// Spawns a task onto the executor running on this thread.
///
/// The task runs concurrently with the caller; await the returned [`JoinHandle`] for its
/// output, or drop the handle to let it run detached.
///
/// # Panics
///
/// Panics if no ply executor is running on this thread; see [`try_spawn`].
///
/// # Examples
///
/// ```
/// let ex = ply_executor::Executor::builder().worker_threads(2).build()?;
/// let v = ex.block_on(async {
///     ply_executor::spawn(async { 40 + 2 }).await.unwrap()
/// });
/// assert_eq!(v, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match try_spawn(future) {
        Ok(handle) => handle,
        Err(e) => panic!("{e}"),
    }
}

/// Spawns a task onto the executor running on this thread, or returns an error.
///
/// # Errors
///
/// Returns an error (and drops `future`) if no ply executor is running on this thread.
///
/// # Examples
///
/// ```
/// assert!(ply_executor::try_spawn(async {}).is_err());
/// let ex = ply_executor::LocalExecutor::new();
/// let v = ex.block_on(async { ply_executor::try_spawn(async { 5 }).unwrap().await });
/// assert_eq!(v.unwrap(), 5);
/// ```
pub fn try_spawn<F>(future: F) -> Result<JoinHandle<F::Output>, SpawnError>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match current() {
        Some(Current::Multi(handle)) => Ok(handle.spawn(future)),
        Some(Current::Local(core)) => Ok(core.spawn_local(future)),
        None => Err(SpawnError {
            kind: SpawnErrorKind::NoExecutor,
        }),
    }
}

/// Spawns a `!Send` task onto the [`LocalExecutor`](crate::LocalExecutor) running on this
/// thread.
///
/// # Panics
///
/// Panics if no `LocalExecutor` is running on this thread; see [`try_spawn_local`].
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// let ex = ply_executor::LocalExecutor::new();
/// let v = ex.block_on(async {
///     let shared = Rc::new(5); // not Send
///     ply_executor::spawn_local(async move { *shared * 2 }).await.unwrap()
/// });
/// assert_eq!(v, 10);
/// ```
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    match try_spawn_local(future) {
        Ok(handle) => handle,
        Err(e) => panic!("{e}"),
    }
}

/// Spawns a `!Send` task onto the `LocalExecutor` running on this thread, or returns an
/// error.
///
/// # Errors
///
/// Returns an error (and drops `future`) if no `LocalExecutor` is running on this thread.
///
/// # Examples
///
/// ```
/// assert!(ply_executor::try_spawn_local(async {}).is_err());
/// ```
pub fn try_spawn_local<F>(future: F) -> Result<JoinHandle<F::Output>, SpawnError>
where
    F: Future + 'static,
    F::Output: 'static,
{
    match current() {
        Some(Current::Local(core)) => Ok(core.spawn_local(future)),
        _ => Err(SpawnError {
            kind: SpawnErrorKind::NotLocal,
        }),
    }
}

/// Runs a blocking function on a thread of the blocking pool.
///
/// Uses the current executor's pool, or, on a thread without a ply executor, a global pool
/// started on first use. Pools are bounded; their threads exit after being idle for a
/// while. Await the returned handle for the function's return value; a panic in `f`
/// surfaces as a [`JoinError`](crate::JoinError).
///
/// # Examples
///
/// ```
/// let handle = ply_executor::spawn_blocking(|| std::thread::current().name().map(String::from));
/// let name = ply_executor::block_on(handle).unwrap();
/// assert!(name.unwrap().contains("blocking"));
/// ```
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let pool = match current() {
        Some(Current::Multi(handle)) => handle.blocking_pool().clone(),
        Some(Current::Local(core)) => core.blocking_pool().clone(),
        None => BlockingPool::global().clone(),
    };
    pool.spawn(f)
}
