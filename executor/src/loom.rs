//! The concurrency shim: every atomic, lock and shared cell in this crate comes from here.
//!
//! Under a normal build these are `std` (and `parking_lot`) types. Under
//! `RUSTFLAGS="--cfg loom"` they are [loom]'s model-checked stand-ins, so the same protocol
//! code runs inside `loom::model` and every interleaving of its atomic operations is
//! explored. Code outside this module never names `std::sync::atomic` or `loom` directly.
//!
//! The shim deliberately exposes a small surface:
//!
//! - `sync::atomic::*` and `sync::Arc`;
//! - `sync::Mutex` whose `lock()` returns the guard directly (no poisoning), and a
//!   `sync::Condvar` whose waits take and return that guard;
//! - `cell::UnsafeCell` whose only accessors are `with` (shared) and `with_mut` (exclusive),
//!   which is what loom needs to check that no two threads touch a cell at once.
//!
//! [loom]: https://docs.rs/loom

#[cfg(loom)]
pub(crate) use loom_impl::*;
#[cfg(not(loom))]
pub(crate) use std_impl::*;

#[cfg(not(loom))]
mod std_impl {
    pub(crate) mod sync {
        pub(crate) use std::sync::Arc;

        pub(crate) mod atomic {
            pub(crate) use std::sync::atomic::{
                fence, AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering,
            };
        }

        use std::time::Duration;

        /// A mutex without poisoning (`parking_lot`'s).
        #[derive(Debug, Default)]
        pub(crate) struct Mutex<T>(parking_lot::Mutex<T>);

        /// The guard of [`Mutex`].
        pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;

        impl<T> Mutex<T> {
            pub(crate) fn new(value: T) -> Self {
                Mutex(parking_lot::Mutex::new(value))
            }

            pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
                self.0.lock()
            }
        }

        /// A condition variable paired with [`Mutex`].
        #[derive(Debug, Default)]
        pub(crate) struct Condvar(parking_lot::Condvar);

        impl Condvar {
            pub(crate) fn new() -> Self {
                Condvar(parking_lot::Condvar::new())
            }

            pub(crate) fn wait<'a, T>(&self, mut guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
                self.0.wait(&mut guard);
                guard
            }

            /// Returns the guard and whether the wait timed out.
            pub(crate) fn wait_timeout<'a, T>(
                &self,
                mut guard: MutexGuard<'a, T>,
                timeout: Duration,
            ) -> (MutexGuard<'a, T>, bool) {
                let timed_out = self.0.wait_for(&mut guard, timeout).timed_out();
                (guard, timed_out)
            }

            pub(crate) fn notify_one(&self) {
                self.0.notify_one();
            }

            pub(crate) fn notify_all(&self) {
                self.0.notify_all();
            }
        }
    }

    pub(crate) mod cell {
        /// `std::cell::UnsafeCell` behind the closure-based API that loom's cell has.
        #[derive(Debug)]
        pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

        impl<T> UnsafeCell<T> {
            pub(crate) const fn new(value: T) -> Self {
                UnsafeCell(std::cell::UnsafeCell::new(value))
            }

            /// Runs `f` with a shared pointer to the contents. The caller upholds the
            /// aliasing rules when dereferencing it.
            #[inline(always)]
            pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
                f(self.0.get())
            }

            /// Runs `f` with an exclusive pointer to the contents. The caller upholds the
            /// aliasing rules when dereferencing it.
            #[inline(always)]
            pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
                f(self.0.get())
            }
        }
    }
}

#[cfg(loom)]
mod loom_impl {
    pub(crate) mod sync {
        pub(crate) use loom::sync::Arc;

        pub(crate) mod atomic {
            pub(crate) use loom::sync::atomic::{
                AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering,
            };
        }

        use std::time::Duration;

        /// loom's mutex, with poisoning unwrapped away.
        #[derive(Debug)]
        pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

        /// The guard of [`Mutex`].
        pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

        impl<T> Mutex<T> {
            pub(crate) fn new(value: T) -> Self {
                Mutex(loom::sync::Mutex::new(value))
            }

            pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
                self.0.lock().unwrap()
            }
        }

        impl<T: Default> Default for Mutex<T> {
            fn default() -> Self {
                Mutex::new(T::default())
            }
        }

        /// loom's condition variable.
        #[derive(Debug, Default)]
        pub(crate) struct Condvar(loom::sync::Condvar);

        impl Condvar {
            pub(crate) fn new() -> Self {
                Condvar(loom::sync::Condvar::new())
            }

            pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
                self.0.wait(guard).unwrap()
            }

            /// loom does not model time: this waits like [`Condvar::wait`].
            pub(crate) fn wait_timeout<'a, T>(
                &self,
                guard: MutexGuard<'a, T>,
                _timeout: Duration,
            ) -> (MutexGuard<'a, T>, bool) {
                (self.0.wait(guard).unwrap(), false)
            }

            pub(crate) fn notify_one(&self) {
                self.0.notify_one();
            }

            pub(crate) fn notify_all(&self) {
                self.0.notify_all();
            }
        }
    }

    pub(crate) mod cell {
        /// loom's cell, which records every access and reports racing ones.
        #[derive(Debug)]
        pub(crate) struct UnsafeCell<T>(loom::cell::UnsafeCell<T>);

        impl<T> UnsafeCell<T> {
            pub(crate) fn new(value: T) -> Self {
                UnsafeCell(loom::cell::UnsafeCell::new(value))
            }

            pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
                self.0.with(f)
            }

            pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
                self.0.with_mut(f)
            }
        }
    }
}

/// Statistics counters. They are not part of any protocol (nothing is published through
/// them), so they stay plain `std` atomics even under loom, where they would otherwise have
/// to be created inside a model.
pub(crate) mod stats {
    pub(crate) use std::sync::atomic::{AtomicU64, Ordering};
}
