//! The hierarchical timing wheel: levels of slots, one occupancy bitmap per level, and
//! intrusive lists of entries. Everything here runs under the timer's lock (`&mut Wheel`).
//!
//! # Implementation
//!
//! Varghese & Lauck, "Hashed and Hierarchical Timing Wheels: Data Structures for the
//! Efficient Implementation of a Timer Facility", SOSP 1987 (scheme 7), with two now-common
//! refinements: a bitmap per level so the next occupied slot is found with one
//! `trailing_zeros` instead of a scan (tokio, the Linux kernel's `timer_list` wheel before
//! 4.8 used level counters instead), and a *lazy* later-reset: an entry may sit in a slot
//! earlier than its true deadline, and is refiled when the wheel reaches that slot.
//!
//! - Insert: compute level and slot (`slot.rs`, pure arithmetic), push at the slot list's
//!   head, set the bitmap bit. O(1).
//! - Cancel: the entry records its location; unlink it, clear the bit if the list emptied.
//!   O(1).
//! - Next deadline: for each of the 6 levels, one rotate and `trailing_zeros` on the
//!   bitmap; take the minimum. O(levels).
//! - Advance: process occupied slots in tick order up to `now`. Processing a level-0 slot
//!   only moves the wheel's time to its tick: the slot becomes the *due slot*, whose
//!   entries the driver fires one by one. Processing a higher slot cascades its entries:
//!   each is refiled a level or more down, or, if due on exactly this tick, into the due
//!   slot. An entry is touched at most once per level on its way: O(levels).
//!
//! The due slot is level 0's slot of `elapsed`. No filed entry can otherwise be there
//! (an entry is filed only for a tick after `elapsed`), so it needs no list of its own,
//! and an entry waiting in it is cancelled like any other.

use std::ptr::NonNull;

use crate::entry::{Entry, Location};
use crate::slot::{level_for, next_occupied, slot_for, LEVELS, SLOTS};

/// A doubly linked list of entries with only a head pointer (push and pop at the head,
/// unlink anywhere).
#[derive(Debug, Default)]
struct List {
    head: Option<NonNull<Entry>>,
}

impl List {
    fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// Links `entry` at the head.
    ///
    /// # Safety
    ///
    /// `entry` is live and pinned, in no list, and the caller holds the wheel lock.
    unsafe fn push_front(&mut self, entry: NonNull<Entry>, location: Location) {
        let old_head = self.head;
        // SAFETY: the caller's contract: live entry, lock held.
        unsafe {
            entry.as_ref().update_links(|links| {
                debug_assert_eq!(links.location, Location::Nowhere);
                links.prev = None;
                links.next = old_head;
                links.location = location;
            });
        }
        if let Some(old_head) = old_head {
            // SAFETY: entries in a list are live (their owner unlinks them before freeing
            // them, under this same lock, which we hold).
            unsafe {
                old_head
                    .as_ref()
                    .update_links(|links| links.prev = Some(entry))
            };
        }
        self.head = Some(entry);
    }

    /// Unlinks `entry`.
    ///
    /// # Safety
    ///
    /// `entry` is live and linked into this list, and the caller holds the wheel lock.
    unsafe fn remove(&mut self, entry: NonNull<Entry>) {
        // SAFETY: the caller's contract.
        let links = unsafe { entry.as_ref().links() };
        match links.prev {
            // SAFETY: neighbours in a list are live (see `push_front`).
            Some(prev) => unsafe { prev.as_ref().update_links(|l| l.next = links.next) },
            None => {
                debug_assert_eq!(self.head, Some(entry), "an entry without prev is the head");
                self.head = links.next;
            }
        }
        if let Some(next) = links.next {
            // SAFETY: neighbours in a list are live (see `push_front`), and the caller holds
            // the wheel lock, so no one else touches their links.
            unsafe { next.as_ref().update_links(|l| l.prev = links.prev) };
        }
        // SAFETY: the caller's contract.
        unsafe {
            entry.as_ref().update_links(|l| {
                l.prev = None;
                l.next = None;
                l.location = Location::Nowhere;
            });
        }
    }

    /// Unlinks and returns the head.
    fn pop_front(&mut self) -> Option<NonNull<Entry>> {
        let head = self.head?;
        // SAFETY: `head` is in this list, hence live; `&mut self` means the caller holds
        // the lock of the wheel owning this list.
        unsafe { self.remove(head) };
        Some(head)
    }
}

/// One level: 64 slot lists and the bitmap of the non-empty ones.
#[derive(Debug)]
struct Level {
    /// Bit `s` is set exactly when `slots[s]` is non-empty.
    occupied: u64,
    slots: [List; SLOTS],
}

/// A slot the wheel must process, and the tick at which it must.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expiration {
    pub(crate) level: usize,
    pub(crate) slot: usize,
    pub(crate) tick: u64,
}

/// The timing wheel. Holds raw pointers to pinned entries; see `entry.rs` for why they
/// stay valid.
#[derive(Debug)]
pub(crate) struct Wheel {
    /// Every tick up to and including this one has been processed.
    elapsed: u64,
    levels: Box<[Level; LEVELS]>,
    /// The tick the driver last said it would sleep until (`u64::MAX`: no deadline).
    pub(crate) driver_wake_at: u64,
    /// Set once by shutdown: no entry is filed from then on.
    pub(crate) is_shutdown: bool,
    /// Number of linked entries.
    len: usize,
}

// SAFETY: the raw entry pointers are only dereferenced by code holding `&mut Wheel`, i.e.
// the timer's mutex; entries are `Sync`, and their owners synchronise with the wheel
// through that same mutex before freeing them.
unsafe impl Send for Wheel {}

/// Outcome of [`Wheel::insert`].
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Insert {
    /// Filed; it will fire when the wheel reaches its tick.
    Filed,
    /// Its tick has already been processed: it is due now and was not filed.
    Due,
}

impl Wheel {
    /// An empty wheel at tick 0.
    pub(crate) fn new() -> Self {
        Wheel {
            elapsed: 0,
            levels: Box::new(std::array::from_fn(|_| Level {
                occupied: 0,
                slots: std::array::from_fn(|_| List::default()),
            })),
            driver_wake_at: u64::MAX,
            is_shutdown: false,
            len: 0,
        }
    }

    /// The last processed tick.
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Number of linked entries.
    #[cfg(all(test, loom))]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Files `entry` under tick `when`, unless that tick has already been processed.
    ///
    /// # Safety
    ///
    /// `entry` is live, pinned and in no list, and stays live until it is unlinked under
    /// this wheel's lock.
    pub(crate) unsafe fn insert(&mut self, entry: NonNull<Entry>, when: u64) -> Insert {
        if when <= self.elapsed {
            return Insert::Due;
        }
        let level = level_for(self.elapsed, when);
        let slot = slot_for(when, level);
        let location = Location::Slot {
            level: level as u8,
            slot: slot as u8,
        };
        let lvl = &mut self.levels[level];
        // SAFETY: the caller's contract.
        unsafe { lvl.slots[slot].push_front(entry, location) };
        lvl.occupied |= 1 << slot;
        self.len += 1;
        Insert::Filed
    }

    /// Unlinks `entry` from whichever list of this wheel holds it.
    ///
    /// # Safety
    ///
    /// `entry` is live and linked into this wheel.
    pub(crate) unsafe fn remove(&mut self, entry: NonNull<Entry>) {
        // SAFETY: the caller's contract (we hold the lock through `&mut self`).
        let location = unsafe { entry.as_ref().links() }.location;
        match location {
            Location::Slot { level, slot } => {
                let lvl = &mut self.levels[level as usize];
                let list = &mut lvl.slots[slot as usize];
                // SAFETY: the entry says it is in this list.
                unsafe { list.remove(entry) };
                if list.is_empty() {
                    lvl.occupied &= !(1 << slot);
                }
            }
            Location::Nowhere => unreachable!("removing an entry that is in no list"),
        }
        self.len -= 1;
    }

    /// The next slot to process, if any entry is filed.
    pub(crate) fn next_expiration(&self) -> Option<Expiration> {
        let mut best: Option<Expiration> = None;
        for (level, lvl) in self.levels.iter().enumerate() {
            if let Some((slot, tick)) = next_occupied(lvl.occupied, self.elapsed, level) {
                if best.is_none_or(|b| tick < b.tick) {
                    best = Some(Expiration { level, slot, tick });
                }
            }
        }
        best
    }

    /// Processes the slot `expiration`: the wheel's time moves to its tick. A level-0
    /// slot becomes the due slot as it is; a higher slot's entries are refiled against the
    /// new time, into the due slot if their true deadline is this very tick.
    pub(crate) fn process(&mut self, expiration: Expiration) {
        debug_assert!(expiration.tick >= self.elapsed);
        self.elapsed = expiration.tick;
        if expiration.level == 0 {
            debug_assert_eq!(expiration.slot, slot_for(self.elapsed, 0));
            return;
        }
        let lvl = &mut self.levels[expiration.level];
        let mut list = std::mem::take(&mut lvl.slots[expiration.slot]);
        lvl.occupied &= !(1 << expiration.slot);
        while let Some(entry) = list.pop_front() {
            self.len -= 1;
            // SAFETY: the entry was linked into this wheel, so it is live; the state's
            // tick is the true deadline (never earlier than the slot it was filed under).
            let when = unsafe { entry.as_ref() }.state.load().tick();
            // SAFETY: just unlinked, live, pinned.
            if unsafe { self.insert(entry, when) } == Insert::Due {
                // SAFETY: the entry was linked into this wheel until just now, so it is live
                // and pinned, and `insert` said Due without linking it: it is in no list.
                unsafe { self.push_due(entry) };
            }
        }
    }

    /// Links `entry`, due on the current tick, into the due slot.
    ///
    /// # Safety
    ///
    /// `entry` is live, pinned and in no list.
    unsafe fn push_due(&mut self, entry: NonNull<Entry>) {
        let slot = slot_for(self.elapsed, 0);
        let location = Location::Slot {
            level: 0,
            slot: slot as u8,
        };
        let lvl = &mut self.levels[0];
        // SAFETY: the caller's contract.
        unsafe { lvl.slots[slot].push_front(entry, location) };
        lvl.occupied |= 1 << slot;
        self.len += 1;
    }

    /// Unlinks and returns one entry of the due slot: filed under the current tick, so its
    /// deadline has come unless its owner moved it later since.
    pub(crate) fn pop_due(&mut self) -> Option<NonNull<Entry>> {
        let slot = slot_for(self.elapsed, 0);
        let lvl = &mut self.levels[0];
        let entry = lvl.slots[slot].pop_front()?;
        if lvl.slots[slot].is_empty() {
            lvl.occupied &= !(1 << slot);
        }
        self.len -= 1;
        Some(entry)
    }

    /// Unlinks and returns any filed entry (shutdown).
    pub(crate) fn pop_any(&mut self) -> Option<NonNull<Entry>> {
        let level = self.levels.iter().position(|l| l.occupied != 0)?;
        let lvl = &mut self.levels[level];
        let slot = lvl.occupied.trailing_zeros() as usize;
        let entry = lvl.slots[slot].pop_front()?;
        if lvl.slots[slot].is_empty() {
            lvl.occupied &= !(1 << slot);
        }
        self.len -= 1;
        Some(entry)
    }

    /// Moves the wheel's time forward to `tick` once no slot at or before it is occupied.
    pub(crate) fn set_elapsed(&mut self, tick: u64) {
        debug_assert!(self.next_expiration().is_none_or(|e| e.tick > tick));
        if tick > self.elapsed {
            self.elapsed = tick;
        }
    }
}
