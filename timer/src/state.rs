//! The state word of a timer entry: one `AtomicU64` shared by the entry's owner (the
//! `Sleep`) and the driver.
//!
//! # Layout
//!
//! ```text
//!  63 62 61                                                      0
//! +-----+---------------------------------------------------------+
//! |phase| deadline tick (REGISTERED) / cause (FIRING, FIRED)      |
//! +-----+---------------------------------------------------------+
//! ```
//!
//! # Who may touch what
//!
//! - [`IDLE`]: the entry is in no wheel. Only the owner touches the entry; it moves to
//!   `REGISTERED` under the wheel lock when it files the entry.
//! - [`REGISTERED`]: the entry is linked into a wheel slot (possibly the due slot);
//!   its links belong to the wheel lock. The low bits hold the *true* deadline tick, which
//!   is never earlier than the tick the wheel filed the entry under. The owner may raise
//!   it without the lock ([`State::transition_to_later`]): the driver finds the entry at
//!   its old slot and refiles it. Lowering it needs the lock.
//! - [`FIRING`]: the driver, holding the lock, has unlinked the entry and claimed it; it
//!   is taking the waker. The owner treats it as complete but must take the lock before
//!   touching or freeing the entry, which waits for the driver to finish.
//! - [`FIRED`]: the driver (or a shutdown) is done with the entry and will never touch it
//!   again: the owner may free or reuse it without the lock. The low bits say why:
//!   [`CAUSE_ELAPSED`] or [`CAUSE_SHUTDOWN`].
//!
//! Every store that ends the driver's use of an entry (`FIRED`) is a release, and every
//! lock-free load by the owner is an acquire, so an owner that sees `FIRED` also sees the
//! driver's last access to the entry finished.

use std::sync::atomic::Ordering::{AcqRel, Acquire, Release};

use crate::loom::AtomicU64;
use crate::slot::MAX_TICK;

/// Mask of the phase bits.
pub(crate) const PHASE_MASK: u64 = 0b11 << 62;
/// Mask of the low bits: the deadline tick or the firing cause.
pub(crate) const VALUE_MASK: u64 = !PHASE_MASK;
/// Phase: in no wheel; owned by the `Sleep` alone.
pub(crate) const IDLE: u64 = 0b00 << 62;
/// Phase: linked into a wheel; value is the true deadline tick.
pub(crate) const REGISTERED: u64 = 0b01 << 62;
/// Phase: claimed by the driver under the lock, waker being taken.
pub(crate) const FIRING: u64 = 0b10 << 62;
/// Phase: done; the driver never touches the entry again.
pub(crate) const FIRED: u64 = 0b11 << 62;
/// Cause (value bits in `FIRING`/`FIRED`): the deadline was reached.
pub(crate) const CAUSE_ELAPSED: u64 = 0;
/// Cause (value bits in `FIRING`/`FIRED`): the timer shut down before the deadline.
pub(crate) const CAUSE_SHUTDOWN: u64 = 1;

const _: () = assert!(MAX_TICK == VALUE_MASK, "a tick fills the value bits");

/// A copy of the state word at one instant.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(pub(crate) u64);

impl Snapshot {
    /// The phase bits.
    pub(crate) fn phase(self) -> u64 {
        self.0 & PHASE_MASK
    }

    /// The deadline tick (meaningful in `REGISTERED`).
    pub(crate) fn tick(self) -> u64 {
        self.0 & VALUE_MASK
    }

    /// In no wheel.
    pub(crate) fn is_idle(self) -> bool {
        self.phase() == IDLE
    }

    /// Linked into a wheel.
    pub(crate) fn is_registered(self) -> bool {
        self.phase() == REGISTERED
    }

    /// Claimed by the driver, not yet released.
    pub(crate) fn is_firing(self) -> bool {
        self.phase() == FIRING
    }

    /// Released by the driver for good.
    pub(crate) fn is_fired(self) -> bool {
        self.phase() == FIRED
    }

    /// Firing or fired because the timer shut down (not because the deadline passed).
    pub(crate) fn is_shutdown(self) -> bool {
        matches!(self.phase(), FIRING | FIRED) && self.0 & VALUE_MASK == CAUSE_SHUTDOWN
    }

    /// Firing or fired because the deadline passed.
    pub(crate) fn is_elapsed(self) -> bool {
        matches!(self.phase(), FIRING | FIRED) && self.0 & VALUE_MASK == CAUSE_ELAPSED
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let phase = match self.phase() {
            IDLE => "IDLE",
            REGISTERED => "REGISTERED",
            FIRING => "FIRING",
            _ => "FIRED",
        };
        f.debug_struct("Snapshot")
            .field("phase", &phase)
            .field("value", &self.tick())
            .finish()
    }
}

/// What the driver should do with an entry it found due in a slot.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FireDecision {
    /// The entry is now `FIRING`: take its waker, then `transition_to_fired`.
    Fire,
    /// The owner moved the deadline later (to this tick) since the entry was filed:
    /// refile it; it stays `REGISTERED`.
    Refile(u64),
}

/// Result of the owner's lock-free attempt to move a deadline later.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResetLater {
    /// The new deadline is stored; the driver will refile the entry when it meets it.
    Done,
    /// Not possible without the lock (not registered, or the new deadline is earlier
    /// than the stored one): take the lock and move the entry.
    NeedsLock,
}

/// The atomic state word of one entry.
pub(crate) struct State {
    word: AtomicU64,
}

impl State {
    /// A fresh, idle state.
    pub(crate) fn new() -> Self {
        State {
            word: AtomicU64::new(IDLE),
        }
    }

    /// A state that is already `FIRED` (elapsed): for a sleep known to be due when it is
    /// created, which then never touches the wheel.
    pub(crate) fn new_elapsed() -> Self {
        State {
            word: AtomicU64::new(FIRED | CAUSE_ELAPSED),
        }
    }

    /// Loads the state (acquire: pairs with the driver's release of `FIRED`).
    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.word.load(Acquire))
    }

    /// `IDLE` to `REGISTERED(tick)`, or `REGISTERED` to `REGISTERED(tick)` when the owner
    /// refiles an entry under the lock. Caller: the owner, holding the wheel lock.
    pub(crate) fn transition_to_registered(&self, tick: u64) {
        debug_assert!(tick <= MAX_TICK);
        debug_assert!(
            !self.load().is_firing(),
            "FIRING is never visible under the lock"
        );
        self.word.store(REGISTERED | tick, Release);
    }

    /// `FIRED` to `IDLE` (the owner re-arms a fired entry), or `REGISTERED` to `IDLE`
    /// (the owner unlinked it under the lock). Caller: the owner, with the driver done
    /// with the entry (it saw `FIRED`, or holds the lock).
    pub(crate) fn transition_to_idle(&self) {
        self.word.store(IDLE, Release);
    }

    /// The driver, holding the lock, met this `REGISTERED` entry at tick `elapsed`: claim
    /// it if its true deadline has passed, or report the later deadline to refile it at.
    pub(crate) fn transition_to_firing(&self, elapsed: u64) -> FireDecision {
        let mut current = self.word.load(Acquire);
        loop {
            let snapshot = Snapshot(current);
            debug_assert!(snapshot.is_registered(), "{snapshot:?} in a wheel list");
            if snapshot.tick() > elapsed {
                return FireDecision::Refile(snapshot.tick());
            }
            // CAS, not store: the owner may be moving the deadline later right now
            // (`transition_to_later`); exactly one of the two wins.
            match self
                .word
                .compare_exchange_weak(current, FIRING | CAUSE_ELAPSED, AcqRel, Acquire)
            {
                Ok(_) => return FireDecision::Fire,
                Err(actual) => current = actual,
            }
        }
    }

    /// The timer is shutting down: claim this `REGISTERED` entry whatever its deadline.
    /// Caller: the driver, holding the lock.
    pub(crate) fn transition_to_firing_shutdown(&self) {
        // A swap, not a store: it must not lose to a concurrent `transition_to_later`
        // (which only succeeds on a `REGISTERED` word, so after this swap it fails).
        let previous = Snapshot(self.word.swap(FIRING | CAUSE_SHUTDOWN, AcqRel));
        debug_assert!(previous.is_registered(), "{previous:?} in a wheel list");
    }

    /// The owner, holding the lock, fires its own entry (reset to a past deadline):
    /// `REGISTERED` to `FIRING`. No race: the driver needs the lock too.
    pub(crate) fn transition_to_firing_by_owner(&self) {
        self.word.store(FIRING | CAUSE_ELAPSED, Release);
    }

    /// `FIRING` to `FIRED`, keeping the cause. The last access of the driver to this
    /// entry: release, so an owner that acquires `FIRED` may free the entry.
    pub(crate) fn transition_to_fired(&self) {
        let cause = self.word.load(Acquire) & VALUE_MASK;
        self.word.store(FIRED | cause, Release);
    }

    /// The owner moves a `REGISTERED` deadline later without the lock.
    pub(crate) fn transition_to_later(&self, tick: u64) -> ResetLater {
        let mut current = self.word.load(Acquire);
        loop {
            let snapshot = Snapshot(current);
            // Earlier than the stored deadline: the entry may be filed after `tick`,
            // so only a locked move is correct. Not registered: nothing to extend.
            if !snapshot.is_registered() || tick < snapshot.tick() {
                return ResetLater::NeedsLock;
            }
            // CAS: the driver may claim the entry (`REGISTERED` to `FIRING`) right now.
            match self
                .word
                .compare_exchange_weak(current, REGISTERED | tick, AcqRel, Acquire)
            {
                Ok(_) => return ResetLater::Done,
                Err(actual) => current = actual,
            }
        }
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.load().fmt(f)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn snapshot_predicates_table() {
        // (word, idle, registered, firing, fired, elapsed, shutdown, tick)
        type Row = (u64, bool, bool, bool, bool, bool, bool, u64);
        let cases: &[Row] = &[
            (IDLE, true, false, false, false, false, false, 0),
            (REGISTERED | 42, false, true, false, false, false, false, 42),
            (
                REGISTERED | MAX_TICK,
                false,
                true,
                false,
                false,
                false,
                false,
                MAX_TICK,
            ),
            (
                FIRING | CAUSE_ELAPSED,
                false,
                false,
                true,
                false,
                true,
                false,
                0,
            ),
            (
                FIRING | CAUSE_SHUTDOWN,
                false,
                false,
                true,
                false,
                false,
                true,
                1,
            ),
            (
                FIRED | CAUSE_ELAPSED,
                false,
                false,
                false,
                true,
                true,
                false,
                0,
            ),
            (
                FIRED | CAUSE_SHUTDOWN,
                false,
                false,
                false,
                true,
                false,
                true,
                1,
            ),
        ];
        for &(word, idle, registered, firing, fired, elapsed, shutdown, tick) in cases {
            let s = Snapshot(word);
            assert_eq!(s.is_idle(), idle, "{s:?}");
            assert_eq!(s.is_registered(), registered, "{s:?}");
            assert_eq!(s.is_firing(), firing, "{s:?}");
            assert_eq!(s.is_fired(), fired, "{s:?}");
            assert_eq!(s.is_elapsed(), elapsed, "{s:?}");
            assert_eq!(s.is_shutdown(), shutdown, "{s:?}");
            assert_eq!(s.tick(), tick, "{s:?}");
        }
    }

    #[test]
    fn transition_to_firing_table() {
        // (registered tick, elapsed, decision)
        let cases: &[(u64, u64, FireDecision)] = &[
            (5, 5, FireDecision::Fire),
            (5, 9, FireDecision::Fire),
            (6, 5, FireDecision::Refile(6)),
            (MAX_TICK, 0, FireDecision::Refile(MAX_TICK)),
        ];
        for &(tick, elapsed, decision) in cases {
            let state = State::new();
            state.transition_to_registered(tick);
            assert_eq!(
                state.transition_to_firing(elapsed),
                decision,
                "{tick} at {elapsed}"
            );
            let after = state.load();
            match decision {
                FireDecision::Fire => {
                    assert!(after.is_firing() && after.is_elapsed());
                    state.transition_to_fired();
                    assert!(state.load().is_fired() && state.load().is_elapsed());
                }
                FireDecision::Refile(_) => assert_eq!(after, Snapshot(REGISTERED | tick)),
            }
        }
    }

    #[test]
    fn transition_to_later_table() {
        // (initial word, new tick, result, word after)
        let cases: &[(u64, u64, ResetLater, u64)] = &[
            (REGISTERED | 10, 10, ResetLater::Done, REGISTERED | 10),
            (REGISTERED | 10, 20, ResetLater::Done, REGISTERED | 20),
            (REGISTERED | 10, 9, ResetLater::NeedsLock, REGISTERED | 10),
            (IDLE, 20, ResetLater::NeedsLock, IDLE),
            (FIRING, 20, ResetLater::NeedsLock, FIRING),
            (FIRED, 20, ResetLater::NeedsLock, FIRED),
            (
                FIRED | CAUSE_SHUTDOWN,
                20,
                ResetLater::NeedsLock,
                FIRED | CAUSE_SHUTDOWN,
            ),
        ];
        for &(initial, tick, result, after) in cases {
            let state = State {
                word: AtomicU64::new(initial),
            };
            assert_eq!(
                state.transition_to_later(tick),
                result,
                "{initial:#x} to {tick}"
            );
            assert_eq!(state.load(), Snapshot(after));
        }
    }

    #[test]
    fn shutdown_keeps_its_cause() {
        let state = State::new();
        state.transition_to_registered(7);
        state.transition_to_firing_shutdown();
        assert!(state.load().is_firing() && state.load().is_shutdown());
        state.transition_to_fired();
        assert!(state.load().is_fired() && state.load().is_shutdown());
        state.transition_to_idle();
        assert!(state.load().is_idle());
    }
}
