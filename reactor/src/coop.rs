//! The cooperative budget, as each reactor is given it.
//!
//! A task that reads from a socket that always has data would never return `Pending`,
//! and would starve the other tasks of its executor. Executors fix that with a budget: each
//! ready I/O poll spends one unit, and when the budget is spent the poll says `Pending`
//! (after waking the task) so the executor can run others.
//!
//! The budget lives in the executor (ply-executor's `coop` module), and this crate must
//! not depend on an executor. So a reactor is *given* the executor's budget function when
//! it is built ([`Builder::budget`](crate::Builder::budget)): a plain function pointer of
//! the shape [`Budget`]. ply-net passes `ply_executor::coop::poll_proceed`; a reactor
//! built without one never throttles readiness. The budget belongs to the reactor, not to
//! the process: two reactors in one program can have different ones, and building a
//! runtime changes nothing for a reactor built by hand. The choice is written down in
//! `docs/reactor.md`.

use std::task::{Context, Poll};

/// The shape of a budget function: spend one unit of the current task's budget and return
/// `Ready(())`; or, when the budget is spent, arrange for the task to be polled again
/// (typically `cx.waker().wake_by_ref()`) and return `Pending`.
///
/// ply-executor's `coop::poll_proceed` has this shape.
pub type Budget = fn(&mut Context<'_>) -> Poll<()>;
