//! [`TcpListener`]: accepts TCP connections, async.

use crate::addr::{each_addr, ToSocketAddrs};
use crate::tcp::stream::TcpStream;
use futures_core::Stream;
use ply_reactor::{Async, Reactor};
use ply_sys::Socket;
use ply_timer::Sleep;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

/// The first pause after an accept failed for lack of fds or memory; it doubles while the
/// failures go on, up to [`MAX_BACKOFF`], and resets after a success.
const MIN_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_millis(640);

/// A TCP socket listening for connections.
///
/// # Errors from accept
///
/// - `ECONNABORTED` (a connection reset while it waited in the queue) is skipped: accept
///   moves on to the next one.
/// - `EMFILE`, `ENFILE`, `ENOBUFS` and `ENOMEM` (out of fds or memory) are returned to the
///   caller, and the *next* accept first **backs off**: it sleeps 5 ms, doubling up to
///   640 ms while the failures repeat. The pending connection stays in the kernel's queue,
///   so the listener stays readable; without the pause, a server that logs the error and
///   loops would spin a core at 100% until an fd frees up. The pause resets after a
///   successful accept.
///
/// # Examples
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// ply_net::Runtime::new_current_thread()?.block_on(async {
///     let listener = ply_net::TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let client = ply_net::spawn(ply_net::TcpStream::connect(addr));
///     let (stream, peer) = listener.accept().await?;
///     assert_eq!(peer, stream.peer_addr()?);
///     client.await.unwrap()?;
///     Ok(())
/// })
/// # }
/// ```
pub struct TcpListener {
    io: Async<Socket>,
    backoff: Mutex<Backoff>,
}

/// The back-off after resource errors.
#[derive(Default)]
struct Backoff {
    /// A pause to take before the next accept (set by a resource error).
    pending: Option<Duration>,
    /// The length of the last pause, doubled by the next failure; cleared by a success.
    last: Option<Duration>,
    /// The sleep in progress, once the pause started.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Backoff {
    fn failed(&mut self) {
        let next = self.last.map_or(MIN_BACKOFF, |d| (d * 2).min(MAX_BACKOFF));
        self.pending = Some(next);
        self.last = Some(next);
    }

    fn succeeded(&mut self) {
        self.last = None;
    }
}

/// The default backlog of [`TcpListener::bind`].
pub(crate) const DEFAULT_BACKLOG: i32 = 1024;

impl TcpListener {
    /// Binds to `addr` (each resolved address tried in turn) with `SO_REUSEADDR` on and a
    /// backlog of 1024, registered with the current reactor. For other settings, see
    /// [`TcpSocket`](crate::TcpSocket).
    ///
    /// # Errors
    ///
    /// `AddrInUse`, `AddrNotAvailable`, `PermissionDenied`, a lookup error; with several
    /// addresses, the last address's error.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        let reactor = Reactor::current()?;
        each_addr(addr, |a| {
            let r = Socket::tcp_listener(a, DEFAULT_BACKLOG)
                .and_then(|s| TcpListener::from_socket(s, &reactor));
            std::future::ready(r)
        })
        .await
    }

    pub(crate) fn from_socket(socket: Socket, reactor: &Reactor) -> io::Result<TcpListener> {
        Ok(TcpListener {
            io: Async::new_in(socket, reactor)?,
            backoff: Mutex::new(Backoff::default()),
        })
    }

    /// Wraps a listening std socket (made nonblocking), registering it with the current
    /// reactor.
    ///
    /// # Errors
    ///
    /// If registration fails.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        TcpListener::from_socket(Socket::from(listener), &Reactor::current()?)
    }

    /// Deregisters and returns the std listener (left nonblocking).
    ///
    /// # Errors
    ///
    /// If deregistration fails.
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        Ok(self.io.into_inner()?.into())
    }

    /// Waits for a connection and accepts it.
    ///
    /// # Errors
    ///
    /// See the type's docs: resource errors are returned (and the next accept backs off);
    /// `ECONNABORTED` is skipped.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Poll form of [`accept`](Self::accept).
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        ready!(self.poll_backoff(cx));
        loop {
            let res = ready!(self.io.poll_read_with(cx, |s| s.accept()));
            match res {
                Ok((socket, addr)) => {
                    self.backoff().succeeded();
                    let reactor = self.io.registration().reactor();
                    return Poll::Ready(TcpStream::from_socket(socket, reactor).map(|s| (s, addr)));
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) if is_resource_error(&e) => {
                    self.backoff().failed();
                    return Poll::Ready(Err(e));
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Sleeps out a pending back-off, if any.
    fn poll_backoff(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut b = self.backoff();
        let Some(delay) = b.pending else {
            return Poll::Ready(());
        };
        let sleep = b
            .sleep
            .get_or_insert_with(|| Box::pin(ply_timer::sleep_until(Instant::now() + delay)));
        ready!(sleep.as_mut().poll(cx));
        b.sleep = None;
        b.pending = None;
        Poll::Ready(())
    }

    fn backoff(&self) -> std::sync::MutexGuard<'_, Backoff> {
        // The back-off holds no invariant a panic could break mid-update.
        self.backoff.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A stream of accepted connections (the peer addresses dropped).
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The local address (with the real port if bound to port 0).
    ///
    /// # Errors
    ///
    /// If the socket has no address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The IP time-to-live of accepted connections.
    ///
    /// # Errors
    ///
    /// If the option cannot be read.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Sets the IP time-to-live.
    ///
    /// # Errors
    ///
    /// `InvalidInput` above 255.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }
}

/// Out of fds or kernel memory: the connection stays queued and retrying at once fails.
fn is_resource_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc_errno::EMFILE | libc_errno::ENFILE | libc_errno::ENOBUFS | libc_errno::ENOMEM)
    )
}

/// The errno values `is_resource_error` looks for (Linux numbering).
mod libc_errno {
    pub(super) const ENOMEM: i32 = 12;
    pub(super) const ENFILE: i32 = 23;
    pub(super) const EMFILE: i32 = 24;
    pub(super) const ENOBUFS: i32 = 105;
}

/// The stream of [`TcpListener::incoming`].
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let res = ready!(self.listener.poll_accept(cx));
        Poll::Ready(Some(res.map(|(s, _)| s)))
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TcpListener");
        if let Ok(a) = self.local_addr() {
            d.field("local", &a);
        }
        d.field("fd", &self.as_raw_fd()).finish()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}
