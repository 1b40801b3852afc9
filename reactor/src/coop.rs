//! The cooperative-budget hook.
//!
//! A task that reads from a socket that always has data would never return `Pending`,
//! and would starve the other tasks of its executor. Executors fix that with a budget: each
//! ready I/O poll spends one unit, and when the budget is spent the poll says `Pending`
//! (after waking the task) so the executor can run others.
//!
//! The budget lives in the executor (ply-executor's `coop` module), and this crate must
//! not depend on an executor. So the reactor exposes a process-wide hook: a plain function
//! pointer of the shape `fn(&mut Context<'_>) -> Poll<()>`, installed once by whoever
//! composes the runtime (ply-net installs `ply_executor::coop::poll_proceed`). With no
//! hook, readiness is never throttled. The choice is written down in `docs/reactor.md`.

use std::sync::OnceLock;
use std::task::{Context, Poll};

/// The shape of a budget function: spend one unit; `Pending` (after waking `cx`) when
/// the budget is spent.
pub type Hook = fn(&mut Context<'_>) -> Poll<()>;

static HOOK: OnceLock<Hook> = OnceLock::new();

/// Installs the budget hook for the whole process. The first installation wins; a later
/// call with the same function is a no-op.
///
/// # Errors
///
/// Returns the rejected hook if a *different* one is installed already.
///
/// # Examples
///
/// ```
/// use std::task::{Context, Poll};
///
/// fn never_throttle(_cx: &mut Context<'_>) -> Poll<()> {
///     Poll::Ready(())
/// }
/// ply_reactor::coop::set_hook(never_throttle).unwrap();
/// assert!(ply_reactor::coop::set_hook(never_throttle).is_ok());
/// ```
pub fn set_hook(hook: Hook) -> Result<(), Hook> {
    let installed = *HOOK.get_or_init(|| hook);
    if std::ptr::fn_addr_eq(installed, hook) {
        Ok(())
    } else {
        Err(hook)
    }
}

/// Spends one unit of the current task's budget through the hook, if one is installed.
#[inline]
pub(crate) fn proceed(cx: &mut Context<'_>) -> Poll<()> {
    match HOOK.get() {
        Some(hook) => hook(cx),
        None => Poll::Ready(()),
    }
}
