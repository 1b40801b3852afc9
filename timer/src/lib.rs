//! `ply_timer`: a hashed hierarchical timer wheel with `sleep`, `timeout` and `interval`,
//! needing no reactor and no particular executor: the timer layer of ply.
//!
//! # What it provides
//!
//! - Futures: [`sleep`], [`sleep_until`], [`Sleep::reset`], [`timeout`] /
//!   [`timeout_at`] (`Result<T, Elapsed>`), and [`Interval`] ([`interval`],
//!   [`Interval::tick`], a `futures_core::Stream`) with a [`MissedTickBehavior`].
//! - The driver, [`Timer`], which owns the wheel, and a cheap `Clone + Send + Sync`
//!   [`TimerHandle`] to create sleeps on it explicitly ([`TimerHandle::sleep`],
//!   [`Sleep::new_in`]). A thread-local current handle ([`TimerHandle::enter`]) is a
//!   convenience on top.
//! - Three ways to drive it:
//!   1. *Standalone*: with no current handle, [`sleep`] uses a global timer whose timer
//!      thread starts on first use and parks until the next deadline. `sleep` works under
//!      `futures::executor::block_on` or any other runtime; there is no "no timer
//!      running" panic.
//!   2. *Composed*: whoever parks a thread calls [`Timer::next_deadline`] for its timeout
//!      and [`Timer::fire_due`] after waking. An unpark callback ([`Builder::unpark`])
//!      tells it when a new, earlier deadline is registered. ply-net calls these around
//!      `epoll_wait`; ply-executor's parker can call them with no reactor at all. A
//!      complete driver loop: `cargo run -p ply-timer --example own_parker`.
//!   3. *Test clock*: [`Timer::paused`] stands still until [`Timer::advance`], so tests of
//!      timeouts are deterministic and instant.
//! - [`Metrics`]: pending, inserted, cancelled, fired and reset counts, and wakers that
//!   panicked (caught: the timer carries on), from any handle.
//! - [`coop`]: the executor's cooperative budget, given to each timer by
//!   [`Builder::budget`] and consulted before a ready `Sleep` completes, without ply-timer
//!   depending on the executor.
//!
//! # Who should depend on it
//!
//! Runtime builders who compose their own parker, and libraries that need timeouts under
//! any executor. Applications usually take `ply-net`, whose `Runtime` drives this timer
//! together with the reactor and the executor.
//!
//! # Guarantees
//!
//! - *Never early*: a timer fires at or after its deadline (deadlines round up to the
//!   1 ms tick, the clock rounds down). Lateness is bounded by the tick plus scheduling.
//! - O(1) insert, cancel and reset; no allocation per timer (the wheel node lives inside
//!   the `Sleep`); a `Sleep` that is never polled never touches the wheel.
//! - Any deadline is accepted: `Duration::MAX`, an `Instant` decades away, zero, or one in
//!   the past, without panic or overflow.
//! - A `Sleep` may be created, polled and dropped on different threads. Registering and
//!   cancelling take one short critical section; a later reset and every poll after the
//!   first take none; wakers are called outside the lock.
//!
//! # Example
//!
//! ```
//! # fn main() -> std::io::Result<()> {
//! use std::time::{Duration, Instant};
//!
//! // Standalone: works under any executor.
//! let start = Instant::now();
//! futures::executor::block_on(async {
//!     ply_timer::sleep(Duration::from_millis(10)).await;
//!     let slow = ply_timer::sleep(Duration::from_secs(10));
//!     assert!(ply_timer::timeout(Duration::from_millis(5), slow).await.is_err());
//! });
//! assert!(start.elapsed() >= Duration::from_millis(15));
//!
//! // Test clock: deterministic.
//! let timer = ply_timer::Timer::paused();
//! let sleep = timer.handle().sleep(Duration::from_secs(3600));
//! timer.advance(Duration::from_secs(3600));
//! assert!(sleep.is_elapsed());
//! # Ok(())
//! # }
//! ```
//!
//! # Implementation
//!
//! The wheel is scheme 7 of George Varghese and Tony Lauck, "Hashed and Hierarchical
//! Timing Wheels: Data Structures for the Efficient Implementation of a Timer Facility"
//! (SOSP 1987; IEEE/ACM Transactions on Networking, 1997): 6 levels of 64 slots at a 1 ms
//! tick (about 2.2 years before the top level wraps; later deadlines are refiled when
//! their slot comes round), one occupancy bitmap per level so the next deadline is found
//! with a rotate and a `trailing_zeros`, and cascading of higher-level slots into lower
//! levels so every timer keeps millisecond precision at any distance. See
//! `docs/timer.md` in the repository for the full design and the measurements.

mod assertions;
mod atomic_waker;
mod clock;
pub mod coop;
mod entry;
mod handle;
mod interval;
mod loom;
mod metrics;
mod shared;
mod sleep;
mod slot;
mod standalone;
mod state;
mod timeout;
mod timer;
mod wake;
mod wheel;

#[cfg(all(test, loom))]
mod loom_entry;

pub use handle::{EnterGuard, TimerHandle};
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use metrics::Metrics;
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};
pub use timer::{Builder, Timer, Unpark};
pub use wake::WakerPanicHook;

/// This crate's `README.md`, whose Rust code blocks run as this crate's doctests, so that
/// `cargo test` of this crate alone checks its README.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
