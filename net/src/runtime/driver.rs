//! The composed driver: where the executor's parking seam meets the reactor and the timer.
//!
//! When an executor has nothing to run, it calls [`Park::park`] on its parker. ply-net's
//! parkers turn that into one loop step of an event loop:
//!
//! 1. ask the timer for its next deadline, and make that the timeout;
//! 2. wait in the reactor ([`Reactor::poll`]: `epoll_wait`), which wakes the tasks whose
//!    fds became ready;
//! 3. if that deadline has come, fire the timers that are due, which wakes the tasks
//!    whose deadlines came (a wake for I/O alone does not touch the timer).
//!
//! [`Driver`] does exactly that; the current-thread runtime uses it. The multi-threaded
//! runtime gives each worker a [`WorkerParker`]: only one worker at a time can hold the
//! reactor (the others would all return from `epoll_wait` for the same events), so a
//! worker that finds the reactor taken parks its thread on a condition variable instead.
//!
//! # The worker's park state
//!
//! An unpark must reach a worker however it sleeps, so each worker has one atomic word:
//!
//! | state | meaning | an unpark does |
//! |---|---|---|
//! | [`RUNNING`] | not parked | record [`NOTIFIED`] |
//! | [`IN_REACTOR`] | waiting in the reactor, or about to | record, then [`Reactor::wake`] |
//! | [`IN_CONDVAR`] | waiting on the condvar, or about to | record, then notify the condvar |
//! | [`NOTIFIED`] | an unpark came and is not consumed yet | nothing more |
//!
//! The worker moves `RUNNING → IN_REACTOR` or `RUNNING → IN_CONDVAR` by compare-and-swap
//! before it sleeps; finding `NOTIFIED` instead, it consumes it and does not sleep. After
//! sleeping it swaps back to `RUNNING`. The unparker swaps in `NOTIFIED` and, from the
//! state it swapped out, knows which wake-up to send; the reactor's and the condvar's own
//! protocols keep a wake-up sent just before the sleep from being lost. The loom model
//! `loom_worker_park` checks it.

use crate::loom::sync::atomic::{AtomicU8, Ordering};
use crate::loom::sync::{Arc, Condvar, Mutex};
use ply_executor::park::{Park, Unpark};
use ply_reactor::Reactor;
use ply_timer::Timer;
use std::fmt;
use std::time::{Duration, Instant};

/// Not parked.
pub(crate) const RUNNING: u8 = 0;
/// Waiting in the reactor.
pub(crate) const IN_REACTOR: u8 = 1;
/// Waiting on the condvar.
pub(crate) const IN_CONDVAR: u8 = 2;
/// An unpark is pending.
pub(crate) const NOTIFIED: u8 = 3;

/// The reactor and the timer one runtime drives.
pub(crate) struct Core {
    pub(crate) reactor: Reactor,
    pub(crate) timer: Timer,
}

impl Core {
    /// The timer's next deadline, and the wait allowed by it and the caller's `timeout`.
    fn plan(&self, timeout: Option<Duration>) -> (Option<Instant>, Option<Duration>) {
        let deadline = self.timer.next_deadline();
        let until_timer = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let wait = match (timeout, until_timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        (deadline, wait)
    }

    /// After a wait: fires the timers that are due, if the deadline planned before the
    /// wait has come. Most wakes are for I/O with no timer due, and skip the timer's lock.
    /// A deadline registered during the wait, earlier than the planned one, woke the
    /// reactor (the timer's unpark callback); the next park plans with it.
    fn fire_if_due(&self, deadline: Option<Instant>) {
        if let Some(deadline) = deadline {
            let now = Instant::now();
            if now >= deadline {
                self.timer.fire_due(now);
            }
        }
    }

    /// One event-loop step: wait in the reactor, then fire due timers.
    fn turn(&self, timeout: Option<Duration>) {
        let (deadline, wait) = self.plan(timeout);
        if let Err(e) = self.reactor.poll(wait) {
            // ENOMEM from epoll_wait: do not spin; the next park tries again.
            eprintln!("ply-net: reactor wait failed: {e}");
            std::thread::sleep(Duration::from_millis(1));
        }
        self.fire_if_due(deadline);
    }
}

/// The current-thread runtime's parker: every park is an event-loop step.
pub(crate) struct Driver {
    core: Arc<Core>,
}

impl Driver {
    pub(crate) fn new(core: Arc<Core>) -> Driver {
        Driver { core }
    }
}

/// Unparks a [`Driver`]: the reactor's own wake (a syscall only if it is blocked).
#[derive(Clone)]
pub(crate) struct DriverUnparker {
    reactor: Reactor,
}

impl Unpark for DriverUnparker {
    fn unpark(&self) {
        self.reactor.wake();
    }
}

impl Park for Driver {
    type Unparker = DriverUnparker;

    fn unparker(&self) -> DriverUnparker {
        DriverUnparker {
            reactor: self.core.reactor.clone(),
        }
    }

    fn park(&mut self) {
        self.core.turn(None);
    }

    fn park_timeout(&mut self, timeout: Duration) {
        self.core.turn(Some(timeout));
    }
}

/// The state one worker shares with its unparkers.
pub(crate) struct WorkerState {
    state: AtomicU8,
    lock: Mutex<()>,
    condvar: Condvar,
}

impl WorkerState {
    pub(crate) fn new() -> WorkerState {
        WorkerState {
            state: AtomicU8::new(RUNNING),
            lock: Mutex::new(()),
            condvar: Condvar::new(),
        }
    }

    /// Consumes a pending unpark, if any.
    pub(crate) fn take_notified(&self) -> bool {
        self.state
            .compare_exchange(NOTIFIED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Announces a sleep of kind `how`; `false` if an unpark came first (consumed).
    pub(crate) fn begin(&self, how: u8) -> bool {
        match self
            .state
            .compare_exchange(RUNNING, how, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(_) => {
                // Only NOTIFIED can be there: the worker itself is the only one that
                // leaves RUNNING otherwise.
                self.state.store(RUNNING, Ordering::Release);
                false
            }
        }
    }

    /// Ends a sleep.
    pub(crate) fn end(&self) {
        self.state.swap(RUNNING, Ordering::AcqRel);
    }

    /// Parks on the condvar until an unpark or `timeout`.
    pub(crate) fn park_condvar(&self, timeout: Option<Duration>) {
        let mut guard = self.lock.lock();
        // Announce under the lock, so an unparker that sees IN_CONDVAR and takes the lock
        // to notify cannot do so before we wait.
        if !self.begin(IN_CONDVAR) {
            return;
        }
        match timeout {
            None => {
                while self.state.load(Ordering::Acquire) == IN_CONDVAR {
                    guard = self.condvar.wait(guard);
                }
            }
            Some(t) => {
                let deadline = Instant::now() + t;
                while self.state.load(Ordering::Acquire) == IN_CONDVAR {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    guard = self.condvar.wait_timeout(guard, deadline - now);
                }
            }
        }
        drop(guard);
        self.end();
    }

    /// The unpark: see the module docs.
    pub(crate) fn unpark(&self, reactor_wake: impl FnOnce()) {
        match self.state.swap(NOTIFIED, Ordering::AcqRel) {
            IN_REACTOR => reactor_wake(),
            IN_CONDVAR => {
                // Taking the lock orders this notify after the sleeper's wait began.
                drop(self.lock.lock());
                self.condvar.notify_one();
            }
            _ => {}
        }
    }
}

/// A multi-threaded runtime worker's parker: waits in the reactor if no other worker
/// does, else on its own condvar.
pub(crate) struct WorkerParker {
    core: Arc<Core>,
    state: Arc<WorkerState>,
}

impl WorkerParker {
    pub(crate) fn new(core: Arc<Core>) -> WorkerParker {
        WorkerParker {
            core,
            state: Arc::new(WorkerState::new()),
        }
    }

    fn park_inner(&mut self, timeout: Option<Duration>) {
        if self.state.take_notified() {
            return;
        }
        if !self.state.begin(IN_REACTOR) {
            return;
        }
        let (deadline, wait) = self.core.plan(timeout);
        match self.core.reactor.try_poll(wait) {
            Some(res) => {
                self.state.end();
                if let Err(e) = res {
                    eprintln!("ply-net: reactor wait failed: {e}");
                    std::thread::sleep(Duration::from_millis(1));
                }
                self.core.fire_if_due(deadline);
            }
            None => {
                // Another worker holds the reactor (and the timers): sleep on the condvar.
                // An unpark that arrived meanwhile (it saw IN_REACTOR and woke the
                // reactor's holder, harmlessly) is still recorded as NOTIFIED and
                // consumed by `begin` below.
                self.state.end_reactor_attempt();
                self.state.park_condvar(timeout);
            }
        }
    }
}

impl WorkerState {
    /// Leaves IN_REACTOR without having slept, keeping a NOTIFIED that came meanwhile.
    pub(crate) fn end_reactor_attempt(&self) {
        let _ =
            self.state
                .compare_exchange(IN_REACTOR, RUNNING, Ordering::AcqRel, Ordering::Acquire);
    }
}

/// Unparks a [`WorkerParker`].
#[derive(Clone)]
pub(crate) struct WorkerUnparker {
    reactor: Reactor,
    state: Arc<WorkerState>,
}

impl Unpark for WorkerUnparker {
    fn unpark(&self) {
        self.state.unpark(|| self.reactor.wake());
    }
}

impl Park for WorkerParker {
    type Unparker = WorkerUnparker;

    fn unparker(&self) -> WorkerUnparker {
        WorkerUnparker {
            reactor: self.core.reactor.clone(),
            state: self.state.clone(),
        }
    }

    fn park(&mut self) {
        self.park_inner(None);
    }

    fn park_timeout(&mut self, timeout: Duration) {
        self.park_inner(Some(timeout));
    }
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver").finish_non_exhaustive()
    }
}

impl fmt::Debug for DriverUnparker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DriverUnparker").finish_non_exhaustive()
    }
}

impl fmt::Debug for WorkerParker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerParker").finish_non_exhaustive()
    }
}

impl fmt::Debug for WorkerUnparker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerUnparker").finish_non_exhaustive()
    }
}
