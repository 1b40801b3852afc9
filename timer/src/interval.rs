//! [`Interval`]: ticks at a fixed period, with a policy for missed ticks.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;

use crate::handle::TimerHandle;
use crate::sleep::{deadline_after, Sleep};

/// The shortest period an [`Interval`] accepts: the timer's resolution. Shorter periods
/// (including zero) are rounded up to it.
const MIN_PERIOD: Duration = Duration::from_millis(1);

/// An interval on the current timer whose first tick completes immediately.
///
/// `period` is rounded up to 1 ms, the timer's resolution (so a zero period is not a busy
/// loop).
///
/// # Examples
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use std::time::Duration;
/// futures::executor::block_on(async {
///     let mut interval = ply_timer::interval(Duration::from_millis(2));
///     let first = interval.tick().await;
///     let second = interval.tick().await;
///     assert_eq!(second - first, Duration::from_millis(2));
/// });
/// # Ok(())
/// # }
/// ```
pub fn interval(period: Duration) -> Interval {
    TimerHandle::current().interval(period)
}

/// An interval on the current timer whose first tick completes at `start`.
///
/// # Examples
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use std::time::{Duration, Instant};
/// let start = Instant::now() + Duration::from_millis(1);
/// let mut interval = ply_timer::interval_at(start, Duration::from_millis(1));
/// assert_eq!(futures::executor::block_on(interval.tick()), start);
/// # Ok(())
/// # }
/// ```
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    TimerHandle::current().interval_at(start, period)
}

/// What an [`Interval`] does when a tick is late by a whole period or more (the task was
/// busy, the machine was suspended).
///
/// # Examples
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use std::time::Duration;
/// use ply_timer::{MissedTickBehavior, Timer};
///
/// let timer = Timer::paused();
/// let mut interval = timer.handle().interval(Duration::from_millis(10));
/// interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
/// assert_eq!(interval.missed_tick_behavior(), MissedTickBehavior::Skip);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks back to back until caught up with the original schedule (the
    /// default): the number of ticks over a long run is exact.
    #[default]
    Burst,
    /// Restart the schedule from the late tick: the next tick is one period after it was
    /// actually observed. Ticks are never closer than a period.
    Delay,
    /// Drop the missed ticks: the next tick is the next one of the original schedule that
    /// is still in the future.
    Skip,
}

impl MissedTickBehavior {
    /// The deadline of the tick after the one scheduled at `scheduled`, observed at `now`.
    fn next_deadline(self, scheduled: Instant, now: Instant, period: Duration) -> Instant {
        let next = deadline_after(scheduled, period);
        if now < next {
            // On time: the next tick of the schedule has not come yet.
            return next;
        }
        match self {
            MissedTickBehavior::Burst => next,
            MissedTickBehavior::Delay => deadline_after(now, period),
            MissedTickBehavior::Skip => {
                let behind = now.saturating_duration_since(scheduled).as_nanos();
                let periods = behind / period.as_nanos() + 1;
                let ahead = periods.saturating_mul(period.as_nanos());
                let ahead = Duration::from_nanos(u64::try_from(ahead).unwrap_or(u64::MAX));
                deadline_after(scheduled, ahead)
            }
        }
    }
}

/// Ticks every `period`: a stream of instants, by [`Interval::tick`] or as a
/// `futures_core::Stream`.
///
/// Each tick yields the instant it was *scheduled* for (never later than when it
/// completes, never earlier than that instant). Late ticks follow the
/// [`MissedTickBehavior`] (default: [`Burst`](MissedTickBehavior::Burst)). Built on one
/// [`Sleep`] that is reset at every tick, so a running interval costs one wheel entry.
///
/// # Examples
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use futures::StreamExt;
/// use std::time::Duration;
///
/// let ticks: Vec<_> = futures::executor::block_on(
///     ply_timer::interval(Duration::from_millis(1)).take(3).collect(),
/// );
/// assert_eq!(ticks.len(), 3);
/// assert!(ticks.windows(2).all(|w| w[1] - w[0] >= Duration::from_millis(1)));
/// # Ok(())
/// # }
/// ```
pub struct Interval {
    sleep: Pin<Box<Sleep>>,
    period: Duration,
    missed: MissedTickBehavior,
}

impl Interval {
    pub(crate) fn new(sleep: Sleep, period: Duration) -> Self {
        Interval {
            sleep: Box::pin(sleep),
            period: period.max(MIN_PERIOD),
            missed: MissedTickBehavior::default(),
        }
    }

    /// Completes at the next tick, with the instant it was scheduled for.
    ///
    /// Cancel-safe: dropping the future before it completes loses no tick.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::{Duration, Instant};
    /// let mut interval = ply_timer::interval(Duration::from_millis(1));
    /// let first = futures::executor::block_on(interval.tick());
    /// assert!(first <= Instant::now());
    /// # Ok(())
    /// # }
    /// ```
    pub fn tick(&mut self) -> impl Future<Output = Instant> + '_ {
        std::future::poll_fn(move |cx| self.poll_tick(cx))
    }

    /// Polls for the next tick; on `Pending`, the task is woken when it comes.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::task::{Context, Poll};
    /// use std::time::Duration;
    ///
    /// let timer = ply_timer::Timer::paused();
    /// let mut interval = timer.handle().interval(Duration::from_millis(10));
    /// let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    /// assert!(interval.poll_tick(&mut cx).is_ready()); // the first tick is now
    /// assert!(interval.poll_tick(&mut cx).is_pending());
    /// timer.advance(Duration::from_millis(10));
    /// assert!(matches!(interval.poll_tick(&mut cx), Poll::Ready(_)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        let scheduled = self.sleep.deadline();
        let now = self.sleep.handle().now();
        // One clock read per tick: a tick already due (the first one, or a missed one)
        // completes now instead of waiting for the driver's next turn.
        let due = if scheduled <= now {
            self.sleep.handle().inner().poll_proceed(cx)
        } else {
            self.sleep.as_mut().poll(cx)
        };
        match due {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                let next = self.missed.next_deadline(scheduled, now, self.period);
                self.sleep.as_mut().reset(next);
                Poll::Ready(scheduled)
            }
        }
    }

    /// Restarts the schedule: the next tick is one period from now.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::task::Context;
    /// use std::time::Duration;
    ///
    /// let timer = ply_timer::Timer::paused();
    /// let mut interval = timer.handle().interval(Duration::from_millis(10));
    /// let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    /// assert!(interval.poll_tick(&mut cx).is_ready());
    /// timer.advance(Duration::from_millis(5));
    /// interval.reset(); // next tick 10 ms from now, at 15 ms
    /// timer.advance(Duration::from_millis(5));
    /// assert!(interval.poll_tick(&mut cx).is_pending());
    /// timer.advance(Duration::from_millis(5));
    /// assert!(interval.poll_tick(&mut cx).is_ready());
    /// # Ok(())
    /// # }
    /// ```
    pub fn reset(&mut self) {
        let next = deadline_after(self.sleep.handle().now(), self.period);
        self.sleep.as_mut().reset(next);
    }

    /// The period between ticks.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let timer = ply_timer::Timer::paused();
    /// assert_eq!(timer.handle().interval(Duration::from_secs(3)).period(), Duration::from_secs(3));
    /// # Ok(())
    /// # }
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The policy for late ticks.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use ply_timer::MissedTickBehavior;
    /// let timer = ply_timer::Timer::paused();
    /// let interval = timer.handle().interval(Duration::from_secs(1));
    /// assert_eq!(interval.missed_tick_behavior(), MissedTickBehavior::Burst);
    /// # Ok(())
    /// # }
    /// ```
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Sets the policy for late ticks.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use ply_timer::MissedTickBehavior;
    /// let timer = ply_timer::Timer::paused();
    /// let mut interval = timer.handle().interval(Duration::from_secs(1));
    /// interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    /// assert_eq!(interval.missed_tick_behavior(), MissedTickBehavior::Delay);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }
}

impl Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}

impl std::fmt::Debug for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interval")
            .field("next", &self.sleep.deadline())
            .field("period", &self.period)
            .field("missed", &self.missed)
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn next_deadline_table() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        use MissedTickBehavior::{Burst, Delay, Skip};
        // (policy, scheduled offset, now offset, period, expected next offset)
        let cases: &[(MissedTickBehavior, u64, u64, u64, u64)] = &[
            // On time: every policy follows the schedule.
            (Burst, 0, 0, 10, 10),
            (Delay, 0, 3, 10, 10),
            (Skip, 0, 9, 10, 10),
            // Exactly one period late.
            (Burst, 0, 10, 10, 10),
            (Delay, 0, 10, 10, 20),
            (Skip, 0, 10, 10, 20),
            // Two and a half periods late.
            (Burst, 0, 25, 10, 10),
            (Delay, 0, 25, 10, 35),
            (Skip, 0, 25, 10, 30),
            (Skip, 100, 131, 10, 140),
        ];
        for &(policy, scheduled, now, period, expected) in cases {
            let next = policy.next_deadline(t0 + ms(scheduled), t0 + ms(now), ms(period));
            assert_eq!(
                next - t0,
                ms(expected),
                "{policy:?} scheduled {scheduled} now {now} period {period}"
            );
        }
    }

    #[test]
    fn next_deadline_never_overflows() {
        let t0 = Instant::now();
        for policy in [
            MissedTickBehavior::Burst,
            MissedTickBehavior::Delay,
            MissedTickBehavior::Skip,
        ] {
            let next = policy.next_deadline(t0, t0 + Duration::from_secs(1), Duration::MAX);
            assert!(next > t0);
        }
    }
}
