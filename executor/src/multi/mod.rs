//! [`Executor`]: the multi-threaded, work-stealing executor.
//!
//! # Implementation
//!
//! N worker threads, each with a bounded [`queue`] that other workers steal half of and a
//! LIFO slot for the task the running task just woke. Tasks from outside the workers go
//! through the shared [`inject`]ion queue. Idle workers park ([`park`]: one in the
//! executor's driver, the others on condvars); [`idle`] decides which one a new task
//! wakes. The run loop is in [`worker`].

use std::fmt;
use std::future::Future;
use std::io;
use std::thread::JoinHandle as ThreadHandle;

use crate::blocking::BlockingPool;
use crate::context::{self, Current};
use crate::loom::sync::atomic::{AtomicBool, Ordering::Release};
use crate::loom::sync::Arc;
use crate::metrics::{Counters, Metrics};
use crate::park::Unpark;
use crate::task::list::OwnedTasks;
use crate::task::{self, JoinHandle, Schedule, Task};

mod builder;
pub(crate) mod idle;
pub(crate) mod inject;
pub(crate) mod park;
pub(crate) mod queue;
pub(crate) mod worker;

#[cfg(all(test, loom))]
mod loom_park;
#[cfg(all(test, loom))]
mod loom_queue;

pub use builder::Builder;
pub(crate) use worker::WorkerContext;

/// State shared by the workers and every [`Handle`].
pub(crate) struct Shared {
    remotes: Box<[Remote]>,
    inject: inject::Inject,
    idle: idle::Idle,
    owned: OwnedTasks,
    blocking: BlockingPool,
    shutdown: AtomicBool,
    /// Spawns from outside the workers (several writers).
    remote_counters: Counters,
}

/// What other threads may touch of one worker.
struct Remote {
    steal: queue::Steal,
    unparker: Box<dyn Unpark>,
    counters: Counters,
}

impl Shared {
    /// Wakes one parked worker if work is waiting and nobody is searching for it.
    fn notify_parked(&self) {
        if let Some(index) = self.idle.worker_to_notify() {
            self.remotes[index].unparker.unpark();
        }
    }

    fn has_stealable_work(&self) -> bool {
        !self.inject.is_empty() || self.remotes.iter().any(|r| !r.steal.is_empty())
    }

    fn notify_if_work_pending(&self) {
        if self.has_stealable_work() {
            self.notify_parked();
        }
    }
}

impl Schedule for Arc<Shared> {
    fn schedule(&self, task: Task) {
        if let Some(task) = worker::try_schedule_local(self, task, true) {
            if self.inject.push(task) {
                self.notify_parked();
            }
        }
    }

    fn waker_panicked(&self) {
        self.remote_counters.waker_panicked();
    }
}

/// A cheap, cloneable, `Send + Sync` handle to an [`Executor`]: spawns tasks and reads
/// metrics from any thread.
///
/// A handle does not keep the executor running: once the [`Executor`] is dropped, tasks
/// spawned through a handle are cancelled at once (their `JoinHandle` reports it).
///
/// # Examples
///
/// ```
/// let ex = ply_executor::Executor::builder().worker_threads(2).build()?;
/// let handle = ex.handle().clone();
/// let v = std::thread::spawn(move || {
///     ply_executor::block_on(handle.spawn(async { 7 })).unwrap()
/// })
/// .join()
/// .unwrap();
/// assert_eq!(v, 7);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl Handle {
    /// Returns the handle of the executor running on this thread.
    ///
    /// # Panics
    ///
    /// Panics if no multi-threaded ply executor is running on this thread; see
    /// [`try_current`](Self::try_current).
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = ply_executor::Executor::builder().worker_threads(1).build()?;
    /// ex.block_on(async {
    ///     let h = ply_executor::Handle::current();
    ///     assert_eq!(h.num_workers(), 1);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn current() -> Handle {
        Handle::try_current().expect(
            "no multi-threaded ply executor is running on this thread: pass a `Handle` \
             explicitly, or call this from a task or `Executor::block_on`",
        )
    }

    /// Returns the handle of the executor running on this thread, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(ply_executor::Handle::try_current().is_none());
    /// ```
    pub fn try_current() -> Option<Handle> {
        match context::current() {
            Some(Current::Multi(h)) => Some(h),
            _ => None,
        }
    }

    /// Spawns a task onto the executor.
    ///
    /// From one of the executor's workers the task goes to that worker's queue; from
    /// anywhere else, to the injection queue, and one parked worker is woken.
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = ply_executor::Executor::builder().worker_threads(2).build()?;
    /// let h = ex.handle().spawn(async { "hi" });
    /// assert_eq!(ex.block_on(h).unwrap(), "hi");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let shared = &self.shared;
        let (task, join, raw) = task::new(future, shared.clone(), true);
        // SAFETY: a new task is in no list; on success the list takes the third reference.
        if !unsafe { shared.owned.insert(raw) } {
            // Shut down: drop the future now; the handle reports cancellation.
            task.cancel();
            // SAFETY: the list's reference was never handed over.
            unsafe { raw.release() };
            return join;
        }
        match context::with_worker(|w| match w {
            Some(w) if Arc::ptr_eq(&w.handle().shared, shared) => {
                shared.remotes[w.index()].counters.spawned();
                true
            }
            _ => false,
        }) {
            true => {
                if let Some(task) = worker::try_schedule_local(shared, task, false) {
                    if shared.inject.push(task) {
                        shared.notify_parked();
                    }
                }
            }
            false => {
                shared.remote_counters.spawned_shared();
                if shared.inject.push(task) {
                    shared.notify_parked();
                }
            }
        }
        join
    }

    /// Runs `f` on the executor's blocking pool.
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = ply_executor::Executor::builder().worker_threads(1).build()?;
    /// let h = ex.handle().spawn_blocking(|| std::fs::metadata("/").is_ok());
    /// assert!(ex.block_on(h).unwrap());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.shared.blocking.spawn(f)
    }

    pub(crate) fn blocking_pool(&self) -> &BlockingPool {
        &self.shared.blocking
    }

    /// The number of worker threads.
    pub fn num_workers(&self) -> usize {
        self.shared.remotes.len()
    }

    /// Counters summed over all workers (plus spawns from outside them).
    ///
    /// Counters are updated by the workers as they go, so a reader on another thread may
    /// briefly lag behind: a task's completion, for instance, is counted just after its
    /// `JoinHandle` has been told.
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = ply_executor::Executor::builder().worker_threads(2).build()?;
    /// ex.block_on(ex.handle().spawn(async {})).unwrap();
    /// let m = ex.handle().metrics();
    /// assert_eq!(m.spawned, 1);
    /// assert!(m.polled >= 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn metrics(&self) -> Metrics {
        let shared = &self.shared;
        shared
            .remotes
            .iter()
            .map(|r| r.counters.snapshot())
            .fold(shared.remote_counters.snapshot(), |a, b| a + b)
    }

    /// Counters of worker `index` (tasks it spawned, polled, completed, stole; its parks).
    ///
    /// # Panics
    ///
    /// Panics if `index >= self.num_workers()`.
    pub fn worker_metrics(&self, index: usize) -> Metrics {
        self.shared.remotes[index].counters.snapshot()
    }

    /// The number of tasks spawned on the executor that have not completed.
    pub fn num_tasks(&self) -> usize {
        self.shared.owned.len()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.num_workers())
            .field("metrics", &self.metrics())
            .finish_non_exhaustive()
    }
}

/// A multi-threaded, work-stealing executor.
///
/// Spawn through [`handle`](Self::handle) (from anywhere) or [`spawn`](crate::spawn) (from
/// its tasks), and wait for a result with [`block_on`](Self::block_on) or by awaiting the
/// [`JoinHandle`].
///
/// Dropping the executor stops the workers (each finishes the poll it is in), then drops
/// the future of every task it still owns on the dropping thread. Their `JoinHandle`s
/// resolve to cancelled errors. Blocking tasks that already started run to completion,
/// detached.
///
/// # Implementation
///
/// Each worker has a bounded queue (256 tasks) that others steal half of, and a LIFO slot
/// for the task the running task just woke, so message passing stays on one core. Tasks
/// from outside the workers go through a shared injection queue, which every worker also
/// checks every 61 tasks for fairness. An idle worker waits in the executor's driver (see
/// [`Builder::build_with_driver`]) if no other worker does, else on its own condition
/// variable; a new task wakes at most one parked worker, and only when no worker is
/// already searching for work. `docs/executor.md` describes the queue protocol and the parking rules.
///
/// # Examples
///
/// ```
/// let ex = ply_executor::Executor::builder().worker_threads(2).build()?;
/// let total = ex.block_on(async {
///     let handles: Vec<_> = (0..100u64).map(|i| ply_executor::spawn(async move { i })).collect();
///     let mut sum = 0;
///     for h in handles {
///         sum += h.await.unwrap();
///     }
///     sum
/// });
/// assert_eq!(total, 4950);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Executor {
    handle: Handle,
    threads: Vec<ThreadHandle<()>>,
}

impl Executor {
    /// Starts an executor with one worker per available CPU and thread parkers.
    ///
    /// # Errors
    ///
    /// Returns an error if a worker thread cannot be spawned.
    pub fn new() -> io::Result<Executor> {
        Builder::new().build()
    }

    /// Returns a [`Builder`] to configure an executor.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// The executor's handle.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Spawns a task; see [`Handle::spawn`].
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs `future` on the current thread until it completes, with this executor current
    /// (so [`spawn`](crate::spawn) reaches it); the workers keep running the tasks.
    ///
    /// # Panics
    ///
    /// Panics if `future` panics, and if called from inside a task that a ply executor is
    /// polling (see [`block_on`](crate::block_on)).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = context::enter(Current::Multi(self.handle.clone()));
        crate::block_on(future)
    }
}

impl Executor {
    /// Shuts the executor down as dropping it does (workers stop, every task's future is
    /// dropped), then waits up to `timeout` for blocking tasks that are already running to
    /// finish. Returns `true` if they all did; those still running go on detached.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ex = ply_executor::Executor::builder().worker_threads(1).build()?;
    /// let _h = ex.handle().spawn_blocking(|| std::thread::sleep(Duration::from_millis(20)));
    /// std::thread::sleep(Duration::from_millis(5)); // let it start
    /// assert!(ex.shutdown_timeout(Duration::from_secs(5)));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown_timeout(self, timeout: std::time::Duration) -> bool {
        let pool = self.handle.shared.blocking.clone();
        drop(self);
        pool.wait_for_threads(timeout)
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        let shared = &self.handle.shared;
        shared.shutdown.store(true, Release);
        drop(shared.inject.close());
        for r in shared.remotes.iter() {
            r.unparker.unpark();
        }
        let me = std::thread::current().id();
        for t in self.threads.drain(..) {
            // A task that drops its own executor cannot wait for its own thread.
            if t.thread().id() != me {
                let _ = t.join();
            }
        }
        shared.owned.close_and_shutdown_all();
        drop(shared.inject.close());
        shared.blocking.shutdown();
    }
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}
