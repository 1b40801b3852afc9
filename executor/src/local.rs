//! [`LocalExecutor`]: a single-threaded executor for `!Send` futures.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::blocking::{BlockingPool, DEFAULT_KEEP_ALIVE, DEFAULT_MAX_THREADS};
use crate::context::{self, Current};
use crate::coop;
use crate::loom::sync::atomic::{
    AtomicBool, Ordering::AcqRel, Ordering::Acquire, Ordering::Release,
};
use crate::loom::sync::{Arc, Mutex};
use crate::metrics::{Counters, Metrics};
use crate::park::{Park, ThreadParker, Unpark};
use crate::task::list::List;
use crate::task::{self, JoinHandle, RawTask, Run, Schedule, Task};

/// How many tasks run between two looks at the queue of wake-ups from other threads.
const REMOTE_INTERVAL: u32 = 31;
/// How many tasks run before the main future of `block_on` gets a chance again.
const MAX_BATCH: u32 = 128;
/// Polls (tasks or the main future) between two zero-timeout turns of the parker while
/// the executor never runs out of work: the same figure as the multi-threaded
/// executor's, measured in `docs/executor.md` ("The driver interval").
const DRIVER_INTERVAL: u32 = 61;

/// A single-threaded executor: runs `!Send` futures on the thread that owns it.
///
/// Tasks are spawned with [`spawn_local`](Self::spawn_local) (or the free
/// [`spawn_local`](crate::spawn_local) while the executor runs) and run while the owner
/// calls [`block_on`](Self::block_on) or [`run_until_idle`](Self::run_until_idle). A task
/// may be woken from any thread: the wake-up is queued and the executor's parker is
/// unparked.
///
/// When it has nothing to run, the executor waits through its [`Park`]er. The default is a
/// [`ThreadParker`]; [`with_parker`](Self::with_parker) takes any other, which is how a
/// reactor and timers get driven on the same thread as the tasks.
///
/// Dropping the executor drops every task it still owns, on the dropping thread; their
/// `JoinHandle`s resolve to cancelled errors.
///
/// # Implementation
///
/// Tasks woken on the owner thread while the executor runs go straight into a plain
/// `VecDeque`; wake-ups from other threads go into a mutex-protected queue (plus an atomic
/// flag, so the owner looks at it without locking) and unpark the parker. The owner
/// drains that queue when its own is empty and every 31 tasks, so remote wake-ups are
/// never starved. Only the owner thread ever polls or drops a task's future.
///
/// The parker is also the executor's *driver* (a reactor, a timer): a busy executor never
/// parks, so every 61 polls it calls `park_timeout(Duration::ZERO)` to let the driver
/// deliver what is due. A task that wakes itself while polled (`yield_now`, a spent
/// budget), and a main future that does, runs again only after such a turn.
///
/// The executor owns `!Send` futures, so it is itself neither `Send` nor `Sync`:
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// send(ply_executor::LocalExecutor::new());
/// ```
///
/// # Examples
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
///
/// let ex = ply_executor::LocalExecutor::new();
/// let log = Rc::new(RefCell::new(Vec::new())); // !Send
/// let l = log.clone();
/// let task = ex.spawn_local(async move { l.borrow_mut().push("task") });
/// ex.block_on(async {
///     task.await.unwrap();
///     log.borrow_mut().push("main");
/// });
/// assert_eq!(*log.borrow(), ["task", "main"]);
/// ```
pub struct LocalExecutor<P: Park = ThreadParker> {
    core: Rc<LocalCore>,
    parker: RefCell<P>,
}

/// The owner-thread state, shared (through `Rc`) with the thread-local context.
pub(crate) struct LocalCore {
    queue: RefCell<VecDeque<Task>>,
    /// Tasks that woke themselves while polled: they run after the next driver turn.
    deferred: RefCell<Vec<Task>>,
    owned: RefCell<List>,
    closed: Cell<bool>,
    tick: Cell<u32>,
    remote: Arc<Remote>,
    blocking: BlockingPool,
}

/// The part other threads touch: wake-ups arrive here.
pub(crate) struct Remote {
    queue: Mutex<RemoteQueue>,
    /// Set when `queue` may hold tasks, so the owner checks it without locking.
    pending: AtomicBool,
    unparker: Box<dyn Unpark>,
    counters: Counters,
}

#[derive(Default)]
struct RemoteQueue {
    tasks: VecDeque<Task>,
    /// Tasks spawned from other threads through a [`LocalSpawner`], with the reference
    /// the owned list takes once the owner thread adopts them.
    spawned: Vec<(Task, RawTask)>,
    closed: bool,
}

impl LocalExecutor<ThreadParker> {
    /// Creates an executor that parks the thread when idle.
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = ply_executor::LocalExecutor::new();
    /// assert_eq!(ex.block_on(async { 1 }), 1);
    /// ```
    pub fn new() -> LocalExecutor<ThreadParker> {
        LocalExecutor::with_parker(ThreadParker::new())
    }
}

impl Default for LocalExecutor<ThreadParker> {
    fn default() -> Self {
        LocalExecutor::new()
    }
}

impl<P: Park> LocalExecutor<P> {
    /// Creates an executor that waits through `parker` when idle.
    ///
    /// `parker.park()` is called on the owner thread with no borrow held, so it may wake
    /// tasks (of this executor or others) while it runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use ply_executor::{park::ThreadParker, LocalExecutor};
    /// let ex = LocalExecutor::with_parker(ThreadParker::new());
    /// assert_eq!(ex.block_on(async { 2 }), 2);
    /// ```
    pub fn with_parker(parker: P) -> LocalExecutor<P> {
        let remote = Arc::new(Remote {
            queue: Mutex::new(RemoteQueue::default()),
            pending: AtomicBool::new(false),
            unparker: Box::new(parker.unparker()),
            counters: Counters::default(),
        });
        LocalExecutor {
            core: Rc::new(LocalCore {
                queue: RefCell::new(VecDeque::with_capacity(64)),
                deferred: RefCell::new(Vec::new()),
                owned: RefCell::new(List::default()),
                closed: Cell::new(false),
                tick: Cell::new(0),
                remote,
                blocking: BlockingPool::new(
                    DEFAULT_MAX_THREADS,
                    DEFAULT_KEEP_ALIVE,
                    "ply-local-blocking".into(),
                ),
            }),
            parker: RefCell::new(parker),
        }
    }

    /// Spawns a task, which may be `!Send`. It runs while the executor runs.
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = ply_executor::LocalExecutor::new();
    /// let rc = std::rc::Rc::new(3);
    /// let h = ex.spawn_local(async move { *rc + 1 });
    /// assert_eq!(ex.block_on(h).unwrap(), 4);
    /// ```
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.core.spawn_local(future)
    }

    /// A `Send + Sync` handle that spawns `Send` futures onto this executor from any
    /// thread. The task is queued, the executor's parker is unparked, and the owner thread
    /// adopts and runs it (in its `block_on`). Spawns that reach an executor that has been
    /// dropped are cancelled: their `JoinHandle` reports it.
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = ply_executor::LocalExecutor::new();
    /// let spawner = ex.spawner();
    /// let h = std::thread::spawn(move || spawner.spawn(async { 40 + 2 }))
    ///     .join()
    ///     .unwrap();
    /// assert_eq!(ex.block_on(h).unwrap(), 42);
    /// ```
    pub fn spawner(&self) -> LocalSpawner {
        LocalSpawner {
            remote: self.core.remote.clone(),
        }
    }

    /// Runs `f` on this executor's blocking pool.
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = ply_executor::LocalExecutor::new();
    /// let h = ex.spawn_blocking(|| 6 * 7);
    /// assert_eq!(ex.block_on(h).unwrap(), 42);
    /// ```
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.core.blocking.spawn(f)
    }

    /// Runs the executor's tasks and `future` together on this thread until `future`
    /// completes, then returns its output. Tasks still pending stay in the executor.
    ///
    /// While it runs, this executor is the thread's current one, so
    /// [`spawn_local`](crate::spawn_local) and [`spawn`](crate::spawn) reach it.
    ///
    /// # Panics
    ///
    /// Panics if called from inside a task that an executor is polling (this one's or
    /// another's: blocking there would stall every task of that thread), and if
    /// `future` panics (a task's panic is caught in its `JoinHandle` instead).
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = ply_executor::LocalExecutor::new();
    /// let sum = ex.block_on(async {
    ///     let a = ply_executor::spawn_local(async { 1 });
    ///     let b = ply_executor::spawn_local(async { 2 });
    ///     a.await.unwrap() + b.await.unwrap()
    /// });
    /// assert_eq!(sum, 3);
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        assert!(
            !context::is_polling_task(),
            "LocalExecutor::block_on called from inside a task: it would block the thread \
             that runs the task (and every task beside it). Use `.await`, or run the blocking \
             work with `spawn_blocking` or on a thread of your own"
        );
        let mut parker = self
            .parker
            .try_borrow_mut()
            .expect("LocalExecutor::block_on called from inside the same executor");
        let _enter = context::enter(Current::Local(self.core.clone()));
        let main = Arc::new(MainWaker {
            woken: AtomicBool::new(true),
            remote: self.core.remote.clone(),
        });
        let waker = Waker::from(std::sync::Arc::new(MainWakerRef(main.clone())));
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        // Polls since the parker last had a turn, and whether the main future woke itself
        // (so it waits for a turn like a yielded task does).
        let mut since_turn = 0;
        let mut main_yielded = false;
        loop {
            if since_turn >= DRIVER_INTERVAL || main_yielded || self.core.has_only_deferred() {
                // The driver's turn, even though there is work: see the type's docs.
                since_turn = 0;
                main_yielded = false;
                parker.park_timeout(Duration::ZERO);
                self.core.requeue_deferred();
            }
            if main.woken.swap(false, AcqRel) {
                since_turn += 1;
                if let Poll::Ready(v) = coop::budget(|| future.as_mut().poll(&mut cx)) {
                    return v;
                }
                main_yielded = main.woken.load(Acquire);
            }
            let mut ran = 0;
            while ran < MAX_BATCH && since_turn < DRIVER_INTERVAL {
                let Some(task) = self.core.next_task() else {
                    break;
                };
                self.core.run_task(task);
                ran += 1;
                since_turn += 1;
                if main.woken.load(Acquire) {
                    break;
                }
            }
            if ran == 0 && !main.woken.load(Acquire) && self.core.is_idle() {
                self.core.remote.counters.parked();
                parker.park();
                since_turn = 0;
            }
        }
    }

    /// Runs ready tasks until none is left, without parking. Returns how many polls ran.
    ///
    /// A task that wakes itself while polled (`yield_now`) is ready again, so it runs
    /// again in the same call: a task that always yields keeps this call running.
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = ply_executor::LocalExecutor::new();
    /// let h = ex.spawn_local(async { 9 });
    /// assert_eq!(ex.run_until_idle(), 1);
    /// assert!(h.is_finished());
    /// ```
    pub fn run_until_idle(&self) -> usize {
        let _enter = context::enter(Current::Local(self.core.clone()));
        let mut ran = 0;
        loop {
            while let Some(task) = self.core.next_task() {
                self.core.run_task(task);
                ran += 1;
            }
            if !self.core.has_deferred() {
                return ran;
            }
            self.core.requeue_deferred();
        }
    }

    /// Shuts the executor down as dropping it does (every task's future is dropped here),
    /// then waits up to `timeout` for blocking tasks that are already running to finish.
    /// Returns `true` if they all did; those still running go on detached.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ex = ply_executor::LocalExecutor::new();
    /// let h = ex.spawn_blocking(|| std::thread::sleep(Duration::from_millis(300)));
    /// std::thread::sleep(Duration::from_millis(5)); // let it start
    /// // Too short a wait: the blocking task is still running.
    /// assert!(!ex.shutdown_timeout(Duration::from_millis(1)));
    /// drop(h);
    /// ```
    pub fn shutdown_timeout(self, timeout: Duration) -> bool {
        let pool = self.core.blocking.clone();
        drop(self);
        pool.wait_for_threads(timeout)
    }

    /// Returns the executor's counters.
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = ply_executor::LocalExecutor::new();
    /// assert_eq!(ex.metrics().spawned, 0);
    /// ```
    pub fn metrics(&self) -> Metrics {
        self.core.remote.counters.snapshot()
    }

    /// The number of tasks spawned on this executor that have not completed.
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = ply_executor::LocalExecutor::new();
    /// let _h = ex.spawn_local(std::future::pending::<()>());
    /// ex.run_until_idle();
    /// assert_eq!(ex.num_tasks(), 1);
    /// ```
    pub fn num_tasks(&self) -> usize {
        self.core.owned.borrow().len()
    }
}

impl LocalCore {
    pub(crate) fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        // SAFETY: the task is polled only by `run_task`, called on this thread (LocalCore is
        // !Send and lives only on it), and it goes into `owned`, drained on this thread.
        let (task, join, raw) = unsafe { task::new_local(future, self.remote.clone(), true) };
        self.remote.counters.spawned();
        if self.closed.get() {
            // Shutting down: the future is dropped here and the handle reports cancellation.
            task.cancel();
            // SAFETY: the list's reference was never handed to the list.
            unsafe { raw.release() };
        } else {
            // SAFETY: a new task is in no list; the list takes the third reference.
            unsafe { self.owned.borrow_mut().push(raw) };
            self.queue.borrow_mut().push_back(task);
        }
        join
    }

    pub(crate) fn blocking_pool(&self) -> &BlockingPool {
        &self.blocking
    }

    fn next_task(&self) -> Option<Task> {
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        if tick.is_multiple_of(REMOTE_INTERVAL) {
            // Fairness: tasks woken from other threads must not wait behind a local queue
            // that never empties.
            self.drain_remote();
        }
        if let Some(task) = self.queue.borrow_mut().pop_front() {
            return Some(task);
        }
        self.drain_remote();
        self.queue.borrow_mut().pop_front()
    }

    fn drain_remote(&self) {
        if !self.remote.pending.load(Acquire) {
            return;
        }
        let (tasks, spawned) = {
            let mut q = self.remote.queue.lock();
            self.remote.pending.store(false, Release);
            (std::mem::take(&mut q.tasks), std::mem::take(&mut q.spawned))
        };
        let mut queue = self.queue.borrow_mut();
        for (task, raw) in spawned {
            self.remote.counters.spawned();
            // SAFETY: a task spawned through a `LocalSpawner` is in no list yet; the list
            // takes the reference reserved for it at spawn.
            unsafe { self.owned.borrow_mut().push(raw) };
            queue.push_back(task);
        }
        queue.extend(tasks);
    }

    fn run_task(&self, task: Task) {
        self.remote.counters.polled();
        match coop::budget(|| task.run()) {
            Run::Complete(done) => {
                // SAFETY: every task this executor runs was pushed to `owned` at spawn, and
                // completes only once; shutdown (which also drains `owned`) never runs
                // while a task does.
                unsafe {
                    self.owned.borrow_mut().remove(done.raw());
                    done.release_with_list_ref();
                }
                self.remote.counters.completed();
            }
            Run::Idle => {}
            // It woke itself: it runs again after the driver had a turn.
            Run::Yielded(task) => self.deferred.borrow_mut().push(task),
        }
    }

    /// Nothing to run: no queued, deferred or remotely woken task.
    fn is_idle(&self) -> bool {
        self.queue.borrow().is_empty() && !self.has_deferred() && !self.remote.pending.load(Acquire)
    }

    fn has_deferred(&self) -> bool {
        !self.deferred.borrow().is_empty()
    }

    /// Only deferred tasks are left to run: time for the driver's turn.
    fn has_only_deferred(&self) -> bool {
        self.has_deferred() && self.queue.borrow().is_empty() && !self.remote.pending.load(Acquire)
    }

    fn requeue_deferred(&self) {
        let mut deferred = self.deferred.borrow_mut();
        if !deferred.is_empty() {
            self.queue.borrow_mut().extend(deferred.drain(..));
        }
    }

    /// Pushes a task woken on the owner thread while the executor runs.
    fn push_local(&self, task: Task) {
        if self.closed.get() {
            drop(task);
        } else {
            self.queue.borrow_mut().push_back(task);
        }
    }

    fn shutdown(&self) {
        self.closed.set(true);
        // No more wake-ups from other threads; those already queued are dropped (the owned
        // list still keeps their tasks alive).
        let (remote, spawned) = {
            let mut q = self.remote.queue.lock();
            q.closed = true;
            (std::mem::take(&mut q.tasks), std::mem::take(&mut q.spawned))
        };
        drop(remote);
        // Spawned from other threads and never adopted: cancelled here, like a spawn
        // that arrives after shutdown.
        for (task, raw) in spawned {
            task.cancel();
            // SAFETY: the list's reference was never handed to the list.
            unsafe { raw.release() };
        }
        // Drop every live task's future, here on the owner thread.
        loop {
            let Some(raw) = self.owned.borrow_mut().pop() else {
                break;
            };
            // SAFETY: the list's reference is ours now; nothing polls on this thread while
            // we shut down, so the task is not running.
            unsafe {
                raw.shutdown();
                raw.release();
            }
        }
        let queued = std::mem::take(&mut *self.queue.borrow_mut());
        drop(queued);
        let deferred = std::mem::take(&mut *self.deferred.borrow_mut());
        drop(deferred);
        self.blocking.shutdown();
    }
}

impl Schedule for Arc<Remote> {
    fn schedule(&self, task: Task) {
        // On the owner thread while the executor runs: straight into the local queue.
        let task = context::with_local(|core| match core {
            Some(core) if Arc::ptr_eq(&core.remote, self) => {
                core.push_local(task);
                None
            }
            _ => Some(task),
        });
        if let Some(task) = task {
            self.push_remote(task);
        }
    }

    fn waker_panicked(&self) {
        self.counters.waker_panicked();
    }
}

impl Remote {
    fn push_remote(&self, task: Task) {
        let mut q = self.queue.lock();
        if q.closed {
            drop(q);
            drop(task);
            return;
        }
        q.tasks.push_back(task);
        self.pending.store(true, Release);
        drop(q);
        self.unparker.unpark();
    }
}

/// Spawns `Send` futures onto a [`LocalExecutor`] from any thread; see
/// [`LocalExecutor::spawner`].
#[derive(Clone)]
pub struct LocalSpawner {
    remote: Arc<Remote>,
}

impl LocalSpawner {
    /// The spawner of the `LocalExecutor` running on this thread (inside its `block_on`
    /// or one of its tasks), if any.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(ply_executor::LocalSpawner::try_current().is_none());
    /// let ex = ply_executor::LocalExecutor::new();
    /// ex.block_on(async {
    ///     assert!(ply_executor::LocalSpawner::try_current().is_some());
    /// });
    /// ```
    pub fn try_current() -> Option<LocalSpawner> {
        context::with_local(|core| {
            core.map(|c| LocalSpawner {
                remote: c.remote.clone(),
            })
        })
    }

    /// Spawns `future` onto the executor; it runs on the executor's thread.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (task, join, raw) = task::new(future, self.remote.clone(), true);
        let mut q = self.remote.queue.lock();
        if q.closed {
            drop(q);
            // The executor is gone: drop the future here; the handle reports cancellation.
            task.cancel();
            // SAFETY: the list's reference was never handed to the list.
            unsafe { raw.release() };
            return join;
        }
        q.spawned.push((task, raw));
        self.remote.pending.store(true, Release);
        drop(q);
        // `self.remote` keeps the unparker alive across the call.
        self.remote.unparker.unpark();
        join
    }
}

impl fmt::Debug for LocalSpawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSpawner").finish_non_exhaustive()
    }
}

/// The waker of `block_on`'s main future.
struct MainWaker {
    woken: AtomicBool,
    remote: Arc<Remote>,
}

struct MainWakerRef(Arc<MainWaker>);

impl std::task::Wake for MainWakerRef {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        let main = &self.0;
        if main.woken.swap(true, AcqRel) {
            return;
        }
        // From inside the running executor the loop sees the flag; elsewhere, unpark it.
        let inside =
            context::with_local(|core| core.is_some_and(|c| Arc::ptr_eq(&c.remote, &main.remote)));
        if !inside {
            main.remote.unparker.unpark();
        }
    }
}

impl<P: Park> Drop for LocalExecutor<P> {
    fn drop(&mut self) {
        // Current while shutting down, so destructors that spawn are refused cleanly.
        let _enter = context::enter(Current::Local(self.core.clone()));
        self.core.shutdown();
    }
}

impl<P: Park> fmt::Debug for LocalExecutor<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalExecutor")
            .field("tasks", &self.core.owned.borrow().len())
            .field("queued", &self.core.queue.borrow().len())
            .field("metrics", &self.metrics())
            .finish_non_exhaustive()
    }
}
