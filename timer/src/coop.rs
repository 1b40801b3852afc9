//! A process-global cooperative-budget hook that [`Sleep`](crate::Sleep) consults before
//! completing.
//!
//! An executor with a cooperative budget (ply-executor's `coop::poll_proceed`) makes a task
//! yield once it has done "enough" work in one poll, so that a task whose timers are always
//! ready cannot starve its neighbours. ply-timer must not depend on any executor, so the
//! executor's check is installed here as a plain function pointer, stored in one atomic:
//!
//! - [`set_hook`] installs it (ply-net installs ply-executor's `poll_proceed` when it
//!   builds a runtime); [`clear_hook`] removes it. The default is no hook: every ready
//!   sleep completes.
//! - A `Sleep` about to return `Ready` calls the hook first; if the hook returns
//!   `Pending`, the sleep returns `Pending` too and stays ready for the next poll. The hook
//!   must then have arranged for the task to be polled again (typically
//!   `cx.waker().wake_by_ref()`), as ply-executor's `poll_proceed` does.
//! - [`Timeout`](crate::Timeout) checks its deadline *without* the hook: a timeout must be
//!   able to fire even when the future it guards keeps using up the budget.
//!
//! Why a function pointer and not a trait object: it fits in one `AtomicPtr`, so reading
//! it costs one atomic load on every ready sleep and never a lock; a budget is
//! per-thread state that the function finds by itself (a thread-local), so it needs no
//! captured data.
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
//! ply_timer::coop::set_hook(always_proceed);
//! ply_timer::coop::clear_hook();
//! # Ok(())
//! # }
//! ```

// Not the loom shim: a process-global static, and not part of any modelled protocol.
use std::sync::atomic::AtomicPtr;
use std::sync::atomic::Ordering::{Acquire, Release};
use std::task::{Context, Poll};

/// The hook's type: `Ready(())` to proceed, `Pending` (after arranging a wake-up) to make
/// the task yield.
pub type Hook = fn(&mut Context<'_>) -> Poll<()>;

/// The installed hook as a raw pointer; null when none is installed. Only ever holds null
/// or a value cast from a [`Hook`].
static HOOK: AtomicPtr<()> = AtomicPtr::new(std::ptr::null_mut());

/// Installs `hook`, replacing any previous one, for every timer in the process.
///
/// # Examples
///
/// See the [module documentation](self).
pub fn set_hook(hook: Hook) {
    HOOK.store(hook as *mut (), Release);
}

/// Removes the installed hook: ready sleeps complete unconditionally again.
///
/// # Examples
///
/// See the [module documentation](self).
pub fn clear_hook() {
    HOOK.store(std::ptr::null_mut(), Release);
}

/// Asks the installed hook whether the current task may proceed; `Ready` if none.
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    let raw = HOOK.load(Acquire);
    if raw.is_null() {
        return Poll::Ready(());
    }
    // SAFETY: `HOOK` only ever holds null (checked above) or a pointer cast from a `Hook`
    // in `set_hook`; function pointers and `*mut ()` have the same size and
    // representation on every platform Rust supports, and a function pointer is valid for
    // the whole program.
    let hook = unsafe { std::mem::transmute::<*mut (), Hook>(raw) };
    hook(cx)
}
