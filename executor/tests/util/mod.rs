//! Shared helpers for the behaviour tests.
#![allow(dead_code, reason = "each test file uses a different subset")]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// Aborts the whole test process if not dropped within `secs`: a hang fails loudly
/// instead of blocking CI. Under valgrind (`PLY_UNDER_VALGRIND` set by `.ci/valgrind`),
/// which runs one thread at a time about fifty times slower, and where the million-task
/// test shares that one thread of execution with the others, the bound is ten times as
/// long.
pub(crate) struct Watchdog {
    _done: mpsc::Sender<()>,
}

pub(crate) fn watchdog(name: &'static str, secs: u64) -> Watchdog {
    let secs = if std::env::var_os("PLY_UNDER_VALGRIND").is_some() {
        secs * 10
    } else {
        secs
    };
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(Duration::from_secs(secs)) {
            eprintln!("watchdog: test `{name}` still running after {secs}s, aborting");
            std::process::abort();
        }
    });
    Watchdog { _done: tx }
}

/// Counts how many times values holding it were dropped.
#[derive(Clone, Default)]
pub(crate) struct DropCounter(pub(crate) Arc<AtomicUsize>);

impl DropCounter {
    pub(crate) fn token(&self) -> DropToken {
        DropToken(self.0.clone())
    }
    pub(crate) fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Increments its counter once when dropped.
pub(crate) struct DropToken(Arc<AtomicUsize>);

impl Drop for DropToken {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A future that is pending until `n` polls have happened, waking itself each time.
pub(crate) struct YieldTimes(pub(crate) usize);

impl Future for YieldTimes {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 == 0 {
            return Poll::Ready(());
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A minimal one-shot channel built on std, so tests do not depend on another runtime.
pub(crate) fn oneshot<T>() -> (OneshotTx<T>, OneshotRx<T>) {
    let inner = Arc::new(parking_lot::Mutex::new(OneshotState {
        value: None,
        waker: None,
    }));
    (OneshotTx(inner.clone()), OneshotRx(inner))
}

struct OneshotState<T> {
    value: Option<T>,
    waker: Option<std::task::Waker>,
}

pub(crate) struct OneshotTx<T>(Arc<parking_lot::Mutex<OneshotState<T>>>);
pub(crate) struct OneshotRx<T>(Arc<parking_lot::Mutex<OneshotState<T>>>);

impl<T> OneshotTx<T> {
    pub(crate) fn send(self, v: T) {
        let w = {
            let mut st = self.0.lock();
            st.value = Some(v);
            st.waker.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }
}

impl<T> Future for OneshotRx<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut st = self.0.lock();
        match st.value.take() {
            Some(v) => Poll::Ready(v),
            None => {
                st.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
