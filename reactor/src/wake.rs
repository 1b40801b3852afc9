//! Calling wakers that are not ours.
//!
//! A [`Waker`] is foreign code: its `wake` and its `drop` run whatever the executor (or a
//! hand-written future) put behind it, and either may panic. The reactor calls wakers on
//! threads it does not own the fate of: the global driver thread, a runtime's worker in
//! its parker, whoever called [`Reactor::shutdown`](crate::Reactor::shutdown). Were a
//! panic to unwind out of there, it would kill the global driver thread (after which no
//! `Async` in the process is ever woken again) or abandon the rest of a batch of wakes
//! (whose tasks would then sleep forever).
//!
//! So every waker the reactor calls or drops goes through [`call`]: a panic is caught,
//! counted in [`ReactorStats::waker_panics`](crate::ReactorStats::waker_panics), and
//! reported on stderr once per process (the panic itself was already printed by the
//! panic hook where it happened); the next waker of the batch is then called as usual.

use crate::loom::sync::atomic::{AtomicU64, Ordering};
use std::task::Waker;

/// Wakes `waker`, catching a panic; counts it in `panics`.
pub(crate) fn wake(waker: Waker, panics: &AtomicU64) {
    call(move || waker.wake(), panics);
}

/// Drops `waker` (its task stopped waiting), catching a panic; counts it in `panics`.
pub(crate) fn drop(waker: Waker, panics: &AtomicU64) {
    call(move || std::mem::drop(waker), panics);
}

#[cfg(not(loom))]
fn call(f: impl FnOnce(), panics: &AtomicU64) {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    // AssertUnwindSafe: the callers hold no lock that guards a half-done update and keep
    // nothing of the waker afterwards, so there is no broken state a panic could expose.
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        // Relaxed: a statistic, ordered with nothing else.
        panics.fetch_add(1, Ordering::Relaxed);
        report_once(&*payload);
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
fn call(f: impl FnOnce(), _panics: &AtomicU64) {
    f();
}

#[cfg(not(loom))]
fn report_once(payload: &(dyn std::any::Any + Send)) {
    use std::sync::atomic::AtomicBool;
    static REPORTED: AtomicBool = AtomicBool::new(false);
    if REPORTED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a non-string payload");
    eprintln!(
        "ply-reactor: a waker panicked ({message}); the reactor caught it and carried on. \
         Later waker panics are only counted (ReactorStats::waker_panics)."
    );
}
