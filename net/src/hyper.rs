//! hyper 1.x on ply, unchanged: [`hyper::rt::Read`]/[`Write`](hyper::rt::Write) for
//! [`TcpStream`], an [`Executor`](hyper::rt::Executor) ([`HyperExecutor`]) and a
//! [`Timer`](hyper::rt::Timer) ([`HyperTimer`]) backed by ply-timer. Enabled by the
//! `hyper` feature.
//!
//! # Examples
//!
//! A hyper HTTP/1 server and client on one ply runtime:
//!
//! ```
//! use http_body_util::{BodyExt, Empty, Full};
//! use hyper::body::Bytes;
//! use ply_net::hyper::{HyperExecutor, HyperTimer};
//! use ply_net::{TcpListener, TcpStream};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! ply_net::Runtime::new()?.block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     ply_net::spawn(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         let service = hyper::service::service_fn(|_req| async {
//!             Ok::<_, hyper::Error>(hyper::Response::new(Full::new(Bytes::from("hi"))))
//!         });
//!         hyper::server::conn::http1::Builder::new()
//!             .timer(HyperTimer::new())
//!             .serve_connection(stream, service)
//!             .await
//!             .unwrap();
//!     });
//!
//!     let stream = TcpStream::connect(addr).await?;
//!     let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await?;
//!     ply_net::spawn(conn);
//!     let req = hyper::Request::get("/").body(Empty::<Bytes>::new())?;
//!     let res = sender.send_request(req).await?;
//!     let body = res.into_body().collect().await?.to_bytes();
//!     assert_eq!(&body[..], b"hi");
//!     let _ = HyperExecutor::new(); // for hyper's http2 builders
//!     Ok(())
//! })
//! # }
//! ```

use crate::stream::Duplex;
use crate::TcpStream;
use hyper::rt::ReadBufCursor;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

impl hyper::rt::Read for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // SAFETY: the slice is only handed to recv(2), which writes initialised bytes into
        // it and never de-initialises any.
        let unfilled = unsafe { buf.as_mut() };
        let n = ready!(self.stream().poll_read_uninit(cx, unfilled))?;
        // SAFETY: recv wrote `n` bytes at the start of the unfilled part.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl hyper::rt::Write for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.stream().poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(std::net::Shutdown::Write))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.stream().poll_write_vectored(cx, bufs)
    }
}

/// Spawns hyper's background futures (HTTP/2 streams, client connections) as ply tasks
/// on the current runtime.
#[derive(Clone, Copy, Debug, Default)]
pub struct HyperExecutor;

impl HyperExecutor {
    /// The executor.
    pub fn new() -> HyperExecutor {
        HyperExecutor
    }
}

impl<F> hyper::rt::Executor<F> for HyperExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        // Detached: hyper tracks the future's outcome itself.
        drop(ply_executor::spawn(fut));
    }
}

/// hyper's timeouts (header read timeout, keep-alive) on ply-timer's wheel, with cheap
/// resets: a reset moves the existing wheel entry instead of allocating a new sleep.
///
/// Its [`now`](hyper::rt::Timer::now) is the current timer's clock, not `Instant::now()`:
/// under a paused clock hyper computes its deadlines from the same time the wheel fires
/// them by, so advancing the clock also runs hyper's timeouts.
///
/// # Examples
///
/// ```
/// use hyper::rt::Timer;
/// use ply_net::hyper::HyperTimer;
/// use std::time::Duration;
///
/// let clock = ply_timer::Timer::paused();
/// let _guard = clock.handle().enter();
/// let before = HyperTimer::new().now();
/// clock.advance(Duration::from_secs(3600));
/// assert_eq!(HyperTimer::new().now() - before, Duration::from_secs(3600));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct HyperTimer;

impl HyperTimer {
    /// The timer (sleeps go to the current runtime's timer).
    pub fn new() -> HyperTimer {
        HyperTimer
    }
}

pin_project_lite::pin_project! {
    /// A ply-timer sleep as a hyper [`Sleep`](hyper::rt::Sleep).
    #[derive(Debug)]
    pub struct HyperSleep {
        #[pin]
        inner: ply_timer::Sleep,
    }
}

impl Future for HyperSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().inner.poll(cx)
    }
}

impl hyper::rt::Sleep for HyperSleep {}

impl hyper::rt::Timer for HyperTimer {
    fn now(&self) -> Instant {
        ply_timer::TimerHandle::current().now()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep {
            inner: ply_timer::sleep(duration),
        })
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep {
            inner: ply_timer::sleep_until(deadline),
        })
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<HyperSleep>() {
            Some(s) => s.project().inner.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}
