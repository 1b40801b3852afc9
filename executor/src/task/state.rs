//! The task state word: one `AtomicUsize` in every task header.
//!
//! # Layout
//!
//! ```text
//!  63 ..................... 6 |    5       |      4        |    3      |    2     |    1     |    0
//!  reference count           | JOIN_WAKER | JOIN_INTEREST | CANCELLED | NOTIFIED | COMPLETE | RUNNING
//! ```
//!
//! # Who may touch what
//!
//! - The **future or output slot** (the stage) belongs to whoever set `RUNNING`, until it
//!   sets `COMPLETE`. After `COMPLETE` it belongs to the `JoinHandle` if `JOIN_INTEREST`
//!   was set at the moment `COMPLETE` was set, otherwise to the thread that completed the
//!   task, which drops the output at once.
//! - The **join waker slot** belongs to the `JoinHandle` while `JOIN_WAKER` is clear and
//!   the task is not complete. Once the handle sets `JOIN_WAKER`, the slot is frozen: the
//!   thread that completes the task may read it (to wake the handle), nobody writes it.
//!   The handle clears `JOIN_WAKER` (only while not complete) to get the slot back.
//! - `NOTIFIED` means one reference to the task is, or is about to be, in a run queue.
//!   At most one such reference exists, so a task is never queued twice.
//! - Every `Waker`, the `JoinHandle`, the queued reference and the executor's list of
//!   owned tasks each hold one unit of the reference count. The last one frees the task.
//! - **Whoever hands a task to its scheduler holds a reference of its own for the whole
//!   call**, besides the queued reference it hands over. The scheduler lives inside the
//!   task allocation, and the moment the queued reference is pushed the executor may run
//!   the task, or shut down and drop it; `schedule` goes on using the scheduler after the
//!   push (to unpark a thread). So `wake` by value makes a new queued reference and
//!   releases the waker's own only after `schedule` returns, like `wake_by_ref` and
//!   `abort`, whose callers keep theirs anyway.
//!
//! Every transition is one compare-and-swap loop (or one `fetch_*`) over the whole word,
//! so a reader of a [`Snapshot`] always sees a state that really existed.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::AcqRel, Ordering::Acquire};

/// Set while one thread has exclusive access to the future (polling or dropping it).
pub(crate) const RUNNING: usize = 1 << 0;
/// Set once the future is gone and the output (or a `JoinError`) is in place. Never
/// cleared; `RUNNING` and `COMPLETE` are never both set.
pub(crate) const COMPLETE: usize = 1 << 1;
/// Set while a reference to the task sits in (or is on its way to) a run queue.
pub(crate) const NOTIFIED: usize = 1 << 2;
/// Set by `abort` or shutdown: the next thread to get `RUNNING` drops the future instead
/// of polling it. Never cleared.
pub(crate) const CANCELLED: usize = 1 << 3;
/// Set while the `JoinHandle` exists; it then owns the output once the task completes.
pub(crate) const JOIN_INTEREST: usize = 1 << 4;
/// Set while the join waker slot holds a waker the completing thread may use.
pub(crate) const JOIN_WAKER: usize = 1 << 5;

const REF_SHIFT: usize = 6;
/// One unit of the reference count.
pub(crate) const REF_ONE: usize = 1 << REF_SHIFT;

/// A copy of the state word at one instant.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(pub(crate) usize);

impl Snapshot {
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(crate) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    pub(crate) fn has_join_interest(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    pub(crate) fn has_join_waker(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    pub(crate) fn ref_count(self) -> usize {
        self.0 >> REF_SHIFT
    }
    fn is_idle(self) -> bool {
        self.0 & (RUNNING | COMPLETE) == 0
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("running", &self.is_running())
            .field("complete", &self.is_complete())
            .field("notified", &self.is_notified())
            .field("cancelled", &self.is_cancelled())
            .field("join_interest", &self.has_join_interest())
            .field("join_waker", &self.has_join_waker())
            .field("refs", &self.ref_count())
            .finish()
    }
}

/// What a thread holding a queued reference may do with the task.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ToRunning {
    /// `RUNNING` is ours: poll the future.
    Poll,
    /// `RUNNING` is ours but the task was aborted: drop the future.
    Cancel,
    /// The task already completed (shutdown got there first): drop the reference.
    Gone,
}

/// What the poller must do after the future returned `Pending`.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ToIdle {
    /// The task is idle and the poller's reference was released.
    Idle,
    /// The task was woken while running: the poller's reference is now the queued one.
    Requeue,
    /// The task was aborted while running: `RUNNING` is still held; drop the future.
    Cancel,
    /// The task is idle and the poller's reference was the last one: free it.
    Dealloc,
}

/// What a waker (or `abort`) must do.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ToNotified {
    /// Nothing: already queued, running (the poller will requeue), or complete.
    Nothing,
    /// `NOTIFIED` was set and a new reference was made for the queue: hand the task to
    /// its scheduler. The caller's own reference (a waker's, the `JoinHandle`'s) is still
    /// the caller's, and keeps the task and its scheduler alive while `schedule` runs.
    Submit,
    /// The consumed reference was the last one: free the task.
    Dealloc,
}

/// What a dropped `JoinHandle` must clean up.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinDropped {
    /// The task is complete: the handle owns the output and must drop it.
    DropOutput,
    /// The task is not complete and the handle owned the waker slot: it may drop the
    /// waker in it (`true`) or the slot was already empty of interest (`false`).
    Detached { had_waker: bool },
}

/// The atomic state word of a task.
pub(crate) struct State {
    val: AtomicUsize,
}

impl State {
    /// A new task: queued once (the spawner's reference), with a `JoinHandle`, holding
    /// `refs` references in all.
    pub(crate) fn new(refs: usize) -> State {
        State {
            val: AtomicUsize::new(NOTIFIED | JOIN_INTEREST | (refs * REF_ONE)),
        }
    }

    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.val.load(Acquire))
    }

    /// Runs a compare-and-swap loop: `f` maps the current snapshot to the outcome and,
    /// optionally, the next value. Returns the outcome once the store (if any) succeeded.
    #[inline]
    fn update<T>(&self, mut f: impl FnMut(Snapshot) -> (T, Option<usize>)) -> T {
        let mut cur = self.val.load(Acquire);
        loop {
            let (out, next) = f(Snapshot(cur));
            let Some(next) = next else { return out };
            match self.val.compare_exchange_weak(cur, next, AcqRel, Acquire) {
                Ok(_) => return out,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Called by the holder of the queued reference before polling.
    pub(crate) fn transition_to_running(&self) -> ToRunning {
        self.update(|s| {
            debug_assert!(s.is_notified() || s.is_complete());
            if !s.is_idle() {
                // Shutdown cancelled the task while this reference sat in a queue.
                return (ToRunning::Gone, None);
            }
            let next = (s.0 & !NOTIFIED) | RUNNING;
            if s.is_cancelled() {
                (ToRunning::Cancel, Some(next))
            } else {
                (ToRunning::Poll, Some(next))
            }
        })
    }

    /// Called by the poller when the future returned `Pending`. Releases `RUNNING` and,
    /// unless the task must be requeued, the poller's reference.
    pub(crate) fn transition_to_idle(&self) -> ToIdle {
        self.update(|s| {
            debug_assert!(s.is_running());
            if s.is_cancelled() {
                // An abort arrived during the poll; we still own the future, so we drop it.
                return (ToIdle::Cancel, None);
            }
            let next = s.0 & !RUNNING;
            if s.is_notified() {
                // Woken during the poll: the waker left the queueing to us, and our
                // reference becomes the queued one.
                (ToIdle::Requeue, Some(next))
            } else if Snapshot(next).ref_count() == 1 {
                (ToIdle::Dealloc, Some(next - REF_ONE))
            } else {
                (ToIdle::Idle, Some(next - REF_ONE))
            }
        })
    }

    /// Called by the thread holding `RUNNING` once the output (or error) is stored.
    /// Returns the snapshot just before, which tells who owns the output and whether the
    /// join waker must be woken.
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        let prev = Snapshot(self.val.fetch_xor(RUNNING | COMPLETE, AcqRel));
        debug_assert!(prev.is_running() && !prev.is_complete());
        prev
    }

    /// `Waker::wake_by_ref`: may reserve a new reference for the queue.
    pub(crate) fn transition_to_notified_by_ref(&self) -> ToNotified {
        self.update(|s| {
            if s.is_complete() || s.is_notified() {
                (ToNotified::Nothing, None)
            } else if s.is_running() {
                // The poller requeues the task when its poll returns.
                (ToNotified::Nothing, Some(s.0 | NOTIFIED))
            } else {
                Self::check_overflow(s);
                (ToNotified::Submit, Some((s.0 | NOTIFIED) + REF_ONE))
            }
        })
    }

    /// `Waker::wake`: consumes the waker's reference, except on `Submit`.
    ///
    /// On `Submit` a *new* reference is made for the queue, as in
    /// [`transition_to_notified_by_ref`](Self::transition_to_notified_by_ref), and the
    /// waker keeps its own until the scheduler has returned, then releases it. Handing the
    /// waker's reference to the queue instead would let the executor run (or shut down)
    /// and free the task, and the scheduler stored in it, while `schedule` still uses the
    /// scheduler after its push (issue 12).
    pub(crate) fn transition_to_notified_by_val(&self) -> ToNotified {
        self.update(|s| {
            if s.is_complete() || s.is_notified() {
                let next = s.0 - REF_ONE;
                if Snapshot(next).ref_count() == 0 {
                    (ToNotified::Dealloc, Some(next))
                } else {
                    (ToNotified::Nothing, Some(next))
                }
            } else if s.is_running() {
                // The poller still holds a reference, so this cannot reach zero.
                (ToNotified::Nothing, Some((s.0 | NOTIFIED) - REF_ONE))
            } else {
                Self::check_overflow(s);
                (ToNotified::Submit, Some((s.0 | NOTIFIED) + REF_ONE))
            }
        })
    }

    /// `JoinHandle::abort`, from any thread. An idle task is queued so that an executor
    /// thread drops its future.
    pub(crate) fn transition_to_cancelled(&self) -> ToNotified {
        self.update(|s| {
            if s.is_complete() || s.is_cancelled() {
                (ToNotified::Nothing, None)
            } else if s.is_running() || s.is_notified() {
                // Whoever runs it next (or finishes the current poll) sees CANCELLED.
                (ToNotified::Nothing, Some(s.0 | CANCELLED))
            } else {
                Self::check_overflow(s);
                (
                    ToNotified::Submit,
                    Some((s.0 | CANCELLED | NOTIFIED) + REF_ONE),
                )
            }
        })
    }

    /// Executor shutdown (no worker is polling any more). Returns `true` if the caller got
    /// `RUNNING` and must drop the future itself.
    pub(crate) fn transition_to_shutdown(&self) -> bool {
        self.update(|s| {
            if s.is_idle() {
                (true, Some(s.0 | RUNNING | CANCELLED))
            } else {
                (false, Some(s.0 | CANCELLED))
            }
        })
    }

    /// The `JoinHandle` publishes the waker it just wrote. Fails (returning the snapshot)
    /// if the task completed meanwhile; the slot then still belongs to the handle.
    pub(crate) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.update(|s| {
            debug_assert!(s.has_join_interest() && !s.has_join_waker());
            if s.is_complete() {
                (Err(s), None)
            } else {
                (Ok(s), Some(s.0 | JOIN_WAKER))
            }
        })
    }

    /// The `JoinHandle` takes its waker slot back to replace the waker. Fails if the task
    /// completed meanwhile; the completing thread may then be reading the slot.
    pub(crate) fn unset_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.update(|s| {
            debug_assert!(s.has_join_interest() && s.has_join_waker());
            if s.is_complete() {
                (Err(s), None)
            } else {
                (Ok(s), Some(s.0 & !JOIN_WAKER))
            }
        })
    }

    /// The `JoinHandle` is dropped. Does not release its reference.
    pub(crate) fn transition_join_handle_dropped(&self) -> JoinDropped {
        self.update(|s| {
            debug_assert!(s.has_join_interest());
            if s.is_complete() {
                (JoinDropped::DropOutput, Some(s.0 & !JOIN_INTEREST))
            } else {
                let had_waker = s.has_join_waker();
                (
                    JoinDropped::Detached { had_waker },
                    Some(s.0 & !(JOIN_INTEREST | JOIN_WAKER)),
                )
            }
        })
    }

    /// Adds a reference (a cloned waker).
    pub(crate) fn ref_inc(&self) {
        use crate::loom::sync::atomic::Ordering::Relaxed;
        // Relaxed is enough: the new reference is made from an existing one, which keeps
        // the task alive, and no data is published by the increment.
        let prev = self.val.fetch_add(REF_ONE, Relaxed);
        if prev > isize::MAX as usize {
            // Billions of leaked wakers: better to stop than to wrap into use-after-free.
            std::process::abort();
        }
    }

    /// Releases a reference. Returns `true` if it was the last one.
    pub(crate) fn ref_dec(&self) -> bool {
        let prev = Snapshot(self.val.fetch_sub(REF_ONE, AcqRel));
        debug_assert!(prev.ref_count() >= 1);
        prev.ref_count() == 1
    }

    /// Releases two references at once (the runner's and the owner list's, when a task
    /// completes). Returns `true` if they were the last ones.
    pub(crate) fn ref_dec_twice(&self) -> bool {
        let prev = Snapshot(self.val.fetch_sub(2 * REF_ONE, AcqRel));
        debug_assert!(prev.ref_count() >= 2);
        prev.ref_count() == 2
    }

    fn check_overflow(s: Snapshot) {
        if s.0 > isize::MAX as usize {
            std::process::abort();
        }
    }
}

/// Flags of a snapshot, without the reference count (for tests and `Debug`).
#[cfg(all(test, not(loom)))]
fn flags(s: Snapshot) -> usize {
    s.0 & (REF_ONE - 1)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn state(bits: usize, refs: usize) -> State {
        State {
            val: AtomicUsize::new(bits | (refs * REF_ONE)),
        }
    }

    #[test]
    fn new_task_is_queued_with_join_interest() {
        let s = State::new(3).load();
        assert!(s.is_notified() && s.has_join_interest());
        assert!(!s.is_running() && !s.is_complete());
        assert_eq!(s.ref_count(), 3);
    }

    #[test]
    fn to_running_table() {
        // (bits before, outcome, bits after)
        let table = [
            (NOTIFIED, ToRunning::Poll, RUNNING),
            (NOTIFIED | CANCELLED, ToRunning::Cancel, RUNNING | CANCELLED),
            (NOTIFIED | COMPLETE, ToRunning::Gone, NOTIFIED | COMPLETE),
        ];
        for (before, outcome, after) in table {
            let st = state(before, 2);
            assert_eq!(st.transition_to_running(), outcome, "from {before:#b}");
            assert_eq!(flags(st.load()), after, "from {before:#b}");
            assert_eq!(st.load().ref_count(), 2);
        }
    }

    #[test]
    fn to_idle_table() {
        // (bits before, refs before, outcome, bits after, refs after)
        let table = [
            (RUNNING, 2, ToIdle::Idle, 0, 1),
            (RUNNING, 1, ToIdle::Dealloc, 0, 0),
            (RUNNING | NOTIFIED, 2, ToIdle::Requeue, NOTIFIED, 2),
            (
                RUNNING | CANCELLED,
                2,
                ToIdle::Cancel,
                RUNNING | CANCELLED,
                2,
            ),
        ];
        for (before, refs, outcome, after, refs_after) in table {
            let st = state(before, refs);
            assert_eq!(st.transition_to_idle(), outcome, "from {before:#b}");
            assert_eq!(flags(st.load()), after, "from {before:#b}");
            assert_eq!(st.load().ref_count(), refs_after, "from {before:#b}");
        }
    }

    #[test]
    fn wake_by_ref_table() {
        let table = [
            (0, ToNotified::Submit, NOTIFIED, 2),
            (NOTIFIED, ToNotified::Nothing, NOTIFIED, 1),
            (RUNNING, ToNotified::Nothing, RUNNING | NOTIFIED, 1),
            (COMPLETE, ToNotified::Nothing, COMPLETE, 1),
        ];
        for (before, outcome, after, refs) in table {
            let st = state(before, 1);
            assert_eq!(st.transition_to_notified_by_ref(), outcome);
            assert_eq!(flags(st.load()), after, "from {before:#b}");
            assert_eq!(st.load().ref_count(), refs, "from {before:#b}");
        }
    }

    #[test]
    fn wake_by_val_table() {
        let table = [
            // The waker keeps its reference across `schedule` and releases it after.
            (0, 2, ToNotified::Submit, NOTIFIED, 3),
            (NOTIFIED, 2, ToNotified::Nothing, NOTIFIED, 1),
            (RUNNING, 2, ToNotified::Nothing, RUNNING | NOTIFIED, 1),
            (COMPLETE, 1, ToNotified::Dealloc, COMPLETE, 0),
        ];
        for (before, refs, outcome, after, refs_after) in table {
            let st = state(before, refs);
            assert_eq!(st.transition_to_notified_by_val(), outcome);
            assert_eq!(flags(st.load()), after, "from {before:#b}");
            assert_eq!(st.load().ref_count(), refs_after, "from {before:#b}");
        }
    }

    #[test]
    fn cancel_table() {
        let table = [
            (0, ToNotified::Submit, CANCELLED | NOTIFIED, 2),
            (NOTIFIED, ToNotified::Nothing, NOTIFIED | CANCELLED, 1),
            (RUNNING, ToNotified::Nothing, RUNNING | CANCELLED, 1),
            (COMPLETE, ToNotified::Nothing, COMPLETE, 1),
            (
                CANCELLED | NOTIFIED,
                ToNotified::Nothing,
                CANCELLED | NOTIFIED,
                1,
            ),
        ];
        for (before, outcome, after, refs) in table {
            let st = state(before, 1);
            assert_eq!(st.transition_to_cancelled(), outcome);
            assert_eq!(flags(st.load()), after, "from {before:#b}");
            assert_eq!(st.load().ref_count(), refs);
        }
    }

    #[test]
    fn complete_and_join_table() {
        let st = state(RUNNING | JOIN_INTEREST | JOIN_WAKER, 2);
        let prev = st.transition_to_complete();
        assert!(prev.has_join_waker() && prev.has_join_interest());
        assert_eq!(flags(st.load()), COMPLETE | JOIN_INTEREST | JOIN_WAKER);
        assert!(st.unset_join_waker().is_err());
        assert_eq!(st.transition_join_handle_dropped(), JoinDropped::DropOutput);
        assert_eq!(flags(st.load()), COMPLETE | JOIN_WAKER);

        let st = state(JOIN_INTEREST, 2);
        assert!(st.set_join_waker().is_ok());
        assert_eq!(
            st.transition_join_handle_dropped(),
            JoinDropped::Detached { had_waker: true }
        );
        assert_eq!(flags(st.load()), 0);
    }

    #[test]
    fn shutdown_takes_idle_tasks_only() {
        let st = state(NOTIFIED, 2);
        assert!(st.transition_to_shutdown());
        assert_eq!(flags(st.load()), NOTIFIED | RUNNING | CANCELLED);
        let st = state(RUNNING, 2);
        assert!(!st.transition_to_shutdown());
        assert_eq!(flags(st.load()), RUNNING | CANCELLED);
    }

    #[test]
    fn ref_counting() {
        let st = state(0, 2);
        st.ref_inc();
        assert!(!st.ref_dec());
        assert!(st.ref_dec_twice());
    }
}
