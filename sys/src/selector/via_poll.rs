//! The poll backend: [poll(2)] over the userspace interest list of `emulated.rs`.
//!
//! Each wait hands the kernel an array of every armed fd, and the kernel checks each one:
//! O(registered fds) per wait, however few are ready. [ppoll(2)] is used for its
//! nanosecond timeout, so short timeouts are neither rounded to zero nor up to a whole
//! millisecond.
//!
//! [poll(2)]: https://man7.org/linux/man-pages/man2/poll.2.html
//! [ppoll(2)]: https://man7.org/linux/man-pages/man2/ppoll.2.html

use super::emulated::{poll_event_flags, poll_events, Armed, Registry};
use super::{Events, Interest, Token};
use crate::cvt::cvt;
use std::io;
use std::os::fd::RawFd;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug)]
pub(crate) struct Selector {
    registry: Registry,
    /// Buffers reused by each wait; the lock also keeps waits one at a time.
    scratch: Mutex<Scratch>,
}

#[derive(Debug, Default)]
struct Scratch {
    armed: Vec<Armed>,
    pollfds: Vec<libc::pollfd>,
}

impl Selector {
    pub(crate) fn new() -> io::Result<Selector> {
        Ok(Selector {
            registry: Registry::new()?,
            scratch: Mutex::new(Scratch::default()),
        })
    }

    pub(crate) fn register(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        self.registry.register(fd, token, interest)
    }

    pub(crate) fn reregister(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        self.registry.reregister(fd, token, interest)
    }

    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        self.registry.deregister(fd)
    }

    pub(crate) fn rearm(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        self.registry.rearm(fd, token, interest)
    }

    pub(crate) fn wake(&self) -> io::Result<()> {
        self.registry.wake()
    }

    pub(crate) fn select(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        let mut guard = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        let Scratch { armed, pollfds } = &mut *guard;
        self.registry.begin_wait(armed);

        pollfds.clear();
        pollfds.push(libc::pollfd {
            fd: self.registry.wake_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        pollfds.extend(armed.iter().map(|a| libc::pollfd {
            fd: a.fd,
            events: poll_events(a.armed),
            revents: 0,
        }));

        let ts = timeout.map(timespec);
        let ts_ptr = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: `pollfds` is a valid array of `len` pollfd structs that the kernel may
        // write `revents` into; `ts_ptr` is null or points at `ts`, alive across the call;
        // a null sigmask leaves the signal mask alone.
        let res = cvt(unsafe {
            libc::ppoll(
                pollfds.as_mut_ptr(),
                pollfds.len() as libc::nfds_t,
                ts_ptr,
                std::ptr::null(),
            )
        });
        let n = match res {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
            Err(e) => {
                self.registry
                    .finish_wait(false, std::iter::empty(), events)?;
                return Err(e);
            }
        };
        let woken = n > 0 && pollfds[0].revents != 0;
        let ready = armed
            .iter()
            .zip(&pollfds[1..])
            .filter(|(_, p)| p.revents != 0)
            .map(|(a, p)| (a.fd, a.token, poll_event_flags(p.revents)));
        self.registry.finish_wait(woken, ready, events)
    }
}

/// A `Duration` as a `timespec`, saturating at the largest representable time.
pub(super) fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: d.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as _,
    }
}
