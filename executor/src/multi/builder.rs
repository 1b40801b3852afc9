//! [`Builder`]: the worker count, thread names and sizes, the blocking pool, and the
//! driver an [`Executor`] starts with.

use std::fmt;
use std::io;
use std::time::Duration;

use crate::blocking::{BlockingPool, DEFAULT_KEEP_ALIVE, DEFAULT_MAX_THREADS};
use crate::loom::sync::atomic::AtomicBool;
use crate::loom::sync::Arc;
use crate::metrics::Counters;
use crate::park::{Park, ThreadParker};
use crate::task::list::OwnedTasks;

use super::{idle, inject, park, queue, worker, Executor, Handle, Remote, Shared};

/// Configures and starts an [`Executor`].
///
/// # Examples
///
/// ```
/// let ex = ply_executor::Executor::builder()
///     .worker_threads(2)
///     .thread_name("my-worker")
///     .max_blocking_threads(4)
///     .build()?;
/// assert_eq!(ex.handle().num_workers(), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Builder {
    workers: usize,
    name: String,
    stack_size: Option<usize>,
    max_blocking: usize,
    keep_alive: Duration,
    around_worker: Option<AroundWorker>,
}

/// The shape of [`Builder::around_worker`]'s wrapper.
type AroundWorker = std::sync::Arc<dyn Fn(&mut dyn FnMut()) + Send + Sync>;

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("workers", &self.workers)
            .field("name", &self.name)
            .field("stack_size", &self.stack_size)
            .field("max_blocking", &self.max_blocking)
            .field("keep_alive", &self.keep_alive)
            .field("around_worker", &self.around_worker.is_some())
            .finish()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// Default settings: one worker per available CPU.
    pub fn new() -> Builder {
        Builder {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            name: "ply-worker".into(),
            stack_size: None,
            max_blocking: DEFAULT_MAX_THREADS,
            keep_alive: DEFAULT_KEEP_ALIVE,
            around_worker: None,
        }
    }

    /// Wraps each worker thread's whole run: `wrap` is called on the new thread with the
    /// worker loop as `run`, and must call it once. Use it to set up thread-local context
    /// for the worker's lifetime (ply-net makes its reactor and timer current this way).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let s = started.clone();
    /// let ex = ply_executor::Executor::builder()
    ///     .worker_threads(2)
    ///     .around_worker(move |run| {
    ///         s.fetch_add(1, Ordering::SeqCst);
    ///         run();
    ///     })
    ///     .build()?;
    /// ex.block_on(ex.handle().spawn(async {})).unwrap();
    /// drop(ex);
    /// assert_eq!(started.load(Ordering::SeqCst), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn around_worker(
        mut self,
        wrap: impl Fn(&mut dyn FnMut()) + Send + Sync + 'static,
    ) -> Builder {
        self.around_worker = Some(std::sync::Arc::new(wrap));
        self
    }

    /// Sets the number of worker threads (at least 1).
    pub fn worker_threads(mut self, n: usize) -> Builder {
        self.workers = n.max(1);
        self
    }

    /// Sets the worker threads' name prefix (`-<index>` is appended).
    pub fn thread_name(mut self, name: impl Into<String>) -> Builder {
        self.name = name.into();
        self
    }

    /// Sets the worker threads' stack size.
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Sets the most threads the blocking pool may run at once (at least 1).
    pub fn max_blocking_threads(mut self, n: usize) -> Builder {
        self.max_blocking = n.max(1);
        self
    }

    /// Sets how long an idle blocking thread waits for work before it exits.
    pub fn blocking_keep_alive(mut self, d: Duration) -> Builder {
        self.keep_alive = d;
        self
    }

    /// Starts the executor with no driver: every idle worker sleeps on its own condition
    /// variable.
    ///
    /// # Errors
    ///
    /// Returns an error if a worker thread cannot be spawned.
    pub fn build(self) -> io::Result<Executor> {
        self.start::<ThreadParker>(None)
    }

    /// Starts the executor around a *driver*: something idle workers must wait in for
    /// events to happen (a reactor, a timer wheel, both). One idle worker at a time waits
    /// in `driver.park()`; the others sleep on their own condition variables. An unpark
    /// aimed at a worker reaches it however it sleeps (through `driver`'s unparker if it
    /// waits there). A worker that leaves the driver to run tasks hands it to a sleeping
    /// worker, and busy workers give the driver a zero-timeout turn
    /// (`driver.park_timeout(Duration::ZERO)`) every 61 ticks, so a runtime whose tasks
    /// never stop still sees its timers and I/O. `docs/executor.md` ("Parking the
    /// workers") has the protocol and its loom models.
    ///
    /// The driver is built on this thread and moved to whichever worker waits in it; its
    /// `park` runs on worker threads with no executor borrow held, so it may wake tasks.
    ///
    /// # Errors
    ///
    /// Returns an error if a worker thread cannot be spawned.
    ///
    /// # Examples
    ///
    /// A driver that counts its turns, around a thread parker:
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use ply_executor::park::{Park, ThreadParker};
    ///
    /// struct Counting(ThreadParker, Arc<AtomicUsize>);
    /// impl Park for Counting {
    ///     type Unparker = <ThreadParker as Park>::Unparker;
    ///     fn unparker(&self) -> Self::Unparker {
    ///         self.0.unparker()
    ///     }
    ///     fn park(&mut self) {
    ///         self.1.fetch_add(1, Ordering::Relaxed);
    ///         self.0.park();
    ///     }
    ///     fn park_timeout(&mut self, d: Duration) {
    ///         self.1.fetch_add(1, Ordering::Relaxed);
    ///         self.0.park_timeout(d);
    ///     }
    /// }
    ///
    /// let turns = Arc::new(AtomicUsize::new(0));
    /// let ex = ply_executor::Executor::builder()
    ///     .worker_threads(1)
    ///     .build_with_driver(Counting(ThreadParker::new(), turns.clone()))?;
    /// let answer = ex.block_on(ex.spawn(async {
    ///     // A busy task: each yield lets the driver have a turn before it runs again.
    ///     for _ in 0..200 {
    ///         ply_executor::yield_now().await;
    ///     }
    ///     42
    /// }));
    /// assert_eq!(answer.unwrap(), 42);
    /// assert!(turns.load(Ordering::Relaxed) >= 200);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build_with_driver<D: Park + Send + 'static>(self, driver: D) -> io::Result<Executor> {
        self.start(Some(driver))
    }

    fn start<D: Park + Send + 'static>(self, driver: Option<D>) -> io::Result<Executor> {
        let n = self.workers;
        let parking = park::Parking::new(n, driver);
        let mut parkers = Vec::with_capacity(n);
        let mut locals = Vec::with_capacity(n);
        let mut remotes = Vec::with_capacity(n);
        for i in 0..n {
            let p = park::WorkerParker::new(parking.clone(), i);
            let (local, steal) = queue::new();
            remotes.push(Remote {
                steal,
                unparker: Box::new(p.unparker()),
                counters: Counters::default(),
            });
            parkers.push(p);
            locals.push(local);
        }
        let shared = Arc::new(Shared {
            remotes: remotes.into_boxed_slice(),
            inject: inject::Inject::new(),
            idle: idle::Idle::new(n),
            owned: OwnedTasks::new(4 * n),
            blocking: BlockingPool::new(
                self.max_blocking,
                self.keep_alive,
                format!("{}-blocking", self.name),
            ),
            shutdown: AtomicBool::new(false),
            remote_counters: Counters::default(),
        });
        let handle = Handle { shared };
        let mut ex = Executor {
            handle: handle.clone(),
            threads: Vec::with_capacity(n),
        };
        for (i, (p, local)) in parkers.into_iter().zip(locals).enumerate() {
            let mut b = std::thread::Builder::new().name(format!("{}-{i}", self.name));
            if let Some(s) = self.stack_size {
                b = b.stack_size(s);
            }
            let h = handle.clone();
            let around = self.around_worker.clone();
            // On error `ex` is dropped, which shuts down the workers already started.
            ex.threads.push(b.spawn(move || {
                let mut run = Some(move || worker::run(h, i, local, p));
                let mut once = || {
                    if let Some(run) = run.take() {
                        run();
                    }
                };
                match around {
                    Some(wrap) => wrap(&mut once),
                    None => once(),
                }
            })?);
        }
        Ok(ex)
    }
}
