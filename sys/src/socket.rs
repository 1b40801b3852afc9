//! TCP sockets over IPv4 and IPv6: [socket(7)], [tcp(7)], [ip(7)], [ipv6(7)].
//!
//! A [`Socket`] owns its fd from the line it is created on, always with `SOCK_NONBLOCK`
//! and `SOCK_CLOEXEC`. Calls that would block return `WouldBlock`; waiting for readiness
//! is the [`Selector`](crate::Selector)'s job, and the contract is written there once.
//!
//! **No `SIGPIPE`.** Writing to a socket whose peer has gone makes the kernel raise
//! `SIGPIPE`, whose default action kills the process. Every write here goes through
//! [send(2)] or [sendmsg(2)] with `MSG_NOSIGNAL`, so the writer gets `EPIPE` (or
//! `ECONNRESET`) as an error instead.
//!
//! [socket(7)]: https://man7.org/linux/man-pages/man7/socket.7.html
//! [tcp(7)]: https://man7.org/linux/man-pages/man7/tcp.7.html
//! [ip(7)]: https://man7.org/linux/man-pages/man7/ip.7.html
//! [ipv6(7)]: https://man7.org/linux/man-pages/man7/ipv6.7.html
//! [send(2)]: https://man7.org/linux/man-pages/man2/send.2.html
//! [sendmsg(2)]: https://man7.org/linux/man-pages/man2/sendmsg.2.html

use crate::addr::RawAddr;
use crate::cvt::{cvt, cvt_fd};
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// The outcome of a nonblocking [`Socket::connect`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "an in-progress connect must be waited for (writable) and checked with take_error"]
pub enum Connect {
    /// Connected already (common on loopback).
    Done,
    /// `EINPROGRESS`: wait until the socket is writable, then call
    /// [`Socket::take_error`]: `None` means connected.
    InProgress,
}

/// An owned, nonblocking TCP socket (a listener or a stream).
///
/// # Examples
///
/// ```
/// use ply_sys::Socket;
/// use std::io::{Read, Write};
/// use std::time::Duration;
///
/// # fn main() -> std::io::Result<()> {
/// let listener = Socket::tcp_listener("127.0.0.1:0".parse().unwrap(), 128)?;
/// let addr = listener.local_addr()?;
/// let client = Socket::tcp_connect_timeout(addr, Duration::from_secs(5))?;
/// let (server, peer) = loop {
///     match listener.accept() {
///         Ok(pair) => break pair,
///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::yield_now(),
///         Err(e) => return Err(e),
///     }
/// };
/// assert_eq!(peer, client.local_addr()?);
/// (&client).write_all(b"hi")?;
/// let mut buf = [0; 2];
/// loop {
///     match (&server).read(&mut buf) {
///         Ok(2) => break,
///         Ok(n) => panic!("short read {n}"),
///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::yield_now(),
///         Err(e) => return Err(e),
///     }
/// }
/// assert_eq!(&buf, b"hi");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Socket {
    fd: OwnedFd,
}

impl Socket {
    /// A new TCP socket for `addr`'s family ([socket(2)]), nonblocking and close-on-exec.
    ///
    /// # Errors
    ///
    /// `EMFILE`/`ENFILE` when out of fds; `EAFNOSUPPORT` if the family is not available
    /// (e.g. IPv6 disabled).
    ///
    /// [socket(2)]: https://man7.org/linux/man-pages/man2/socket.2.html
    pub fn tcp_for(addr: &SocketAddr) -> io::Result<Socket> {
        let domain = match addr {
            SocketAddr::V4(_) => libc::AF_INET,
            SocketAddr::V6(_) => libc::AF_INET6,
        };
        let ty = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: socket takes three integers; it touches no memory of ours.
        let fd = cvt_fd(unsafe { libc::socket(domain, ty, libc::IPPROTO_TCP) })?;
        Ok(Socket { fd })
    }

    /// A listening socket bound to `addr` with `SO_REUSEADDR` on, in one call: socket,
    /// setsockopt, bind, listen.
    ///
    /// # Errors
    ///
    /// `AddrInUse`, `AddrNotAvailable`, `PermissionDenied` (a low port), and those of
    /// [`tcp_for`](Self::tcp_for).
    pub fn tcp_listener(addr: SocketAddr, backlog: i32) -> io::Result<Socket> {
        let socket = Socket::tcp_for(&addr)?;
        socket.set_reuseaddr(true)?;
        socket.bind(&addr)?;
        socket.listen(backlog)?;
        Ok(socket)
    }

    /// Connects to `addr`, blocking the thread in [poll(2)] for up to `timeout` until the
    /// connection is made: for tools, tests and examples that have no reactor at hand. The
    /// socket stays nonblocking.
    ///
    /// # Errors
    ///
    /// `ConnectionRefused` and the other connect errors; `TimedOut` after `timeout`.
    ///
    /// [poll(2)]: https://man7.org/linux/man-pages/man2/poll.2.html
    pub fn tcp_connect_timeout(addr: SocketAddr, timeout: Duration) -> io::Result<Socket> {
        let socket = Socket::tcp_for(&addr)?;
        if socket.connect(&addr)? == Connect::InProgress {
            let mut pfd = libc::pollfd {
                fd: socket.as_raw_fd(),
                events: libc::POLLOUT,
                revents: 0,
            };
            let ms = crate::epoll::timeout_ms(Some(timeout));
            // SAFETY: one valid pollfd for the kernel to fill in.
            let n = cvt(unsafe { libc::poll(&mut pfd, 1, ms) })?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out"));
            }
            if let Some(e) = socket.take_error()? {
                return Err(e);
            }
        }
        Ok(socket)
    }

    /// Binds to `addr` ([bind(2)]).
    ///
    /// # Errors
    ///
    /// `AddrInUse`, `AddrNotAvailable`, `PermissionDenied`, `InvalidInput` if the family
    /// does not match the socket's.
    ///
    /// [bind(2)]: https://man7.org/linux/man-pages/man2/bind.2.html
    pub fn bind(&self, addr: &SocketAddr) -> io::Result<()> {
        let raw = RawAddr::from(addr);
        // SAFETY: `raw` holds a valid sockaddr of `raw.len()` bytes for the whole call.
        cvt(unsafe { libc::bind(self.fd.as_raw_fd(), raw.as_ptr(), raw.len()) })?;
        Ok(())
    }

    /// Marks the socket as a listener with a queue of `backlog` pending connections
    /// ([listen(2)]; the kernel caps it at `net.core.somaxconn`).
    ///
    /// # Errors
    ///
    /// `AddrInUse` if another socket listens on the same port without `SO_REUSEPORT`.
    ///
    /// [listen(2)]: https://man7.org/linux/man-pages/man2/listen.2.html
    pub fn listen(&self, backlog: i32) -> io::Result<()> {
        // SAFETY: listen takes two integers.
        cvt(unsafe { libc::listen(self.fd.as_raw_fd(), backlog) })?;
        Ok(())
    }

    /// Accepts a pending connection ([accept4(2)]); the new socket is nonblocking and
    /// close-on-exec from its first line.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when none is pending; `EMFILE`/`ENFILE`/`ENOBUFS` when out of fds or
    /// memory (the connection stays queued); `ConnectionAborted` if it was reset while
    /// queued.
    ///
    /// [accept4(2)]: https://man7.org/linux/man-pages/man2/accept4.2.html
    pub fn accept(&self) -> io::Result<(Socket, SocketAddr)> {
        let mut raw = RawAddr::empty();
        // SAFETY: `raw` is a writable sockaddr_storage and `len_mut` its size in/out.
        let fd = cvt_fd(unsafe {
            libc::accept4(
                self.fd.as_raw_fd(),
                raw.as_mut_ptr(),
                raw.len_mut(),
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            )
        })?;
        let socket = Socket { fd };
        let addr = raw.to_std()?;
        Ok((socket, addr))
    }

    /// Starts connecting to `addr` without blocking ([connect(2)]).
    ///
    /// # Errors
    ///
    /// `ConnectionRefused` (sometimes reported at once on loopback), `NetworkUnreachable`,
    /// `AddrNotAvailable`, ...; an error that arrives later is read with
    /// [`take_error`](Self::take_error).
    ///
    /// [connect(2)]: https://man7.org/linux/man-pages/man2/connect.2.html
    pub fn connect(&self, addr: &SocketAddr) -> io::Result<Connect> {
        let raw = RawAddr::from(addr);
        // SAFETY: `raw` holds a valid sockaddr of `raw.len()` bytes for the whole call.
        match cvt(unsafe { libc::connect(self.fd.as_raw_fd(), raw.as_ptr(), raw.len()) }) {
            Ok(_) => Ok(Connect::Done),
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(Connect::InProgress),
            Err(e) => Err(e),
        }
    }

    /// Takes the pending error (`SO_ERROR`), clearing it: after an in-progress connect
    /// becomes writable, `None` means it succeeded.
    ///
    /// # Errors
    ///
    /// Only if the option cannot be read (e.g. `EBADF`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        crate::socket_options::take_error(self.as_fd())
    }

    /// Shuts down reading, writing or both ([shutdown(2)]). `Shutdown::Write` is the
    /// half-close: the peer reads end of stream, and can still write back.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the socket is not connected.
    ///
    /// [shutdown(2)]: https://man7.org/linux/man-pages/man2/shutdown.2.html
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        data::shutdown(self.as_fd(), how)
    }

    /// The local address ([getsockname(2)]).
    ///
    /// # Errors
    ///
    /// `EBADF`, or `InvalidInput` if the socket is not IPv4 or IPv6.
    ///
    /// [getsockname(2)]: https://man7.org/linux/man-pages/man2/getsockname.2.html
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let mut raw = RawAddr::empty();
        // SAFETY: `raw` is a writable sockaddr_storage and `len_mut` its size in/out.
        cvt(unsafe { libc::getsockname(self.fd.as_raw_fd(), raw.as_mut_ptr(), raw.len_mut()) })?;
        raw.to_std()
    }

    /// The peer's address ([getpeername(2)]).
    ///
    /// # Errors
    ///
    /// `NotConnected` if there is no peer.
    ///
    /// [getpeername(2)]: https://man7.org/linux/man-pages/man2/getpeername.2.html
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        let mut raw = RawAddr::empty();
        // SAFETY: `raw` is a writable sockaddr_storage and `len_mut` its size in/out.
        cvt(unsafe { libc::getpeername(self.fd.as_raw_fd(), raw.as_mut_ptr(), raw.len_mut()) })?;
        raw.to_std()
    }

    /// Receives into `buf` ([recv(2)]); `Ok(0)` is end of stream.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when nothing is buffered; `ConnectionReset`.
    ///
    /// [recv(2)]: https://man7.org/linux/man-pages/man2/recv.2.html
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        data::recv(self.as_fd(), buf, 0)
    }

    /// Like [`recv`](Self::recv) into a buffer that need not be initialised (for callers
    /// that hand out uninitialised buffers, such as hyper's); returns how many bytes were
    /// written, which are then initialised.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub fn recv_uninit(&self, buf: &mut [std::mem::MaybeUninit<u8>]) -> io::Result<usize> {
        data::recv_uninit(self.as_fd(), buf)
    }

    /// Like [`recv`](Self::recv) with `MSG_PEEK`: the bytes stay queued for the next read.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        data::recv(self.as_fd(), buf, libc::MSG_PEEK)
    }

    /// Sends from `buf` with `MSG_NOSIGNAL` ([send(2)]): a peer that has gone yields
    /// `EPIPE`/`ECONNRESET`, never `SIGPIPE`.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when the send buffer is full; `BrokenPipe`, `ConnectionReset`.
    ///
    /// [send(2)]: https://man7.org/linux/man-pages/man2/send.2.html
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        data::send(self.as_fd(), buf)
    }

    /// Scatter read ([readv(2)]) into several buffers in one syscall.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    ///
    /// [readv(2)]: https://man7.org/linux/man-pages/man2/readv.2.html
    pub fn recv_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        data::recv_vectored(self.as_fd(), bufs)
    }

    /// Gather write from several buffers in one syscall ([sendmsg(2)] with
    /// `MSG_NOSIGNAL`, because writev(2) would raise `SIGPIPE`).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    ///
    /// [sendmsg(2)]: https://man7.org/linux/man-pages/man2/sendmsg.2.html
    pub fn send_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        crate::msg::sendmsg(self.as_fd(), bufs, None, &mut [])
    }

    /// Another owned fd for the same socket ([fcntl(2)] `F_DUPFD_CLOEXEC`).
    ///
    /// # Errors
    ///
    /// `EMFILE` when out of fds.
    ///
    /// [fcntl(2)]: https://man7.org/linux/man-pages/man2/fcntl.2.html
    pub fn try_clone(&self) -> io::Result<Socket> {
        Ok(Socket {
            fd: self.fd.try_clone()?,
        })
    }
}

/// The data path of any socket fd, written once: [`Socket`], [`UnixSocket`](crate::UnixSocket)
/// and [`UdpSocket`](crate::UdpSocket) forward their `recv`, `peek`, `send`, vectored
/// calls and `shutdown` here in one line each, and keep their own docs (what `Ok(0)` or a
/// short count means differs between a stream and a datagram).
pub(crate) mod data {
    use crate::cvt::cvt;
    use std::io::{self, IoSliceMut};
    use std::mem::MaybeUninit;
    use std::net::Shutdown;
    use std::os::fd::{AsRawFd, BorrowedFd};

    /// [recv(2)] with `flags` (0, or `MSG_PEEK`).
    ///
    /// [recv(2)]: https://man7.org/linux/man-pages/man2/recv.2.html
    pub(crate) fn recv(fd: BorrowedFd<'_>, buf: &mut [u8], flags: i32) -> io::Result<usize> {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole call.
        let n =
            cvt(unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), flags) })?;
        Ok(n as usize)
    }

    /// [recv(2)] into memory that need not be initialised; the first `n` bytes returned
    /// are initialised afterwards.
    ///
    /// [recv(2)]: https://man7.org/linux/man-pages/man2/recv.2.html
    pub(crate) fn recv_uninit(
        fd: BorrowedFd<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> io::Result<usize> {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole call; the
        // kernel writes only initialised bytes, and only the first `n` of them.
        let n = cvt(unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) })?;
        Ok(n as usize)
    }

    /// [readv(2)] into several buffers.
    ///
    /// [readv(2)]: https://man7.org/linux/man-pages/man2/readv.2.html
    pub(crate) fn recv_vectored(
        fd: BorrowedFd<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> io::Result<usize> {
        let count = bufs.len().min(libc::c_int::MAX as usize) as libc::c_int;
        // SAFETY: IoSliceMut is ABI-compatible with iovec on Unix, and each describes a
        // buffer valid for writes for the whole call; `count` does not exceed `bufs.len()`.
        let n = cvt(unsafe {
            libc::readv(fd.as_raw_fd(), bufs.as_ptr().cast::<libc::iovec>(), count)
        })?;
        Ok(n as usize)
    }

    /// [send(2)] with `MSG_NOSIGNAL`: a peer that has gone is `EPIPE`, never `SIGPIPE`.
    ///
    /// [send(2)]: https://man7.org/linux/man-pages/man2/send.2.html
    pub(crate) fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
        // SAFETY: `buf` is valid for reads of `buf.len()` bytes for the whole call.
        let n = cvt(unsafe {
            libc::send(
                fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_NOSIGNAL,
            )
        })?;
        Ok(n as usize)
    }

    /// [shutdown(2)].
    ///
    /// [shutdown(2)]: https://man7.org/linux/man-pages/man2/shutdown.2.html
    pub(crate) fn shutdown(fd: BorrowedFd<'_>, how: Shutdown) -> io::Result<()> {
        let how = match how {
            Shutdown::Read => libc::SHUT_RD,
            Shutdown::Write => libc::SHUT_WR,
            Shutdown::Both => libc::SHUT_RDWR,
        };
        // SAFETY: shutdown takes two integers.
        cvt(unsafe { libc::shutdown(fd.as_raw_fd(), how) })?;
        Ok(())
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.recv_vectored(bufs)
    }
}

impl Read for &Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.recv_vectored(bufs)
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.send_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.send_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsFd for Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl From<OwnedFd> for Socket {
    /// Takes ownership of a socket fd. The fd is used as it is: call
    /// [`set_nonblocking`](crate::set_nonblocking) if it came from a blocking API.
    fn from(fd: OwnedFd) -> Socket {
        Socket { fd }
    }
}

impl From<Socket> for OwnedFd {
    fn from(socket: Socket) -> OwnedFd {
        socket.fd
    }
}

impl IntoRawFd for Socket {
    fn into_raw_fd(self) -> RawFd {
        self.fd.into_raw_fd()
    }
}

impl FromRawFd for Socket {
    /// # Safety
    ///
    /// `fd` must be an open socket that nothing else owns or will close.
    unsafe fn from_raw_fd(fd: RawFd) -> Socket {
        Socket {
            // SAFETY: the caller guarantees `fd` is open and ours alone.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        }
    }
}

impl From<std::net::TcpStream> for Socket {
    /// Adopts a std stream and makes it nonblocking (std's are blocking by default).
    fn from(stream: std::net::TcpStream) -> Socket {
        // Ignoring the error is sound: set_nonblocking on a valid socket cannot fail.
        let _ = stream.set_nonblocking(true);
        Socket { fd: stream.into() }
    }
}

impl From<std::net::TcpListener> for Socket {
    /// Adopts a std listener and makes it nonblocking.
    fn from(listener: std::net::TcpListener) -> Socket {
        let _ = listener.set_nonblocking(true);
        Socket {
            fd: listener.into(),
        }
    }
}

impl From<Socket> for std::net::TcpStream {
    /// Hands the socket to std; it stays nonblocking.
    fn from(socket: Socket) -> std::net::TcpStream {
        socket.fd.into()
    }
}

impl From<Socket> for std::net::TcpListener {
    /// Hands the socket to std; it stays nonblocking.
    fn from(socket: Socket) -> std::net::TcpListener {
        socket.fd.into()
    }
}
