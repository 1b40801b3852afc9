//! [`Async<T>`]: any fd-backed I/O object, made async by the reactor.

use crate::io_state::Direction;
use crate::reactor::Reactor;
use crate::registration::Registration;
use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

/// An I/O object (anything [`AsRawFd`]: a socket, a pipe, a tty, an eventfd) registered
/// with a [`Reactor`], with async readiness and async reads and writes.
///
/// The fd is made nonblocking and registered once, edge-triggered; it is deregistered
/// when the `Async` drops, *before* the inner object closes the fd (closing first would
/// leave the kernel's interest list holding the open file if the fd was `dup`ed).
///
/// Operations follow the readiness contract of [`Registration`]: try, and on
/// `WouldBlock` clear the readiness and wait for the next event.
///
/// Several tasks may wait on one direction at once (see [`Registration`]).
///
/// # Examples
///
/// A TCP round trip with no runtime at all: `futures::executor::block_on` drives the
/// futures and the global reactor's own thread drives the kernel.
///
/// ```
/// use futures::{AsyncReadExt, AsyncWriteExt};
/// use ply_reactor::Async;
/// use std::net::{TcpListener, TcpStream};
///
/// # fn main() -> std::io::Result<()> {
/// let listener = Async::new(TcpListener::bind("127.0.0.1:0")?)?;
/// let addr = listener.get_ref().local_addr()?;
/// futures::executor::block_on(async {
///     let mut client = Async::new(TcpStream::connect(addr)?)?;
///     let (server, _) = listener.read_with(|l| l.accept()).await?;
///     let mut server = Async::new(server)?;
///     client.write_all(b"ping").await?;
///     let mut buf = [0; 4];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     Ok(())
/// })
/// # }
/// ```
pub struct Async<T: AsRawFd> {
    // Field order is drop order: deregister first, then close.
    registration: Registration,
    io: Option<T>,
}

impl<T: AsRawFd> Async<T> {
    /// Registers `io` with the current reactor ([`Reactor::current`]: the one entered on
    /// this thread, else the global fallback reactor) and makes it nonblocking.
    ///
    /// # Errors
    ///
    /// Those of [`Reactor::register`] and of making the fd nonblocking.
    pub fn new(io: T) -> io::Result<Async<T>> {
        Async::new_in(io, &Reactor::current()?)
    }

    /// Registers `io` with `reactor` and makes it nonblocking.
    ///
    /// # Errors
    ///
    /// Those of [`Reactor::register`] and of making the fd nonblocking.
    pub fn new_in(io: T, reactor: &Reactor) -> io::Result<Async<T>> {
        // SAFETY: `io` owns (or borrows for its whole life) the open fd it reports, and we
        // hold `io` for the duration of this borrow.
        let fd = unsafe { BorrowedFd::borrow_raw(io.as_raw_fd()) };
        ply_sys::set_nonblocking(fd, true)?;
        let registration = reactor.register(io.as_raw_fd())?;
        Ok(Async {
            registration,
            io: Some(io),
        })
    }

    /// The inner object.
    pub fn get_ref(&self) -> &T {
        self.io.as_ref().expect("io is present until into_inner")
    }

    /// The inner object, mutably. Do not close or replace its fd.
    pub fn get_mut(&mut self) -> &mut T {
        self.io.as_mut().expect("io is present until into_inner")
    }

    /// Deregisters and returns the inner object (still nonblocking).
    ///
    /// # Errors
    ///
    /// None today; the `Result` leaves room for a deregistration that can fail.
    pub fn into_inner(mut self) -> io::Result<T> {
        let io = self.io.take().expect("io is present until into_inner");
        // Dropping `self` now drops the registration (deregisters) and an empty `io`.
        drop(self);
        Ok(io)
    }

    /// The registration, for the low-level readiness protocol.
    pub fn registration(&self) -> &Registration {
        &self.registration
    }

    /// Waits until the fd is readable (or read-closed, or in error).
    ///
    /// # Errors
    ///
    /// If the reactor has shut down.
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_readable(cx)).await
    }

    /// Waits until the fd is writable (or write-closed, or in error).
    ///
    /// # Errors
    ///
    /// If the reactor has shut down.
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_writable(cx)).await
    }

    /// Poll form of [`readable`](Self::readable).
    ///
    /// # Errors
    ///
    /// If the reactor has shut down.
    pub fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.registration.poll_read_ready(cx).map_ok(|_| ())
    }

    /// Poll form of [`writable`](Self::writable).
    ///
    /// # Errors
    ///
    /// If the reactor has shut down.
    pub fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.registration.poll_write_ready(cx).map_ok(|_| ())
    }

    /// Runs `op` until it returns something other than `WouldBlock`, waiting for
    /// readability in between. `op` should do one nonblocking read-like call.
    ///
    /// # Errors
    ///
    /// Whatever `op` returns other than `WouldBlock`, or a reactor shut down.
    pub async fn read_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        poll_fn(|cx| self.poll_read_with(cx, &mut op)).await
    }

    /// Like [`read_with`](Self::read_with) with mutable access.
    ///
    /// # Errors
    ///
    /// As [`read_with`](Self::read_with).
    pub async fn read_with_mut<R>(
        &mut self,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        poll_fn(|cx| self.poll_read_with_mut(cx, &mut op)).await
    }

    /// Runs `op` until it returns something other than `WouldBlock`, waiting for
    /// writability in between.
    ///
    /// # Errors
    ///
    /// Whatever `op` returns other than `WouldBlock`, or a reactor shut down.
    pub async fn write_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        poll_fn(|cx| self.poll_write_with(cx, &mut op)).await
    }

    /// Like [`write_with`](Self::write_with) with mutable access.
    ///
    /// # Errors
    ///
    /// As [`write_with`](Self::write_with).
    pub async fn write_with_mut<R>(
        &mut self,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        poll_fn(|cx| self.poll_write_with_mut(cx, &mut op)).await
    }

    /// Poll form of [`read_with`](Self::read_with), for hand-written futures and
    /// `AsyncRead` impls.
    ///
    /// # Errors
    ///
    /// As [`read_with`](Self::read_with).
    #[inline]
    pub fn poll_read_with<R>(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.io.as_ref().expect("io is present until into_inner");
        self.registration.poll_io(Direction::Read, cx, || op(io))
    }

    /// Poll form of [`read_with_mut`](Self::read_with_mut).
    ///
    /// # Errors
    ///
    /// As [`read_with`](Self::read_with).
    #[inline]
    pub fn poll_read_with_mut<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.io.as_mut().expect("io is present until into_inner");
        self.registration.poll_io(Direction::Read, cx, || op(io))
    }

    /// Poll form of [`write_with`](Self::write_with).
    ///
    /// # Errors
    ///
    /// As [`write_with`](Self::write_with).
    #[inline]
    pub fn poll_write_with<R>(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.io.as_ref().expect("io is present until into_inner");
        self.registration.poll_io(Direction::Write, cx, || op(io))
    }

    /// Poll form of [`write_with_mut`](Self::write_with_mut).
    ///
    /// # Errors
    ///
    /// As [`write_with`](Self::write_with).
    #[inline]
    pub fn poll_write_with_mut<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.io.as_mut().expect("io is present until into_inner");
        self.registration.poll_io(Direction::Write, cx, || op(io))
    }
}

impl<T: AsRawFd> Async<T> {
    /// Runs `op` once if the fd is known to be readable, without waiting; otherwise
    /// returns `WouldBlock` without a syscall. A `WouldBlock` from `op` clears the
    /// readiness, so a following [`readable`](Self::readable) waits for a new event.
    ///
    /// # Errors
    ///
    /// `WouldBlock` as above, or whatever `op` returns.
    pub fn try_read_with<R>(&self, op: impl FnOnce(&T) -> io::Result<R>) -> io::Result<R> {
        let io = self.get_ref();
        self.registration.try_io(Direction::Read, || op(io))
    }

    /// Write-side twin of [`try_read_with`](Self::try_read_with).
    ///
    /// # Errors
    ///
    /// `WouldBlock` if the fd is not known writable, or whatever `op` returns.
    pub fn try_write_with<R>(&self, op: impl FnOnce(&T) -> io::Result<R>) -> io::Result<R> {
        let io = self.get_ref();
        self.registration.try_io(Direction::Write, || op(io))
    }
}

impl<T: AsRawFd> Async<T> {
    /// Reads from a byte stream (a TCP or Unix stream socket, a pipe): `op` asks for
    /// `len` bytes (the size of the buffer or buffers it reads into), and the task waits
    /// for readability as needed. Like [`poll_read_with`](Self::poll_read_with), but a read
    /// that returns fewer bytes than `len` is taken to have drained the fd, so the
    /// readiness is cleared without the extra read that would only say `WouldBlock`: one
    /// syscall saved per message smaller than the buffer. Bytes that arrive later raise a
    /// new edge with a newer tick, which the clear leaves alone.
    ///
    /// Only for byte streams: for a datagram socket a short read says nothing about what
    /// is left.
    ///
    /// # Errors
    ///
    /// Whatever `op` returns other than `WouldBlock`, or a reactor shut down.
    #[inline]
    pub fn poll_read_stream(
        &self,
        cx: &mut Context<'_>,
        len: usize,
        mut op: impl FnMut(&T) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let io = self.get_ref();
        self.registration
            .poll_stream_io(Direction::Read, cx, len, || op(io))
    }

    /// Writes to a byte stream: `op` offers `len` bytes, and a write that takes fewer is
    /// taken to have filled the send buffer, so the readiness is cleared without the extra
    /// write that would say `WouldBlock`. See [`poll_read_stream`](Self::poll_read_stream).
    ///
    /// # Errors
    ///
    /// Whatever `op` returns other than `WouldBlock`, or a reactor shut down.
    #[inline]
    pub fn poll_write_stream(
        &self,
        cx: &mut Context<'_>,
        len: usize,
        mut op: impl FnMut(&T) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let io = self.get_ref();
        self.registration
            .poll_stream_io(Direction::Write, cx, len, || op(io))
    }
}

impl<T: AsRawFd> AsRawFd for Async<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }
}

impl<T: AsRawFd + AsFd> AsFd for Async<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for Async<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Async").field("io", &self.io).finish()
    }
}

impl<T: AsRawFd + Read + Unpin> futures_io::AsyncRead for Async<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_read_with_mut(cx, |io| io.read(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_read_with_mut(cx, |io| io.read_vectored(bufs))
    }
}

impl<T: AsRawFd + Write + Unpin> futures_io::AsyncWrite for Async<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_with_mut(cx, |io| io.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_write_with_mut(cx, |io| io.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_write_with_mut(cx, |io| io.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Closing the fd is the drop's job; here, flush what is buffered.
        self.poll_flush(cx)
    }
}

impl<T: AsRawFd> futures_io::AsyncRead for &Async<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_with(cx, |mut io| io.read(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_with(cx, |mut io| io.read_vectored(bufs))
    }
}

impl<T: AsRawFd> futures_io::AsyncWrite for &Async<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |mut io| io.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |mut io| io.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_write_with(cx, |mut io| io.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}
