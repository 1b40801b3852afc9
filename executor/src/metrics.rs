//! Counters every executor keeps, and the [`Metrics`] snapshot users read.
//!
//! Each counter has a single writer (the worker thread it belongs to), which bumps it with
//! a plain load and store: no locked instruction on the hot path. Readers on any thread
//! load the counters at any time; a snapshot is not atomic across fields.

use std::ops::Add;

use crate::loom::stats::{AtomicU64, Ordering::Relaxed};

/// A snapshot of an executor's (or one worker's) counters since it started.
///
/// # Examples
///
/// ```
/// let ex = ply_executor::LocalExecutor::new();
/// ex.block_on(ex.spawn_local(async {})).unwrap();
/// let m = ex.metrics();
/// assert_eq!((m.spawned, m.completed), (1, 1));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Tasks spawned (not counting blocking tasks).
    pub spawned: u64,
    /// Task polls (each run of a task, including the one that drops an aborted future).
    pub polled: u64,
    /// Tasks that completed: returned, panicked or were aborted while the executor ran.
    pub completed: u64,
    /// Successful steal operations (each moves a batch of tasks).
    pub steals: u64,
    /// Tasks moved by steals.
    pub stolen: u64,
    /// Times a worker parked for lack of work.
    pub parks: u64,
    /// Panics from `JoinHandle` wakers caught while completing (or freeing) this
    /// executor's tasks; see [`JoinHandle`](crate::JoinHandle).
    pub waker_panics: u64,
}

impl Add for Metrics {
    type Output = Metrics;

    fn add(self, o: Metrics) -> Metrics {
        Metrics {
            spawned: self.spawned + o.spawned,
            polled: self.polled + o.polled,
            completed: self.completed + o.completed,
            steals: self.steals + o.steals,
            stolen: self.stolen + o.stolen,
            parks: self.parks + o.parks,
            waker_panics: self.waker_panics + o.waker_panics,
        }
    }
}

/// Live counters of one worker (or one local executor).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    spawned: AtomicU64,
    polled: AtomicU64,
    completed: AtomicU64,
    steals: AtomicU64,
    stolen: AtomicU64,
    parks: AtomicU64,
    waker_panics: AtomicU64,
}

/// Adds `n` to a counter that only the calling thread writes.
#[inline]
fn bump(c: &AtomicU64, n: u64) {
    c.store(c.load(Relaxed) + n, Relaxed);
}

impl Counters {
    pub(crate) fn spawned(&self) {
        bump(&self.spawned, 1);
    }
    /// For counters with several writers (spawns from outside any worker).
    pub(crate) fn spawned_shared(&self) {
        self.spawned.fetch_add(1, Relaxed);
    }
    pub(crate) fn polled(&self) {
        bump(&self.polled, 1);
    }
    pub(crate) fn completed(&self) {
        bump(&self.completed, 1);
    }
    pub(crate) fn stole(&self, tasks: u64) {
        bump(&self.steals, 1);
        bump(&self.stolen, tasks);
    }
    pub(crate) fn parked(&self) {
        bump(&self.parks, 1);
    }
    /// A `JoinHandle` waker panicked. Several writers: the task code calls it on whichever
    /// thread completed or freed the task.
    #[allow(
        dead_code,
        reason = "called from the executors' `Schedule::waker_panicked`"
    )]
    pub(crate) fn waker_panicked(&self) {
        self.waker_panics.fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Metrics {
        Metrics {
            spawned: self.spawned.load(Relaxed),
            polled: self.polled.load(Relaxed),
            completed: self.completed.load(Relaxed),
            steals: self.steals.load(Relaxed),
            stolen: self.stolen.load(Relaxed),
            parks: self.parks.load(Relaxed),
            waker_panics: self.waker_panics.load(Relaxed),
        }
    }
}
