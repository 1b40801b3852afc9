//! Parking the workers: one of them waits in the driver, the others on condvars, and an
//! unpark always reaches the worker it was meant for.
//!
//! A runtime built on [`Executor`](super::Executor) usually has one *driver*: something
//! that must be waited in for events to happen at all (ply-net's reactor turn, which waits
//! in `epoll_wait` with the next timer deadline as the timeout and then fires due timers).
//! Only one thread can usefully wait in it at a time, and someone should wait in it
//! whenever any worker is idle. [`Builder::build_with_driver`](super::Builder::build_with_driver)
//! hands the executor such a driver (any [`Park`]); this module shares it among the
//! workers. A plain executor ([`Builder::build`](super::Builder::build)) has no driver and
//! every idle worker waits on its own condvar.
//!
//! # The per-worker state
//!
//! | state | meaning | what an unpark does |
//! |---|---|---|
//! | [`EMPTY`] | running, or between two waits | records [`NOTIFIED`] |
//! | [`PARKED_CONDVAR`] | waiting on its own condvar, or about to (holding its lock) | records, then takes the lock and signals |
//! | [`PARKED_DRIVER`] | waiting in the driver, *while holding it* | records, then unparks the driver |
//! | [`NOTIFIED`] | an unpark came that no wait has consumed yet | nothing more |
//!
//! # Rules, and why each one is needed
//!
//! 1. **A worker enters `PARKED_DRIVER` only after it has taken the driver, and leaves it
//!    before it gives the driver back.** The driver's unpark is one token shared by
//!    whoever waits in it. An unparker that sees `PARKED_DRIVER` puts the token there, and
//!    the only thread that can take it is the worker it was meant for: nobody else can
//!    enter the driver until that worker has left both the wait and the state. (The bug
//!    this replaces announced "in the driver" *before* taking it: a second worker then took
//!    the driver, consumed the token, and the target blocked in `epoll_wait(-1)` with its
//!    own state still saying notified.) A token that arrives after the wait ended stays in
//!    the driver and makes the next holder's wait return at once: a spurious return, which
//!    the [`Park`] contract allows.
//! 2. **Whoever leaves the driver to run tasks hands it over** ([`WorkerParker::hand_off`]):
//!    if a worker sleeps on its condvar, it is woken (a spurious return for it), goes back
//!    to park, and finds the driver free. So no worker sleeps on a condvar while timers or
//!    I/O are due and nobody drives them, even when the last driver holder is stuck in a
//!    long CPU-bound poll.
//! 3. **A worker that found the driver taken re-checks it after announcing
//!    `PARKED_CONDVAR`.** The holder gives the driver back and then looks for condvar
//!    sleepers; the sleeper announces itself and then looks at the driver. Both sides use
//!    sequentially consistent operations, so at least one sees the other: either the
//!    holder wakes the sleeper, or the sleeper sees the driver free and takes it.
//! 4. Every exit from a wait swaps in `EMPTY`, which consumes a `NOTIFIED` that arrived
//!    meanwhile: returning from `park` is what a notification asks for.
//!
//! The busy side is [`WorkerParker::drive_now`]: a worker that keeps running tasks takes
//! the driver every [`DRIVER_INTERVAL`](super::worker::DRIVER_INTERVAL) ticks (and before
//! running tasks that yielded) for one turn with a zero timeout, if nobody else holds it.
//!
//! The loom models in `loom_park.rs` run this code (and the worker's parking sequence,
//! [`go_idle`]) with a [`ThreadParker`](crate::park::ThreadParker) as the driver: one
//! shared token, consumed by whichever thread waits in it, like the reactor's wake.

use std::fmt;
use std::time::Duration;

use super::idle::Idle;
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Arc, Condvar, Mutex};
use crate::park::{Park, Unpark};

/// Running, or between two waits.
pub(crate) const EMPTY: usize = 0;
/// Waiting on the worker's own condvar.
pub(crate) const PARKED_CONDVAR: usize = 1;
/// Waiting in the driver, which the worker holds.
pub(crate) const PARKED_DRIVER: usize = 2;
/// An unpark is pending.
pub(crate) const NOTIFIED: usize = 3;

/// Reads `a` so that it pairs with a `SeqCst` write on another thread in the Dekker
/// pattern of rule 3. On hardware a `SeqCst` load does; loom models `SeqCst` as `AcqRel`
/// (a load may return an older value), so under loom the read is an RMW, which always sees
/// the latest value: the model checks the protocol under the guarantee real `SeqCst`
/// gives.
fn load_latest(a: &AtomicUsize) -> usize {
    #[cfg(not(loom))]
    {
        a.load(SeqCst)
    }
    #[cfg(loom)]
    {
        a.fetch_add(0, SeqCst)
    }
}

fn is_held(held: &AtomicBool) -> bool {
    #[cfg(not(loom))]
    {
        held.load(SeqCst)
    }
    #[cfg(loom)]
    {
        held.fetch_or(false, SeqCst)
    }
}

/// One worker's sleep: the state word and its condvar.
struct Sleeper {
    state: AtomicUsize,
    lock: Mutex<()>,
    cond: Condvar,
}

/// The driver the workers share.
struct Driver<D: Park> {
    /// `true` while a worker holds the driver. Taken and given back with `SeqCst` RMWs,
    /// which is what rule 3 pairs with.
    held: AtomicBool,
    /// Only locked by the worker that set `held`, so the lock is never contended: it is
    /// there to hand out `&mut D` safely.
    park: Mutex<D>,
    unpark: D::Unparker,
}

impl<D: Park> Driver<D> {
    fn try_take(&self) -> bool {
        !self.held.swap(true, SeqCst)
    }

    fn give_back(&self) {
        self.held.swap(false, SeqCst);
    }
}

/// What the workers of one executor share for parking.
pub(crate) struct Parking<D: Park> {
    sleepers: Box<[Sleeper]>,
    driver: Option<Driver<D>>,
}

impl<D: Park> Parking<D> {
    /// `n` workers, sharing `driver` if there is one.
    pub(crate) fn new(n: usize, driver: Option<D>) -> Arc<Parking<D>> {
        Arc::new(Parking {
            sleepers: (0..n)
                .map(|_| Sleeper {
                    state: AtomicUsize::new(EMPTY),
                    lock: Mutex::new(()),
                    cond: Condvar::new(),
                })
                .collect(),
            driver: driver.map(|d| Driver {
                held: AtomicBool::new(false),
                unpark: d.unparker(),
                park: Mutex::new(d),
            }),
        })
    }

    fn unpark(&self, index: usize) {
        let s = &self.sleepers[index];
        match s.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED_CONDVAR => {
                // The sleeper holds its lock from announcing PARKED_CONDVAR until it waits:
                // taking the lock here means it waits, so the signal is not missed.
                drop(s.lock.lock());
                s.cond.notify_one();
            }
            PARKED_DRIVER => {
                // Rule 1: the target holds the driver until it has left this state, so
                // the token can only end its own wait (or the next one, spuriously).
                if let Some(d) = &self.driver {
                    d.unpark.unpark();
                }
            }
            other => unreachable!("worker park state {other}"),
        }
    }
}

/// How a [`WorkerParker::park`] ended.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Parked {
    /// It waited in the driver (which may have woken tasks on this thread).
    Drove,
    /// It waited on its condvar, or not at all (a pending unpark).
    Slept,
}

/// Worker `index`'s side of [`Parking`].
pub(crate) struct WorkerParker<D: Park> {
    shared: Arc<Parking<D>>,
    index: usize,
}

impl<D: Park> WorkerParker<D> {
    pub(crate) fn new(shared: Arc<Parking<D>>, index: usize) -> WorkerParker<D> {
        WorkerParker { shared, index }
    }

    /// The handle that wakes this worker, from any thread.
    pub(crate) fn unparker(&self) -> WorkerUnparker<D> {
        WorkerUnparker {
            shared: self.shared.clone(),
            index: self.index,
        }
    }

    fn sleeper(&self) -> &Sleeper {
        &self.shared.sleepers[self.index]
    }

    /// Waits until unparked (or spuriously): in the driver if it is free, else on the
    /// worker's condvar.
    pub(crate) fn park(&mut self) -> Parked {
        let me = self.sleeper();
        if me
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return Parked::Slept;
        }
        loop {
            if let Some(d) = &self.shared.driver {
                if d.try_take() {
                    // Rule 1: announce only now that we hold it.
                    if me
                        .state
                        .compare_exchange(EMPTY, PARKED_DRIVER, SeqCst, SeqCst)
                        .is_err()
                    {
                        // Only NOTIFIED can be there: only this worker leaves EMPTY
                        // otherwise.
                        me.state.swap(EMPTY, SeqCst);
                        d.give_back();
                        return Parked::Slept;
                    }
                    d.park.lock().park();
                    // Rule 4, and rule 1: leave the state before giving the driver back.
                    me.state.swap(EMPTY, SeqCst);
                    d.give_back();
                    return Parked::Drove;
                }
            }
            let mut guard = me.lock.lock();
            if me
                .state
                .compare_exchange(EMPTY, PARKED_CONDVAR, SeqCst, SeqCst)
                .is_err()
            {
                drop(guard);
                me.state.swap(EMPTY, SeqCst);
                return Parked::Slept;
            }
            if let Some(d) = &self.shared.driver {
                // Rule 3: the holder may have given the driver back since `try_take`
                // failed, and looked for condvar sleepers before we announced ourselves.
                if !is_held(&d.held) {
                    drop(guard);
                    if me
                        .state
                        .compare_exchange(PARKED_CONDVAR, EMPTY, SeqCst, SeqCst)
                        .is_err()
                    {
                        // Notified (or handed off) meanwhile: that is a return.
                        me.state.swap(EMPTY, SeqCst);
                        return Parked::Slept;
                    }
                    continue;
                }
            }
            while me.state.load(SeqCst) == PARKED_CONDVAR {
                guard = me.cond.wait(guard);
            }
            drop(guard);
            me.state.swap(EMPTY, SeqCst);
            return Parked::Slept;
        }
    }

    /// Rule 2: after leaving the driver to run tasks, wakes one worker sleeping on its
    /// condvar so that it takes the driver. Costs one load per worker when none sleeps.
    pub(crate) fn hand_off(&self) {
        let Some(d) = &self.shared.driver else {
            return;
        };
        if is_held(&d.held) {
            return; // somebody drives already
        }
        for (i, s) in self.shared.sleepers.iter().enumerate() {
            if i == self.index || load_latest(&s.state) != PARKED_CONDVAR {
                continue;
            }
            let guard = s.lock.lock();
            // PARKED_CONDVAR -> EMPTY makes its wait loop end without a notification being
            // recorded: from its executor's point of view a spurious return.
            let woke = s
                .state
                .compare_exchange(PARKED_CONDVAR, EMPTY, SeqCst, SeqCst)
                .is_ok();
            drop(guard);
            if woke {
                s.cond.notify_one();
                return;
            }
        }
    }

    /// The busy side: one driver turn with a zero timeout, if the driver is free. Returns
    /// `true` if it ran (it may have woken tasks on this thread). Does not touch this
    /// worker's state: the worker is not parked, so unparks aimed at it are only recorded.
    pub(crate) fn drive_now(&mut self) -> bool {
        let Some(d) = &self.shared.driver else {
            return false;
        };
        if !d.try_take() {
            return false;
        }
        d.park.lock().park_timeout(Duration::ZERO);
        d.give_back();
        // Someone may have gone to its condvar while we held the driver.
        self.hand_off();
        true
    }
}

/// What the worker's parking sequence ([`go_idle`]) needs to know of its worker.
pub(crate) trait IdleWorker {
    /// The worker's LIFO slot or local queue holds a task.
    fn has_local_work(&self) -> bool;
    /// Wakes a parked worker if a stealable queue holds work (the last searcher's
    /// re-check).
    fn notify_if_work_pending(&self);
    /// The executor is shutting down.
    fn is_shutdown(&self) -> bool;
    /// Counts one park.
    fn count_park(&self) {}
}

/// How [`go_idle`] ended.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Woken {
    /// The worker's own queues hold work (the driver woke tasks here); it is unparked and
    /// not searching.
    LocalWork,
    /// A producer picked this worker; it is unparked and counted as searching.
    Notified,
    /// The executor shuts down; the worker is off the parked list.
    Shutdown,
}

/// The worker's parking sequence, from "nothing to run" to "something to do": tells
/// [`Idle`] it parks (re-checking the queues if it was the last searcher), parks until it
/// has work or was picked, and hands the driver over when it leaves to run tasks.
///
/// `worker::park` runs this; so do the loom models, with the queues reduced to counters.
pub(crate) fn go_idle<D: Park>(
    idle: &Idle,
    parker: &mut WorkerParker<D>,
    was_searching: bool,
    worker: &impl IdleWorker,
) -> Woken {
    let index = parker.index;
    if idle.transition_worker_to_parked(index, was_searching) {
        // Producers saw us searching and woke nobody: look once more before sleeping.
        worker.notify_if_work_pending();
    }
    let mut drove = false;
    let woken = loop {
        if worker.is_shutdown() {
            // Leave the parked list so the counts stay consistent.
            let _ = idle.unpark_worker_by_id(index);
            return Woken::Shutdown;
        }
        worker.count_park();
        drove |= parker.park() == Parked::Drove;
        if worker.has_local_work() {
            // The driver woke tasks on this thread: run them.
            break if idle.unpark_worker_by_id(index) {
                Woken::LocalWork
            } else {
                Woken::Notified
            };
        }
        if !idle.is_parked(index) {
            break Woken::Notified;
        }
        // Spurious (a hand-off, or the driver's own timeout): keep sleeping.
    };
    if drove {
        parker.hand_off();
    }
    woken
}

/// Wakes worker `index` of an executor, however it sleeps.
pub(crate) struct WorkerUnparker<D: Park> {
    shared: Arc<Parking<D>>,
    index: usize,
}

impl<D: Park> Clone for WorkerUnparker<D> {
    fn clone(&self) -> Self {
        WorkerUnparker {
            shared: self.shared.clone(),
            index: self.index,
        }
    }
}

impl<D: Park + Send + 'static> Unpark for WorkerUnparker<D> {
    fn unpark(&self) {
        self.shared.unpark(self.index);
    }
}

impl<D: Park> fmt::Debug for WorkerParker<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerParker")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}
