//! The cross-thread wake: [eventfd(2)], with a pipe as the fallback.
//!
//! A thread blocked in a selector wait can only be woken by an fd becoming ready. A
//! [`Notifier`] is such an fd that any thread can make ready on purpose. ply's selectors own
//! one each (see [`Selector::wake`](crate::Selector::wake)).
//!
//! [eventfd(2)]: https://man7.org/linux/man-pages/man2/eventfd.2.html

use crate::cvt::{cvt, cvt_fd};
use crate::fd::pipe;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

/// Creates an eventfd with `EFD_NONBLOCK | EFD_CLOEXEC` and a counter of zero.
///
/// # Errors
///
/// `EMFILE`/`ENFILE` when out of fds; `ENOSYS`/`EINVAL` on kernels or sandboxes
/// without eventfd (use a pipe then, as [`Notifier::new`] does).
///
/// [eventfd(2)]: https://man7.org/linux/man-pages/man2/eventfd.2.html
pub fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: eventfd takes an initial value and flags; it touches no memory of ours.
    cvt_fd(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })
}

/// A readable-on-demand fd: [`notify`](Self::notify) from any thread makes
/// [`as_fd`](AsFd::as_fd) readable until [`drain`](Self::drain) is called.
///
/// Backed by an eventfd (one fd, an 8-byte counter) where the kernel has one, else by a
/// pipe (two fds, one byte per notify). Notifies coalesce: many notifies before a drain
/// make one readable edge, and a full pipe or saturated counter is not an error.
///
/// # Examples
///
/// ```
/// use ply_sys::Notifier;
///
/// # fn main() -> std::io::Result<()> {
/// let n = Notifier::new()?;
/// std::thread::scope(|s| {
///     s.spawn(|| n.notify().unwrap());
/// });
/// assert!(n.drain()?, "the notify was seen");
/// assert!(!n.drain()?, "and it was consumed");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Notifier {
    read: OwnedFd,
    /// `None` for an eventfd (one fd serves both ends), the write end for a pipe.
    write: Option<OwnedFd>,
}

impl Notifier {
    /// An eventfd notifier, or a pipe one if eventfd is unavailable.
    ///
    /// # Errors
    ///
    /// `EMFILE`/`ENFILE` when out of fds.
    pub fn new() -> io::Result<Notifier> {
        match eventfd() {
            Ok(read) => Ok(Notifier { read, write: None }),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EINVAL)) => {
                Notifier::with_pipe()
            }
            Err(e) => Err(e),
        }
    }

    /// A notifier backed by a pipe, whatever the kernel offers (portable POSIX).
    ///
    /// # Errors
    ///
    /// `EMFILE`/`ENFILE` when out of fds.
    pub fn with_pipe() -> io::Result<Notifier> {
        let (read, write) = pipe()?;
        Ok(Notifier {
            read,
            write: Some(write),
        })
    }

    /// Whether this notifier is an eventfd (else a pipe).
    pub fn is_eventfd(&self) -> bool {
        self.write.is_none()
    }

    /// Makes the fd readable. Safe to call from any thread, any number of times.
    ///
    /// # Errors
    ///
    /// Only unexpected kernel errors; a notify that is already pending is `Ok`.
    pub fn notify(&self) -> io::Result<()> {
        let (fd, buf, len) = match &self.write {
            None => (self.read.as_raw_fd(), 1u64.to_ne_bytes(), 8),
            Some(w) => (w.as_raw_fd(), [1u8, 0, 0, 0, 0, 0, 0, 0], 1),
        };
        // SAFETY: `buf` is valid for reads of `len` (<= 8) bytes during the call.
        match cvt(unsafe { libc::write(fd, buf.as_ptr().cast(), len) }) {
            Ok(_) => Ok(()),
            // Counter saturated or pipe full: a notify is pending already; that is enough.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Consumes pending notifies; returns whether there were any.
    ///
    /// # Errors
    ///
    /// Only unexpected kernel errors.
    pub fn drain(&self) -> io::Result<bool> {
        let mut buf = [0u8; 64];
        let mut any = false;
        loop {
            // SAFETY: `buf` is valid for writes of 64 bytes (>= the 8 an eventfd needs).
            match cvt(unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), 64) }) {
                Ok(0) => return Ok(any),
                Ok(n) => {
                    any = true;
                    // An eventfd read returns the whole counter at once: no need to loop.
                    if self.is_eventfd() || (n as usize) < buf.len() {
                        return Ok(true);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(any),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl AsFd for Notifier {
    /// The fd to watch for readability.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }
}

impl AsRawFd for Notifier {
    fn as_raw_fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }
}
