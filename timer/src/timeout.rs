//! [`Timeout`]: a future with a time limit.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use crate::handle::TimerHandle;
use crate::sleep::Sleep;

/// Runs `future` with a time limit of `duration`, on the current timer (see
/// [`sleep`](crate::sleep)): its output, or [`Elapsed`] if the limit passes first.
///
/// # Examples
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use std::time::Duration;
/// futures::executor::block_on(async {
///     let slow = ply_timer::sleep(Duration::from_secs(60));
///     let outcome = ply_timer::timeout(Duration::from_millis(5), slow).await;
///     assert!(outcome.is_err());
///     let fast = async { 7 };
///     assert_eq!(ply_timer::timeout(Duration::from_secs(60), fast).await, Ok(7));
/// });
/// # Ok(())
/// # }
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    TimerHandle::current().timeout(duration, future)
}

/// Runs `future` until `deadline` at most, on the current timer. See [`timeout`].
///
/// # Examples
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use std::time::{Duration, Instant};
/// let deadline = Instant::now() + Duration::from_secs(60);
/// let outcome = futures::executor::block_on(ply_timer::timeout_at(deadline, async { "done" }));
/// assert_eq!(outcome, Ok("done"));
/// # Ok(())
/// # }
/// ```
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    TimerHandle::current().timeout_at(deadline, future)
}

pin_project! {
    /// A future with a time limit: resolves to `Ok(output)` if `future` completes first,
    /// `Err(Elapsed)` once the deadline passes.
    ///
    /// The inner future is polled first, so a future that is ready at the deadline still
    /// wins. The deadline is checked without the cooperative budget hook (see
    /// [`coop`](crate::coop)), so a timeout fires even around a future that keeps
    /// exhausting the budget. Created by [`timeout`], [`timeout_at`] or
    /// [`TimerHandle::timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::future::Future;
    /// use std::task::{Context, Poll};
    /// use std::time::Duration;
    /// use ply_timer::{Elapsed, Timer};
    ///
    /// let timer = Timer::paused();
    /// let mut limited = Box::pin(timer.handle().timeout(Duration::from_secs(1), std::future::pending::<()>()));
    /// let waker = futures::task::noop_waker();
    /// let mut cx = Context::from_waker(&waker);
    /// assert!(limited.as_mut().poll(&mut cx).is_pending());
    /// timer.advance(Duration::from_secs(1));
    /// assert!(matches!(limited.as_mut().poll(&mut cx), Poll::Ready(Err(Elapsed { .. }))));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        #[pin]
        sleep: Sleep,
    }
}

impl<F> Timeout<F> {
    pub(crate) fn new(future: F, sleep: Sleep) -> Self {
        Timeout { future, sleep }
    }

    /// The instant at which the time limit passes.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let timer = ply_timer::Timer::paused();
    /// let handle = timer.handle();
    /// let limited = handle.timeout(Duration::from_secs(1), async {});
    /// assert_eq!(limited.deadline(), handle.now() + Duration::from_secs(1));
    /// # Ok(())
    /// # }
    /// ```
    pub fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }

    /// The inner future.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let timer = ply_timer::Timer::paused();
    /// let limited = timer.handle().timeout(Duration::from_secs(1), std::future::ready(3));
    /// assert!(matches!(limited.get_ref(), std::future::Ready { .. }));
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// The inner future, mutably (the `Timeout` is not pinned, so neither is it).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let timer = ply_timer::Timer::paused();
    /// let mut limited = timer.handle().timeout(Duration::from_secs(1), futures::future::ready(3));
    /// let inner: &mut futures::future::Ready<i32> = limited.get_mut();
    /// *inner = futures::future::ready(4);
    /// assert_eq!(futures::executor::block_on(limited), Ok(4));
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.future
    }

    /// Gives up the time limit and returns the inner future.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let timer = ply_timer::Timer::paused();
    /// let limited = timer.handle().timeout(Duration::from_secs(1), async { 3 });
    /// assert_eq!(futures::executor::block_on(limited.into_inner()), 3);
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match this.sleep.poll_elapsed(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed { _private: () })),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F: std::fmt::Debug> std::fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timeout")
            .field("future", &self.future)
            .field("sleep", &self.sleep)
            .finish()
    }
}

/// The error of a [`Timeout`] whose deadline passed before its future completed.
///
/// Converts into an `io::Error` of kind `TimedOut`, for I/O code that uses `?`.
///
/// # Examples
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use std::time::Duration;
/// let outcome = futures::executor::block_on(
///     ply_timer::timeout(Duration::from_millis(1), std::future::pending::<()>()),
/// );
/// let error: std::io::Error = outcome.unwrap_err().into();
/// assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed {
    _private: (),
}

impl std::fmt::Display for Elapsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(elapsed: Elapsed) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, elapsed)
    }
}
