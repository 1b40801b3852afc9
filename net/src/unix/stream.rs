//! [`UnixStream`]: a connected Unix stream socket, async.

use crate::stream::{split, Stream};
use crate::unix::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use ply_reactor::Reactor;
use ply_sys::{RecvMsg, UCred, UnixAddr, UnixSocket};
use std::future::poll_fn;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::Path;

/// A Unix stream connection, registered with a reactor: [`TcpStream`](crate::TcpStream)'s
/// shape (methods on `&self`, borrowed and owned halves, `futures_io::AsyncRead` and
/// `AsyncWrite`), plus the peer's credentials and fd passing.
///
/// Writes use `MSG_NOSIGNAL`: a peer that has gone is `BrokenPipe`, never `SIGPIPE`.
///
/// # Examples
///
/// ```
/// use ply_net::UnixStream;
///
/// # fn main() -> std::io::Result<()> {
/// ply_net::run(async {
///     let (a, b) = UnixStream::pair()?;
///     a.write_all(b"ping").await?;
///     let mut buf = [0; 4];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     Ok(())
/// })
/// # }
/// ```
pub struct UnixStream {
    stream: Stream<UnixSocket>,
}

crate::stream::duplex!(UnixStream, UnixSocket);

impl UnixStream {
    /// Connects to the socket file `path`. A Unix connect completes at once or fails at
    /// once; there is nothing to wait for.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a path longer than `sun_path`; `NotFound` with no socket
    /// there; `ConnectionRefused` for a socket file nobody listens on; `WouldBlock` if the
    /// listener's backlog is full.
    pub async fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        UnixStream::connect_addr(&UnixAddr::from_pathname(path)?, &Reactor::current()?)
    }

    /// Connects to any [`UnixAddr`] with an explicit reactor.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub fn connect_addr(addr: &UnixAddr, reactor: &Reactor) -> io::Result<UnixStream> {
        let socket = UnixSocket::stream()?;
        socket.connect(addr)?;
        UnixStream::from_socket(socket, reactor)
    }

    /// A connected pair ([socketpair(2)]), registered with the current reactor.
    ///
    /// # Errors
    ///
    /// `EMFILE` when out of fds; if registration fails.
    ///
    /// [socketpair(2)]: https://man7.org/linux/man-pages/man2/socketpair.2.html
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let reactor = Reactor::current()?;
        let (a, b) = UnixSocket::pair_stream()?;
        Ok((
            UnixStream::from_socket(a, &reactor)?,
            UnixStream::from_socket(b, &reactor)?,
        ))
    }

    /// Wraps a connected std stream (made nonblocking), registering it with the current
    /// reactor.
    ///
    /// # Errors
    ///
    /// If registration fails.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            stream: Stream::new_current(UnixSocket::from(stream))?,
        })
    }

    /// Deregisters and returns the std stream (left nonblocking).
    ///
    /// # Errors
    ///
    /// If deregistration fails.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        Ok(self.stream.into_socket()?.into())
    }

    pub(crate) fn from_socket(socket: UnixSocket, reactor: &Reactor) -> io::Result<UnixStream> {
        Ok(UnixStream {
            stream: Stream::new(socket, reactor)?,
        })
    }

    fn socket(&self) -> &UnixSocket {
        self.stream.socket()
    }

    /// Reads into `buf`, waiting for data; `Ok(0)` is end of stream.
    ///
    /// # Errors
    ///
    /// `ConnectionReset`, and the other errors of recv(2).
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf).await
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the stream ends first, or a read error.
    pub async fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
        self.stream.read_exact(buf).await
    }

    /// Scatter read.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub async fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.stream.read_vectored(bufs).await
    }

    /// Reads without consuming.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.peek(buf).await
    }

    /// Writes some of `buf`, waiting for buffer space.
    ///
    /// # Errors
    ///
    /// `BrokenPipe`, and the other errors of send(2).
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf).await
    }

    /// Writes all of `buf`.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write); `WriteZero` if the socket takes nothing.
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        self.stream.write_all(buf).await
    }

    /// Gather write.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    pub async fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.stream.write_vectored(bufs).await
    }

    /// Sends `bufs` with `fds` attached (`SCM_RIGHTS`); the fds arrive with the first
    /// byte sent, so send at least one. Our fds stay open; the peer gets its own.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for no fds or more than [`SCM_MAX_FD`](ply_sys::SCM_MAX_FD);
    /// `BrokenPipe`; `ETOOMANYREFS`.
    pub async fn send_with_fds(
        &self,
        bufs: &[IoSlice<'_>],
        fds: &[BorrowedFd<'_>],
    ) -> io::Result<usize> {
        poll_fn(|cx| {
            self.stream
                .io()
                .poll_write_with(cx, |s| s.send_with_fds(bufs, fds))
        })
        .await
    }

    /// Reads into `buf`, taking up to `max_fds` passed fds onto `fds` (each an `OwnedFd`,
    /// close-on-exec). Extra fds are closed and reported in
    /// [`RecvMsg::fds_truncated`]. `len == 0` is end of stream.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub async fn recv_with_fds(
        &self,
        buf: &mut [u8],
        fds: &mut Vec<OwnedFd>,
        max_fds: usize,
    ) -> io::Result<RecvMsg> {
        poll_fn(|cx| {
            self.stream
                .io()
                .poll_read_with(cx, |s| s.recv_with_fds(buf, fds, max_fds))
        })
        .await
    }

    /// Reads what is there now without waiting: `WouldBlock` if nothing is known to be
    /// readable.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or a read error.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.try_read(buf)
    }

    /// Writes what fits now without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or a write error.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.stream.try_write(buf)
    }

    /// Waits until the stream is readable.
    ///
    /// # Errors
    ///
    /// If the reactor has shut down.
    pub async fn readable(&self) -> io::Result<()> {
        self.stream.readable().await
    }

    /// Waits until the stream is writable.
    ///
    /// # Errors
    ///
    /// If the reactor has shut down.
    pub async fn writable(&self) -> io::Result<()> {
        self.stream.writable().await
    }

    /// Shuts down reading, writing or both; `Shutdown::Write` is the half-close.
    ///
    /// # Errors
    ///
    /// `NotConnected`.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.stream.shutdown(how)
    }

    /// The local address (usually unnamed for a client).
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn local_addr(&self) -> io::Result<UnixAddr> {
        self.socket().local_addr()
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected`.
    pub fn peer_addr(&self) -> io::Result<UnixAddr> {
        self.socket().peer_addr()
    }

    /// The peer's pid, uid and gid (`SO_PEERCRED`), as they were when it connected.
    ///
    /// # Errors
    ///
    /// `NotConnected`.
    pub fn peer_cred(&self) -> io::Result<UCred> {
        self.socket().peer_cred()
    }

    /// Takes the pending error (`SO_ERROR`).
    ///
    /// # Errors
    ///
    /// If the option cannot be read.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.socket().take_error()
    }

    /// Borrowed read and write halves.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (split::ReadHalf(self), split::WriteHalf(self))
    }

    /// Owned halves, for reading in one task and writing in another. Dropping the write
    /// half shuts down the write direction.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split::into_split(self)
    }
}
