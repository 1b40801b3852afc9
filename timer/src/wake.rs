//! Calling wakers that are not ours.
//!
//! A [`Waker`] is foreign code: its `wake` (and the drop inside it) runs whatever the
//! executor or a hand-written future put behind it, and may panic. The timer calls wakers
//! on threads whose survival matters: the standalone driver thread (if it died, every
//! `sleep` of the process would hang), a runtime's worker in its parker, and whoever
//! drops a [`Timer`](crate::Timer) or resets a `Sleep`. A panic unwinding from there would
//! also abandon the rest of a batch of fired timers, whose tasks would then never wake.
//!
//! So every wake goes through [`wake`]: a panic is caught, counted in
//! [`Metrics::waker_panics`](crate::Metrics::waker_panics), reported on stderr once per
//! process (the panic hook already printed the panic itself where it happened), and the
//! timer goes on with the next waker. Wakers are only ever called with the wheel lock
//! released, so no half-done update of the wheel can be exposed by the unwind.

use std::task::Waker;

use crate::metrics::Counters;

/// Wakes `waker`, catching and counting a panic.
pub(crate) fn wake(waker: Waker, counters: &Counters) {
    #[cfg(not(loom))]
    {
        use std::panic::{catch_unwind, AssertUnwindSafe};
        // AssertUnwindSafe: no lock is held and nothing of the waker is kept afterwards,
        // so there is no broken state the panic could expose.
        if let Err(payload) = catch_unwind(AssertUnwindSafe(move || waker.wake())) {
            counters.add_waker_panic();
            report_once(&*payload);
            // The payload is foreign too: should its drop panic again, that second
            // payload is forgotten, so nothing unwinds out of here.
            if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
                std::mem::forget(again);
            }
        }
    }
    // Under loom no model has a panicking waker, and loom reports a failed model by
    // panicking, which must not be swallowed.
    #[cfg(loom)]
    {
        let _ = counters;
        waker.wake();
    }
}

#[cfg(not(loom))]
fn report_once(payload: &(dyn std::any::Any + Send)) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static REPORTED: AtomicBool = AtomicBool::new(false);
    if REPORTED.swap(true, Ordering::Relaxed) {
        return;
    }
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a non-string payload");
    eprintln!(
        "ply-timer: a waker panicked ({message}); the timer caught it and carried on. \
         Later waker panics are only counted (Metrics::waker_panics)."
    );
}
