//! A timer entry: the intrusive node a `Sleep` carries inline, so that registering a
//! timer allocates nothing.
//!
//! The node lives inside the pinned `Sleep`. While it is linked into a wheel, the wheel
//! holds raw pointers to it; `Sleep`'s drop unlinks it (under the wheel lock) before the
//! memory goes away, and `Pin`'s drop guarantee means the memory cannot be reused without
//! that drop running. This is the classic intrusive-timer layout (Linux's `timer_list`,
//! tokio's `TimerEntry`).

use std::marker::PhantomPinned;
use std::ptr::NonNull;

use crate::atomic_waker::AtomicWaker;
use crate::loom::UnsafeCell;
use crate::state::State;

/// One timer's node: its state word, its waker slot and its list links.
pub(crate) struct Entry {
    /// Phase and deadline; see `state.rs`.
    pub(crate) state: State,
    /// The task to wake when the entry fires.
    pub(crate) waker: AtomicWaker,
    /// Links of the wheel list this entry is in; guarded by that wheel's lock.
    links: UnsafeCell<Links>,
    /// The wheel points at this node: it must not move while linked.
    _pinned: PhantomPinned,
}

// SAFETY: `state` and `waker` are synchronised by their own atomics; `links` is only read
// or written by whoever holds the lock of the wheel the entry is (being) linked into, as
// every accessor's safety contract states.
unsafe impl Send for Entry {}
// SAFETY: a shared `&Entry` reaches `state` and `waker` only through their atomics, and
// `links` only under the wheel lock (every accessor's safety contract), so sharing an entry
// between threads cannot race.
unsafe impl Sync for Entry {}

/// Where an entry is linked: which list of which wheel holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Location {
    /// In no list.
    Nowhere,
    /// In slot `slot` of level `level`.
    Slot {
        /// The level.
        level: u8,
        /// The slot within the level.
        slot: u8,
    },
}

/// The intrusive links of an entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Links {
    pub(crate) prev: Option<NonNull<Entry>>,
    pub(crate) next: Option<NonNull<Entry>>,
    pub(crate) location: Location,
}

impl Entry {
    /// A fresh, idle, unlinked entry.
    pub(crate) fn new() -> Self {
        Entry::with_state(State::new())
    }

    /// An unlinked entry that is already complete (its deadline was known to have passed
    /// when it was created).
    pub(crate) fn new_elapsed() -> Self {
        Entry::with_state(State::new_elapsed())
    }

    fn with_state(state: State) -> Self {
        Entry {
            state,
            waker: AtomicWaker::new(),
            links: UnsafeCell::new(Links {
                prev: None,
                next: None,
                location: Location::Nowhere,
            }),
            _pinned: PhantomPinned,
        }
    }

    /// Reads the links.
    ///
    /// # Safety
    ///
    /// The caller holds the lock of the wheel this entry is linked into (or, for an entry
    /// in no wheel, is its owner with the entry in phase `IDLE`).
    pub(crate) unsafe fn links(&self) -> Links {
        // SAFETY: the caller's lock excludes every writer of `links`.
        self.links.with(|links| unsafe { *links })
    }

    /// Updates the links.
    ///
    /// # Safety
    ///
    /// As for [`Entry::links`].
    pub(crate) unsafe fn update_links(&self, f: impl FnOnce(&mut Links)) {
        // SAFETY: the caller's lock excludes every other reader and writer of `links`.
        self.links.with_mut(|links| f(unsafe { &mut *links }))
    }
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}
