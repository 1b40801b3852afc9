//! The concurrency shim: std (and parking_lot) types normally, loom's model-checked types
//! under `--cfg loom`.
//!
//! Every type that takes part in an atomic protocol of this crate (the entry state word,
//! the waker slot, the wheel's mutex and the intrusive links it guards) is imported from
//! here, never from `std` directly, so that `RUSTFLAGS="--cfg loom"` swaps all of them at
//! once and the loom models in `loom_entry.rs` explore every interleaving.
//!
//! Two things deliberately stay on std atomics even under loom, because no correctness
//! argument depends on their ordering: the metrics counters (relaxed statistics) and the
//! paused clock's offset (a monotonic value read under no protocol). Keeping them out of
//! the model keeps loom's state space small.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, AtomicUsize};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU64, AtomicUsize};

/// A mutex with a `lock()` that cannot fail: parking_lot's normally, loom's under loom.
///
/// Only the wheel uses it. Poisoning is not meaningful here: the critical sections never
/// call user code (wakers are called after the guard is dropped), so they cannot panic
/// half-way through an update.
#[derive(Debug)]
pub(crate) struct Mutex<T> {
    #[cfg(not(loom))]
    inner: parking_lot::Mutex<T>,
    #[cfg(loom)]
    inner: loom::sync::Mutex<T>,
}

/// The guard returned by [`Mutex::lock`].
#[cfg(not(loom))]
pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;
/// The guard returned by [`Mutex::lock`].
#[cfg(loom)]
pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    /// Creates an unlocked mutex.
    pub(crate) fn new(value: T) -> Self {
        Mutex {
            #[cfg(not(loom))]
            inner: parking_lot::Mutex::new(value),
            #[cfg(loom)]
            inner: loom::sync::Mutex::new(value),
        }
    }

    /// Acquires the mutex, blocking the current thread until it is free.
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        #[cfg(not(loom))]
        {
            self.inner.lock()
        }
        #[cfg(loom)]
        {
            // A poisoned lock means a model already failed; surface that panic.
            self.inner.lock().expect("loom mutex poisoned")
        }
    }
}

/// `UnsafeCell` with loom's closure-based access API, so that under loom every access is
/// tracked and a data race fails the model.
#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

/// `UnsafeCell` with loom's closure-based access API, so that under loom every access is
/// tracked and a data race fails the model.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    /// Wraps `value`.
    pub(crate) const fn new(value: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    /// Gives `f` a shared raw pointer to the contents.
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Gives `f` a mutable raw pointer to the contents.
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}
