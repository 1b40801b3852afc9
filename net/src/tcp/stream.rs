//! [`TcpStream`]: a connected TCP socket, async.

use crate::addr::{each_addr, ToSocketAddrs};
use crate::stream::{split, OwnedReadHalf, OwnedWriteHalf, ReadHalf, Stream, WriteHalf};
use ply_reactor::Reactor;
use ply_sys::{Connect, Interest, Socket};
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Shutdown, SocketAddr};
use std::task::{Context, Poll};
use std::time::Duration;

/// A TCP connection, registered with a reactor.
///
/// Reads and writes are async and take `&self` underneath (the socket is full duplex), so
/// one task may read while another writes: [`split`](Self::split) borrows the two halves,
/// [`into_split`](Self::into_split) hands out owned ones. It implements
/// `futures_io::AsyncRead` and `AsyncWrite`, so the `futures` extension traits
/// (`read_to_end`, `copy`, ...) work on it.
///
/// Reads and writes allocate nothing: each is a readiness check and one syscall, plus a
/// wait in the reactor when the socket is not ready. Writes use `MSG_NOSIGNAL`: a peer
/// that has gone is an error (`BrokenPipe` or `ConnectionReset`), never `SIGPIPE`.
///
/// # Examples
///
/// ```
/// use ply_net::{TcpListener, TcpStream};
///
/// # fn main() -> std::io::Result<()> {
/// ply_net::Runtime::new_current_thread()?.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let server = ply_net::spawn(async move {
///         let (mut s, _) = listener.accept().await?;
///         let mut buf = [0; 5];
///         s.read_exact(&mut buf).await?;
///         s.write_all(&buf).await?;
///         std::io::Result::Ok(())
///     });
///     let mut c = TcpStream::connect(addr).await?;
///     c.write_all(b"hello").await?;
///     let mut buf = [0; 5];
///     c.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hello");
///     server.await.unwrap()
/// })
/// # }
/// ```
pub struct TcpStream {
    stream: Stream<Socket>,
}

crate::stream::duplex!(TcpStream, Socket);

impl TcpStream {
    /// Connects to `addr`, trying each address it resolves to in turn (host names are
    /// resolved on the blocking pool). The connect itself is nonblocking: the task waits
    /// for the socket to become writable, then reads `SO_ERROR`.
    ///
    /// # Errors
    ///
    /// `ConnectionRefused`, `TimedOut` (the kernel's own SYN timeout), `NetworkUnreachable`,
    /// a lookup error; with several addresses, the last address's error.
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        let reactor = Reactor::current()?;
        each_addr(addr, |a| TcpStream::connect_addr(a, &reactor)).await
    }

    /// Like [`connect`](Self::connect), but gives up after `timeout` (measured by
    /// ply-timer) with `TimedOut`.
    ///
    /// # Errors
    ///
    /// `TimedOut`, or those of [`connect`](Self::connect).
    pub async fn connect_timeout<A: ToSocketAddrs>(
        addr: A,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        match ply_timer::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(res) => res,
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")),
        }
    }

    /// Connects to one address with an explicit reactor.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub async fn connect_addr(addr: SocketAddr, reactor: &Reactor) -> io::Result<TcpStream> {
        let socket = Socket::tcp_for(&addr)?;
        let state = socket.connect(&addr)?;
        TcpStream::from_socket(socket, reactor)?
            .finish_connect(state)
            .await
    }

    /// Wraps a connected std stream (made nonblocking), registering it with the current
    /// reactor.
    ///
    /// # Errors
    ///
    /// If registration fails.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            stream: Stream::new_current(Socket::from(stream))?,
        })
    }

    /// Deregisters and returns the std stream (left nonblocking).
    ///
    /// # Errors
    ///
    /// If deregistration fails.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        Ok(self.stream.into_socket()?.into())
    }

    pub(crate) fn from_socket(socket: Socket, reactor: &Reactor) -> io::Result<TcpStream> {
        Ok(TcpStream {
            stream: Stream::new(socket, reactor)?,
        })
    }

    /// Waits out a nonblocking connect that is `InProgress` (writable, then `SO_ERROR`).
    pub(crate) async fn finish_connect(self, state: Connect) -> io::Result<TcpStream> {
        if state == Connect::InProgress {
            self.writable().await?;
            if let Some(e) = self.socket().take_error()? {
                return Err(e);
            }
        }
        Ok(self)
    }

    fn socket(&self) -> &Socket {
        self.stream.socket()
    }

    /// Reads into `buf`, waiting until some data arrives; `Ok(0)` is end of stream.
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

    /// Scatter read into several buffers in one syscall.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub async fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.stream.read_vectored(bufs).await
    }

    /// Reads without consuming: the bytes stay queued for the next read.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.peek(buf).await
    }

    /// Writes some of `buf`, waiting for buffer space; returns how much was taken.
    ///
    /// # Errors
    ///
    /// `BrokenPipe`, `ConnectionReset`, and the other errors of send(2).
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

    /// Gather write from several buffers in one syscall.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    pub async fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.stream.write_vectored(bufs).await
    }

    /// Reads what is there now without waiting: `WouldBlock` if nothing is known to be
    /// readable (no syscall then). Pair with [`readable`](Self::readable).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or a read error.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.try_read(buf)
    }

    /// Writes what fits now without waiting: `WouldBlock` if the socket is not known to be
    /// writable. Pair with [`writable`](Self::writable).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or a write error.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.stream.try_write(buf)
    }

    /// Waits until the stream is readable (data, end of stream, or an error).
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

    /// Shuts down reading, writing or both. `Shutdown::Write` is the half-close: the peer
    /// reads end of stream and may still write back.
    ///
    /// # Errors
    ///
    /// `NotConnected`.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.stream.shutdown(how)
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// If the socket has no address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket().local_addr()
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.socket().peer_addr()
    }

    /// Sets `TCP_NODELAY` (send small writes at once, no Nagle delay).
    ///
    /// # Errors
    ///
    /// If the option cannot be set.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.socket().set_nodelay(on)
    }

    /// Whether `TCP_NODELAY` is on.
    ///
    /// # Errors
    ///
    /// If the option cannot be read.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.socket().nodelay()
    }

    /// Sets `SO_KEEPALIVE`.
    ///
    /// # Errors
    ///
    /// If the option cannot be set.
    pub fn set_keepalive(&self, on: bool) -> io::Result<()> {
        self.socket().set_keepalive(on)
    }

    /// Whether `SO_KEEPALIVE` is on.
    ///
    /// # Errors
    ///
    /// If the option cannot be read.
    pub fn keepalive(&self) -> io::Result<bool> {
        self.socket().keepalive()
    }

    /// Makes dropping this stream abort the connection: the close sends an RST instead of
    /// a FIN and discards unsent data, so the peer's next read or write fails with
    /// `ConnectionReset`, and no `TIME_WAIT` is left behind. The close never blocks.
    /// (`SO_LINGER` with a zero timeout; see socket(7).)
    ///
    /// # Errors
    ///
    /// If the option cannot be set.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use ply_net::{TcpListener, TcpStream};
    /// use std::io::ErrorKind;
    ///
    /// ply_net::Runtime::new()?.block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (server, _) = listener.accept().await?;
    ///     server.set_zero_linger()?;
    ///     drop(server); // an RST, not a FIN
    ///     let err = client.read(&mut [0; 8]).await.unwrap_err();
    ///     assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    ///     Ok(())
    /// })
    /// # }
    /// ```
    pub fn set_zero_linger(&self) -> io::Result<()> {
        self.socket().set_zero_linger()
    }

    /// Sets `SO_LINGER`.
    ///
    /// Deprecated because a nonzero linger makes the *drop* of this stream block the
    /// thread that drops it, for up to the linger time, while the kernel tries to send
    /// what is still queued (`close(2)` lingers even on a nonblocking socket; see
    /// socket(7)). In a runtime that thread is a worker, and every task on it stalls.
    /// For an abortive close use [`set_zero_linger`](Self::set_zero_linger); to make sure
    /// the peer got everything, [`shutdown`](Self::shutdown) the write side and read
    /// until the peer closes too. (tokio deprecated its `set_linger` for the same reason.)
    ///
    /// # Errors
    ///
    /// If the option cannot be set.
    #[deprecated(
        note = "a nonzero linger makes dropping the stream block the thread (a runtime \
                worker) until unsent data drains: use `set_zero_linger` for an abortive \
                close, or `shutdown(Write)` and read to end for a graceful one"
    )]
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.socket().set_linger(linger)
    }

    /// The `SO_LINGER` setting.
    ///
    /// # Errors
    ///
    /// If the option cannot be read.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.socket().linger()
    }

    /// Sets the IP time-to-live (hop limit).
    ///
    /// # Errors
    ///
    /// `InvalidInput` above 255.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.socket().set_ttl(ttl)
    }

    /// The IP time-to-live.
    ///
    /// # Errors
    ///
    /// If the option cannot be read.
    pub fn ttl(&self) -> io::Result<u32> {
        self.socket().ttl()
    }

    /// Borrowed read and write halves, for reading and writing concurrently in one task
    /// (e.g. `futures::join!`).
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf(self), WriteHalf(self))
    }

    /// Owned halves, for reading in one task and writing in another. Dropping the write
    /// half shuts down the write direction (the peer reads end of stream).
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split::into_split(self)
    }
}

/// Readiness for several directions at once, vectored `try_*` calls and a poll form of
/// peek.
impl TcpStream {
    /// Waits until the stream is ready for any direction in `interest` and returns the
    /// directions that are (`READABLE`, `WRITABLE` or `BOTH`). Readable includes end of
    /// stream and a pending error; writable includes a closed write side. Readiness is a
    /// hint: follow it with `try_read`/`try_write`, which may still say `WouldBlock`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `interest` names neither reading nor writing; an error if the
    /// reactor has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use ply_net::{TcpListener, TcpStream};
    /// use ply_sys::Interest;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// ply_net::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (server, _) = listener.accept().await?;
    ///     // Nothing to read yet, but room to write.
    ///     assert_eq!(client.ready(Interest::BOTH).await?, Interest::WRITABLE);
    ///     server.write_all(b"x").await?;
    ///     client.readable().await?;
    ///     assert!(client.ready(Interest::READABLE).await?.is_readable());
    ///     Ok(())
    /// })
    /// # }
    /// ```
    pub async fn ready(&self, interest: Interest) -> io::Result<Interest> {
        self.stream.ready(interest).await
    }

    /// Scatter read of what is there now, without waiting: `WouldBlock` if nothing is
    /// known to be readable (no syscall then).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or a read error.
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.stream.try_read_vectored(bufs)
    }

    /// Gather write of what fits now, without waiting: `WouldBlock` if the socket is not
    /// known to be writable.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or a write error.
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.stream.try_write_vectored(bufs)
    }

    /// Poll form of [`peek`](Self::peek): reads without consuming, waiting for data as
    /// needed; `Ok(0)` is end of stream.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.stream.poll_peek(cx, buf)
    }
}
