//! UDP sockets over IPv4 and IPv6: [udp(7)], [ip(7)], [ipv6(7)].
//!
//! A [`UdpSocket`] owns its fd from the line it is created on, always with
//! `SOCK_NONBLOCK` and `SOCK_CLOEXEC`. Calls that would block return `WouldBlock`.
//!
//! **Datagrams, not a stream.** Each receive returns exactly one datagram, however large
//! the buffer; a datagram longer than the buffer loses its tail. [`UdpSocket::recv_from`]
//! truncates silently, as recvfrom(2) does; [`UdpSocket::recv_msg_from`] goes through
//! recvmsg(2) and reports the loss (`MSG_TRUNC`). A short read says nothing about what is
//! still queued, so a reader must drain until `WouldBlock`. There is no half-close and no
//! end of stream: a zero-length read is a zero-length datagram.
//!
//! [udp(7)]: https://man7.org/linux/man-pages/man7/udp.7.html
//! [ip(7)]: https://man7.org/linux/man-pages/man7/ip.7.html
//! [ipv6(7)]: https://man7.org/linux/man-pages/man7/ipv6.7.html

use crate::addr::RawAddr;
use crate::cvt::{cvt, cvt_fd};
use crate::msg;
use crate::socket::data;
use crate::socket_options::{self as opt, get_bool, getsockopt, set_bool, setsockopt, ttl_arg};
use std::io::{self, IoSliceMut};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

/// One datagram received by [`UdpSocket::recv_msg_from`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvMeta {
    /// How many bytes were written into the buffer.
    pub len: usize,
    /// Who sent it.
    pub addr: SocketAddr,
    /// The datagram was longer than the buffer, and its tail is gone (`MSG_TRUNC`).
    pub truncated: bool,
}

/// An owned, nonblocking UDP socket.
///
/// # Examples
///
/// ```
/// use ply_sys::UdpSocket;
///
/// # fn main() -> std::io::Result<()> {
/// let a = UdpSocket::bind("127.0.0.1:0".parse().unwrap())?;
/// let b = UdpSocket::bind("127.0.0.1:0".parse().unwrap())?;
/// a.send_to(b"ping", &b.local_addr()?)?;
/// let mut buf = [0; 2];
/// let meta = loop {
///     match b.recv_msg_from(&mut buf) {
///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::yield_now(),
///         other => break other?,
///     }
/// };
/// assert_eq!((meta.len, meta.truncated), (2, true)); // "pi", and the rest is gone
/// assert_eq!(meta.addr, a.local_addr()?);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    fd: OwnedFd,
}

impl UdpSocket {
    /// A new, unbound UDP socket for `addr`'s family ([socket(2)]), nonblocking and
    /// close-on-exec: for setting options (`IPV6_V6ONLY`, `SO_REUSEADDR`) before
    /// [`bind_to`](Self::bind_to).
    ///
    /// # Errors
    ///
    /// `EMFILE`/`ENFILE` when out of fds; `EAFNOSUPPORT` if the family is not available.
    ///
    /// [socket(2)]: https://man7.org/linux/man-pages/man2/socket.2.html
    pub fn unbound_for(addr: &SocketAddr) -> io::Result<UdpSocket> {
        let domain = match addr {
            SocketAddr::V4(_) => libc::AF_INET,
            SocketAddr::V6(_) => libc::AF_INET6,
        };
        let ty = libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: socket takes three integers; it touches no memory of ours.
        let fd = cvt_fd(unsafe { libc::socket(domain, ty, libc::IPPROTO_UDP) })?;
        Ok(UdpSocket { fd })
    }

    /// A UDP socket bound to `addr` (port 0 picks a free port).
    ///
    /// # Errors
    ///
    /// `AddrInUse`, `AddrNotAvailable`, `PermissionDenied`, and those of
    /// [`unbound_for`](Self::unbound_for).
    pub fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
        let socket = UdpSocket::unbound_for(&addr)?;
        socket.bind_to(&addr)?;
        Ok(socket)
    }

    /// Binds this socket to `addr` ([bind(2)]).
    ///
    /// # Errors
    ///
    /// `AddrInUse` (another socket has the port, without `SO_REUSEADDR` on both),
    /// `AddrNotAvailable`, `InvalidInput` if already bound or the family differs.
    ///
    /// [bind(2)]: https://man7.org/linux/man-pages/man2/bind.2.html
    pub fn bind_to(&self, addr: &SocketAddr) -> io::Result<()> {
        let raw = RawAddr::from(addr);
        // SAFETY: `raw` holds a valid sockaddr of `raw.len()` bytes for the whole call.
        cvt(unsafe { libc::bind(self.fd.as_raw_fd(), raw.as_ptr(), raw.len()) })?;
        Ok(())
    }

    /// Sets the default destination and accepts datagrams only from `addr` ([connect(2)]);
    /// nothing is sent. Then [`send`](Self::send) and [`recv`](Self::recv) work, and ICMP
    /// errors from the peer (port unreachable) surface as `ConnectionRefused` on a later
    /// call.
    ///
    /// # Errors
    ///
    /// `NetworkUnreachable`, `InvalidInput` for a family mismatch.
    ///
    /// [connect(2)]: https://man7.org/linux/man-pages/man2/connect.2.html
    pub fn connect(&self, addr: &SocketAddr) -> io::Result<()> {
        let raw = RawAddr::from(addr);
        // SAFETY: `raw` holds a valid sockaddr of `raw.len()` bytes for the whole call.
        cvt(unsafe { libc::connect(self.fd.as_raw_fd(), raw.as_ptr(), raw.len()) })?;
        Ok(())
    }

    /// Sends one datagram to `addr` ([sendto(2)] with `MSG_NOSIGNAL`).
    ///
    /// # Errors
    ///
    /// `WouldBlock` when the send buffer is full; `EMSGSIZE` (kind `Other`, errno kept)
    /// for a datagram over 65,507 bytes (IPv4); `PermissionDenied` for a broadcast
    /// address without `SO_BROADCAST`.
    ///
    /// [sendto(2)]: https://man7.org/linux/man-pages/man2/sendto.2.html
    pub fn send_to(&self, buf: &[u8], addr: &SocketAddr) -> io::Result<usize> {
        let raw = RawAddr::from(addr);
        // SAFETY: `buf` is valid for reads of `buf.len()` bytes and `raw` holds a valid
        // sockaddr of `raw.len()` bytes, both for the whole call.
        let n = cvt(unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_NOSIGNAL,
                raw.as_ptr(),
                raw.len(),
            )
        })?;
        Ok(n as usize)
    }

    /// Sends one datagram to the connected peer ([send(2)]).
    ///
    /// # Errors
    ///
    /// `EDESTADDRREQ` if not connected; `ConnectionRefused` if an earlier datagram drew a
    /// port-unreachable; as [`send_to`](Self::send_to).
    ///
    /// [send(2)]: https://man7.org/linux/man-pages/man2/send.2.html
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        data::send(self.as_fd(), buf)
    }

    /// Receives one datagram and its sender ([recvfrom(2)]); a datagram longer than `buf`
    /// is truncated silently (use [`recv_msg_from`](Self::recv_msg_from) to know).
    ///
    /// # Errors
    ///
    /// `WouldBlock` when no datagram is queued; `ConnectionRefused` on a connected socket
    /// after a port-unreachable.
    ///
    /// [recvfrom(2)]: https://man7.org/linux/man-pages/man2/recvfrom.2.html
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.recv_from_with_flags(buf, 0)
    }

    /// Like [`recv_from`](Self::recv_from) with `MSG_PEEK`: the datagram stays queued.
    ///
    /// # Errors
    ///
    /// As [`recv_from`](Self::recv_from).
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.recv_from_with_flags(buf, libc::MSG_PEEK)
    }

    fn recv_from_with_flags(&self, buf: &mut [u8], flags: i32) -> io::Result<(usize, SocketAddr)> {
        let mut raw = RawAddr::empty();
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes, `raw` is a writable
        // sockaddr_storage and `len_mut` its size in/out, all for the whole call.
        let n = cvt(unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                flags,
                raw.as_mut_ptr(),
                raw.len_mut(),
            )
        })?;
        Ok((n as usize, raw.to_std()?))
    }

    /// Receives one datagram through [recvmsg(2)], reporting whether it was longer than
    /// `buf` (`MSG_TRUNC` in the returned flags): the tail of a truncated datagram is gone.
    ///
    /// # Errors
    ///
    /// As [`recv_from`](Self::recv_from).
    ///
    /// [recvmsg(2)]: https://man7.org/linux/man-pages/man2/recvmsg.2.html
    pub fn recv_msg_from(&self, buf: &mut [u8]) -> io::Result<RecvMeta> {
        let mut raw = RawAddr::empty();
        let (ptr, len) = (raw.as_mut_ptr(), raw.len_mut());
        let mut bufs = [IoSliceMut::new(buf)];
        let meta = msg::recv_fds(
            self.as_fd(),
            &mut bufs,
            &mut Vec::new(),
            0,
            Some((ptr, len)),
            0,
        )?;
        Ok(RecvMeta {
            len: meta.len,
            addr: raw.to_std()?,
            truncated: meta.truncated,
        })
    }

    /// Receives one datagram from the connected peer ([recv(2)]), truncated to `buf`.
    ///
    /// # Errors
    ///
    /// As [`recv_from`](Self::recv_from).
    ///
    /// [recv(2)]: https://man7.org/linux/man-pages/man2/recv.2.html
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        data::recv(self.as_fd(), buf, 0)
    }

    /// Like [`recv`](Self::recv) with `MSG_PEEK`.
    ///
    /// # Errors
    ///
    /// As [`recv_from`](Self::recv_from).
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        data::recv(self.as_fd(), buf, libc::MSG_PEEK)
    }

    /// The local address ([getsockname(2)]).
    ///
    /// # Errors
    ///
    /// `EBADF`.
    ///
    /// [getsockname(2)]: https://man7.org/linux/man-pages/man2/getsockname.2.html
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let mut raw = RawAddr::empty();
        // SAFETY: `raw` is a writable sockaddr_storage and `len_mut` its size in/out.
        cvt(unsafe { libc::getsockname(self.fd.as_raw_fd(), raw.as_mut_ptr(), raw.len_mut()) })?;
        raw.to_std()
    }

    /// The connected peer's address ([getpeername(2)]).
    ///
    /// # Errors
    ///
    /// `NotConnected` if not connected.
    ///
    /// [getpeername(2)]: https://man7.org/linux/man-pages/man2/getpeername.2.html
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        let mut raw = RawAddr::empty();
        // SAFETY: `raw` is a writable sockaddr_storage and `len_mut` its size in/out.
        cvt(unsafe { libc::getpeername(self.fd.as_raw_fd(), raw.as_mut_ptr(), raw.len_mut()) })?;
        raw.to_std()
    }

    /// Takes the pending error (`SO_ERROR`), e.g. an ICMP port-unreachable.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        opt::take_error(self.as_fd())
    }

    /// `SO_BROADCAST`: allow sending to broadcast addresses.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        set_bool(self.as_fd(), libc::SOL_SOCKET, libc::SO_BROADCAST, on)
    }

    /// Whether `SO_BROADCAST` is on.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn broadcast(&self) -> io::Result<bool> {
        get_bool(self.as_fd(), libc::SOL_SOCKET, libc::SO_BROADCAST)
    }

    /// `SO_REUSEADDR`: several sockets may bind one address (each must set it first);
    /// for multicast receivers.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn set_reuseaddr(&self, on: bool) -> io::Result<()> {
        opt::set_reuseaddr(self.as_fd(), on)
    }

    /// `IP_ADD_MEMBERSHIP`: joins the IPv4 multicast group `group` on the interface with
    /// address `interface` (`UNSPECIFIED` lets the kernel choose by route).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `group` is not a multicast address (224.0.0.0/4), checked here
    /// before the kernel's `EINVAL`; `ENODEV` with no route for it; `EADDRINUSE` if
    /// already joined.
    pub fn join_multicast_v4(&self, group: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.membership_v4(group, interface, libc::IP_ADD_MEMBERSHIP)
    }

    /// `IP_DROP_MEMBERSHIP`: leaves a group joined with
    /// [`join_multicast_v4`](Self::join_multicast_v4).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a non-multicast address; `EADDRNOTAVAIL` if not joined.
    pub fn leave_multicast_v4(&self, group: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.membership_v4(group, interface, libc::IP_DROP_MEMBERSHIP)
    }

    fn membership_v4(&self, group: &Ipv4Addr, interface: &Ipv4Addr, op: i32) -> io::Result<()> {
        if !group.is_multicast() {
            return Err(not_multicast(&(*group).into()));
        }
        let mreq = libc::ip_mreq {
            imr_multiaddr: libc::in_addr {
                s_addr: u32::from(*group).to_be(),
            },
            imr_interface: libc::in_addr {
                s_addr: u32::from(*interface).to_be(),
            },
        };
        setsockopt(self.as_fd(), libc::IPPROTO_IP, op, mreq)
    }

    /// `IPV6_ADD_MEMBERSHIP`: joins the IPv6 multicast group `group` on the interface with
    /// index `interface` (0 lets the kernel choose).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `group` is not a multicast address (ff00::/8); `ENODEV`;
    /// `EADDRINUSE` if already joined.
    pub fn join_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.membership_v6(group, interface, libc::IPV6_ADD_MEMBERSHIP)
    }

    /// `IPV6_DROP_MEMBERSHIP`: leaves a group joined with
    /// [`join_multicast_v6`](Self::join_multicast_v6).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a non-multicast address; `EADDRNOTAVAIL` if not joined.
    pub fn leave_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.membership_v6(group, interface, libc::IPV6_DROP_MEMBERSHIP)
    }

    fn membership_v6(&self, group: &Ipv6Addr, interface: u32, op: i32) -> io::Result<()> {
        if !group.is_multicast() {
            return Err(not_multicast(&(*group).into()));
        }
        let mreq = libc::ipv6_mreq {
            ipv6mr_multiaddr: libc::in6_addr {
                s6_addr: group.octets(),
            },
            ipv6mr_interface: interface as _,
        };
        setsockopt(self.as_fd(), libc::IPPROTO_IPV6, op, mreq)
    }

    /// `IP_MULTICAST_LOOP`: whether this host's own IPv4 multicast sends loop back to its
    /// receivers (on by default).
    ///
    /// # Errors
    ///
    /// `ENOPROTOOPT` on an IPv6 socket.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        set_bool(self.as_fd(), libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP, on)
    }

    /// Whether `IP_MULTICAST_LOOP` is on.
    ///
    /// # Errors
    ///
    /// `ENOPROTOOPT` on an IPv6 socket.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        // The kernel writes a single byte for this option when asked with a c_int-sized
        // buffer too; a zeroed c_int reads back correctly either way.
        get_bool(self.as_fd(), libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP)
    }

    /// `IPV6_MULTICAST_LOOP`, the IPv6 twin of
    /// [`set_multicast_loop_v4`](Self::set_multicast_loop_v4).
    ///
    /// # Errors
    ///
    /// `ENOPROTOOPT` on an IPv4 socket.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        set_bool(
            self.as_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_MULTICAST_LOOP,
            on,
        )
    }

    /// Whether `IPV6_MULTICAST_LOOP` is on.
    ///
    /// # Errors
    ///
    /// `ENOPROTOOPT` on an IPv4 socket.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        get_bool(self.as_fd(), libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP)
    }

    /// `IP_MULTICAST_TTL`: the hop limit of outgoing IPv4 multicast (default 1: this
    /// network only).
    ///
    /// # Errors
    ///
    /// `InvalidInput` above 255.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        setsockopt(
            self.as_fd(),
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_TTL,
            ttl_arg(ttl)?,
        )
    }

    /// The `IP_MULTICAST_TTL`.
    ///
    /// # Errors
    ///
    /// `ENOPROTOOPT` on an IPv6 socket.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        let v: libc::c_int = getsockopt(self.as_fd(), libc::IPPROTO_IP, libc::IP_MULTICAST_TTL)?;
        Ok(v as u32)
    }

    /// `IPV6_MULTICAST_HOPS`: the hop limit of outgoing IPv6 multicast.
    ///
    /// # Errors
    ///
    /// `InvalidInput` above 255.
    pub fn set_multicast_hops_v6(&self, hops: u32) -> io::Result<()> {
        setsockopt(
            self.as_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_MULTICAST_HOPS,
            ttl_arg(hops)?,
        )
    }

    /// The `IPV6_MULTICAST_HOPS`.
    ///
    /// # Errors
    ///
    /// `ENOPROTOOPT` on an IPv4 socket.
    pub fn multicast_hops_v6(&self) -> io::Result<u32> {
        let v: libc::c_int =
            getsockopt(self.as_fd(), libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_HOPS)?;
        Ok(v as u32)
    }

    /// `IP_TTL` (IPv4) or `IPV6_UNICAST_HOPS` (IPv6): the hop limit of outgoing unicast.
    ///
    /// # Errors
    ///
    /// `InvalidInput` above 255.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        opt::set_ttl(self.as_fd(), ttl)
    }

    /// The unicast hop limit.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn ttl(&self) -> io::Result<u32> {
        opt::ttl(self.as_fd())
    }

    /// `IPV6_V6ONLY`: an IPv6 socket bound to `::` receives only IPv6, not IPv4-mapped
    /// datagrams. Set it before binding ([`unbound_for`](Self::unbound_for)).
    ///
    /// # Errors
    ///
    /// `ENOPROTOOPT` on an IPv4 socket; `EINVAL` once bound.
    pub fn set_only_v6(&self, on: bool) -> io::Result<()> {
        opt::set_only_v6(self.as_fd(), on)
    }

    /// Whether `IPV6_V6ONLY` is on.
    ///
    /// # Errors
    ///
    /// `ENOPROTOOPT` on an IPv4 socket.
    pub fn only_v6(&self) -> io::Result<bool> {
        opt::only_v6(self.as_fd())
    }

    /// `SO_RCVBUF`: the receive buffer to ask for (the kernel doubles it for bookkeeping
    /// and caps it at `net.core.rmem_max`). Datagrams that arrive while it is full are
    /// dropped.
    ///
    /// # Errors
    ///
    /// `InvalidInput` above `i32::MAX`.
    pub fn set_recv_buffer_size(&self, size: usize) -> io::Result<()> {
        opt::set_recv_buffer_size(self.as_fd(), size)
    }

    /// The receive buffer size as the kernel reports it.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn recv_buffer_size(&self) -> io::Result<usize> {
        opt::recv_buffer_size(self.as_fd())
    }

    /// `SO_SNDBUF`, doubled and capped like `SO_RCVBUF`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` above `i32::MAX`.
    pub fn set_send_buffer_size(&self, size: usize) -> io::Result<()> {
        opt::set_send_buffer_size(self.as_fd(), size)
    }

    /// The send buffer size as the kernel reports it.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn send_buffer_size(&self) -> io::Result<usize> {
        opt::send_buffer_size(self.as_fd())
    }

    /// Another owned fd for the same socket (`F_DUPFD_CLOEXEC`).
    ///
    /// # Errors
    ///
    /// `EMFILE` when out of fds.
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            fd: self.fd.try_clone()?,
        })
    }
}

fn not_multicast(addr: &std::net::IpAddr) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{addr} is not a multicast address"),
    )
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl From<OwnedFd> for UdpSocket {
    /// Takes ownership of a UDP socket fd, used as it is.
    fn from(fd: OwnedFd) -> UdpSocket {
        UdpSocket { fd }
    }
}

impl From<UdpSocket> for OwnedFd {
    fn from(socket: UdpSocket) -> OwnedFd {
        socket.fd
    }
}

impl IntoRawFd for UdpSocket {
    fn into_raw_fd(self) -> RawFd {
        self.fd.into_raw_fd()
    }
}

impl FromRawFd for UdpSocket {
    /// # Safety
    ///
    /// `fd` must be an open socket that nothing else owns or will close.
    unsafe fn from_raw_fd(fd: RawFd) -> UdpSocket {
        UdpSocket {
            // SAFETY: the caller guarantees `fd` is open and ours alone.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        }
    }
}

impl From<std::net::UdpSocket> for UdpSocket {
    /// Adopts a std socket and makes it nonblocking.
    fn from(socket: std::net::UdpSocket) -> UdpSocket {
        // Ignoring the error is sound: set_nonblocking on a valid socket cannot fail.
        let _ = socket.set_nonblocking(true);
        UdpSocket { fd: socket.into() }
    }
}

impl From<UdpSocket> for std::net::UdpSocket {
    /// Hands the socket to std; it stays nonblocking.
    fn from(socket: UdpSocket) -> std::net::UdpSocket {
        socket.fd.into()
    }
}
