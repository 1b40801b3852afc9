//! Calling wakers that are not ours.
//!
//! A [`Waker`] is foreign code: its `wake` and its `drop` run whatever the executor (or a
//! hand-written future) put behind it, and either may panic. The reactor calls wakers on
//! threads it does not own the fate of: the reactor thread, a runtime's worker in
//! its parker, whoever called [`Reactor::shutdown`](crate::Reactor::shutdown). Were a
//! panic to unwind out of there, it would kill the reactor thread (after which no
//! `Async` in the process is ever woken again) or abandon the rest of a batch of wakes
//! (whose tasks would then sleep forever).
//!
//! So every waker the reactor calls or drops goes through [`call`]: a panic is caught,
//! counted in [`ReactorStats::waker_panics`](crate::ReactorStats::waker_panics), and
//! handed to the reactor's [`WakerPanicHook`] if it was given one
//! ([`Builder::on_waker_panic`](crate::Builder::on_waker_panic)); the next waker of the
//! batch is then called as usual. The reactor itself prints nothing: the panic was
//! already printed by the panic hook where it happened, and a library does not write to
//! its user's stderr.

use crate::loom::sync::atomic::AtomicU64;
use std::any::Any;
use std::task::Waker;

/// Called with the payload of every waker panic the reactor catches, on the thread that
/// caught it, after the panic was counted. It must not block; a panic inside it is caught
/// and forgotten.
pub type WakerPanicHook = fn(&(dyn Any + Send));

/// Where a caught waker panic is reported: its count, and the reactor's hook if any.
#[derive(Clone, Copy)]
pub(crate) struct Report<'a> {
    pub(crate) panics: &'a AtomicU64,
    pub(crate) hook: Option<WakerPanicHook>,
}

/// Wakes `waker`, catching a panic; reports it to `report`.
pub(crate) fn wake(waker: Waker, report: Report<'_>) {
    call(move || waker.wake(), report);
}

/// Drops `waker` (its task stopped waiting), catching a panic; reports it to `report`.
pub(crate) fn drop(waker: Waker, report: Report<'_>) {
    call(move || std::mem::drop(waker), report);
}

#[cfg(not(loom))]
fn call(f: impl FnOnce(), report: Report<'_>) {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    // AssertUnwindSafe: the callers hold no lock that guards a half-done update and keep
    // nothing of the waker afterwards, so there is no broken state a panic could expose.
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        // Relaxed: a statistic, ordered with nothing else.
        report
            .panics
            .fetch_add(1, crate::loom::sync::atomic::Ordering::Relaxed);
        if let Some(hook) = report.hook {
            // The hook is the user's code: a panic in it is caught, and its payload dropped
            // like the waker's (below).
            if let Err(again) = catch_unwind(AssertUnwindSafe(|| hook(&*payload))) {
                drop_payload(again);
            }
        }
        // The payload is foreign too: its drop may panic once more. That one is dropped
        // on the floor (forgotten), so nothing can unwind out of here.
        if let Err(again) = catch_unwind(AssertUnwindSafe(move || std::mem::drop(payload))) {
            std::mem::forget(again);
        }
    }
}

/// Under loom the models call no panicking waker, and loom reports a failed model by
/// panicking, which must not be swallowed here.
#[cfg(loom)]
fn call(f: impl FnOnce(), report: Report<'_>) {
    let _ = (report.panics, report.hook);
    f();
}

/// Drops a caught panic's payload. The payload is foreign too, so its destructor may panic
/// once more: that second payload alone is forgotten (a leak of one box, only for a
/// payload whose drop panics), so that nothing unwinds out of ply's threads.
#[cfg(not(loom))]
fn drop_payload(payload: Box<dyn std::any::Any + Send>) {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || std::mem::drop(payload))) {
        std::mem::forget(again);
    }
}
