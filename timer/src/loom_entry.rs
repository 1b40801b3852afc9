//! loom models of a timer entry's state machine (`state.rs`, `entry.rs`): every
//! interleaving (up to `LOOM_MAX_PREEMPTIONS`) of an owner and a driver touching one entry.
//!
//! Run with:
//!
//! ```text
//! LOOM_MAX_PREEMPTIONS=2 RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
//!     cargo test --release -p ply-timer --lib -- loom
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use loom::thread;

use crate::{Sleep, Timer};

/// Counts its wake-ups (a std atomic: loom runs every model thread on one OS thread).
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn counting_waker() -> (Waker, Arc<Count>) {
    let count = Arc::new(Count(AtomicUsize::new(0)));
    (Waker::from(Arc::clone(&count)), count)
}

fn poll(sleep: &mut Pin<Box<Sleep>>, waker: &Waker) -> Poll<()> {
    sleep.as_mut().poll(&mut Context::from_waker(waker))
}

const MS: Duration = Duration::from_millis(1);

/// First poll (registration) races the driver firing the deadline: the sleep either
/// completes in its poll or is woken. Never lost, never early.
#[test]
fn loom_register_vs_fire() {
    loom::model(|| {
        let timer = Arc::new(Timer::paused());
        let handle = timer.handle();
        let mut sleep = Box::pin(handle.sleep(MS));
        let (waker, woken) = counting_waker();
        let owner = thread::spawn(move || {
            let first = poll(&mut sleep, &waker);
            (sleep, waker, first)
        });
        let driver = Arc::clone(&timer);
        let fire = thread::spawn(move || driver.advance(MS));
        let (mut sleep, waker, first) = owner.join().unwrap();
        let fired = fire.join().unwrap();
        if first.is_pending() {
            assert_eq!(woken.0.load(SeqCst), 1, "registered, then fired: woken");
            assert_eq!(fired, 1);
        }
        assert!(poll(&mut sleep, &waker).is_ready());
        assert_eq!(handle.metrics().pending, 0);
    });
}

/// Dropping a registered sleep races the driver firing it: exactly one of cancel and
/// fire happens, and the driver never touches the entry after its owner freed it.
#[test]
fn loom_cancel_vs_fire() {
    loom::model(|| {
        let timer = Arc::new(Timer::paused());
        let handle = timer.handle();
        let mut sleep = Box::pin(handle.sleep(MS));
        let (waker, _woken) = counting_waker();
        assert!(poll(&mut sleep, &waker).is_pending());
        let owner = thread::spawn(move || drop(sleep));
        let driver = Arc::clone(&timer);
        let fire = thread::spawn(move || driver.advance(MS));
        owner.join().unwrap();
        let fired = fire.join().unwrap();
        let m = handle.metrics();
        assert_eq!(m.fired as usize, fired);
        assert_eq!(m.fired + m.cancelled, 1);
        assert_eq!(m.pending, 0);
        assert_eq!(handle.inner().wheel_len(), 0);
    });
}

/// A lock-free reset to a later deadline races the driver firing the old one: the sleep
/// ends up waiting for the new deadline either way, and fires at it, not before.
#[test]
fn loom_reset_later_vs_fire() {
    loom::model(|| {
        let timer = Arc::new(Timer::paused());
        let handle = timer.handle();
        let start = handle.now();
        let mut sleep = Box::pin(handle.sleep(MS));
        let (waker, woken) = counting_waker();
        assert!(poll(&mut sleep, &waker).is_pending());
        let owner = thread::spawn(move || {
            sleep.as_mut().reset(start + 3 * MS);
            let after = poll(&mut sleep, &waker);
            (sleep, waker, after)
        });
        let driver = Arc::clone(&timer);
        let fire = thread::spawn(move || driver.advance(MS));
        let (mut sleep, waker, after) = owner.join().unwrap();
        fire.join().unwrap();
        assert!(after.is_pending(), "never early: the new deadline is 3 ms");
        assert!(!sleep.snapshot().is_elapsed());
        let before = woken.0.load(SeqCst);
        assert_eq!(timer.advance(2 * MS), 1);
        assert_eq!(woken.0.load(SeqCst), before + 1);
        assert!(poll(&mut sleep, &waker).is_ready());
    });
}

/// A reset to an earlier deadline (locked path) races the driver's fire.
#[test]
fn loom_reset_earlier_vs_fire() {
    loom::model(|| {
        let timer = Arc::new(Timer::paused());
        let handle = timer.handle();
        let start = handle.now();
        let mut sleep = Box::pin(handle.sleep(3 * MS));
        let mut other = Box::pin(handle.sleep(MS));
        let (waker, woken) = counting_waker();
        assert!(poll(&mut sleep, &waker).is_pending());
        assert!(poll(&mut other, &waker).is_pending());
        let owner = thread::spawn(move || {
            sleep.as_mut().reset(start + MS);
            sleep
        });
        let driver = Arc::clone(&timer);
        let fire = thread::spawn(move || driver.advance(MS));
        let mut sleep = owner.join().unwrap();
        fire.join().unwrap();
        // Both are due at 1 ms; if the reset came after the fire, one more fire is needed.
        timer.advance(Duration::ZERO);
        assert!(poll(&mut sleep, &waker).is_ready());
        assert!(poll(&mut other, &waker).is_ready());
        assert!(woken.0.load(SeqCst) >= 2);
        assert_eq!(handle.metrics().pending, 0);
    });
}

/// The owner polls again with a new waker while the driver fires: the new waker is woken,
/// or the poll itself sees the sleep complete.
#[test]
fn loom_waker_replacement_vs_fire() {
    loom::model(|| {
        let timer = Arc::new(Timer::paused());
        let handle = timer.handle();
        let mut sleep = Box::pin(handle.sleep(MS));
        let (first_waker, _first) = counting_waker();
        assert!(poll(&mut sleep, &first_waker).is_pending());
        let (second_waker, second) = counting_waker();
        let owner = thread::spawn(move || {
            let outcome = poll(&mut sleep, &second_waker);
            (sleep, outcome)
        });
        let driver = Arc::clone(&timer);
        let fire = thread::spawn(move || driver.advance(MS));
        let (_sleep, outcome) = owner.join().unwrap();
        fire.join().unwrap();
        if outcome.is_pending() {
            assert_eq!(
                second.0.load(SeqCst),
                1,
                "the replacement waker must be woken"
            );
        }
    });
}

/// The first poll (registration) races the timer's shutdown: the sleep is never left
/// filed in a dead wheel; if it was filed, the shutdown woke it.
#[test]
fn loom_shutdown_vs_register() {
    loom::model(|| {
        let timer = Timer::paused();
        let handle = timer.handle();
        let mut sleep = Box::pin(handle.sleep(MS));
        let (waker, woken) = counting_waker();
        let owner = thread::spawn(move || {
            let outcome = poll(&mut sleep, &waker);
            (sleep, outcome)
        });
        let shutdown = thread::spawn(move || drop(timer));
        let (sleep, outcome) = owner.join().unwrap();
        shutdown.join().unwrap();
        assert!(outcome.is_pending(), "never early");
        let state = sleep.snapshot();
        assert!(
            !state.is_registered(),
            "stranded in a dead wheel: {state:?}"
        );
        if state.is_shutdown() {
            assert_eq!(
                woken.0.load(SeqCst),
                1,
                "filed before the shutdown: woken by it"
            );
        }
        assert_eq!(handle.inner().wheel_len(), 0);
        assert_eq!(handle.metrics().pending, 0);
    });
}
