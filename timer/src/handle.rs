//! [`TimerHandle`]: the cheap, shareable side of a timer, and the thread's current one.

use std::cell::RefCell;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::clock::NotPaused;
use crate::interval::Interval;
use crate::metrics::Metrics;
use crate::shared::Inner;
use crate::sleep::{deadline_after, Sleep};
use crate::timeout::Timeout;

/// A handle to a timer: creates sleeps, timeouts and intervals on it.
///
/// Cheap to clone (one reference count) and `Send + Sync`. Get one from
/// [`Timer::handle`](crate::Timer::handle), from [`TimerHandle::current`], or for the
/// global standalone timer from [`TimerHandle::standalone`].
///
/// # Examples
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use std::time::Duration;
/// use ply_timer::{Timer, TimerHandle};
///
/// let timer = Timer::paused();
/// let handle: TimerHandle = timer.handle();
/// let sleep = handle.sleep(Duration::from_millis(10));
/// assert_eq!(sleep.deadline(), handle.now() + Duration::from_millis(10));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TimerHandle {
    inner: Arc<Inner>,
}

thread_local! {
    /// The handle set by [`TimerHandle::enter`] on this thread.
    static CURRENT: RefCell<Option<TimerHandle>> = const { RefCell::new(None) };
}

impl TimerHandle {
    pub(crate) fn from_inner(inner: Arc<Inner>) -> Self {
        TimerHandle { inner }
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// The handle made current on this thread by [`TimerHandle::enter`], or else the
    /// global standalone timer's (whose driver thread starts on first use). Never fails.
    ///
    /// # Panics
    ///
    /// Only if the operating system refuses to start the standalone driver thread.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use ply_timer::{Timer, TimerHandle};
    ///
    /// let timer = Timer::paused();
    /// let _guard = timer.handle().enter();
    /// assert!(TimerHandle::current().ptr_eq(&timer.handle()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn current() -> TimerHandle {
        CURRENT
            .try_with(|current| current.borrow().clone())
            .ok()
            .flatten()
            .unwrap_or_else(crate::standalone::handle)
    }

    /// The global standalone timer: a lazily started thread parks until its next deadline
    /// and fires it, so sleeps work under any executor with no ply runtime at all.
    ///
    /// # Panics
    ///
    /// Only if the operating system refuses to start the driver thread.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let handle = ply_timer::TimerHandle::standalone();
    /// futures::executor::block_on(handle.sleep(Duration::from_millis(1)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn standalone() -> TimerHandle {
        crate::standalone::handle()
    }

    /// Makes this handle the thread's current one until the guard is dropped, so that
    /// [`sleep`](crate::sleep), [`timeout`](crate::timeout) and friends use it. Guards
    /// nest; drop them in reverse order.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use ply_timer::Timer;
    ///
    /// let timer = Timer::paused();
    /// let sleep = {
    ///     let _guard = timer.handle().enter();
    ///     ply_timer::sleep(Duration::from_secs(1))
    /// };
    /// assert!(sleep.handle().ptr_eq(&timer.handle()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn enter(&self) -> EnterGuard {
        let previous = CURRENT.with(|current| current.replace(Some(self.clone())));
        EnterGuard {
            previous,
            _not_send: PhantomData,
        }
    }

    /// Whether two handles refer to the same timer.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let timer = ply_timer::Timer::paused();
    /// let a = timer.handle();
    /// let b = a.clone();
    /// assert!(a.ptr_eq(&b));
    /// assert!(!a.ptr_eq(&ply_timer::Timer::paused().handle()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn ptr_eq(&self, other: &TimerHandle) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The timer's current time: `Instant::now()` for a clock that was never paused, the
    /// frozen instant while it is paused (see [`pause`](Self::pause)).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let timer = ply_timer::Timer::paused();
    /// let before = timer.handle().now();
    /// timer.advance(Duration::from_millis(7));
    /// assert_eq!(timer.handle().now() - before, Duration::from_millis(7));
    /// # Ok(())
    /// # }
    /// ```
    pub fn now(&self) -> Instant {
        self.inner.clock.now()
    }

    /// Whether the timer has been dropped (its sleeps move to the standalone timer).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let timer = ply_timer::Timer::paused();
    /// let handle = timer.handle();
    /// assert!(!handle.is_shutdown());
    /// drop(timer);
    /// assert!(handle.is_shutdown());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_shutdown(&self) -> bool {
        self.inner.is_shutdown()
    }

    /// Whether the timer's clock is paused now ([`pause`](Self::pause),
    /// [`Builder::paused`](crate::Builder::paused)).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// assert!(ply_timer::Timer::paused().handle().is_paused());
    /// assert!(!ply_timer::Timer::new().handle().is_paused());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_paused(&self) -> bool {
        self.inner.clock.is_paused()
    }

    /// Freezes the timer's clock at its current time, rounded up to the timer's 1 ms tick
    /// (so a sleep of whole milliseconds made while paused ends when the clock is advanced
    /// by exactly its duration): from now on [`now`](Self::now) returns that instant, and sleeps complete only when the clock is moved with
    /// [`advance`](Self::advance) (or, on a ply-net runtime, when it auto-advances).
    /// Returns `false`, changing nothing, if the clock was paused already (tokio panics
    /// there instead).
    ///
    /// Pausing and resuming cost the clock's readers nothing: [`now`](Self::now) is one
    /// relaxed load whichever state the clock is in, plus `Instant::now()` while it runs.
    /// A `now` that races with `pause` on another thread reads the running clock or the
    /// frozen instant; only if that read is delayed past the tick's rounding can it be
    /// later than the frozen instant. Every `now` after `pause` returns reads the frozen
    /// instant.
    ///
    /// This pauses every user of the timer: pausing the [standalone](Self::standalone)
    /// timer pauses the process's standalone sleeps.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let timer = ply_timer::Timer::new();
    /// let handle = timer.handle();
    /// assert!(handle.pause());
    /// assert!(!handle.pause(), "already paused");
    /// let frozen = handle.now();
    /// std::thread::sleep(Duration::from_millis(2));
    /// assert_eq!(handle.now(), frozen);
    /// # Ok(())
    /// # }
    /// ```
    pub fn pause(&self) -> bool {
        let changed = self.inner.clock.pause();
        if changed {
            // The driver planned its wait on the running clock: let it plan again.
            self.inner.unpark_driver();
        }
        changed
    }

    /// Lets a paused clock run again, from the instant it stands at: time stays
    /// monotonic, so the time spent paused is not made up (the clock keeps running that
    /// far behind the real clock, or ahead of it after an [`advance`](Self::advance) by
    /// more than the pause lasted). Returns `false`, changing nothing, if the clock was
    /// running (tokio panics there instead).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let timer = ply_timer::Timer::paused();
    /// let handle = timer.handle();
    /// handle.advance(Duration::from_secs(60))?;
    /// let frozen = handle.now();
    /// assert!(handle.resume());
    /// assert!(handle.now() >= frozen, "continues from the frozen instant");
    /// assert!(handle.now() < frozen + Duration::from_secs(60));
    /// assert!(!handle.resume(), "already running");
    /// # Ok(())
    /// # }
    /// ```
    pub fn resume(&self) -> bool {
        let changed = self.inner.clock.resume();
        if changed {
            self.inner.unpark_driver();
        }
        changed
    }

    /// Moves a paused clock forward by `by`, then fires every timer due by the new time
    /// (their wakers run on this thread). Returns how many fired. The clock saturates
    /// about 146 years after the timer was built.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the clock is running: real time cannot be moved; call
    /// [`pause`](Self::pause) first. (tokio panics there; [`Timer::advance`] does too.)
    ///
    /// [`Timer::advance`]: crate::Timer::advance
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let timer = ply_timer::Timer::new();
    /// let handle = timer.handle();
    /// assert!(handle.advance(Duration::from_secs(1)).is_err(), "not paused");
    /// handle.pause();
    /// let before = handle.now();
    /// assert_eq!(handle.advance(Duration::from_secs(1))?, 0);
    /// assert_eq!(handle.now() - before, Duration::from_secs(1));
    /// # Ok(())
    /// # }
    /// ```
    pub fn advance(&self, by: Duration) -> std::io::Result<usize> {
        match self.inner.clock.advance(by) {
            Ok(now) => Ok(self.inner.fire_due(now)),
            Err(NotPaused) => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "ply_timer: advance needs a paused clock (call pause first): the real \
                 clock cannot be moved",
            )),
        }
    }

    /// A future that completes `duration` from now on this timer. See [`Sleep`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::{Duration, Instant};
    /// let handle = ply_timer::TimerHandle::standalone();
    /// let start = Instant::now();
    /// futures::executor::block_on(handle.sleep(Duration::from_millis(5)));
    /// assert!(start.elapsed() >= Duration::from_millis(5));
    /// # Ok(())
    /// # }
    /// ```
    pub fn sleep(&self, duration: Duration) -> Sleep {
        let now = self.now();
        if duration.is_zero() {
            // Known due: complete without ever touching the wheel.
            return Sleep::new_elapsed(self, now);
        }
        Sleep::new_in(self, deadline_after(now, duration))
    }

    /// A future that completes at `deadline` on this timer. See [`Sleep`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let timer = ply_timer::Timer::paused();
    /// let handle = timer.handle();
    /// let deadline = handle.now() + Duration::from_secs(2);
    /// let sleep = handle.sleep_until(deadline);
    /// assert_eq!(sleep.deadline(), deadline);
    /// # Ok(())
    /// # }
    /// ```
    pub fn sleep_until(&self, deadline: Instant) -> Sleep {
        Sleep::new_in(self, deadline)
    }

    /// Runs `future` with a time limit of `duration` on this timer. See [`Timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let handle = ply_timer::TimerHandle::standalone();
    /// let outcome = futures::executor::block_on(handle.timeout(Duration::from_secs(5), async { 1 }));
    /// assert_eq!(outcome, Ok(1));
    /// # Ok(())
    /// # }
    /// ```
    pub fn timeout<F: Future>(&self, duration: Duration, future: F) -> Timeout<F> {
        Timeout::new(future, self.sleep(duration))
    }

    /// Runs `future` until `deadline` at most on this timer. See [`Timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let handle = ply_timer::TimerHandle::standalone();
    /// let deadline = handle.now() + Duration::from_millis(2);
    /// let outcome = futures::executor::block_on(handle.timeout_at(deadline, std::future::pending::<()>()));
    /// assert!(outcome.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn timeout_at<F: Future>(&self, deadline: Instant, future: F) -> Timeout<F> {
        Timeout::new(future, self.sleep_until(deadline))
    }

    /// An [`Interval`] on this timer whose first tick is now.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let handle = ply_timer::TimerHandle::standalone();
    /// let mut interval = handle.interval(Duration::from_millis(1));
    /// let first = futures::executor::block_on(interval.tick());
    /// let second = futures::executor::block_on(interval.tick());
    /// assert_eq!(second - first, Duration::from_millis(1));
    /// # Ok(())
    /// # }
    /// ```
    pub fn interval(&self, period: Duration) -> Interval {
        Interval::new(self.sleep_until(self.now()), period)
    }

    /// An [`Interval`] on this timer whose first tick is at `start`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let timer = ply_timer::Timer::paused();
    /// let handle = timer.handle();
    /// let start = handle.now() + Duration::from_secs(1);
    /// let interval = handle.interval_at(start, Duration::from_secs(1));
    /// assert_eq!(interval.period(), Duration::from_secs(1));
    /// # Ok(())
    /// # }
    /// ```
    pub fn interval_at(&self, start: Instant, period: Duration) -> Interval {
        Interval::new(self.sleep_until(start), period)
    }

    /// The timer's counters.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let timer = ply_timer::Timer::paused();
    /// assert_eq!(timer.handle().metrics().pending, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn metrics(&self) -> Metrics {
        self.inner.metrics()
    }
}

impl std::fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerHandle")
            .field("timer", &Arc::as_ptr(&self.inner))
            .field("paused", &self.inner.clock.is_paused())
            .finish()
    }
}

/// Restores the previous current handle when dropped; see [`TimerHandle::enter`].
///
/// Not `Send`: it must be dropped on the thread that entered.
#[must_use = "the handle is current only while the guard lives"]
pub struct EnterGuard {
    previous: Option<TimerHandle>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // `try_with`: during thread teardown the slot may already be gone; nothing to
        // restore then.
        let _ = CURRENT.try_with(|current| *current.borrow_mut() = previous);
    }
}

impl std::fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnterGuard")
            .field("previous", &self.previous)
            .finish()
    }
}
