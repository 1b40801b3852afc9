//! Unix-domain sockets, stream and datagram: [unix(7)].
//!
//! A [`UnixSocket`] owns its fd from the line it is created on, always with
//! `SOCK_NONBLOCK` and `SOCK_CLOEXEC`. Its address is a [`UnixAddr`]: a path in the file
//! system, a name in Linux's abstract namespace (no file, gone with the last socket), or
//! unnamed (a socketpair's ends, an unbound client).
//!
//! Besides bytes, a Unix socket carries *file descriptors* (`SCM_RIGHTS`, see
//! [`send_with_fds`](UnixSocket::send_with_fds)) and the peer's *credentials*
//! ([`peer_cred`](UnixSocket::peer_cred), `SO_PEERCRED`).
//!
//! [unix(7)]: https://man7.org/linux/man-pages/man7/unix.7.html

use crate::cvt::{cvt, cvt_fd};
use crate::msg::{self, RecvMsg};
use crate::socket::data;
use crate::socket_options::{self as opt, getsockopt};
use std::ffi::OsStr;
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::mem;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The offset of `sun_path` in `sockaddr_un`: an address's length counts from here.
const PATH_OFFSET: usize = mem::offset_of!(libc::sockaddr_un, sun_path);

/// The bytes `sun_path` holds (108 on Linux).
const SUN_PATH_LEN: usize = mem::size_of::<[libc::c_char; 108]>();

/// A Unix-domain socket address: a pathname, an abstract name, or unnamed.
#[derive(Clone, Copy)]
pub struct UnixAddr {
    addr: libc::sockaddr_un,
    len: libc::socklen_t,
}

impl UnixAddr {
    fn empty() -> UnixAddr {
        UnixAddr {
            // SAFETY: sockaddr_un is plain old data; all-zero is a valid value.
            addr: unsafe { mem::zeroed() },
            len: mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
        }
    }

    fn with_bytes(leading_nul: bool, bytes: &[u8]) -> io::Result<UnixAddr> {
        let total = bytes.len() + usize::from(leading_nul);
        // A pathname also needs room for its terminating NUL (unix(7) recommends it);
        // an abstract name uses every byte of sun_path.
        let room = if leading_nul {
            SUN_PATH_LEN
        } else {
            SUN_PATH_LEN - 1
        };
        if total > room {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a Unix socket address holds at most {room} bytes (sun_path); this one has {total}"
                ),
            ));
        }
        let mut a = UnixAddr::empty();
        a.addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let start = usize::from(leading_nul);
        for (dst, &b) in a.addr.sun_path[start..].iter_mut().zip(bytes) {
            *dst = b as libc::c_char;
        }
        let nul = usize::from(!leading_nul);
        a.len = (PATH_OFFSET + total + nul) as libc::socklen_t;
        Ok(a)
    }

    /// A pathname address.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the path is empty, contains a NUL byte, or is longer than
    /// `sun_path` allows (107 bytes and the terminating NUL).
    pub fn from_pathname<P: AsRef<Path>>(path: P) -> io::Result<UnixAddr> {
        let bytes = path.as_ref().as_os_str().as_bytes();
        if bytes.is_empty() || bytes.contains(&0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a Unix socket path must be non-empty and free of NUL bytes",
            ));
        }
        UnixAddr::with_bytes(false, bytes)
    }

    /// An address in Linux's abstract namespace (unix(7)): no file is created, and the
    /// name vanishes with the last socket bound to it. `name` excludes the leading NUL.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `name` is longer than 107 bytes.
    pub fn from_abstract_name(name: &[u8]) -> io::Result<UnixAddr> {
        UnixAddr::with_bytes(true, name)
    }

    fn path_bytes(&self) -> &[u8] {
        let n = (self.len as usize)
            .saturating_sub(PATH_OFFSET)
            .min(SUN_PATH_LEN);
        // SAFETY: c_char and u8 have the same size and alignment, and `n` is within
        // sun_path.
        unsafe { std::slice::from_raw_parts(self.addr.sun_path.as_ptr().cast(), n) }
    }

    /// The path, for a pathname address.
    pub fn as_pathname(&self) -> Option<&Path> {
        let bytes = self.path_bytes();
        match bytes.first() {
            None | Some(0) => None,
            Some(_) => {
                let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                Some(Path::new(OsStr::from_bytes(&bytes[..end])))
            }
        }
    }

    /// The name without its leading NUL, for an abstract address.
    pub fn as_abstract_name(&self) -> Option<&[u8]> {
        match self.path_bytes() {
            [0, name @ ..] => Some(name),
            _ => None,
        }
    }

    /// Whether the address is unnamed (a socketpair's end, an unbound socket).
    pub fn is_unnamed(&self) -> bool {
        self.path_bytes().is_empty()
    }

    fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.addr as *const libc::sockaddr_un).cast()
    }
}

impl fmt::Debug for UnixAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.as_pathname() {
            write!(f, "{p:?} (pathname)")
        } else if let Some(n) = self.as_abstract_name() {
            write!(f, "\"\\0{}\" (abstract)", n.escape_ascii())
        } else {
            f.write_str("(unnamed)")
        }
    }
}

impl PartialEq for UnixAddr {
    fn eq(&self, other: &UnixAddr) -> bool {
        self.path_bytes() == other.path_bytes()
    }
}

impl Eq for UnixAddr {}

/// The credentials of a Unix socket's peer, from `SO_PEERCRED`: those it had when it
/// connected (or, for a socketpair, when the pair was made).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UCred {
    /// The peer's process id.
    pub pid: libc::pid_t,
    /// The peer's effective user id.
    pub uid: libc::uid_t,
    /// The peer's effective group id.
    pub gid: libc::gid_t,
}

/// An owned, nonblocking Unix-domain socket: a listener, a stream or a datagram socket.
///
/// # Examples
///
/// Pass a pipe's write end over a socketpair and use it at the other end:
///
/// ```
/// use ply_sys::UnixSocket;
/// use std::io::IoSlice;
/// use std::os::fd::AsFd;
///
/// # fn main() -> std::io::Result<()> {
/// let (a, b) = UnixSocket::pair_stream()?;
/// let (r, w) = ply_sys::pipe()?;
/// a.send_with_fds(&[IoSlice::new(b"fd!")], &[w.as_fd()])?;
/// drop(w); // the receiver gets its own copy
/// let mut buf = [0; 8];
/// let mut fds = Vec::new();
/// let got = b.recv_with_fds(&mut buf, &mut fds, 1)?;
/// assert_eq!((&buf[..got.len], fds.len()), (&b"fd!"[..], 1));
/// ply_sys::write(fds[0].as_fd(), b"through the socket")?;
/// assert_eq!(ply_sys::read(r.as_fd(), &mut [0; 64])?, 18);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct UnixSocket {
    fd: OwnedFd,
}

fn new_socket(ty: i32) -> io::Result<UnixSocket> {
    let ty = ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: socket takes three integers; it touches no memory of ours.
    let fd = cvt_fd(unsafe { libc::socket(libc::AF_UNIX, ty, 0) })?;
    Ok(UnixSocket { fd })
}

fn new_pair(ty: i32) -> io::Result<(UnixSocket, UnixSocket)> {
    let ty = ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    let mut fds = [-1; 2];
    // SAFETY: `fds` is a valid array of two c_ints for the kernel to fill.
    cvt(unsafe { libc::socketpair(libc::AF_UNIX, ty, 0, fds.as_mut_ptr()) })?;
    // Both fds are new and ours; cvt_fd takes ownership of each (it cannot fail here).
    let a = UnixSocket {
        fd: cvt_fd(fds[0])?,
    };
    let b = UnixSocket {
        fd: cvt_fd(fds[1])?,
    };
    Ok((a, b))
}

impl UnixSocket {
    /// A new, unbound stream socket ([socket(2)] `AF_UNIX, SOCK_STREAM`).
    ///
    /// # Errors
    ///
    /// `EMFILE`/`ENFILE` when out of fds.
    ///
    /// [socket(2)]: https://man7.org/linux/man-pages/man2/socket.2.html
    pub fn stream() -> io::Result<UnixSocket> {
        new_socket(libc::SOCK_STREAM)
    }

    /// A new, unbound datagram socket (`SOCK_DGRAM`: reliable and ordered, unlike UDP,
    /// but still one message per read).
    ///
    /// # Errors
    ///
    /// `EMFILE`/`ENFILE` when out of fds.
    pub fn datagram() -> io::Result<UnixSocket> {
        new_socket(libc::SOCK_DGRAM)
    }

    /// A connected pair of stream sockets ([socketpair(2)]).
    ///
    /// # Errors
    ///
    /// `EMFILE`/`ENFILE` when out of fds.
    ///
    /// [socketpair(2)]: https://man7.org/linux/man-pages/man2/socketpair.2.html
    pub fn pair_stream() -> io::Result<(UnixSocket, UnixSocket)> {
        new_pair(libc::SOCK_STREAM)
    }

    /// A connected pair of datagram sockets.
    ///
    /// # Errors
    ///
    /// `EMFILE`/`ENFILE` when out of fds.
    pub fn pair_datagram() -> io::Result<(UnixSocket, UnixSocket)> {
        new_pair(libc::SOCK_DGRAM)
    }

    /// A stream socket bound to `addr` and listening, in one call.
    ///
    /// # Errors
    ///
    /// `AddrInUse` if the path exists (a stale socket file is not removed for you) or the
    /// abstract name is taken; `NotFound`/`PermissionDenied` for the path's directory.
    pub fn listener(addr: &UnixAddr, backlog: i32) -> io::Result<UnixSocket> {
        let socket = UnixSocket::stream()?;
        socket.bind(addr)?;
        // SAFETY: listen takes two integers.
        cvt(unsafe { libc::listen(socket.fd.as_raw_fd(), backlog) })?;
        Ok(socket)
    }

    /// A datagram socket bound to `addr`.
    ///
    /// # Errors
    ///
    /// As [`listener`](Self::listener).
    pub fn datagram_bound(addr: &UnixAddr) -> io::Result<UnixSocket> {
        let socket = UnixSocket::datagram()?;
        socket.bind(addr)?;
        Ok(socket)
    }

    /// Binds to `addr` ([bind(2)]); a pathname address creates the socket file.
    ///
    /// # Errors
    ///
    /// `AddrInUse` if the path exists or the abstract name is taken; `InvalidInput` if
    /// already bound.
    ///
    /// [bind(2)]: https://man7.org/linux/man-pages/man2/bind.2.html
    pub fn bind(&self, addr: &UnixAddr) -> io::Result<()> {
        // SAFETY: `addr` holds a valid sockaddr_un of `addr.len` bytes for the whole call.
        cvt(unsafe { libc::bind(self.fd.as_raw_fd(), addr.as_ptr(), addr.len) })?;
        Ok(())
    }

    /// Connects to `addr` ([connect(2)]). A Unix stream connect completes at once or
    /// fails at once: a listener whose backlog is full makes a nonblocking connect fail
    /// with `WouldBlock` (`EAGAIN`), not `EINPROGRESS`. A datagram socket just gets its
    /// default destination.
    ///
    /// # Errors
    ///
    /// `NotFound` for a path with no socket, `ConnectionRefused` for a socket file with
    /// no listener, `WouldBlock` for a full backlog, `PermissionDenied`.
    ///
    /// [connect(2)]: https://man7.org/linux/man-pages/man2/connect.2.html
    pub fn connect(&self, addr: &UnixAddr) -> io::Result<()> {
        // SAFETY: `addr` holds a valid sockaddr_un of `addr.len` bytes for the whole call.
        cvt(unsafe { libc::connect(self.fd.as_raw_fd(), addr.as_ptr(), addr.len) })?;
        Ok(())
    }

    /// Accepts a pending connection ([accept4(2)]), nonblocking and close-on-exec from
    /// its first line, with the peer's address (usually unnamed).
    ///
    /// # Errors
    ///
    /// `WouldBlock` when none is pending; `EMFILE`/`ENFILE` when out of fds.
    ///
    /// [accept4(2)]: https://man7.org/linux/man-pages/man2/accept4.2.html
    pub fn accept(&self) -> io::Result<(UnixSocket, UnixAddr)> {
        let mut addr = UnixAddr::empty();
        // SAFETY: `addr` is a writable sockaddr_un and `len` its size in/out.
        let fd = cvt_fd(unsafe {
            libc::accept4(
                self.fd.as_raw_fd(),
                (&mut addr.addr as *mut libc::sockaddr_un).cast(),
                &mut addr.len,
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            )
        })?;
        Ok((UnixSocket { fd }, addr))
    }

    /// The local address ([getsockname(2)]).
    ///
    /// # Errors
    ///
    /// `EBADF`.
    ///
    /// [getsockname(2)]: https://man7.org/linux/man-pages/man2/getsockname.2.html
    pub fn local_addr(&self) -> io::Result<UnixAddr> {
        let mut addr = UnixAddr::empty();
        // SAFETY: `addr` is a writable sockaddr_un and `len` its size in/out.
        cvt(unsafe {
            libc::getsockname(
                self.fd.as_raw_fd(),
                (&mut addr.addr as *mut libc::sockaddr_un).cast(),
                &mut addr.len,
            )
        })?;
        Ok(addr)
    }

    /// The peer's address ([getpeername(2)]).
    ///
    /// # Errors
    ///
    /// `NotConnected`.
    ///
    /// [getpeername(2)]: https://man7.org/linux/man-pages/man2/getpeername.2.html
    pub fn peer_addr(&self) -> io::Result<UnixAddr> {
        let mut addr = UnixAddr::empty();
        // SAFETY: `addr` is a writable sockaddr_un and `len` its size in/out.
        cvt(unsafe {
            libc::getpeername(
                self.fd.as_raw_fd(),
                (&mut addr.addr as *mut libc::sockaddr_un).cast(),
                &mut addr.len,
            )
        })?;
        Ok(addr)
    }

    /// The peer's credentials (`SO_PEERCRED`, see unix(7)).
    ///
    /// # Errors
    ///
    /// `ENOTCONN` for an unconnected stream socket.
    pub fn peer_cred(&self) -> io::Result<UCred> {
        let c: libc::ucred = getsockopt(self.as_fd(), libc::SOL_SOCKET, libc::SO_PEERCRED)?;
        Ok(UCred {
            pid: c.pid,
            uid: c.uid,
            gid: c.gid,
        })
    }

    /// Takes the pending error (`SO_ERROR`).
    ///
    /// # Errors
    ///
    /// `EBADF`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        opt::take_error(self.as_fd())
    }

    /// Shuts down reading, writing or both ([shutdown(2)]); for a stream,
    /// `Shutdown::Write` is the half-close.
    ///
    /// # Errors
    ///
    /// `NotConnected`.
    ///
    /// [shutdown(2)]: https://man7.org/linux/man-pages/man2/shutdown.2.html
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        data::shutdown(self.as_fd(), how)
    }

    /// Receives into `buf` ([recv(2)]); on a stream `Ok(0)` is end of stream, on a
    /// datagram socket it is a zero-length message.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when nothing is queued; `ConnectionReset`.
    ///
    /// [recv(2)]: https://man7.org/linux/man-pages/man2/recv.2.html
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        data::recv(self.as_fd(), buf, 0)
    }

    /// Like [`recv`](Self::recv) into a buffer that need not be initialised (for callers
    /// that hand out uninitialised buffers, such as tokio's `ReadBuf`); returns how many
    /// bytes were written, which are then initialised.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub fn recv_uninit(&self, buf: &mut [std::mem::MaybeUninit<u8>]) -> io::Result<usize> {
        data::recv_uninit(self.as_fd(), buf)
    }

    /// Like [`recv`](Self::recv) with `MSG_PEEK`.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        data::recv(self.as_fd(), buf, libc::MSG_PEEK)
    }

    /// Sends from `buf` with `MSG_NOSIGNAL` ([send(2)]): a peer that has gone yields
    /// `EPIPE`, never `SIGPIPE`.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when the send buffer is full; `BrokenPipe`; on a datagram socket
    /// `ConnectionRefused` if the peer's socket is gone.
    ///
    /// [send(2)]: https://man7.org/linux/man-pages/man2/send.2.html
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        data::send(self.as_fd(), buf)
    }

    /// Scatter read ([readv(2)]).
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    ///
    /// [readv(2)]: https://man7.org/linux/man-pages/man2/readv.2.html
    pub fn recv_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        data::recv_vectored(self.as_fd(), bufs)
    }

    /// Gather write ([sendmsg(2)] with `MSG_NOSIGNAL`).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    ///
    /// [sendmsg(2)]: https://man7.org/linux/man-pages/man2/sendmsg.2.html
    pub fn send_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        msg::sendmsg(self.as_fd(), bufs, None, &mut [])
    }

    /// Sends one datagram to `addr` ([sendto(2)]) from an unconnected datagram socket.
    ///
    /// # Errors
    ///
    /// `NotFound` or `ConnectionRefused` if no socket is bound there; `WouldBlock` if the
    /// receiver's queue is full.
    ///
    /// [sendto(2)]: https://man7.org/linux/man-pages/man2/sendto.2.html
    pub fn send_to(&self, buf: &[u8], addr: &UnixAddr) -> io::Result<usize> {
        // SAFETY: `buf` is valid for reads of `buf.len()` bytes and `addr` holds a valid
        // sockaddr_un of `addr.len` bytes, both for the whole call.
        let n = cvt(unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_NOSIGNAL,
                addr.as_ptr(),
                addr.len,
            )
        })?;
        Ok(n as usize)
    }

    /// Receives one datagram and its sender's address ([recvmsg(2)]), reporting
    /// truncation (`MSG_TRUNC`).
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    ///
    /// [recvmsg(2)]: https://man7.org/linux/man-pages/man2/recvmsg.2.html
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(RecvMsg, UnixAddr)> {
        let mut addr = UnixAddr::empty();
        let name = (&mut addr.addr as *mut libc::sockaddr_un).cast();
        let mut bufs = [IoSliceMut::new(buf)];
        let meta = msg::recv_fds(
            self.as_fd(),
            &mut bufs,
            &mut Vec::new(),
            0,
            Some((name, &mut addr.len)),
            0,
        )?;
        Ok((meta, addr))
    }

    /// Sends `bufs` with `fds` attached as one `SCM_RIGHTS` control message; our fds stay open, the receiver gets duplicates. On a
    /// stream, the fds arrive with the first byte of `buf`, so send at least one byte.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for no fds or more than [`SCM_MAX_FD`](crate::SCM_MAX_FD);
    /// `WouldBlock`, `BrokenPipe`, `ETOOMANYREFS`.
    pub fn send_with_fds(&self, bufs: &[IoSlice<'_>], fds: &[BorrowedFd<'_>]) -> io::Result<usize> {
        msg::send_fds(self.as_fd(), bufs, fds, None)
    }

    /// Receives into `buf` and takes up to `max_fds` passed fds, pushing each onto `fds`
    /// as an [`OwnedFd`] that is close-on-exec from its first moment
    /// (`MSG_CMSG_CLOEXEC`). Fds beyond `max_fds` are closed, never leaked, and
    /// reported in [`RecvMsg::fds_truncated`].
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub fn recv_with_fds(
        &self,
        buf: &mut [u8],
        fds: &mut Vec<OwnedFd>,
        max_fds: usize,
    ) -> io::Result<RecvMsg> {
        let mut bufs = [IoSliceMut::new(buf)];
        msg::recv_fds(self.as_fd(), &mut bufs, fds, max_fds, None, 0)
    }

    /// `SO_RCVBUF`.
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

    /// `SO_SNDBUF`.
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
    pub fn try_clone(&self) -> io::Result<UnixSocket> {
        Ok(UnixSocket {
            fd: self.fd.try_clone()?,
        })
    }
}

impl Read for &UnixSocket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.recv_vectored(bufs)
    }
}

impl Write for &UnixSocket {
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

impl AsFd for UnixSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for UnixSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl From<OwnedFd> for UnixSocket {
    /// Takes ownership of a Unix socket fd, used as it is.
    fn from(fd: OwnedFd) -> UnixSocket {
        UnixSocket { fd }
    }
}

impl From<UnixSocket> for OwnedFd {
    fn from(socket: UnixSocket) -> OwnedFd {
        socket.fd
    }
}

impl IntoRawFd for UnixSocket {
    fn into_raw_fd(self) -> RawFd {
        self.fd.into_raw_fd()
    }
}

impl FromRawFd for UnixSocket {
    /// # Safety
    ///
    /// `fd` must be an open Unix socket that nothing else owns or will close.
    unsafe fn from_raw_fd(fd: RawFd) -> UnixSocket {
        UnixSocket {
            // SAFETY: the caller guarantees `fd` is open and ours alone.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        }
    }
}

macro_rules! std_conversions {
    ($($std:ty),*) => {$(
        impl From<$std> for UnixSocket {
            /// Adopts a std socket and makes it nonblocking.
            fn from(socket: $std) -> UnixSocket {
                // Ignoring the error is sound: set_nonblocking on a valid socket cannot
                // fail.
                let _ = socket.set_nonblocking(true);
                UnixSocket { fd: socket.into() }
            }
        }

        impl From<UnixSocket> for $std {
            /// Hands the socket to std; it stays nonblocking.
            fn from(socket: UnixSocket) -> $std {
                socket.fd.into()
            }
        }
    )*};
}

std_conversions!(
    std::os::unix::net::UnixStream,
    std::os::unix::net::UnixListener,
    std::os::unix::net::UnixDatagram
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_say_what_they_are() {
        let p = UnixAddr::from_pathname("/tmp/x.sock").unwrap();
        assert_eq!(p.as_pathname(), Some(Path::new("/tmp/x.sock")));
        assert_eq!(p.as_abstract_name(), None);
        let a = UnixAddr::from_abstract_name(b"ply").unwrap();
        assert_eq!(a.as_abstract_name(), Some(&b"ply"[..]));
        assert_eq!(a.as_pathname(), None);
        assert!(!a.is_unnamed());
        assert!(UnixAddr::empty().as_pathname().is_none());
        let longest = "x".repeat(SUN_PATH_LEN - 1);
        assert!(UnixAddr::from_pathname(&longest).is_ok());
        let too_long = "x".repeat(SUN_PATH_LEN);
        let err = UnixAddr::from_pathname(&too_long).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(UnixAddr::from_abstract_name(&[b'y'; SUN_PATH_LEN - 1]).is_ok());
        assert!(UnixAddr::from_abstract_name(&[b'y'; SUN_PATH_LEN]).is_err());
        assert!(UnixAddr::from_pathname("").is_err());
        assert!(UnixAddr::from_pathname("a\0b").is_err());
        assert_eq!(format!("{a:?}"), "\"\\0ply\" (abstract)");
    }
}
