//! The global standalone timer and its thread, *the timer thread*: started lazily, it
//! parks until the next deadline, so that `sleep` works under any executor with no ply
//! runtime at all.
//!
//! The thread owns a [`Timer`] built with an unpark callback that unparks the thread, and
//! loops over [`Timer::turn`] around `park_timeout` (or `park` if there is no deadline):
//! park until the next deadline, then fire what is due. A registration earlier than the
//! deadline it sleeps toward unparks it (`Thread::unpark` keeps a token, so an unpark that
//! arrives before the park is not lost). The thread lives as long as the process: a waker
//! that panics when it fires is caught (see [`Timer`](crate::Timer)'s "Wakers that
//! panic"), so it cannot end the thread and with it every standalone `sleep`. It is not a
//! *driver* (the word is kept for what an idle executor parks in; see
//! docs/architecture.md, "Words").

use crate::handle::TimerHandle;

#[cfg(not(loom))]
mod imp {
    use std::sync::{Arc, OnceLock};
    use std::thread::{self, Thread};

    use crate::handle::TimerHandle;
    use crate::timer::Timer;

    /// The global timer's handle, starting the timer thread on first use.
    pub(crate) fn handle() -> TimerHandle {
        static GLOBAL: OnceLock<TimerHandle> = OnceLock::new();
        GLOBAL.get_or_init(start).clone()
    }

    fn start() -> TimerHandle {
        let timer_thread: Arc<OnceLock<Thread>> = Arc::default();
        let to_unpark = Arc::clone(&timer_thread);
        let timer = Timer::builder()
            .unpark(Arc::new(move || {
                // Before the thread has published itself it has not parked yet either: it
                // will read the wheel before it first parks.
                if let Some(thread) = to_unpark.get() {
                    thread.unpark();
                }
            }))
            .build();
        let handle = timer.handle();
        thread::Builder::new()
            .name("ply-timer".into())
            .spawn(move || {
                let _ = timer_thread.set(thread::current());
                run(&timer)
            })
            .expect("ply-timer: the OS refused to start the standalone timer thread");
        handle
    }

    fn run(timer: &Timer) -> ! {
        loop {
            // `turn` catches every waker's panic itself (in `fire_due`); this second net
            // keeps the thread that every standalone `sleep` depends on alive whatever
            // happens.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                // `park_timeout` may return early (spuriously or on unpark): we just go
                // round.
                timer.turn(None, |timeout| match timeout {
                    None => thread::park(),
                    Some(timeout) => thread::park_timeout(timeout),
                })
            }));
        }
    }

    /// Where a sleep of a shut-down timer goes: the global timer.
    pub(crate) fn fallback() -> Option<TimerHandle> {
        Some(handle())
    }
}

#[cfg(loom)]
mod imp {
    use crate::handle::TimerHandle;
    use crate::timer::Timer;

    /// Under loom there is no timer thread (loom models spawn their own): a paused timer
    /// that nobody drives stands in, so the crate compiles. No model uses it.
    pub(crate) fn handle() -> TimerHandle {
        let timer = Timer::paused();
        let handle = timer.handle();
        std::mem::forget(timer);
        handle
    }

    /// Under loom a sleep of a shut-down timer stays pending (the models check that it was
    /// woken and unlinked, which is the protocol; migrating is plain code).
    pub(crate) fn fallback() -> Option<TimerHandle> {
        None
    }
}

/// The global standalone timer's handle.
pub(crate) fn handle() -> TimerHandle {
    imp::handle()
}

/// The timer that sleeps of a shut-down timer move to.
pub(crate) fn fallback() -> Option<TimerHandle> {
    imp::fallback()
}
