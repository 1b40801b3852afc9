//! [`Builder`]: a reactor's backend and cooperative budget, chosen before it starts.

use crate::coop::Budget;
use crate::reactor::Reactor;
use ply_sys::{Backend, Selector};
use std::fmt;
use std::io;

/// Configures a [`Reactor`]: which selector backend it waits in, and which executor's
/// [cooperative budget](crate::coop) its ready polls spend.
///
/// [`Reactor::new`] is `Reactor::builder().build()`.
///
/// # Examples
///
/// A reactor whose ready polls spend ply-executor's budget, as ply-net's runtime builds
/// it:
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use std::task::{Context, Poll};
///
/// fn never_throttle(_cx: &mut Context<'_>) -> Poll<()> {
///     Poll::Ready(())
/// }
/// let reactor = ply_reactor::Reactor::builder()
///     .backend(ply_reactor::Backend::Poll)
///     .budget(never_throttle)
///     .build()?;
/// assert_eq!(reactor.backend(), ply_reactor::Backend::Poll);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Default)]
pub struct Builder {
    backend: Option<Backend>,
    budget: Option<Budget>,
}

impl Builder {
    /// A builder for a reactor with the default backend and no budget.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Waits in a selector with this backend, instead of the default (`PLY_SELECTOR`,
    /// else epoll).
    pub fn backend(mut self, backend: Backend) -> Builder {
        self.backend = Some(backend);
        self
    }

    /// Spends one unit of `budget` every time a registration is about to report readiness
    /// (`Registration::poll_read_ready`, `poll_write_ready`, and every `Async` operation
    /// built on them). With no budget, readiness is never throttled. See [`coop`](crate::coop).
    pub fn budget(mut self, budget: Budget) -> Builder {
        self.budget = Some(budget);
        self
    }

    /// Builds the reactor.
    ///
    /// # Errors
    ///
    /// Those of [`Selector::new`] and [`Selector::with_backend`]: out of fds, or an
    /// unknown `PLY_SELECTOR`.
    pub fn build(self) -> io::Result<Reactor> {
        let selector = match self.backend {
            Some(backend) => Selector::with_backend(backend)?,
            None => Selector::new()?,
        };
        self.build_with_selector(selector)
    }

    /// Builds the reactor over a selector you made (the backend set on the builder, if
    /// any, is ignored: the selector's own is used).
    ///
    /// # Errors
    ///
    /// None today; the `Result` leaves room for setup that can fail.
    pub fn build_with_selector(self, selector: Selector) -> io::Result<Reactor> {
        Ok(Reactor::from_parts(selector, self.budget))
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("backend", &self.backend)
            .field("budget", &self.budget.is_some())
            .finish()
    }
}
