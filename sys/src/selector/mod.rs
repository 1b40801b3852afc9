//! One readiness interface, four kernel mechanisms.
//!
//! [`Selector`] is what the reactor above talks to. Behind it sits one of four backends,
//! one file each, each exporting the same items (a `Selector` struct with `new`,
//! `register`, `reregister`, `deregister`, `rearm`, `select` and `wake`):
//!
//! | file | mechanism | cost of one wait | notes |
//! |---|---|---|---|
//! | `via_epoll.rs` | [epoll(7)], edge-triggered | O(ready fds) | Linux default |
//! | `via_uring.rs` | [io_uring(7)], multishot poll | O(ready fds) | Linux 5.13+; falls back to epoll as the default |
//! | `via_poll.rs` | [poll(2)] | O(registered fds) | portable POSIX fallback |
//! | `via_select.rs` | [select(2)] | O(highest fd) | for study; fds < `FD_SETSIZE` only |
//!
//! `via_poll.rs` and `via_select.rs` share the bookkeeping and the forwarding methods in
//! `emulated.rs` (`Emulated<M>`, each file supplying only its wait), which gives the two
//! level-triggered calls the same edge-triggered contract as epoll. [`Backend`]
//! (`backend.rs`) is the one place that chooses. The vocabulary every backend speaks has
//! files of its own: [`Interest`] and [`Token`] in `interest.rs`, [`Event`] and [`Events`]
//! in `event.rs`. This file holds only the dispatcher, [`Selector`].
//!
//! [epoll(7)]: https://man7.org/linux/man-pages/man7/epoll.7.html
//! [io_uring(7)]: https://man7.org/linux/man-pages/man7/io_uring.7.html
//! [poll(2)]: https://man7.org/linux/man-pages/man2/poll.2.html
//! [select(2)]: https://man7.org/linux/man-pages/man2/select.2.html

mod backend;
mod emulated;
mod event;
mod interest;
mod via_epoll;
mod via_poll;
mod via_select;
mod via_uring;

pub use backend::{Backend, SELECTOR_ENV};
pub use event::{Event, Events};
pub(crate) use interest::WAKE_TOKEN;
pub use interest::{Interest, Token};

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What a [`Selector`] has done so far. A copy, read at any time with
/// [`Selector::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SelectorStats {
    /// Calls to [`Selector::select`]: one kernel wait each.
    pub waits: u64,
    /// Events delivered to callers.
    pub events: u64,
    /// Calls to [`Selector::wake`].
    pub wakes: u64,
    /// Successful registrations.
    pub registrations: u64,
    /// Successful deregistrations.
    pub deregistrations: u64,
    /// `Some(Backend::Uring)` when `PLY_SELECTOR=uring` asked [`Selector::new`] for the
    /// uring backend, io_uring was refused here (seccomp, a disabled sysctl, an old
    /// kernel), and this selector fell back to epoll; `None` otherwise.
    pub fell_back_from: Option<Backend>,
}

#[derive(Debug, Default)]
struct Counters {
    waits: AtomicU64,
    events: AtomicU64,
    wakes: AtomicU64,
    registrations: AtomicU64,
    deregistrations: AtomicU64,
}

impl Counters {
    fn bump(counter: &AtomicU64, by: u64) {
        // Relaxed: a counter is a statistic, ordered with nothing else.
        counter.fetch_add(by, Ordering::Relaxed);
    }
}

#[derive(Debug)]
enum Inner {
    Epoll(via_epoll::Selector),
    Uring(via_uring::Selector),
    Poll(via_poll::Selector),
    Select(via_select::Selector),
}

/// Waits for readiness on many fds at once, with one edge-triggered contract whatever the
/// kernel mechanism behind it ([`Backend`]).
///
/// # The readiness contract
///
/// - [`register`](Self::register) an fd once with a [`Token`] and an [`Interest`];
///   [`select`](Self::select) then reports [`Event`]s carrying that token.
/// - **Edge-triggered.** A direction is reported when it *becomes* ready, not on every
///   wait while it stays ready. After a readable event, read until the call returns
///   `WouldBlock`; only then can you rely on another event for new data. The same holds
///   for writes. Not draining to `WouldBlock` and waiting again may wait forever.
/// - **Re-arm after `WouldBlock`.** When a read or write returns `WouldBlock`, call
///   [`rearm`](Self::rearm) for that direction. With epoll this costs nothing (the kernel
///   tracks edges itself and `rearm` makes no syscall). poll(2) and select(2) are
///   level-triggered: those backends stop watching a direction once they report it, and
///   `rearm` turns it back on, so a drained fd is not reported on every wait (that would be
///   a busy loop). If the direction is ready again by the time it is re-armed, the next
///   wait reports it at once: no event is lost between the `WouldBlock` and the `rearm`.
/// - **Spurious events happen**: an event may say ready when a read still returns
///   `WouldBlock`, and a wait may return with no events (a [`wake`](Self::wake), a signal,
///   a change made by another thread). Treat every event as a hint to try.
/// - Hang-up, read-closed and error are reported as such on every backend. select(2)
///   itself cannot tell them apart from plain readiness, so for each fd it reports, the
///   select backend asks poll(2) about that one fd with a zero timeout (one extra syscall
///   per ready fd, the price of a study backend).
///
/// # Threads
///
/// All methods take `&self`. One thread at a time should call `select` (a second caller
/// blocks until the first returns, on the emulated backends); any thread may register,
/// deregister, rearm and wake meanwhile, and each change takes effect for a wait already
/// in progress, without waiting for its timeout.
///
/// # Errors, interrupted waits and timeouts
///
/// `select` returns `Ok` with no events when a signal interrupts it (`EINTR`), so callers
/// handle it as any spurious wake-up. A timeout is never rounded down: a sub-millisecond
/// timeout sleeps at least that long and never spins (see [`epoll::Epoll`](crate::epoll::Epoll)).
///
/// # Examples
///
/// ```
/// use ply_sys::{Events, Interest, Selector, Token};
/// use std::os::fd::{AsFd, AsRawFd};
/// use std::time::Duration;
///
/// # fn main() -> std::io::Result<()> {
/// let selector = Selector::new()?; // epoll, unless PLY_SELECTOR says otherwise
/// let (r, w) = ply_sys::pipe()?;
/// selector.register(r.as_raw_fd(), Token(1), Interest::READABLE)?;
///
/// ply_sys::write(w.as_fd(), b"ping")?;
/// let mut events = Events::with_capacity(16);
/// selector.select(&mut events, Some(Duration::from_secs(5)))?;
/// let event = events.iter().next().expect("one event");
/// assert_eq!(event.token(), Token(1));
/// assert!(event.is_readable());
///
/// // Drain to WouldBlock, then re-arm the direction.
/// let mut buf = [0; 64];
/// assert_eq!(ply_sys::read(r.as_fd(), &mut buf)?, 4);
/// assert!(ply_sys::read(r.as_fd(), &mut buf).is_err());
/// selector.rearm(r.as_raw_fd(), Token(1), Interest::READABLE)?;
///
/// selector.deregister(r.as_raw_fd())?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Selector {
    inner: Inner,
    counters: Counters,
    fell_back_from: Option<Backend>,
}

impl Selector {
    /// A selector with the default backend ([`Backend::from_env`]: `PLY_SELECTOR`, else
    /// epoll).
    ///
    /// With `PLY_SELECTOR=uring` where io_uring is refused (`PermissionDenied`: seccomp,
    /// the `kernel.io_uring_disabled` sysctl; `Unsupported`: an old kernel), it falls back
    /// to epoll and says so in [`SelectorStats::fell_back_from`].
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `PLY_SELECTOR` holds an unknown name; `EMFILE`/`ENFILE` when out
    /// of fds.
    pub fn new() -> io::Result<Selector> {
        let backend = Backend::from_env()?;
        match Selector::with_backend(backend) {
            Err(e)
                if backend == Backend::Uring
                    && matches!(
                        e.kind(),
                        io::ErrorKind::PermissionDenied | io::ErrorKind::Unsupported
                    ) =>
            {
                let mut s = Selector::with_backend(Backend::Epoll)?;
                s.fell_back_from = Some(Backend::Uring);
                Ok(s)
            }
            other => other,
        }
    }

    /// A selector with the given backend, whatever the environment says.
    ///
    /// # Errors
    ///
    /// `EMFILE`/`ENFILE` when out of fds; for select, `InvalidInput` if the selector's own
    /// wake fd is already >= `FD_SETSIZE`.
    pub fn with_backend(backend: Backend) -> io::Result<Selector> {
        let inner = match backend {
            Backend::Epoll => Inner::Epoll(via_epoll::Selector::new()?),
            Backend::Uring => Inner::Uring(via_uring::Selector::new()?),
            Backend::Poll => Inner::Poll(via_poll::Selector::new()?),
            Backend::Select => Inner::Select(via_select::Selector::new()?),
        };
        Ok(Selector {
            inner,
            counters: Counters::default(),
            fell_back_from: None,
        })
    }

    /// Which backend this selector uses.
    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::Epoll(_) => Backend::Epoll,
            Inner::Uring(_) => Backend::Uring,
            Inner::Poll(_) => Backend::Poll,
            Inner::Select(_) => Backend::Select,
        }
    }

    /// Starts watching `fd` for `interest`, reporting events with `token`.
    ///
    /// The selector does not own `fd`: [`deregister`](Self::deregister) it before closing
    /// it.
    ///
    /// # Errors
    ///
    /// `AlreadyExists` if `fd` is registered already; `EBADF` if it is not open;
    /// `InvalidInput` for an empty interest or the reserved token `Token(usize::MAX)`, and
    /// with the select backend for an fd >= `FD_SETSIZE`.
    pub fn register(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        check_args(token, interest)?;
        match &self.inner {
            Inner::Epoll(s) => s.register(fd, token, interest),
            Inner::Uring(s) => s.register(fd, token, interest),
            Inner::Poll(s) => s.register(fd, token, interest),
            Inner::Select(s) => s.register(fd, token, interest),
        }?;
        Counters::bump(&self.counters.registrations, 1);
        Ok(())
    }

    /// Replaces the token and interest of a registered `fd`; every direction of the new
    /// interest is armed (an fd that is ready now is reported by the next wait).
    ///
    /// # Errors
    ///
    /// `NotFound` if `fd` is not registered; the same argument errors as
    /// [`register`](Self::register).
    pub fn reregister(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        check_args(token, interest)?;
        match &self.inner {
            Inner::Epoll(s) => s.reregister(fd, token, interest),
            Inner::Uring(s) => s.reregister(fd, token, interest),
            Inner::Poll(s) => s.reregister(fd, token, interest),
            Inner::Select(s) => s.reregister(fd, token, interest),
        }
    }

    /// Stops watching `fd`. Call it before closing `fd`.
    ///
    /// # Errors
    ///
    /// `NotFound` if `fd` is not registered; `EBADF` (epoll) if it was closed already.
    pub fn deregister(&self, fd: RawFd) -> io::Result<()> {
        match &self.inner {
            Inner::Epoll(s) => s.deregister(fd),
            Inner::Uring(s) => s.deregister(fd),
            Inner::Poll(s) => s.deregister(fd),
            Inner::Select(s) => s.deregister(fd),
        }?;
        Counters::bump(&self.counters.deregistrations, 1);
        Ok(())
    }

    /// Re-arms `interest` on `fd` after an operation in that direction returned
    /// `WouldBlock` (see the type's readiness contract). With epoll it makes no syscall.
    /// A `token` that no longer matches the registration (an old owner of a reused fd
    /// number) is ignored.
    ///
    /// # Errors
    ///
    /// Only an unexpected failure to wake a waiting thread; an fd that is no longer
    /// registered is ignored, since a rearm racing a deregister is normal.
    #[inline]
    pub fn rearm(&self, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        match &self.inner {
            Inner::Epoll(_) | Inner::Uring(_) => Ok(()),
            Inner::Poll(s) => s.rearm(fd, token, interest),
            Inner::Select(s) => s.rearm(fd, token, interest),
        }
    }

    /// Waits until a registered fd is ready, [`wake`](Self::wake) is called, or `timeout`
    /// passes (`None`: no limit), and fills `events` (cleared first).
    ///
    /// Returning with no events is normal: a timeout, a wake, a signal, or another
    /// thread's change to the registrations.
    ///
    /// # Errors
    ///
    /// What the kernel reports for the wait itself (for example `ENOMEM`); never
    /// `EINTR`.
    pub fn select(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        self.select_inner(events, timeout, None)
    }

    /// Like [`select`](Self::select), but on the uring backend, CQEs whose user_data has
    /// [`COMPLETION_TAG`](crate::uring::COMPLETION_TAG) set (completion operations another
    /// layer submitted on [`uring`](Self::uring)'s ring) are appended to `completions`
    /// instead of being treated as events. Other backends leave `completions` untouched.
    ///
    /// A plain [`select`](Self::select) on the uring backend that reaps such a CQE keeps
    /// it, in order, and the next `select_with_completions` hands it over first: none is
    /// lost or taken for an event.
    ///
    /// # Errors
    ///
    /// As [`select`](Self::select).
    pub fn select_with_completions(
        &self,
        events: &mut Events,
        timeout: Option<Duration>,
        completions: &mut Vec<crate::uring::Cqe>,
    ) -> io::Result<()> {
        self.select_inner(events, timeout, Some(completions))
    }

    /// The uring backend's ring, for completion I/O on the same ring (`None` on other
    /// backends). SQEs pushed on it must set [`COMPLETION_TAG`](crate::uring::COMPLETION_TAG)
    /// in their user_data, and their CQEs come back through
    /// [`select_with_completions`](Self::select_with_completions).
    pub fn uring(&self) -> Option<&std::sync::Arc<crate::uring::Ring>> {
        match &self.inner {
            Inner::Uring(s) => Some(s.ring()),
            _ => None,
        }
    }

    fn select_inner(
        &self,
        events: &mut Events,
        timeout: Option<Duration>,
        completions: Option<&mut Vec<crate::uring::Cqe>>,
    ) -> io::Result<()> {
        events.clear();
        match &self.inner {
            Inner::Epoll(s) => s.select(events, timeout),
            Inner::Uring(s) => s.select(events, timeout, completions),
            Inner::Poll(s) => s.select(events, timeout),
            Inner::Select(s) => s.select(events, timeout),
        }?;
        Counters::bump(&self.counters.waits, 1);
        Counters::bump(&self.counters.events, events.len() as u64);
        Ok(())
    }

    /// Ends a wait in progress on another thread (or makes the next one return at once).
    /// Wakes coalesce: many wakes before a wait end one wait.
    ///
    /// # Errors
    ///
    /// Only unexpected kernel errors from the wake fd.
    pub fn wake(&self) -> io::Result<()> {
        Counters::bump(&self.counters.wakes, 1);
        match &self.inner {
            Inner::Epoll(s) => s.wake(),
            Inner::Uring(s) => s.wake(),
            Inner::Poll(s) => s.wake(),
            Inner::Select(s) => s.wake(),
        }
    }

    /// What this selector has done so far.
    pub fn stats(&self) -> SelectorStats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SelectorStats {
            waits: get(&c.waits),
            events: get(&c.events),
            wakes: get(&c.wakes),
            registrations: get(&c.registrations),
            deregistrations: get(&c.deregistrations),
            fell_back_from: self.fell_back_from,
        }
    }
}

fn check_args(token: Token, interest: Interest) -> io::Result<()> {
    if token == WAKE_TOKEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "Token(usize::MAX) is reserved for the selector's own wake fd",
        ));
    }
    if interest.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an empty interest watches nothing",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names_parse_back() {
        for b in Backend::ALL {
            assert_eq!(b.name().parse::<Backend>().unwrap(), b);
            assert_eq!(b.name().to_uppercase().parse::<Backend>().unwrap(), b);
        }
        let err = "kqueue".parse::<Backend>().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("kqueue"), "{err}");
    }

    #[test]
    fn event_directions_cover_closure_and_error() {
        let table = [
            (Event::READABLE, Interest::READABLE),
            (Event::WRITABLE, Interest::WRITABLE),
            (Event::READ_CLOSED, Interest::READABLE),
            (Event::WRITE_CLOSED, Interest::WRITABLE),
            (Event::ERROR, Interest::BOTH),
            (Event::PRIORITY, Interest::PRIORITY),
            (Event::READABLE | Event::WRITABLE, Interest::BOTH),
        ];
        for (flags, dirs) in table {
            assert_eq!(Event::new(Token(0), flags).directions(), dirs, "{flags:#b}");
        }
    }

    #[test]
    fn interest_debug_lists_directions() {
        assert_eq!(format!("{:?}", Interest::BOTH), "READABLE | WRITABLE");
        assert_eq!(format!("{:?}", Interest::from_bits(0)), "(empty)");
    }
}
