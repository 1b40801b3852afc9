//! [`UnixDatagram`]: Unix datagram sockets, async.

use ply_reactor::{Async, Reactor};
use ply_sys::{RecvMsg, UCred, UnixAddr, UnixSocket};
use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;
use std::task::{Context, Poll};

/// A Unix datagram socket, registered with a reactor.
///
/// Unlike UDP, Unix datagrams are reliable and ordered: a full receiver makes the sender
/// wait (`WouldBlock`, then writable) instead of dropping. Like UDP, each read is one
/// whole message (truncated to the buffer: [`recv_msg_from`](Self::recv_msg_from) says
/// when), there is no end of stream, and the reactor reads until `WouldBlock`.
///
/// # Examples
///
/// ```
/// use ply_net::UnixDatagram;
///
/// # fn main() -> std::io::Result<()> {
/// ply_net::run(async {
///     let (a, b) = UnixDatagram::pair()?;
///     a.send(b"one").await?;
///     a.send(b"two").await?;
///     let mut buf = [0; 16];
///     assert_eq!(b.recv(&mut buf).await?, 3);
///     assert_eq!(b.recv(&mut buf).await?, 3);
///     assert_eq!(&buf[..3], b"two");
///     Ok(())
/// })
/// # }
/// ```
pub struct UnixDatagram {
    io: Async<UnixSocket>,
}

impl UnixDatagram {
    /// Binds to the socket file `path`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a path longer than `sun_path`; `AddrInUse` if it exists.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixDatagram> {
        UnixDatagram::bind_addr(&UnixAddr::from_pathname(path)?)
    }

    /// Binds to any [`UnixAddr`].
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind).
    pub fn bind_addr(addr: &UnixAddr) -> io::Result<UnixDatagram> {
        UnixDatagram::from_socket(UnixSocket::datagram_bound(addr)?, &Reactor::current()?)
    }

    /// An unbound socket: it can send to named sockets, but nobody can answer it.
    ///
    /// # Errors
    ///
    /// `EMFILE` when out of fds.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_socket(UnixSocket::datagram()?, &Reactor::current()?)
    }

    /// A connected pair.
    ///
    /// # Errors
    ///
    /// `EMFILE` when out of fds.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let reactor = Reactor::current()?;
        let (a, b) = UnixSocket::pair_datagram()?;
        Ok((
            UnixDatagram::from_socket(a, &reactor)?,
            UnixDatagram::from_socket(b, &reactor)?,
        ))
    }

    /// Wraps a ply-sys socket, registering it with `reactor`.
    ///
    /// # Errors
    ///
    /// If registration fails.
    pub fn from_socket(socket: UnixSocket, reactor: &Reactor) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: Async::new_in(socket, reactor)?,
        })
    }

    /// Wraps a std socket (made nonblocking), registering it with the current reactor.
    ///
    /// # Errors
    ///
    /// If registration fails.
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: Async::new(UnixSocket::from(socket))?,
        })
    }

    /// Deregisters and returns the std socket (left nonblocking).
    ///
    /// # Errors
    ///
    /// If deregistration fails.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        Ok(self.io.into_inner()?.into())
    }

    fn socket(&self) -> &UnixSocket {
        self.io.get_ref()
    }

    /// Sets the default destination to the socket file `path`.
    ///
    /// # Errors
    ///
    /// `NotFound`, `ConnectionRefused`, `InvalidInput` for a path too long.
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        self.socket().connect(&UnixAddr::from_pathname(path)?)
    }

    /// Sets the default destination to any [`UnixAddr`].
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub fn connect_addr(&self, addr: &UnixAddr) -> io::Result<()> {
        self.socket().connect(addr)
    }

    /// Sends one message to `target`, waiting while the receiver's queue is full.
    ///
    /// # Errors
    ///
    /// `NotFound`/`ConnectionRefused` with no socket there; `EMSGSIZE`.
    pub async fn send_to(&self, buf: &[u8], target: &UnixAddr) -> io::Result<usize> {
        poll_fn(|cx| self.io.poll_write_with(cx, |s| s.send_to(buf, target))).await
    }

    /// Receives one message and its sender's address (truncated to `buf`).
    ///
    /// # Errors
    ///
    /// The errors of recvmsg(2).
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, UnixAddr)> {
        let (meta, addr) = self.recv_msg_from(buf).await?;
        Ok((meta.len, addr))
    }

    /// Receives one message, saying whether it was truncated (`MSG_TRUNC`).
    ///
    /// # Errors
    ///
    /// The errors of recvmsg(2).
    pub async fn recv_msg_from(&self, buf: &mut [u8]) -> io::Result<(RecvMsg, UnixAddr)> {
        poll_fn(|cx| self.io.poll_read_with(cx, |s| s.recv_from(buf))).await
    }

    /// Sends one message to the connected peer.
    ///
    /// # Errors
    ///
    /// `ENOTCONN` if not connected; `ConnectionRefused` if the peer is gone.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_send(cx, buf)).await
    }

    /// Receives one message from the connected peer.
    ///
    /// # Errors
    ///
    /// The errors of recv(2).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_recv(cx, buf)).await
    }

    /// Poll form of [`send`](Self::send).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_write_with(cx, |s| s.send(buf))
    }

    /// Poll form of [`recv`](Self::recv).
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_read_with(cx, |s| s.recv(buf))
    }

    /// Sends one message with `fds` attached (`SCM_RIGHTS`) to the connected peer.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for no fds or more than [`SCM_MAX_FD`](ply_sys::SCM_MAX_FD).
    pub async fn send_with_fds(
        &self,
        bufs: &[IoSlice<'_>],
        fds: &[BorrowedFd<'_>],
    ) -> io::Result<usize> {
        poll_fn(|cx| self.io.poll_write_with(cx, |s| s.send_with_fds(bufs, fds))).await
    }

    /// Receives one message, taking up to `max_fds` passed fds onto `fds`; extra ones are
    /// closed and reported.
    ///
    /// # Errors
    ///
    /// The errors of recvmsg(2).
    pub async fn recv_with_fds(
        &self,
        buf: &mut [u8],
        fds: &mut Vec<OwnedFd>,
        max_fds: usize,
    ) -> io::Result<RecvMsg> {
        poll_fn(|cx| {
            self.io
                .poll_read_with(cx, |s| s.recv_with_fds(buf, fds, max_fds))
        })
        .await
    }

    /// Sends now without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or as [`send`](Self::send).
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write_with(|s| s.send(buf))
    }

    /// Sends to `target` now without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or as [`send_to`](Self::send_to).
    pub fn try_send_to(&self, buf: &[u8], target: &UnixAddr) -> io::Result<usize> {
        self.io.try_write_with(|s| s.send_to(buf, target))
    }

    /// Receives now without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or as [`recv`](Self::recv).
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read_with(|s| s.recv(buf))
    }

    /// Receives with the sender's address now without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or as [`recv_from`](Self::recv_from).
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, UnixAddr)> {
        self.io
            .try_read_with(|s| s.recv_from(buf))
            .map(|(meta, addr)| (meta.len, addr))
    }

    /// Waits until a message is queued.
    ///
    /// # Errors
    ///
    /// If the reactor has shut down.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.readable().await
    }

    /// Waits until a message can be sent.
    ///
    /// # Errors
    ///
    /// If the reactor has shut down.
    pub async fn writable(&self) -> io::Result<()> {
        self.io.writable().await
    }

    /// Shuts down reading, writing or both.
    ///
    /// # Errors
    ///
    /// `NotConnected`.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.socket().shutdown(how)
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn local_addr(&self) -> io::Result<UnixAddr> {
        self.socket().local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected`.
    pub fn peer_addr(&self) -> io::Result<UnixAddr> {
        self.socket().peer_addr()
    }

    /// The connected peer's credentials (`SO_PEERCRED`).
    ///
    /// # Errors
    ///
    /// If the option cannot be read.
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
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UnixDatagram");
        if let Ok(a) = self.local_addr() {
            d.field("local", &a);
        }
        d.field("fd", &self.as_raw_fd()).finish()
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}
