//! Running one future to completion on the current thread.

use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::coop;
use crate::park::{Park, ThreadParker, UnparkWaker};

thread_local! {
    // A parker and its waker, made once per thread. Taken out while a `block_on` runs so
    // that a nested `block_on` gets its own and the two never steal each other's wake-ups.
    static CACHED: RefCell<Option<(ThreadParker, Waker)>> = const { RefCell::new(None) };
}

/// Runs `future` to completion on the current thread, parking the thread while it waits.
///
/// This needs no executor: any thread may call it, and futures from any crate (including
/// ply's reactor and timer, which fall back to their own driver threads) can be awaited.
/// Tasks spawned with [`spawn`](crate::spawn) need a running executor, which this is not:
/// use [`LocalExecutor::block_on`](crate::LocalExecutor::block_on) or
/// [`Executor::block_on`](crate::Executor::block_on) for that.
///
/// Each poll of `future` runs inside a [cooperative budget](crate::coop).
///
/// # Panics
///
/// Panics if `future` panics.
///
/// Panics if called from inside a task that a ply executor is polling: a task of an
/// [`Executor`](crate::Executor) on one of its workers, or of a
/// [`LocalExecutor`](crate::LocalExecutor). Blocking there would stall the very thread
/// that has to run the tasks the blocked future waits for: the wake-ups of the tasks it
/// woke land in that worker's LIFO slot or local queue, so it could deadlock silently.
/// Inside a task, `.await` the future instead; for blocking code use
/// [`spawn_blocking`](crate::spawn_blocking) (whose closure may call `block_on`) or a
/// thread of your own. This also applies to [`Executor::block_on`](crate::Executor::block_on)
/// and [`block_on_with`], which share this check. Calling `block_on` on any other thread,
/// nested in another `block_on`, or in the main future of an executor's `block_on` is fine.
///
/// ```should_panic
/// let ex = ply_executor::LocalExecutor::new();
/// let task = ex.spawn_local(async { ply_executor::block_on(async { 1 }) });
/// // The task's panic is caught in its JoinHandle; `resume` carries it on here.
/// ex.block_on(task).unwrap_or_else(|e| e.resume());
/// ```
///
/// # Examples
///
/// ```
/// let v = ply_executor::block_on(async { 1 + 2 });
/// assert_eq!(v, 3);
/// ```
#[track_caller]
pub fn block_on<F: Future>(future: F) -> F::Output {
    refuse_inside_task();
    let cached = CACHED.try_with(|c| c.borrow_mut().take()).ok().flatten();
    let (mut parker, waker) = cached.unwrap_or_else(|| {
        let parker = ThreadParker::new();
        let waker = Waker::from(Arc::new(UnparkWaker(parker.unparker())));
        (parker, waker)
    });
    let out = run(&mut parker, &waker, future);
    let _ = CACHED.try_with(|c| *c.borrow_mut() = Some((parker, waker)));
    out
}

/// Runs `future` to completion, waiting through `parker` whenever it is pending.
///
/// This is [`block_on`] with a parker of your own, such as one that drives a reactor while
/// it waits.
///
/// # Panics
///
/// Panics if `future` panics, and if called from inside a task a ply executor is polling
/// (see [`block_on`]).
///
/// # Examples
///
/// ```
/// use ply_executor::park::ThreadParker;
///
/// let mut parker = ThreadParker::new();
/// let v = ply_executor::block_on_with(&mut parker, async { "done" });
/// assert_eq!(v, "done");
/// ```
#[track_caller]
pub fn block_on_with<P: Park, F: Future>(parker: &mut P, future: F) -> F::Output {
    refuse_inside_task();
    let waker = Waker::from(Arc::new(UnparkWaker(parker.unparker())));
    run(parker, &waker, future)
}

/// The check documented under `# Panics` of [`block_on`].
#[track_caller]
fn refuse_inside_task() {
    if crate::context::is_polling_task() {
        panic!(
            "ply_executor::block_on called from inside a task of a ply executor: this would \
             block the executor thread that must run the tasks the future waits for, and can \
             deadlock. Use `.await` inside the task instead, or move the blocking call to \
             `ply_executor::spawn_blocking` or a thread of your own"
        );
    }
}

fn run<P: Park, F: Future>(parker: &mut P, waker: &Waker, future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(waker);
    loop {
        if let Poll::Ready(v) = coop::budget(|| future.as_mut().poll(&mut cx)) {
            return v;
        }
        parker.park();
    }
}
