//! Cooperative scheduling: a per-poll budget that makes busy tasks yield.
//!
//! A task whose I/O or timers are always ready never returns `Pending` by itself, and
//! would keep its worker forever. So every task poll runs inside [`budget`], which grants
//! [`INITIAL_BUDGET`] units; each *leaf* operation (a socket read, a timer check, awaiting a
//! `JoinHandle`) calls [`poll_proceed`] first, which spends one unit. Once the budget is
//! spent, `poll_proceed` wakes the task and returns `Pending`, so the task goes to the back
//! of the run queue and the others get their turn.
//!
//! Outside [`budget`] (under another executor, or on a plain thread) there is no budget
//! and [`poll_proceed`] always returns `Ready`: leaf futures can call it unconditionally.
//!
//! # For leaf futures in other crates
//!
//! ply's reactor and timer cannot depend on this crate. They accept a hook with the shape
//! of [`PollProceed`], and `ply-net` installs [`poll_proceed`] there:
//!
//! ```
//! use std::task::{Context, Poll};
//! let hook: ply_executor::coop::PollProceed = ply_executor::coop::poll_proceed;
//!
//! // Inside a leaf future's `poll`:
//! fn poll_read(cx: &mut Context<'_>, hook: ply_executor::coop::PollProceed) -> Poll<usize> {
//!     if hook(cx).is_pending() {
//!         return Poll::Pending; // out of budget: the task was woken and will run again
//!     }
//!     Poll::Ready(0) // ... the real readiness check goes here
//! }
//! # let waker = std::task::Waker::noop();
//! # let mut cx = Context::from_waker(&waker);
//! assert_eq!(poll_read(&mut cx, hook), Poll::Ready(0));
//! ```

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The number of leaf operations a task may complete in one poll before it must yield.
pub const INITIAL_BUDGET: u8 = 128;

/// The type of [`poll_proceed`], for crates that take it as a hook.
pub type PollProceed = fn(&mut Context<'_>) -> Poll<()>;

thread_local! {
    // `None`: unconstrained (no executor is polling a task on this thread).
    static BUDGET: Cell<Option<u8>> = const { Cell::new(None) };
}

/// Restores the previous budget when a [`budget`] scope ends, even by unwinding.
struct Restore(Option<u8>);

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = BUDGET.try_with(|b| b.set(self.0));
    }
}

fn with_budget<R>(budget: Option<u8>, f: impl FnOnce() -> R) -> R {
    let prev = BUDGET.try_with(|b| b.replace(budget)).ok().flatten();
    let _restore = Restore(prev);
    f()
}

/// Runs `f` (one poll of a task) with a fresh budget of [`INITIAL_BUDGET`].
///
/// Executors wrap every task poll in this; so do [`block_on`](crate::block_on) and the
/// executors' `block_on` methods for their main future.
///
/// # Examples
///
/// ```
/// use std::task::{Context, Poll, Waker};
/// use ply_executor::coop;
///
/// let mut cx = Context::from_waker(Waker::noop());
/// let ready = coop::budget(|| {
///     (0..1000).take_while(|_| coop::poll_proceed(&mut cx).is_ready()).count()
/// });
/// assert_eq!(ready, coop::INITIAL_BUDGET as usize);
/// ```
pub fn budget<R>(f: impl FnOnce() -> R) -> R {
    with_budget(Some(INITIAL_BUDGET), f)
}

/// Runs `f` without any budget: [`poll_proceed`] always returns `Ready` inside it.
///
/// # Examples
///
/// ```
/// use std::task::{Context, Waker};
/// use ply_executor::coop;
///
/// let mut cx = Context::from_waker(Waker::noop());
/// coop::budget(|| coop::unconstrained(|| {
///     assert!((0..1000).all(|_| coop::poll_proceed(&mut cx).is_ready()));
/// }));
/// ```
pub fn unconstrained<R>(f: impl FnOnce() -> R) -> R {
    with_budget(None, f)
}

/// Spends one unit of the current task's budget.
///
/// Returns `Ready` if the caller may proceed. If the budget is exhausted, wakes `cx`'s
/// waker and returns `Pending`: the caller must return `Pending` too, and will be polled
/// again after the other ready tasks. Outside any ply executor it always returns `Ready`.
///
/// # Examples
///
/// ```
/// use std::task::{Context, Poll, Waker};
///
/// let mut cx = Context::from_waker(Waker::noop());
/// // No executor here: never limited.
/// assert_eq!(ply_executor::coop::poll_proceed(&mut cx), Poll::Ready(()));
/// ```
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    let spent = BUDGET
        .try_with(|b| match b.get() {
            None => true,
            Some(0) => false,
            Some(n) => {
                b.set(Some(n - 1));
                true
            }
        })
        .unwrap_or(true);
    if spent {
        Poll::Ready(())
    } else {
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Returns `true` if the current task may still proceed (or there is no budget at all).
///
/// # Examples
///
/// ```
/// assert!(ply_executor::coop::has_budget_remaining());
/// ```
pub fn has_budget_remaining() -> bool {
    BUDGET.try_with(|b| b.get() != Some(0)).unwrap_or(true)
}

/// Yields once to the executor: the task is woken at once and goes to the back of the run
/// queue.
///
/// # Examples
///
/// ```
/// ply_executor::block_on(async {
///     ply_executor::yield_now().await;
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn budget_is_scoped_and_restored() {
        let mut cx = Context::from_waker(Waker::noop());
        budget(|| {
            for _ in 0..INITIAL_BUDGET {
                assert!(poll_proceed(&mut cx).is_ready());
            }
            assert!(!has_budget_remaining());
            assert!(poll_proceed(&mut cx).is_pending());
            // A nested scope gets a fresh budget and gives the outer one back.
            budget(|| assert!(poll_proceed(&mut cx).is_ready()));
            assert!(poll_proceed(&mut cx).is_pending());
        });
        assert!(poll_proceed(&mut cx).is_ready());
    }

    #[test]
    fn exhausted_budget_wakes_the_task() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        struct Count(AtomicUsize);
        impl std::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        budget(|| while poll_proceed(&mut cx).is_ready() {});
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
    }
}
