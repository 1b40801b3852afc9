//! Time, as tokio's `tokio::time` spells it: sleeps, timeouts and intervals on the current
//! runtime's timer, its clock, and the test clock's controls ([`pause`], [`resume`],
//! [`advance`]).
//!
//! The sleeps are ply-timer's (also re-exported at the crate root). The controls act on
//! the current runtime's clock, which must be a current-thread runtime's (as in tokio);
//! see [`Builder::start_paused`](crate::Builder::start_paused) for auto-advance. Where
//! tokio panics (outside a runtime, on a multi-threaded one, pausing twice, advancing a
//! running clock), these return an error or do nothing, as each one's docs say.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//!
//! # fn main() -> std::io::Result<()> {
//! // `#[ply_net::test(start_paused = true)]` builds this runtime around a test.
//! let rt = ply_net::Runtime::builder().current_thread().start_paused(true).build()?;
//! rt.block_on(async {
//!     let start = ply_net::time::now();
//!     ply_net::time::sleep(Duration::from_secs(3600)).await;
//!     assert!(ply_net::time::now() - start >= Duration::from_secs(3600));
//!     ply_net::time::advance(Duration::from_secs(60)).await?;
//!     assert!(ply_net::time::now() - start >= Duration::from_secs(3660));
//!     Ok(())
//! })
//! # }
//! ```

use crate::Handle;
use std::io;
use std::time::{Duration, Instant};

pub use ply_timer::{
    interval, interval_at, sleep, sleep_until, timeout, timeout_at, Elapsed, Interval,
    MissedTickBehavior, Sleep, Timeout,
};

/// The current time on the current runtime's clock: the paused clock's instant while it
/// is paused, `Instant::now()` on a clock never paused, and the standalone timer's clock
/// outside a runtime. Use it (not `Instant::now()`) to measure time under a test clock.
///
/// # Examples
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// let rt = ply_net::Runtime::builder().current_thread().start_paused(true).build()?;
/// rt.block_on(async {
///     let frozen = ply_net::time::now();
///     std::thread::sleep(std::time::Duration::from_millis(2));
///     assert_eq!(ply_net::time::now(), frozen);
/// });
/// # Ok(())
/// # }
/// ```
pub fn now() -> Instant {
    ply_timer::TimerHandle::current().now()
}

/// The current runtime's handle, or an error naming `what` outside one.
fn current(what: &str) -> io::Result<Handle> {
    Handle::try_current().ok_or_else(|| {
        io::Error::other(format!(
            "ply_net::time::{what} called outside a ply runtime"
        ))
    })
}

/// Pauses the current runtime's clock; see [`Handle::pause`].
///
/// # Errors
///
/// Outside a ply runtime, or on a multi-threaded one (tokio panics in both cases).
pub fn pause() -> io::Result<()> {
    current("pause")?.pause()
}

/// Lets the current runtime's paused clock run again; see [`Handle::resume`].
///
/// # Errors
///
/// Outside a ply runtime, or on a multi-threaded one.
pub fn resume() -> io::Result<()> {
    current("resume")?.resume()
}

/// Moves the current runtime's paused clock forward by `by`, fires the timers due by then,
/// and yields once, so that the tasks they woke run before this returns (as tokio's
/// `advance` does).
///
/// # Errors
///
/// Outside a ply runtime, on a multi-threaded one, or if the clock is running
/// (`InvalidInput`; tokio panics in all three cases).
pub async fn advance(by: Duration) -> io::Result<()> {
    current("advance")?.advance(by)?;
    ply_executor::yield_now().await;
    Ok(())
}
