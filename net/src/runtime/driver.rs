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
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The reactor and the timer one runtime drives.
pub(crate) struct Core {
    pub(crate) reactor: Reactor,
    pub(crate) timer: Timer,
}

impl Core {
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
