//! [`Async<T>`]: any fd-backed I/O object, made async by the reactor.

use crate::io_state::Direction;
use crate::reactor::Reactor;
use crate::registration::Registration;
use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

/// An I/O object (anything [`AsFd`]: a socket, a pipe, a tty, an eventfd) registered
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
/// # I/O safety
///
/// The registration names the fd by number, from registration until the `Async` drops,
/// so that fd must stay open and be the same file all that time: were it closed (and its
/// number reused by another open of the process), the deregistration would act on a file
/// that is not ours. Two rules keep that promise without trusting anything unsafe:
///
/// - `T` must be [`AsFd`], std's I/O-safety trait: a [`BorrowedFd`] cannot be made in
///   safe code from a number that is not an open fd, as it could be from
///   [`AsRawFd`]'s bare `c_int` (which may be -1, or closed). A type that is only
///   `AsRawFd` is refused:
///
///   ```compile_fail,E0277
///   use std::os::fd::{AsRawFd, RawFd};
///   struct NotAnFd;
///   impl AsRawFd for NotAnFd {
///       fn as_raw_fd(&self) -> RawFd { -1 }
///   }
///   // error: the trait bound `NotAnFd: AsFd` is not satisfied
///   let _ = ply_reactor::Async::new(NotAnFd);
///   ```
///
/// - `Async` holds `T` by value and hands out only `&T` in safe code. Any `&mut T` would
///   let safe code close or replace the fd under the live registration, if only by
///   `*io = other` or [`std::mem::swap`]; no bound on `T` can rule that out. So the
///   methods that give out `&mut T` ([`get_mut`](Self::get_mut),
///   [`read_with_mut`](Self::read_with_mut), [`write_with_mut`](Self::write_with_mut) and
///   their poll forms) are `unsafe`, and `futures_io::AsyncRead`/`AsyncWrite` for
///   `Async<T>`, which must call `Read::read(&mut T)`, need `T:` [`IoSafe`]: the unsafe
///   promise that `T`'s own `&mut self` methods leave the fd alone. Types whose reads go
///   through `&T` (`&File`, `&TcpStream`, ply-sys's `&Socket`) get the same traits on
///   `&Async<T>` with no unsafe anywhere.
///
///   ```compile_fail,E0133
///   # fn main() -> std::io::Result<()> {
///   let (r, _w) = ply_sys::pipe()?;
///   let mut reader = ply_reactor::Async::new(std::fs::File::from(r))?;
///   // error[E0133]: call to unsafe function
///   *reader.get_mut() = std::fs::File::open("/dev/null")?;
///   # Ok(())
///   # }
///   ```
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
pub struct Async<T: AsFd> {
    // Field order is drop order: deregister first, then close.
    registration: Registration,
    io: Option<T>,
}

impl<T: AsFd> Async<T> {
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
        // `AsFd` vouches that this is an open fd for as long as `io` is borrowed; `Async`
        // keeps `io` from now on and lets no safe code replace it (see "I/O safety"), so
        // the number stays ours until the registration, dropped first, forgets it.
        let fd = io.as_fd();
        ply_sys::set_nonblocking(fd, true)?;
        let registration = reactor.register(fd.as_raw_fd())?;
        Ok(Async {
            registration,
            io: Some(io),
        })
    }

    /// The inner object.
    pub fn get_ref(&self) -> &T {
        self.io.as_ref().expect("io is present until into_inner")
    }

    /// The inner object, mutably.
    ///
    /// # Safety
    ///
    /// The fd registered with the reactor must stay open and be the same file until the
    /// `Async` drops or [`into_inner`](Self::into_inner) returns: through the returned
    /// reference the caller must not close the fd, replace `T`'s fd with another (for
    /// example with `*io = other` or [`std::mem::swap`]), or move it out. Reading, writing
    /// and setting options are fine. See "I/O safety" on [`Async`].
    pub unsafe fn get_mut(&mut self) -> &mut T {
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
    ///
    /// # Safety
    ///
    /// `op` must not close or replace the fd: as for [`get_mut`](Self::get_mut).
    pub async unsafe fn read_with_mut<R>(
        &mut self,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        // SAFETY: our caller made `poll_read_with_mut`'s promise for `op`.
        poll_fn(|cx| unsafe { self.poll_read_with_mut(cx, &mut op) }).await
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
    ///
    /// # Safety
    ///
    /// `op` must not close or replace the fd: as for [`get_mut`](Self::get_mut).
    pub async unsafe fn write_with_mut<R>(
        &mut self,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        // SAFETY: our caller made `poll_write_with_mut`'s promise for `op`.
        poll_fn(|cx| unsafe { self.poll_write_with_mut(cx, &mut op) }).await
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
    ///
    /// # Safety
    ///
    /// `op` must not close or replace the fd: as for [`get_mut`](Self::get_mut).
    #[inline]
    pub unsafe fn poll_read_with_mut<R>(
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
    ///
    /// # Safety
    ///
    /// `op` must not close or replace the fd: as for [`get_mut`](Self::get_mut).
    #[inline]
    pub unsafe fn poll_write_with_mut<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.io.as_mut().expect("io is present until into_inner");
        self.registration.poll_io(Direction::Write, cx, || op(io))
    }
}

impl<T: AsFd> Async<T> {
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

impl<T: AsFd> Async<T> {
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

impl<T: AsFd> AsRawFd for Async<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_fd().as_raw_fd()
    }
}

impl<T: AsFd> AsFd for Async<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }
}

impl<T: AsFd + fmt::Debug> fmt::Debug for Async<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Async").field("io", &self.io).finish()
    }
}

impl<T: AsFd + IoSafe + Read + Unpin> futures_io::AsyncRead for Async<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        // SAFETY: `T: IoSafe`: its `Read::read` leaves the fd alone.
        unsafe { self.get_mut().poll_read_with_mut(cx, |io| io.read(buf)) }
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        // SAFETY: `T: IoSafe`: its `Read::read_vectored` leaves the fd alone.
        unsafe {
            self.get_mut()
                .poll_read_with_mut(cx, |io| io.read_vectored(bufs))
        }
    }
}

impl<T: AsFd + IoSafe + Write + Unpin> futures_io::AsyncWrite for Async<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        // SAFETY: `T: IoSafe`: its `Write::write` leaves the fd alone.
        unsafe { self.get_mut().poll_write_with_mut(cx, |io| io.write(buf)) }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // SAFETY: `T: IoSafe`: its `Write::write_vectored` leaves the fd alone.
        unsafe {
            self.get_mut()
                .poll_write_with_mut(cx, |io| io.write_vectored(bufs))
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // SAFETY: `T: IoSafe`: its `Write::flush` leaves the fd alone.
        unsafe { self.get_mut().poll_write_with_mut(cx, |io| io.flush()) }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Closing the fd is the drop's job; here, flush what is buffered.
        self.poll_flush(cx)
    }
}

impl<T: AsFd> futures_io::AsyncRead for &Async<T>
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

impl<T: AsFd> futures_io::AsyncWrite for &Async<T>
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

/// An I/O type whose `&mut self` methods never close or replace its fd, so that
/// `futures_io::AsyncRead` and `AsyncWrite` for [`Async<T>`] may call them (`Read::read`,
/// `Write::write`, `flush`, …) through a `&mut T` while the fd is registered.
///
/// [`Async`] gives out `&mut T` only through `unsafe` methods (see "I/O safety" on
/// [`Async`]). Its `AsyncRead`/`AsyncWrite` impls need a `&mut T` to call `Read` and
/// `Write`, but it is not the caller's code that runs there, it is `T`'s own impls; this
/// trait is `T`'s promise about them, which is why implementing it is `unsafe`.
///
/// Implemented for std's fd types (files, TCP, UDP and Unix sockets, pipes, a child's
/// stdio, [`OwnedFd`]), for [`Arc`](std::sync::Arc)s of them, and for
/// [`ply_sys::Socket`].
///
/// # Safety
///
/// An implementor promises that no method of `T` taking `&mut self` (in particular its
/// `Read` and `Write` impls) closes the fd that [`AsFd::as_fd`] returns, makes `as_fd`
/// return a different fd afterwards, or moves the fd out, and that the same holds for
/// every `&mut self` method of its fields that those methods call.
///
/// # Examples
///
/// ```
/// use std::io::{self, Read};
/// use std::os::fd::{AsFd, BorrowedFd};
///
/// /// A file that counts the bytes read from it.
/// struct Counted {
///     file: std::fs::File,
///     bytes: u64,
/// }
///
/// impl AsFd for Counted {
///     fn as_fd(&self) -> BorrowedFd<'_> {
///         self.file.as_fd()
///     }
/// }
///
/// impl Read for Counted {
///     fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
///         let n = self.file.read(buf)?;
///         self.bytes += n as u64;
///         Ok(n)
///     }
/// }
///
/// // SAFETY: `read` only reads from `file` and counts; nothing replaces or closes it.
/// unsafe impl ply_reactor::IoSafe for Counted {}
/// ```
pub unsafe trait IoSafe {}

/// Implements [`IoSafe`] for std types, none of whose `&mut self` methods touch the fd.
macro_rules! io_safe {
    ($($ty:ty),* $(,)?) => {
        $(
            // SAFETY: std's impls for this type read, write and set options on its fd;
            // only its drop closes it, and no `&mut self` method replaces it.
            unsafe impl IoSafe for $ty {}
        )*
    };
}

io_safe!(
    std::fs::File,
    std::net::TcpStream,
    std::net::TcpListener,
    std::net::UdpSocket,
    std::os::unix::net::UnixStream,
    std::os::unix::net::UnixListener,
    std::os::unix::net::UnixDatagram,
    std::io::PipeReader,
    std::io::PipeWriter,
    std::process::ChildStdin,
    std::process::ChildStdout,
    std::process::ChildStderr,
    OwnedFd,
);

// SAFETY: ply-sys's `Socket` is a plain `OwnedFd`; its `&mut self` methods (the `Read`
// and `Write` impls) are `recv`/`send` on that fd, and only its drop closes it.
unsafe impl IoSafe for ply_sys::Socket {}

// SAFETY: an `Arc` gives its methods only `&T`, which cannot replace `T`'s fd unless `T`'s
// own methods do, which `T: IoSafe` rules out; the `Arc` itself holds no fd.
unsafe impl<T: IoSafe + ?Sized> IoSafe for std::sync::Arc<T> {}
