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
    /// Wakers that panicked when the timer woke them (firing, shutdown, reset). Each
    /// panic was caught and the timer carried on; see [`Timer`](crate::Timer)'s "Wakers
    /// that panic".
    pub waker_panics: u64,
}

/// The live counters behind [`Metrics`].
///
/// `inserted`, `cancelled` and `fired` change only under the wheel lock, so they are
/// bumped with a relaxed load and store (one writer at a time, no read-modify-write
/// instruction on the hot path) and read consistently under that lock. `reset` is bumped
/// by lock-free resets from any thread, with `fetch_add`, and so is `waker_panics`
/// (wakers are called with the lock released).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    inserted: AtomicU64,
    cancelled: AtomicU64,
    fired: AtomicU64,
    reset: AtomicU64,
    waker_panics: AtomicU64,
}

/// Adds `n` to a counter that only the wheel lock's holder writes.
fn bump(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed) + n, Relaxed);
}

impl Counters {
    /// Reads every counter. Call it holding the wheel lock for a consistent snapshot.
    pub(crate) fn snapshot(&self) -> Metrics {
        let inserted = self.inserted.load(Relaxed);
        let cancelled = self.cancelled.load(Relaxed);
        let fired = self.fired.load(Relaxed);
        Metrics {
            pending: inserted.saturating_sub(cancelled + fired),
            inserted,
            cancelled,
            fired,
            reset: self.reset.load(Relaxed),
            waker_panics: self.waker_panics.load(Relaxed),
        }
    }

    /// Counts `n` timers filed. Caller holds the wheel lock.
    pub(crate) fn add_inserted(&self, n: u64) {
        bump(&self.inserted, n);
    }

    /// Counts `n` timers fired. Caller holds the wheel lock.
    pub(crate) fn add_fired(&self, n: u64) {
        bump(&self.fired, n);
    }

    /// Counts `n` timers cancelled. Caller holds the wheel lock.
    pub(crate) fn add_cancelled(&self, n: u64) {
        bump(&self.cancelled, n);
    }

    /// Counts one reset (any thread, no lock).
    pub(crate) fn add_reset(&self) {
        self.reset.fetch_add(1, Relaxed);
    }

    /// Counts one waker that panicked (any thread, no lock).
    #[cfg_attr(
        loom,
        expect(
            dead_code,
            reason = "the loom models call no panicking waker (wake.rs)"
        )
    )]
    pub(crate) fn add_waker_panic(&self) {
        self.waker_panics.fetch_add(1, Relaxed);
    }
}
