//! The poller's wait state: one word saying whether a thread is blocked in the selector,
//! so that waking it costs a syscall only when one is.
//!
//! A thread that takes reactor turns (ply-net's driver, or the fallback reactor thread) may
//! sleep in `epoll_wait` for a long time. Another thread that has new work for it calls
//! [`Reactor::wake`](crate::Reactor::wake). Writing the selector's eventfd is a syscall
//! (about a microsecond), so the state word below records whether anyone is blocked, and
//! the write happens only then.
//!
//! | state | meaning |
//! |---|---|
//! | [`IDLE`] | no thread is in (or about to enter) the selector wait; no wake pending |
//! | [`POLLING`] | a thread is in the selector wait, or about to be |
//! | [`NOTIFIED`] | a wake arrived that no wait has consumed yet |
//!
//! Transitions: the poller swaps in `POLLING` before it waits ([`WaitState::begin`]); if
//! it swapped out `NOTIFIED`, a wake came first and it waits with a zero timeout. After
//! the wait it swaps in `IDLE` ([`WaitState::end`]). A waker swaps in `NOTIFIED`
//! ([`WaitState::unpark`]) and writes the eventfd only if it swapped out `POLLING`. Every
//! wake is therefore seen: by a wait that has not started (it finds `NOTIFIED`) or by one
//! in progress (the eventfd ends it). The loom model `loom_unpark_vs_park` (`loom_wait_state.rs`) checks it.

use crate::loom::sync::atomic::{AtomicU8, Ordering};

/// No thread waiting, no wake pending.
pub(crate) const IDLE: u8 = 0;
/// A thread is in the selector wait.
pub(crate) const POLLING: u8 = 1;
/// A wake is pending.
pub(crate) const NOTIFIED: u8 = 2;

/// What the poller should do with its timeout, from [`WaitState::begin`].
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Begin {
    /// Wait with the caller's timeout.
    Block,
    /// A wake is pending: wait with a zero timeout (still collect events).
    DontBlock,
}

/// What [`WaitState::unpark`] found.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unpark {
    /// A thread is blocked in the selector: the caller must write the wake fd.
    WakeSelector,
    /// No thread is blocked; the next wait will not block. Nothing more to do.
    Recorded,
}

#[derive(Debug, Default)]
pub(crate) struct WaitState(AtomicU8);

impl WaitState {
    pub(crate) fn new() -> WaitState {
        WaitState(AtomicU8::new(IDLE))
    }

    /// Poller, before the selector wait.
    pub(crate) fn begin(&self) -> Begin {
        // AcqRel: acquire whatever the waker published before its wake (new tasks), and
        // release POLLING so a waker that sees it knows to write the eventfd.
        match self.0.swap(POLLING, Ordering::AcqRel) {
            NOTIFIED => Begin::DontBlock,
            _ => Begin::Block,
        }
    }

    /// Poller, after the selector wait.
    pub(crate) fn end(&self) {
        // A NOTIFIED swapped out here came during the wait, from a waker that saw POLLING
        // and wrote the eventfd: the wait has ended (or the next one will return at once).
        self.0.swap(IDLE, Ordering::AcqRel);
    }

    /// Any thread: whether a poller is in the selector wait now (a hint: it may return at
    /// once after).
    pub(crate) fn is_polling(&self) -> bool {
        self.0.load(Ordering::SeqCst) == POLLING
    }

    /// Any thread: asks the poller to return from (or not enter) its wait.
    pub(crate) fn unpark(&self) -> Unpark {
        match self.0.swap(NOTIFIED, Ordering::AcqRel) {
            POLLING => Unpark::WakeSelector,
            _ => Unpark::Recorded,
        }
    }
}
