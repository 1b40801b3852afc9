//! loom models of the multi-threaded runtime's worker park state. Run with
//! `LOOM_MAX_PREEMPTIONS=2 RUSTFLAGS="--cfg loom" cargo test --release -p ply-net --lib -- loom`.

use crate::loom::sync::atomic::{AtomicU8, Ordering};
use crate::loom::sync::Arc;
use crate::runtime::driver::{WorkerState, IN_REACTOR};

/// An unpark racing a condvar park is never lost: the park returns.
#[test]
fn loom_worker_park_condvar() {
    loom::model(|| {
        let state = Arc::new(WorkerState::new());
        let s = state.clone();
        let unparker = loom::thread::spawn(move || s.unpark(|| panic!("not in the reactor")));
        state.park_condvar(None);
        unparker.join().unwrap();
    });
}

/// An unpark racing a park in the reactor reaches it through the reactor's wake (modelled
/// as a flag the "epoll wait" spins on), or is seen before the wait begins.
#[test]
fn loom_worker_park_reactor() {
    loom::model(|| {
        let state = Arc::new(WorkerState::new());
        let woken = Arc::new(AtomicU8::new(0));
        let (s, w) = (state.clone(), woken.clone());
        let unparker = loom::thread::spawn(move || {
            s.unpark(|| w.store(1, Ordering::SeqCst));
        });
        if !state.take_notified() && state.begin(IN_REACTOR) {
            // The reactor wait: only the reactor's wake ends it. A lost unpark would spin
            // here forever and fail the model.
            while woken.load(Ordering::SeqCst) == 0 {
                loom::thread::yield_now();
            }
            state.end();
        }
        unparker.join().unwrap();
    });
}

/// The reactor was taken by another worker: the park moves to the condvar, and an unpark
/// that came while it was marked IN_REACTOR is not lost on the way.
#[test]
fn loom_worker_park_reactor_taken_then_condvar() {
    loom::model(|| {
        let state = Arc::new(WorkerState::new());
        let s = state.clone();
        // The reactor wake goes to whichever worker holds the reactor: not this one.
        let unparker = loom::thread::spawn(move || s.unpark(|| {}));
        if !state.take_notified() && state.begin(IN_REACTOR) {
            state.end_reactor_attempt();
            state.park_condvar(None);
        }
        unparker.join().unwrap();
    });
}
