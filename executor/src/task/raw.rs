//! The task allocation: header, scheduler hook and stage, in one `Box`, driven through a
//! per-type vtable so that the rest of the crate handles tasks as untyped pointers.
//!
//! ```text
//! Cell<F, S> (repr(C), one allocation)
//! ┌────────────────────────────────────────────┐
//! │ Header  state: AtomicUsize (see state.rs)  │ ← NonNull<Header> points here: the
//! │         vtable: &'static Vtable            │   waker's data pointer, RawTask, and
//! │         links: owner's intrusive list      │   the owned list all use it
//! │         join_waker: Option<Waker>          │
//! │ S       the scheduling hook                │
//! │ Stage   Running(F) | Finished(output) | Consumed
//! └────────────────────────────────────────────┘
//! ```

use std::future::Future;
use std::mem::{self, ManuallyDrop};
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use super::list::Links;
use super::state::{JoinDropped, State, ToIdle, ToNotified, ToRunning};
use super::{Completed, JoinError, RawTask, Run, Schedule, Task};
use crate::loom::cell::UnsafeCell;

/// The type-erased front of every task.
pub(crate) struct Header {
    pub(crate) state: State,
    pub(crate) vtable: &'static Vtable,
    /// The task's process-unique id, fixed at spawn.
    pub(crate) id: super::Id,
    /// Links in the owning executor's list of live tasks; guarded by that list's lock.
    pub(crate) links: UnsafeCell<Links>,
    /// The `JoinHandle`'s waker; ownership is governed by `JOIN_WAKER` (see state.rs).
    pub(crate) join_waker: UnsafeCell<Option<Waker>>,
}

/// Operations that need the concrete future and scheduler types.
pub(crate) struct Vtable {
    /// Polls (or cancels) the task; consumes the queued reference.
    pub(crate) run: unsafe fn(NonNull<Header>) -> Run,
    /// Hands a queued reference to the scheduler.
    pub(crate) schedule: unsafe fn(NonNull<Header>),
    /// Frees the allocation.
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
    /// If the task is complete, moves its output into `*mut Poll<Result<T, JoinError>>`;
    /// otherwise registers the waker.
    pub(crate) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    /// Drops the output in place.
    pub(crate) drop_output: unsafe fn(NonNull<Header>),
    /// Shutdown: drops the future if nobody is polling it.
    pub(crate) shutdown: unsafe fn(NonNull<Header>),
}

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

#[repr(C)]
struct Cell<F: Future, S> {
    header: Header,
    scheduler: S,
    stage: UnsafeCell<Stage<F>>,
}

struct VtableOf<F, S>(std::marker::PhantomData<(F, S)>);

impl<F: Future, S: Schedule> VtableOf<F, S> {
    const VTABLE: Vtable = Vtable {
        run: run::<F, S>,
        schedule: schedule::<F, S>,
        dealloc: dealloc::<F, S>,
        try_read_output: try_read_output::<F, S>,
        drop_output: drop_output::<F, S>,
        shutdown: shutdown::<F, S>,
    };
}

/// Allocates a task holding `refs` references, queued once, with join interest.
pub(crate) fn allocate<F: Future, S: Schedule>(
    future: F,
    scheduler: S,
    refs: usize,
) -> NonNull<Header> {
    let cell = Box::new(Cell {
        header: Header {
            state: State::new(refs),
            vtable: &VtableOf::<F, S>::VTABLE,
            id: super::Id::next(),
            links: UnsafeCell::new(Links::default()),
            join_waker: UnsafeCell::new(None),
        },
        scheduler,
        stage: UnsafeCell::new(Stage::Running(future)),
    });
    // `Cell` is `repr(C)` with the header first, so the cell pointer is a header pointer.
    NonNull::from(Box::leak(cell)).cast()
}

/// Cancels the task at `ptr`: marks it cancelled and, if it is idle, queues it so that its
/// executor drops the future. Called by `JoinHandle::abort` and `AbortHandle::abort`,
/// whose own reference keeps the task alive across the call (and across `schedule`).
pub(crate) fn abort(ptr: NonNull<Header>) {
    // SAFETY: the caller holds a reference, so the header is live.
    let header = unsafe { ptr.as_ref() };
    match header.state.transition_to_cancelled() {
        super::state::ToNotified::Submit => {
            // SAFETY: the transition reserved a queued reference for the scheduler.
            unsafe { (header.vtable.schedule)(ptr) }
        }
        super::state::ToNotified::Nothing | super::state::ToNotified::Dealloc => {}
    }
}

/// # Safety
///
/// `ptr` must point to a live `Cell<F, S>` whose type matches.
unsafe fn cell<'a, F: Future, S>(ptr: NonNull<Header>) -> &'a Cell<F, S> {
    // SAFETY: the caller guarantees the pointee type and liveness.
    unsafe { ptr.cast::<Cell<F, S>>().as_ref() }
}

/// # Safety
///
/// `ptr` is a live `Cell<F, S>`; the caller transfers a queued reference.
unsafe fn schedule<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: called through this type's vtable on a live task.
    let cell = unsafe { cell::<F, S>(ptr) };
    // SAFETY: the caller transferred a queued reference (NOTIFIED set) to us.
    cell.scheduler.schedule(unsafe { Task::from_raw(ptr) });
}

/// # Safety
///
/// `ptr` is a `Cell<F, S>` whose reference count just reached zero.
unsafe fn dealloc<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the reference count reached zero, so nobody else can reach the cell; it
    // was created by `Box` in `allocate` with this very type.
    let cell = unsafe { Box::from_raw(ptr.cast::<Cell<F, S>>().as_ptr()) };
    // The join waker is foreign code, and this may run on an executor thread: its
    // destructor is called apart, so that a panic in it cannot leak the allocation.
    // SAFETY: nobody else can reach the cell, so the slot is ours.
    let join_waker = cell.header.join_waker.with_mut(|w| unsafe { (*w).take() });
    if let Some(w) = join_waker {
        if call_foreign_waker(|| drop(w)) {
            cell.scheduler.waker_panicked();
        }
    }
    drop(cell);
}

/// # Safety
///
/// `ptr` is a live `Cell<F, S>` and the caller owns its stage (see state.rs).
unsafe fn drop_output<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: called through this type's vtable on a live task.
    let cell = unsafe { cell::<F, S>(ptr) };
    // SAFETY: the caller owns the stage (COMPLETE seen with JOIN_INTEREST held).
    cell.stage.with_mut(|s| unsafe { *s = Stage::Consumed });
}

/// # Safety
///
/// `ptr` is a live `Cell<F, S>`, the caller is its `JoinHandle`, and `dst` points to a
/// `Poll<Result<F::Output, JoinError>>`.
unsafe fn try_read_output<F: Future, S: Schedule>(
    ptr: NonNull<Header>,
    dst: *mut (),
    waker: &Waker,
) {
    // SAFETY: called through this type's vtable on a live task.
    let cell = unsafe { cell::<F, S>(ptr) };
    if !can_read_output(&cell.header, waker) {
        return;
    }
    // SAFETY: COMPLETE is set and the JoinHandle (our caller) holds JOIN_INTEREST, so the
    // stage is the handle's alone.
    let stage = cell
        .stage
        .with_mut(|s| unsafe { mem::replace(&mut *s, Stage::Consumed) });
    let Stage::Finished(out) = stage else {
        panic!("JoinHandle polled after it returned Ready");
    };
    // SAFETY: the JoinHandle<F::Output> passes a pointer to its own output slot.
    unsafe { *dst.cast::<Poll<Result<F::Output, JoinError>>>() = Poll::Ready(out) };
}

/// The `JoinHandle` side of the join waker protocol. Returns `true` if the task is
/// complete (the output may be read); otherwise `waker` is registered.
fn can_read_output(header: &Header, waker: &Waker) -> bool {
    let snapshot = header.state.load();
    if snapshot.is_complete() {
        return true;
    }
    if snapshot.has_join_waker() {
        // SAFETY: with JOIN_WAKER set the slot is frozen; shared reads are allowed.
        let same = header
            .join_waker
            .with(|w| unsafe { (*w).as_ref().is_some_and(|w| w.will_wake(waker)) });
        if same {
            return false;
        }
        // Take the slot back before replacing the waker; fails if the task completed.
        if header.state.unset_join_waker().is_err() {
            return true;
        }
    }
    let new = waker.clone();
    // SAFETY: JOIN_WAKER is clear and the task is not complete: the slot is ours.
    let old = header.join_waker.with_mut(|w| unsafe { (*w).replace(new) });
    // The previous waker may come from another runtime: its drop must not unwind through
    // the protocol.
    call_foreign_waker(|| drop(old));
    match header.state.set_join_waker() {
        Ok(_) => false,
        Err(_) => {
            // Completed in between: the completer saw no waker, so the slot is still ours.
            // SAFETY: `set_join_waker` failed, so JOIN_WAKER was never published: the
            // completer did not read the slot and no one else may, so it is still ours.
            let ours = header.join_waker.with_mut(|w| unsafe { (*w).take() });
            call_foreign_waker(|| drop(ours));
            true
        }
    }
}

/// Called by a dropped `JoinHandle`; releases its reference.
///
/// # Safety
///
/// `ptr` is a live task and the caller is its `JoinHandle`, giving up its reference.
pub(crate) unsafe fn drop_join_handle(ptr: NonNull<Header>) {
    // SAFETY: the handle's reference keeps the task alive.
    let header = unsafe { ptr.as_ref() };
    match header.state.transition_join_handle_dropped() {
        // SAFETY: we held JOIN_INTEREST when COMPLETE was set: the output is ours.
        JoinDropped::DropOutput => unsafe { (header.vtable.drop_output)(ptr) },
        JoinDropped::Detached { had_waker: true } => {
            // SAFETY: we cleared JOIN_WAKER before completion: the slot is ours again.
            let w = header.join_waker.with_mut(|w| unsafe { (*w).take() });
            // A panic in the waker's drop must not skip the release below.
            call_foreign_waker(|| drop(w));
        }
        JoinDropped::Detached { had_waker: false } => {}
    }
    if header.state.ref_dec() {
        // SAFETY: that was the last reference.
        unsafe { (header.vtable.dealloc)(ptr) };
    }
}

/// # Safety
///
/// `ptr` is a live `Cell<F, S>`; the caller transfers its queued reference, and (for a
/// `!Send` future) runs on the thread that owns the task.
unsafe fn run<F: Future, S: Schedule>(ptr: NonNull<Header>) -> Run {
    // SAFETY: called through this type's vtable; the queued reference keeps it alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    match cell.header.state.transition_to_running() {
        ToRunning::Poll => {}
        ToRunning::Cancel => {
            cancel(cell);
            // Our reference goes to the caller with the outcome.
            return Run::Complete(Completed {
                raw: RawTask::from_ptr(ptr),
            });
        }
        ToRunning::Gone => {
            // SAFETY: the task completed while this queued reference waited, and the
            // reference is ours (the caller transferred it): release it and touch the task
            // no more.
            unsafe { release(ptr) };
            return Run::Idle;
        }
    }

    // The waker passed to the future borrows our reference instead of taking one: it is
    // only cloned (ref_inc) if the future keeps it.
    let waker = ManuallyDrop::new(
        // SAFETY: the vtable's functions uphold the `RawWaker` contract for a task header.
        unsafe { Waker::from_raw(RawWaker::new(ptr.as_ptr() as *const (), &WAKER_VTABLE)) },
    );
    let mut cx = Context::from_waker(&waker);
    // Marks the thread as polling a task, so that `block_on` called from the future can
    // refuse (it would block the executor thread the wake-ups it waits for need).
    let polling = crate::context::enter_task_poll();
    // `task_id()` inside the future names this task.
    let _id = super::id::enter(cell.header.id);
    let polled = panic::catch_unwind(AssertUnwindSafe(|| {
        cell.stage.with_mut(|s| {
            // SAFETY: RUNNING is ours, so the stage is ours.
            match unsafe { &mut *s } {
                Stage::Running(f) => {
                    // SAFETY: the future lives in the heap cell and is never moved out of
                    // it: it is dropped in place when the stage is overwritten.
                    let f = unsafe { Pin::new_unchecked(f) };
                    f.poll(&mut cx)
                }
                _ => unreachable!("RUNNING task without a future"),
            }
        })
    }));
    drop(polling);
    let out = match polled {
        Ok(Poll::Pending) => {
            return match cell.header.state.transition_to_idle() {
                ToIdle::Idle => Run::Idle,
                ToIdle::Requeue => {
                    // SAFETY: the transition turned our reference into the queued one.
                    Run::Yielded(unsafe { Task::from_raw(ptr) })
                }
                ToIdle::Dealloc => {
                    // SAFETY: the transition released the last reference.
                    unsafe { dealloc::<F, S>(ptr) };
                    Run::Idle
                }
                ToIdle::Cancel => {
                    cancel(cell);
                    // We still hold our reference: it goes to the caller.
                    Run::Complete(Completed {
                        raw: RawTask::from_ptr(ptr),
                    })
                }
            };
        }
        Ok(Poll::Ready(value)) => Ok(value),
        Err(payload) => Err(JoinError::panic(payload)),
    };
    // The future finished (or panicked): drop it before publishing the output. A panic in
    // its destructor is caught like a panic in `poll`.
    let out = match clear_stage(cell) {
        Ok(()) => out,
        Err(payload) => Err(JoinError::panic(payload)),
    };
    complete(cell, out);
    // Our reference goes to the caller, which releases it with the list's in one step.
    Run::Complete(Completed {
        raw: RawTask::from_ptr(ptr),
    })
}

/// # Safety
///
/// `ptr` is a live `Cell<F, S>` the caller holds a reference to, on the owner's thread
/// for a `!Send` future.
unsafe fn shutdown<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: called through this type's vtable; the caller holds a reference.
    let cell = unsafe { cell::<F, S>(ptr) };
    if cell.header.state.transition_to_shutdown() {
        cancel(cell);
    }
}

/// With RUNNING held: drops the future and completes with a cancelled (or panic) error.
fn cancel<F: Future, S: Schedule>(cell: &Cell<F, S>) {
    let err = match clear_stage(cell) {
        Ok(()) => JoinError::cancelled(),
        Err(payload) => JoinError::panic(payload),
    };
    complete(cell, Err(err));
}

fn clear_stage<F: Future, S>(cell: &Cell<F, S>) -> std::thread::Result<()> {
    panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: RUNNING is held by the caller, so the stage is ours.
        cell.stage.with_mut(|s| unsafe { *s = Stage::Consumed });
    }))
}

/// With RUNNING held: stores the output, sets COMPLETE and tells the `JoinHandle`.
fn complete<F: Future, S: Schedule>(cell: &Cell<F, S>, out: Result<F::Output, JoinError>) {
    // SAFETY: RUNNING is held by the caller, so the stage is ours.
    cell.stage
        .with_mut(|s| unsafe { *s = Stage::Finished(out) });
    let prev = cell.header.state.transition_to_complete();
    if !prev.has_join_interest() {
        // Nobody will ever read the output: it is ours to drop, here and now. A panic in
        // its destructor must not unwind into the executor.
        let _ = clear_stage(cell);
    } else if prev.has_join_waker() {
        // The join waker is foreign code (any runtime's). If it panics, the panic stops
        // here: the task is complete and the caller must go on to release it, and the
        // executor thread must live on to run the other tasks (issue 12).
        let panicked = call_foreign_waker(|| {
            // SAFETY: JOIN_WAKER was set when we completed: the slot is frozen and readable.
            cell.header.join_waker.with(|w| unsafe {
                if let Some(w) = &*w {
                    w.wake_by_ref();
                }
            });
        });
        if panicked {
            cell.scheduler.waker_panicked();
        }
    }
}

/// Runs `f`, which calls into a foreign waker (waking or dropping the `JoinHandle`'s
/// waker), and stops a panic from unwinding further. Returns `true` if `f` panicked; the
/// panic is counted (see [`waker_panics`](super::waker_panics)) and reported once.
fn call_foreign_waker(f: impl FnOnce()) -> bool {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(()) => false,
        Err(payload) => {
            super::record_waker_panic(payload);
            true
        }
    }
}

/// Gives up one reference, freeing the task if it was the last.
///
/// # Safety
///
/// The caller owns one reference to the live task `ptr`.
pub(crate) unsafe fn release(ptr: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the header alive until the decrement.
    let header = unsafe { ptr.as_ref() };
    if header.state.ref_dec() {
        // SAFETY: that was the last reference.
        unsafe { (header.vtable.dealloc)(ptr) };
    }
}

static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(clone_waker, wake_by_val, wake_by_ref, drop_waker);

/// # Safety
///
/// `data` is the header of a live task (the `RawWaker` contract).
unsafe fn clone_waker(data: *const ()) -> RawWaker {
    // SAFETY: `data` is the header of a task kept alive by the waker being cloned.
    let header = unsafe { &*(data as *const Header) };
    header.state.ref_inc();
    RawWaker::new(data, &WAKER_VTABLE)
}

/// # Safety
///
/// `data` is the header of a live task; the waker's reference is consumed.
unsafe fn wake_by_val(data: *const ()) {
    // SAFETY: `data` is a live task header; this waker owns one reference.
    let ptr = unsafe { NonNull::new_unchecked(data as *mut Header) };
    // SAFETY: `ptr` is the header of a task this waker's own reference keeps alive, and
    // the header is only read through shared references.
    let header = unsafe { ptr.as_ref() };
    match header.state.transition_to_notified_by_val() {
        ToNotified::Submit => {
            // SAFETY: the transition made a new queued reference, which we hand over. Our
            // own reference keeps the task, and the scheduler inside it, alive until
            // `schedule` has returned, even if the executor runs or drops the task first.
            unsafe { (header.vtable.schedule)(ptr) };
            // SAFETY: the waker's reference is ours and is not used afterwards.
            unsafe { release(ptr) };
        }
        // SAFETY: our reference was the last one.
        ToNotified::Dealloc => unsafe { (header.vtable.dealloc)(ptr) },
        ToNotified::Nothing => {}
    }
}

/// # Safety
///
/// `data` is the header of a live task.
unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: `data` is a live task header kept alive by this waker.
    let ptr = unsafe { NonNull::new_unchecked(data as *mut Header) };
    // SAFETY: `ptr` is the header of a live task (the waker being woken holds a
    // reference), and the header is only read through shared references.
    let header = unsafe { ptr.as_ref() };
    match header.state.transition_to_notified_by_ref() {
        // SAFETY: the transition reserved a new reference for the queue.
        ToNotified::Submit => unsafe { (header.vtable.schedule)(ptr) },
        ToNotified::Dealloc | ToNotified::Nothing => {}
    }
}

/// # Safety
///
/// `data` is the header of a live task; the waker's reference is released.
unsafe fn drop_waker(data: *const ()) {
    // SAFETY: `data` is a live task header; this waker owns one reference.
    unsafe { release(NonNull::new_unchecked(data as *mut Header)) };
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn cell_layout_is_small() {
        // The memory an idle task costs beyond its future (see docs/executor.md).
        type Small = std::future::Pending<()>;
        let header = std::mem::size_of::<Header>();
        let cell = std::mem::size_of::<Cell<Small, std::sync::Arc<()>>>();
        assert_eq!(header, 56);
        assert!(cell <= 80, "cell of a zero-sized future is {cell} bytes");
        assert_eq!(std::mem::size_of::<Result<(), JoinError>>(), 16);
    }
}
