//! The state a [`Timer`](crate::Timer) shares with its handles: the wheel behind its
//! lock, the clock, the callbacks it was built with, and the operations `Sleep`, the
//! handles and the driver perform on them (register, cancel, reset, fire, shut down).

use crate::clock::Clock;
use crate::coop::Budget;
use crate::entry::Entry;
use crate::loom::{Mutex, MutexGuard};
use crate::metrics::{Counters, Metrics};
use crate::state::FireDecision;
use crate::timer::Unpark;
use crate::wake::{self, WakerPanicHook};
use crate::wheel::{Insert, Wheel};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// What happened when a `Sleep` asked to be filed.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Register {
    /// Filed in the wheel.
    Filed,
    /// Already due: not filed, the sleep is complete.
    Due,
    /// The timer has shut down: not filed.
    Shutdown,
}

/// The state shared by a [`Timer`] and its handles.
pub(crate) struct Inner {
    wheel: Mutex<Wheel>,
    pub(crate) clock: Clock,
    unpark: Option<Unpark>,
    /// The executor's budget, spent by every ready sleep; `None`: never throttle.
    budget: Option<Budget>,
    /// Told of every waker panic caught (after it is counted); `None`: only counted.
    on_waker_panic: Option<WakerPanicHook>,
    pub(crate) counters: Counters,
}

/// Wakers collected under the lock and called after it is released.
struct WakeBatch {
    wakers: [Option<Waker>; WakeBatch::CAPACITY],
    len: usize,
}

impl WakeBatch {
    /// Wakers called per lock release: bounds both the stack used and how long the lock
    /// is held between releases.
    const CAPACITY: usize = 32;

    fn new() -> Self {
        WakeBatch {
            wakers: std::array::from_fn(|_| None),
            len: 0,
        }
    }

    fn push(&mut self, waker: Waker) {
        self.wakers[self.len] = Some(waker);
        self.len += 1;
    }

    fn is_full(&self) -> bool {
        self.len == Self::CAPACITY
    }

    /// Wakes every waker of the batch, each on its own: one that panics is caught and
    /// counted, and the ones after it are still woken.
    fn wake_all(&mut self, counters: &Counters, hook: Option<WakerPanicHook>) {
        for slot in &mut self.wakers[..self.len] {
            if let Some(waker) = slot.take() {
                wake::wake(waker, counters, hook);
            }
        }
        self.len = 0;
    }
}

impl Inner {
    pub(crate) fn new(
        clock: Clock,
        unpark: Option<Unpark>,
        budget: Option<Budget>,
        on_waker_panic: Option<WakerPanicHook>,
    ) -> Self {
        Inner {
            wheel: Mutex::new(Wheel::new()),
            clock,
            unpark,
            budget,
            on_waker_panic,
            counters: Counters::default(),
        }
    }

    /// Spends one unit of this timer's cooperative budget, if it was given one.
    #[inline]
    pub(crate) fn poll_proceed(&self, cx: &mut Context<'_>) -> Poll<()> {
        match self.budget {
            Some(budget) => budget(cx),
            None => Poll::Ready(()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Wheel> {
        self.wheel.lock()
    }

    /// Number of entries linked into the wheel (for the loom models).
    #[cfg(all(test, loom))]
    pub(crate) fn wheel_len(&self) -> usize {
        self.lock().len()
    }

    /// A consistent snapshot of the counters.
    pub(crate) fn metrics(&self) -> Metrics {
        let _wheel = self.lock();
        self.counters.snapshot()
    }

    /// Whether the timer has shut down.
    pub(crate) fn is_shutdown(&self) -> bool {
        self.lock().is_shutdown
    }

    /// Files `entry` (in phase `IDLE`, waker already stored) under `tick`.
    pub(crate) fn register(&self, entry: Pin<&Entry>, tick: u64) -> Register {
        let ptr = NonNull::from(entry.get_ref());
        let mut wheel = self.lock();
        if wheel.is_shutdown {
            return Register::Shutdown;
        }
        if tick <= wheel.elapsed() {
            return Register::Due;
        }
        // Set the state before linking: an entry in a wheel list is always `REGISTERED`.
        entry.state.transition_to_registered(tick);
        // SAFETY: the entry is pinned inside its `Sleep`, whose drop unlinks it under this
        // lock; it was `IDLE`, hence in no list.
        let filed = unsafe { wheel.insert(ptr, tick) };
        debug_assert_eq!(filed, Insert::Filed);
        self.counters.add_inserted(1);
        let unpark = self.note_deadline(&mut wheel, tick);
        drop(wheel);
        if unpark {
            self.unpark_driver();
        }
        Register::Filed
    }

    /// Records that a deadline at `tick` is filed; returns whether the driver, sleeping
    /// toward a later tick, must be unparked.
    fn note_deadline(&self, wheel: &mut Wheel, tick: u64) -> bool {
        if tick < wheel.driver_wake_at {
            // Lower the mark so that a burst of ever-later registrations unparks once.
            wheel.driver_wake_at = tick;
            self.unpark.is_some()
        } else {
            false
        }
    }

    pub(crate) fn unpark_driver(&self) {
        if let Some(unpark) = &self.unpark {
            unpark();
        }
    }

    /// Unlinks `entry` if it is still filed (the `Sleep` is being dropped).
    pub(crate) fn cancel(&self, entry: Pin<&Entry>) {
        let snapshot = entry.state.load();
        // `IDLE`: never filed. `FIRED`: the driver is done with it (acquire). Neither
        // needs the lock: dropping a fired or never-polled `Sleep` is lock-free.
        if snapshot.is_idle() || snapshot.is_fired() {
            return;
        }
        let mut wheel = self.lock();
        // Under the lock the state is settled: `REGISTERED` (still linked) or `FIRED`.
        if entry.state.load().is_registered() {
            // SAFETY: `REGISTERED` entries are linked into this wheel; we hold its lock.
            unsafe { wheel.remove(NonNull::from(entry.get_ref())) };
            entry.state.transition_to_idle();
            self.counters.add_cancelled(1);
        }
    }

    /// Moves `entry`'s deadline to `tick` under the lock: for resets to an earlier
    /// deadline, or when the entry is being fired right now.
    pub(crate) fn reset_locked(&self, entry: Pin<&Entry>, tick: u64) {
        let ptr = NonNull::from(entry.get_ref());
        let mut wheel = self.lock();
        let snapshot = entry.state.load();
        if snapshot.is_fired() {
            // Fired while we came for the lock: re-arm lazily, on the next poll.
            entry.state.transition_to_idle();
            return;
        }
        if !snapshot.is_registered() {
            return;
        }
        // SAFETY: `REGISTERED`: linked into this wheel, whose lock we hold.
        unsafe { wheel.remove(ptr) };
        if !wheel.is_shutdown {
            entry.state.transition_to_registered(tick);
            // SAFETY: live and pinned (as in `register`), and unlinked just above.
            if unsafe { wheel.insert(ptr, tick) } == Insert::Filed {
                let unpark = self.note_deadline(&mut wheel, tick);
                drop(wheel);
                if unpark {
                    self.unpark_driver();
                }
                return;
            }
            // Reset into the past: the owner fires its own entry.
            entry.state.transition_to_firing_by_owner();
            self.counters.add_fired(1);
        } else {
            entry.state.transition_to_firing_shutdown();
            self.counters.add_cancelled(1);
        }
        let waker = entry.waker.take();
        entry.state.transition_to_fired();
        drop(wheel);
        if let Some(waker) = waker {
            wake::wake(waker, &self.counters, self.on_waker_panic);
        }
    }

    /// Waits until no driver is inside the lock (so a `FIRING` entry has become `FIRED`).
    pub(crate) fn wait_settled(&self) {
        drop(self.lock());
    }

    /// See [`Timer::next_deadline`].
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let mut wheel = self.lock();
        match wheel.next_expiration() {
            Some(expiration) => {
                wheel.driver_wake_at = expiration.tick;
                // Unrepresentable instants (a clock advanced by centuries) read as "no
                // deadline": parking forever is then as good as parking until it.
                self.clock.tick_instant(expiration.tick)
            }
            None => {
                wheel.driver_wake_at = u64::MAX;
                None
            }
        }
    }

    /// See [`Timer::fire_due`].
    pub(crate) fn fire_due(&self, now: Instant) -> usize {
        let now = now.min(self.clock.now());
        let now_tick = self.clock.now_tick(now);
        let mut batch = WakeBatch::new();
        let mut fired = 0;
        // Fired but not yet added to the counters (they are flushed before each unlock).
        let mut unreported = 0;
        let mut wheel = self.lock();
        loop {
            // First fire the due slot (one tick's worth: in deadline order).
            while let Some(ptr) = wheel.pop_due() {
                // SAFETY: it was linked into this wheel, so its owner has not freed it (its
                // drop would take this lock to unlink it first).
                let entry = unsafe { ptr.as_ref() };
                match entry.state.transition_to_firing(wheel.elapsed()) {
                    FireDecision::Fire => {
                        // `FIRING` is stored before the take: an owner registering a new
                        // waker after this take sees `FIRING` and completes by itself.
                        if let Some(waker) = entry.waker.take() {
                            batch.push(waker);
                        }
                        // Our last access to the entry.
                        entry.state.transition_to_fired();
                        fired += 1;
                        unreported += 1;
                        if batch.is_full() {
                            self.counters.add_fired(std::mem::take(&mut unreported));
                            drop(wheel);
                            batch.wake_all(&self.counters, self.on_waker_panic);
                            wheel = self.lock();
                        }
                    }
                    FireDecision::Refile(tick) => {
                        // SAFETY: live (above), pinned, unlinked by `pop_due`.
                        let filed = unsafe { wheel.insert(ptr, tick) };
                        debug_assert_eq!(filed, Insert::Filed, "a later deadline is ahead");
                    }
                }
            }
            match wheel.next_expiration() {
                Some(expiration) if expiration.tick <= now_tick => wheel.process(expiration),
                _ => break,
            }
        }
        wheel.set_elapsed(now_tick);
        self.counters.add_fired(unreported);
        drop(wheel);
        batch.wake_all(&self.counters, self.on_waker_panic);
        fired
    }

    /// Shuts the timer down: no entry is filed from now on, and every filed entry is
    /// woken with the shutdown cause (its `Sleep` then moves to the global timer).
    pub(crate) fn shutdown(&self) {
        let mut batch = WakeBatch::new();
        let mut cancelled = 0;
        let mut wheel = self.lock();
        wheel.is_shutdown = true;
        while let Some(ptr) = wheel.pop_any() {
            // SAFETY: as in `fire_due`.
            let entry = unsafe { ptr.as_ref() };
            entry.state.transition_to_firing_shutdown();
            if let Some(waker) = entry.waker.take() {
                batch.push(waker);
            }
            entry.state.transition_to_fired();
            cancelled += 1;
            if batch.is_full() {
                self.counters.add_cancelled(std::mem::take(&mut cancelled));
                drop(wheel);
                batch.wake_all(&self.counters, self.on_waker_panic);
                wheel = self.lock();
            }
        }
        self.counters.add_cancelled(cancelled);
        drop(wheel);
        batch.wake_all(&self.counters, self.on_waker_panic);
    }
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("clock", &self.clock)
            .field("unpark", &self.unpark.is_some())
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}
