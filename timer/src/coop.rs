//! The cooperative budget, as each timer is given it.
//!
//! An executor with a cooperative budget (ply-executor's `coop::poll_proceed`) makes a task
//! yield once it has done "enough" work in one poll, so that a task whose timers are always
//! ready cannot starve its neighbours. ply-timer must not depend on any executor, so a
//! timer is *given* the executor's budget function when it is built
//! ([`Builder::budget`](crate::Builder::budget)), as a plain function pointer of the shape
//! [`Budget`]:
//!
//! - ply-net passes ply-executor's `poll_proceed` when it builds a runtime. A timer built
//!   without one completes every ready sleep. The budget belongs to the timer, not to the
//!   process: building a runtime changes nothing for a timer built by hand.
//! - A `Sleep` (and an `Interval` tick) about to return `Ready` calls the budget first; if
//!   it returns `Pending`, the sleep returns `Pending` too and stays ready for the next
//!   poll. The budget must then have arranged for the task to be polled again (typically
//!   `cx.waker().wake_by_ref()`), as ply-executor's `poll_proceed` does.
//! - [`Timeout`](crate::Timeout) checks its deadline *without* the budget: a timeout must be
//!   able to fire even when the future it guards keeps using up the budget.
//!
//! Why a function pointer and not a trait object: a budget is per-thread state that the
//! function finds by itself (a thread-local), so it needs no captured data, and a call
//! costs no allocation and one indirect call.
//!
//! # Examples
//!
//! ```
//! # fn main() -> std::io::Result<()> {
//! use std::task::{Context, Poll};
//!
//! fn always_proceed(_cx: &mut Context<'_>) -> Poll<()> {
//!     Poll::Ready(())
//! }
//! let timer = ply_timer::Timer::builder().budget(always_proceed).build();
//! # drop(timer);
//! # Ok(())
//! # }
//! ```

use std::task::{Context, Poll};

/// The shape of a budget function: `Ready(())` to proceed (after spending one unit),
/// `Pending` (after arranging a wake-up) to make the task yield.
pub type Budget = fn(&mut Context<'_>) -> Poll<()>;
