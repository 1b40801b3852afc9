//! [`JoinSet`]: a group of tasks awaited in the order they finish.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use super::{AbortHandle, JoinError, JoinHandle};
use crate::loom::sync::Mutex;

/// A set of tasks whose outputs are collected in the order the tasks finish.
///
/// Spawn into it ([`spawn`](Self::spawn), [`spawn_local`](Self::spawn_local),
/// [`spawn_on`](Self::spawn_on)) or [`insert`](Self::insert) a `JoinHandle` you already
/// have; then [`join_next`](Self::join_next) returns the next output as soon as any task
/// has one, and `None` once the set is empty.
///
/// Dropping the set **aborts** every task still in it (as tokio's `JoinSet` does): a
/// task's lifetime is tied to the set. [`detach_all`](Self::detach_all) lets them run on
/// instead.
///
/// # Implementation
///
/// Each member's `JoinHandle` is polled with a waker of its own that records the
/// member's slot in a shared ready list and wakes whoever waits in `join_next`. So
/// `join_next` polls only the members that were woken, not all of them: O(1) per finished
/// task. A slot may be polled spuriously (a late wake for a member already collected); that
/// costs one poll that returns `Pending`.
///
/// # Differences from tokio's `JoinSet`
///
/// - `join_next` returns `Option<Result<T, JoinError>>`, and ply's `JoinError` has the same
///   `is_cancelled`/`is_panic` as tokio's. There is no `join_next_with_id`: use
///   [`JoinHandle::id`] before inserting, or [`task_id`](crate::task_id) inside the task.
/// - `spawn` uses the current ply executor (multi-threaded or local) and panics outside
///   one, like [`spawn`](crate::spawn); `spawn_on` takes an explicit [`Handle`](crate::Handle).
///
/// # Examples
///
/// ```
/// let ex = ply_executor::Executor::builder().worker_threads(2).build()?;
/// let sum = ex.block_on(async {
///     let mut set = ply_executor::JoinSet::new();
///     for i in 0..10u64 {
///         set.spawn(async move { i * i });
///     }
///     let mut sum = 0;
///     while let Some(res) = set.join_next().await {
///         sum += res.unwrap();
///     }
///     sum
/// });
/// assert_eq!(sum, 285);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct JoinSet<T> {
    slots: Vec<Option<Member<T>>>,
    /// Slots of `slots` that are empty, for reuse.
    free: Vec<usize>,
    len: usize,
    ready: Arc<Ready>,
}

struct Member<T> {
    handle: JoinHandle<T>,
    waker: Waker,
}

/// What the members' wakers share with the set.
#[derive(Default)]
struct Ready {
    /// Slots whose task may have finished since the set last looked.
    slots: Mutex<Vec<usize>>,
    /// The waker of the task waiting in `join_next`.
    waiter: Mutex<Option<Waker>>,
}

struct MemberWaker {
    slot: usize,
    ready: Arc<Ready>,
}

impl Wake for MemberWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.slots.lock().push(self.slot);
        let waiter = self.ready.waiter.lock().take();
        if let Some(w) = waiter {
            w.wake();
        }
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet::new()
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
            ready: Arc::default(),
        }
    }

    /// The number of tasks in the set (finished ones count until collected).
    pub fn len(&self) -> usize {
        self.len
    }

    /// `true` if the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a task you already spawned. Returns a handle that aborts it.
    pub fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let slot = self.free.pop().unwrap_or(self.slots.len());
        let waker = Waker::from(Arc::new(MemberWaker {
            slot,
            ready: self.ready.clone(),
        }));
        // Polled once by the next `join_next`, which hands the handle its waker.
        waker.wake_by_ref();
        let member = Some(Member { handle, waker });
        if slot == self.slots.len() {
            self.slots.push(member);
        } else {
            self.slots[slot] = member;
        }
        self.len += 1;
        abort
    }

    /// Spawns `future` on the current ply executor and adds it to the set.
    ///
    /// # Panics
    ///
    /// Outside a ply executor, as [`spawn`](crate::spawn).
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.insert(crate::spawn(future))
    }

    /// Spawns `future` on the given multi-threaded executor and adds it to the set.
    pub fn spawn_on<F>(&mut self, future: F, handle: &crate::Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.insert(handle.spawn(future))
    }

    /// Spawns a `!Send` future on the current local executor and adds it to the set.
    ///
    /// # Panics
    ///
    /// Outside a [`LocalExecutor`](crate::LocalExecutor), as
    /// [`spawn_local`](crate::spawn_local).
    #[track_caller]
    pub fn spawn_local<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
        T: 'static,
    {
        self.insert(crate::spawn_local(future))
    }

    /// Waits for the next task to finish and returns its output; `None` if the set is
    /// empty.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        std::future::poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// Returns the output of a task that has finished, if there is one, without waiting.
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        match self.poll_join_next(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(out) => out,
            Poll::Pending => None,
        }
    }

    /// The polling form of [`join_next`](Self::join_next).
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        if self.len == 0 {
            return Poll::Ready(None);
        }
        // Register before looking, so a member that finishes meanwhile wakes us.
        *self.ready.waiter.lock() = Some(cx.waker().clone());
        // Each woken slot once per call: a member whose poll wakes itself (a spent budget)
        // goes back on the list and is looked at in the next call.
        let woken = std::mem::take(&mut *self.ready.slots.lock());
        let mut found = None;
        let mut rest = Vec::new();
        for slot in woken {
            if found.is_some() {
                rest.push(slot);
                continue;
            }
            let Some(member) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
                continue; // a late wake of a member already collected
            };
            let waker = member.waker.clone();
            if let Poll::Ready(out) =
                Pin::new(&mut member.handle).poll(&mut Context::from_waker(&waker))
            {
                found = Some((slot, out));
            }
        }
        if !rest.is_empty() {
            self.ready.slots.lock().extend(rest);
        }
        if let Some((slot, out)) = found {
            self.slots[slot] = None;
            self.free.push(slot);
            self.len -= 1;
            return Poll::Ready(Some(out));
        }
        if !self.ready.slots.lock().is_empty() {
            // Members woke during our polls: look again soon, after others ran.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }

    /// Aborts every task in the set. They stay in it: `join_next` then returns their
    /// outputs or cancelled errors.
    pub fn abort_all(&mut self) {
        for member in self.slots.iter().flatten() {
            member.handle.abort();
        }
    }

    /// Removes every task from the set without aborting it: they run on, detached.
    pub fn detach_all(&mut self) {
        self.slots.clear();
        self.free.clear();
        self.len = 0;
        self.ready.slots.lock().clear();
    }

    /// Aborts every task and waits until all of them have finished.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len).finish()
    }
}
