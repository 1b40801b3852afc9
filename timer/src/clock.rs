//! The timer's clock: the real monotonic clock, which can be paused (frozen at the instant
//! it was paused), moved forward while paused, and resumed from where it stands.
//!
//! # The state word
//!
//! The whole clock is one `AtomicU64`, so reading it is one `Relaxed` load:
//!
//! - bit 63 set: **paused**; bits 0..63 are the frozen time, in nanoseconds since `start`;
//! - bit 63 clear: **running**; bits 0..63 are the *skew* (the clock's time minus the real
//!   time) plus `SKEW_ZERO`, so a skew of zero (a clock that was never paused) is the word
//!   `SKEW_ZERO` and `now` is then `Instant::now()` after one compare.
//!
//! Pausing computes the clock's time from the running word and freezes it (rounded up to
//! the next 1 ms tick boundary, so whole-millisecond sleeps made while paused end exactly
//! when advanced by their duration); advancing adds
//! to the frozen time; resuming stores the skew that makes the clock continue from the
//! frozen time (`frozen - real now`, negative after a long pause, positive after an advance
//! by more than the pause lasted). So the clock never goes back: it stands still while
//! paused and moves at the real clock's rate while running. Writers change the word with a
//! compare-exchange loop, so concurrent pauses, advances and resumes each take effect once.
//!
//! The word is a std atomic even under loom (see `loom.rs`): a monotonic value that no
//! protocol orders.
//!
//! One race is left, and documented on `TimerHandle::pause`: a `now` read on another
//! thread *while* the clock is being paused may return an instant past the frozen one if
//! that read was delayed by more than the rounding up to the next tick.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use crate::slot;

/// The wheel's tick (1 ms), in nanoseconds.
const TICK_NANOS: u64 = 1_000_000;
/// Bit 63: the clock is paused.
const PAUSED: u64 = 1 << 63;
/// The running word for a skew of zero; skews are stored biased by it.
const SKEW_ZERO: u64 = 1 << 62;
/// The largest skew magnitude (and frozen time) kept, in nanoseconds: about 146 years.
const MAX_NANOS: u64 = SKEW_ZERO - 1;

/// Where a timer reads "now" from, and the origin of its ticks.
#[derive(Debug)]
pub(crate) struct Clock {
    /// Tick 0, and the origin of the frozen time.
    start: Instant,
    /// See the module's documentation.
    state: AtomicU64,
}

/// Why a clock could not be advanced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotPaused;

impl Clock {
    /// The real clock, starting now.
    pub(crate) fn real() -> Self {
        Clock {
            start: Instant::now(),
            state: AtomicU64::new(SKEW_ZERO),
        }
    }

    /// A paused clock standing at the current instant.
    pub(crate) fn paused() -> Self {
        Clock {
            start: Instant::now(),
            state: AtomicU64::new(PAUSED),
        }
    }

    /// Whether the clock is paused now.
    #[inline]
    pub(crate) fn is_paused(&self) -> bool {
        self.state.load(Relaxed) & PAUSED != 0
    }

    /// The current instant.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        let word = self.state.load(Relaxed);
        if word == SKEW_ZERO {
            // The real path: one load, one compare.
            return Instant::now();
        }
        self.now_from(word)
    }

    /// The clock's time for the state word `word`.
    fn now_from(&self, word: u64) -> Instant {
        if word & PAUSED != 0 {
            return self.at_nanos(word & !PAUSED);
        }
        let real = Instant::now();
        if word >= SKEW_ZERO {
            let ahead = Duration::from_nanos(word - SKEW_ZERO);
            real.checked_add(ahead).unwrap_or(real)
        } else {
            let behind = Duration::from_nanos(SKEW_ZERO - word);
            // Never before `start`: the clock continued from a frozen time >= start.
            real.checked_sub(behind)
                .unwrap_or(self.start)
                .max(self.start)
        }
    }

    /// `start + nanos`, saturating at the last representable instant.
    fn at_nanos(&self, nanos: u64) -> Instant {
        // `nanos <= MAX_NANOS` (146 years): representable past any `Instant` Linux
        // returns, so the fallback is never taken.
        self.start
            .checked_add(Duration::from_nanos(nanos))
            .unwrap_or(self.start)
    }

    /// Nanoseconds from `start` to `t` (0 before it), capped at `MAX_NANOS`.
    fn nanos_since_start(&self, t: Instant) -> u64 {
        let n = t.saturating_duration_since(self.start).as_nanos();
        u64::try_from(n).unwrap_or(u64::MAX).min(MAX_NANOS)
    }

    /// Applies `f` to the state word until the compare-exchange succeeds; returns what `f`
    /// returned for the word it last saw. `f` returning `None` leaves the word as it is.
    fn update<R>(&self, mut f: impl FnMut(u64) -> (Option<u64>, R)) -> R {
        let mut current = self.state.load(Relaxed);
        loop {
            let (new, result) = f(current);
            let Some(new) = new else { return result };
            match self
                .state
                .compare_exchange_weak(current, new, Relaxed, Relaxed)
            {
                Ok(_) => return result,
                Err(actual) => current = actual,
            }
        }
    }

    /// Freezes the clock at its current time rounded up to the next tick (at most 1 ms
    /// later). Returns `false` if it was paused already (then nothing changes).
    pub(crate) fn pause(&self) -> bool {
        self.update(|word| {
            if word & PAUSED != 0 {
                return (None, false);
            }
            // Rounded up to a tick boundary: a sleep of whole milliseconds made while
            // paused then ends when the clock is advanced by exactly its duration (its
            // deadline is a tick boundary, not rounded up past it).
            let frozen = self.nanos_since_start(self.now_from(word));
            let frozen = frozen.div_ceil(TICK_NANOS).saturating_mul(TICK_NANOS);
            (Some(PAUSED | frozen.min(MAX_NANOS)), true)
        })
    }

    /// Lets a paused clock run again from the time it stands at. Returns `false` if it was
    /// running already (then nothing changes).
    pub(crate) fn resume(&self) -> bool {
        self.update(|word| {
            if word & PAUSED == 0 {
                return (None, false);
            }
            let frozen = word & !PAUSED;
            let real = self.nanos_since_start(Instant::now());
            // skew = frozen - real, biased; both are at most MAX_NANOS, so this fits.
            let biased = if frozen >= real {
                SKEW_ZERO + (frozen - real).min(MAX_NANOS)
            } else {
                SKEW_ZERO - (real - frozen).min(SKEW_ZERO)
            };
            (Some(biased), true)
        })
    }

    /// Moves a paused clock forward by `by` (saturating at about 146 years after the
    /// clock's start). Returns the new time.
    pub(crate) fn advance(&self, by: Duration) -> Result<Instant, NotPaused> {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let frozen = self.update(|word| {
            if word & PAUSED == 0 {
                return (None, Err(NotPaused));
            }
            let frozen = (word & !PAUSED).saturating_add(by).min(MAX_NANOS);
            (Some(PAUSED | frozen), Ok(frozen))
        })?;
        Ok(self.at_nanos(frozen))
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_real_clock_is_the_real_clock() {
        let clock = Clock::real();
        let a = Instant::now();
        let now = clock.now();
        let b = Instant::now();
        assert!(a <= now && now <= b);
        assert!(!clock.is_paused());
    }

    #[test]
    fn pause_freezes_advance_moves_resume_continues() {
        let clock = Clock::real();
        std::thread::sleep(Duration::from_millis(2));
        let before = clock.now();
        assert!(clock.pause());
        assert!(!clock.pause(), "pausing twice changes nothing");
        let frozen = clock.now();
        assert!(frozen >= before && frozen <= before + Duration::from_millis(1));
        let since_start = frozen - clock.start;
        assert_eq!(since_start.subsec_nanos() % 1_000_000, 0, "a tick boundary");
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(clock.now(), frozen, "a paused clock stands still");
        assert_eq!(
            clock.advance(Duration::from_secs(10)),
            Ok(frozen + Duration::from_secs(10))
        );
        assert_eq!(clock.now(), frozen + Duration::from_secs(10));
        assert!(clock.resume());
        assert!(!clock.resume(), "resuming twice changes nothing");
        let after = clock.now();
        assert!(after >= frozen + Duration::from_secs(10), "no step back");
        assert!(after < frozen + Duration::from_secs(11), "no jump either");
        std::thread::sleep(Duration::from_millis(5));
        assert!(
            clock.now() >= after + Duration::from_millis(5),
            "it runs again"
        );
        assert_eq!(clock.advance(Duration::from_secs(1)), Err(NotPaused));
    }

    #[test]
    fn resume_after_a_pause_is_behind_the_real_clock_and_monotonic() {
        let clock = Clock::real();
        assert!(clock.pause());
        let frozen = clock.now();
        std::thread::sleep(Duration::from_millis(20));
        assert!(clock.resume());
        let now = clock.now();
        assert!(now >= frozen);
        assert!(
            now < Instant::now() - Duration::from_millis(15),
            "the pause is not made up"
        );
        // Pausing again freezes at the (skewed) time, not the real one.
        assert!(clock.pause());
        let refrozen = clock.now();
        assert!(refrozen >= now && refrozen < Instant::now() - Duration::from_millis(15));
    }

    #[test]
    fn advance_saturates_instead_of_wrapping() {
        let clock = Clock::paused();
        let start = clock.now();
        clock.advance(Duration::MAX).unwrap();
        let far = clock.now();
        assert!(far > start + Duration::from_secs(100 * 365 * 24 * 3600));
        clock.advance(Duration::MAX).unwrap();
        assert_eq!(clock.now(), far);
        assert!(clock.resume());
        assert!(clock.now() >= far);
    }
}
