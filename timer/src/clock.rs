//! The timer's clock: the real monotonic clock, or a paused one that only moves when told.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use crate::slot;

/// Where a timer reads "now" from, and the origin of its ticks.
#[derive(Debug)]
pub(crate) struct Clock {
    /// Tick 0.
    start: Instant,
    /// `Some` for a paused clock: nanoseconds advanced since `start`. A std atomic even
    /// under loom (see `loom.rs`): a monotonic value that no protocol orders.
    paused: Option<AtomicU64>,
}

impl Clock {
    /// The real clock, starting now.
    pub(crate) fn real() -> Self {
        Clock {
            start: Instant::now(),
            paused: None,
        }
    }

    /// A paused clock standing at the current instant.
    pub(crate) fn paused() -> Self {
        Clock {
            start: Instant::now(),
            paused: Some(AtomicU64::new(0)),
        }
    }

    /// Whether this is a paused (test) clock.
    pub(crate) fn is_paused(&self) -> bool {
        self.paused.is_some()
    }

    /// The current instant.
    pub(crate) fn now(&self) -> Instant {
        match &self.paused {
            None => Instant::now(),
            Some(offset) => self.start + Duration::from_nanos(offset.load(Relaxed)),
        }
    }

    /// Moves a paused clock forward by `by` (saturating at about 584 years).
    pub(crate) fn advance(&self, by: Duration) {
        let offset = self
            .paused
            .as_ref()
            .expect("advance on a paused clock only");
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // A CAS loop rather than fetch_add, to saturate instead of wrapping.
        let mut current = offset.load(Relaxed);
        while let Err(actual) =
            offset.compare_exchange_weak(current, current.saturating_add(by), Relaxed, Relaxed)
        {
            current = actual;
        }
    }

    /// The tick a timer due at `deadline` fires on (rounded up: never early).
    pub(crate) fn deadline_tick(&self, deadline: Instant) -> u64 {
        slot::deadline_tick(deadline.saturating_duration_since(self.start))
    }

    /// The tick that contains `now` (rounded down).
    pub(crate) fn now_tick(&self, now: Instant) -> u64 {
        slot::now_tick(now.saturating_duration_since(self.start))
    }

    /// The instant at which tick `tick` begins, if representable.
    pub(crate) fn tick_instant(&self, tick: u64) -> Option<Instant> {
        self.start.checked_add(Duration::from_millis(tick))
    }
}
