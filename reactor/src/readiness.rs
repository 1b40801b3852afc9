//! The readiness word of one registration: what the kernel last said, and when.
//!
//! One `AtomicU64` per registered fd. Two parties touch it:
//!
//! - the **poller** (whoever is taking a reactor turn, inside
//!   [`Reactor::poll`](crate::Reactor::poll): a runtime's driver, or the reactor thread) ORs in the
//!   directions an event reported and stamps the word with the poller's current *tick* (a
//!   counter bumped once per wait) — [`ReadinessWord::set`];
//! - a **task** that saw readiness, tried the operation and got `WouldBlock` clears the
//!   direction again — [`ReadinessWord::clear`] — but only if the tick is still the one it
//!   saw when it read the readiness.
//!
//! The tick is what prevents the classic lost wake-up. Without it: the task reads
//! "readable" (tick 5), reads the socket and gets `WouldBlock`; meanwhile a packet
//! arrives and the poller sets "readable" again (tick 6); then the task clears
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
//! | 7 | unused |
//! | 8..=63 | the tick of the last `set`: 56 bits ([`TICK_BITS`]) |
//!
//! # Why 56 bits
//!
//! The clear compares ticks for equality, so it is fooled only if a task holds a stale
//! tick while the poller goes round the whole tick space and lands on the same value with
//! a new event for this fd. With 16 bits that took 65,536 reactor turns, a few tenths of a
//! second for a busy runtime, and a preempted task could then erase a newer event (a lost
//! wake-up). With 56 bits, at one reactor turn per microsecond (faster than any
//! `epoll_wait` loop), going round takes 2^56 µs ≈ 7.2 × 10^10 s, about 2,284 years: aliasing
//! is impossible in practice. The arithmetic is [`next_tick`] and [`Snapshot::with_cleared`],
//! both pure and table-tested.
//!
//! Only the poller sets readiness bits and the tick; only tasks clear readiness bits, and
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
/// Where the tick starts in the word.
const TICK_SHIFT: u32 = 8;
/// How many bits the tick has.
pub(crate) const TICK_BITS: u32 = u64::BITS - TICK_SHIFT;
/// The largest tick; the one after it is 0.
pub(crate) const TICK_MAX: u64 = (1 << TICK_BITS) - 1;
const TICK_MASK: u64 = TICK_MAX << TICK_SHIFT;

/// The poller's tick after `tick`: one more, wrapping to 0 after [`TICK_MAX`].
pub(crate) const fn next_tick(tick: u64) -> u64 {
    tick.wrapping_add(1) & TICK_MAX
}

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

    pub(crate) fn tick(self) -> u64 {
        (self.0 & TICK_MASK) >> TICK_SHIFT
    }

    pub(crate) fn is_shutdown(self) -> bool {
        self.0 & SHUTDOWN != 0
    }

    /// The word after the poller reports `ready` at `tick`: bits added, tick replaced.
    /// Bits of `tick` above [`TICK_BITS`] are dropped (the poller never makes such a tick:
    /// see [`next_tick`]).
    pub(crate) fn with_set(self, tick: u64, ready: u64) -> Snapshot {
        let bits = (self.0 & !TICK_MASK) | (ready & READY_MASK);
        Snapshot(bits | ((tick & TICK_MAX) << TICK_SHIFT))
    }

    /// The word after a task clears `ready` that it saw at `tick`, or `None` if the tick
    /// moved on (a newer event must survive).
    pub(crate) fn with_cleared(self, tick: u64, ready: u64) -> Option<Snapshot> {
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

    /// Reads the word. Acquire pairs with the Release of `set`, so whatever the poller
    /// did before setting (nothing today, but the order is part of the contract) is
    /// visible to the task that sees the bit.
    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Ordering::Acquire))
    }

    /// Poller side: ORs in `ready` and stamps `tick`.
    pub(crate) fn set(&self, tick: u64, ready: u64) {
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
    pub(crate) fn clear(&self, tick: u64, ready: u64) -> Clear {
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            let Some(new) = Snapshot(cur).with_cleared(tick, ready) else {
                return Clear::Stale;
            };
            // If the poller set a new tick between our load and this CAS, the CAS fails
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
                Snapshot(0).with_set(TICK_MAX, ERROR),
                0,
                READ_CLOSED,
                ERROR | READ_CLOSED,
                0,
            ),
            // Ticks past the old 16-bit field keep their high bits.
            (Snapshot(0), 0x1_0000, READABLE, READABLE, 0x1_0000),
            (Snapshot(SHUTDOWN), TICK_MAX, WRITABLE, WRITABLE, TICK_MAX),
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

    /// The tick arithmetic: the poller's next tick, and whether a clear carrying the tick a
    /// task saw matches the tick in the word now. The 16-bit tick this replaced made a
    /// tick 65,536 turns later compare equal; it must not.
    #[test]
    fn ticks_do_not_alias_across_the_old_16_bit_wrap() {
        let table: [(&str, u64, u64, bool); 8] = [
            // (case, tick the task saw, tick in the word now, clear allowed)
            ("same turn", 5, 5, true),
            ("one turn later", 5, 6, false),
            (
                "the old 16-bit alias: 65,536 turns later",
                5,
                5 + (1 << 16),
                false,
            ),
            ("a 32-bit alias", 5, 5 + (1 << 32), false),
            ("a 48-bit alias", 5, 5 + (1 << 48), false),
            ("the largest tick", TICK_MAX, TICK_MAX, true),
            ("just after the wrap", TICK_MAX, next_tick(TICK_MAX), false),
            ("the old u16::MAX is an ordinary tick", 0xffff, 0xffff, true),
        ];
        for (case, seen, now, allowed) in table {
            let word = Snapshot(0).with_set(now, READABLE);
            assert_eq!(
                word.with_cleared(seen, READABLE).is_some(),
                allowed,
                "{case}"
            );
        }
        let steps: [(u64, u64); 5] = [
            (0, 1),
            (0xffff, 0x1_0000),
            (u64::from(u32::MAX), 1 << 32),
            (TICK_MAX - 1, TICK_MAX),
            (TICK_MAX, 0),
        ];
        for (tick, want) in steps {
            assert_eq!(next_tick(tick), want, "next_tick({tick:#x})");
        }
        assert_eq!(TICK_BITS, 56);
    }

    /// The figure the docs state: at one reactor turn per microsecond, the 56-bit tick
    /// takes over 2,000 years to come round.
    #[test]
    fn the_tick_takes_millennia_to_wrap() {
        let micros_per_year = 365 * 24 * 3600 * 1_000_000_u64;
        assert_eq!((TICK_MAX + 1) / micros_per_year, 2_284);
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
