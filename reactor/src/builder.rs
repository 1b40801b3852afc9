//! [`Builder`]: a reactor's backend and cooperative budget, chosen before it starts.

use crate::completion::Completions;
use crate::coop::Budget;
use crate::reactor::Reactor;
use crate::wake::WakerPanicHook;
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
    on_waker_panic: Option<WakerPanicHook>,
    completion: bool,
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

    /// Calls `hook` with the payload of every waker panic the reactor catches (in
    /// [`Reactor::poll`], [`Reactor::shutdown`], or when a registration drops), after
    /// counting it in [`ReactorStats::waker_panics`](crate::ReactorStats::waker_panics).
    /// The reactor never prints; this is where a program that wants to log such panics
    /// does it. Without a hook they are only counted.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// fn log(payload: &(dyn std::any::Any + Send)) {
    ///     let msg = payload.downcast_ref::<&str>().copied().unwrap_or("?");
    ///     eprintln!("a waker panicked: {msg}");
    /// }
    /// let reactor = ply_reactor::Reactor::builder().on_waker_panic(log).build()?;
    /// # drop(reactor);
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_waker_panic(mut self, hook: WakerPanicHook) -> Builder {
        self.on_waker_panic = Some(hook);
        self
    }

    /// Adds a completion driver: io_uring operations ([`completion::Op`](crate::completion::Op))
    /// beside readiness, on a ring of the reactor's own whose fd the selector watches, so
    /// it works with every selector backend. Where the kernel refuses io_uring,
    /// [`build`](Self::build) returns that error (`PermissionDenied`, `Unsupported`).
    pub fn completion(mut self, on: bool) -> Builder {
        self.completion = on;
        self
    }

    /// Builds the reactor.
    ///
    /// # Errors
    ///
    /// Those of [`Selector::new`] and [`Selector::with_backend`]: out of fds, or an
    /// unknown `PLY_SELECTOR`; with [`completion`](Self::completion), those of
    /// [`build_with_selector`](Self::build_with_selector).
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
    /// With [`completion`](Self::completion): those of
    /// [`Ring::new`](ply_sys::uring::Ring::new) and of registering its fd with the
    /// selector. Otherwise none.
    pub fn build_with_selector(self, selector: Selector) -> io::Result<Reactor> {
        let completions = if self.completion {
            Some(Completions::new(&selector)?)
        } else {
            None
        };
        Reactor::from_parts(selector, completions, self.budget, self.on_waker_panic)
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("backend", &self.backend)
            .field("budget", &self.budget.is_some())
            .field("on_waker_panic", &self.on_waker_panic.is_some())
            .field("completion", &self.completion)
            .finish()
    }
}
