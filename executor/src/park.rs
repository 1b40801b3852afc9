//! The parking seam: how an executor waits when it has nothing to run.
//!
//! An executor with no ready task calls [`Park::park`]. Whoever implements the trait decides
//! what "waiting" means: the default [`ThreadParker`] blocks the thread on a condition
//! variable; `ply-net`'s parker waits in the reactor (`epoll_wait`) with the timer's next
//! deadline as the timeout, so I/O and timers run while the executor idles. A wake-up from
//! any thread (a task woken elsewhere) goes through the parker's [`Unpark`] handle.
//!
//! # The contract
//!
//! - `park` blocks until `unpark` is called on one of the parker's unparkers, **or** for no
//!   reason at all: spurious returns are allowed, and executors re-check their queues after
//!   every return.
//! - An `unpark` that happens *before* `park` is not lost: the next `park` (or
//!   `park_timeout`) returns at once. Several `unpark`s before one `park` count as one.
//! - `park_timeout(d)` is `park` that also returns after about `d`.
//! - The unparker is `Send + Sync + Clone`, and calling it from any thread, any number of
//!   times, at any moment (even after the parker is gone) is allowed.
//! - A parker may run arbitrary code while parked, such as waking tasks (that is the point
//!   of a reactor parker): executors hold no lock and no borrow of their queues across
//!   `park`. A parker that wakes tasks must then return from `park`: a task woken on the
//!   parking thread itself is queued locally *without* an unpark, so the executor only
//!   sees it once `park` returns.
//!
//! # Implementation
//!
//! [`ThreadParker`] is a three-state word (`EMPTY`, `PARKED`, `NOTIFIED`) in front of a
//! mutex and condition variable. `unpark` swaps in `NOTIFIED` and only takes the lock and
//! signals when it saw `PARKED`, so unparking a running thread costs one atomic swap.

use std::fmt;
use std::time::Duration;

use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Arc, Condvar, Mutex};

/// Something an executor can block on when it has no work: the parking seam.
///
/// See the [module documentation](self) for the contract.
///
/// # Examples
///
/// A parker that counts how often the executor parked, around the default one:
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
/// use ply_executor::park::{Park, ThreadParker};
///
/// struct Counting {
///     inner: ThreadParker,
///     parks: Arc<AtomicUsize>,
/// }
///
/// impl Park for Counting {
///     type Unparker = <ThreadParker as Park>::Unparker;
///     fn unparker(&self) -> Self::Unparker {
///         self.inner.unparker()
///     }
///     fn park(&mut self) {
///         self.parks.fetch_add(1, Ordering::Relaxed);
///         self.inner.park();
///     }
///     fn park_timeout(&mut self, timeout: Duration) {
///         self.parks.fetch_add(1, Ordering::Relaxed);
///         self.inner.park_timeout(timeout);
///     }
/// }
///
/// let parks = Arc::new(AtomicUsize::new(0));
/// let ex = ply_executor::LocalExecutor::with_parker(Counting {
///     inner: ThreadParker::new(),
///     parks: parks.clone(),
/// });
/// let mut started = false;
/// let value = ex.block_on(std::future::poll_fn(|cx| {
///     if started {
///         return std::task::Poll::Ready(7);
///     }
///     started = true;
///     // Nothing else to do until another thread wakes us: the executor parks.
///     let waker = cx.waker().clone();
///     std::thread::spawn(move || {
///         std::thread::sleep(Duration::from_millis(5));
///         waker.wake();
///     });
///     std::task::Poll::Pending
/// }));
/// assert_eq!(value, 7);
/// assert!(parks.load(Ordering::Relaxed) >= 1);
/// ```
pub trait Park {
    /// The handle that wakes this parker.
    type Unparker: Unpark + Clone;

    /// Returns a handle that makes the current or next `park` return.
    fn unparker(&self) -> Self::Unparker;

    /// Blocks until unparked (or spuriously).
    fn park(&mut self);

    /// Blocks until unparked, spuriously, or until about `timeout` has passed.
    fn park_timeout(&mut self, timeout: Duration);
}

/// Wakes a [`Park`]er, from any thread.
///
/// # Examples
///
/// ```
/// use ply_executor::park::{Park, ThreadParker, Unpark};
///
/// let mut parker = ThreadParker::new();
/// let unparker = parker.unparker();
/// unparker.unpark(); // before park: remembered
/// parker.park(); // returns at once
/// ```
pub trait Unpark: Send + Sync + 'static {
    /// Makes the parker's current `park` return, or its next one return at once.
    fn unpark(&self);
}

impl<T: Unpark + ?Sized> Unpark for std::sync::Arc<T> {
    fn unpark(&self) {
        (**self).unpark();
    }
}

impl<T: Unpark + ?Sized> Unpark for Box<T> {
    fn unpark(&self) {
        (**self).unpark();
    }
}

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

struct Inner {
    /// `EMPTY`, `PARKED` (the owner waits on `cond`) or `NOTIFIED` (a wake-up is pending).
    state: AtomicUsize,
    lock: Mutex<()>,
    cond: Condvar,
}

/// The default parker: blocks the current thread on a condition variable.
///
/// It is not tied to the thread that created it: it may be created on one thread and moved
/// to the thread that parks (that is what executor builders do).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ply_executor::park::{Park, ThreadParker, Unpark};
///
/// let mut parker = ThreadParker::new();
/// let unparker = parker.unparker();
/// std::thread::spawn(move || unparker.unpark());
/// parker.park(); // returns once the other thread unparks (or spuriously)
/// parker.park_timeout(Duration::from_millis(1)); // returns after about 1 ms
/// ```
pub struct ThreadParker {
    inner: Arc<Inner>,
}

/// The [`Unpark`] handle of a [`ThreadParker`].
#[derive(Clone)]
pub struct ThreadUnparker {
    inner: Arc<Inner>,
}

impl ThreadParker {
    /// Creates a parker with no pending wake-up.
    pub fn new() -> ThreadParker {
        ThreadParker {
            inner: Arc::new(Inner {
                state: AtomicUsize::new(EMPTY),
                lock: Mutex::new(()),
                cond: Condvar::new(),
            }),
        }
    }
}

impl Default for ThreadParker {
    fn default() -> Self {
        ThreadParker::new()
    }
}

impl Inner {
    fn park(&self, timeout: Option<Duration>) {
        // Fast path: a wake-up is already pending; consume it.
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        if timeout == Some(Duration::ZERO) {
            return;
        }
        let mut guard = self.lock.lock();
        // Announce that we are about to wait. Done under the lock, so an unparker that sees
        // PARKED and then takes the lock knows we are inside `wait`.
        match self.state.compare_exchange(EMPTY, PARKED, SeqCst, SeqCst) {
            Ok(_) => {}
            Err(NOTIFIED) => {
                // Unparked between the fast path and the lock.
                self.state.swap(EMPTY, SeqCst);
                return;
            }
            Err(other) => unreachable!("ThreadParker parked twice at once (state {other})"),
        }
        match timeout {
            None => loop {
                guard = self.cond.wait(guard);
                if self
                    .state
                    .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                    .is_ok()
                {
                    return;
                }
                // A spurious condvar wake-up: keep waiting.
            },
            Some(timeout) => {
                let (_guard, _timed_out) = self.cond.wait_timeout(guard, timeout);
                // Whether notified or timed out, we are no longer parked; consume any
                // wake-up that arrived.
                self.state.swap(EMPTY, SeqCst);
            }
        }
    }

    fn unpark(&self) {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED => {
                // The parker holds the lock from announcing PARKED until it waits: taking
                // the lock here means it is waiting, so the signal cannot be missed.
                drop(self.lock.lock());
                self.cond.notify_one();
            }
            other => unreachable!("ThreadParker in state {other}"),
        }
    }
}

impl Park for ThreadParker {
    type Unparker = ThreadUnparker;

    fn unparker(&self) -> ThreadUnparker {
        ThreadUnparker {
            inner: self.inner.clone(),
        }
    }

    fn park(&mut self) {
        self.inner.park(None);
    }

    fn park_timeout(&mut self, timeout: Duration) {
        self.inner.park(Some(timeout));
    }
}

impl Unpark for ThreadUnparker {
    fn unpark(&self) {
        self.inner.unpark();
    }
}

impl fmt::Debug for ThreadParker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadParker").finish_non_exhaustive()
    }
}

impl fmt::Debug for ThreadUnparker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadUnparker").finish_non_exhaustive()
    }
}

/// A `Waker` that unparks a parker: how `block_on` turns the seam into a waker.
pub(crate) struct UnparkWaker<U>(pub(crate) U);

impl<U: Unpark> std::task::Wake for UnparkWaker<U> {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.unpark();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn unpark_before_park_is_remembered_once() {
        let mut p = ThreadParker::new();
        let u = p.unparker();
        u.unpark();
        u.unpark();
        let t = Instant::now();
        p.park();
        // The second unpark did not stack up: this waits for the timeout.
        p.park_timeout(Duration::from_millis(20));
        assert!(t.elapsed() >= Duration::from_millis(15));
    }

    #[test]
    fn unpark_from_another_thread_wakes_park() {
        let mut p = ThreadParker::new();
        let u = p.unparker();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            u.unpark();
        });
        p.park();
        t.join().unwrap();
    }
}

#[cfg(all(test, loom))]
mod loom_park {
    use super::*;

    #[test]
    fn loom_unpark_is_never_lost() {
        loom::model(|| {
            let mut p = ThreadParker::new();
            let u = p.unparker();
            let flag = Arc::new(AtomicUsize::new(0));
            let flag2 = flag.clone();
            let th = loom::thread::spawn(move || {
                flag2.store(1, SeqCst);
                u.unpark();
            });
            // Park until the flag is seen: a lost wake-up would deadlock the model.
            while flag.load(SeqCst) == 0 {
                p.park();
            }
            th.join().unwrap();
        });
    }
}
