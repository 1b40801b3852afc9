//! The [`Runtime`]: ply-executor + ply-timer + ply-reactor, composed.

pub(crate) mod driver;
pub mod time;

use driver::{AutoAdvance, Core, Driver};
use ply_executor::{Executor, JoinHandle, LocalExecutor};
use ply_reactor::Backend;
use ply_reactor::{Reactor, ReactorStats};
use ply_timer::{Timer, TimerHandle};
use std::fmt;
use std::future::Future;
use std::io;
use std::sync::Arc;

/// Which executor a [`Runtime`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavor {
    CurrentThread,
    MultiThread,
}

/// Configures a [`Runtime`].
///
/// # Examples
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// let rt = ply_net::Runtime::builder()
///     .multi_thread()
///     .worker_threads(2)
///     .selector(ply_net::Backend::Poll)
///     .build()?;
/// assert_eq!(rt.block_on(async { 40 + 2 }), 42);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    flavor: Flavor,
    workers: Option<usize>,
    backend: Option<Backend>,
    thread_name: String,
    stack_size: Option<usize>,
    max_blocking: Option<usize>,
    keep_alive: Option<std::time::Duration>,
    on_start: Option<ThreadHook>,
    on_stop: Option<ThreadHook>,
    on_waker_panic: Option<ply_reactor::WakerPanicHook>,
    /// Signals blocked on the building thread and on every worker (see `block_signals`).
    blocked: Vec<crate::signal::SignalKind>,
    /// Start with the clock paused (current-thread only).
    start_paused: bool,
}

/// A callback run on each worker thread as it starts or stops.
#[derive(Clone)]
struct ThreadHook(Arc<dyn Fn() + Send + Sync>);

impl fmt::Debug for ThreadHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ThreadHook")
    }
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// A multi-threaded runtime with one worker per available core and the default
    /// selector (`PLY_SELECTOR`, else epoll).
    pub fn new() -> Builder {
        Builder {
            flavor: Flavor::MultiThread,
            workers: None,
            backend: None,
            thread_name: "ply-worker".into(),
            stack_size: None,
            max_blocking: None,
            keep_alive: None,
            on_start: None,
            on_stop: None,
            on_waker_panic: None,
            blocked: Vec::new(),
            start_paused: false,
        }
    }

    /// Starts the runtime with its clock paused, for tests: time stands still, and when
    /// every task is waiting and no I/O is ready, the clock jumps to the next timer's
    /// deadline (*auto-advance*), so a test that sleeps an hour finishes at once and sees
    /// an hour pass. I/O that is ready always runs before the clock moves. See
    /// [`Handle::pause`] for pausing later, and [`time`](crate::time) for the functions.
    ///
    /// As in tokio, only for a current-thread runtime: [`build`](Self::build) of a
    /// multi-threaded one with `start_paused(true)` returns an `InvalidInput` error (tokio
    /// panics). Auto-advance does not wait for [`spawn_blocking`](crate::spawn_blocking)
    /// work that is running (tokio does): a task awaiting a blocking job counts as waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # fn main() -> std::io::Result<()> {
    /// let rt = ply_net::Runtime::builder().current_thread().start_paused(true).build()?;
    /// let wall = std::time::Instant::now();
    /// rt.block_on(async {
    ///     let start = ply_net::time::now();
    ///     ply_net::sleep(Duration::from_secs(3600)).await;
    ///     assert!(ply_net::time::now() - start >= Duration::from_secs(3600));
    /// });
    /// assert!(wall.elapsed() < Duration::from_secs(10), "an hour, at once");
    /// # Ok(())
    /// # }
    /// ```
    pub fn start_paused(mut self, paused: bool) -> Builder {
        self.start_paused = paused;
        self
    }

    /// Blocks `signals` on the thread that builds the runtime and on every worker thread
    /// (and so on the blocking threads they start), so that a [`signal`](crate::signal)
    /// listener receives them through its signalfd instead of the signal's default action
    /// hitting a runtime thread. Call it from `main` before other threads are started:
    /// the mask is per thread, and threads started earlier keep theirs (a listener then
    /// refuses with an error naming such a thread).
    ///
    /// # Examples
    ///
    /// ```
    /// use ply_net::signal::SignalKind;
    /// # fn main() -> std::io::Result<()> {
    /// let rt = ply_net::Runtime::builder()
    ///     .worker_threads(2)
    ///     .block_signals(&[SignalKind::user_defined1()])
    ///     .build()?;
    /// rt.block_on(async {});
    /// # Ok(())
    /// # }
    /// ```
    pub fn block_signals(mut self, signals: &[crate::signal::SignalKind]) -> Builder {
        self.blocked.extend_from_slice(signals);
        self
    }

    /// Runs everything on the thread that calls [`Runtime::block_on`]: tasks, the reactor
    /// and the timers. Tasks may be `!Send` ([`Runtime::spawn_local`]).
    pub fn current_thread(mut self) -> Builder {
        self.flavor = Flavor::CurrentThread;
        self
    }

    /// Runs tasks on a pool of worker threads with work stealing (the default).
    pub fn multi_thread(mut self) -> Builder {
        self.flavor = Flavor::MultiThread;
        self
    }

    /// The number of worker threads of a multi-threaded runtime (default: the available
    /// cores; at least 1).
    pub fn worker_threads(mut self, n: usize) -> Builder {
        self.workers = Some(n.max(1));
        self
    }

    /// The selector backend of the runtime's reactor.
    pub fn selector(mut self, backend: Backend) -> Builder {
        self.backend = Some(backend);
        self
    }

    /// Calls `hook` with the payload of every waker panic that the runtime's reactor or
    /// timer catches (after counting it in `RuntimeStats`); see
    /// [`ply_reactor::Builder::on_waker_panic`]. The runtime never prints; without a hook
    /// such panics are only counted.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// fn log(payload: &(dyn std::any::Any + Send)) {
    ///     let msg = payload.downcast_ref::<&str>().copied().unwrap_or("?");
    ///     eprintln!("a waker panicked: {msg}");
    /// }
    /// let rt = ply_net::Builder::new().current_thread().on_waker_panic(log).build()?;
    /// # drop(rt);
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_waker_panic(mut self, hook: fn(&(dyn std::any::Any + Send))) -> Builder {
        self.on_waker_panic = Some(hook);
        self
    }

    /// The worker threads' name prefix.
    pub fn thread_name(mut self, name: impl Into<String>) -> Builder {
        self.thread_name = name.into();
        self
    }

    /// The worker threads' stack size, in bytes (multi-threaded runtime).
    pub fn thread_stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Runs `f` on each worker thread when it starts, before it runs any task
    /// (multi-threaded runtime).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// # fn main() -> std::io::Result<()> {
    /// let (started, stopped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    /// let (s1, s2) = (started.clone(), stopped.clone());
    /// let rt = ply_net::Runtime::builder()
    ///     .worker_threads(2)
    ///     .on_thread_start(move || {
    ///         s1.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .on_thread_stop(move || {
    ///         s2.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()?;
    /// rt.block_on(async {});
    /// drop(rt);
    /// assert_eq!(started.load(Ordering::SeqCst), 2);
    /// assert_eq!(stopped.load(Ordering::SeqCst), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_thread_start(mut self, f: impl Fn() + Send + Sync + 'static) -> Builder {
        self.on_start = Some(ThreadHook(Arc::new(f)));
        self
    }

    /// Runs `f` on each worker thread as it stops, after its last task (multi-threaded
    /// runtime).
    pub fn on_thread_stop(mut self, f: impl Fn() + Send + Sync + 'static) -> Builder {
        self.on_stop = Some(ThreadHook(Arc::new(f)));
        self
    }

    /// The most threads the blocking pool runs at once (multi-threaded runtime; the
    /// current-thread runtime's pool keeps ply-executor's default, 512).
    pub fn max_blocking_threads(mut self, n: usize) -> Builder {
        self.max_blocking = Some(n.max(1));
        self
    }

    /// How long an idle blocking thread waits for work before it exits (multi-threaded
    /// runtime; default 10 s).
    pub fn thread_keep_alive(mut self, d: std::time::Duration) -> Builder {
        self.keep_alive = Some(d);
        self
    }

    /// Builds the runtime: a reactor, a timer whose "earlier deadline" callback wakes the
    /// reactor, and the executor with ply-net's parkers. The reactor and the timer are
    /// each given the executor's cooperative budget (`ply_executor::coop::poll_proceed`),
    /// so an always-ready socket or timer makes its task yield.
    ///
    /// # Errors
    ///
    /// Out of fds or threads; an unknown `PLY_SELECTOR`; `InvalidInput` for
    /// [`start_paused`](Self::start_paused) on a multi-threaded runtime.
    pub fn build(self) -> io::Result<Runtime> {
        if self.start_paused && self.flavor == Flavor::MultiThread {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "start_paused needs a current-thread runtime (Builder::current_thread): \
                 a paused clock auto-advances only when the one thread running tasks is idle",
            ));
        }
        let blocked = if self.blocked.is_empty() {
            None
        } else {
            let raw: Vec<i32> = self.blocked.iter().map(|k| k.as_raw()).collect();
            let set = ply_sys::SignalSet::of(&raw)?;
            // This thread first: the workers inherit its mask when they are spawned.
            ply_sys::block_signals(&set)?;
            Some(std::sync::Arc::new(set))
        };
        let mut reactor = Reactor::builder().budget(ply_executor::coop::poll_proceed);
        if let Some(b) = self.backend {
            reactor = reactor.backend(b);
        }
        if let Some(hook) = self.on_waker_panic {
            reactor = reactor.on_waker_panic(hook);
        }
        let reactor = reactor.build()?;
        let waker = reactor.clone();
        let mut timer = Timer::builder()
            .unpark(std::sync::Arc::new(move || waker.wake()))
            .budget(ply_executor::coop::poll_proceed);
        if let Some(hook) = self.on_waker_panic {
            timer = timer.on_waker_panic(hook);
        }
        if self.start_paused {
            timer = timer.paused();
        }
        let timer = timer.build();
        let auto = match self.flavor {
            Flavor::CurrentThread => Some(AutoAdvance::new(timer.handle())),
            Flavor::MultiThread => None,
        };
        let core = Arc::new(Core {
            reactor,
            timer,
            auto,
        });
        let handle_parts = (core.reactor.clone(), core.timer.handle());

        let executor = match self.flavor {
            Flavor::CurrentThread => {
                ExecutorKind::Current(LocalExecutor::with_parker(Driver::new(core.clone())))
            }
            Flavor::MultiThread => {
                let (reactor, timer) = handle_parts.clone();
                let mut b = Executor::builder().thread_name(self.thread_name.clone());
                if let Some(n) = self.workers {
                    b = b.worker_threads(n);
                }
                if let Some(s) = self.stack_size {
                    b = b.stack_size(s);
                }
                if let Some(n) = self.max_blocking {
                    b = b.max_blocking_threads(n);
                }
                if let Some(d) = self.keep_alive {
                    b = b.blocking_keep_alive(d);
                }
                let (on_start, on_stop) = (self.on_start.clone(), self.on_stop.clone());
                let ex = b
                    .around_worker(move |run: &mut dyn FnMut()| {
                        if let Some(set) = &blocked {
                            // Inherited already; set again in case the executor's threads
                            // were started from elsewhere. Cannot fail for a valid set.
                            let _ = ply_sys::block_signals(set);
                        }
                        let _reactor = reactor.enter();
                        let _timer = timer.enter();
                        if let Some(f) = &on_start {
                            (f.0)();
                        }
                        run();
                        if let Some(f) = &on_stop {
                            (f.0)();
                        }
                    })
                    .build_with_driver(Driver::new(core.clone()))?;
                ExecutorKind::Multi(ex)
            }
        };
        let handle = Handle {
            executor: match &executor {
                ExecutorKind::Current(local) => Spawner::Local(local.spawner()),
                ExecutorKind::Multi(ex) => Spawner::Multi(ex.handle().clone()),
            },
            reactor: handle_parts.0,
            timer: handle_parts.1,
        };
        Ok(Runtime {
            executor,
            _shutdown: ShutdownOnDrop(core.reactor.clone()),
            core,
            handle,
        })
    }
}

enum ExecutorKind {
    Current(LocalExecutor<Driver>),
    Multi(Executor),
}

/// The composed runtime: an executor whose idle threads wait in the reactor, with the
/// timer's next deadline as the timeout, and fire due timers when they wake.
///
/// - **Current-thread** ([`Runtime::new_current_thread`]): one thread runs the tasks, the
///   reactor and the timers, in the caller's [`block_on`](Self::block_on). The fastest
///   for one core's worth of work, and it runs `!Send` tasks.
/// - **Multi-threaded** ([`Runtime::new`]): worker threads with work stealing. One idle
///   worker at a time waits in the selector; the others sleep on their own condition
///   variables and are woken when work arrives. A worker that leaves the selector to run
///   tasks hands it to a sleeping one.
///
/// Both drive their reactor and timers even when tasks never stop: every 61 polls, and
/// before a task that yielded runs again, the executor gives the driver a turn with a zero
/// timeout.
///
/// While a runtime's code runs (in `block_on`, or on its workers), its reactor and timer
/// are *current*, so [`TcpStream::connect`](crate::TcpStream::connect) and
/// [`sleep`](crate::sleep) use them; a [`Handle`] passes them explicitly.
///
/// Dropping the runtime drops every task it owns, then shuts the reactor down: I/O objects
/// that outlive it answer with an error instead of waiting forever.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// # fn main() -> std::io::Result<()> {
/// let rt = ply_net::Runtime::new()?;
/// let answer = rt.block_on(async {
///     let task = ply_net::spawn(async {
///         ply_net::sleep(Duration::from_millis(5)).await;
///         6 * 7
///     });
///     task.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// # Ok(())
/// # }
/// ```
pub struct Runtime {
    // Field order is drop order: the tasks first, then the reactor and timer.
    executor: ExecutorKind,
    core: Arc<Core>,
    handle: Handle,
    _shutdown: ShutdownOnDrop,
}

impl Runtime {
    /// A multi-threaded runtime with default settings ([`Builder::new`]).
    ///
    /// # Errors
    ///
    /// As [`Builder::build`].
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A current-thread runtime with default settings.
    ///
    /// # Errors
    ///
    /// As [`Builder::build`].
    pub fn new_current_thread() -> io::Result<Runtime> {
        Builder::new().current_thread().build()
    }

    /// A builder for custom settings.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Runs `future` to completion on this thread, with the runtime's reactor and timer
    /// current. On a current-thread runtime the spawned tasks run here too, meanwhile.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _reactor = self.core.reactor.enter();
        let _timer = self.handle.timer.enter();
        match &self.executor {
            ExecutorKind::Current(local) => local.block_on(future),
            ExecutorKind::Multi(ex) => ex.block_on(future),
        }
    }

    /// Spawns a task. On a current-thread runtime it runs during
    /// [`block_on`](Self::block_on).
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.executor {
            ExecutorKind::Current(local) => local.spawn_local(future),
            ExecutorKind::Multi(ex) => ex.spawn(future),
        }
    }

    /// Spawns a `!Send` task on a current-thread runtime.
    ///
    /// # Errors
    ///
    /// `Unsupported` on a multi-threaded runtime (its tasks may move between threads).
    pub fn spawn_local<F>(&self, future: F) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        match &self.executor {
            ExecutorKind::Current(local) => Ok(local.spawn_local(future)),
            ExecutorKind::Multi(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "spawn_local needs a current-thread runtime",
            )),
        }
    }

    /// Runs a blocking function on the runtime's blocking pool.
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        match &self.executor {
            ExecutorKind::Current(local) => local.spawn_blocking(f),
            ExecutorKind::Multi(ex) => ex.handle().spawn_blocking(f),
        }
    }

    /// Shuts the runtime down as dropping it does (every task is dropped, then the reactor
    /// is shut down), waiting up to `timeout` for blocking tasks that are already running.
    /// Returns `true` if they all finished; those still running go on detached.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # fn main() -> std::io::Result<()> {
    /// let rt = ply_net::Runtime::new()?;
    /// let _slow = rt.spawn_blocking(|| std::thread::sleep(Duration::from_secs(5)));
    /// std::thread::sleep(Duration::from_millis(10)); // let it start
    /// let t = std::time::Instant::now();
    /// assert!(!rt.shutdown_timeout(Duration::from_millis(50)));
    /// assert!(t.elapsed() < Duration::from_secs(4));
    /// # Ok(())
    /// # }
    /// ```
    pub fn shutdown_timeout(self, timeout: std::time::Duration) -> bool {
        let Runtime {
            executor,
            core,
            handle,
            _shutdown,
        } = self;
        let done = match executor {
            ExecutorKind::Current(local) => local.shutdown_timeout(timeout),
            ExecutorKind::Multi(ex) => ex.shutdown_timeout(timeout),
        };
        drop((core, handle, _shutdown));
        done
    }

    /// A handle to this runtime's reactor, timer and (multi-threaded) executor.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// What each layer has done so far.
    pub fn stats(&self) -> RuntimeStats {
        RuntimeStats {
            reactor: self.core.reactor.stats(),
            selector: self.core.reactor.selector_stats(),
            timer: self.core.timer.metrics(),
            executor: match &self.executor {
                ExecutorKind::Current(local) => local.metrics(),
                ExecutorKind::Multi(ex) => ex.handle().metrics(),
            },
        }
    }
}

/// Shuts the reactor down when dropped: the last field of [`Runtime`], so it runs after
/// the executor (and every task) is gone, and no task sees a shut-down reactor.
struct ShutdownOnDrop(Reactor);

impl Drop for ShutdownOnDrop {
    fn drop(&mut self) {
        self.0.shutdown();
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flavor = match self.executor {
            ExecutorKind::Current(_) => "current_thread",
            ExecutorKind::Multi(_) => "multi_thread",
        };
        f.debug_struct("Runtime")
            .field("flavor", &flavor)
            .field("backend", &self.core.reactor.backend())
            .finish()
    }
}

/// What each layer of a [`Runtime`] has done; see [`Runtime::stats`].
#[derive(Clone, Copy, Debug)]
pub struct RuntimeStats {
    /// The reactor: polls, events, wakes, registrations.
    pub reactor: ReactorStats,
    /// The selector: kernel waits and events.
    pub selector: ply_reactor::SelectorStats,
    /// The timer: inserted, fired, cancelled, reset, pending.
    pub timer: ply_timer::Metrics,
    /// The executor: tasks spawned, polled, completed, stolen; parks.
    pub executor: ply_executor::Metrics,
}

/// A cheap, cloneable, `Send + Sync` handle to a [`Runtime`]'s parts, for code that wants
/// them explicitly rather than from the thread's current runtime.
#[derive(Clone, Debug)]
pub struct Handle {
    executor: Spawner,
    reactor: Reactor,
    timer: TimerHandle,
}

/// How a [`Handle`] reaches its runtime's executor from any thread.
#[derive(Clone, Debug)]
enum Spawner {
    Local(ply_executor::LocalSpawner),
    Multi(ply_executor::Handle),
}

impl Handle {
    /// The handle of the runtime running on this thread: inside its `block_on`, one of
    /// its tasks, or one of its worker threads.
    ///
    /// # Panics
    ///
    /// Panics outside a ply runtime; see [`try_current`](Self::try_current).
    #[track_caller]
    pub fn current() -> Handle {
        Handle::try_current().expect(
            "ply_net::Handle::current called outside a ply runtime: call it from inside \
             Runtime::block_on or a task, or pass a Handle explicitly",
        )
    }

    /// The handle of the runtime running on this thread, or `None` outside one.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// assert!(ply_net::Handle::try_current().is_none());
    /// let rt = ply_net::Runtime::new_current_thread()?;
    /// rt.block_on(async { assert!(ply_net::Handle::try_current().is_some()) });
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_current() -> Option<Handle> {
        let executor = match ply_executor::Handle::try_current() {
            Some(h) => Spawner::Multi(h),
            None => Spawner::Local(ply_executor::LocalSpawner::try_current()?),
        };
        Some(Handle {
            executor,
            reactor: Reactor::current().ok()?,
            timer: TimerHandle::current(),
        })
    }

    /// The runtime's reactor (register fds with it: [`ply_reactor::Async::new_in`]).
    pub fn reactor(&self) -> &Reactor {
        &self.reactor
    }

    /// The runtime's timer (sleeps on it: [`TimerHandle::sleep`]).
    pub fn timer(&self) -> &TimerHandle {
        &self.timer
    }

    /// Spawns a task from any thread. On a multi-threaded runtime it goes to the workers;
    /// on a current-thread runtime it is queued for the runtime's thread and runs during
    /// its [`Runtime::block_on`]. A spawn onto a runtime that has been dropped is
    /// cancelled: the `JoinHandle` reports it.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let rt = ply_net::Runtime::new_current_thread()?;
    /// let handle = rt.handle().clone();
    /// let task = std::thread::spawn(move || handle.spawn(async { 6 * 7 }))
    ///     .join()
    ///     .unwrap();
    /// assert_eq!(rt.block_on(task).unwrap(), 42);
    /// # Ok(())
    /// # }
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.executor {
            Spawner::Multi(ex) => ex.spawn(future),
            Spawner::Local(local) => local.spawn(future),
        }
    }

    /// Pauses the runtime's clock: time stands still from now on, and auto-advances
    /// when every task is waiting and no I/O is ready (see
    /// [`Builder::start_paused`]). Pausing a paused clock does nothing (tokio panics).
    /// Works from any thread.
    ///
    /// # Errors
    ///
    /// `Unsupported` on a multi-threaded runtime, as in tokio (which panics): with several
    /// workers no one thread can tell that every task is waiting. (Its timer can still be
    /// paused by hand, [`TimerHandle::pause`], then it only moves with `advance`.)
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # fn main() -> std::io::Result<()> {
    /// let rt = ply_net::Runtime::new_current_thread()?;
    /// rt.handle().pause()?;
    /// let before = rt.handle().timer().now();
    /// rt.handle().advance(Duration::from_secs(60))?;
    /// assert_eq!(rt.handle().timer().now() - before, Duration::from_secs(60));
    /// rt.handle().resume()?;
    /// assert!(ply_net::Runtime::new()?.handle().pause().is_err(), "multi-threaded");
    /// # Ok(())
    /// # }
    /// ```
    pub fn pause(&self) -> io::Result<()> {
        self.current_thread_clock("pause")?.pause();
        Ok(())
    }

    /// Lets a paused clock run again from the instant it stands at (time stays monotonic:
    /// the pause is not made up). Resuming a running clock does nothing (tokio panics).
    ///
    /// # Errors
    ///
    /// `Unsupported` on a multi-threaded runtime (see [`pause`](Self::pause)).
    pub fn resume(&self) -> io::Result<()> {
        self.current_thread_clock("resume")?.resume();
        Ok(())
    }

    /// Moves the paused clock forward by `by` and fires the timers due by then (their
    /// tasks run when the runtime next polls; [`time::advance`](crate::time::advance)
    /// also yields so that they run before it returns).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the clock is running (tokio panics); `Unsupported` on a
    /// multi-threaded runtime.
    pub fn advance(&self, by: std::time::Duration) -> io::Result<()> {
        self.current_thread_clock("advance")?.advance(by)?;
        Ok(())
    }

    /// The timer, if this is a current-thread runtime's handle.
    fn current_thread_clock(&self, what: &str) -> io::Result<&TimerHandle> {
        match self.executor {
            Spawner::Local(_) => Ok(&self.timer),
            Spawner::Multi(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "ply_net: {what} of the clock needs a current-thread runtime (as in \
                     tokio): a multi-threaded one cannot tell when every task is waiting"
                ),
            )),
        }
    }

    /// Makes this handle's reactor and timer current on this thread until the guard
    /// drops, so `TcpStream::connect` and `sleep` use them.
    pub fn enter(&self) -> EnterGuard {
        EnterGuard {
            _reactor: self.reactor.enter(),
            _timer: self.timer.enter(),
        }
    }
}

/// Returned by [`Handle::enter`].
#[must_use = "the runtime is current only while the guard lives"]
pub struct EnterGuard {
    _reactor: ply_reactor::EnterGuard,
    _timer: ply_timer::EnterGuard,
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

/// Runs `future` on a new multi-threaded runtime and returns its output: the one-line
/// entry for `main`.
///
/// # Panics
///
/// If the runtime cannot be built (out of fds or threads at start-up), with the error in
/// the message. Use [`Runtime::new`] to handle that error yourself.
///
/// # Examples
///
/// ```
/// fn main() -> std::io::Result<()> {
///     ply_net::run(async {
///         let listener = ply_net::TcpListener::bind("127.0.0.1:0").await?;
///         println!("listening on {}", listener.local_addr()?);
///         Ok(())
///     })
/// }
/// ```
pub fn run<F: Future>(future: F) -> F::Output {
    match Runtime::new() {
        Ok(rt) => rt.block_on(future),
        Err(e) => panic!("ply_net::run: cannot start the runtime: {e}"),
    }
}
