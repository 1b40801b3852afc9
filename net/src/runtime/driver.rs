//! The composed driver: where the executor's parking seam meets the reactor and the timer.
//!
//! When an executor has nothing to run, it calls [`Park::park`] on its parker. ply-net's
//! [`Driver`] turns that into one step of an event loop:
//!
//! 1. ask the timer for its next deadline, and make that the timeout;
//! 2. wait in the reactor ([`Reactor::poll`]: `epoll_wait`), which wakes the tasks whose
//!    fds became ready;
//! 3. if that deadline has come, fire the timers that are due, which wakes the tasks
//!    whose deadlines came (a wake for I/O alone does not touch the timer).
//!
//! Steps 1 and 3 are [`Timer::turn`]; this driver only supplies step 2.
//!
//! # Auto-advance (current-thread runtime, paused clock)
//!
//! When the clock is paused ([`Builder::start_paused`](crate::Builder::start_paused),
//! [`Handle::pause`](crate::Handle::pause)) and the executor parks with no timeout (it has
//! nothing to run: every task is waiting), waiting in the reactor until the next deadline
//! would wait forever, since the paused clock never reaches it. So the driver instead:
//!
//! 1. polls the reactor with a zero timeout: if that woke a task (ready I/O), or an
//!    unpark came (a wake or a spawn from another thread), it returns and the executor
//!    runs them, so a paused clock with ready I/O never skips ahead;
//! 2. otherwise advances the clock to the timer's next deadline and fires what is due
//!    there (the wheel's next instant may be a cascade point before any deadline: then
//!    nothing fires and the next park advances again, never past a deadline);
//! 3. with no deadline at all it waits in the reactor as usual: only I/O or another
//!    thread can wake anything.
//!
//! Only the current-thread runtime auto-advances: there the parking thread is the only
//! one that runs tasks, so "the executor parks with no timeout" means "every task is
//! waiting". A multi-threaded runtime refuses to pause (see `Handle::pause`).
//!
//! Both runtimes use the same [`Driver`], and ply-net holds no atomic protocol of its own:
//! the current-thread runtime parks its `LocalExecutor` in it, and the multi-threaded
//! runtime hands it to [`ply_executor::Builder::build_with_driver`], whose parking
//! protocol lets one idle worker at a time wait in it, sleeps the others on condvars,
//! routes each unpark to the worker it was meant for, and gives the driver a zero-timeout
//! turn while the workers are busy (`docs/executor.md`, "Parking the workers"). Busy
//! executors call `park_timeout(Duration::ZERO)`: one `epoll_wait(0)` and, if a deadline
//! came, one timer firing.

use ply_executor::park::{Park, Unpark};
use ply_reactor::Reactor;
use ply_timer::Timer;
use ply_timer::TimerHandle;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The reactor and the timer one runtime drives.
pub(crate) struct Core {
    pub(crate) reactor: Reactor,
    pub(crate) timer: Timer,
    /// `Some` on a current-thread runtime: its driver auto-advances a paused clock.
    pub(crate) auto: Option<Arc<AutoAdvance>>,
}

/// What auto-advance shares with the unparkers. Apart from the [`Core`], so that an
/// unparker kept by a stray waker does not keep the timer from shutting down.
pub(crate) struct AutoAdvance {
    /// The runtime's timer (a handle: it does not delay the timer's shutdown).
    timer: TimerHandle,
    /// Set by an unpark while the clock is paused: someone outside the driver has made
    /// work (a cross-thread wake or spawn), so the next park must not skip ahead. Cleared
    /// by the driver's auto-advance step. A stale `true` costs one extra park.
    unparked: AtomicBool,
}

impl AutoAdvance {
    pub(crate) fn new(timer: TimerHandle) -> Arc<AutoAdvance> {
        Arc::new(AutoAdvance {
            timer,
            unparked: AtomicBool::new(false),
        })
    }
}

impl Core {
    /// The auto-advance step (see the module's docs). Returns `false` if the caller
    /// should take an ordinary turn instead (no deadline, the clock was resumed meanwhile,
    /// or the reactor failed).
    fn auto_advance(&self, auto: &AutoAdvance) -> bool {
        match self.reactor.poll(Some(Duration::ZERO)) {
            Ok(0) => {}
            // Ready I/O woke tasks: they run first, and the clock stays.
            Ok(_) => return true,
            Err(_) => return false,
        }
        // Acquire: pairs with the unparker's Release, so the work it made is visible.
        if auto.unparked.swap(false, Ordering::Acquire) {
            return true;
        }
        let Some(deadline) = self.timer.next_deadline() else {
            return false;
        };
        let by = deadline.saturating_duration_since(auto.timer.now());
        // An error: resumed meanwhile, so the ordinary turn waits on the running clock.
        auto.timer.advance(by).is_ok()
    }

    /// One event-loop step: wait in the reactor with the next deadline as the timeout,
    /// then fire the timers that are due ([`Timer::turn`]; a wake for I/O alone does not
    /// take the timer's lock).
    fn turn(&self, timeout: Option<Duration>) {
        let (waited, _fired) = self
            .timer
            .turn(timeout, |timeout| self.reactor.poll(timeout));
        if waited.is_err() {
            // ENOMEM from epoll_wait: do not spin; the next park tries again. The failure
            // is counted in the reactor's stats (`wait_errors`), the one place a parker
            // that returns nothing can report it.
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// The driver of both runtimes: every park is an event-loop step.
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
    auto: Option<Arc<AutoAdvance>>,
}

impl Unpark for DriverUnparker {
    fn unpark(&self) {
        if let Some(auto) = &self.auto {
            // One relaxed load on the real clock's path; the flag only while paused.
            if auto.timer.is_paused() {
                auto.unparked.store(true, Ordering::Release);
            }
        }
        self.reactor.wake();
    }
}

impl Park for Driver {
    type Unparker = DriverUnparker;

    fn unparker(&self) -> DriverUnparker {
        DriverUnparker {
            reactor: self.core.reactor.clone(),
            auto: self.core.auto.clone(),
        }
    }

    fn park(&mut self) {
        if let Some(auto) = &self.core.auto {
            if auto.timer.is_paused() && self.core.auto_advance(auto) {
                return;
            }
        }
        self.core.turn(None);
    }

    fn park_timeout(&mut self, timeout: Duration) {
        self.core.turn(Some(timeout));
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
