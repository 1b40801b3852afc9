//! Socket options, written once: [setsockopt(2)] and [getsockopt(2)] on any socket fd
//! behind one typed pair of helpers, and each option that more than one socket type has
//! (`SO_ERROR`, `SO_REUSEADDR`, the buffer sizes, the unicast TTL, `IPV6_V6ONLY`) as a
//! function of a [`BorrowedFd`]. [`Socket`], [`UdpSocket`](crate::UdpSocket) and
//! [`UnixSocket`](crate::UnixSocket) forward to these in one line each, so every type keeps
//! its own documented method while the option itself is written here only. The options
//! that only TCP has (`TCP_NODELAY`, `SO_KEEPALIVE`, `SO_LINGER`, `SO_REUSEPORT`) are at the
//! end, as methods of [`Socket`]; UDP's broadcast and multicast ones stay in `udp.rs`.
//!
//! [setsockopt(2)]: https://man7.org/linux/man-pages/man2/setsockopt.2.html
//! [getsockopt(2)]: https://man7.org/linux/man-pages/man2/getsockopt.2.html

use crate::cvt::cvt;
use crate::socket::Socket;
use std::io;
use std::mem;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::Duration;

/// Plain-data option values: any bit pattern the kernel writes is a valid value.
///
/// # Safety
///
/// Implementors must be `repr(C)` plain data for which every bit pattern (all-zero
/// included) is a valid value.
pub(crate) unsafe trait Pod: Copy {}

// SAFETY: a C int has no invalid bit patterns.
unsafe impl Pod for libc::c_int {}
// SAFETY: `linger` is two C ints; every bit pattern is a valid value.
unsafe impl Pod for libc::linger {}
// SAFETY: `ip_mreq` is two `in_addr`s (each a u32); every bit pattern is a valid value.
unsafe impl Pod for libc::ip_mreq {}
// SAFETY: `ipv6_mreq` is 16 address bytes and a C uint; every bit pattern is valid.
unsafe impl Pod for libc::ipv6_mreq {}
// SAFETY: `ucred` is a pid and two ids, all integers; every bit pattern is valid.
unsafe impl Pod for libc::ucred {}

/// [setsockopt(2)] on any socket fd with a plain-data value.
///
/// [setsockopt(2)]: https://man7.org/linux/man-pages/man2/setsockopt.2.html
pub(crate) fn setsockopt<T: Pod>(
    fd: BorrowedFd<'_>,
    level: i32,
    name: i32,
    value: T,
) -> io::Result<()> {
    // SAFETY: `value` is a live plain-data value of exactly `size_of::<T>()` bytes for the
    // whole call; the kernel only reads it.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const T).cast(),
            mem::size_of::<T>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// [getsockopt(2)] on any socket fd into a plain-data value.
///
/// [getsockopt(2)]: https://man7.org/linux/man-pages/man2/getsockopt.2.html
pub(crate) fn getsockopt<T: Pod>(fd: BorrowedFd<'_>, level: i32, name: i32) -> io::Result<T> {
    // SAFETY: `T: Pod`, so all-zero is a valid value.
    let mut value: T = unsafe { mem::zeroed() };
    let mut len = mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` is writable for `len` bytes and `len` is in/out, as required.
    cvt(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&mut value as *mut T).cast(),
            &mut len,
        )
    })?;
    Ok(value)
}

/// Sets a boolean option (a `c_int` 0 or 1).
pub(crate) fn set_bool(fd: BorrowedFd<'_>, level: i32, name: i32, on: bool) -> io::Result<()> {
    setsockopt(fd, level, name, on as libc::c_int)
}

/// Reads a boolean option.
pub(crate) fn get_bool(fd: BorrowedFd<'_>, level: i32, name: i32) -> io::Result<bool> {
    Ok(getsockopt::<libc::c_int>(fd, level, name)? != 0)
}

/// `SO_ERROR`: takes the pending error, clearing it.
pub(crate) fn take_error(fd: BorrowedFd<'_>) -> io::Result<Option<io::Error>> {
    let code: libc::c_int = getsockopt(fd, libc::SOL_SOCKET, libc::SO_ERROR)?;
    Ok((code != 0).then(|| io::Error::from_raw_os_error(code)))
}

/// `SO_REUSEADDR`.
pub(crate) fn set_reuseaddr(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    set_bool(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, on)
}

/// Whether `SO_REUSEADDR` is on.
pub(crate) fn reuseaddr(fd: BorrowedFd<'_>) -> io::Result<bool> {
    get_bool(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR)
}

/// `SO_RCVBUF`; `InvalidInput` for a size above `i32::MAX`.
pub(crate) fn set_recv_buffer_size(fd: BorrowedFd<'_>, size: usize) -> io::Result<()> {
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, size_arg(size)?)
}

/// `SO_RCVBUF` as the kernel reports it.
pub(crate) fn recv_buffer_size(fd: BorrowedFd<'_>) -> io::Result<usize> {
    let v: libc::c_int = getsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF)?;
    Ok(v as usize)
}

/// `SO_SNDBUF`; `InvalidInput` for a size above `i32::MAX`.
pub(crate) fn set_send_buffer_size(fd: BorrowedFd<'_>, size: usize) -> io::Result<()> {
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, size_arg(size)?)
}

/// `SO_SNDBUF` as the kernel reports it.
pub(crate) fn send_buffer_size(fd: BorrowedFd<'_>) -> io::Result<usize> {
    let v: libc::c_int = getsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF)?;
    Ok(v as usize)
}

/// `IP_TTL` or `IPV6_UNICAST_HOPS`, whichever the socket's family has; `InvalidInput`
/// above 255.
pub(crate) fn set_ttl(fd: BorrowedFd<'_>, ttl: u32) -> io::Result<()> {
    let (level, name) = ttl_option(fd)?;
    setsockopt(fd, level, name, ttl_arg(ttl)?)
}

/// The unicast hop limit.
pub(crate) fn ttl(fd: BorrowedFd<'_>) -> io::Result<u32> {
    let (level, name) = ttl_option(fd)?;
    let v: libc::c_int = getsockopt(fd, level, name)?;
    Ok(v as u32)
}

/// The unicast hop-limit option of the socket's family (`SO_DOMAIN`).
fn ttl_option(fd: BorrowedFd<'_>) -> io::Result<(i32, i32)> {
    let domain: libc::c_int = getsockopt(fd, libc::SOL_SOCKET, libc::SO_DOMAIN)?;
    Ok(if domain == libc::AF_INET6 {
        (libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS)
    } else {
        (libc::IPPROTO_IP, libc::IP_TTL)
    })
}

/// `IPV6_V6ONLY`.
pub(crate) fn set_only_v6(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    set_bool(fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, on)
}

/// Whether `IPV6_V6ONLY` is on.
pub(crate) fn only_v6(fd: BorrowedFd<'_>) -> io::Result<bool> {
    get_bool(fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY)
}

/// A hop limit as the `c_int` the kernel takes: `InvalidInput` above 255.
pub(crate) fn ttl_arg(ttl: u32) -> io::Result<libc::c_int> {
    if ttl > 255 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "ttl must be 0..=255",
        ));
    }
    Ok(ttl as libc::c_int)
}

/// A buffer size as the `c_int` the kernel takes.
fn size_arg(size: usize) -> io::Result<libc::c_int> {
    libc::c_int::try_from(size)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "buffer size too large"))
}

/// The options of [`Socket`], each one line over the functions above.
impl Socket {
    /// `TCP_NODELAY`: send small segments at once instead of coalescing them (Nagle).
    ///
    /// # Errors
    ///
    /// `EBADF`, `ENOPROTOOPT` on a non-TCP socket.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        set_bool(self.as_fd(), libc::IPPROTO_TCP, libc::TCP_NODELAY, on)
    }

    /// Whether `TCP_NODELAY` is on.
    ///
    /// # Errors
    ///
    /// As [`set_nodelay`](Self::set_nodelay).
    pub fn nodelay(&self) -> io::Result<bool> {
        get_bool(self.as_fd(), libc::IPPROTO_TCP, libc::TCP_NODELAY)
    }

    /// `SO_REUSEADDR`: bind a listening port again while old connections linger in
    /// TIME_WAIT.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn set_reuseaddr(&self, on: bool) -> io::Result<()> {
        set_reuseaddr(self.as_fd(), on)
    }

    /// Whether `SO_REUSEADDR` is on.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        reuseaddr(self.as_fd())
    }

    /// `SO_REUSEPORT`: several sockets (one per core, say) listen on one port and the
    /// kernel spreads connections among them. Set it before `bind`.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn set_reuseport(&self, on: bool) -> io::Result<()> {
        set_bool(self.as_fd(), libc::SOL_SOCKET, libc::SO_REUSEPORT, on)
    }

    /// Whether `SO_REUSEPORT` is on.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn reuseport(&self) -> io::Result<bool> {
        get_bool(self.as_fd(), libc::SOL_SOCKET, libc::SO_REUSEPORT)
    }

    /// `SO_KEEPALIVE`: probe an idle connection so a vanished peer is noticed.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn set_keepalive(&self, on: bool) -> io::Result<()> {
        set_bool(self.as_fd(), libc::SOL_SOCKET, libc::SO_KEEPALIVE, on)
    }

    /// Whether `SO_KEEPALIVE` is on.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn keepalive(&self) -> io::Result<bool> {
        get_bool(self.as_fd(), libc::SOL_SOCKET, libc::SO_KEEPALIVE)
    }

    /// `SO_LINGER`: `Some(d)` makes close wait up to `d` for unsent data (`Some(ZERO)`
    /// resets the connection on close); `None` is the default background close.
    ///
    /// A nonzero `Some(d)` makes `close(2)` *block* the calling thread for up to `d` while
    /// unsent data drains, whether or not the socket is nonblocking (see socket(7),
    /// `SO_LINGER`): in an async runtime that stalls a worker in a drop. ply-net's
    /// `TcpStream` therefore offers only [`set_zero_linger`](Self::set_zero_linger); this
    /// general setter stays here for blocking code and for study.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        let value = libc::linger {
            l_onoff: linger.is_some() as libc::c_int,
            l_linger: linger.map_or(0, |d| {
                d.as_secs().min(libc::c_int::MAX as u64) as libc::c_int
            }),
        };
        setsockopt(self.as_fd(), libc::SOL_SOCKET, libc::SO_LINGER, value)
    }

    /// `SO_LINGER` with a zero timeout: closing the socket aborts the connection at once,
    /// sending an RST instead of a FIN, and drops unsent data; the peer's next read or
    /// write fails with `ECONNRESET`, and neither side keeps the connection in
    /// `TIME_WAIT`. The close never blocks (see socket(7), `SO_LINGER`, and tcp(7)).
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn set_zero_linger(&self) -> io::Result<()> {
        let value = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        setsockopt(self.as_fd(), libc::SOL_SOCKET, libc::SO_LINGER, value)
    }

    /// The current `SO_LINGER` setting.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        let value: libc::linger = getsockopt(self.as_fd(), libc::SOL_SOCKET, libc::SO_LINGER)?;
        Ok((value.l_onoff != 0).then(|| Duration::from_secs(value.l_linger as u64)))
    }

    /// `IP_TTL` (IPv4) or `IPV6_UNICAST_HOPS` (IPv6): the hop limit of outgoing packets.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a value above 255.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        set_ttl(self.as_fd(), ttl)
    }

    /// The hop limit of outgoing packets.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn ttl(&self) -> io::Result<u32> {
        ttl(self.as_fd())
    }

    /// `IPV6_V6ONLY`: an IPv6 socket bound to `::` accepts only IPv6, not IPv4-mapped
    /// connections. Set it before `bind`.
    ///
    /// # Errors
    ///
    /// `ENOPROTOOPT` on an IPv4 socket.
    pub fn set_only_v6(&self, on: bool) -> io::Result<()> {
        set_only_v6(self.as_fd(), on)
    }

    /// Whether `IPV6_V6ONLY` is on.
    ///
    /// # Errors
    ///
    /// `ENOPROTOOPT` on an IPv4 socket.
    pub fn only_v6(&self) -> io::Result<bool> {
        only_v6(self.as_fd())
    }

    /// `SO_RCVBUF`: the receive buffer size to ask for (the kernel doubles it for its own
    /// bookkeeping, and caps it at `net.core.rmem_max`).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a size above `i32::MAX`.
    pub fn set_recv_buffer_size(&self, size: usize) -> io::Result<()> {
        set_recv_buffer_size(self.as_fd(), size)
    }

    /// The receive buffer size as the kernel reports it.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn recv_buffer_size(&self) -> io::Result<usize> {
        recv_buffer_size(self.as_fd())
    }

    /// `SO_SNDBUF`: the send buffer size to ask for (doubled and capped like `SO_RCVBUF`).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a size above `i32::MAX`.
    pub fn set_send_buffer_size(&self, size: usize) -> io::Result<()> {
        set_send_buffer_size(self.as_fd(), size)
    }

    /// The send buffer size as the kernel reports it.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn send_buffer_size(&self) -> io::Result<usize> {
        send_buffer_size(self.as_fd())
    }
}
