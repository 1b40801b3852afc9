//! The socket options of [`Socket`]: [setsockopt(2)] and [getsockopt(2)] behind one typed
//! pair of helpers, one getter and one setter per option.
//!
//! [setsockopt(2)]: https://man7.org/linux/man-pages/man2/setsockopt.2.html
//! [getsockopt(2)]: https://man7.org/linux/man-pages/man2/getsockopt.2.html

use crate::cvt::cvt;
use crate::socket::Socket;
use std::io;
use std::mem;
use std::os::fd::AsRawFd;
use std::time::Duration;

impl Socket {
    /// `TCP_NODELAY`: send small segments at once instead of coalescing them (Nagle).
    ///
    /// # Errors
    ///
    /// `EBADF`, `ENOPROTOOPT` on a non-TCP socket.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.setsockopt(libc::IPPROTO_TCP, libc::TCP_NODELAY, on as libc::c_int)
    }

    /// Whether `TCP_NODELAY` is on.
    ///
    /// # Errors
    ///
    /// As [`set_nodelay`](Self::set_nodelay).
    pub fn nodelay(&self) -> io::Result<bool> {
        self.get_bool(libc::IPPROTO_TCP, libc::TCP_NODELAY)
    }

    /// `SO_REUSEADDR`: bind a listening port again while old connections linger in
    /// TIME_WAIT.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn set_reuseaddr(&self, on: bool) -> io::Result<()> {
        self.setsockopt(libc::SOL_SOCKET, libc::SO_REUSEADDR, on as libc::c_int)
    }

    /// Whether `SO_REUSEADDR` is on.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        self.get_bool(libc::SOL_SOCKET, libc::SO_REUSEADDR)
    }

    /// `SO_REUSEPORT`: several sockets (one per core, say) listen on one port and the
    /// kernel spreads connections among them. Set it before `bind`.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn set_reuseport(&self, on: bool) -> io::Result<()> {
        self.setsockopt(libc::SOL_SOCKET, libc::SO_REUSEPORT, on as libc::c_int)
    }

    /// Whether `SO_REUSEPORT` is on.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn reuseport(&self) -> io::Result<bool> {
        self.get_bool(libc::SOL_SOCKET, libc::SO_REUSEPORT)
    }

    /// `SO_KEEPALIVE`: probe an idle connection so a vanished peer is noticed.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn set_keepalive(&self, on: bool) -> io::Result<()> {
        self.setsockopt(libc::SOL_SOCKET, libc::SO_KEEPALIVE, on as libc::c_int)
    }

    /// Whether `SO_KEEPALIVE` is on.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn keepalive(&self) -> io::Result<bool> {
        self.get_bool(libc::SOL_SOCKET, libc::SO_KEEPALIVE)
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
        self.setsockopt(libc::SOL_SOCKET, libc::SO_LINGER, value)
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
        self.setsockopt(libc::SOL_SOCKET, libc::SO_LINGER, value)
    }

    /// The current `SO_LINGER` setting.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        let value: libc::linger = self.getsockopt(libc::SOL_SOCKET, libc::SO_LINGER)?;
        Ok((value.l_onoff != 0).then(|| Duration::from_secs(value.l_linger as u64)))
    }

    /// `IP_TTL` (IPv4) or `IPV6_UNICAST_HOPS` (IPv6): the hop limit of outgoing packets.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a value above 255.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        if ttl > 255 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "ttl must be 0..=255",
            ));
        }
        let (level, name) = self.ttl_option()?;
        self.setsockopt(level, name, ttl as libc::c_int)
    }

    /// The hop limit of outgoing packets.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn ttl(&self) -> io::Result<u32> {
        let (level, name) = self.ttl_option()?;
        let v: libc::c_int = self.getsockopt(level, name)?;
        Ok(v as u32)
    }

    fn ttl_option(&self) -> io::Result<(i32, i32)> {
        let domain: libc::c_int = self.getsockopt(libc::SOL_SOCKET, libc::SO_DOMAIN)?;
        Ok(if domain == libc::AF_INET6 {
            (libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS)
        } else {
            (libc::IPPROTO_IP, libc::IP_TTL)
        })
    }

    /// `IPV6_V6ONLY`: an IPv6 socket bound to `::` accepts only IPv6, not IPv4-mapped
    /// connections. Set it before `bind`.
    ///
    /// # Errors
    ///
    /// `ENOPROTOOPT` on an IPv4 socket.
    pub fn set_only_v6(&self, on: bool) -> io::Result<()> {
        self.setsockopt(libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, on as libc::c_int)
    }

    /// Whether `IPV6_V6ONLY` is on.
    ///
    /// # Errors
    ///
    /// `ENOPROTOOPT` on an IPv4 socket.
    pub fn only_v6(&self) -> io::Result<bool> {
        self.get_bool(libc::IPPROTO_IPV6, libc::IPV6_V6ONLY)
    }

    /// `SO_RCVBUF`: the receive buffer size to ask for (the kernel doubles it for its own
    /// bookkeeping, and caps it at `net.core.rmem_max`).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a size above `i32::MAX`.
    pub fn set_recv_buffer_size(&self, size: usize) -> io::Result<()> {
        self.setsockopt(libc::SOL_SOCKET, libc::SO_RCVBUF, size_arg(size)?)
    }

    /// The receive buffer size as the kernel reports it.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn recv_buffer_size(&self) -> io::Result<usize> {
        let v: libc::c_int = self.getsockopt(libc::SOL_SOCKET, libc::SO_RCVBUF)?;
        Ok(v as usize)
    }

    /// `SO_SNDBUF`: the send buffer size to ask for (doubled and capped like `SO_RCVBUF`).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a size above `i32::MAX`.
    pub fn set_send_buffer_size(&self, size: usize) -> io::Result<()> {
        self.setsockopt(libc::SOL_SOCKET, libc::SO_SNDBUF, size_arg(size)?)
    }

    /// The send buffer size as the kernel reports it.
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn send_buffer_size(&self) -> io::Result<usize> {
        let v: libc::c_int = self.getsockopt(libc::SOL_SOCKET, libc::SO_SNDBUF)?;
        Ok(v as usize)
    }
}

/// The typed `getsockopt`/`setsockopt` every option above goes through.
impl Socket {
    fn get_bool(&self, level: i32, name: i32) -> io::Result<bool> {
        let v: libc::c_int = self.getsockopt(level, name)?;
        Ok(v != 0)
    }

    /// [setsockopt(2)] with a plain-data value (`c_int` or `linger` here).
    ///
    /// [setsockopt(2)]: https://man7.org/linux/man-pages/man2/setsockopt.2.html
    fn setsockopt<T: SockOpt>(&self, level: i32, name: i32, value: T) -> io::Result<()> {
        // SAFETY: `value` is a live plain-data value of exactly `size_of::<T>()` bytes for
        // the whole call; the kernel only reads it.
        cvt(unsafe {
            libc::setsockopt(
                self.as_raw_fd(),
                level,
                name,
                (&value as *const T).cast(),
                mem::size_of::<T>() as libc::socklen_t,
            )
        })?;
        Ok(())
    }

    /// [getsockopt(2)] into a plain-data value (`c_int` or `linger` here).
    ///
    /// [getsockopt(2)]: https://man7.org/linux/man-pages/man2/getsockopt.2.html
    pub(crate) fn getsockopt<T: SockOpt>(&self, level: i32, name: i32) -> io::Result<T> {
        let mut value = T::zeroed();
        let mut len = mem::size_of::<T>() as libc::socklen_t;
        // SAFETY: `value` is writable for `len` bytes and `len` is in/out, as required.
        cvt(unsafe {
            libc::getsockopt(
                self.as_raw_fd(),
                level,
                name,
                (&mut value as *mut T).cast(),
                &mut len,
            )
        })?;
        Ok(value)
    }
}

/// Plain-data option values: any bit pattern the kernel writes is a valid value.
pub(crate) trait SockOpt: Copy {
    fn zeroed() -> Self;
}

impl SockOpt for libc::c_int {
    fn zeroed() -> Self {
        0
    }
}

impl SockOpt for libc::linger {
    fn zeroed() -> Self {
        libc::linger {
            l_onoff: 0,
            l_linger: 0,
        }
    }
}

fn size_arg(size: usize) -> io::Result<libc::c_int> {
    libc::c_int::try_from(size)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "buffer size too large"))
}
