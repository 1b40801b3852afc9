//! One readiness interface, three kernel mechanisms.
//!
//! [`Selector`] is what the reactor above talks to. Behind it sits one of three backends,
//! one file each, each exporting the same items (a `Selector` struct with `new`,
//! `register`, `reregister`, `deregister`, `rearm`, `select` and `wake`):
//!
//! | file | mechanism | cost of one wait | notes |
//! |---|---|---|---|
//! | `epoll.rs` | [epoll(7)], edge-triggered | O(ready fds) | Linux default |
//! | `poll.rs` | [poll(2)] | O(registered fds) | portable POSIX fallback |
//! | `select.rs` | [select(2)] | O(highest fd) | for study; fds < `FD_SETSIZE` only |
//!
//! `poll.rs` and `select.rs` share the bookkeeping in `emulated.rs`, which gives the two
//! level-triggered calls the same edge-triggered contract as epoll. [`Backend`] is the one
//! place that chooses.
//!
//! [epoll(7)]: https://man7.org/linux/man-pages/man7/epoll.7.html
//! [poll(2)]: https://man7.org/linux/man-pages/man2/poll.2.html
//! [select(2)]: https://man7.org/linux/man-pages/man2/select.2.html

mod emulated;
mod epoll;
mod poll;
mod select;

use std::fmt;
use std::io;
use std::ops::{BitOr, BitOrAssign};
use std::os::fd::RawFd;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// Which readiness directions to watch. Combine with `|`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interest(u8);

impl Interest {
    /// Readable: data, a pending connection, end of stream, or an error.
    pub const READABLE: Interest = Interest(0b001);
    /// Writable: buffer space, a finished connect, or an error.
    pub const WRITABLE: Interest = Interest(0b010);
    /// Priority: out-of-band data (`EPOLLPRI`, `POLLPRI`, select's exceptional set).
    pub const PRIORITY: Interest = Interest(0b100);
    /// Both directions.
    pub const BOTH: Interest = Interest(0b011);

    /// Whether the readable direction is included.
    pub const fn is_readable(self) -> bool {
        self.0 & Self::READABLE.0 != 0
    }

    /// Whether the writable direction is included.
    pub const fn is_writable(self) -> bool {
        self.0 & Self::WRITABLE.0 != 0
    }

    /// Whether priority events are included.
    pub const fn is_priority(self) -> bool {
        self.0 & Self::PRIORITY.0 != 0
    }

    /// Whether no direction is included (such an interest is refused).
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub(crate) const fn bits(self) -> u8 {
        self.0
    }

    pub(crate) const fn from_bits(bits: u8) -> Interest {
        Interest(bits & 0b111)
    }
}

impl BitOr for Interest {
    type Output = Interest;
    fn bitor(self, rhs: Interest) -> Interest {
        Interest(self.0 | rhs.0)
    }
}

impl BitOrAssign for Interest {
    fn bitor_assign(&mut self, rhs: Interest) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (self.is_readable(), "READABLE"),
            (self.is_writable(), "WRITABLE"),
            (self.is_priority(), "PRIORITY"),
        ];
        let mut list = names.iter().filter(|(on, _)| *on).map(|(_, n)| *n);
        match list.next() {
            None => f.write_str("(empty)"),
            Some(first) => {
                f.write_str(first)?;
                list.try_for_each(|n| write!(f, " | {n}"))
            }
        }
    }
}

/// The caller's name for a registration, handed back in each [`Event`]. Typically an
/// index into the caller's own table, so an event finds its owner in O(1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Token(pub usize);

/// The token a selector keeps for its own wake fd. Registering it is refused.
pub(crate) const WAKE_TOKEN: Token = Token(usize::MAX);

/// What the kernel reported about one registration.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Event {
    token: Token,
    flags: u8,
}

impl Event {
    pub(crate) const READABLE: u8 = 1 << 0;
    pub(crate) const WRITABLE: u8 = 1 << 1;
    pub(crate) const PRIORITY: u8 = 1 << 2;
    pub(crate) const READ_CLOSED: u8 = 1 << 3;
    pub(crate) const WRITE_CLOSED: u8 = 1 << 4;
    pub(crate) const ERROR: u8 = 1 << 5;

    pub(crate) const fn new(token: Token, flags: u8) -> Event {
        Event { token, flags }
    }

    /// The token given at registration.
    pub fn token(&self) -> Token {
        self.token
    }

    /// A read would make progress (data, or end of stream).
    pub fn is_readable(&self) -> bool {
        self.flags & Self::READABLE != 0
    }

    /// A write would make progress.
    pub fn is_writable(&self) -> bool {
        self.flags & Self::WRITABLE != 0
    }

    /// Out-of-band data is pending.
    pub fn is_priority(&self) -> bool {
        self.flags & Self::PRIORITY != 0
    }

    /// The read side is closed: the peer shut down writing or hung up. Reads drain what
    /// is buffered, then return end of stream.
    pub fn is_read_closed(&self) -> bool {
        self.flags & Self::READ_CLOSED != 0
    }

    /// The write side is closed: the peer hung up, or the fd is in error. Writes fail.
    pub fn is_write_closed(&self) -> bool {
        self.flags & Self::WRITE_CLOSED != 0
    }

    /// An error is pending on the fd (for a socket, `SO_ERROR` says which).
    pub fn is_error(&self) -> bool {
        self.flags & Self::ERROR != 0
    }

    /// The directions this event covers: readable if a reader should try now (data,
    /// closure or error), writable likewise for a writer.
    pub(crate) fn directions(&self) -> Interest {
        let mut i = 0;
        if self.flags & (Self::READABLE | Self::READ_CLOSED | Self::ERROR) != 0 {
            i |= Interest::READABLE.0;
        }
        if self.flags & (Self::WRITABLE | Self::WRITE_CLOSED | Self::ERROR) != 0 {
            i |= Interest::WRITABLE.0;
        }
        if self.flags & Self::PRIORITY != 0 {
            i |= Interest::PRIORITY.0;
        }
        Interest(i)
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Event");
        d.field("token", &self.token);
        for (on, name) in [
            (self.is_readable(), "readable"),
            (self.is_writable(), "writable"),
            (self.is_priority(), "priority"),
            (self.is_read_closed(), "read_closed"),
            (self.is_write_closed(), "write_closed"),
            (self.is_error(), "error"),
        ] {
            if on {
                d.field(name, &true);
            }
        }
        d.finish()
    }
}

/// A reusable buffer of [`Event`]s filled by [`Selector::select`].
///
/// Allocate it once with the most events one wait may return and reuse it: a wait then
/// allocates nothing.
#[derive(Debug)]
pub struct Events {
    list: Vec<Event>,
    capacity: usize,
    /// The epoll backend's raw buffer; left empty by the other backends.
    raw: Vec<crate::epoll::EpollEvent>,
}

impl Events {
    /// A buffer that holds up to `capacity` events per wait (at least 1).
    pub fn with_capacity(capacity: usize) -> Events {
        let capacity = capacity.max(1);
        Events {
            list: Vec::with_capacity(capacity),
            capacity,
            raw: Vec::new(),
        }
    }

    /// The most events one wait will return.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many events the last wait returned.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the last wait returned no events (timeout, wake, or signal).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The events of the last wait.
    pub fn iter(&self) -> std::slice::Iter<'_, Event> {
        self.list.iter()
    }

    /// Forgets the events of the last wait.
    pub fn clear(&mut self) {
        self.list.clear();
    }

    pub(crate) fn is_full(&self) -> bool {
        self.list.len() >= self.capacity
    }

    pub(crate) fn push(&mut self, event: Event) {
        self.list.push(event);
    }
}

impl<'a> IntoIterator for &'a Events {
    type Item = &'a Event;
    type IntoIter = std::slice::Iter<'a, Event>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

/// Which kernel mechanism a [`Selector`] uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// [epoll(7)], edge-triggered: O(ready) per wait. The default.
    Epoll,
    /// [poll(2)]: O(registered) per wait; the portable POSIX fallback.
    ///
    /// [poll(2)]: https://man7.org/linux/man-pages/man2/poll.2.html
    Poll,
    /// [select(2)]: O(highest fd) per wait; refuses fds >= `FD_SETSIZE` (1024).
    ///
    /// [select(2)]: https://man7.org/linux/man-pages/man2/select.2.html
    Select,
}

/// The environment variable that chooses the default backend: `epoll`, `poll` or `select`.
pub const SELECTOR_ENV: &str = "PLY_SELECTOR";

impl Backend {
    /// Every backend, the default first.
    pub const ALL: [Backend; 3] = [Backend::Epoll, Backend::Poll, Backend::Select];

    /// The backend's name as `PLY_SELECTOR` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Epoll => "epoll",
            Backend::Poll => "poll",
            Backend::Select => "select",
        }
    }

    /// The default backend: the one named by the `PLY_SELECTOR` environment variable, or
    /// epoll if it is unset or empty. The variable is read once per process.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `PLY_SELECTOR` names no backend (the message says what it holds
    /// and what is accepted). The error is returned every time, so a typo in the variable
    /// never silently falls back to another backend.
    pub fn from_env() -> io::Result<Backend> {
        static CHOICE: OnceLock<Result<Backend, String>> = OnceLock::new();
        let choice = CHOICE.get_or_init(|| match std::env::var(SELECTOR_ENV) {
            Ok(v) if !v.is_empty() => v.parse::<Backend>().map_err(|e| e.to_string()),
            _ => Ok(Backend::Epoll),
        });
        choice
            .clone()
            .map_err(|msg| io::Error::new(io::ErrorKind::InvalidInput, msg))
    }
}

impl FromStr for Backend {
    type Err = io::Error;

    fn from_str(s: &str) -> io::Result<Backend> {
        Backend::ALL
            .into_iter()
            .find(|b| b.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{SELECTOR_ENV}={s:?}: expected one of epoll, poll, select"),
                )
            })
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

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
    Epoll(epoll::Selector),
    Poll(poll::Selector),
    Select(select::Selector),
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
}

impl Selector {
    /// A selector with the default backend ([`Backend::from_env`]: `PLY_SELECTOR`, else
    /// epoll).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `PLY_SELECTOR` holds an unknown name; `EMFILE`/`ENFILE` when out
    /// of fds.
    pub fn new() -> io::Result<Selector> {
        Selector::with_backend(Backend::from_env()?)
    }

    /// A selector with the given backend, whatever the environment says.
    ///
    /// # Errors
    ///
    /// `EMFILE`/`ENFILE` when out of fds; for select, `InvalidInput` if the selector's own
    /// wake fd is already >= `FD_SETSIZE`.
    pub fn with_backend(backend: Backend) -> io::Result<Selector> {
        let inner = match backend {
            Backend::Epoll => Inner::Epoll(epoll::Selector::new()?),
            Backend::Poll => Inner::Poll(poll::Selector::new()?),
            Backend::Select => Inner::Select(select::Selector::new()?),
        };
        Ok(Selector {
            inner,
            counters: Counters::default(),
        })
    }

    /// Which backend this selector uses.
    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::Epoll(_) => Backend::Epoll,
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
            Inner::Epoll(_) => Ok(()),
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
        events.clear();
        match &self.inner {
            Inner::Epoll(s) => s.select(events, timeout),
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
