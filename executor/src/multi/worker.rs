//! A worker thread of the multi-threaded executor: its run loop, scheduling and parking.
//!
//! # Where a task goes
//!
//! - Spawned or woken **on a worker thread of the same executor**: into that worker's own
//!   queue. A task *woken* by the running task goes to the worker's LIFO slot instead, so
//!   it runs next, while the data the two share is still in cache (the message-passing
//!   case); the previous occupant of the slot moves to the queue. A task that wakes
//!   *itself* goes to the back of the queue.
//! - From **anywhere else**: into the injection queue.
//!
//! When a task lands in a stealable queue and no worker is searching, one parked worker
//! is woken (see [`idle`](super::idle)).
//!
//! # Where a worker looks for work
//!
//! 1. Every [`GLOBAL_INTERVAL`] ticks, the injection queue first, so remote tasks cannot
//!    starve behind busy local ones.
//! 2. The LIFO slot, at most [`MAX_LIFO_STREAK`] times in a row (two tasks that keep waking
//!    each other must not starve the queue).
//! 3. Its own queue.
//! 4. A batch from the injection queue.
//! 5. Stealing (as a searcher): half of a randomly chosen victim's queue, trying every
//!    other worker from there; then the injection queue again.
//! 6. Parking ([`park`](super::park)): in the executor's driver if it has one and it is
//!    free, else on the worker's condvar.
//!
//! # The driver is never starved
//!
//! A worker that always has tasks never parks, so it would never wait in the driver, and
//! with every worker busy nobody would: timers and I/O would stop. So every
//! [`DRIVER_INTERVAL`] ticks the worker takes one driver turn with a zero timeout
//! ([`WorkerParker::drive_now`]), if no other worker holds the driver. A task that wakes
//! *itself* while it is polled (`yield_now`, or a spent cooperative budget) is *deferred*:
//! it runs again only after such a turn, so the events it may be waiting behind get their
//! chance first.

use std::cell::RefCell;

use super::park::{self as parking, IdleWorker, Woken, WorkerParker};
use super::queue::{self, CAPACITY};
use super::{Handle, Shared};
use crate::context::{self, Current};
use crate::coop;
use crate::loom::sync::atomic::Ordering::Acquire;
use crate::loom::sync::Arc;
use crate::park::Park;
use crate::task::{Run, Task};

/// Ticks between two looks at the injection queue ahead of the local one.
pub(crate) const GLOBAL_INTERVAL: u32 = 61;
/// Consecutive polls from the LIFO slot before the queue gets a turn.
pub(crate) const MAX_LIFO_STREAK: u8 = 3;
/// Ticks between two zero-timeout driver turns of a busy worker. Measured in
/// `docs/executor.md` ("The driver interval"): the worst lateness of a 10 ms sleep beside
/// tasks that never stop is bounded by this many polls.
pub(crate) const DRIVER_INTERVAL: u32 = 61;

/// Per-worker state reachable from the thread-local context while the worker runs.
pub(crate) struct WorkerContext {
    handle: Handle,
    index: usize,
    /// Borrowed only for short, non-reentrant stretches: never across a poll or a park.
    core: RefCell<Core>,
}

struct Core {
    queue: queue::Local,
    lifo: Option<Task>,
    lifo_streak: u8,
    tick: u32,
    searching: bool,
    rng: u32,
    /// Tasks that woke themselves while polled: they run after the next driver turn.
    deferred: Vec<Task>,
}

impl WorkerContext {
    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    pub(crate) fn index(&self) -> usize {
        self.index
    }

    fn shared(&self) -> &Shared {
        &self.handle.shared
    }
}

/// Runs worker `index` until the executor shuts down.
pub(crate) fn run<D: Park + Send>(
    handle: Handle,
    index: usize,
    local: queue::Local,
    mut parker: WorkerParker<D>,
) {
    let cx = WorkerContext {
        handle: handle.clone(),
        index,
        core: RefCell::new(Core {
            queue: local,
            lifo: None,
            lifo_streak: 0,
            tick: 0,
            searching: false,
            rng: (0x9E37_79B9 ^ (index as u32).wrapping_mul(0x85EB_CA6B)) | 1,
            deferred: Vec::new(),
        }),
    };
    let _enter = context::enter(Current::Multi(handle));
    let _worker = context::set_worker(&cx);
    let shared = cx.shared();
    while !shared.shutdown.load(Acquire) {
        let turn = {
            let mut core = cx.core.borrow_mut();
            core.tick = core.tick.wrapping_add(1);
            let idle_soon = core.lifo.is_none() && core.queue.is_empty();
            core.tick.is_multiple_of(DRIVER_INTERVAL) || (idle_soon && !core.deferred.is_empty())
        };
        if turn {
            // No borrow of the core is held: the driver's wakes land in it.
            parker.drive_now();
            requeue_deferred(&cx, &mut cx.core.borrow_mut());
        }
        let task = {
            let mut core = cx.core.borrow_mut();
            next_task(&cx, &mut core).or_else(|| steal_work(&cx, &mut core))
        };
        match task {
            Some(task) => run_task(&cx, task),
            None => park(&cx, &mut parker),
        }
    }
    // Shutting down: drop our queued references (the owned list keeps the tasks alive
    // until the executor drops their futures).
    let mut core = cx.core.borrow_mut();
    let lifo = core.lifo.take();
    let mut dropped = std::mem::take(&mut core.deferred);
    while let Some(task) = core.queue.pop() {
        dropped.push(task);
    }
    drop(core);
    drop(lifo);
    drop(dropped);
}

/// Moves the deferred tasks to the back of the local queue, after a driver turn.
fn requeue_deferred(cx: &WorkerContext, core: &mut Core) {
    if core.deferred.is_empty() {
        return;
    }
    let shared = cx.shared();
    let mut deferred = std::mem::take(&mut core.deferred);
    for task in deferred.drain(..) {
        core.queue.push_back(task, &shared.inject);
    }
    // Keep the allocation for the next round.
    core.deferred = deferred;
    shared.notify_parked();
}

fn next_task(cx: &WorkerContext, core: &mut Core) -> Option<Task> {
    let shared = cx.shared();
    if core.tick.is_multiple_of(GLOBAL_INTERVAL) {
        if let Some(task) = shared.inject.pop() {
            return Some(task);
        }
    }
    if let Some(task) = core.lifo.take() {
        if core.lifo_streak < MAX_LIFO_STREAK {
            core.lifo_streak += 1;
            return Some(task);
        }
        core.queue.push_back(task, &shared.inject);
    }
    core.lifo_streak = 0;
    if let Some(task) = core.queue.pop() {
        return Some(task);
    }
    // Take a fair share of the injection queue in one lock.
    let share = shared.inject.len() / shared.remotes.len() + 1;
    let max = share.min(CAPACITY / 2);
    let Core { queue, .. } = core;
    // `try_push_back`, not `push_back`: the injection queue is locked while the batch
    // moves, and an overflow into it would deadlock.
    shared
        .inject
        .pop_batch(max, |task| queue.try_push_back(task))
}

fn steal_work(cx: &WorkerContext, core: &mut Core) -> Option<Task> {
    let shared = cx.shared();
    if !core.searching {
        if !shared.idle.transition_worker_to_searching() {
            return None;
        }
        core.searching = true;
    }
    let n = shared.remotes.len();
    let start = next_rand(&mut core.rng) as usize % n;
    for i in 0..n {
        let victim = (start + i) % n;
        if victim == cx.index {
            continue;
        }
        if let Some((task, stolen)) = shared.remotes[victim].steal.steal_into(&mut core.queue) {
            shared.remotes[cx.index].counters.stole(u64::from(stolen));
            return Some(task);
        }
    }
    shared.inject.pop()
}

fn next_rand(state: &mut u32) -> u32 {
    // xorshift32: cheap and good enough to spread victims.
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    x
}

fn run_task(cx: &WorkerContext, task: Task) {
    let shared = cx.shared();
    {
        let mut core = cx.core.borrow_mut();
        if core.searching {
            core.searching = false;
            if shared.idle.transition_worker_from_searching() {
                // We were the last searcher: hand the search over, there may be more work.
                drop(core);
                shared.notify_parked();
            }
        }
    }
    let counters = &shared.remotes[cx.index].counters;
    counters.polled();
    match coop::budget(|| task.run()) {
        Run::Complete(done) => {
            // SAFETY: every task this executor runs was inserted into `owned` at spawn
            // (tasks refused at shutdown are never queued), and completes only once.
            unsafe { shared.owned.remove(done) };
            counters.completed();
        }
        Run::Idle => {}
        // It woke itself: it runs again after the driver had a turn.
        Run::Yielded(task) => cx.core.borrow_mut().deferred.push(task),
    }
}

/// Queues `task` on the calling worker: in the LIFO slot (`lifo`) or at the back of its
/// queue. Wakes a parked worker if a stealable task appeared.
fn schedule_local(cx: &WorkerContext, core: &mut Core, task: Task, lifo: bool) {
    let shared = cx.shared();
    let notify = if lifo {
        match core.lifo.replace(task) {
            Some(prev) => {
                core.queue.push_back(prev, &shared.inject);
                true
            }
            None => false,
        }
    } else {
        core.queue.push_back(task, &shared.inject);
        true
    };
    if notify {
        shared.notify_parked();
    }
}

/// Queues a woken (`lifo == true`) or spawned task. Returns it if the calling thread is
/// not a worker of this executor (or the worker is busy with its queue).
pub(crate) fn try_schedule_local(shared: &Arc<Shared>, task: Task, lifo: bool) -> Option<Task> {
    context::with_worker(|cx| {
        let Some(cx) = cx else { return Some(task) };
        if !Arc::ptr_eq(&cx.handle.shared, shared) {
            return Some(task);
        }
        match cx.core.try_borrow_mut() {
            Ok(mut core) => {
                schedule_local(cx, &mut core, task, lifo);
                None
            }
            Err(_) => Some(task),
        }
    })
}

fn park<D: Park + Send>(cx: &WorkerContext, parker: &mut WorkerParker<D>) {
    // No spinning before parking: a spin of a few hundred `pause`s cost 17-28 us per park
    // on the shared 2-core machine ply is measured on, and took that CPU from the threads
    // doing the work (docs/benchmarks.md, "Why ply misses"). The worker looks at the
    // queues once more below and parks; a producer wakes it.
    let was_searching = {
        let mut core = cx.core.borrow_mut();
        if core.lifo.is_some() || !core.queue.is_empty() || !core.deferred.is_empty() {
            return;
        }
        std::mem::replace(&mut core.searching, false)
    };
    match parking::go_idle(&cx.shared().idle, parker, was_searching, cx) {
        Woken::LocalWork | Woken::Shutdown => {}
        Woken::Notified => cx.core.borrow_mut().searching = true,
    }
}

impl IdleWorker for WorkerContext {
    fn has_local_work(&self) -> bool {
        let core = self.core.borrow();
        core.lifo.is_some() || !core.queue.is_empty()
    }

    fn notify_if_work_pending(&self) {
        self.shared().notify_if_work_pending();
    }

    fn is_shutdown(&self) -> bool {
        self.shared().shutdown.load(Acquire)
    }

    fn count_park(&self) {
        self.shared().remotes[self.index].counters.parked();
    }
}
