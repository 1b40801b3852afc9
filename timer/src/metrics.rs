//! Counters of what a timer does, readable at any time.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

/// A snapshot of a timer's counters, from [`TimerHandle::metrics`](crate::TimerHandle::metrics)
/// or [`Timer::metrics`](crate::Timer::metrics).
///
/// The counters are updated with relaxed atomics next to the operations they count, so a
/// snapshot taken while other threads work is approximate (each field is exact, the fields
/// may be a few operations apart).
///
/// # Examples
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use std::time::Duration;
/// use ply_timer::Timer;
///
/// let timer = Timer::paused();
/// let handle = timer.handle();
/// let sleep = handle.sleep(Duration::from_millis(5));
/// // A `Sleep` that is never polled never touches the wheel.
/// drop(sleep);
/// let m = handle.metrics();
/// assert_eq!((m.pending, m.inserted, m.cancelled), (0, 0, 0));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Timers filed in the wheel right now.
    pub pending: u64,
    /// Timers filed in the wheel so far (a first poll, or the first poll after a fired
    /// `Sleep` was reset).
    pub inserted: u64,
    /// Filed timers removed before firing: dropped, or cut short by the timer's shutdown.
    pub cancelled: u64,
    /// Timers fired because their deadline was reached.
    pub fired: u64,
    /// Calls to [`Sleep::reset`](crate::Sleep::reset).
    pub reset: u64,
}

/// The live counters behind [`Metrics`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) pending: AtomicU64,
    pub(crate) inserted: AtomicU64,
    pub(crate) cancelled: AtomicU64,
    pub(crate) fired: AtomicU64,
    pub(crate) reset: AtomicU64,
}

impl Counters {
    /// Reads every counter.
    pub(crate) fn snapshot(&self) -> Metrics {
        Metrics {
            pending: self.pending.load(Relaxed),
            inserted: self.inserted.load(Relaxed),
            cancelled: self.cancelled.load(Relaxed),
            fired: self.fired.load(Relaxed),
            reset: self.reset.load(Relaxed),
        }
    }

    /// Counts `n` timers filed.
    pub(crate) fn add_inserted(&self, n: u64) {
        self.inserted.fetch_add(n, Relaxed);
        self.pending.fetch_add(n, Relaxed);
    }

    /// Counts `n` timers fired.
    pub(crate) fn add_fired(&self, n: u64) {
        if n > 0 {
            self.fired.fetch_add(n, Relaxed);
            self.pending.fetch_sub(n, Relaxed);
        }
    }

    /// Counts `n` timers cancelled.
    pub(crate) fn add_cancelled(&self, n: u64) {
        if n > 0 {
            self.cancelled.fetch_add(n, Relaxed);
            self.pending.fetch_sub(n, Relaxed);
        }
    }

    /// Counts one reset.
    pub(crate) fn add_reset(&self) {
        self.reset.fetch_add(1, Relaxed);
    }
}
