//! Helpers shared by ply-executor's behaviour tests: all of ply-test-support, re-exported so a
//! test file writes `mod util;` and `use util::{watchdog, ...};`, and what needs
//! ply-executor's own types.
#![allow(
    dead_code,
    unused_imports,
    reason = "each test binary uses a different subset"
)]

pub(crate) use ply_test_support::*;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// [`ply_test_support::watchdog`] with the bound in seconds, as the executor's tests
/// spell it (ten times as long under valgrind, where the million-task test shares the one
/// thread of execution with the others).
pub(crate) fn watchdog(name: &'static str, secs: u64) -> Watchdog {
    ply_test_support::watchdog(name, Duration::from_secs(secs))
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
