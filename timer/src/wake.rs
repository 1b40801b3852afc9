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
//! [`Metrics::waker_panics`](crate::Metrics::waker_panics), handed to the timer's
//! [`WakerPanicHook`] if it was given one
//! ([`Builder::on_waker_panic`](crate::Builder::on_waker_panic)), and the timer goes on
//! with the next waker. The timer itself prints nothing: the panic hook already printed
//! the panic where it happened, and a library does not write to its user's stderr.
//! Wakers are only ever called with the wheel lock released, so no half-done update of the
//! wheel can be exposed by the unwind.

use std::any::Any;
use std::task::Waker;

use crate::metrics::Counters;

/// Called with the payload of every waker panic the timer catches, on the thread that
/// caught it, after the panic was counted. It must not block; a panic inside it is caught
/// and forgotten.
pub type WakerPanicHook = fn(&(dyn Any + Send));

/// Wakes `waker`, catching a panic: counts it, and hands it to `hook` if there is one.
pub(crate) fn wake(waker: Waker, counters: &Counters, hook: Option<WakerPanicHook>) {
    #[cfg(not(loom))]
    {
        use std::panic::{catch_unwind, AssertUnwindSafe};
        // AssertUnwindSafe: no lock is held and nothing of the waker is kept afterwards,
        // so there is no broken state the panic could expose.
        if let Err(payload) = catch_unwind(AssertUnwindSafe(move || waker.wake())) {
            counters.add_waker_panic();
            if let Some(hook) = hook {
                // The hook is the user's code: a panic in it is caught, and its payload
                // dropped like the waker's (below).
                if let Err(again) = catch_unwind(AssertUnwindSafe(|| hook(&*payload))) {
                    drop_payload(again);
                }
            }
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
        let _ = (counters, hook);
        waker.wake();
    }
}

/// Drops a caught panic's payload. The payload is foreign too, so its destructor may panic
/// once more: that second payload alone is forgotten (a leak of one box, only for a
/// payload whose drop panics), so that nothing unwinds out of ply's threads.
#[cfg(not(loom))]
fn drop_payload(payload: Box<dyn std::any::Any + Send>) {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
}
