//! Helpers shared by the integration tests: a watchdog, a tiny PRNG, recording wakers.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

/// Runs `f` on its own thread and fails the test if it takes longer than `limit`, instead
/// of hanging CI. A panic in `f` is re-raised here.
pub(crate) fn with_watchdog<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    // valgrind (`.ci/valgrind` sets PLY_UNDER_VALGRIND) runs one thread at a time and
    // each instruction dozens of times slower: the bound still catches a hang.
    let limit = if std::env::var_os("PLY_UNDER_VALGRIND").is_some() {
        limit * 10
    } else {
        limit
    };
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let out = f();
        let _ = tx.send(());
        out
    });
    match rx.recv_timeout(limit) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Ok(out) => out,
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("watchdog: test still running after {limit:?}")
        }
    }
}

/// xorshift64*: a deterministic PRNG, enough for randomised tests without a dependency.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0), near enough.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// A waker that appends its id to a shared log each time it is woken.
pub(crate) struct LogWaker {
    id: usize,
    log: Arc<Mutex<Vec<usize>>>,
}

impl Wake for LogWaker {
    fn wake(self: Arc<Self>) {
        self.log.lock().unwrap().push(self.id);
    }
}

/// A waker logging `id` into `log`.
pub(crate) fn log_waker(id: usize, log: &Arc<Mutex<Vec<usize>>>) -> Waker {
    Waker::from(Arc::new(LogWaker {
        id,
        log: Arc::clone(log),
    }))
}

/// A waker counting its wake-ups.
pub(crate) struct CountWaker(pub(crate) AtomicUsize);

impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A counting waker and its counter.
pub(crate) fn count_waker() -> (Waker, Arc<CountWaker>) {
    let counter = Arc::new(CountWaker(AtomicUsize::new(0)));
    (Waker::from(Arc::clone(&counter)), counter)
}

/// Polls `future` once with `waker`.
pub(crate) fn poll_with<F: Future + ?Sized>(future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(waker))
}

/// Polls `future` once with a no-op waker.
pub(crate) fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    poll_with(future, Waker::noop())
}
