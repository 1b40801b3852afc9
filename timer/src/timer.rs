//! The driver side: [`Timer`] owns the wheel and fires it; [`Builder`] configures one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::coop::Budget;
use crate::handle::TimerHandle;
use crate::metrics::Metrics;
use crate::shared::Inner;
use crate::wake::WakerPanicHook;

/// The callback a [`Timer`] calls when a deadline earlier than the driver's is registered.
pub type Unpark = Arc<dyn Fn() + Send + Sync>;

/// The timer driver: owns a hierarchical timing wheel and fires the sleeps registered on
/// it.
///
/// Whoever parks a thread drives the timer. Before parking, ask [`Timer::next_deadline`]
/// how long you may sleep; after waking, call [`Timer::fire_due`] to wake every task whose
/// deadline has come. If a task registers a deadline earlier than the one you are sleeping
/// toward, the timer calls the `unpark` callback given to [`Builder::unpark`], so you can
/// wake up and recompute (ply-net writes to its eventfd there; a plain parker calls
/// `Thread::unpark`).
///
/// Tasks create sleeps through a [`TimerHandle`] ([`Timer::handle`]): cheap to clone,
/// `Send + Sync`. When the `Timer` is dropped it shuts down: every sleep still registered
/// on it is woken and moves to the global standalone timer on its next poll, so it still
/// completes at its deadline, never early, and never hangs.
///
/// # Wakers that panic
///
/// The timer calls wakers it did not write: in [`fire_due`](Self::fire_due) (and
/// [`advance`](Self::advance)), when it shuts down, and when a `Sleep` is reset into the
/// past. A panic in one of them is caught, counted in [`Metrics::waker_panics`], handed to
/// the hook given to [`Builder::on_waker_panic`] (if any; the timer prints nothing), and
/// the remaining wakers of the batch are still called;
/// `fire_due` returns normally. So a broken waker cannot kill the standalone driver thread
/// (which every standalone `sleep` of the process depends on) or a runtime's worker. The
/// task behind the panicking waker is not woken; that is its executor's bug to fix.
///
/// # Examples
///
/// Driving a timer from your own parking loop:
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use std::time::{Duration, Instant};
/// use ply_timer::Timer;
///
/// let timer = Timer::new();
/// let handle = timer.handle();
/// let started = Instant::now();
/// let sleep = std::thread::spawn(move || {
///     futures::executor::block_on(handle.sleep(Duration::from_millis(20)));
/// });
/// // The driver loop (ply-net parks in epoll_wait instead of park_timeout).
/// while !sleep.is_finished() {
///     match timer.next_deadline() {
///         Some(deadline) => {
///             std::thread::park_timeout(deadline.saturating_duration_since(Instant::now()))
///         }
///         None => std::thread::park_timeout(Duration::from_millis(1)),
///     }
///     timer.fire_due(Instant::now());
/// }
/// sleep.join().unwrap();
/// assert!(started.elapsed() >= Duration::from_millis(20));
/// # Ok(())
/// # }
/// ```
pub struct Timer {
    handle: TimerHandle,
}

/// Configures and builds a [`Timer`].
///
/// # Examples
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::time::Duration;
/// use ply_timer::Timer;
///
/// let unparks = Arc::new(AtomicUsize::new(0));
/// let counter = unparks.clone();
/// let timer = Timer::builder()
///     .paused()
///     .unpark(Arc::new(move || { counter.fetch_add(1, Ordering::Relaxed); }))
///     .build();
/// assert_eq!(timer.next_deadline(), None);
///
/// let handle = timer.handle();
/// let mut sleep = Box::pin(handle.sleep(Duration::from_secs(1)));
/// let waker = futures::task::noop_waker();
/// let _ = sleep.as_mut().poll(&mut std::task::Context::from_waker(&waker));
/// // The driver was sleeping with no deadline: it is told about the new one.
/// assert_eq!(unparks.load(Ordering::Relaxed), 1);
/// # use std::future::Future;
/// # Ok(())
/// # }
/// ```
#[derive(Default)]
pub struct Builder {
    unpark: Option<Unpark>,
    paused: bool,
    budget: Option<Budget>,
    on_waker_panic: Option<WakerPanicHook>,
}

impl Builder {
    /// A builder for a timer on the real clock, with no unpark callback.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let timer = ply_timer::Builder::new().build();
    /// assert!(!timer.handle().is_shutdown());
    /// # Ok(())
    /// # }
    /// ```
    pub fn new() -> Self {
        Builder::default()
    }

    /// Calls `unpark` whenever a deadline earlier than the one last returned by
    /// [`Timer::next_deadline`] is registered (or any deadline, if it returned `None`):
    /// the driver should stop parking and recompute its timeout.
    ///
    /// The callback runs on the registering thread, outside the timer's lock. It may be
    /// called before the driver actually parks; the parker must remember such an early
    /// unpark (as `Thread::unpark` and an eventfd do).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::sync::Arc;
    /// let driver = std::thread::current();
    /// let timer = ply_timer::Timer::builder()
    ///     .unpark(Arc::new(move || driver.unpark()))
    ///     .build();
    /// # drop(timer);
    /// # Ok(())
    /// # }
    /// ```
    pub fn unpark(mut self, unpark: Unpark) -> Self {
        self.unpark = Some(unpark);
        self
    }

    /// Spends one unit of `budget` before a ready [`Sleep`](crate::Sleep) or
    /// [`Interval`](crate::Interval) tick completes; with no budget they always complete.
    /// A [`Timeout`](crate::Timeout)'s deadline ignores it. See [`coop`](crate::coop).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::task::{Context, Poll};
    /// fn never_throttle(_cx: &mut Context<'_>) -> Poll<()> {
    ///     Poll::Ready(())
    /// }
    /// let timer = ply_timer::Timer::builder().budget(never_throttle).build();
    /// # drop(timer);
    /// # Ok(())
    /// # }
    /// ```
    pub fn budget(mut self, budget: Budget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Calls `hook` with the payload of every waker panic the timer catches (when it fires
    /// timers, or wakes a sleep on shutdown), after counting it in
    /// [`Metrics::waker_panics`](crate::Metrics::waker_panics). The timer never prints;
    /// this is where a program that wants to log such panics does it. Without a hook they
    /// are only counted.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// fn log(payload: &(dyn std::any::Any + Send)) {
    ///     let msg = payload.downcast_ref::<&str>().copied().unwrap_or("?");
    ///     eprintln!("a waker panicked: {msg}");
    /// }
    /// let timer = ply_timer::Timer::builder().on_waker_panic(log).build();
    /// # drop(timer);
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_waker_panic(mut self, hook: WakerPanicHook) -> Self {
        self.on_waker_panic = Some(hook);
        self
    }

    /// Starts the clock paused: time stands still until [`Timer::advance`]. The clock of
    /// any timer can also be paused and resumed later ([`TimerHandle::pause`],
    /// [`TimerHandle::resume`]); this only chooses its state at start.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let timer = ply_timer::Timer::builder().paused().build();
    /// let now = timer.handle().now();
    /// assert_eq!(timer.handle().now(), now, "time stands still");
    /// # Ok(())
    /// # }
    /// ```
    pub fn paused(mut self) -> Self {
        self.paused = true;
        self
    }

    /// Builds the timer.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let timer = ply_timer::Builder::new().build();
    /// assert_eq!(timer.next_deadline(), None);
    /// # Ok(())
    /// # }
    /// ```
    pub fn build(self) -> Timer {
        let clock = if self.paused {
            Clock::paused()
        } else {
            Clock::real()
        };
        Timer {
            handle: TimerHandle::from_inner(Arc::new(Inner::new(
                clock,
                self.unpark,
                self.budget,
                self.on_waker_panic,
            ))),
        }
    }
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("unpark", &self.unpark.is_some())
            .field("paused", &self.paused)
            .field("budget", &self.budget.is_some())
            .field("on_waker_panic", &self.on_waker_panic.is_some())
            .finish()
    }
}

impl Timer {
    /// A timer on the real clock with no unpark callback.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let timer = ply_timer::Timer::new();
    /// assert_eq!(timer.next_deadline(), None);
    /// assert_eq!(timer.fire_due(std::time::Instant::now()), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new() -> Self {
        Builder::new().build()
    }

    /// A timer on a paused test clock: time only moves with [`Timer::advance`], so tests
    /// of timeouts are deterministic and instant.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::future::Future;
    /// use std::task::{Context, Poll};
    /// use std::time::Duration;
    /// use ply_timer::Timer;
    ///
    /// let timer = Timer::paused();
    /// let mut sleep = Box::pin(timer.handle().sleep(Duration::from_secs(3600)));
    /// let waker = futures::task::noop_waker();
    /// let mut cx = Context::from_waker(&waker);
    /// assert!(sleep.as_mut().poll(&mut cx).is_pending());
    /// timer.advance(Duration::from_secs(3599));
    /// assert!(sleep.as_mut().poll(&mut cx).is_pending());
    /// assert_eq!(timer.advance(Duration::from_secs(1)), 1);
    /// assert!(sleep.as_mut().poll(&mut cx).is_ready());
    /// # Ok(())
    /// # }
    /// ```
    pub fn paused() -> Self {
        Builder::new().paused().build()
    }

    /// A builder, to set an unpark callback or a paused clock.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let timer = ply_timer::Timer::builder().paused().build();
    /// assert_eq!(timer.metrics().inserted, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// A handle to create sleeps on this timer.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let timer = ply_timer::Timer::paused();
    /// let handle = timer.handle();
    /// std::thread::spawn(move || drop(handle.sleep(Duration::from_secs(1)))).join().unwrap();
    /// # Ok(())
    /// # }
    /// ```
    pub fn handle(&self) -> TimerHandle {
        self.handle.clone()
    }

    /// When the driver must next call [`Timer::fire_due`]: the start of the earliest
    /// occupied wheel slot, or `None` if no timer is registered. The driver may park until
    /// then. The instant may be earlier than any timer's deadline (a far timer must be
    /// cascaded to a finer level first) but never later.
    ///
    /// Also records that the driver sleeps toward this instant: registering an earlier
    /// deadline from now on calls the unpark callback.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::future::Future;
    /// use std::task::Context;
    /// use std::time::Duration;
    /// use ply_timer::Timer;
    ///
    /// let timer = Timer::paused();
    /// let handle = timer.handle();
    /// let now = handle.now();
    /// let mut sleep = Box::pin(handle.sleep(Duration::from_millis(10)));
    /// let waker = futures::task::noop_waker();
    /// let _ = sleep.as_mut().poll(&mut Context::from_waker(&waker));
    /// assert_eq!(timer.next_deadline(), Some(now + Duration::from_millis(10)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn next_deadline(&self) -> Option<Instant> {
        self.handle.inner().next_deadline()
    }

    /// Fires every timer due by `now`, waking their tasks, and returns how many fired.
    ///
    /// Wakers are called outside the timer's lock, in batches, in deadline order. `now` is
    /// clamped to the timer's clock, so a `now` in the future cannot fire anything early.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Instant;
    /// let timer = ply_timer::Timer::new();
    /// assert_eq!(timer.fire_due(Instant::now()), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn fire_due(&self, now: Instant) -> usize {
        self.handle.inner().fire_due(now)
    }

    /// One turn of a driver's loop around the caller's `wait`: the next deadline becomes
    /// the timeout, `wait` blocks for at most that long, and then the timers that are due
    /// fire. Returns what `wait` returned and how many timers fired.
    ///
    /// - `limit` caps the timeout (a parker's `park_timeout`); `None` means no cap.
    /// - `wait` receives the timeout (`None`: no deadline and no limit, wait until
    ///   woken). It may return early (an I/O event, a spurious wake-up, the unpark
    ///   callback of [`Builder::unpark`]); the next turn plans again.
    /// - After `wait`, the timer's lock is taken only if the deadline planned before the
    ///   wait has come: a wake for I/O alone costs one clock read, no lock. A deadline
    ///   registered during the wait that is earlier than the planned one called the unpark
    ///   callback, so `wait` ended early and the next turn plans with it.
    ///
    /// Every ply driver is this method around a different wait: ply-net's around
    /// `Reactor::poll`, the standalone timer thread's around `thread::park_timeout`.
    ///
    /// # Examples
    ///
    /// A thread that parks until the next deadline, then fires it:
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::sync::Arc;
    /// use std::time::Duration;
    ///
    /// let driver = std::thread::current();
    /// let timer = ply_timer::Timer::builder()
    ///     .unpark(Arc::new(move || driver.unpark()))
    ///     .build();
    /// let sleep = timer.handle().sleep(Duration::from_millis(5));
    /// let waiter = std::thread::spawn(move || futures::executor::block_on(sleep));
    /// while !waiter.is_finished() {
    ///     timer.turn(Some(Duration::from_millis(50)), |timeout| match timeout {
    ///         Some(t) => std::thread::park_timeout(t),
    ///         None => std::thread::park(),
    ///     });
    /// }
    /// waiter.join().unwrap();
    /// assert_eq!(timer.metrics().fired, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn turn<R>(
        &self,
        limit: Option<Duration>,
        wait: impl FnOnce(Option<Duration>) -> R,
    ) -> (R, usize) {
        let clock = &self.handle.inner().clock;
        let deadline = self.next_deadline();
        let until_deadline = deadline.map(|d| d.saturating_duration_since(clock.now()));
        let timeout = match (limit, until_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let waited = wait(timeout);
        let fired = match deadline {
            Some(deadline) => {
                let now = clock.now();
                if now >= deadline {
                    self.fire_due(now)
                } else {
                    0
                }
            }
            None => 0,
        };
        (waited, fired)
    }

    /// Moves a paused clock forward by `by`, then fires every timer due by the new time.
    /// Returns how many fired.
    ///
    /// # Panics
    ///
    /// If the clock is running (the timer was not built paused, [`Timer::paused`],
    /// [`Builder::paused`], nor paused since with [`Timer::pause`]): the real clock cannot
    /// be moved. [`TimerHandle::advance`] returns an error instead.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let timer = ply_timer::Timer::paused();
    /// let before = timer.handle().now();
    /// timer.advance(Duration::from_secs(5));
    /// assert_eq!(timer.handle().now() - before, Duration::from_secs(5));
    /// # Ok(())
    /// # }
    /// ```
    pub fn advance(&self, by: Duration) -> usize {
        match self.handle.advance(by) {
            Ok(fired) => fired,
            Err(_) => panic!(
                "Timer::advance needs a paused clock (Timer::paused, or pause() first); \
                 TimerHandle::advance returns this as an error instead"
            ),
        }
    }

    /// Freezes the clock at its current time; see [`TimerHandle::pause`]. Returns `false`
    /// if it was paused already.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let timer = ply_timer::Timer::new();
    /// assert!(timer.pause());
    /// let frozen = timer.handle().now();
    /// timer.advance(Duration::from_secs(1));
    /// assert_eq!(timer.handle().now() - frozen, Duration::from_secs(1));
    /// assert!(timer.resume());
    /// # Ok(())
    /// # }
    /// ```
    pub fn pause(&self) -> bool {
        self.handle.pause()
    }

    /// Lets a paused clock run again from where it stands; see [`TimerHandle::resume`].
    /// Returns `false` if it was running.
    pub fn resume(&self) -> bool {
        self.handle.resume()
    }

    /// The timer's counters.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let timer = ply_timer::Timer::paused();
    /// assert_eq!(timer.metrics(), timer.handle().metrics());
    /// # Ok(())
    /// # }
    /// ```
    pub fn metrics(&self) -> Metrics {
        self.handle.metrics()
    }
}

impl Default for Timer {
    fn default() -> Self {
        Timer::new()
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.handle.inner().shutdown();
    }
}

impl std::fmt::Debug for Timer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timer")
            .field("handle", &self.handle)
            .finish()
    }
}
