//! Wakers that record or misbehave, and polling a future by hand.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// A waker whose `wake` panics: for the tests that a layer survives one.
#[derive(Debug)]
pub struct PanickingWaker;

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("this waker panics on purpose");
    }
}

/// A [`PanickingWaker`].
pub fn panicking_waker() -> Waker {
    Waker::from(Arc::new(PanickingWaker))
}

/// A waker that records that it was called.
#[derive(Debug, Default)]
pub struct FlagWaker(pub AtomicBool);

impl FlagWaker {
    /// Whether it has been woken.
    pub fn woken(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for FlagWaker {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A flag waker and its flag.
pub fn flag_waker() -> (Arc<FlagWaker>, Waker) {
    let flag = Arc::new(FlagWaker::default());
    (Arc::clone(&flag), Waker::from(flag))
}

/// A waker that appends its id to a shared log each time it is woken.
#[derive(Debug)]
pub struct LogWaker {
    id: usize,
    log: Arc<Mutex<Vec<usize>>>,
}

impl Wake for LogWaker {
    fn wake(self: Arc<Self>) {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(self.id);
    }
}

/// A waker logging `id` into `log`.
pub fn log_waker(id: usize, log: &Arc<Mutex<Vec<usize>>>) -> Waker {
    Waker::from(Arc::new(LogWaker {
        id,
        log: Arc::clone(log),
    }))
}

/// A waker counting its wake-ups.
#[derive(Debug, Default)]
pub struct CountWaker(pub AtomicUsize);

impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A counting waker and its counter.
pub fn count_waker() -> (Waker, Arc<CountWaker>) {
    let counter = Arc::new(CountWaker::default());
    (Waker::from(Arc::clone(&counter)), counter)
}

/// Polls `future` once with `waker`.
pub fn poll_with<F: Future + ?Sized>(future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(waker))
}

/// Polls `future` once with a no-op waker.
pub fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    poll_with(future, Waker::noop())
}
