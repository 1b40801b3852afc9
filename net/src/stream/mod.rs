//! The one stream layer under [`TcpStream`](crate::TcpStream) and
//! [`UnixStream`](crate::UnixStream).
//!
//! A TCP connection and a Unix stream connection are, to a reader of bytes, the same
//! thing: a full-duplex byte stream on one fd, read with recv(2)/readv(2), written with
//! send(2)/sendmsg(2) (`MSG_NOSIGNAL`), half-closed with shutdown(2), waited for in the
//! reactor. Everything that follows from that is written here once:
//!
//! - [`Stream<S>`]: the core, an [`Async<S>`] over a connected stream socket `S` (ply-sys's
//!   `Socket` or `UnixSocket`, through the sealed [`StreamSocket`] trait): the `poll_*`
//!   reads and writes (vectored too), peek, the `try_*` forms, readiness, shutdown, and the
//!   `async fn`s built on them (`read_exact`, `write_all`, ...).
//! - [`split`](mod@split): the borrowed and owned halves, generic over the stream type that
//!   is split ([`Duplex`]), with `reunite`.
//! - [`futures_io`](mod@futures_io): `futures_io::AsyncRead`/`AsyncWrite` for every stream
//!   type, a reference to it and its halves. tokio's traits are the same, once, in
//!   `crate::tokio_io` (behind the `tokio-io` feature).
//!
//! What stays in `tcp/` and `unix/` is what really differs: how a connection is made
//! (connect with `SO_ERROR`, `pair`, accept), the address type, and the options of each
//! family (`TCP_NODELAY`, `SO_LINGER`, TTL; `SO_PEERCRED` and fd passing). The public types
//! there are thin: a [`Stream<S>`] and one-line forwarding methods, so that each keeps its
//! own documented API.
//!
//! # Where another I/O mode plugs in
//!
//! Every byte that moves goes through one of the `poll_read*`, `poll_peek`, `poll_write*`
//! and `try_*` methods of [`Stream`]; nothing above them touches the fd (the halves, the
//! trait impls and the public types all call these). Today each is "readiness, then one
//! nonblocking syscall" ([`Async::poll_read_stream`]). A completion mode (io_uring: a read
//! copied out of a buffer the kernel filled, a write submitted from an owned buffer) would
//! replace the bodies of those methods, and of nothing else.

pub(crate) mod futures_io;
pub(crate) mod split;

use ply_reactor::{Async, Reactor};
use ply_sys::{Interest, Socket, UnixSocket};
use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};

/// A connected stream socket of ply-sys: what [`Stream`] needs of `Socket` and
/// `UnixSocket`. Each method is the ply-sys method of the same name; the trait is sealed
/// (it lives in a private module), so only those two implement it.
pub trait StreamSocket: AsFd + fmt::Debug + Send + Sync + 'static {
    /// The address type of the family: `SocketAddr` or `UnixAddr`.
    type Addr: fmt::Debug;
    /// recv(2).
    fn recv(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// recv(2) into memory that may be uninitialised.
    fn recv_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize>;
    /// readv(2).
    fn recv_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize>;
    /// recv(2) with `MSG_PEEK`.
    fn peek(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// send(2) with `MSG_NOSIGNAL`.
    fn send(&self, buf: &[u8]) -> io::Result<usize>;
    /// sendmsg(2) with `MSG_NOSIGNAL`.
    fn send_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
    /// shutdown(2).
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;
    /// getsockname(2).
    fn local_addr(&self) -> io::Result<Self::Addr>;
    /// getpeername(2).
    fn peer_addr(&self) -> io::Result<Self::Addr>;
}

/// Implements [`StreamSocket`] for a ply-sys socket type by calling its inherent methods.
macro_rules! stream_socket {
    ($socket:ty, $addr:ty) => {
        impl StreamSocket for $socket {
            type Addr = $addr;
            fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
                <$socket>::recv(self, buf)
            }
            fn recv_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
                <$socket>::recv_uninit(self, buf)
            }
            fn recv_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
                <$socket>::recv_vectored(self, bufs)
            }
            fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
                <$socket>::peek(self, buf)
            }
            fn send(&self, buf: &[u8]) -> io::Result<usize> {
                <$socket>::send(self, buf)
            }
            fn send_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
                <$socket>::send_vectored(self, bufs)
            }
            fn shutdown(&self, how: Shutdown) -> io::Result<()> {
                <$socket>::shutdown(self, how)
            }
            fn local_addr(&self) -> io::Result<$addr> {
                <$socket>::local_addr(self)
            }
            fn peer_addr(&self) -> io::Result<$addr> {
                <$socket>::peer_addr(self)
            }
        }
    };
}

stream_socket!(Socket, std::net::SocketAddr);
stream_socket!(UnixSocket, ply_sys::UnixAddr);

/// A public stream type built on a [`Stream`]: `TcpStream` or `UnixStream`. The halves
/// and the trait impls are generic over it. Sealed like [`StreamSocket`].
pub trait Duplex: fmt::Debug + Send + Sync + 'static {
    /// The ply-sys socket underneath.
    type Socket: StreamSocket;
    /// The core.
    fn stream(&self) -> &Stream<Self::Socket>;
}

/// Makes `$t`, a struct with a field `stream: Stream<$socket>`, a stream type: [`Duplex`],
/// and `Debug`, `AsFd` and `AsRawFd` as the core has them.
macro_rules! duplex {
    ($t:ident, $socket:ty) => {
        impl $crate::stream::Duplex for $t {
            type Socket = $socket;
            fn stream(&self) -> &$crate::stream::Stream<$socket> {
                &self.stream
            }
        }

        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.stream.debug(stringify!($t), f)
            }
        }

        impl std::os::fd::AsRawFd for $t {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.stream.as_raw_fd()
            }
        }

        impl std::os::fd::AsFd for $t {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.stream.as_fd()
            }
        }
    };
}
pub(crate) use duplex;

/// A connected stream socket registered with a reactor: the core every stream type wraps.
///
/// All methods take `&self`: the socket is full duplex and the reactor keeps one waker per
/// direction, so one task may read while another writes. Each read or write is a
/// readiness check and one syscall, plus a wait in the reactor when the socket is not
/// ready; a `WouldBlock` is never returned from a `poll_*` method, only from a `try_*` one.
pub struct Stream<S: StreamSocket> {
    io: Async<S>,
}

impl<S: StreamSocket> Stream<S> {
    /// Registers `socket` with `reactor`.
    pub(crate) fn new(socket: S, reactor: &Reactor) -> io::Result<Stream<S>> {
        Ok(Stream {
            io: Async::new_in(socket, reactor)?,
        })
    }

    /// Registers `socket` with the current reactor.
    pub(crate) fn new_current(socket: S) -> io::Result<Stream<S>> {
        Ok(Stream {
            io: Async::new(socket)?,
        })
    }

    /// Deregisters and returns the socket.
    pub(crate) fn into_socket(self) -> io::Result<S> {
        self.io.into_inner()
    }

    /// The socket, for the calls that are not reads or writes (options, addresses).
    pub(crate) fn socket(&self) -> &S {
        self.io.get_ref()
    }

    /// The registered socket, for the family's own reads and writes (fd passing).
    pub(crate) fn io(&self) -> &Async<S> {
        &self.io
    }
}

/// The reads and writes: the only code of the stream types that moves bytes.
impl<S: StreamSocket> Stream<S> {
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read_stream(cx, buf.len(), |s| s.recv(buf))
    }

    /// Reads into memory that may be uninitialised (hyper's and tokio's read buffers);
    /// recv(2) writes only initialised bytes, the first `n` returned.
    #[cfg(any(feature = "hyper", feature = "tokio-io"))]
    pub(crate) fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_read_stream(cx, buf.len(), |s| s.recv_uninit(buf))
    }

    pub(crate) fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.io.poll_read_stream(cx, len, |s| s.recv_vectored(bufs))
    }

    /// A peek leaves the bytes queued, so a short one says nothing about what is left:
    /// the plain readiness path, not the stream one.
    pub(crate) fn poll_peek(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read_with(cx, |s| s.peek(buf))
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_write_stream(cx, buf.len(), |s| s.send(buf))
    }

    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.io
            .poll_write_stream(cx, len, |s| s.send_vectored(bufs))
    }

    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read_with(|s| s.recv(buf))
    }

    pub(crate) fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io.try_read_with(|s| s.recv_vectored(bufs))
    }

    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write_with(|s| s.send(buf))
    }

    pub(crate) fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io.try_write_with(|s| s.send_vectored(bufs))
    }
}

/// The `async fn`s, built on the poll methods above.
impl<S: StreamSocket> Stream<S> {
    pub(crate) async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_read(cx, buf)).await
    }

    pub(crate) async fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
        let mut done = 0;
        while done < buf.len() {
            match self.read(&mut buf[done..]).await? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => done += n,
            }
        }
        Ok(())
    }

    pub(crate) async fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_read_vectored(cx, bufs)).await
    }

    pub(crate) async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_peek(cx, buf)).await
    }

    pub(crate) async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_write(cx, buf)).await
    }

    pub(crate) async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }

    pub(crate) async fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_write_vectored(cx, bufs)).await
    }
}

/// Readiness and shutdown.
impl<S: StreamSocket> Stream<S> {
    pub(crate) async fn readable(&self) -> io::Result<()> {
        self.io.readable().await
    }

    pub(crate) async fn writable(&self) -> io::Result<()> {
        self.io.writable().await
    }

    pub(crate) async fn ready(&self, interest: Interest) -> io::Result<Interest> {
        poll_fn(|cx| self.poll_ready(cx, interest)).await
    }

    fn poll_ready(&self, cx: &mut Context<'_>, interest: Interest) -> Poll<io::Result<Interest>> {
        if !interest.is_readable() && !interest.is_writable() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "ready needs READABLE, WRITABLE or both",
            )));
        }
        let reg = self.io.registration();
        // Poll every asked direction, so each stores the waker: whichever becomes ready
        // first wakes the task.
        let read = interest.is_readable() && {
            match reg.poll_read_ready(cx) {
                Poll::Ready(Ok(_)) => true,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => false,
            }
        };
        let write = interest.is_writable() && {
            match reg.poll_write_ready(cx) {
                Poll::Ready(Ok(_)) => true,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => false,
            }
        };
        match (read, write) {
            (true, true) => Poll::Ready(Ok(Interest::BOTH)),
            (true, false) => Poll::Ready(Ok(Interest::READABLE)),
            (false, true) => Poll::Ready(Ok(Interest::WRITABLE)),
            (false, false) => Poll::Pending,
        }
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.socket().shutdown(how)
    }

    /// The `Debug` of a stream type: its name, both addresses when known, the fd.
    pub(crate) fn debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct(name);
        if let Ok(a) = self.socket().local_addr() {
            d.field("local", &a);
        }
        if let Ok(a) = self.socket().peer_addr() {
            d.field("peer", &a);
        }
        d.field("fd", &self.as_raw_fd()).finish()
    }
}

impl<S: StreamSocket> AsRawFd for Stream<S> {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl<S: StreamSocket> AsFd for Stream<S> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl<S: StreamSocket> fmt::Debug for Stream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.debug("Stream", f)
    }
}
