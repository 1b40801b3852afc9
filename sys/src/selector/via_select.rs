//! The select backend: [select(2)], for study and comparison.
//!
//! select takes three bitmaps (read, write, exceptional) of `FD_SETSIZE` (1024) bits and
//! the highest fd plus one; the kernel scans every bit up to it, and the caller scans them
//! again to find what is set: O(highest fd) per wait. An fd of 1024 or more does not fit
//! in the bitmap at all (writing its bit would overflow the `fd_set`), so registering one
//! is refused with `InvalidInput`.
//!
//! select fails as a whole (`EBADF`) if any fd in its sets is closed, where poll(2) flags
//! just that fd; the backend then finds the closed ones itself (see `select`).
//!
//! select says only "readable", "writable" or "exceptional". To report hang-up,
//! read-closed and error like the other backends, each fd select marks is asked once more
//! with a zero-timeout [poll(2)] of that one fd.
//!
//! [select(2)]: https://man7.org/linux/man-pages/man2/select.2.html
//! [poll(2)]: https://man7.org/linux/man-pages/man2/poll.2.html

use super::emulated::{poll_event_flags, poll_events, Armed, Emulated, Mechanism, Registry};
use super::{Event, Events};
use crate::cvt::cvt;
use crate::fd::check_open;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::RawFd;
use std::sync::Mutex;
use std::time::Duration;

/// The select backend: the shared [`Emulated`] bookkeeping around a select(2) wait.
pub(crate) type Selector = Emulated<Select>;

/// The select(2) wait.
#[derive(Debug)]
pub(crate) struct Select {
    /// Reused by each wait; the lock also keeps waits one at a time.
    scratch: Mutex<Vec<Armed>>,
}

/// Refuses an fd that does not fit in an `fd_set`.
fn check_fd(fd: RawFd) -> io::Result<()> {
    if fd >= 0 && fd as usize >= libc::FD_SETSIZE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "fd {fd} >= FD_SETSIZE ({}): select(2) cannot watch it; use epoll or poll",
                libc::FD_SETSIZE
            ),
        ));
    }
    Ok(())
}

/// An empty `fd_set`.
fn empty_set() -> libc::fd_set {
    let mut set = MaybeUninit::<libc::fd_set>::uninit();
    // SAFETY: FD_ZERO initialises every bit of the set it is given.
    unsafe {
        libc::FD_ZERO(set.as_mut_ptr());
        set.assume_init()
    }
}

impl Mechanism for Select {
    fn new(registry: &Registry) -> io::Result<Select> {
        check_fd(registry.wake_fd())?;
        Ok(Select {
            scratch: Mutex::new(Vec::new()),
        })
    }

    fn check_fd(fd: RawFd) -> io::Result<()> {
        check_fd(fd)
    }

    fn select(
        &self,
        registry: &Registry,
        events: &mut Events,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        let mut armed = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        registry.begin_wait(&mut armed);

        let (mut read, mut write, mut except) = (empty_set(), empty_set(), empty_set());
        let wake_fd = registry.wake_fd();
        let mut max_fd = wake_fd;
        // SAFETY: the wake fd was checked to be in 0..FD_SETSIZE in `new`, as every
        // registered fd is in `register` (`check_fd`): each FD_SET/FD_ISSET below touches
        // a bit inside its set.
        unsafe { libc::FD_SET(wake_fd, &mut read) };
        for a in armed.iter() {
            max_fd = max_fd.max(a.fd);
            if a.armed.is_readable() {
                // SAFETY: `a.fd` passed `check_fd` at registration, so it is in
                // 0..FD_SETSIZE and the bit lies inside `read`.
                unsafe { libc::FD_SET(a.fd, &mut read) };
            }
            if a.armed.is_writable() {
                // SAFETY: `a.fd` passed `check_fd` at registration, so it is in
                // 0..FD_SETSIZE and the bit lies inside `write`.
                unsafe { libc::FD_SET(a.fd, &mut write) };
            }
            if a.armed.is_priority() {
                // SAFETY: `a.fd` passed `check_fd` at registration, so it is in
                // 0..FD_SETSIZE and the bit lies inside `except`.
                unsafe { libc::FD_SET(a.fd, &mut except) };
            }
        }

        // select's timeval has microseconds: round up so a short wait never becomes zero.
        let mut tv = timeout.map(|d| {
            let d = d.saturating_add(Duration::from_nanos(999));
            libc::timeval {
                tv_sec: d.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
                tv_usec: d.subsec_micros() as libc::suseconds_t,
            }
        });
        let tv_ptr = tv
            .as_mut()
            .map_or(std::ptr::null_mut(), |t| t as *mut libc::timeval);
        // SAFETY: the three sets are initialised fd_sets the kernel may rewrite; `tv_ptr`
        // is null or points at `tv`, alive across the call; nfds is the highest fd + 1.
        let res =
            cvt(unsafe { libc::select(max_fd + 1, &mut read, &mut write, &mut except, tv_ptr) });
        let n = match res {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
            Err(e) if e.raw_os_error() == Some(libc::EBADF) => {
                // An fd in the sets is closed: either another thread deregistered and
                // closed it after the sets were built (its report is dropped by
                // `finish_wait`, as the entry is gone), or it was closed while still
                // registered (reported as an error and disarmed, as poll(2)'s POLLNVAL
                // is, so the next wait does not fail again). Unlike poll, select names no
                // culprit, so ask each fd.
                let closed = armed.iter().filter(|a| check_open(a.fd).is_err()).map(|a| {
                    let flags = Event::ERROR | Event::READ_CLOSED | Event::WRITE_CLOSED;
                    (a.fd, a.token, flags)
                });
                return registry.finish_wait(false, closed, events);
            }
            Err(e) => {
                registry.finish_wait(false, std::iter::empty(), events)?;
                return Err(e);
            }
        };
        if n == 0 {
            return registry.finish_wait(false, std::iter::empty(), events);
        }
        // SAFETY: the wake fd was checked to be below FD_SETSIZE in `new`, and `read` is an
        // initialised fd_set the kernel filled in.
        let woken = unsafe { libc::FD_ISSET(wake_fd, &read) };
        let ready = armed.iter().filter_map(|a| {
            // SAFETY: `a.fd` is below FD_SETSIZE (`check_fd` at registration) and the three
            // sets are initialised fd_sets the kernel filled in: each test reads a bit
            // inside its set.
            let (r, w, x) = unsafe {
                (
                    libc::FD_ISSET(a.fd, &read),
                    libc::FD_ISSET(a.fd, &write),
                    libc::FD_ISSET(a.fd, &except),
                )
            };
            if !(r || w || x) {
                return None;
            }
            Some((a.fd, a.token, refine(a, r, w, x)))
        });
        registry.finish_wait(woken, ready, events)
    }
}

/// Turns select's three bits into full [`Event`] flags by asking poll(2) about the one fd,
/// without waiting. Falls back to select's own answer if poll reports nothing (the state
/// changed in between) or fails.
fn refine(a: &Armed, r: bool, w: bool, x: bool) -> u8 {
    let mut pfd = libc::pollfd {
        fd: a.fd,
        events: poll_events(a.armed),
        revents: 0,
    };
    // SAFETY: `pfd` is one valid pollfd the kernel may write `revents` into; timeout 0.
    let polled = cvt(unsafe { libc::poll(&mut pfd, 1, 0) });
    if matches!(polled, Ok(1)) {
        return poll_event_flags(pfd.revents);
    }
    let mut e = 0;
    if r {
        e |= Event::READABLE;
    }
    if w {
        e |= Event::WRITABLE;
    }
    if x {
        e |= Event::PRIORITY;
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fds_beyond_fd_setsize_are_refused() {
        let size = libc::FD_SETSIZE as RawFd;
        for (fd, ok) in [
            (0, true),
            (size - 1, true),
            (size, false),
            (size + 500, false),
        ] {
            assert_eq!(check_fd(fd).is_ok(), ok, "fd {fd}");
        }
        assert_eq!(
            check_fd(size).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}
