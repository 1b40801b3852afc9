//! The readiness word of one registration: what the kernel last said, and when.
//!
//! One `AtomicU64` per registered fd. Two parties touch it:
//!
//! - the **driver** (whoever is inside [`Reactor::poll`](crate::Reactor::poll)) ORs in the
//!   directions an event reported and stamps the word with the driver's current *tick* (a
//!   counter bumped once per wait) — [`ReadinessWord::set`];
//! - a **task** that saw readiness, tried the operation and got `WouldBlock` clears the
//!   direction again — [`ReadinessWord::clear`] — but only if the tick is still the one it
//!   saw when it read the readiness.
//!
//! The tick is what prevents the classic lost wake-up. Without it: the task reads
//! "readable" (tick 5), reads the socket and gets `WouldBlock`; meanwhile a packet
//! arrives and the driver sets "readable" again (tick 6); then the task clears
//! "readable", erasing the new event, and sleeps forever since the kernel will not report
//! that edge twice. With it, the clear sees tick 6 ≠ 5 and leaves the bit alone, so the
//! task's next poll finds the fd readable and tries again.
//!
//! # Layout
//!
//! | bits | meaning |
//! |---|---|
//! | 0..=5 | readiness: [`READABLE`], [`WRITABLE`], [`READ_CLOSED`], [`WRITE_CLOSED`], [`ERROR`], [`PRIORITY`] |
//! | 6 | [`SHUTDOWN`]: the reactor is gone; every poll answers with an error |
//! | 16..=31 | the tick of the last `set` |
//!
//! Only the driver sets readiness bits and the tick; only tasks clear readiness bits, and
//! only with a matching tick; [`SHUTDOWN`] is set once, by the reactor's shutdown, and
//! never cleared.

use crate::loom::sync::atomic::{AtomicU64, Ordering};

/// A read would make progress.
pub(crate) const READABLE: u64 = 1 << 0;
/// A write would make progress.
pub(crate) const WRITABLE: u64 = 1 << 1;
/// The peer shut down writing: reads drain, then return end of stream.
pub(crate) const READ_CLOSED: u64 = 1 << 2;
/// The peer hung up or the fd is in error: writes fail.
pub(crate) const WRITE_CLOSED: u64 = 1 << 3;
/// An error is pending on the fd.
pub(crate) const ERROR: u64 = 1 << 4;
/// Out-of-band data is pending.
pub(crate) const PRIORITY: u64 = 1 << 5;
/// The reactor has shut down.
pub(crate) const SHUTDOWN: u64 = 1 << 6;

const READY_MASK: u64 = READABLE | WRITABLE | READ_CLOSED | WRITE_CLOSED | ERROR | PRIORITY;
const TICK_SHIFT: u32 = 16;
const TICK_MASK: u64 = 0xffff << TICK_SHIFT;

/// The bits that make the read direction ready: a reader should try now.
pub(crate) const READ_READY: u64 = READABLE | READ_CLOSED | ERROR;
/// The bits that make the write direction ready.
pub(crate) const WRITE_READY: u64 = WRITABLE | WRITE_CLOSED | ERROR;

/// A copy of the word at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Snapshot(u64);

impl Snapshot {
    pub(crate) fn ready(self) -> u64 {
        self.0 & READY_MASK
    }

    pub(crate) fn tick(self) -> u16 {
        ((self.0 & TICK_MASK) >> TICK_SHIFT) as u16
    }

    pub(crate) fn is_shutdown(self) -> bool {
        self.0 & SHUTDOWN != 0
    }

    /// The word after the driver reports `ready` at `tick`: bits added, tick replaced.
    pub(crate) fn with_set(self, tick: u16, ready: u64) -> Snapshot {
        let bits = (self.0 & !TICK_MASK) | (ready & READY_MASK);
        Snapshot(bits | (u64::from(tick) << TICK_SHIFT))
    }

    /// The word after a task clears `ready` that it saw at `tick`, or `None` if the tick
    /// moved on (a newer event must survive).
    pub(crate) fn with_cleared(self, tick: u16, ready: u64) -> Option<Snapshot> {
        (self.tick() == tick).then_some(Snapshot(self.0 & !(ready & READY_MASK)))
    }
}

/// What [`ReadinessWord::clear`] did.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Clear {
    /// The bits were cleared: the task may sleep until the next event.
    Cleared,
    /// A newer event arrived since the task looked; the bits stay, try again.
    Stale,
}

/// The atomic word itself.
#[derive(Debug, Default)]
pub(crate) struct ReadinessWord(AtomicU64);

impl ReadinessWord {
    pub(crate) fn new() -> ReadinessWord {
        ReadinessWord(AtomicU64::new(0))
    }

    /// Reads the word. Acquire pairs with the Release of `set`, so whatever the driver
    /// did before setting (nothing today, but the order is part of the contract) is
    /// visible to the task that sees the bit.
    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Ordering::Acquire))
    }

    /// Driver side: ORs in `ready` and stamps `tick`.
    pub(crate) fn set(&self, tick: u16, ready: u64) {
        let mut cur = self.0.load(Ordering::Relaxed);
        loop {
            let new = Snapshot(cur).with_set(tick, ready).0;
            // A CAS loop rather than fetch_or: the tick field must be replaced, not ORed.
            match self
                .0
                .compare_exchange_weak(cur, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Task side: clears `ready` if the word still carries `tick`.
    pub(crate) fn clear(&self, tick: u16, ready: u64) -> Clear {
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            let Some(new) = Snapshot(cur).with_cleared(tick, ready) else {
                return Clear::Stale;
            };
            // If the driver set a new tick between our load and this CAS, the CAS fails
            // and the retry sees the new tick: the new event is never erased.
            match self
                .0
                .compare_exchange_weak(cur, new.0, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Clear::Cleared,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Marks the registration's reactor as gone.
    pub(crate) fn shut_down(&self) {
        self.0.fetch_or(SHUTDOWN, Ordering::AcqRel);
    }
}

/// Converts a selector event into readiness bits.
pub(crate) fn from_event(e: &ply_sys::Event) -> u64 {
    let mut r = 0;
    for (on, bit) in [
        (e.is_readable(), READABLE),
        (e.is_writable(), WRITABLE),
        (e.is_read_closed(), READ_CLOSED),
        (e.is_write_closed(), WRITE_CLOSED),
        (e.is_error(), ERROR),
        (e.is_priority(), PRIORITY),
    ] {
        if on {
            r |= bit;
        }
    }
    r
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn set_adds_bits_and_replaces_the_tick() {
        let table = [
            // (before, tick, ready, after.ready, after.tick)
            (Snapshot(0), 1, READABLE, READABLE, 1),
            (
                Snapshot(0).with_set(1, READABLE),
                2,
                WRITABLE,
                READABLE | WRITABLE,
                2,
            ),
            (
                Snapshot(0).with_set(0xffff, ERROR),
                0,
                READ_CLOSED,
                ERROR | READ_CLOSED,
                0,
            ),
            (Snapshot(SHUTDOWN), 3, READABLE, READABLE, 3),
        ];
        for (before, tick, ready, want_ready, want_tick) in table {
            let after = before.with_set(tick, ready);
            assert_eq!(
                (after.ready(), after.tick()),
                (want_ready, want_tick),
                "{before:?}"
            );
            assert_eq!(after.is_shutdown(), before.is_shutdown());
        }
    }

    #[test]
    fn clear_needs_the_tick_it_saw() {
        let word = Snapshot(0).with_set(7, READABLE | WRITABLE);
        let table = [
            (7, READABLE, Some(WRITABLE)),
            (7, READABLE | WRITABLE, Some(0)),
            (6, READABLE, None),
            (8, READABLE, None),
        ];
        for (tick, ready, want) in table {
            assert_eq!(
                word.with_cleared(tick, ready).map(Snapshot::ready),
                want,
                "tick {tick}"
            );
        }
    }

    #[test]
    fn a_set_between_look_and_clear_survives() {
        let w = ReadinessWord::new();
        w.set(1, READABLE);
        let seen = w.load();
        w.set(2, READABLE); // new data arrived after the task looked
        assert_eq!(w.clear(seen.tick(), READABLE), Clear::Stale);
        assert_eq!(w.load().ready(), READABLE);
        let seen = w.load();
        assert_eq!(w.clear(seen.tick(), READABLE), Clear::Cleared);
        assert_eq!(w.load().ready(), 0);
    }
}
