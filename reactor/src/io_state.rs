//! The shared state of one registration: its readiness word and one waker slot per
//! direction.
//!
//! # Who touches what
//!
//! - The driver, inside [`Reactor::poll`](crate::Reactor::poll), calls
//!   [`IoState::set_and_take`]: it first sets readiness in the word, then takes the
//!   wakers of the directions that became ready (under the slot lock) and hands them back
//!   to be called after every lock is released.
//! - A task, in [`IoState::poll_ready`], reads the word; if its direction is not ready it
//!   stores its waker (under the slot lock) and then reads the word *again*.
//!
//! That order rules out the lost wake-up: either the driver's lock comes after the
//! task's store (the driver finds and wakes the waker), or it comes before, and then the
//! driver's `set`, made before its lock, is visible to the task's second read, which
//! happens after the task took the same lock. The loom model `loom_waker_slot` checks it.
//!
//! # Waiters per direction
//!
//! One waker per direction: the last task to poll a direction is the one woken. A second
//! task polling the same direction of the same registration replaces the first's waker.
//! Share a direction between tasks through a lock of your own; the usual split (one task
//! reads, another writes) needs nothing.

use crate::loom::sync::Mutex;
use crate::readiness::{ReadinessWord, Snapshot, READ_READY, WRITE_READY};
use std::task::{Context, Poll, Waker};

/// A direction of I/O on a registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    /// The readiness bits that make this direction ready.
    pub(crate) fn mask(self) -> u64 {
        match self {
            Direction::Read => READ_READY,
            Direction::Write => WRITE_READY,
        }
    }
}

#[derive(Debug, Default)]
struct Wakers {
    reader: Option<Waker>,
    writer: Option<Waker>,
}

/// Readiness and waiters of one registered fd.
#[derive(Debug, Default)]
pub(crate) struct IoState {
    pub(crate) readiness: ReadinessWord,
    wakers: Mutex<Wakers>,
}

impl IoState {
    pub(crate) fn new() -> IoState {
        IoState {
            readiness: ReadinessWord::new(),
            wakers: Mutex::new(Wakers::default()),
        }
    }

    /// Task side: `Ready` with the word if `dir` is ready (or the reactor is gone),
    /// otherwise stores `cx`'s waker for `dir` and returns `Pending`.
    pub(crate) fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<Snapshot> {
        let snap = self.readiness.load();
        if snap.ready() & dir.mask() != 0 || snap.is_shutdown() {
            return Poll::Ready(snap);
        }
        {
            let mut wakers = self.wakers.lock();
            let slot = match dir {
                Direction::Read => &mut wakers.reader,
                Direction::Write => &mut wakers.writer,
            };
            match slot {
                // The same task polling again: keep its waker, no clone.
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => *slot = Some(cx.waker().clone()),
            }
        }
        // Read again after publishing the waker: see the module docs.
        let snap = self.readiness.load();
        if snap.ready() & dir.mask() != 0 || snap.is_shutdown() {
            return Poll::Ready(snap);
        }
        Poll::Pending
    }

    /// Driver side: sets `ready` at `tick`, then moves the wakers of the directions now
    /// ready into `out`, to be called once no lock is held.
    pub(crate) fn set_and_take(&self, tick: u16, ready: u64, out: &mut Vec<Waker>) {
        self.readiness.set(tick, ready);
        let mut wakers = self.wakers.lock();
        if ready & READ_READY != 0 {
            out.extend(wakers.reader.take());
        }
        if ready & WRITE_READY != 0 {
            out.extend(wakers.writer.take());
        }
    }

    /// Marks the reactor gone and moves every waker into `out`.
    pub(crate) fn shut_down(&self, out: &mut Vec<Waker>) {
        self.readiness.shut_down();
        let mut wakers = self.wakers.lock();
        out.extend(wakers.reader.take());
        out.extend(wakers.writer.take());
    }

    /// Forgets any stored wakers (the registration is going away).
    pub(crate) fn clear_wakers(&self) -> (Option<Waker>, Option<Waker>) {
        let mut wakers = self.wakers.lock();
        (wakers.reader.take(), wakers.writer.take())
    }
}
