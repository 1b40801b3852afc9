//! [`UdpSocket`]: datagrams, async.

use crate::addr::{each_addr, resolve, ToSocketAddrs};
use ply_reactor::{Async, Reactor};
use ply_sys::RecvMeta;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

/// A UDP socket, registered with a reactor.
///
/// Datagrams are not a stream: each receive returns one whole datagram (truncated to the
/// buffer: [`recv_msg_from`](Self::recv_msg_from) says when), each send sends one, and
/// there is no end of stream and no half-close. So the reactor cannot take a short
/// receive as "drained", as it does for TCP: every receive loop goes on until the kernel
/// says `WouldBlock`, and only then waits. All methods take `&self`; share the socket
/// with an `Arc` to send from one task and receive in another.
///
/// # Examples
///
/// ```
/// use ply_net::UdpSocket;
///
/// # fn main() -> std::io::Result<()> {
/// ply_net::run(async {
///     let server = UdpSocket::bind("127.0.0.1:0").await?;
///     let client = UdpSocket::bind("127.0.0.1:0").await?;
///     client.connect(server.local_addr()?).await?;
///     client.send(b"ping").await?;
///     let mut buf = [0; 64];
///     let (n, from) = server.recv_from(&mut buf).await?;
///     server.send_to(&buf[..n], from).await?;
///     let n = client.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"ping");
///     Ok(())
/// })
/// # }
/// ```
pub struct UdpSocket {
    io: Async<ply_sys::UdpSocket>,
}

impl UdpSocket {
    /// Binds to `addr`, trying each address it resolves to (port 0 picks a free port).
    ///
    /// # Errors
    ///
    /// `AddrInUse`, `AddrNotAvailable`, a lookup error; with several addresses, the last
    /// one's error.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        let reactor = Reactor::current()?;
        each_addr(addr, |a| {
            let reactor = reactor.clone();
            async move { UdpSocket::bind_in(a, &reactor) }
        })
        .await
    }

    /// Binds to one address with an explicit reactor.
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind).
    pub fn bind_in(addr: SocketAddr, reactor: &Reactor) -> io::Result<UdpSocket> {
        UdpSocket::from_sys(ply_sys::UdpSocket::bind(addr)?, reactor)
    }

    /// Wraps a ply-sys socket (bound, perhaps with options set before binding),
    /// registering it with `reactor`.
    ///
    /// # Errors
    ///
    /// If registration fails.
    pub fn from_sys(socket: ply_sys::UdpSocket, reactor: &Reactor) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            io: Async::new_in(socket, reactor)?,
        })
    }

    /// Wraps a std socket (made nonblocking), registering it with the current reactor.
    ///
    /// # Errors
    ///
    /// If registration fails.
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            io: Async::new(ply_sys::UdpSocket::from(socket))?,
        })
    }

    /// Deregisters and returns the std socket (left nonblocking).
    ///
    /// # Errors
    ///
    /// If deregistration fails.
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        Ok(self.io.into_inner()?.into())
    }

    fn socket(&self) -> &ply_sys::UdpSocket {
        self.io.get_ref()
    }

    /// Sets the default destination and filters incoming datagrams to those from it; the
    /// first address `addr` resolves to is used.
    ///
    /// # Errors
    ///
    /// A lookup error, `NetworkUnreachable`, `InvalidInput` for a family mismatch.
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        let addrs = resolve(addr).await?;
        let mut last = None;
        for a in addrs {
            match self.socket().connect(&a) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address")))
    }

    /// Sends one datagram to `target`, waiting for buffer space.
    ///
    /// # Errors
    ///
    /// `EMSGSIZE` for a datagram too large; `PermissionDenied` for a broadcast address
    /// without [`set_broadcast`](Self::set_broadcast).
    pub async fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        poll_fn(|cx| self.poll_send_to(cx, buf, target)).await
    }

    /// Receives one datagram and its sender, waiting for one to arrive; a datagram longer
    /// than `buf` is truncated silently (see [`recv_msg_from`](Self::recv_msg_from)).
    ///
    /// # Errors
    ///
    /// `ConnectionRefused` on a connected socket after a port-unreachable.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_recv_from(cx, buf)).await
    }

    /// Receives one datagram and says whether it was truncated (`MSG_TRUNC`).
    ///
    /// # Errors
    ///
    /// As [`recv_from`](Self::recv_from).
    pub async fn recv_msg_from(&self, buf: &mut [u8]) -> io::Result<RecvMeta> {
        poll_fn(|cx| self.io.poll_read_with(cx, |s| s.recv_msg_from(buf))).await
    }

    /// Like [`recv_from`](Self::recv_from), but leaves the datagram queued.
    ///
    /// # Errors
    ///
    /// As [`recv_from`](Self::recv_from).
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.io.poll_read_with(cx, |s| s.peek_from(buf))).await
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// `EDESTADDRREQ` if not connected; `ConnectionRefused` after a port-unreachable.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_send(cx, buf)).await
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Errors
    ///
    /// As [`recv_from`](Self::recv_from).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_recv(cx, buf)).await
    }

    /// Like [`recv`](Self::recv), but leaves the datagram queued.
    ///
    /// # Errors
    ///
    /// As [`recv_from`](Self::recv_from).
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.io.poll_read_with(cx, |s| s.peek(buf))).await
    }

    /// Poll form of [`send_to`](Self::send_to).
    ///
    /// # Errors
    ///
    /// As [`send_to`](Self::send_to).
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write_with(cx, |s| s.send_to(buf, &target))
    }

    /// Poll form of [`recv_from`](Self::recv_from).
    ///
    /// # Errors
    ///
    /// As [`recv_from`](Self::recv_from).
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_read_with(cx, |s| s.recv_from(buf))
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

    /// Sends now without waiting: `WouldBlock` if the socket is not known writable.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or as [`send_to`](Self::send_to).
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.io.try_write_with(|s| s.send_to(buf, &target))
    }

    /// Receives now without waiting: `WouldBlock` if nothing is known to be queued (no
    /// syscall then). Pair with [`readable`](Self::readable).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or as [`recv_from`](Self::recv_from).
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_read_with(|s| s.recv_from(buf))
    }

    /// [`try_recv_from`](Self::try_recv_from) that leaves the datagram queued.
    ///
    /// # Errors
    ///
    /// As [`try_recv_from`](Self::try_recv_from).
    pub fn try_peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_read_with(|s| s.peek_from(buf))
    }

    /// Sends to the connected peer now without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or as [`send`](Self::send).
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write_with(|s| s.send(buf))
    }

    /// Receives from the connected peer now without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or as [`recv`](Self::recv).
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read_with(|s| s.recv(buf))
    }

    /// Waits until a datagram is queued (or an error is pending).
    ///
    /// # Errors
    ///
    /// If the reactor has shut down.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.readable().await
    }

    /// Waits until a datagram can be sent.
    ///
    /// # Errors
    ///
    /// If the reactor has shut down.
    pub async fn writable(&self) -> io::Result<()> {
        self.io.writable().await
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// If the socket has no address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket().local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.socket().peer_addr()
    }

    /// Takes the pending error (`SO_ERROR`).
    ///
    /// # Errors
    ///
    /// If the option cannot be read.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.socket().take_error()
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// # Errors
    ///
    /// If the option cannot be set.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.socket().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is on.
    ///
    /// # Errors
    ///
    /// If the option cannot be read.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.socket().broadcast()
    }

    /// Joins an IPv4 multicast group on the interface with address `interface`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a non-multicast `group`; the kernel's errors.
    pub fn join_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.socket().join_multicast_v4(&group, &interface)
    }

    /// Leaves an IPv4 multicast group.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a non-multicast `group`; `EADDRNOTAVAIL` if not joined.
    pub fn leave_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.socket().leave_multicast_v4(&group, &interface)
    }

    /// Joins an IPv6 multicast group on the interface with index `interface` (0: any).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a non-multicast `group`; the kernel's errors.
    pub fn join_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.socket().join_multicast_v6(group, interface)
    }

    /// Leaves an IPv6 multicast group.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a non-multicast `group`; `EADDRNOTAVAIL` if not joined.
    pub fn leave_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.socket().leave_multicast_v6(group, interface)
    }

    /// Sets `IP_MULTICAST_LOOP`.
    ///
    /// # Errors
    ///
    /// If the option cannot be set.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.socket().set_multicast_loop_v4(on)
    }

    /// Whether `IP_MULTICAST_LOOP` is on.
    ///
    /// # Errors
    ///
    /// If the option cannot be read.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.socket().multicast_loop_v4()
    }

    /// Sets `IPV6_MULTICAST_LOOP`.
    ///
    /// # Errors
    ///
    /// If the option cannot be set.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.socket().set_multicast_loop_v6(on)
    }

    /// Whether `IPV6_MULTICAST_LOOP` is on.
    ///
    /// # Errors
    ///
    /// If the option cannot be read.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.socket().multicast_loop_v6()
    }

    /// Sets `IP_MULTICAST_TTL`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` above 255.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.socket().set_multicast_ttl_v4(ttl)
    }

    /// The `IP_MULTICAST_TTL`.
    ///
    /// # Errors
    ///
    /// If the option cannot be read.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.socket().multicast_ttl_v4()
    }

    /// Sets the unicast hop limit (`IP_TTL` / `IPV6_UNICAST_HOPS`).
    ///
    /// # Errors
    ///
    /// `InvalidInput` above 255.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.socket().set_ttl(ttl)
    }

    /// The unicast hop limit.
    ///
    /// # Errors
    ///
    /// If the option cannot be read.
    pub fn ttl(&self) -> io::Result<u32> {
        self.socket().ttl()
    }

    /// Sets `SO_RCVBUF`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` above `i32::MAX`.
    pub fn set_recv_buffer_size(&self, size: usize) -> io::Result<()> {
        self.socket().set_recv_buffer_size(size)
    }

    /// The receive buffer size as the kernel reports it.
    ///
    /// # Errors
    ///
    /// If the option cannot be read.
    pub fn recv_buffer_size(&self) -> io::Result<usize> {
        self.socket().recv_buffer_size()
    }

    /// Sets `SO_SNDBUF`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` above `i32::MAX`.
    pub fn set_send_buffer_size(&self, size: usize) -> io::Result<()> {
        self.socket().set_send_buffer_size(size)
    }

    /// The send buffer size as the kernel reports it.
    ///
    /// # Errors
    ///
    /// If the option cannot be read.
    pub fn send_buffer_size(&self) -> io::Result<usize> {
        self.socket().send_buffer_size()
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UdpSocket");
        if let Ok(a) = self.local_addr() {
            d.field("local", &a);
        }
        if let Ok(a) = self.peer_addr() {
            d.field("peer", &a);
        }
        d.field("fd", &self.as_raw_fd()).finish()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}
