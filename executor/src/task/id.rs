//! Task identity: [`Id`], and which task the current thread is polling.

use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;

use crate::loom::stats::{AtomicU64, Ordering::Relaxed};

/// A task's id: unique among the tasks of this process, for as long as it runs.
///
/// Ids are handed out in spawn order from one process-wide counter (a 64-bit counter does
/// not wrap in practice), so they can be logged, compared and used as map keys. An id
/// names a task, not a future: it is the same from every thread, and a `JoinHandle`, an
/// [`AbortHandle`](crate::AbortHandle) and the task itself ([`task_id`]) report the same one.
///
/// # Examples
///
/// ```
/// let ex = ply_executor::LocalExecutor::new();
/// let handle = ex.spawn_local(async { ply_executor::task_id() });
/// let id = handle.id();
/// assert_eq!(ex.block_on(handle).unwrap(), id);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(NonZeroU64);

/// The next id to hand out. Statistics-grade atomics are enough: the counter publishes
/// nothing but its own value.
static NEXT: AtomicU64 = AtomicU64::new(1);

impl Id {
    pub(crate) fn next() -> Id {
        let n = NEXT.fetch_add(1, Relaxed);
        // Starts at 1 and would need 2^64 spawns to wrap to 0.
        Id(NonZeroU64::new(n).unwrap_or(NonZeroU64::MIN))
    }

    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

thread_local! {
    /// The task this thread is polling right now, if any.
    static CURRENT: Cell<Option<Id>> = const { Cell::new(None) };
}

/// Restores the previous current id when a task poll ends, even by unwinding.
pub(crate) struct IdGuard(Option<Id>);

impl Drop for IdGuard {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.set(self.0));
    }
}

/// Called by the task code around each poll.
#[inline]
pub(crate) fn enter(id: Id) -> IdGuard {
    IdGuard(CURRENT.try_with(|c| c.replace(Some(id))).ok().flatten())
}

/// The id of the task being polled on this thread.
///
/// # Panics
///
/// Panics outside a task (on a plain thread, or in `block_on`'s own future); see
/// [`try_task_id`].
///
/// # Examples
///
/// ```
/// let ex = ply_executor::Executor::builder().worker_threads(1).build()?;
/// let h = ex.spawn(async { ply_executor::task_id() });
/// let id = h.id();
/// assert_eq!(ex.block_on(h).unwrap(), id);
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn task_id() -> Id {
    try_task_id().expect("ply_executor::task_id called outside a task")
}

/// The id of the task being polled on this thread, or `None` outside a task.
///
/// # Examples
///
/// ```
/// assert!(ply_executor::try_task_id().is_none());
/// ```
pub fn try_task_id() -> Option<Id> {
    CURRENT.try_with(|c| c.get()).ok().flatten()
}
