//! A waker slot shared by one registering owner and one waking driver.
//!
//! The owner (the `Sleep`, polled from whatever thread) stores its task's waker with
//! [`AtomicWaker::register`] without taking any lock; the driver takes it out with
//! [`AtomicWaker::take`] while firing. A small state word serialises the two over the
//! slot:
//!
//! - [`WAITING`]: nobody is inside; the slot may hold a waker.
//! - [`REGISTERING`]: the owner is writing the slot. Only the owner sets this bit.
//! - [`WAKING`]: the driver is taking (or has asked for) the waker. If it arrives while the
//!   owner is registering, the owner sees the bit when it leaves, and wakes the waker it
//!   just stored itself: a wake-up is never lost between the two.
//!
//! This is the well-known three-state protocol (futures' `AtomicWaker`), written out again
//! here so that loom can check it together with the timer's own state word.

use std::sync::atomic::Ordering::{AcqRel, Acquire, Release};
use std::task::Waker;

use crate::loom::{AtomicUsize, UnsafeCell};

/// Nobody is inside the slot.
const WAITING: usize = 0;
/// The owner is writing the slot.
const REGISTERING: usize = 0b01;
/// The driver is taking the waker, or asked for it while the owner was registering.
const WAKING: usize = 0b10;

/// A slot for one `Waker`, registered lock-free by its owner and taken by a waker.
pub(crate) struct AtomicWaker {
    state: AtomicUsize,
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the `waker` cell is only accessed by whoever moved `state` from `WAITING` to
// `REGISTERING` (the owner) or to `WAKING` (the driver); the state word admits one of them
// at a time, and its acquire/release pairs order the accesses. `Waker` is Send + Sync.
unsafe impl Send for AtomicWaker {}
// SAFETY: through a shared `&AtomicWaker`, the `waker` cell is touched only by the one party
// the state word admitted (owner in `REGISTERING`, driver in `WAKING`), ordered by its
// acquire/release pairs; `Waker` is Send + Sync.
unsafe impl Sync for AtomicWaker {}

impl AtomicWaker {
    /// An empty slot.
    pub(crate) fn new() -> Self {
        AtomicWaker {
            state: AtomicUsize::new(WAITING),
            waker: UnsafeCell::new(None),
        }
    }

    /// Stores `waker` (unless the stored one already wakes the same task). If the driver
    /// takes the slot concurrently, `waker` is woken here instead.
    ///
    /// Only one thread registers at a time: the owner, through `&mut` or `Pin<&mut>`.
    pub(crate) fn register(&self, waker: &Waker) {
        match self
            .state
            .compare_exchange(WAITING, REGISTERING, Acquire, Acquire)
        {
            Ok(_) => {
                // SAFETY: `REGISTERING` is ours: the driver will not touch the cell until
                // it sees `WAITING` again.
                self.waker.with_mut(|slot| unsafe {
                    match &*slot {
                        Some(old) if old.will_wake(waker) => {}
                        _ => *slot = Some(waker.clone()),
                    }
                });
                // Leave. Release publishes the cell write to the next `take`.
                if let Err(actual) =
                    self.state
                        .compare_exchange(REGISTERING, WAITING, AcqRel, Acquire)
                {
                    // The driver came by while we were writing and left `WAKING` set for
                    // us: it took nothing, so take and wake the waker ourselves.
                    debug_assert_eq!(actual, REGISTERING | WAKING);
                    // SAFETY: we still hold `REGISTERING`; the driver's `take` gave up.
                    let waker = self.waker.with_mut(|slot| unsafe { (*slot).take() });
                    self.state.store(WAITING, Release);
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                }
            }
            Err(actual) => {
                // The driver is taking the old waker right now: it will not see ours, so
                // make sure our task runs (it will find the entry fired).
                debug_assert_eq!(actual & REGISTERING, 0, "a single registering owner");
                waker.wake_by_ref();
            }
        }
    }

    /// Stores `waker` without the protocol: for the owner of an entry that no other
    /// thread can reach yet (phase `IDLE`, in no wheel). Publishing the entry (under the
    /// wheel lock) publishes the waker with it. Saves two atomic read-modify-writes on
    /// every first poll.
    ///
    /// # Safety
    ///
    /// No other thread may access this slot until the caller publishes it through a
    /// synchronising operation (the wheel lock).
    pub(crate) unsafe fn register_unshared(&self, waker: &Waker) {
        debug_assert_eq!(self.state.load(Acquire), WAITING);
        // SAFETY: the caller guarantees exclusive access.
        self.waker.with_mut(|slot| unsafe {
            match &*slot {
                Some(old) if old.will_wake(waker) => {}
                _ => *slot = Some(waker.clone()),
            }
        });
    }

    /// Takes the stored waker, if any, for the caller to wake (outside any lock). If the
    /// owner is registering at this moment, returns `None` and leaves `WAKING` set, so the
    /// owner wakes its new waker itself.
    ///
    /// Only one thread takes at a time: the driver, holding the wheel lock.
    pub(crate) fn take(&self) -> Option<Waker> {
        match self.state.fetch_or(WAKING, AcqRel) {
            WAITING => {
                // SAFETY: we moved `WAITING` to `WAKING`: the cell is ours until we clear it.
                let waker = self.waker.with_mut(|slot| unsafe { (*slot).take() });
                // Release: an owner that registers next sees the cell emptied.
                self.state.fetch_and(!WAKING, Release);
                waker
            }
            _ => None,
        }
    }
}

impl std::fmt::Debug for AtomicWaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtomicWaker")
            .field("state", &self.state.load(Acquire))
            .finish_non_exhaustive()
    }
}
