//! Plain reads and writes on any fd, and the pipe: the smallest pieces the rest builds on.

use crate::cvt::{cvt, cvt_fd};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

/// Reads into `buf` with [read(2)]; `Ok(0)` is end of stream.
///
/// # Errors
///
/// `WouldBlock` when a nonblocking fd has nothing to read (see
/// [`Selector`](crate::Selector) for the readiness contract), `EBADF`, and the rest of
/// read(2)'s errors.
///
/// [read(2)]: https://man7.org/linux/man-pages/man2/read.2.html
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole call.
    let n = cvt(unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) })?;
    Ok(n as usize)
}

/// Writes from `buf` with [write(2)] and returns how many bytes were taken.
///
/// On a socket prefer [`Socket::send`](crate::Socket::send): a plain write to a socket
/// whose peer has gone raises `SIGPIPE`, which kills a process that has not ignored it.
///
/// # Errors
///
/// `WouldBlock` when a nonblocking fd is full, `EPIPE`, `EBADF`, and the rest of
/// write(2)'s errors.
///
/// [write(2)]: https://man7.org/linux/man-pages/man2/write.2.html
pub fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes for the whole call.
    let n = cvt(unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) })?;
    Ok(n as usize)
}

/// Creates a pipe with [pipe2(2)], both ends `O_NONBLOCK | O_CLOEXEC`: `(read, write)`.
///
/// # Errors
///
/// `EMFILE`/`ENFILE` when out of fds.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsFd;
///
/// # fn main() -> std::io::Result<()> {
/// let (r, w) = ply_sys::pipe()?;
/// ply_sys::write(w.as_fd(), b"hi")?;
/// let mut buf = [0; 8];
/// assert_eq!(ply_sys::read(r.as_fd(), &mut buf)?, 2);
/// // Nothing more: a nonblocking read says WouldBlock instead of sleeping.
/// let err = ply_sys::read(r.as_fd(), &mut buf).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
/// # Ok(())
/// # }
/// ```
///
/// [pipe2(2)]: https://man7.org/linux/man-pages/man2/pipe2.2.html
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1i32; 2];
    // SAFETY: `fds` is a valid array of two c_ints for the kernel to fill.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) })?;
    // Both fds are new and ours; cvt_fd takes ownership of each (it cannot fail here).
    let read = cvt_fd(fds[0])?;
    let write = cvt_fd(fds[1])?;
    Ok((read, write))
}

/// Sets or clears `O_NONBLOCK` on `fd` with [fcntl(2)]. Every fd ply-sys creates is
/// already nonblocking; use this on fds that come from elsewhere.
///
/// # Errors
///
/// `EBADF` if `fd` is not open.
///
/// [fcntl(2)]: https://man7.org/linux/man-pages/man2/fcntl.2.html
pub fn set_nonblocking(fd: BorrowedFd<'_>, nonblocking: bool) -> io::Result<()> {
    // SAFETY: F_GETFL reads the fd's status flags; no memory of ours is involved.
    let flags = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    let new = if nonblocking {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    if new != flags {
        // SAFETY: F_SETFL with an int argument; no memory of ours is involved.
        cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, new) })?;
    }
    Ok(())
}

/// Checks that `fd` is an open descriptor ([fcntl(2)] `F_GETFD`): `EBADF` otherwise.
pub(crate) fn check_open(fd: i32) -> io::Result<()> {
    // SAFETY: F_GETFD on any number is harmless: the kernel answers EBADF for a bad one.
    cvt(unsafe { libc::fcntl(fd, libc::F_GETFD) })?;
    Ok(())
}
