//! The shared state of one registration: its readiness word and one waker slot per
//! direction.
//!
//! # Who touches what
//!
//! - The poller, inside [`Reactor::poll`](crate::Reactor::poll), calls
//!   [`IoState::set_and_take`]: it first sets readiness in the word, then takes the
//!   wakers of the directions that became ready (under the slot lock) and hands them back
//!   to be called after every lock is released.
//! - A task, in [`IoState::poll_ready`], reads the word; if its direction is not ready it
//!   stores its waker (under the slot lock) and then reads the word *again*.
//!
//! That order rules out the lost wake-up: either the poller's lock comes after the
//! task's store (the poller finds and wakes the waker), or it comes before, and then the
//! poller's `set`, made before its lock, is visible to the task's second read, which
//! happens after the task took the same lock. The loom model `loom_waker_slot` checks it.
//!
//! # Waiters per direction
//!
//! Any number of tasks may wait on one direction (several tasks accepting on one
//! listener is the common case). Each direction keeps its first waiter in a slot and the
//! others in a list; a task polled again with the same waker (`Waker::will_wake`) is not
//! added twice. A readiness event wakes *every* waiter of its direction: one of them
//! takes the data or the connection, the others find `WouldBlock` and wait again. The
//! list keeps its capacity, so waiting allocates only when more tasks than ever before
//! wait at once. A task that stops waiting (its future dropped) leaves its waker until the
//! next event, which wakes it once, harmlessly.

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

/// The waiters of one direction: the usual single waiter inline, others in a list.
#[derive(Debug, Default)]
struct Waiters {
    first: Option<Waker>,
    more: Vec<Waker>,
}

impl Waiters {
    /// Adds `waker` unless it (or one that wakes the same task) is already here.
    fn add(&mut self, waker: &Waker) {
        match &self.first {
            None => self.first = Some(waker.clone()),
            Some(w) if w.will_wake(waker) => {}
            Some(_) => {
                if !self.more.iter().any(|w| w.will_wake(waker)) {
                    self.more.push(waker.clone());
                }
            }
        }
    }

    /// Moves every waiter into `out`, keeping the list's capacity.
    fn take_all(&mut self, out: &mut Vec<Waker>) {
        out.extend(self.first.take());
        out.append(&mut self.more);
    }
}

#[derive(Debug, Default)]
struct Wakers {
    reader: Waiters,
    writer: Waiters,
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
            let waiters = match dir {
                Direction::Read => &mut wakers.reader,
                Direction::Write => &mut wakers.writer,
            };
            // The same task polling again keeps its stored waker: no clone.
            waiters.add(cx.waker());
        }
        // Read again after publishing the waker: see the module docs.
        let snap = self.readiness.load();
        if snap.ready() & dir.mask() != 0 || snap.is_shutdown() {
            return Poll::Ready(snap);
        }
        Poll::Pending
    }

    /// Poller side: sets `ready` at `tick`, then moves the wakers of the directions now
    /// ready into `out`, to be called once no lock is held.
    pub(crate) fn set_and_take(&self, tick: u64, ready: u64, out: &mut Vec<Waker>) {
        self.readiness.set(tick, ready);
        let mut wakers = self.wakers.lock();
        if ready & READ_READY != 0 {
            wakers.reader.take_all(out);
        }
        if ready & WRITE_READY != 0 {
            wakers.writer.take_all(out);
        }
    }

    /// Marks the reactor gone and moves every waker into `out`.
    pub(crate) fn shut_down(&self, out: &mut Vec<Waker>) {
        self.readiness.shut_down();
        let mut wakers = self.wakers.lock();
        wakers.reader.take_all(out);
        wakers.writer.take_all(out);
    }

    /// Takes every stored waker (the registration is going away), to be dropped by the
    /// caller outside any lock.
    pub(crate) fn clear_wakers(&self) -> Vec<Waker> {
        let mut out = Vec::new();
        let mut wakers = self.wakers.lock();
        wakers.reader.take_all(&mut out);
        wakers.writer.take_all(&mut out);
        out
    }
}
