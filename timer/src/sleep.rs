//! [`Sleep`]: a future that completes at a deadline.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use crate::entry::Entry;
use crate::handle::TimerHandle;
use crate::shared::Register;
use crate::state::ResetLater;

pin_project! {
    /// A future that completes at its deadline: never before it, and at most about a
    /// tick (1 ms) plus scheduling delay after it.
    ///
    /// Created by [`sleep`], [`sleep_until`], [`TimerHandle::sleep`] or
    /// [`Sleep::new_in`]. A `Sleep` carries its own wheel node inline, so registering it
    /// allocates nothing, and:
    ///
    /// - creating one touches no shared state; a `Sleep` that is never polled never
    ///   touches the wheel;
    /// - the first poll files it in the wheel (one short lock); later polls only store the
    ///   waker, lock-free;
    /// - [`Sleep::reset`] to a later deadline is lock-free (keep-alive timers are reset on
    ///   every read); to an earlier one it takes the lock once;
    /// - dropping it cancels it in O(1); dropping a fired or never-polled one is lock-free.
    ///
    /// It may be created on one thread and polled or dropped on another.
    ///
    /// If its timer shuts down (the [`Timer`](crate::Timer) is dropped) before the deadline,
    /// the sleep is woken and, on its next poll, moves to the global standalone timer,
    /// where it completes at the same deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::{Duration, Instant};
    ///
    /// let start = Instant::now();
    /// futures::executor::block_on(ply_timer::sleep(Duration::from_millis(10)));
    /// assert!(start.elapsed() >= Duration::from_millis(10));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct Sleep {
        handle: TimerHandle,
        deadline: Instant,
        #[pin]
        entry: Entry,
    }

    impl PinnedDrop for Sleep {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            this.handle.inner().cancel(this.entry.as_ref());
        }
    }
}

/// A future that completes `duration` from now, on the current timer
/// ([`TimerHandle::current`]: the one entered on this thread, or else the global
/// standalone timer). A `duration` too large to represent (such as `Duration::MAX`) means
/// "about a century from now".
///
/// # Examples
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use std::time::Duration;
/// futures::executor::block_on(async {
///     ply_timer::sleep(Duration::from_millis(1)).await;
/// });
/// # Ok(())
/// # }
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    TimerHandle::current().sleep(duration)
}

/// A future that completes at `deadline`, on the current timer (see [`sleep`]).
///
/// No clock is read: a deadline the timer has already processed completes on the first
/// poll without touching the wheel; any other deadline (including one that passed since
/// the driver last ran) is filed and completes at the driver's next turn, which the
/// registration triggers if it is the earliest.
///
/// # Examples
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use std::time::{Duration, Instant};
/// let deadline = Instant::now() + Duration::from_millis(2);
/// futures::executor::block_on(ply_timer::sleep_until(deadline));
/// assert!(Instant::now() >= deadline);
/// # Ok(())
/// # }
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    TimerHandle::current().sleep_until(deadline)
}

/// About a century: what "forever" means for a deadline `Instant` cannot represent.
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// `now + duration`, or a far-future instant when that overflows `Instant`.
pub(crate) fn deadline_after(now: Instant, duration: Duration) -> Instant {
    now.checked_add(duration)
        .or_else(|| now.checked_add(FAR_FUTURE))
        .unwrap_or(now + Duration::from_secs(365 * 24 * 60 * 60))
}

impl Sleep {
    /// A sleep until `deadline` on the timer behind `handle`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use ply_timer::{Sleep, Timer};
    ///
    /// let timer = Timer::paused();
    /// let handle = timer.handle();
    /// let sleep = Sleep::new_in(&handle, handle.now() + Duration::from_secs(1));
    /// assert!(!sleep.is_elapsed());
    /// # Ok(())
    /// # }
    /// ```
    pub fn new_in(handle: &TimerHandle, deadline: Instant) -> Sleep {
        Sleep {
            handle: handle.clone(),
            deadline,
            entry: Entry::new(),
        }
    }

    /// A sleep whose deadline `now` the caller has just read from the clock: complete from
    /// the start, it never touches the wheel.
    pub(crate) fn new_elapsed(handle: &TimerHandle, now: Instant) -> Sleep {
        Sleep {
            handle: handle.clone(),
            deadline: now,
            entry: Entry::new_elapsed(),
        }
    }

    /// The instant at which this sleep completes.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let timer = ply_timer::Timer::paused();
    /// let handle = timer.handle();
    /// let sleep = handle.sleep(Duration::from_millis(5));
    /// assert_eq!(sleep.deadline(), handle.now() + Duration::from_millis(5));
    /// # Ok(())
    /// # }
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The timer this sleep is registered with (the standalone timer after a shutdown).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let timer = ply_timer::Timer::paused();
    /// let sleep = timer.handle().sleep(Duration::from_millis(5));
    /// assert!(sleep.handle().ptr_eq(&timer.handle()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn handle(&self) -> &TimerHandle {
        &self.handle
    }

    /// Whether the deadline has been reached: fired by the driver, or passed on the
    /// timer's clock.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let timer = ply_timer::Timer::paused();
    /// let sleep = timer.handle().sleep(Duration::from_millis(3));
    /// assert!(!sleep.is_elapsed());
    /// timer.advance(Duration::from_millis(3));
    /// assert!(sleep.is_elapsed());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_elapsed(&self) -> bool {
        self.entry.state.load().is_elapsed() || self.deadline <= self.handle.now()
    }

    /// Moves the deadline to `deadline`, whether or not the sleep has completed; poll it
    /// again to wait for the new one. If the sleep is waiting (polled, not fired), its
    /// task is woken at the new deadline.
    ///
    /// Cheap: moving a registered sleep's deadline later is one compare-and-swap, with no
    /// lock (the wheel refiles the entry when it reaches the old slot); moving it earlier
    /// takes the timer's lock once. On an unpolled or completed sleep it only stores the
    /// deadline.
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
    /// let mut sleep = Box::pin(handle.sleep(Duration::from_millis(10)));
    /// let waker = futures::task::noop_waker();
    /// let mut cx = Context::from_waker(&waker);
    /// assert!(sleep.as_mut().poll(&mut cx).is_pending());
    /// // A keep-alive: push the deadline back before it fires.
    /// sleep.as_mut().reset(handle.now() + Duration::from_millis(50));
    /// timer.advance(Duration::from_millis(10));
    /// assert!(sleep.as_mut().poll(&mut cx).is_pending());
    /// timer.advance(Duration::from_millis(40));
    /// assert!(sleep.as_mut().poll(&mut cx).is_ready());
    /// # Ok(())
    /// # }
    /// ```
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.project();
        *this.deadline = deadline;
        let inner = this.handle.inner();
        inner.counters.add_reset();
        let entry = this.entry.as_ref();
        let snapshot = entry.state.load();
        if snapshot.is_idle() {
            // Not in any wheel: the next poll files it with the new deadline.
            return;
        }
        if snapshot.is_fired() {
            // The driver is done with it (acquire): re-arm lazily, on the next poll.
            entry.state.transition_to_idle();
            return;
        }
        let tick = inner.clock.deadline_tick(deadline);
        if snapshot.is_registered() && entry.state.transition_to_later(tick) == ResetLater::Done {
            return;
        }
        // Earlier, or being fired right now: move it under the lock.
        inner.reset_locked(entry, tick);
    }

    /// Polls for the deadline without consulting the cooperative budget hook.
    pub(crate) fn poll_elapsed(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let entry = this.entry.as_ref();
        loop {
            let snapshot = entry.state.load();
            if snapshot.is_elapsed() {
                // `FIRED`, or `FIRING` (the driver has seen the deadline pass and is
                // finishing; a drop or reset will wait for it under the lock).
                return Poll::Ready(());
            }
            if snapshot.is_shutdown() {
                if snapshot.is_firing() {
                    // The dead timer's shutdown is still taking our waker: let it finish
                    // before we reuse the entry.
                    this.handle.inner().wait_settled();
                }
                entry.state.transition_to_idle();
                match crate::standalone::fallback() {
                    Some(handle) => *this.handle = handle,
                    None => return Poll::Pending,
                }
                continue;
            }
            if snapshot.is_registered() {
                entry.waker.register(cx.waker());
                // Re-check after publishing the waker: a fire in between either took our
                // waker or left its `FIRING` for us to see here.
                if entry.state.load().is_registered() {
                    return Poll::Pending;
                }
                continue;
            }
            // `IDLE`: the first poll (or the first after a reset of a completed sleep).
            // No clock read here: a deadline the wheel has already passed is reported as
            // `Due` under the lock, and any other goes into the wheel.
            // SAFETY: an `IDLE` entry is in no wheel: no other thread can reach its waker
            // slot until `register` publishes the entry under the wheel lock.
            unsafe { entry.waker.register_unshared(cx.waker()) };
            let inner = this.handle.inner();
            let tick = inner.clock.deadline_tick(*this.deadline);
            match inner.register(entry, tick) {
                Register::Filed => return Poll::Pending,
                Register::Due => return Poll::Ready(()),
                Register::Shutdown => match crate::standalone::fallback() {
                    Some(handle) => *this.handle = handle,
                    None => return Poll::Pending,
                },
            }
        }
    }

    /// The entry's state, for the loom models.
    #[cfg(all(test, loom))]
    pub(crate) fn snapshot(&self) -> crate::state::Snapshot {
        self.entry.state.load()
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.as_mut().poll_elapsed(cx) {
            // Ready: let the executor's budget decide whether we may complete now.
            Poll::Ready(()) => self.handle().inner().poll_proceed(cx),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("state", &self.entry.state)
            .field("handle", &self.handle)
            .finish()
    }
}
