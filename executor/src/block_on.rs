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
/// # Examples
///
/// ```
/// let v = ply_executor::block_on(async { 1 + 2 });
/// assert_eq!(v, 3);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
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
/// Panics if `future` panics.
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
pub fn block_on_with<P: Park, F: Future>(parker: &mut P, future: F) -> F::Output {
    let waker = Waker::from(Arc::new(UnparkWaker(parker.unparker())));
    run(parker, &waker, future)
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
