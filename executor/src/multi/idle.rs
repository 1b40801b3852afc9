//! Which workers are parked, and which one to wake.
//!
//! # The protocol
//!
//! One atomic word counts *unparked* workers and, among them, *searching* ones (looking
//! for work to steal); a mutex-protected list names the parked workers.
//!
//! - A worker out of local work becomes searching only while fewer than half the workers
//!   search ([`Idle::transition_worker_to_searching`]), so a burst of new tasks never sets
//!   every worker stealing from every other.
//! - A producer that queued a task calls [`Idle::worker_to_notify`], which picks a parked
//!   worker **only if no worker is searching** and some are parked; the chosen worker is
//!   unparked already counted as searching. One new task therefore wakes at most one
//!   worker: the thundering herd is avoided.
//! - A searching worker that finds work stops searching; if it was the *last* searcher it
//!   wakes another worker ([`Idle::transition_worker_from_searching`]), so work that keeps
//!   coming keeps exactly one searcher in flight.
//! - A worker going to park ([`Idle::transition_worker_to_parked`]) that was the last
//!   searcher must look at every queue once more before it sleeps, because producers that
//!   saw it searching did not wake anyone.
//!
//! No lost wake-up: the producer writes its queue and then reads the counters, the parking
//! worker writes the counters and then reads the queues, both with `SeqCst`; at least one
//! of them sees the other.

#[cfg(not(loom))]
use crate::loom::sync::atomic::fence;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Mutex;

/// Bits of the state word holding the number of searching workers.
const SEARCH_MASK: usize = (1 << 16) - 1;
/// One unparked worker in the state word.
const UNPARK_ONE: usize = 1 << 16;

pub(crate) struct Idle {
    /// `unparked << 16 | searching`.
    state: AtomicUsize,
    /// Indices of parked workers.
    sleepers: Mutex<Vec<usize>>,
    num_workers: usize,
}

#[derive(Clone, Copy)]
struct Counts(usize);

impl Counts {
    fn searching(self) -> usize {
        self.0 & SEARCH_MASK
    }
    fn unparked(self) -> usize {
        self.0 >> 16
    }
}

impl Idle {
    /// All workers start unparked and not searching.
    pub(crate) fn new(num_workers: usize) -> Idle {
        assert!(num_workers < SEARCH_MASK, "too many workers");
        Idle {
            state: AtomicUsize::new(num_workers * UNPARK_ONE),
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
            num_workers,
        }
    }

    fn counts(&self) -> Counts {
        Counts(self.state.load(SeqCst))
    }

    fn should_wake(&self, c: Counts) -> bool {
        c.searching() == 0 && c.unparked() < self.num_workers
    }

    /// Reads the counters after this thread published work (a queue push).
    ///
    /// The SeqCst fence orders the push before the load in the single total order of
    /// SeqCst operations, which is what pairs it with the parking worker's SeqCst update.
    /// loom models SeqCst as AcqRel (a load may still return an older value), so under
    /// loom the read is an RMW, which always sees the latest value: the model checks the
    /// protocol under the guarantee the fence gives on real hardware.
    fn counts_after_publish(&self) -> Counts {
        #[cfg(not(loom))]
        {
            fence(SeqCst);
            self.counts()
        }
        #[cfg(loom)]
        {
            Counts(self.state.fetch_add(0, SeqCst))
        }
    }

    /// Called after queueing work. Returns the parked worker to unpark, if one should be.
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        // Pairs with the SeqCst update in `transition_worker_to_parked`: either we see the
        // worker parked, or it sees our work when it re-checks the queues.
        if !self.should_wake(self.counts_after_publish()) {
            return None;
        }
        let mut sleepers = self.sleepers.lock();
        // Another producer may have woken a worker since the unlocked check.
        if !self.should_wake(self.counts()) {
            return None;
        }
        let worker = sleepers.pop()?;
        // Unparked, and searching: it will steal or check the injection queue.
        self.state.fetch_add(UNPARK_ONE + 1, SeqCst);
        Some(worker)
    }

    /// Tries to make the calling worker a searcher. Returns `false` if enough workers
    /// already search.
    pub(crate) fn transition_worker_to_searching(&self) -> bool {
        let c = self.counts();
        if 2 * c.searching() >= self.num_workers.max(2) {
            return false;
        }
        self.state.fetch_add(1, SeqCst);
        true
    }

    /// The calling worker found work and stops searching. Returns `true` if it was the
    /// last searcher, in which case the caller must wake another worker.
    pub(crate) fn transition_worker_from_searching(&self) -> bool {
        let prev = Counts(self.state.fetch_sub(1, SeqCst));
        debug_assert!(prev.searching() > 0);
        prev.searching() == 1
    }

    /// The calling worker `index` is about to park. Returns `true` if it was the last
    /// searcher: the caller must then check all queues for work once more.
    pub(crate) fn transition_worker_to_parked(&self, index: usize, searching: bool) -> bool {
        let mut sleepers = self.sleepers.lock();
        let dec = UNPARK_ONE + usize::from(searching);
        let prev = Counts(self.state.fetch_sub(dec, SeqCst));
        sleepers.push(index);
        searching && prev.searching() == 1
    }

    /// Returns `true` if worker `index` is still on the parked list (nobody notified it).
    pub(crate) fn is_parked(&self, index: usize) -> bool {
        self.sleepers.lock().contains(&index)
    }

    /// Worker `index` woke up by itself (its parker returned with work for it). Removes it
    /// from the parked list and counts it unparked, not searching. Returns `false` if a
    /// producer had already done so (counting it as searching).
    pub(crate) fn unpark_worker_by_id(&self, index: usize) -> bool {
        let mut sleepers = self.sleepers.lock();
        let Some(pos) = sleepers.iter().position(|&i| i == index) else {
            return false;
        };
        sleepers.swap_remove(pos);
        self.state.fetch_add(UNPARK_ONE, SeqCst);
        true
    }
}
